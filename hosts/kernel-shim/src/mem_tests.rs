//! Unit tests of the memory exports (`crate::mem`) against the Rust mock kernel's page
//! store (`mock::PAGES`). The OOM killer, `oom_kill_disable` waits and the failure
//! injection are the C harness's (`tests/c/harness.c`, "memory").

use core::ffi::c_int;
use core::ptr;

use crate::abi::*;
use crate::exports::*;
use crate::mem::*;
use crate::mock;
use crate::test_world::{World, ROOT};

const ENOMEM: c_int = -12;
const EINVAL: c_int = -22;
const ENOENT: c_int = -2;
const ESRCH: c_int = -3;
const PAGE: u64 = 4096;

impl World {
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

    /// A process forked from init, moved into `path`.
    fn charge(&self, t: *mut GpcTask, n: u64, lru: c_int, flags: u32) -> (c_int, GpcMemCharge) {
        let mut out = GpcMemCharge::default();
        // SAFETY: live instance and task, writable out.
        let r = unsafe { gpc_mem_charge(self.g, t, n, lru, flags, &mut out) };
        (r, out)
    }
}

#[test]
fn a_charge_reclaims_the_groups_own_pages_before_it_fails() {
    let mut w = World::mount("memory");
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
    let mut w = World::mount("memory");
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
    let mut w = World::mount("memory");
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
    let mut w = World::mount("memory");
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
