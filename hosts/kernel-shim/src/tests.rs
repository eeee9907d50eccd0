//! Unit tests: the exports called from Rust, against the Rust mock kernel (`mock`).
//! The C harness (`tests/c_harness.rs`) tests the same ABI from C, under threads,
//! failure injection and valgrind.

use core::ffi::{c_char, c_int, c_long, c_void};
use core::ptr;
use std::borrow::ToOwned;
use std::string::{String, ToString};
use std::vec::Vec;

use gpc_core::host::lock::Lock;

use crate::abi::*;
use crate::enforce::*;
use crate::exports::*;
use crate::host::{atomic_ctx, KIrqSpin, KMutex, KSpin};
use crate::mock::{self, LAST_GFP};

const ENOENT: c_int = -2;
const EINVAL: c_int = -22;
const EBUSY: c_int = -16;
const ESRCH: c_int = -3;
const EACCES: c_int = -13;
const EPERM: c_int = -1;
const EOVERFLOW: c_int = -75;
const ENAMETOOLONG: c_int = -36;

const ROOT: GpcCreds = GpcCreds {
    uid: 0,
    euid: 0,
    suid: 0,
    egid: 0,
    cap_sys_admin: true,
    cap_dac_override: true,
};

fn user(uid: u32) -> GpcCreds {
    GpcCreds {
        uid,
        euid: uid,
        suid: uid,
        egid: uid,
        cap_sys_admin: false,
        cap_dac_override: false,
    }
}

fn cstr(s: &str) -> Vec<c_char> {
    s.bytes().map(|b| b as c_char).chain([0]).collect()
}

