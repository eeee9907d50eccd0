//! loom models of the lock-free paths (`RUSTFLAGS="--cfg loom" cargo test -p gpc-core
//! --lib --release loom`). Each model runs every interleaving of two threads (bounded
//! preemptions) and checks the outcome and the exact reference counts.

use core::pin::Pin;

use loom::sync::Arc;
use loom::thread;
use std::prelude::rust_2021::*;

use crate::host::rcu::Rcu;
use crate::host::task::NoTasks;
use crate::tasklist::Task;
use crate::testing::probe::{PLAIN, PROBE};
use crate::testing::TestHost;
use crate::{Caller, Creds, Error, Gpc, HierarchyId, Pid, TaskId, TaskInfo, TaskRef, TaskSlot};

fn model(f: impl Fn() + Sync + Send + 'static) {
    // Counted with std's atomics, which loom does not model: one per interleaving run
    // (`--nocapture` prints the count; doc/reliability.md quotes it).
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = runs.clone();
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f()
    });
    std::println!(
        "loom: {} interleavings explored",
        runs.load(std::sync::atomic::Ordering::Relaxed)
    );
}

/// A machine for one model run. The task slots are pinned (they are linked into
/// css_group lists) and declared before `gpc`, so a slot whose task never exited unlinks
/// itself while its css_group is still there.
struct Setup {
    init: Pin<Box<Task>>,
    /// Slot `i` is the task with pid `i + 2`, empty until forked.
    tasks: Vec<Pin<Box<Task>>>,
    gpc: Gpc<TestHost>,
    h: HierarchyId,
}

impl Setup {
    /// The slot of the task with pid `pid` (init is 1).
    fn slot(&self, pid: Pid) -> Pin<&TaskSlot> {
        match pid {
            1 => self.init.as_ref().pinned_slot(),
            p => self.tasks[p as usize - 2].as_ref().pinned_slot(),
        }
    }

    /// Fork `child` from `parent` (pids; `child` names an empty slot).
    fn fork(&self, parent: Pid, child: Pid) {
        self.gpc
            .fork(&self.slot(parent), self.slot(child), &info(child))
            .unwrap();
    }

    fn exit(&self, pid: Pid) {
        self.gpc.exit(&self.slot(pid), &info(pid));
    }

    fn attach(&self, h: HierarchyId, path: &str, pid: Pid) -> crate::Result {
        self.gpc.attach(h, path, &task(pid, &self.slot(pid)))
    }
}

/// gpc on 2 CPUs with the probe hierarchy holding `dirs`, init, and `slots` empty task
/// slots (pids 2, 3, ...).
fn setup(dirs: &[&str], slots: usize) -> Setup {
    // Every run starts on CPU 0 (the CPU is a std thread-local, kept across runs).
    TestHost::run_on_cpu(0);
    let gpc = Gpc::new(TestHost::new(2, 1), &[&PROBE]).unwrap();
    let h = gpc.mount("probe,release_agent=/agent", &caller()).unwrap();
    for d in dirs {
        gpc.mkdir(h, d).unwrap();
    }
    // Tasks of the test host are `tasklist::Task`s (its `TaskIds` finds their ids).
    let init = Task::boxed(1, 1);
    gpc.init_task(init.as_ref().pinned_slot(), &info(1))
        .unwrap();
    let tasks = (0..slots)
        .map(|i| {
            let pid = i as Pid + 2;
            Task::boxed(pid, pid)
        })
        .collect();
    Setup {
        init,
        tasks,
        gpc,
        h,
    }
}

fn caller() -> Caller<'static> {
    Caller {
        creds: Creds::ROOT,
        pid: None,
        tasks: &NoTasks,
    }
}

fn task(pid: u32, slot: &TaskSlot) -> TaskRef<'_> {
    TaskRef {
        pid,
        tgid: pid,
        creds: Creds::ROOT,
        slot,
    }
}

fn info(pid: u32) -> TaskInfo {
    TaskInfo {
        pid,
        tgid: pid,
        is_thread: false,
    }
}

/// Sum of all css_group references must be the live tasks plus init_cg's permanent one.
fn assert_refs(s: &Setup, live_tasks: usize) {
    let total: usize = s.gpc.css_group_refcounts().iter().map(|(r, _)| r).sum();
    assert_eq!(total, live_tasks + 1);
}

