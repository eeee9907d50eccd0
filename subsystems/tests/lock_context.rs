//! Every lock gpc takes is the host's, in the context rules of a kernel.
//!
//! The test host's locks record, per thread, what a kernel would see
//! (`gpc_core::testing::context`): its spinning locks raise a preemption count, its
//! sleeping lock and `synchronize_rcu` are "may sleep" points that count a violation
//! when that count is non-zero, a lock taken while its class is held counts as
//! recursion (lockdep's), and each class's acquisitions are counted. A lock gpc took
//! behind the host's back (a spin lock of its own, as the css_group and controller
//! locks were) would leave its class's count at zero, and a mutex or grace period under
//! a spinning lock would show as a violation.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::ffi::CStr;

use gpc_core::host::lock::{Lock, LockKind};
use gpc_core::testing::{context, OneHierarchy, StdMutex};

fn world() -> OneHierarchy {
    let all = gpc_subsystems::all();
    OneHierarchy::new(&all, "cpuset,cpu,cpuacct,devices,pids,freezer", 4, 2).unwrap()
}

/// Give `path`'s cpuset CPUs and a node, so tasks may join it (Linux refuses an empty
/// cpuset with `ENOSPC`).
fn populate_cpuset(w: &OneHierarchy, path: &str) {
    w.write(&format!("{path}/cpuset.cpus"), b"0-1\n").unwrap();
    w.write(&format!("{path}/cpuset.mems"), b"0\n").unwrap();
}

/// What `f` did on this thread: acquisitions of `class`, and the sleeping calls under a
/// spinning lock and class recursions it caused.
fn around(class: &CStr, f: impl FnOnce()) -> (usize, usize, usize) {
    let (taken, before) = (context::taken(class), context::counts());
    f();
    let after = context::counts();
    assert_eq!(after.preempt, 0, "a spinning lock is still held");
    assert_eq!(after.irq_off, 0, "interrupts are still off");
    (
        context::taken(class) - taken,
        after.sleeps_in_atomic - before.sleeps_in_atomic,
        after.recursions - before.recursions,
    )
}

#[test]
fn every_lock_is_the_hosts_and_nothing_sleeps_under_a_spinning_one() {
    let mut w = world();
    let start = context::counts();
    // Linux kernel/cgroup/cgroup.c: cgroup_mkdir runs under cgroup_mutex.
    assert_eq!(around(c"gpc_tree", || w.gpc.mkdir(w.h, "a").unwrap()).0, 1);
    w.gpc.mkdir(w.h, "a/b").unwrap();
    w.gpc.mkdir(w.h, "a/b/c").unwrap();

    // The controllers' state locks are the host's (classed, counted).
    let (n, sleeps, rec) = around(c"devices_group", || {
        w.write("a/devices.deny", b"c 1:3 r\n").unwrap()
    });
    assert!(n >= 3, "devices: {n} acquisitions for a propagating deny");
    assert_eq!(
        (sleeps, rec),
        (0, 0),
        "a child's group lock is taken nested"
    );
    let (n, sleeps, _) = around(c"cpu_bandwidth", || {
        w.write("a/cpu.cfs_quota_us", b"50000\n").unwrap()
    });
    assert!(n >= 1 && sleeps == 0);
    let (n, sleeps, _) = around(c"cpuset_config", || {
        w.write("a/cpuset.cpus", b"0-1\n").unwrap()
    });
    assert!(n >= 1 && sleeps == 0);
    let (n, sleeps, _) = around(c"cpuacct_prev_cputime", || {
        w.read("a/cpuacct.stat").unwrap();
    });
    assert!(n >= 1 && sleeps == 0);

    // Attach makes a css_group (table lock); the last task leaving frees it (the
    // css_group's transition lock, then the table lock).
    for path in ["a", "a/b", "a/b/c"] {
        populate_cpuset(&w, path);
    }
    let child = w.fork(1).unwrap();
    assert_eq!(
        around(c"gpc_css_set", || w.move_to("a/b/c", child).unwrap()).1,
        0
    );
    let (trans, sleeps, rec) = around(c"gpc_css_group_trans", || w.exit(child).unwrap());
    assert!(
        trans >= 1 && sleeps == 0 && rec == 0,
        "{trans} {sleeps} {rec}"
    );

    // rmdir: release bookkeeping under the release queue's lock, below the tree lock.
    let (_, sleeps, rec) = around(c"gpc_release", || {
        w.gpc.rmdir(w.h, "a/b/c").unwrap();
    });
    assert_eq!((sleeps, rec), (0, 0));

    let end = context::counts();
    assert_eq!(end.sleeps_in_atomic, start.sleeps_in_atomic);
    assert_eq!(end.recursions, start.recursions);
    assert!(end.spins_taken > start.spins_taken);
}