/// A whole output through the size query, then the read.
fn out(f: impl Fn(*mut c_char, usize) -> c_long) -> Result<String, c_long> {
    let need = f(ptr::null_mut(), 0);
    let need = usize::try_from(need).map_err(|_| need)?;
    let mut buf: Vec<u8> = std::vec![0; need];
    let got = f(buf.as_mut_ptr().cast(), need);
    assert_eq!(usize::try_from(got).ok(), Some(need));
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn read(g: *const Instance, h: c_int, path: &str, caller: *mut GpcTask) -> Result<String, c_long> {
    let p = cstr(path);
    // SAFETY: live instance, NUL-terminated path, buffers from `out`.
    out(|b, n| unsafe { gpc_read(g, h, p.as_ptr(), caller, b, n) })
}

fn write(g: *const Instance, h: c_int, path: &str, data: &str, caller: *mut GpcTask) -> c_int {
    let p = cstr(path);
    // SAFETY: live instance, NUL-terminated path, `data` readable.
    unsafe { gpc_write(g, h, p.as_ptr(), caller, data.as_ptr().cast(), data.len()) }
}

/// The lock a `Lock::try_new` made; the test returns (after a failed assertion) on
/// `ENOMEM`, which the mock kernel's allocator never returns here.
macro_rules! made {
    ($e:expr) => {{
        let made = $e;
        assert!(made.is_ok(), "ENOMEM making a lock");
        let Ok(lock) = made else { return };
        lock
    }};
}

fn new_instance() -> *mut Instance {
    // SAFETY: the mock kernel supplies every import.
    let g = unsafe { gpc_init(ptr::null_mut()) };
    assert!(!g.is_null() && (g as usize) < usize::MAX - GPC_MAX_ERRNO);
    g
}

#[test]
fn header_constants_match() {
    let h = include_str!("../include/gpc.h");
    let define = |name: &str| -> Option<String> {
        h.lines().find_map(|l| {
            let rest = l.strip_prefix("#define ")?.strip_prefix(name)?;
            rest.starts_with(' ')
                .then(|| rest.split_whitespace().next().unwrap_or("").to_owned())
        })
    };
    let num = |name: &str| define(name).map(|v| v.trim_end_matches('u').to_owned());
    let s = |v: usize| Some(std::format!("{v}"));
    let u = |v: u32| Some(std::format!("{v}"));
    let i = |v: i32| Some(std::format!("{v}"));
    assert_eq!(num("GPC_LOCK_STORAGE_SIZE"), s(GPC_LOCK_STORAGE_SIZE));
    assert_eq!(num("GPC_LOCK_STORAGE_ALIGN"), s(GPC_LOCK_STORAGE_ALIGN));
    assert_eq!(
        num("GPC_LOCK_CLASS_KEY_SIZE"),
        s(crate::abi::GPC_LOCK_CLASS_KEY_SIZE)
    );
    assert_eq!(num("GPC_MAX_ERRNO"), s(GPC_MAX_ERRNO));
    assert_eq!(num("GPC_GFP_KERNEL"), u(GPC_GFP_KERNEL));
    assert_eq!(num("GPC_GFP_ATOMIC"), u(GPC_GFP_ATOMIC));
    assert_eq!(num("GPC_GFP_ZERO"), u(GPC_GFP_ZERO));
    assert_eq!(num("GPC_GFP_NOWAIT"), u(GPC_GFP_NOWAIT));
    assert_eq!(num("GPC_STAT_DIR"), i(GPC_STAT_DIR));
    assert_eq!(num("GPC_STAT_FILE"), i(GPC_STAT_FILE));
    assert_eq!(num("GPC_DEVCG_DEV_BLOCK"), i(GPC_DEVCG_DEV_BLOCK));
    assert_eq!(num("GPC_DEVCG_DEV_CHAR"), i(GPC_DEVCG_DEV_CHAR));
    assert_eq!(num("GPC_DEVCG_ACC_MKNOD"), u(GPC_DEVCG_ACC_MKNOD));
    assert_eq!(num("GPC_DEVCG_ACC_READ"), u(GPC_DEVCG_ACC_READ));
    assert_eq!(num("GPC_DEVCG_ACC_WRITE"), u(GPC_DEVCG_ACC_WRITE));
    assert_eq!(
        GPC_DEVCG_ACC_MASK,
        GPC_DEVCG_ACC_MKNOD | GPC_DEVCG_ACC_READ | GPC_DEVCG_ACC_WRITE
    );
    assert_eq!(num("GPC_LRU_INACTIVE_ANON"), i(GPC_LRU_INACTIVE_ANON));
    assert_eq!(num("GPC_LRU_ACTIVE_ANON"), i(GPC_LRU_ACTIVE_ANON));
    assert_eq!(num("GPC_LRU_INACTIVE_FILE"), i(GPC_LRU_INACTIVE_FILE));
    assert_eq!(num("GPC_LRU_ACTIVE_FILE"), i(GPC_LRU_ACTIVE_FILE));
    assert_eq!(num("GPC_MEM_ROOT"), Some(std::format!("{GPC_MEM_ROOT}")));
    assert_eq!(num("GPC_MEM_NOWAIT"), u(GPC_MEM_NOWAIT));
    assert_eq!(num("GPC_MEM_NO_OOM"), u(GPC_MEM_NO_OOM));
    assert_eq!(num("GPC_MEM_USER_FAULT"), u(GPC_MEM_USER_FAULT));
    assert_eq!(num("GPC_MEM_WAIT_VICTIM"), i(GPC_MEM_WAIT_VICTIM));
    assert_eq!(num("GPC_MEM_WAIT_OOM"), i(GPC_MEM_WAIT_OOM));
    assert_eq!(define("GPC_OOM_UNKILLABLE").as_deref(), Some("UINT64_MAX"));
    assert_eq!(GPC_OOM_UNKILLABLE, u64::MAX);
    // struct gpc_mem_charge: the header's fields, in the Rust order.
    let fields = [
        "uint64_t group;",
        "uint64_t high_delay_ms;",
        "uint64_t over_high;",
        "uint64_t reclaimed;",
        "uint32_t killed;",
        "int32_t wait;",
    ];
    let body = h
        .split("struct gpc_mem_charge {")
        .nth(1)
        .and_then(|b| b.split("};").next())
        .unwrap_or("");
    let mut at = 0;
    for f in fields {
        let p = body.get(at..).and_then(|b| b.find(f));
        assert!(
            p.is_some(),
            "struct gpc_mem_charge lacks {f} (in this order)"
        );
        at = at.saturating_add(p.unwrap_or(0)).saturating_add(f.len());
    }
    assert_eq!(
        GPC_TASK_SLOT_SIZE,
        core::mem::size_of::<gpc_core::TaskSlot>()
    );
    assert_eq!(
        GPC_TASK_SLOT_ALIGN,
        core::mem::align_of::<gpc_core::TaskSlot>()
    );
    // The header's struct is three pointers and nothing else (no ids): 24 bytes on
    // 64-bit.
    assert!(h.contains("void *opaque[3];") && !h.contains("uint32_t ids[2];"));
    assert!(h.contains("#define GPC_TASK_SLOT_SIZE (3 * sizeof(void *))\n"));
    assert_eq!(GPC_TASK_SLOT_SIZE, 3 * core::mem::size_of::<*mut c_void>());
    // The subsystem enum is `gpc_subsystems::all()`'s order.
    let g = new_instance();
    let names = [
        "CPUSET",
        "CPU",
        "CPUACCT",
        "IO",
        "MEMORY",
        "DEVICES",
        "FREEZER",
        "NET_CLS",
        "PERF_EVENT",
        "NET_PRIO",
        "HUGETLB",
        "PIDS",
        "RDMA",
        "MISC",
        "NS",
        "DEBUG",
    ];
    // SAFETY: live instance.
    assert_eq!(unsafe { gpc_subsys_count(g) }, names.len() as c_int);
    for (id, n) in names.iter().enumerate() {
        let want = std::format!("GPC_SS_{n} = {id},");
        assert!(h.contains(&want), "{want}");
        let name = cstr(&n.to_lowercase());
        // SAFETY: live instance, NUL-terminated name.
        assert_eq!(unsafe { gpc_subsys_id(g, name.as_ptr()) }, id as c_int);
    }
    let nope = cstr("nope");
    // SAFETY: as above.
    assert_eq!(unsafe { gpc_subsys_id(g, nope.as_ptr()) }, ENOENT);
    // SAFETY: live, unused afterwards.
    unsafe { gpc_destroy(g) };
}

#[test]
fn abi_check() {
    assert_eq!(
        gpc_abi_check(
            GPC_TASK_SLOT_SIZE,
            GPC_TASK_SLOT_ALIGN,
            GPC_LOCK_STORAGE_SIZE,
            GPC_LOCK_STORAGE_ALIGN
        ),
        0
    );
    assert_eq!(gpc_abi_check(16, 8, 128, 16), EINVAL);
}

#[test]
fn bad_handles_are_einval() {
    let err = usize::MAX - 11; // ERR_PTR(-12)
    let null: *const Instance = ptr::null();
    let errp = err as *const Instance;
    let opts = cstr("cpu");
    for g in [null, errp] {
        // SAFETY: null and error pointers are accepted by every export.
        unsafe {
            assert_eq!(gpc_mount(g, opts.as_ptr(), ptr::null_mut()), EINVAL);
            assert_eq!(gpc_subsys_count(g), EINVAL);
            assert_eq!(
                gpc_proc_cgroups(g, ptr::null_mut(), 0),
                c_long::from(EINVAL)
            );
            assert!(gpc_task_css(g, ptr::null_mut(), 0).is_null());
            gpc_exit(g, ptr::null_mut());
            gpc_destroy(g.cast_mut());
        }
    }
    // SAFETY: a null slot is ignored.
    unsafe { gpc_task_slot_init(ptr::null_mut()) };
}

#[test]
fn strings_are_checked() {
    let g = new_instance();
    // SAFETY: live instance; every string below is NUL-terminated (or null).
    unsafe {
        let h = gpc_mount(g, ptr::null(), ptr::null_mut());
        assert!(h > 0, "{h}");
        let bad = [0xffu8 as c_char, 0];
        assert_eq!(gpc_mkdir(g, h, bad.as_ptr()), EINVAL);
        assert_eq!(gpc_mkdir(g, h, ptr::null()), EINVAL);
        let long = cstr(&"a".repeat(MAX_STRING + 1));
        assert_eq!(gpc_mkdir(g, h, long.as_ptr()), ENAMETOOLONG);
        let just = cstr(&std::format!("/{}", "b".repeat(MAX_STRING - 1)));
        assert_eq!(gpc_mkdir(g, h, just.as_ptr()), 0);
        assert_eq!(gpc_rmdir(g, h, just.as_ptr()), 0);
        assert_eq!(gpc_mkdir(g, h + 100, just.as_ptr()), ENOENT);
        assert_eq!(gpc_umount(g, h + 100), EINVAL);
        assert_eq!(gpc_umount(g, h), 0);
        assert_eq!(gpc_umount(g, h), EINVAL);
        gpc_destroy(g);
    }
}

#[test]
fn lifecycle_through_the_abi() {
    let g = new_instance();
    let init = mock::new_task(0, ROOT);
    // SAFETY: live instance and tasks from the mock kernel, NUL-terminated strings.
    unsafe {
        assert_eq!(gpc_init_task(g, init), 0);
        assert_eq!(gpc_init_task(g, init), EBUSY);
        mock::publish(init);
        let alice = mock::new_task(0, user(1000));
        assert_eq!(gpc_fork(g, init, alice), 0);
        assert_eq!(gpc_fork(g, init, alice), EBUSY);
        mock::publish(alice);

        let opts = cstr("cpu,cpuacct");
        assert_eq!(gpc_mount(g, opts.as_ptr(), alice), EPERM);
        let h = gpc_mount(g, opts.as_ptr(), ptr::null_mut());
        assert!(h > 0);
        assert_eq!(gpc_mount(g, opts.as_ptr(), init), h);
        let pids = cstr("pids");
        let hp = gpc_mount(g, pids.as_ptr(), init);
        assert!(hp > 0 && hp != h);

        let a = cstr("/a");
        assert_eq!(gpc_mkdir(g, h, a.as_ptr()), 0);
        let mut st = GpcStat::default();
        assert_eq!(gpc_stat(g, h, a.as_ptr(), &mut st), 0);
        assert_eq!(st.kind, GPC_STAT_DIR);
        let shares = cstr("/a/cpu.shares");
        assert_eq!(gpc_stat(g, h, shares.as_ptr(), &mut st), 0);
        assert_eq!((st.kind, st.mode), (GPC_STAT_FILE, 0o644));
        assert_eq!(gpc_stat(g, h, a.as_ptr(), ptr::null_mut()), EINVAL);

        assert_eq!(write(g, h, "/a/cpu.shares", "512", ptr::null_mut()), 0);
        assert_eq!(
            read(g, h, "/a/cpu.shares", ptr::null_mut()).as_deref(),
            Ok("512\n")
        );

        // The v1 move rule: alice may not move init, root may move alice.
        let init_pid = mock::pid_of(init).to_string();
        let alice_pid = mock::pid_of(alice).to_string();
        assert_eq!(write(g, h, "/a/tasks", &init_pid, alice), EACCES);
        assert_eq!(write(g, h, "/a/tasks", &alice_pid, init), 0);
        assert_eq!(
            read(g, h, "/a/tasks", init),
            Ok(std::format!("{alice_pid}\n"))
        );

        // The lookup: alice's cpu state differs from init's, her pids state does not.
        gpc_rcu_read_lock_mock();
        let cpu: c_int = 1; // GPC_SS_CPU
        let pid_ss: c_int = 11; // GPC_SS_PIDS
        assert!(!gpc_task_css(g, alice, cpu).is_null());
        assert_ne!(gpc_task_css(g, alice, cpu), gpc_task_css(g, init, cpu));
        assert_eq!(
            gpc_task_css(g, alice, pid_ss),
            gpc_task_css(g, init, pid_ss)
        );
        assert!(gpc_task_css(g, alice, 99).is_null());
        assert!(gpc_task_css(g, alice, -1).is_null());
        gpc_rcu_read_unlock_mock();

        // /proc, newest hierarchy first.
        let line_h = std::format!("{h}:cpu,cpuacct:/a\n");
        let want = std::format!("{hp}:pids:/\n{line_h}");
        assert_eq!(
            out(|b, n| gpc_proc_pid_cgroup(g, alice, b, n)).as_deref(),
            Ok(want.as_str())
        );
        let cg = out(|b, n| gpc_proc_cgroups(g, b, n)).unwrap_or_default();
        assert!(cg.starts_with("#subsys_name\thierarchy\tnum_cgroups\tenabled\n"));
        assert!(cg.contains(&std::format!("cpu\t{h}\t2\t1\n")), "{cg}");

        // Moving alice back to the root, then rmdir.
        let root = cstr("/");
        assert_eq!(gpc_rmdir(g, h, a.as_ptr()), EBUSY);
        assert_eq!(gpc_attach(g, h, root.as_ptr(), alice), 0);
        assert_eq!(gpc_rmdir(g, h, a.as_ptr()), 0);

        gpc_exit(g, alice);
        mock::reap(alice);
        gpc_exit(g, init);
        mock::reap(init);
        assert_eq!(gpc_umount(g, h), 0);
        assert_eq!(gpc_umount(g, h), 0);
        assert_eq!(gpc_umount(g, hp), 0);
        gpc_destroy(g);
    }
}

fn gpc_rcu_read_lock_mock() {
    // SAFETY: no preconditions.
    unsafe { crate::ffi::gpc_rcu_read_lock() };
}

fn gpc_rcu_read_unlock_mock() {
    // SAFETY: matches the lock above.
    unsafe { crate::ffi::gpc_rcu_read_unlock() };
}

#[test]
fn output_buffers() {
    let g = new_instance();
    // SAFETY: live instance; buffers sized as passed.
    unsafe {
        let opts = cstr("none,name=x");
        let h = gpc_mount(g, opts.as_ptr(), ptr::null_mut());
        assert!(h > 0);
        let root = cstr("/");
        let need = gpc_list(g, h, root.as_ptr(), ptr::null_mut(), 0);
        assert!(need > 0);
        let need_u = usize::try_from(need).unwrap_or(0);
        let mut buf: Vec<u8> = std::vec![0xaa; need_u];
        assert_eq!(
            gpc_list(g, h, root.as_ptr(), buf.as_mut_ptr().cast(), need_u - 1),
            c_long::from(EOVERFLOW)
        );
        assert!(
            buf.iter().all(|&b| b == 0xaa),
            "nothing written on overflow"
        );
        assert_eq!(
            gpc_list(g, h, root.as_ptr(), buf.as_mut_ptr().cast(), need_u),
            need
        );
        let names: Vec<&[u8]> = buf.split(|&b| b == 0).filter(|n| !n.is_empty()).collect();
        assert_eq!(buf.last(), Some(&0));
        assert!(names.contains(&&b"tasks"[..]));
        assert!(names.contains(&&b"release_agent"[..]));
        assert_eq!(
            gpc_list(g, h, root.as_ptr(), ptr::null_mut(), 5),
            c_long::from(EINVAL)
        );
        // Reading a directory, writing without data.
        assert_eq!(read(g, h, "/", ptr::null_mut()), Err(-21));
        let agent = cstr("/release_agent");
        assert_eq!(
            gpc_write(g, h, agent.as_ptr(), ptr::null_mut(), ptr::null(), 0),
            0
        );
        assert_eq!(
            gpc_write(g, h, agent.as_ptr(), ptr::null_mut(), ptr::null(), 3),
            EINVAL
        );
        assert_eq!(gpc_umount(g, h), 0);
        gpc_destroy(g);
    }
}

#[test]
fn releases_reach_the_callback() {
    unsafe extern "C" fn collect(
        ctx: *mut c_void,
        agent: *const c_char,
        agent_len: usize,
        path: *const c_char,
        path_len: usize,
    ) {
        // SAFETY: the test's Vec, and strings valid during the call.
        unsafe {
            let v = &mut *ctx.cast::<Vec<(String, String)>>();
            let a = core::slice::from_raw_parts(agent.cast::<u8>(), agent_len);
            let p = core::slice::from_raw_parts(path.cast::<u8>(), path_len);
            v.push((
                String::from_utf8_lossy(a).into_owned(),
                String::from_utf8_lossy(p).into_owned(),
            ));
        }
    }
    let g = new_instance();
    let init = mock::new_task(0, ROOT);
    // SAFETY: live instance and tasks, NUL-terminated strings, callback of the right
    // type with a context that outlives the call.
    unsafe {
        assert_eq!(gpc_init_task(g, init), 0);
        mock::publish(init);
        let opts = cstr("none,name=rel,release_agent=/sbin/agent");
        let h = gpc_mount(g, opts.as_ptr(), ptr::null_mut());
        assert!(h > 0);
        let r = cstr("/r");
        assert_eq!(gpc_mkdir(g, h, r.as_ptr()), 0);
        assert_eq!(write(g, h, "/r/notify_on_release", "1", ptr::null_mut()), 0);
        assert_eq!(gpc_attach(g, h, r.as_ptr(), init), 0);
        let before = mock::NOTIFIED.load(core::sync::atomic::Ordering::Relaxed);
        let root = cstr("/");
        assert_eq!(gpc_attach(g, h, root.as_ptr(), init), 0);
        assert!(mock::NOTIFIED.load(core::sync::atomic::Ordering::Relaxed) > before);
        let mut got: Vec<(String, String)> = Vec::new();
        let n = gpc_drain_releases(g, Some(collect), ptr::from_mut(&mut got).cast());
        assert_eq!(n, 1);
        assert_eq!(got, [("/sbin/agent".into(), "/r".into())]);
        assert_eq!(gpc_drain_releases(g, None, ptr::null_mut()), EINVAL);
        assert_eq!(gpc_rmdir(g, h, r.as_ptr()), 0);
        gpc_exit(g, init);
        mock::reap(init);
        assert_eq!(gpc_umount(g, h), 0);
        gpc_destroy(g);
    }
}

/// The flags `gpc_kmalloc` gets are the call site's (its allocation scope), never a
/// guess from the lock state: a spinlock held changes nothing, the scope does; outside
/// any scope the allocator passes GPC_GFP_ATOMIC, the choice that cannot sleep.
#[test]
fn gfp_is_the_call_sites() {
    use core::alloc::{GlobalAlloc, Layout};
    use gpc_core::host::alloc::{scope, set_scope_hooks, Gfp};
    assert!(set_scope_hooks(&crate::kalloc::SCOPE_HOOKS));
    let layout = Layout::new::<u64>();
    let alloc_flags = || {
        // SAFETY: a non-zero layout; freed right away with the same layout.
        unsafe {
            let p = crate::kalloc::KAlloc.alloc(layout);
            assert!(!p.is_null());
            crate::kalloc::KAlloc.dealloc(p, layout);
        }
        LAST_GFP.with(|f| f.get())
    };
    assert_eq!(alloc_flags(), Some(GPC_GFP_ATOMIC), "outside any scope");
    {
        let _k = scope(Gfp::KERNEL);
        assert_eq!(alloc_flags(), Some(GPC_GFP_KERNEL));
        {
            let _a = scope(Gfp::ATOMIC);
            assert_eq!(alloc_flags(), Some(GPC_GFP_ATOMIC));
            let _n = scope(Gfp::NOWAIT);
            assert_eq!(alloc_flags(), Some(GPC_GFP_NOWAIT));
        }
        assert_eq!(alloc_flags(), Some(GPC_GFP_KERNEL), "the scope is restored");
        let spin: Lock<u32, KSpin> = made!(gpc_core::new_lock!(0, c"test_gfp_spin"));
        let mutex: Lock<u32, KMutex> = made!(gpc_core::new_lock!(0, c"test_gfp"));
        let _m = mutex.lock();
        let _s = spin.lock();
        assert!(atomic_ctx::in_atomic());
        // A KERNEL scope under a spinlock is a bug at the call site, passed on as it is
        // for the kernel (and the C harness) to catch: nothing is silently upgraded.
        assert_eq!(alloc_flags(), Some(GPC_GFP_KERNEL));
    }
    assert_eq!(alloc_flags(), Some(GPC_GFP_ATOMIC), "all scopes closed");
    let _k = scope(Gfp::KERNEL);
    // SAFETY: a non-zero layout; freed right away.
    unsafe {
        let p = crate::kalloc::KAlloc.alloc_zeroed(layout);
        assert_eq!(p.cast::<u64>().read(), 0);
        crate::kalloc::KAlloc.dealloc(p, layout);
    }
    assert_eq!(
        LAST_GFP.with(|f| f.get()),
        Some(GPC_GFP_KERNEL | GPC_GFP_ZERO)
    );
}

#[test]
fn a_lock_is_initialised_once_in_place_and_never_again_after_moves() {
    let inits = || mock::MUTEX_INITS.with(|n| n.get());
    let (n0, _) = inits();
    let lock: Lock<u32, KMutex> = made!(gpc_core::new_lock!(1, c"test_moved"));
    let (n1, at1) = inits();
    assert_eq!(n1, n0.wrapping_add(1), "initialised when made");
    *lock.lock() = 2;
    let mut moved = std::boxed::Box::new(lock);
    *moved.lock() = 3;
    let (n2, at2) = inits();
    assert_eq!((n2, at2), (n1, at1), "the kernel's lock did not move");
    assert_eq!(*moved.get_mut(), 3);
}

#[test]
fn each_lock_site_passes_its_own_class_key() {
    let key = || mock::CLASS_INITS.with(|n| n.get().1);
    let _a: Lock<u32, KSpin> = made!(Lock::try_new(0, gpc_core::lock_class!(c"test_a")));
    let ka = key();
    let _b: Lock<u32, KSpin> = made!(Lock::try_new(0, gpc_core::lock_class!(c"test_b")));
    assert_ne!(ka, key());
    assert_ne!(ka, 0);
}

#[test]
fn the_irq_safe_lock_disables_interrupts_while_held() {
    let l: Lock<u32, KIrqSpin> = made!(Lock::try_new(0, gpc_core::lock_class!(c"test_irq")));
    let irq_off = || mock::IRQ_OFF.with(|n| n.get());
    let before = irq_off();
    {
        let _g = l.lock();
        assert_eq!(irq_off(), before.wrapping_add(1));
    }
    assert_eq!(irq_off(), before);
}

#[test]
fn threads_share_a_lock() {
    let l: &'static Lock<u64, KSpin> = std::boxed::Box::leak(std::boxed::Box::new(made!(
        Lock::try_new(0, gpc_core::lock_class!(c"test_shared"))
    )));
    let hs: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(move || {
                (0..5000).for_each(|_| {
                    let mut g = l.lock();
                    *g = g.wrapping_add(1);
                });
            })
        })
        .collect();
    for h in hs {
        assert!(h.join().is_ok());
    }
    assert_eq!(*l.lock(), 15000);
}