#[test]
fn fork_racing_a_move_of_the_parent() {
    model(|| {
        let s = setup(&["a"], 2);
        s.fork(1, 2);
        let s = Arc::new(s);
        let s2 = s.clone();
        let t = thread::spawn(move || s2.fork(2, 3));
        s.attach(s.h, "a", 2).unwrap();
        t.join().unwrap();
        // The child has the parent's css_group from before or after the move: a whole
        // snapshot, never a mix.
        let cg = s.gpc.css_group_of(&s.slot(3));
        assert!(cg == s.gpc.css_group_of(&s.slot(2)) || cg == s.gpc.css_group_of(&s.slot(1)));
        assert_refs(&s, 3);
        s.exit(3);
        s.exit(2);
        assert_refs(&s, 1);
        assert_eq!(s.gpc.css_group_count(), 1);
    });
}

#[test]
fn exit_racing_attach_of_the_same_task() {
    model(|| {
        let s = setup(&["a"], 1);
        s.fork(1, 2);
        let s = Arc::new(s);
        let s2 = s.clone();
        let t = thread::spawn(move || s2.exit(2));
        let _ = s.attach(s.h, "a", 2);
        t.join().unwrap();
        assert!(!s.slot(2).is_attached());
        assert_refs(&s, 1);
        assert_eq!(s.gpc.css_group_count(), 1, "no css_group left behind");
    });
}

#[test]
fn rmdir_racing_attach_into_it() {
    model(|| {
        let s = setup(&["a"], 1);
        s.fork(1, 2);
        let s = Arc::new(s);
        let s2 = s.clone();
        let th = thread::spawn(move || s2.attach(s2.h, "a", 2));
        let rm = s.gpc.rmdir(s.h, "a");
        let at = th.join().unwrap();
        match (rm, at) {
            (Ok(()), Err(Error::ENOENT)) => {}
            (Err(Error::EBUSY), Ok(())) => {}
            other => std::panic!("impossible outcome {other:?}"),
        }
        assert_refs(&s, 2);
    });
}

#[test]
fn two_attaches_create_one_css_group() {
    model(|| {
        let s = setup(&["a"], 2);
        s.fork(1, 2);
        s.fork(1, 3);
        let s = Arc::new(s);
        let s2 = s.clone();
        let th = thread::spawn(move || s2.attach(s2.h, "a", 2).unwrap());
        s.attach(s.h, "a", 3).unwrap();
        th.join().unwrap();
        assert_eq!(
            s.gpc.css_group_of(&s.slot(2)),
            s.gpc.css_group_of(&s.slot(3))
        );
        assert_eq!(s.gpc.css_group_count(), 2);
        assert_refs(&s, 3);
    });
}

#[test]
fn lookup_racing_the_last_exit() {
    model(|| {
        let s = setup(&["a"], 1);
        s.fork(1, 2);
        s.attach(s.h, "a", 2).unwrap();
        let s = Arc::new(s);
        let s2 = s.clone();
        let th = thread::spawn(move || {
            s2.exit(2);
            s2.gpc.rmdir(s2.h, "a").unwrap();
        });
        {
            let guard = s.gpc.rcu_read_lock();
            let freed = s.gpc.host().rcu.freed();
            if let Some(css) = s.gpc.task_css(&guard, &s.slot(2), 0) {
                let st = css.state::<crate::testing::probe::ProbeState>().unwrap();
                let _ = st.count.load(crate::primitive::Ordering::Relaxed);
                assert_eq!(s.gpc.host().rcu.freed(), freed, "freed under a reader");
            }
        }
        th.join().unwrap();
        s.gpc.host().rcu.synchronize();
        assert_eq!(s.gpc.host().rcu.pending(), 0);
    });
}

#[test]
fn container_emptied_from_two_threads_releases_once() {
    model(|| {
        let s = setup(&["a"], 2);
        s.gpc
            .write(s.h, "a/notify_on_release", b"1", &caller())
            .unwrap();
        s.fork(1, 2);
        s.fork(1, 3);
        s.attach(s.h, "a", 2).unwrap();
        s.attach(s.h, "a", 3).unwrap();
        let s = Arc::new(s);
        let s2 = s.clone();
        let th = thread::spawn(move || s2.exit(2));
        s.exit(3);
        th.join().unwrap();
        let mut got = Vec::new();
        s.gpc
            .drain_releases(&mut |r| {
                got.push(String::from(r.path));
                Ok(())
            })
            .unwrap();
        assert_eq!(got, ["/a"]);
    });
}