#[test]
fn the_fast_path_takes_only_its_cpu_shard_lock() {
    let mut w = world();
    w.gpc.mkdir(w.h, "a").unwrap();
    populate_cpuset(&w, "a");
    let parent = w.fork(1).unwrap();
    w.move_to("a", parent).unwrap();
    // The parent's reference keeps the css_group's shard non-zero: a fork and the
    // child's exit each hold only that shard's lock (count and task list), a lock no
    // other CPU takes in the common case (doc/fast-path.md); never a shared one.
    let shard = c"gpc_css_group_shard";
    let shared = [
        c"gpc_tree",
        c"gpc_css_set",
        c"gpc_css_group_trans",
        c"gpc_release",
        c"gpc_notify",
    ];
    let taken_shared = || shared.iter().map(|c| context::taken(c)).collect::<Vec<_>>();
    let (before, shard_before, shared_before) =
        (context::counts(), context::taken(shard), taken_shared());
    let child = w.fork(parent).unwrap();
    let mid = context::counts();
    assert_eq!(mid.preempt, before.preempt, "fork left preemption off");
    w.exit(child).unwrap();
    let after = context::counts();
    // Fork: once. Exit: once to unlink (keeping the task's reference), and once more to
    // drop that reference after the exit hooks ran (pids has one: its uncharge sees the
    // css_group alive, as Linux's pids_release runs before the css_set is put).
    assert_eq!(
        context::taken(shard) - shard_before,
        3,
        "fork takes the shard lock once, an exit with hooks twice"
    );
    assert_eq!(
        after.spins_taken - before.spins_taken,
        3,
        "fork + exit took a spinning lock other than the shard's"
    );
    assert_eq!(
        taken_shared(),
        shared_before,
        "fork + exit took a shared lock"
    );
    assert_eq!(after.preempt, before.preempt);
}

#[test]
fn the_checker_sees_a_sleep_under_a_spinning_lock_and_a_recursion() {
    let _w = world(); // installs the test host's spinning locks
    let spin: gpc_core::host::lock::SpinLock<u8> =
        gpc_core::new_spinlock!(0, c"test_outer").unwrap();
    let mutex: Lock<u8, StdMutex> = gpc_core::new_lock!(0, c"test_mutex").unwrap();
    assert_eq!(spin.kind(), LockKind::Spinning);
    assert_eq!(mutex.kind(), LockKind::Sleeping);
    let before = context::counts();
    {
        let _s = spin.lock();
        assert_eq!(context::counts().preempt, before.preempt + 1);
        let _m = mutex.lock();
    }
    assert_eq!(
        context::counts().sleeps_in_atomic,
        before.sleeps_in_atomic + 1
    );
    let make = || -> gpc_core::host::lock::SpinLock<u8> {
        gpc_core::new_spinlock!(0, c"test_same_site").unwrap()
    };
    let (a, b) = (make(), make());
    {
        let _a = a.lock();
        let _b = b.lock_nested(1);
    }
    assert_eq!(context::counts().recursions, before.recursions);
    {
        let _a = a.lock();
        let _b = b.lock();
    }
    assert_eq!(context::counts().recursions, before.recursions + 1);
    let irq: gpc_core::host::lock::IrqSpinLock<u8> =
        gpc_core::new_irq_spinlock!(0, c"test_irq").unwrap();
    {
        let _i = irq.lock();
        assert_eq!(context::counts().irq_off, before.irq_off + 1);
    }
}

/// v2: a group's `populated` flip queues a notification under the table lock, taking the
/// notification queue's spinning lock nested below it; nothing sleeps.
#[test]
fn a_populated_flip_notifies_under_spinning_locks() {
    let mut w = world();
    let root = w.tasks.caller(gpc_core::Creds::ROOT, None);
    let h = w.gpc.mount_v2("", &root).unwrap();
    w.gpc.mkdir(h, "a").unwrap();
    let child = w.fork(1).unwrap();
    let (n, sleeps, rec) = around(c"gpc_notify", || {
        w.gpc
            .write(
                h,
                "a/cgroup.procs",
                format!("{child}").as_bytes(),
                &w.tasks.caller(gpc_core::Creds::ROOT, None),
            )
            .unwrap()
    });
    assert!(n >= 1 && sleeps == 0 && rec == 0, "{n} {sleeps} {rec}");
    let mut seen = Vec::new();
    w.gpc
        .drain_notifications(&mut |_, id, file| seen.push((id, file.to_string())));
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].1, "cgroup.events");
    let (n, sleeps, _) = around(c"gpc_notify", || w.exit(child).unwrap());
    assert!(n >= 1 && sleeps == 0);
}