/// A task belongs to the instance that attached it: every export that takes a task
/// refuses one of another instance with `-EINVAL` and leaves it as it was.
#[test]
fn a_task_of_another_instance_is_einval() {
    let a = new_instance();
    let b = new_instance();
    let init_a = mock::new_task(0, ROOT);
    let init_b = mock::new_task(0, ROOT);
    // SAFETY: live instances and mock tasks, NUL-terminated strings.
    unsafe {
        assert_eq!(gpc_init_task(a, init_a), 0);
        assert_eq!(gpc_init_task(b, init_b), 0);
        mock::publish(init_a);
        mock::publish(init_b);
        let ta = mock::new_task(0, ROOT);
        assert_eq!(gpc_fork(a, init_a, ta), 0);
        mock::publish(ta);
        let ha = gpc_mount(a, cstr("cpu").as_ptr(), ptr::null_mut());
        let hb = gpc_mount(b, cstr("cpu").as_ptr(), ptr::null_mut());
        assert!(ha > 0 && hb > 0);
        assert_eq!(gpc_mkdir(b, hb, cstr("/x").as_ptr()), 0);
        assert_eq!(gpc_mkdir(a, ha, cstr("/x").as_ptr()), 0);
        let proc_a = out(|buf, n| gpc_proc_pid_cgroup(a, ta, buf, n));

        // fork with a parent of another instance: refused, the child untouched.
        let child = mock::new_task(0, ROOT);
        assert_eq!(gpc_fork(b, ta, child), EINVAL);
        assert_eq!(
            gpc_proc_pid_cgroup(b, child, ptr::null_mut(), 0),
            c_long::from(ESRCH)
        );
        // attach, exit, /proc/PID/cgroup, and a pid written to a tasks file.
        assert_eq!(gpc_attach(b, hb, cstr("/x").as_ptr(), ta), EINVAL);
        assert_eq!(
            gpc_proc_pid_cgroup(b, ta, ptr::null_mut(), 0),
            c_long::from(EINVAL)
        );
        let pid = mock::pid_of(ta).to_string();
        assert_eq!(write(b, hb, "/x/tasks", &pid, ptr::null_mut()), EINVAL);
        assert_eq!(
            write(b, hb, "/x/cgroup.procs", &pid, ptr::null_mut()),
            EINVAL
        );
        assert_eq!(gpc_exit(b, ta), EINVAL);
        // b's tasks files do not list it.
        let listed = read(b, hb, "/tasks", ptr::null_mut()).unwrap_or_default();
        assert!(!listed.lines().any(|l| l == pid), "{listed}");
        // Debug builds also check the lookup (release builds keep it at two loads).
        gpc_rcu_read_lock_mock();
        assert!(!gpc_task_css(a, ta, 1).is_null());
        if cfg!(debug_assertions) {
            assert!(gpc_task_css(b, ta, 1).is_null());
        }
        gpc_rcu_read_unlock_mock();

        // Still a's, unchanged, and a can move it and let it exit.
        assert_eq!(out(|buf, n| gpc_proc_pid_cgroup(a, ta, buf, n)), proc_a);
        assert_eq!(write(a, ha, "/x/tasks", &pid, ptr::null_mut()), 0);
        assert_eq!(gpc_attach(a, ha, cstr("/").as_ptr(), ta), 0);
        assert_eq!(gpc_exit(a, ta), 0);
        assert_eq!(gpc_exit(a, ta), 0, "exiting twice is a no-op");
        mock::reap(ta);
        mock::reap(child);
        for (g, h, init) in [(a, ha, init_a), (b, hb, init_b)] {
            assert_eq!(gpc_rmdir(g, h, cstr("/x").as_ptr()), 0);
            assert_eq!(gpc_umount(g, h), 0);
            assert_eq!(gpc_exit(g, init), 0);
            mock::reap(init);
            gpc_destroy(g);
        }
    }
}

