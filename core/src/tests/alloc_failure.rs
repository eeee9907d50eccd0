//! Allocation failure: in a scenario that covers every operation, fail each allocation
//! in turn. The operation must return `ENOMEM`, the whole observable state must equal
//! the state before it, and at the end nothing may be left allocated.

use std::prelude::rust_2021::*;

use std::println;
use std::vec::Vec;

use super::World;
use crate::testing::FailingAlloc;
use crate::{Error, HierarchyId, Pid, Result};

struct Ctx {
    w: World,
    hs: Vec<HierarchyId>,
    pids: Vec<Pid>,
    ns: Option<crate::CgroupNs>,
}

type Step = (&'static str, fn(&mut Ctx) -> Result);

/// A pid as text without allocating (the step runs with failures armed).
fn pid_str(p: Pid) -> arrayvec::ArrayString<12> {
    let mut s = arrayvec::ArrayString::new();
    let _ = core::fmt::Write::write_fmt(&mut s, format_args!("{p}"));
    s
}

fn h(c: &Ctx, i: usize) -> HierarchyId {
    c.hs[i]
}

const STEPS: &[Step] = &[
    ("mount probe", |c| {
        c.w.mount("probe,release_agent=/agent")
            .map(|h| c.hs.push(h))
    }),
    ("mount named", |c| {
        c.w.mount("none,name=n,release_agent=/agent")
            .map(|h| c.hs.push(h))
    }),
    ("mount reuse", |c| c.w.mount("probe").map(|_| ())),
    ("mkdir a", |c| c.w.gpc.mkdir(h(c, 0), "a")),
    ("notify a", |c| {
        c.w.write(h(c, 0), "a/notify_on_release", "1")
    }),
    ("mkdir a/b", |c| c.w.gpc.mkdir(h(c, 0), "a/b")),
    ("mkdir x", |c| c.w.gpc.mkdir(h(c, 1), "x")),
    ("fork", |c| c.w.fork(1).map(|p| c.pids.push(p))),
    ("thread", |c| {
        let p = c.pids[0];
        c.w.thread(p).map(|t| c.pids.push(t))
    }),
    ("attach thread", |c| {
        let d = pid_str(c.pids[1]);
        c.w.write(h(c, 0), "a/b/tasks", &d)
    }),
    ("attach procs", |c| {
        let d = pid_str(c.pids[0]);
        c.w.write(h(c, 1), "x/cgroup.procs", &d)
    }),
    ("fork in groups", |c| {
        let p = c.pids[1];
        c.w.fork(p).map(|p| c.pids.push(p))
    }),
    ("read tasks", |c| c.w.read(h(c, 1), "x/tasks").map(drop)),
    ("read procs", |c| {
        c.w.read(h(c, 0), "a/b/cgroup.procs").map(drop)
    }),
    ("read file", |c| {
        c.w.read(h(c, 0), "a/probe.count").map(drop)
    }),
    ("list", |c| c.w.gpc.list(h(c, 0), "a").map(drop)),
    ("proc pid", |c| {
        let p = c.pids[2];
        c.w.proc_cgroup(p).map(drop)
    }),
    ("proc cgroups", |c| {
        let mut b = Vec::new();
        c.w.gpc.proc_cgroups(&mut b)
    }),
    ("clone", |c| {
        let t = c.w.tasks.task_ref(c.pids[2]).ok_or(Error::ESRCH)?;
        let ss = c.w.gpc.subsys_id("probe").ok_or(Error::ENOENT)?;
        c.w.gpc.container_clone(ss, &t, "cl")
    }),
    ("mount plain", |c| c.w.mount("plain").map(|h| c.hs.push(h))),
    ("write plain", |c| c.w.write(h(c, 2), "plain.value", "9")),
    ("mkdir plain", |c| c.w.gpc.mkdir(h(c, 2), "p")),
    ("mount v2", |c| {
        let caller = c.w.tasks.caller(crate::Creds::ROOT, None);
        c.w.gpc.mount_v2("", &caller).map(|h| c.hs.push(h))
    }),
    ("mkdir v2", |c| c.w.gpc.mkdir(h(c, 3), "c")),
    ("clone into", |c| {
        let dst = c.w.gpc.lookup(h(c, 3), "c")?;
        let caller = crate::Caller {
            creds: crate::Creds::ROOT,
            pid: None,
            tasks: &crate::host::task::NoTasks,
        };
        let p = c.pids[2];
        c.w.tasks
            .clone_into(&c.w.gpc, p, false, &dst, &caller, None)
            .map(|p| c.pids.push(p))
    }),
    ("unshare -C", |c| {
        let t = c.w.tasks.get(c.pids[3]).ok_or(Error::ESRCH)?;
        c.w.gpc.cgroup_ns_of(&t.slot).map(|ns| c.ns = Some(ns))
    }),
    ("proc pid in ns", |c| {
        let t = c.w.tasks.get(1).ok_or(Error::ESRCH)?;
        let mut b = Vec::new();
        c.w.gpc.proc_pid_cgroup_ns(&t.slot, c.ns.as_ref(), &mut b)
    }),
    ("exit", |c| {
        let p = c.pids[0];
        c.w.exit(p)
    }),
    ("drain", |c| {
        // What a host keeps of each: nothing that allocates (the strings are borrowed).
        let mut v = Vec::new();
        crate::host::alloc::try_reserve(&mut v, 8, crate::host::alloc::Gfp::KERNEL)?;
        c.w.gpc.drain_releases(&mut |r| {
            v.push((r.agent.len(), r.path.len()));
            Ok(())
        })
    }),
    ("rmdir", |c| c.w.gpc.rmdir(h(c, 2), "p")),
    ("umount", |c| {
        let hh = h(c, 2);
        c.w.gpc.umount(hh)
    }),
    // plain is back on v2: enabling it re-points the css_groups of c's tasks.
    ("enable v2", |c| {
        c.w.write(h(c, 3), "cgroup.subtree_control", "+plain")
    }),
    ("write v2", |c| c.w.write(h(c, 3), "c/plain.value", "5")),
    ("disable v2", |c| {
        c.w.write(h(c, 3), "cgroup.subtree_control", "-plain")
    }),
    ("mkdir v2 a", |c| c.w.gpc.mkdir(h(c, 3), "a")),
    ("mkdir v2 a/t", |c| c.w.gpc.mkdir(h(c, 3), "a/t")),
    ("v2 threaded", |c| {
        c.w.write(h(c, 3), "a/t/cgroup.type", "threaded")
    }),
    ("v2 fork", |c| c.w.fork(1).map(|p| c.pids.push(p))),
    ("v2 thread", |c| {
        let p = c.pids[c.pids.len() - 1];
        c.w.thread(p).map(|t| c.pids.push(t))
    }),
    ("v2 procs into domain", |c| {
        let d = pid_str(c.pids[c.pids.len() - 2]);
        c.w.write(h(c, 3), "a/cgroup.procs", &d)
    }),
    ("v2 thread into threaded", |c| {
        let d = pid_str(c.pids[c.pids.len() - 1]);
        c.w.write(h(c, 3), "a/t/cgroup.threads", &d)
    }),
    ("v2 read domain procs", |c| {
        c.w.read(h(c, 3), "a/cgroup.procs").map(drop)
    }),
    ("v2 read type", |c| {
        c.w.read(h(c, 3), "a/t/cgroup.type").map(drop)
    }),
    ("v2 procs into threaded", |c| {
        let d = pid_str(c.pids[c.pids.len() - 2]);
        c.w.write(h(c, 3), "a/t/cgroup.procs", &d)
    }),
];

#[test]
fn every_allocation_failure_is_enomem_and_changes_nothing() {
    let start_live = FailingAlloc::thread_live();
    let mut injected = 0;
    {
        let mut c = Ctx {
            w: World::new(),
            hs: Vec::with_capacity(8),
            pids: Vec::with_capacity(16),
            ns: None,
        };
        for (name, step) in STEPS {
            let mut n = 0;
            loop {
                let before = c.w.dump(&c.hs);
                let (hs_len, pids_len) = (c.hs.len(), c.pids.len());
                FailingAlloc::fail_after(n);
                let res = step(&mut c);
                let failed = FailingAlloc::disarm();
                if failed == 0 {
                    assert!(res.is_ok(), "{name}: {res:?} without an injected failure");
                    break;
                }
                injected += 1;
                assert_eq!(res, Err(Error::ENOMEM), "{name}: allocation {n} failed");
                assert_eq!((c.hs.len(), c.pids.len()), (hs_len, pids_len), "{name}");
                let after = c.w.dump(&c.hs);
                assert_eq!(
                    before, after,
                    "{name}: allocation {n} failed but the state changed"
                );
                n += 1;
            }
        }
        let gpc = &c.w.gpc;
        c.w.tasks.exit_all(gpc);
    }
    assert_eq!(
        FailingAlloc::thread_live(),
        start_live,
        "allocations leaked"
    );
    println!(
        "allocation failures injected: {injected} across {} operations",
        STEPS.len()
    );
    assert!(injected > STEPS.len(), "the scenario must allocate");
}

#[test]
fn teardown_allocates_nothing() {
    let start_live = FailingAlloc::thread_live();
    {
        let mut w = World::new();
        let h = w.mount("probe,plain").unwrap();
        for p in ["a", "a/b", "a/b/c", "d"] {
            w.gpc.mkdir(h, p).unwrap();
        }
        let t = w.fork(1).unwrap();
        w.write(h, "a/b/tasks", &t.to_string()).unwrap();
        let gpc = &w.gpc;
        w.tasks.exit_all(gpc);
        let World { gpc, tasks } = w;
        drop(tasks);
        // Every allocation from here on fails: dropping gpc must not need one.
        FailingAlloc::fail_after(0);
        drop(gpc);
        assert_eq!(FailingAlloc::disarm(), 0, "teardown tried to allocate");
    }
    assert_eq!(FailingAlloc::thread_live(), start_live, "teardown leaked");
}

/// Every allocation of every operation names its context, and none that may sleep is
/// made in atomic context (a test-host spinning lock held or an RCU read-side section
/// open: `testing::context`). Linux reports the second as "sleeping function called
/// from invalid context" (`__might_sleep`, kernel/sched/core.c).
#[test]
fn every_allocation_names_a_context_that_holds() {
    let mut c = Ctx {
        w: World::new(),
        hs: Vec::with_capacity(8),
        pids: Vec::with_capacity(16),
        ns: None,
    };
    let mut total = crate::testing::context::ContextLog::default();
    for (name, step) in STEPS {
        crate::testing::context::record_contexts();
        let res = step(&mut c);
        let log = crate::testing::context::take_contexts();
        assert!(res.is_ok(), "{name}: {res:?}");
        assert_eq!(
            log.unscoped, 0,
            "{name}: an allocation named no flags: {log:?}"
        );
        assert_eq!(
            log.sleeping_in_atomic, 0,
            "{name}: a may-sleep allocation in atomic context: {log:?}"
        );
        total.allocations += log.allocations;
        total.atomic += log.atomic;
        total.kernel += log.kernel;
        total.in_atomic += log.in_atomic;
    }
    let gpc = &c.w.gpc;
    c.w.tasks.exit_all(gpc);
    println!("allocation contexts: {total:?}");
    // The scenario reaches both kinds: atomic ones (under the css_group table's spinning
    // lock, in RCU read-side sections) and may-sleep ones.
    assert!(
        total.allocations > total.atomic && total.atomic > 0,
        "{total:?}"
    );
    assert!(total.in_atomic > 0, "{total:?}");
}
