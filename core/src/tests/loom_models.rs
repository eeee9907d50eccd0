//! loom models of the lock-free paths (`RUSTFLAGS="--cfg loom" cargo test -p gpc-core
//! --lib --release loom`). Each model runs every interleaving of two threads (bounded
//! preemptions) and checks the outcome and the exact reference counts.

use loom::sync::Arc;
use loom::thread;
use std::prelude::rust_2021::*;

use crate::host::rcu::Rcu;
use crate::host::task::NoTasks;
use crate::testing::probe::PROBE;
use crate::testing::TestHost;
use crate::{Caller, Creds, Error, Gpc, HierarchyId, TaskInfo, TaskRef, TaskSlot};

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

struct Setup {
    gpc: Gpc<TestHost>,
    h: HierarchyId,
    init: TaskSlot,
}

fn setup(dirs: &[&str]) -> Arc<Setup> {
    let gpc = Gpc::new(TestHost::new(2, 1), &[&PROBE]).unwrap();
    let caller = Caller {
        creds: Creds::ROOT,
        pid: None,
        tasks: &NoTasks,
    };
    let h = gpc.mount("probe,release_agent=/agent", &caller).unwrap();
    for d in dirs {
        gpc.mkdir(h, d).unwrap();
    }
    let init = TaskSlot::new();
    gpc.init_task(&init).unwrap();
    Arc::new(Setup { gpc, h, init })
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
        let s = setup(&["a"]);
        let parent = Arc::new(TaskSlot::new());
        s.gpc.fork(&s.init, &parent, &info(2)).unwrap();
        let child = Arc::new(TaskSlot::new());
        let (s2, p2, c2) = (s.clone(), parent.clone(), child.clone());
        let t = thread::spawn(move || s2.gpc.fork(&p2, &c2, &info(3)).unwrap());
        s.gpc.attach(s.h, "a", &task(2, &parent)).unwrap();
        t.join().unwrap();
        // The child has the parent's css_group from before or after the move: a whole
        // snapshot, never a mix.
        let cg = s.gpc.css_group_of(&child);
        assert!(cg == s.gpc.css_group_of(&parent) || cg == s.gpc.css_group_of(&s.init));
        assert_refs(&s, 3);
        s.gpc.exit(&child, &info(3));
        s.gpc.exit(&parent, &info(2));
        assert_refs(&s, 1);
        assert_eq!(s.gpc.css_group_count(), 1);
    });
}

#[test]
fn exit_racing_attach_of_the_same_task() {
    model(|| {
        let s = setup(&["a"]);
        let victim = Arc::new(TaskSlot::new());
        s.gpc.fork(&s.init, &victim, &info(2)).unwrap();
        let (s2, v2) = (s.clone(), victim.clone());
        let t = thread::spawn(move || s2.gpc.exit(&v2, &info(2)));
        let _ = s.gpc.attach(s.h, "a", &task(2, &victim));
        t.join().unwrap();
        assert!(!victim.is_attached());
        assert_refs(&s, 1);
        assert_eq!(s.gpc.css_group_count(), 1, "no css_group left behind");
    });
}

#[test]
fn rmdir_racing_attach_into_it() {
    model(|| {
        let s = setup(&["a"]);
        let t1 = Arc::new(TaskSlot::new());
        s.gpc.fork(&s.init, &t1, &info(2)).unwrap();
        let (s2, c2) = (s.clone(), t1.clone());
        let th = thread::spawn(move || s2.gpc.attach(s2.h, "a", &task(2, &c2)));
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
        let s = setup(&["a"]);
        let x = Arc::new(TaskSlot::new());
        let y = Arc::new(TaskSlot::new());
        s.gpc.fork(&s.init, &x, &info(2)).unwrap();
        s.gpc.fork(&s.init, &y, &info(3)).unwrap();
        let (s2, x2) = (s.clone(), x.clone());
        let th = thread::spawn(move || s2.gpc.attach(s2.h, "a", &task(2, &x2)).unwrap());
        s.gpc.attach(s.h, "a", &task(3, &y)).unwrap();
        th.join().unwrap();
        assert_eq!(s.gpc.css_group_of(&x), s.gpc.css_group_of(&y));
        assert_eq!(s.gpc.css_group_count(), 2);
        assert_refs(&s, 3);
    });
}

#[test]
fn lookup_racing_the_last_exit() {
    model(|| {
        let s = setup(&["a"]);
        let t1 = Arc::new(TaskSlot::new());
        s.gpc.fork(&s.init, &t1, &info(2)).unwrap();
        s.gpc.attach(s.h, "a", &task(2, &t1)).unwrap();
        let (s2, c2) = (s.clone(), t1.clone());
        let th = thread::spawn(move || {
            s2.gpc.exit(&c2, &info(2));
            s2.gpc.rmdir(s2.h, "a").unwrap();
        });
        {
            let guard = s.gpc.rcu_read_lock();
            let freed = s.gpc.host().rcu.freed();
            if let Some(css) = s.gpc.task_css(&guard, &t1, 0) {
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
        let s = setup(&["a"]);
        let caller = Caller {
            creds: Creds::ROOT,
            pid: None,
            tasks: &NoTasks,
        };
        s.gpc
            .write(s.h, "a/notify_on_release", b"1", &caller)
            .unwrap();
        let x = Arc::new(TaskSlot::new());
        let y = Arc::new(TaskSlot::new());
        s.gpc.fork(&s.init, &x, &info(2)).unwrap();
        s.gpc.fork(&s.init, &y, &info(3)).unwrap();
        s.gpc.attach(s.h, "a", &task(2, &x)).unwrap();
        s.gpc.attach(s.h, "a", &task(3, &y)).unwrap();
        let (s2, x2) = (s.clone(), x.clone());
        let th = thread::spawn(move || s2.gpc.exit(&x2, &info(2)));
        s.gpc.exit(&y, &info(3));
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