#[test]
fn null_tasks_and_slots_are_einval() {
    let g = new_instance();
    // SAFETY: a live instance; null pointers are accepted.
    unsafe {
        assert_eq!(gpc_task_slot_init(ptr::null_mut()), EINVAL);
        assert_eq!(gpc_exit(g, ptr::null_mut()), EINVAL);
        assert_eq!(gpc_exit(ptr::null(), ptr::null_mut()), EINVAL);
        assert_eq!(gpc_init_task(g, ptr::null_mut()), EINVAL);
        assert_eq!(gpc_fork(g, ptr::null_mut(), ptr::null_mut()), EINVAL);
        gpc_destroy(g);
    }
}

/// Debug builds refuse to empty an attached slot (release builds document it as
/// undefined: the reference would leak).
#[cfg(debug_assertions)]
#[test]
fn reinitialising_an_attached_slot_is_einval_in_debug_builds() {
    let g = new_instance();
    let init = mock::new_task(0, ROOT);
    // SAFETY: live instance and mock tasks; the slot pointers are the tasks' own.
    unsafe {
        assert_eq!(gpc_init_task(g, init), 0);
        mock::publish(init);
        let t = mock::new_task(0, ROOT);
        let slot = crate::ffi::gpc_task_slot(t);
        assert_eq!(gpc_task_slot_init(slot), 0, "a fresh slot");
        assert_eq!(gpc_fork(g, init, t), 0);
        mock::publish(t);
        let before = out(|b, n| gpc_proc_pid_cgroup(g, t, b, n));
        assert_eq!(gpc_task_slot_init(slot), EINVAL);
        assert_eq!(
            gpc_task_slot_init(crate::ffi::gpc_task_slot(init)),
            EINVAL,
            "init's too"
        );
        assert_eq!(
            out(|b, n| gpc_proc_pid_cgroup(g, t, b, n)),
            before,
            "unchanged"
        );
        assert_eq!(gpc_exit(g, t), 0);
        assert_eq!(gpc_task_slot_init(slot), 0, "detached: may be emptied");
        // A copy of an attached slot (dup_task_struct) is not attached.
        let copy = mock::new_task(0, ROOT);
        let copy_slot = crate::ffi::gpc_task_slot(copy);
        ptr::copy_nonoverlapping(crate::ffi::gpc_task_slot(init), copy_slot, 1);
        assert_eq!(gpc_task_slot_init(copy_slot), 0);
        mock::reap(copy);
        mock::reap(t);
        assert_eq!(gpc_exit(g, init), 0);
        mock::reap(init);
        gpc_destroy(g);
    }
}

