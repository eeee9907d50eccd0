//! Unit tests of the memory exports (`crate::mem`) against the Rust mock kernel's page
//! store (`mock::PAGES`). The OOM killer, `oom_kill_disable` waits and the failure
//! injection are the C harness's (`tests/c/harness.c`, "memory").

use core::ffi::{c_char, c_int, c_void};
use core::ptr;
use std::boxed::Box;
use std::string::String;
use std::vec::Vec;

use crate::abi::*;
use crate::exports::*;
use crate::mem::*;
use crate::mock;

const ENOMEM: c_int = -12;
const EINVAL: c_int = -22;
const ENOENT: c_int = -2;
const ESRCH: c_int = -3;
const PAGE: u64 = 4096;

const ROOT: GpcCreds = GpcCreds {
    uid: 0,
    euid: 0,
    suid: 0,
    egid: 0,
    cap_sys_admin: true,
    cap_dac_override: true,
};

fn cstr(s: &str) -> Vec<c_char> {
    s.bytes().map(|b| b as c_char).chain([0]).collect()
}

/// A test's world: an instance with its own host context (the mock page store's key),
/// the memory controller mounted, and an init task.
struct World {
    g: *mut Instance,
    ctx: usize,
    h: c_int,
    init: *mut GpcTask,
    tasks: Vec<*mut GpcTask>,
    _ctx_box: Box<u64>,
}

impl World {
    fn new() -> World {
        let ctx_box = Box::new(0u64);
        let ctx = ptr::from_ref::<u64>(&ctx_box) as usize;
        // SAFETY: the mock kernel supplies every import; the context is opaque to gpc.
        let g = unsafe { gpc_init(ctx as *mut c_void) };
        assert!(!g.is_null() && (g as usize) < usize::MAX - GPC_MAX_ERRNO);
        let init = mock::new_task(0, ROOT);
        // SAFETY: live instance and task.
        assert_eq!(unsafe { gpc_init_task(g, init) }, 0);
        mock::publish(init);
        let opts = cstr("memory");
        // SAFETY: live instance, NUL-terminated options.
        let h = unsafe { gpc_mount(g, opts.as_ptr(), ptr::null_mut()) };
        assert!(h > 0, "mount: {h}");
        World {
            g,
            ctx,
            h,
            init,
            tasks: Vec::new(),
            _ctx_box: ctx_box,
        }
    }

    fn mkdir(&self, path: &str) {
        let p = cstr(path);
        // SAFETY: live instance, NUL-terminated path.
        let r = unsafe { gpc_mkdir(self.g, self.h, p.as_ptr()) };
        assert_eq!(r, 0, "{path}");
    }

    fn write(&self, path: &str, data: &str) -> c_int {
        let p = cstr(path);
        // SAFETY: live instance, NUL-terminated path, readable data.
        unsafe {
            gpc_write(
                self.g,
                self.h,
                p.as_ptr(),
                ptr::null_mut(),
                data.as_ptr().cast(),
                data.len(),
            )
        }
    }