/// The per-CPU reference count on its own: a reference taken on one shard while the last
/// one is dropped on another. Exactly one side sees the death, and a reference is never
/// handed out after it.
#[test]
fn shard_get_racing_the_last_put() {
    use crate::cssgroup::CssGroup;
    use crate::primitive::{AtomicUsize, Ordering};
    model(|| {
        let g = Arc::new(
            CssGroup::try_new(
                [core::ptr::null_mut(); crate::MAX_SUBSYS],
                [core::ptr::null_mut(); crate::MAX_HIERARCHIES],
                2,
                0,
            )
            .unwrap(),
        );
        let table = Arc::new(loom::sync::Mutex::new(crate::cssgroup::CgTable::new()));
        let deaths = Arc::new(AtomicUsize::new(0));
        let put = |g: &CssGroup,
                   shard: usize,
                   table: &loom::sync::Mutex<crate::cssgroup::CgTable>,
                   deaths: &AtomicUsize| {
            if g.put(shard) {
                let t = table.lock().unwrap();
                if g.put_locked(shard, &t) {
                    deaths.fetch_add(1, Ordering::SeqCst);
                }
            }
        };
        let (g2, t2, d2) = (g.clone(), table.clone(), deaths.clone());
        let th = thread::spawn(move || {
            if g2.try_get(1) {
                put(&g2, 1, &t2, &d2);
            }
        });
        put(&g, 0, &table, &deaths);
        th.join().unwrap();
        assert_eq!(deaths.load(Ordering::SeqCst), 1);
        assert_eq!(g.refs(), 0);
        assert!(!g.try_get(0) && !g.try_get(1));
    });
}

/// Walk directory `path` of hierarchy `h` one task per fill, so the walk parks its
/// cursor between every two tasks (and lets the other thread in while parked).
fn walk(s: &Setup, h: HierarchyId, path: &str) -> Vec<Pid> {
    let node = s.gpc.lookup(h, path).unwrap();
    let mut it = s.gpc.tasks(&node).unwrap();
    let mut got = Vec::new();
    let mut one = [TaskId::default()];
    while it.fill(&mut one) == 1 {
        got.extend(one.iter().map(|t| t.pid));
    }
    got
}

/// A walk's guarantees: each of `stay` (members for the whole walk) exactly once, each
/// of `may` (forked, exiting or moved during the walk) at most once, nothing else.
fn assert_walk(got: &[Pid], stay: &[Pid], may: &[Pid]) {
    for p in stay {
        assert_eq!(got.iter().filter(|&q| q == p).count(), 1, "{p} in {got:?}");
    }
    for p in may {
        assert!(
            got.iter().filter(|&q| q == p).count() <= 1,
            "{p} in {got:?}"
        );
    }
    assert!(
        got.iter().all(|p| stay.contains(p) || may.contains(p)),
        "stranger in {got:?}"
    );
}

/// The sorted pids of a quiescent walk (every thread joined): exactly the members.
fn members(s: &Setup, h: HierarchyId, path: &str) -> Vec<Pid> {
    let mut v = walk(s, h, path);
    v.sort_unstable();
    v
}

/// What a walk of container `a` races: how `a` is filled before (task 2, forked from
/// init and moved in, then `prepare`), what the other thread does, and what is checked
/// after (the walk's guarantees, the members once quiet, the references if given).
struct WalkRace {
    prepare: fn(&Setup),
    race: fn(&Setup),
    stay: &'static [Pid],
    may: &'static [Pid],
    after: &'static [Pid],
    refs: Option<usize>,
}

fn walk_racing(r: WalkRace) {
    model(move || {
        let s = setup(&["a"], 3);
        s.fork(1, 2);
        s.attach(s.h, "a", 2).unwrap();
        (r.prepare)(&s);
        let s = Arc::new(s);
        let s2 = s.clone();
        let th = thread::spawn(move || (r.race)(&s2));
        let got = walk(&s, s.h, "a");
        th.join().unwrap();
        assert_walk(&got, r.stay, r.may);
        assert_eq!(members(&s, s.h, "a"), r.after);
        if let Some(n) = r.refs {
            assert_refs(&s, n);
        }
    });
}