#[cfg(debug_assertions)]
#[test]
fn the_slot_registry_forgets_what_it_is_told() {
    use crate::slot_registry::{contains, insert, remove, PROBE};
    // Addresses no real slot has (odd), spaced like task structs.
    let base = 0x7000_0000_0001usize;
    let addrs: Vec<usize> = (0..4 * PROBE).map(|i| base + i * 4096).collect();
    for &a in &addrs {
        insert(a);
    }
    for &a in &addrs {
        assert!(contains(a));
    }
    for &a in &addrs {
        remove(a);
    }
    assert!(addrs.iter().all(|&a| !contains(a)));
    assert!(!contains(0));
}

/// What the deferral scenario saw: whether the state a reader looked up was freed while
/// the reader was inside its section, and whether it was freed once it left.
fn rcu_deferral_scenario(eager_call_rcu: bool) -> (bool, bool) {
    use core::sync::atomic::Ordering::SeqCst;
    let _one = mock::WATCH_USER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let g = new_instance();
    let init = mock::new_task(0, ROOT);
    let t = mock::new_task(0, ROOT);
    // SAFETY: live instance and mock tasks, NUL-terminated strings; the state pointer is
    // only compared and watched, never read.
    unsafe {
        assert_eq!(gpc_init_task(g, init), 0);
        mock::publish(init);
        assert_eq!(gpc_fork(g, init, t), 0);
        mock::publish(t);
        let h = gpc_mount(g, cstr("cpu").as_ptr(), ptr::null_mut());
        assert!(h > 0);
        assert_eq!(gpc_mkdir(g, h, cstr("/a").as_ptr()), 0);
        assert_eq!(gpc_attach(g, h, cstr("/a").as_ptr(), t), 0);

        gpc_rcu_read_lock_mock();
        let state = gpc_task_css(g, t, 1);
        assert!(!state.is_null());
        mock::WATCHED_FREED.store(0, SeqCst);
        mock::WATCHED.store(state as usize, SeqCst);
        // The writer, on another thread: the task leaves /a, /a goes.
        let (gw, tw) = (g as usize, t as usize);
        let writer = std::thread::spawn(move || {
            mock::EAGER_CALL_RCU.with(|e| e.set(eager_call_rcu));
            let (g, t) = (gw as *const Instance, tw as *mut GpcTask);
            let root = cstr("/");
            let a = cstr("/a");
            // Inside the outer unsafe block: the instance and task outlive the thread
            // (joined below).
            (
                gpc_attach(g, h, root.as_ptr(), t),
                gpc_rmdir(g, h, a.as_ptr()),
            )
        });
        assert_eq!(writer.join().ok(), Some((0, 0)));
        let freed_inside = mock::WATCHED_FREED.load(SeqCst) != 0;
        gpc_rcu_read_unlock_mock();
        crate::ffi::gpc_synchronize_rcu();
        let freed_after = mock::WATCHED_FREED.load(SeqCst) != 0;
        mock::WATCHED.store(0, SeqCst);

        assert_eq!(gpc_exit(g, t), 0);
        mock::reap(t);
        assert_eq!(gpc_exit(g, init), 0);
        mock::reap(init);
        assert_eq!(gpc_umount(g, h), 0);
        gpc_destroy(g);
        (freed_inside, freed_after)
    }
}

/// RCU callbacks are deferred past readers: a state a reader saw survives the writer's
/// rmdir until the reader leaves, then is freed. The check is not vacuous: with a
/// `gpc_call_rcu` that frees at once, it sees the state freed under the reader.
#[test]
fn rcu_frees_wait_for_the_readers_that_saw_the_object() {
    assert_eq!(rcu_deferral_scenario(false), (false, true));
    assert_eq!(
        rcu_deferral_scenario(true),
        (true, true),
        "an eager call_rcu is caught"
    );
}