    fn read(&self, path: &str) -> String {
        let p = cstr(path);
        let mut buf = std::vec![0u8; 8192];
        // SAFETY: live instance, NUL-terminated path, a buffer of that size.
        let n = unsafe {
            gpc_read(
                self.g,
                self.h,
                p.as_ptr(),
                ptr::null_mut(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        assert!(n >= 0, "read {path}: {n}");
        let n = usize::try_from(n).unwrap_or(0);
        String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned()
    }

    fn num(&self, path: &str) -> u64 {
        self.read(path).trim().parse().unwrap_or(u64::MAX)
    }

    /// One line of `memory.stat` of `dir`.
    fn stat(&self, dir: &str, key: &str) -> u64 {
        let text = self.read(&std::format!("{dir}/memory.stat"));
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(u64::MAX)
    }

    fn id(&self, path: &str) -> u64 {
        let p = cstr(path);
        let mut st = GpcStat::default();
        // SAFETY: live instance, NUL-terminated path, writable stat.
        assert_eq!(unsafe { gpc_stat(self.g, self.h, p.as_ptr(), &mut st) }, 0);
        st.id
    }

    /// A process forked from init, moved into `path`.
    fn task_in(&mut self, path: &str) -> *mut GpcTask {
        let t = mock::new_task(0, ROOT);
        // SAFETY: live instance and tasks.
        assert_eq!(unsafe { gpc_fork(self.g, self.init, t) }, 0);
        mock::publish(t);
        let p = cstr(path);
        // SAFETY: as above; NUL-terminated path.
        assert_eq!(unsafe { gpc_attach(self.g, self.h, p.as_ptr(), t) }, 0);
        self.tasks.push(t);
        t
    }

    fn charge(&self, t: *mut GpcTask, n: u64, lru: c_int, flags: u32) -> (c_int, GpcMemCharge) {
        let mut out = GpcMemCharge::default();
        // SAFETY: live instance and task, writable out.
        let r = unsafe { gpc_mem_charge(self.g, t, n, lru, flags, &mut out) };
        (r, out)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for &t in self.tasks.iter().chain([&self.init]) {
            // SAFETY: live instance; tasks it attached.
            unsafe { gpc_exit(self.g, t) };
            mock::reap(t);
        }
        // SAFETY: made by gpc_init, no longer used.
        unsafe { gpc_destroy(self.g) };
    }
}

#[test]
fn a_charge_reclaims_the_groups_own_pages_before_it_fails() {
    let mut w = World::new();
    w.mkdir("/a");
    assert_eq!(w.write("/a/memory.limit_in_bytes", "40960"), 0); // 10 pages
    let t = w.task_in("/a");
    let a = w.id("/a");

    // 8 pages of page cache, 2 of them dirty: the kernel keeps them with the group.
    let (r, out) = w.charge(t, 8, GPC_LRU_INACTIVE_FILE, 0);
    assert_eq!((r, out.group, out.reclaimed, out.killed), (0, a, 0, 0));
    mock::add_pages(w.ctx, a, GPC_LRU_INACTIVE_FILE, 8, 2);
    // SAFETY: live instance; by id.
    let r = unsafe { gpc_mem_dirty(w.g, ptr::null_mut(), a, 2, true) };
    assert_eq!(r, 0);
    assert_eq!(w.stat("/a", "inactive_file"), 8 * PAGE);
    assert_eq!(w.stat("/a", "dirty"), 2 * PAGE);

    // Without reclaim the next 4 do not fit.
    let failcnt = w.num("/a/memory.failcnt");
    let (r, out) = w.charge(t, 4, GPC_LRU_INACTIVE_ANON, GPC_MEM_NOWAIT);
    assert_eq!((r, out.group, out.reclaimed), (ENOMEM, a, 0));
    assert_eq!(w.num("/a/memory.failcnt"), failcnt + 1);
    assert_eq!(mock::pages(w.ctx, a, GPC_LRU_INACTIVE_FILE), 8);

    // With it, the clean cache goes (the dirty pages start writeback) and they fit.
    let (r, out) = w.charge(t, 4, GPC_LRU_INACTIVE_ANON, 0);
    assert_eq!(
        (r, out.group, out.reclaimed, out.killed, out.wait),
        (0, a, 6, 0, 0)
    );
    assert_eq!(mock::pages(w.ctx, a, GPC_LRU_INACTIVE_FILE), 2);
    assert_eq!(w.num("/a/memory.usage_in_bytes"), 6 * PAGE);
    assert_eq!(w.stat("/a", "inactive_file"), 2 * PAGE);
    assert_eq!(w.stat("/a", "inactive_anon"), 4 * PAGE);
    assert_eq!(w.stat("/a", "dirty"), 0);
    assert_eq!(w.stat("/a", "writeback"), 2 * PAGE);
    assert_eq!(w.stat("/a", "pgpgin"), 12);

    // The flusher cleans them; the task frees its anonymous pages (by task, lock-free).
    mock::end_writeback(w.ctx, a, GPC_LRU_INACTIVE_FILE, 2);
    // SAFETY: live instance and task.
    unsafe {
        assert_eq!(gpc_mem_writeback(w.g, ptr::null_mut(), a, 2, false), 0);
        assert_eq!(gpc_mem_uncharge(w.g, t, 0, 4, GPC_LRU_INACTIVE_ANON), 0);
    }
    assert_eq!(w.stat("/a", "writeback"), 0);
    assert_eq!(w.num("/a/memory.usage_in_bytes"), 2 * PAGE);
}

#[test]
fn page_states_move_between_lists_by_group_id() {
    let mut w = World::new();
    w.mkdir("/a");
    w.mkdir("/a/b");
    let t = w.task_in("/a/b");
    let (a, b) = (w.id("/a"), w.id("/a/b"));
    let (r, out) = w.charge(t, 5, GPC_LRU_INACTIVE_FILE, 0);
    assert_eq!((r, out.group), (0, b));
    // SAFETY: live instance; by id.
    unsafe {
        assert_eq!(
            gpc_mem_move(
                w.g,
                ptr::null_mut(),
                b,
                3,
                GPC_LRU_INACTIVE_FILE,
                GPC_LRU_ACTIVE_FILE
            ),
            0
        );
        let same = gpc_mem_move(w.g, t, 0, 1, GPC_LRU_ACTIVE_FILE, GPC_LRU_ACTIVE_FILE);
        let kinds = gpc_mem_move(w.g, t, 0, 1, GPC_LRU_ACTIVE_FILE, GPC_LRU_ACTIVE_ANON);
        assert_eq!((same, kinds), (EINVAL, EINVAL));
    }
    assert_eq!(w.stat("/a/b", "active_file"), 3 * PAGE);
    assert_eq!(w.stat("/a/b", "inactive_file"), 2 * PAGE);
    assert_eq!(w.stat("/a", "total_active_file"), 3 * PAGE);
    assert_eq!(w.stat("/a", "active_file"), 0);
    assert_eq!(w.num("/a/memory.usage_in_bytes"), 5 * PAGE);
    // The parent's id names the parent.
    // SAFETY: live instance; by id.
    let r = unsafe { gpc_mem_uncharge(w.g, ptr::null_mut(), a, 0, GPC_LRU_ACTIVE_FILE) };
    assert_eq!(r, 0);
    // SAFETY: as above.
    unsafe {
        assert_eq!(
            gpc_mem_uncharge(w.g, ptr::null_mut(), b, 3, GPC_LRU_ACTIVE_FILE),
            0
        );
        assert_eq!(
            gpc_mem_uncharge(w.g, ptr::null_mut(), b, 2, GPC_LRU_INACTIVE_FILE),
            0
        );
    }
    assert_eq!(w.num("/a/memory.usage_in_bytes"), 0);
    assert_eq!(w.stat("/a", "total_pgpgout"), 5);
}

#[test]
fn file_writes_and_the_kernels_own_reclaim_go_through_the_import() {
    let mut w = World::new();
    w.mkdir("/a");
    let t = w.task_in("/a");
    let a = w.id("/a");
    let (r, _) = w.charge(t, 6, GPC_LRU_ACTIVE_FILE, 0);
    assert_eq!(r, 0);
    mock::add_pages(w.ctx, a, GPC_LRU_ACTIVE_FILE, 6, 0);
    // The kernel's own shortage: the whole machine (the root) gives back 3 pages.
    let mut got = 0u64;
    // SAFETY: live instance, writable out.
    let r = unsafe { gpc_mem_reclaim(w.g, GPC_MEM_ROOT, 3, &mut got) };
    assert_eq!(r, 0);
    assert_eq!(got, 3);
    assert_eq!(mock::pages(w.ctx, a, GPC_LRU_ACTIVE_FILE), 3);
    assert_eq!(w.num("/a/memory.usage_in_bytes"), 3 * PAGE);
    assert_eq!(w.stat("/a", "active_file"), 3 * PAGE);
    // memory.force_empty reclaims through gpc_reclaim_pages (the task table of the write
    // hands it out, with this instance's context).
    assert_eq!(w.write("/a/memory.force_empty", "0"), 0);
    assert_eq!(w.num("/a/memory.usage_in_bytes"), 0);
    assert_eq!(mock::pages(w.ctx, a, GPC_LRU_ACTIVE_FILE), 0);
    // So does a limit below the usage; dirty pages only start writeback: EBUSY.
    let (r, _) = w.charge(t, 2, GPC_LRU_INACTIVE_FILE, 0);
    assert_eq!(r, 0);
    mock::add_pages(w.ctx, a, GPC_LRU_INACTIVE_FILE, 2, 1);
    assert_eq!(w.write("/a/memory.limit_in_bytes", "0"), -16);
    assert_eq!(w.num("/a/memory.usage_in_bytes"), PAGE);
    assert_eq!(w.stat("/a", "writeback"), PAGE);
    assert_eq!(
        w.num("/a/memory.failcnt"),
        0,
        "a write's reclaim is no charge"
    );
    assert_eq!(w.write("/a/memory.limit_in_bytes", "4096"), 0);
    // Clean again, it goes too.
    // SAFETY: live instance; by id.
    let r = unsafe { gpc_mem_writeback(w.g, ptr::null_mut(), a, 1, false) };
    assert_eq!(r, 0);
    mock::end_writeback(w.ctx, a, GPC_LRU_INACTIVE_FILE, 1);
    assert_eq!(w.write("/a/memory.limit_in_bytes", "0"), 0);
    assert_eq!(w.num("/a/memory.usage_in_bytes"), 0);
}

#[test]
fn memory_exports_check_their_arguments() {
    let mut w = World::new();
    w.mkdir("/a");
    let t = w.task_in("/a");
    let mut out = GpcMemCharge::default();
    let mut n = 0u64;
    let stranger = mock::new_task(0, ROOT); // never forked: not attached
                                            // SAFETY: live instance and tasks; the null and bad values are the cases under test.
    unsafe {
        assert_eq!(gpc_mem_charge(w.g, t, 1, 4, 0, &mut out), EINVAL, "lru");
        assert_eq!(gpc_mem_charge(w.g, t, 1, -1, 0, &mut out), EINVAL, "lru");
        assert_eq!(gpc_mem_charge(w.g, t, 1, 0, 8, &mut out), EINVAL, "flag");
        assert_eq!(
            gpc_mem_charge(w.g, t, 1, 0, 0, ptr::null_mut()),
            EINVAL,
            "out"
        );
        assert_eq!(
            gpc_mem_charge(w.g, ptr::null_mut(), 1, 0, 0, &mut out),
            EINVAL
        );
        assert_eq!(gpc_mem_charge(ptr::null(), t, 1, 0, 0, &mut out), EINVAL);
        assert_eq!(gpc_mem_charge(w.g, stranger, 1, 0, 0, &mut out), ESRCH);
        assert_eq!(gpc_mem_uncharge(w.g, stranger, 0, 1, 0), ESRCH);
        assert_eq!(
            gpc_mem_uncharge(w.g, ptr::null_mut(), 1 << 40, 1, 0),
            ENOENT
        );
        assert_eq!(
            gpc_mem_uncharge_swap(w.g, ptr::null_mut(), 1 << 40, 1),
            ENOENT
        );
        assert_eq!(
            gpc_mem_dirty(w.g, ptr::null_mut(), 1 << 40, 1, true),
            ENOENT
        );
        assert_eq!(
            gpc_mem_writeback(w.g, ptr::null_mut(), 1 << 40, 1, true),
            ENOENT
        );
        assert_eq!(gpc_mem_reclaim(w.g, 1 << 40, 1, &mut n), ENOENT);
        assert_eq!(gpc_mem_reclaim(w.g, 0, 1, ptr::null_mut()), EINVAL);
        assert_eq!(gpc_mem_oom(w.g, 1 << 40, ptr::null_mut(), &mut out), ENOENT);
        assert_eq!(
            gpc_mem_oom(w.g, 0, ptr::null_mut(), ptr::null_mut()),
            EINVAL
        );
        assert_eq!(gpc_mem_oom_wait_done(w.g, 1 << 40), ENOENT);
        assert_eq!(gpc_mem_handle_over_high(w.g, t, 1, ptr::null_mut()), EINVAL);
        let err = (usize::MAX - 21) as *const Instance; // ERR_PTR(-EINVAL)
        assert_eq!(gpc_mem_uncharge(err, t, 0, 1, 0), EINVAL);
        // Uncharging more than was charged stops at 0.
        assert_eq!(gpc_mem_uncharge(w.g, t, 0, 1000, GPC_LRU_INACTIVE_ANON), 0);
    }
    assert_eq!(w.num("/a/memory.usage_in_bytes"), 0);
    mock::reap(stranger);
}