#[test]
fn walk_racing_a_fork_in_the_container() {
    walk_racing(WalkRace {
        // The second member on the other CPU's list: the walk crosses shards.
        prepare: |s| {
            TestHost::run_on_cpu(1);
            s.fork(2, 3);
            TestHost::run_on_cpu(0);
        },
        race: |s| s.fork(2, 4),
        stay: &[2, 3],
        may: &[4],
        after: &[2, 3, 4],
        refs: None,
    });
}

#[test]
fn walk_racing_an_exit_in_the_container() {
    walk_racing(WalkRace {
        // 3 is in the middle of the list (4, 3, 2): the walk may be parked on either
        // side of it.
        prepare: |s| {
            s.fork(2, 3);
            s.fork(2, 4);
        },
        race: |s| s.exit(3),
        stay: &[2, 4],
        may: &[3],
        after: &[2, 4],
        refs: Some(3),
    });
}

#[test]
fn walk_racing_a_move_out_of_the_container() {
    walk_racing(WalkRace {
        prepare: |s| {
            s.fork(2, 3);
            s.fork(2, 4);
        },
        race: |s| s.attach(s.h, "", 3).unwrap(),
        stay: &[2, 4],
        may: &[3],
        after: &[2, 4],
        refs: Some(4),
    });
}

#[test]
fn walk_racing_a_move_into_the_container() {
    walk_racing(WalkRace {
        prepare: |s| {
            s.fork(2, 3);
            s.fork(1, 4);
        },
        // Moved in on the other CPU's list, or on the walk's own: both shards covered.
        race: |s| s.attach(s.h, "a", 4).unwrap(),
        stay: &[2, 3],
        may: &[4],
        after: &[2, 3, 4],
        refs: Some(4),
    });
}

/// Container `a` with two css_groups (its tasks differ in a second, named hierarchy):
/// 2 alone in one (`a`, root of `n`), 3 in the other (`a`, `n/b`). The other thread
/// empties 2's css_group (exit, or a move out of `a`), freeing it while the walk may be
/// parked in it: the walk is handed on to the next css_group and still lists 3 exactly
/// once.
fn walk_racing_a_css_group_death(leave: fn(&Setup)) {
    model(move || {
        let s = setup(&["a"], 2);
        s.fork(1, 2);
        s.fork(1, 3);
        let n = s.gpc.mount("none,name=n", &caller()).unwrap();
        s.gpc.mkdir(n, "b").unwrap();
        s.attach(s.h, "a", 2).unwrap();
        s.attach(s.h, "a", 3).unwrap();
        s.attach(n, "b", 3).unwrap();
        assert_eq!(s.gpc.css_group_count(), 3);
        let s = Arc::new(s);
        let s2 = s.clone();
        let th = thread::spawn(move || leave(&s2));
        let got = walk(&s, s.h, "a");
        th.join().unwrap();
        assert_walk(&got, &[3], &[2]);
        assert_eq!(members(&s, s.h, "a"), [3]);
        assert_eq!(s.gpc.css_group_count(), 2, "2's css_group freed");
    });
}

#[test]
fn walk_racing_the_last_exit_of_a_css_group() {
    walk_racing_a_css_group_death(|s| s.exit(2));
}

#[test]
fn walk_racing_the_last_move_out_of_a_css_group() {
    walk_racing_a_css_group_death(|s| s.attach(s.h, "", 2).unwrap());
}