/// The enforcement exports on extreme inputs: no panic, the documented errno or answer.
#[test]
fn enforcement_takes_any_input() {
    let g = new_instance();
    let init = mock::new_task(0, ROOT);
    // SAFETY: live instance and tasks from the mock kernel; out-pointers to locals.
    unsafe {
        assert_eq!(gpc_init_task(g, init), 0);
        mock::publish(init);
        let t = mock::new_task(0, ROOT);
        assert_eq!(gpc_fork(g, init, t), 0);
        mock::publish(t);
        let h = gpc_mount(
            g,
            cstr("memory,cpuacct,cpu,cpuset").as_ptr(),
            ptr::null_mut(),
        );
        assert!(h > 0, "{h}");
        assert_eq!(gpc_mkdir(g, h, cstr("/m").as_ptr()), 0);
        assert_eq!(
            write(g, h, "/m/memory.limit_in_bytes", "1M", ptr::null_mut()),
            0
        );
        assert_eq!(write(g, h, "/m/cpuset.cpus", "0-3", ptr::null_mut()), 0);
        assert_eq!(write(g, h, "/m/cpuset.mems", "0", ptr::null_mut()), 0);
        assert_eq!(gpc_attach(g, h, cstr("/m").as_ptr(), t), 0);

        const ENOMEM: c_int = -12;
        // A charge no counter can hold: refused by the first counter charged (memsw, as
        // try_charge_memcg charges it first), counted there, and nothing else changes.
        assert_eq!(gpc_memory_charge(g, t, u64::MAX), ENOMEM);
        assert_eq!(
            read(g, h, "/m/memory.usage_in_bytes", ptr::null_mut()).as_deref(),
            Ok("0\n")
        );
        assert_eq!(
            read(g, h, "/m/memory.memsw.failcnt", ptr::null_mut()).as_deref(),
            Ok("1\n")
        );
        // The root takes any charge (no counter), and gives it back.
        assert_eq!(gpc_memory_charge(g, init, u64::MAX), 0);
        assert_eq!(gpc_memory_uncharge(g, init, u64::MAX), 0);
        // Uncharging what was never charged stops at 0.
        assert_eq!(gpc_memory_uncharge(g, t, u64::MAX), 0);
        assert_eq!(
            read(g, h, "/m/memory.usage_in_bytes", ptr::null_mut()).as_deref(),
            Ok("0\n")
        );

        assert_eq!(gpc_cpuacct_charge(g, t, 3, u64::MAX, false), 0);
        assert_eq!(gpc_cpuacct_charge(g, t, 4, 1, false), EINVAL);
        assert_eq!(gpc_cpuacct_charge(g, t, u32::MAX, 1, true), EINVAL);

        let mut bw = GpcCpuBandwidth::default();
        assert_eq!(gpc_cpu_bandwidth(g, t, u32::MAX, &mut bw), ENOENT);
        assert_eq!(gpc_cpu_bandwidth(g, t, 2, &mut bw), ENOENT);
        assert_eq!(gpc_cpu_bandwidth(g, t, 1, &mut bw), 0);
        assert_eq!(bw.quota_us, -1);

        // Bitmaps: an absurd size with a NULL mask is EINVAL, a one-word mask works.
        let mut words = [0 as core::ffi::c_ulong; 1];
        assert_eq!(
            gpc_cpuset_cpus(g, t, ptr::null_mut(), usize::MAX),
            c_long::from(EINVAL)
        );
        assert_eq!(gpc_cpuset_cpus(g, t, words.as_mut_ptr(), 64), 4);
        assert_eq!(words[0], 0xf);
        assert_eq!(
            gpc_cpuset_mems(g, t, words.as_mut_ptr(), 0),
            c_long::from(EOVERFLOW)
        );
        assert_eq!(gpc_cpuset_mems(g, t, ptr::null_mut(), 0), 1);

        // Devices: every type and access value outside the ABI is EINVAL.
        for ty in [c_int::MIN, -1, 0, 3, c_int::MAX] {
            assert_eq!(
                gpc_device_access(g, t, ty, 0, 0, GPC_DEVCG_ACC_READ),
                EINVAL
            );
        }
        for access in [0, 8, u32::MAX] {
            assert_eq!(
                gpc_device_access(g, t, GPC_DEVCG_DEV_CHAR, 0, 0, access),
                EINVAL
            );
        }
        assert_eq!(
            gpc_device_access(g, t, GPC_DEVCG_DEV_BLOCK, u32::MAX, u32::MAX, 7),
            0
        );

        // A task that exited is not attached any more.
        assert_eq!(gpc_attach(g, h, cstr("/").as_ptr(), t), 0);
        gpc_exit(g, t);
        let mut shares = 0u64;
        assert_eq!(gpc_cpu_shares(g, t, &mut shares), ESRCH);
        assert_eq!(gpc_freezer_frozen(g, t), ESRCH);
        mock::reap(t);
        assert_eq!(gpc_rmdir(g, h, cstr("/m").as_ptr()), 0);
        gpc_exit(g, init);
        mock::reap(init);
        assert_eq!(gpc_umount(g, h), 0);
        gpc_destroy(g);
    }
}

