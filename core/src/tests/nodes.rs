//! Nodes (a path resolved once, then operated on, as kernfs does) and counted css
//! handles.

use core::cell::Cell;
use std::format;
use std::prelude::rust_2021::*;

use super::World;
use crate::host::rcu::Rcu;
use crate::host::task::{Caller, TaskTable};
use crate::testing::probe::PROBE;
use crate::{Creds, Entry, Error, Gpc, Node, Pid, TaskRef};

/// A task table that counts how often gpc looks tasks up.
struct CountingTasks<'a> {
    inner: &'a dyn TaskTable,
    with_task: Cell<usize>,
    thread_groups: Cell<usize>,
}

impl<'a> CountingTasks<'a> {
    fn new(inner: &'a dyn TaskTable) -> Self {
        CountingTasks {
            inner,
            with_task: Cell::new(0),
            thread_groups: Cell::new(0),
        }
    }
}

impl TaskTable for CountingTasks<'_> {
    fn with_task(&self, pid: Pid, f: &mut dyn FnMut(&TaskRef<'_>)) -> bool {
        self.with_task.set(self.with_task.get() + 1);
        self.inner.with_task(pid, f)
    }
    fn with_thread_group(
        &self,
        tgid: Pid,
        f: &mut dyn FnMut(&mut dyn Iterator<Item = TaskRef<'_>>),
    ) -> bool {
        self.thread_groups.set(self.thread_groups.get() + 1);
        self.inner.with_thread_group(tgid, f)
    }
}

fn read_node(w: &World, node: &Node) -> Result<String, Error> {
    let mut buf = Vec::new();
    w.gpc
        .read_node(node, &w.tasks.caller(Creds::ROOT, Some(1)), &mut buf)?;
    Ok(String::from_utf8(buf).unwrap())
}

#[test]
fn a_path_resolves_once_into_a_node_that_every_operation_takes() {
    let w = World::new();
    let h = w.mount("probe").unwrap();
    let root = w.gpc.root(h).unwrap();
    assert!(root.is_dir());
    assert_eq!(w.gpc.lookup(h, "/").unwrap(), root);
    let a = w.gpc.mkdir_node(&root, "a").unwrap();
    let b = w.gpc.mkdir_node(&a, "b").unwrap();
    assert_eq!(w.gpc.lookup(h, "a/b").unwrap(), b);
    assert_eq!(w.gpc.lookup_in(&a, "b").unwrap(), b);
    assert_eq!(w.gpc.stat(h, "a/b").unwrap(), b.entry());
    assert_eq!(
        b.entry(),
        Entry::Dir {
            id: b.container_id()
        }
    );

    let tasks = w.gpc.lookup_in(&b, "tasks").unwrap();
    assert!(!tasks.is_dir());
    assert_eq!(tasks.mode(), Some(0o644));
    assert_eq!(tasks.container_id(), b.container_id());
    assert_eq!(w.gpc.lookup(h, "a/b/tasks").unwrap(), tasks);
    assert_eq!(w.gpc.lookup_in(&tasks, "x"), Err(Error::ENOTDIR));
    assert_eq!(w.gpc.parent(&tasks), Ok(b), "a file's directory");
    assert_eq!(w.gpc.parent(&b), Ok(a));
    assert_eq!(w.gpc.parent(&a), Ok(root));
    assert_eq!(
        w.gpc.parent(&root),
        Err(Error::ENOENT),
        "`..` of a root is the VFS's"
    );
    assert_eq!(w.gpc.lookup_in(&a, "nope"), Err(Error::ENOENT));

    let mut names = w.gpc.list_node(&b).unwrap();
    let mut by_path = w.gpc.list(h, "a/b").unwrap();
    names.sort();
    by_path.sort();
    assert_eq!(names, by_path);
    assert_eq!(w.gpc.list_node(&tasks), Err(Error::ENOTDIR));

    // Reads and writes on the node are the path's.
    let limit = w.gpc.lookup_in(&b, "probe.limit").unwrap();
    w.gpc
        .write_node(&limit, b"7\n", &w.tasks.caller(Creds::ROOT, Some(1)))
        .unwrap();
    assert_eq!(read_node(&w, &limit).unwrap(), "7\n");
    assert_eq!(w.read(h, "a/b/probe.limit").unwrap(), "7\n");
    assert_eq!(read_node(&w, &b), Err(Error::EISDIR));
    assert_eq!(
        w.gpc
            .write_node(&b, b"1", &w.tasks.caller(Creds::ROOT, Some(1))),
        Err(Error::EISDIR)
    );
}

#[test]
fn a_removed_node_is_enodev_and_never_another_container() {
    let w = World::new();
    let h = w.mount("probe").unwrap();
    let root = w.gpc.root(h).unwrap();
    let a = w.gpc.mkdir_node(&root, "a").unwrap();
    let tasks = w.gpc.lookup_in(&a, "tasks").unwrap();
    w.gpc.rmdir_node(&a).unwrap();
    // A new container of the same name has a new id: the old node stays dead
    // (kernfs_get_active fails on a removed node: fs/kernfs/file.c).
    let again = w.gpc.mkdir_node(&root, "a").unwrap();
    assert_ne!(again, a);
    assert_eq!(read_node(&w, &tasks), Err(Error::ENODEV));
    assert_eq!(
        w.gpc
            .write_node(&tasks, b"1", &w.tasks.caller(Creds::ROOT, Some(1))),
        Err(Error::ENODEV)
    );
    assert_eq!(w.gpc.list_node(&a), Err(Error::ENODEV));
    assert_eq!(w.gpc.parent(&a), Err(Error::ENODEV));
    // Linux cgroup_mkdir: the parent is not live (cgroup_kn_lock_live).
    assert_eq!(w.gpc.mkdir_node(&a, "x"), Err(Error::ENODEV));
    assert_eq!(w.gpc.rmdir_node(&a), Err(Error::ENODEV));
    assert_eq!(w.gpc.lookup_in(&a, "tasks"), Err(Error::ENOENT));
    assert_eq!(w.gpc.rmdir_node(&root), Err(Error::EBUSY));
}

#[test]
fn a_tasks_write_on_a_node_looks_the_task_up_once_and_resolves_no_path() {
    let mut w = World::new();
    let h = w.mount("probe").unwrap();
    let mut dir = w.gpc.root(h).unwrap();
    for name in ["a", "b", "c", "d"] {
        dir = w.gpc.mkdir_node(&dir, name).unwrap();
    }
    let pid = w.fork(1).unwrap();
    let thread = w.thread(pid).unwrap();
    let tasks = w.gpc.lookup_in(&dir, "tasks").unwrap();
    let procs = w.gpc.lookup_in(&dir, "cgroup.procs").unwrap();

    let counting = CountingTasks::new(&w.tasks);
    let caller = Caller {
        creds: Creds::ROOT,
        pid: Some(1),
        tasks: &counting,
    };
    w.gpc
        .write_node(&tasks, format!("{pid}\n").as_bytes(), &caller)
        .unwrap();
    assert_eq!(counting.with_task.get(), 1, "one lookup of the task");
    assert_eq!(counting.thread_groups.get(), 0);
    assert_eq!(
        w.proc_cgroup(pid).unwrap().trim_end().rsplit(':').next(),
        Some("/a/b/c/d")
    );
    assert_eq!(
        w.proc_cgroup(thread).unwrap().trim_end().rsplit(':').next(),
        Some("/"),
        "tasks moves one thread"
    );

    // cgroup.procs: one lookup for the thread group leader, one of the group.
    counting.with_task.set(0);
    w.gpc
        .write_node(&procs, format!("{thread}\n").as_bytes(), &caller)
        .unwrap();
    assert_eq!(counting.with_task.get(), 1);
    assert_eq!(counting.thread_groups.get(), 1);
    assert_eq!(
        w.proc_cgroup(thread).unwrap().trim_end().rsplit(':').next(),
        Some("/a/b/c/d")
    );

    // An unknown pid is ESRCH after one lookup; a refused writer EACCES.
    counting.with_task.set(0);
    assert_eq!(
        w.gpc.write_node(&tasks, b"4000", &caller),
        Err(Error::ESRCH)
    );
    assert_eq!(counting.with_task.get(), 1);
    let user = Caller {
        creds: Creds::user(1000, 1000),
        pid: None,
        tasks: &counting,
    };
    assert_eq!(
        w.gpc.write_node(&tasks, format!("{pid}").as_bytes(), &user),
        Err(Error::EACCES)
    );
    assert_eq!(
        w.gpc.write_node(&procs, format!("{pid}").as_bytes(), &user),
        Err(Error::EACCES)
    );
}

#[test]
fn attach_on_a_node_moves_the_task() {
    let mut w = World::new();
    let h = w.mount("probe").unwrap();
    let a = w.gpc.mkdir_node(&w.gpc.root(h).unwrap(), "a").unwrap();
    let pid = w.fork(1).unwrap();
    let t = w.tasks.task_ref(pid).unwrap();
    w.gpc.attach_node(&a, &t).unwrap();
    assert_eq!(w.read(h, "a/tasks").unwrap(), format!("{pid}\n"));
    let file = w.gpc.lookup_in(&a, "tasks").unwrap();
    assert_eq!(w.gpc.attach_node(&file, &t), Err(Error::ENOTDIR));
}

mod counted {
    use super::*;
    use crate::files::{CfType, FileCtxOf, Out};
    use crate::primitive::{AtomicUsize, Ordering};
    use crate::subsys::{Css, Subsystem};

    /// Live states of [`Counted`], to see when gpc frees them.
    static LIVE: AtomicUsize = AtomicUsize::new(0);

    /// A subsystem whose states count themselves.
    struct Counted;

    struct CountedState;

    impl Drop for CountedState {
        fn drop(&mut self) {
            LIVE.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn read_live(_: &Counted, _: &FileCtxOf<'_, Counted>, out: &mut Out<'_>) -> crate::Result {
        writeln!(out, "{}", LIVE.load(Ordering::SeqCst))
    }

    static FILES: [CfType<Counted>; 1] = [CfType::ro("live", read_live)];

    impl Subsystem for Counted {
        type State = CountedState;
        const NAME: &'static str = "counted";
        fn files(&self) -> &'static [CfType<Self>] {
            &FILES
        }
        fn create(&self, _: Option<Css<'_, Self>>) -> crate::Result<CountedState> {
            LIVE.fetch_add(1, Ordering::SeqCst);
            Ok(CountedState)
        }
    }

    static COUNTED: Counted = Counted;

    #[test]
    fn a_css_handle_keeps_the_state_and_its_parents_past_rmdir() {
        let gpc = Gpc::new(crate::testing::TestHost::default(), &[&COUNTED, &PROBE]).unwrap();
        let mut tasks = crate::testing::TaskList::new();
        tasks.add_init(&gpc).unwrap();
        let caller = tasks.caller(Creds::ROOT, None);
        let h = gpc.mount("counted", &caller).unwrap();
        let root = gpc.root(h).unwrap();
        let a = gpc.mkdir_node(&root, "a").unwrap();
        let b = gpc.mkdir_node(&a, "b").unwrap();
        assert_eq!(LIVE.load(Ordering::SeqCst), 3, "root, a, b");
        let handle = gpc.css_get(&b, 0).unwrap();
        assert_eq!(handle.container_id(), b.container_id());
        assert_eq!(
            gpc.css_get(&b, 1).err(),
            Some(Error::ENOENT),
            "probe not bound"
        );
        let second = handle.clone();
        gpc.rmdir_node(&b).unwrap();
        gpc.rmdir_node(&a).unwrap();
        gpc.host().synchronize();
        assert_eq!(
            LIVE.load(Ordering::SeqCst),
            3,
            "b kept by the handles, a by b"
        );
        assert!(handle.typed::<Counted>().is_some());
        assert_eq!(handle.container_id(), b.container_id(), "still answers");
        assert_eq!(
            handle.css().parent().map(|p| p.container_id()),
            Some(a.container_id())
        );
        drop(handle);
        gpc.host().synchronize();
        assert_eq!(LIVE.load(Ordering::SeqCst), 3);
        drop(second);
        gpc.host().synchronize();
        assert_eq!(
            LIVE.load(Ordering::SeqCst),
            1,
            "b, then a, freed; the root stays"
        );

        // A task's state, counted without a lock.
        let c = gpc.mkdir_node(&root, "c").unwrap();
        let t = tasks.task_ref(1).unwrap();
        gpc.attach_node(&c, &t).unwrap();
        let init = tasks.get(1).unwrap();
        let held = gpc.task_css_get(&init.slot, 0).unwrap();
        assert_eq!(held.container_id(), c.container_id());
        gpc.attach_node(&root, &tasks.task_ref(1).unwrap()).unwrap();
        gpc.rmdir_node(&c).unwrap();
        gpc.host().synchronize();
        assert_eq!(LIVE.load(Ordering::SeqCst), 2);
        drop(held);
        gpc.host().synchronize();
        assert_eq!(LIVE.load(Ordering::SeqCst), 1);
        tasks.exit_all(&gpc);
        drop(gpc);
        assert_eq!(LIVE.load(Ordering::SeqCst), 0);
    }
}