/// `cgroup.kill` racing a fork in the killed group (Linux `kill_seq`): whichever way they
/// interleave, the child is killed too, by the kill's walk (it was linked before the walk
/// reached its shard) or by the fork itself (the count it read was odd, or changed before
/// the child was linked), or the fork is refused (the kill had marked the parent before
/// the fork read the count). Nobody escapes.
#[test]
fn kill_racing_a_fork_in_the_group() {
    model(|| {
        let s = Arc::new(setup(&[], 2));
        let v2 = s.gpc.mount_v2("", &caller()).unwrap();
        s.gpc.mkdir(v2, "g").unwrap();
        s.fork(1, 2);
        s.attach(v2, "g", 2).unwrap();
        let s2 = s.clone();
        let t = thread::spawn(
            move || match s2.gpc.fork(&s2.slot(2), s2.slot(3), &info(3)) {
                Ok(()) => true,
                Err(e) => {
                    assert_eq!(e, Error::EINTR, "only a dying parent is refused");
                    false
                }
            },
        );
        s.gpc.write(v2, "g/cgroup.kill", b"1", &caller()).unwrap();
        let forked = t.join().unwrap();
        let killed = |pid: usize| s.tasks[pid - 2].jobctl() & crate::tasklist::JOBCTL_KILLED != 0;
        assert!(killed(2), "the parent escaped");
        assert!(!forked || killed(3), "the child escaped");
        if forked {
            s.exit(3);
        }
        s.exit(2);
        assert_refs(&s, 1); // init
    });
}

/// A fork racing `+probe` in the v2 root's `cgroup.subtree_control` (Linux
/// `cgroup_update_dfl_csses`; the probe charges at fork, so its tasks move): the
/// parent's css_group is retired and replaced, so the child ends up with the new state
/// whichever way they interleave: it was linked before the retirement (and is moved with
/// the others) or its fork retried from the parent's new slot. No task keeps the old
/// state, the counts agree, and every reference is accounted for.
#[test]
fn fork_racing_a_subtree_control_enable() {
    model(|| {
        TestHost::run_on_cpu(0);
        let gpc = Gpc::new(TestHost::new(2, 1), &[&PROBE, &PLAIN]).unwrap();
        let init = Task::boxed(1, 1);
        gpc.init_task(init.as_ref().pinned_slot(), &info(1))
            .unwrap();
        let tasks: Vec<Pin<Box<Task>>> = (2..4).map(|p| Task::boxed(p, p)).collect();
        let s = Arc::new(Setup {
            init,
            tasks,
            gpc,
            h: HierarchyId(0),
        });
        let v2 = s.gpc.mount_v2("", &caller()).unwrap();
        s.gpc.mkdir(v2, "g").unwrap();
        s.fork(1, 2);
        s.attach(v2, "g", 2).unwrap();
        let s2 = s.clone();
        let t = thread::spawn(move || s2.fork(2, 3));
        s.gpc
            .write(v2, "cgroup.subtree_control", b"+probe", &caller())
            .unwrap();
        t.join().unwrap();
        let mut count = Vec::new();
        s.gpc
            .read(v2, "g/probe.count", &caller(), &mut count)
            .unwrap();
        assert_eq!(count, b"2\n", "both tasks charged to g's new state");
        let ss = s.gpc.subsys_id("probe").unwrap();
        let guard = s.gpc.rcu_read_lock();
        let css = |pid| s.gpc.task_css(&guard, &s.slot(pid), ss).map(|c| c.raw());
        assert_eq!(css(2), css(3), "the child kept the old state");
        drop(guard);
        s.exit(3);
        s.exit(2);
        assert_refs(&s, 1); // init
    });
}

/// Two charges racing for the last room under a parent's limit (the resource counter's
/// lock-free charge, Linux `page_counter_try_charge`): exactly one passes, the other
/// fails at the parent and takes back what it added below, and every level ends exact.
#[test]
fn two_charges_racing_at_a_limit() {
    use crate::counter::{try_charge, PageCounter};
    model(|| {
        let c = Arc::new([PageCounter::new(), PageCounter::new(), PageCounter::new()]);
        c[2].set_max(3).unwrap();
        let c2 = c.clone();
        let t = thread::spawn(move || try_charge([&c2[1], &c2[2]].into_iter(), 2).is_ok());
        let mine = try_charge([&c[0], &c[2]].into_iter(), 2).is_ok();
        let theirs = t.join().unwrap();
        assert!(mine != theirs, "exactly one fits");
        assert_eq!(c[2].usage(), 2);
        assert_eq!(
            c[0].usage() + c[1].usage(),
            2,
            "the loser took its child's share back"
        );
        assert_eq!(c[2].failcnt(), 1);
        assert!(c[2].watermark() <= 3, "the peak never passed the limit");
    });
}