/// Everything `reader` still has, `piece` bytes per `gpc_pids_read`.
///
/// # Safety
///
/// `reader` is an open reader.
unsafe fn read_in_pieces(reader: *mut GpcPidsReader, piece: usize) -> Result<String, c_long> {
    let mut all = Vec::new();
    let mut buf = std::vec![0u8; piece];
    loop {
        // SAFETY: open reader (caller), `piece` writable bytes.
        let n = unsafe { gpc_pids_read(reader, buf.as_mut_ptr().cast(), piece) };
        let n = usize::try_from(n).map_err(|_| n)?;
        assert!(n <= piece);
        if n == 0 {
            return Ok(String::from_utf8_lossy(&all).into_owned());
        }
        all.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
}

#[test]
fn pids_readers_stream_what_gpc_read_gives_at_once() {
    const ENODEV: c_long = -19;
    let g = new_instance();
    let init = mock::new_task(0, ROOT);
    // SAFETY: live instance, mock tasks, NUL-terminated strings, readers from
    // `gpc_pids_open` used until closed.
    unsafe {
        assert_eq!(gpc_init_task(g, init), 0);
        mock::publish(init);
        let h = gpc_mount(g, cstr("cpu").as_ptr(), ptr::null_mut());
        assert!(h > 0);
        assert_eq!(gpc_mkdir(g, h, cstr("/a").as_ptr()), 0);
        // Many tasks in /a, and a few threads of one process (cgroup.procs lists their
        // group once).
        let mut kids = Vec::new();
        for _ in 0..300 {
            let t = mock::new_task(0, ROOT);
            assert_eq!(gpc_fork(g, init, t), 0);
            mock::publish(t);
            assert_eq!(gpc_attach(g, h, cstr("/a").as_ptr(), t), 0);
            kids.push(t);
        }
        let leader = *kids.first().unwrap_or(&init);
        for _ in 0..5 {
            let t = mock::new_task(mock::pid_of(leader), ROOT);
            assert_eq!(gpc_fork(g, leader, t), 0);
            mock::publish(t);
            kids.push(t);
        }
        // A copy of an attached slot (dup_task_struct) emptied by gpc_task_slot_init
        // leaves the parent's list as it was (nothing unlinked through the copy).
        let copy = mock::new_task(0, ROOT);
        ptr::copy_nonoverlapping(
            crate::ffi::gpc_task_slot(leader),
            crate::ffi::gpc_task_slot(copy),
            1,
        );
        assert_eq!(gpc_task_slot_init(crate::ffi::gpc_task_slot(copy)), 0);
        mock::reap(copy);

        for (file, lines) in [("/a/tasks", 305), ("/a/cgroup.procs", 300)] {
            let whole = read(g, h, file, ptr::null_mut());
            let whole = whole.unwrap_or_default();
            assert_eq!(whole.lines().count(), lines, "{file}");
            for piece in [1, 3, 7, 64, 4096] {
                let r = gpc_pids_open(g, h, cstr(file).as_ptr());
                assert!(!r.is_null() && (r as usize) < usize::MAX - GPC_MAX_ERRNO);
                assert_eq!(read_in_pieces(r, piece).as_deref(), Ok(whole.as_str()));
                assert_eq!(gpc_pids_read(r, ptr::null_mut(), 0), 0, "at the end");
                assert_eq!(gpc_pids_close(r), 0);
            }
        }

        // Errors: as error pointers at open, errnos later.
        let err = |r: *mut GpcPidsReader| -((r as usize).wrapping_neg() as c_long);
        assert_eq!(
            err(gpc_pids_open(g, h, cstr("/a/cpu.shares").as_ptr())),
            EINVAL as c_long
        );
        assert_eq!(
            err(gpc_pids_open(g, h, cstr("/nope/tasks").as_ptr())),
            ENOENT as c_long
        );
        assert_eq!(err(gpc_pids_open(g, h, cstr("/a").as_ptr())), -21);
        assert_eq!(
            err(gpc_pids_open(g, 999, cstr("/tasks").as_ptr())),
            ENOENT as c_long
        );
        assert_eq!(
            err(gpc_pids_open(ptr::null(), h, cstr("/tasks").as_ptr())),
            EINVAL as c_long
        );
        assert_eq!(
            gpc_pids_read(ptr::null_mut(), ptr::null_mut(), 0),
            EINVAL as c_long
        );
        assert_eq!(gpc_pids_close(ptr::null_mut()), EINVAL);
        let r = gpc_pids_open(g, h, cstr("/a/tasks").as_ptr());
        assert_eq!(gpc_pids_read(r, ptr::null_mut(), 5), EINVAL as c_long);
        // A removed container: -ENODEV once the reader needs its next pass.
        for &t in &kids {
            assert_eq!(gpc_attach(g, h, cstr("/").as_ptr(), t), 0);
        }
        assert_eq!(gpc_rmdir(g, h, cstr("/a").as_ptr()), 0);
        assert_eq!(read_in_pieces(r, 16), Err(ENODEV));
        assert_eq!(gpc_pids_close(r), 0);

        // A reader left open across gpc_destroy is detached, not dangling.
        let left = gpc_pids_open(g, h, cstr("/tasks").as_ptr());
        let mut b = [0u8; 4];
        assert_eq!(gpc_pids_read(left, b.as_mut_ptr().cast(), 4), 4);
        for t in kids {
            assert_eq!(gpc_exit(g, t), 0);
            mock::reap(t);
        }
        assert_eq!(gpc_exit(g, init), 0);
        mock::reap(init);
        assert_eq!(gpc_umount(g, h), 0);
        gpc_destroy(g);
        assert_eq!(gpc_pids_read(left, b.as_mut_ptr().cast(), 4), ENODEV);
        assert_eq!(gpc_pids_close(left), 0);
    }
}

/// cgroup v2 through the exports, against a kernel without job control (the mock's
/// defaults): the unified hierarchy's handle, its files through `gpc_read`/`gpc_write`,
/// `cgroup.kill` failing with the kernel's errno, clone3 into a group, a namespace, and
/// `-EINVAL` for every null argument. The C harness drives the same with job control.
#[test]
fn v2_through_the_abi() {
    const EBADF: c_int = -9;
    const EOPNOTSUPP: c_int = -95;
    const EIO: c_int = -5;
    let g = new_instance();
    let init = mock::new_task(0, ROOT);
    // SAFETY: live instance and tasks from the mock kernel, NUL-terminated strings.
    unsafe {
        assert_eq!(gpc_init_task(g, init), 0);
        mock::publish(init);
        let t = mock::new_task(0, ROOT);
        assert_eq!(gpc_fork(g, init, t), 0);
        mock::publish(t);

        assert_eq!(gpc_unified_hierarchy(g), ENOENT);
        assert_eq!(gpc_unified_hierarchy(ptr::null()), EINVAL);
        let u = gpc_mount_v2(g, ptr::null(), ptr::null_mut());
        assert_eq!(u, 0, "the unified hierarchy's /proc id");
        assert_eq!(gpc_unified_hierarchy(g), u);
        let pids = cstr("pids");
        let hp = gpc_mount(g, pids.as_ptr(), ptr::null_mut());
        assert!(hp > 0);

        let svc = cstr("/svc");
        assert_eq!(gpc_mkdir(g, u, svc.as_ptr()), 0);
        let pid = mock::pid_of(t).to_string();
        assert_eq!(write(g, u, "/svc/cgroup.procs", &pid, ptr::null_mut()), 0);
        assert_eq!(
            read(g, u, "/svc/cgroup.events", ptr::null_mut()).as_deref(),
            Ok("populated 1\nfrozen 0\n")
        );
        // A kernel without job control: nobody reports stopping, so not frozen.
        assert_eq!(write(g, u, "/svc/cgroup.freeze", "1", ptr::null_mut()), 0);
        assert_eq!(gpc_cgroup_task_freeze(g, t), 1);
        assert_eq!(gpc_cgroup_task_freeze(g, init), 0);
        assert_eq!(
            read(g, u, "/svc/cgroup.events", ptr::null_mut()).as_deref(),
            Ok("populated 1\nfrozen 0\n")
        );
        assert_eq!(write(g, u, "/svc/cgroup.freeze", "0", ptr::null_mut()), 0);
        // cgroup.kill fails with what gpc_kill_task answers; an answer outside the
        // contract is EIO, never a success.
        assert_eq!(
            write(g, u, "/svc/cgroup.kill", "1", ptr::null_mut()),
            EOPNOTSUPP
        );
        mock::KILL_RESULT.store(7, core::sync::atomic::Ordering::Relaxed);
        assert_eq!(write(g, u, "/svc/cgroup.kill", "1", ptr::null_mut()), EIO);
        mock::KILL_RESULT.store(-100_000, core::sync::atomic::Ordering::Relaxed);
        assert_eq!(write(g, u, "/svc/cgroup.kill", "1", ptr::null_mut()), EIO);
        mock::KILL_RESULT.store(EOPNOTSUPP, core::sync::atomic::Ordering::Relaxed);

        assert_eq!(gpc_account_cputime(g, t, 7_000), 0);
        let stat = read(g, u, "/svc/cpu.stat", ptr::null_mut()).unwrap_or_default();
        assert!(stat.starts_with("usage_usec 7\n"), "{stat}");

        // clone3 into /svc; the destination must be a unified group.
        let c = mock::new_task(0, ROOT);
        let root = cstr("/");
        assert_eq!(
            gpc_fork_into(g, init, c, hp, root.as_ptr(), ptr::null()),
            EBADF
        );
        assert_eq!(
            gpc_fork_into(g, init, c, hp, svc.as_ptr(), ptr::null()),
            ENOENT
        );
        let procs = cstr("/svc/cgroup.procs");
        assert_eq!(
            gpc_fork_into(g, init, c, u, procs.as_ptr(), ptr::null()),
            EBADF
        );
        assert_eq!(gpc_fork_into(g, init, c, u, svc.as_ptr(), ptr::null()), 0);
        mock::publish(c);
        let want = std::format!("{hp}:pids:/\n0::/svc\n");
        assert_eq!(
            out(|b, n| gpc_proc_pid_cgroup(g, c, b, n)).as_deref(),
            Ok(want.as_str())
        );

        // A namespace rooted at /svc; NULL is the initial one.
        let ns = gpc_cgroup_ns_new(g, t);
        assert!(!ns.is_null() && (ns as usize) < usize::MAX - GPC_MAX_ERRNO);
        let in_ns = std::format!("{hp}:pids:/\n0::/\n");
        assert_eq!(
            out(|b, n| gpc_proc_pid_cgroup_ns(g, c, ns, b, n)).as_deref(),
            Ok(in_ns.as_str())
        );
        assert_eq!(
            out(|b, n| gpc_proc_pid_cgroup_ns(g, c, ptr::null(), b, n)),
            out(|b, n| gpc_proc_pid_cgroup(g, c, b, n))
        );
        let init_ns = out(|b, n| gpc_proc_pid_cgroup_ns(g, init, ns, b, n)).unwrap_or_default();
        assert!(init_ns.ends_with("0::/..\n"), "{init_ns}");

        // Null arguments.
        assert_eq!(
            gpc_mount_v2(ptr::null(), ptr::null(), ptr::null_mut()),
            EINVAL
        );
        assert_eq!(gpc_enter_frozen(g, ptr::null_mut()), EINVAL);
        assert_eq!(gpc_leave_frozen(ptr::null(), t, false), EINVAL);
        assert_eq!(gpc_cgroup_task_freeze(g, ptr::null_mut()), EINVAL);
        assert_eq!(gpc_account_cputime(ptr::null(), t, 1), EINVAL);
        assert_eq!(gpc_drain_notifications(g, None, ptr::null_mut()), EINVAL);
        assert_eq!(
            gpc_fork_into(g, init, c, u, ptr::null(), ptr::null()),
            EINVAL
        );
        assert_eq!(
            gpc_fork_into(g, ptr::null_mut(), c, u, svc.as_ptr(), ptr::null()),
            EINVAL
        );
        assert_eq!(
            gpc_cgroup_ns_new(g, ptr::null_mut()) as isize,
            EINVAL as isize
        );
        assert_eq!(
            gpc_proc_pid_cgroup_ns(g, ptr::null_mut(), ns, ptr::null_mut(), 0),
            c_long::from(EINVAL)
        );
        let z = cstr("0");
        assert_eq!(
            gpc_write_ns(g, u, ptr::null(), ptr::null_mut(), ns, z.as_ptr(), 1),
            EINVAL
        );
        // A task never forked.
        let stray = mock::new_task(0, ROOT);
        assert_eq!(gpc_enter_frozen(g, stray), ESRCH);
        assert_eq!(gpc_cgroup_task_freeze(g, stray), ESRCH);
        assert_eq!(gpc_cgroup_ns_new(g, stray) as isize, ESRCH as isize);
        mock::reap(stray);

        for x in [c, t, init] {
            gpc_exit(g, x);
            mock::reap(x);
        }
        assert_eq!(gpc_rmdir(g, u, svc.as_ptr()), 0);
        assert_eq!(gpc_umount(g, hp), 0);
        assert_eq!(gpc_umount(g, u), 0);
        gpc_destroy(g);
        // The namespace outlives its instance; error pointers are ignored.
        gpc_cgroup_ns_free(ns);
        gpc_cgroup_ns_free(ptr::null_mut());
        gpc_cgroup_ns_free(usize::MAX as *mut GpcCgroupNs);
    }
}

/// The cpu exports see v2's files: `cpu.weight`/`cpu.weight.nice`/`cpu.idle` as the
/// group weight, `cpu.max`/`cpu.max.burst` as the bandwidth, and the periods a kernel
/// reports show in the core's `cpu.stat` / `cpu.stat.local`.
#[test]
fn cpu_exports_on_the_unified_hierarchy() {
    const ENOENT: c_int = -2;
    let g = new_instance();
    let init = mock::new_task(0, ROOT);
    // SAFETY: live instance and tasks from the mock kernel, NUL-terminated strings,
    // out-pointers to locals.
    unsafe {
        assert_eq!(gpc_init_task(g, init), 0);
        mock::publish(init);
        let t = mock::new_task(0, ROOT);
        assert_eq!(gpc_fork(g, init, t), 0);
        mock::publish(t);
        let u = gpc_mount_v2(g, ptr::null(), ptr::null_mut());
        assert_eq!(u, 0);
        assert_eq!(
            write(g, u, "/cgroup.subtree_control", "+cpu", ptr::null_mut()),
            0
        );
        assert_eq!(gpc_mkdir(g, u, cstr("/svc").as_ptr()), 0);
        let pid = mock::pid_of(t).to_string();
        assert_eq!(write(g, u, "/svc/cgroup.procs", &pid, ptr::null_mut()), 0);

        let mut w = GpcCpuWeight::default();
        assert_eq!(gpc_cpu_weight(g, t, 0, &mut w), 0);
        assert_eq!(
            w,
            GpcCpuWeight {
                shares: 1024,
                weight: 100,
                idle: 0
            }
        );
        assert_eq!(write(g, u, "/svc/cpu.weight", "200", ptr::null_mut()), 0);
        assert_eq!(gpc_cpu_weight(g, t, 0, &mut w), 0);
        assert_eq!((w.shares, w.weight), (2048, 200));
        assert_eq!(
            write(g, u, "/svc/cpu.weight.nice", "-5", ptr::null_mut()),
            0
        );
        let mut shares = 0u64;
        assert_eq!(gpc_cpu_shares(g, t, &mut shares), 0);
        assert_eq!(shares, 3121);
        assert_eq!(write(g, u, "/svc/cpu.idle", "1", ptr::null_mut()), 0);
        assert_eq!(gpc_cpu_weight(g, t, 0, &mut w), 0);
        assert_eq!(
            w,
            GpcCpuWeight {
                shares: 3,
                weight: 1,
                idle: 1
            }
        );
        // The root level: the root group's weight; above it nothing.
        assert_eq!(gpc_cpu_weight(g, t, 1, &mut w), 0);
        assert_eq!((w.shares, w.idle), (1024, 0));
        assert_eq!(gpc_cpu_weight(g, t, 2, &mut w), ENOENT);
        assert_eq!(gpc_cpu_weight(g, t, u32::MAX, &mut w), ENOENT);
        assert_eq!(gpc_cpu_weight(g, t, 0, ptr::null_mut()), EINVAL);

        assert_eq!(
            write(g, u, "/svc/cpu.max", "50000 200000", ptr::null_mut()),
            0
        );
        assert_eq!(
            write(g, u, "/svc/cpu.max.burst", "1000", ptr::null_mut()),
            0
        );
        let mut bw = GpcCpuBandwidth::default();
        assert_eq!(gpc_cpu_bandwidth(g, t, 0, &mut bw), 0);
        assert_eq!(
            bw,
            GpcCpuBandwidth {
                quota_us: 50_000,
                period_us: 200_000,
                burst_us: 1000
            }
        );

        assert_eq!(gpc_cpu_periods(g, t, 0, 3, true, 150_000_000), 0);
        assert_eq!(gpc_cpu_periods(g, t, 0, 1, false, 0), 0);
        assert_eq!(gpc_cpu_burst(g, t, 0, 2_500), 0);
        assert_eq!(gpc_cpu_periods(g, t, 2, 1, true, 1), ENOENT);
        assert_eq!(gpc_cpu_burst(g, t, 2, 1), ENOENT);
        assert_eq!(gpc_cpu_periods(ptr::null(), t, 0, 1, true, 1), EINVAL);
        assert_eq!(gpc_cpu_burst(g, ptr::null_mut(), 0, 1), EINVAL);
        assert_eq!(
            read(g, u, "/svc/cpu.stat", ptr::null_mut()).as_deref(),
            Ok(
                "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnice_usec 0\nnr_periods 4\n\
                nr_throttled 3\nthrottled_usec 450000\nnr_bursts 1\nburst_usec 2\n"
            )
        );
        assert_eq!(
            read(g, u, "/svc/cpu.stat.local", ptr::null_mut()).as_deref(),
            Ok("throttled_usec 450000\n")
        );

        assert_eq!(write(g, u, "/cgroup.procs", &pid, ptr::null_mut()), 0);
        gpc_exit(g, t);
        mock::reap(t);
        assert_eq!(gpc_cpu_weight(g, t, 0, &mut w), -3);
        assert_eq!(gpc_rmdir(g, u, cstr("/svc").as_ptr()), 0);
        gpc_exit(g, init);
        mock::reap(init);
        gpc_destroy(g);
    }
}
