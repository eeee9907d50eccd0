//! The `ns` controller: one container per namespace unshare (the seed's namespace
//! tracker).
//!
//! Follows Serge Hallyn's `kernel/ns_cgroup.c` as merged with Paul Menage's containers
//! in Linux 2.6.24 (torvalds/linux history; the file was removed in 2.6.39). When a task
//! unshares or clones namespaces, `ns_cgroup_clone()` calls `cgroup_clone()`, which makes
//! a child container of the task's current one and moves the task into it; gpc's
//! equivalent is `Gpc::container_clone(ns_id, task, name)`, which the simulator's
//! `unshare` calls.
//!
//! `ns_can_attach` enforces that a container is a namespace entered once, downwards:
//!
//! ```c
//! if (atomic_read(&new_cgroup->count) != 0)
//!         return -EPERM;
//! orig = task_cgroup(task, ns_subsys_id);
//! if (orig && orig != new_cgroup->parent)
//!         return -EPERM;
//! ```
//!
//! - the destination must have no tasks (`count` counts the css_sets naming the
//!   container, which exist exactly while tasks are in it; gpc counts the tasks in
//!   [`State`] through the fork, exit and attach hooks, for every container but the
//!   root, which can never be a destination);
//! - the destination must be a **child** of the task's current container (so the root,
//!   a sibling, a grandchild or the current container itself are all `EPERM`).
//!
//! `container_clone` satisfies both (a new, empty child of the current container).
//!
//! Not modelled: the seed also refused, when the writer is not the moved task itself,
//! writers without `CAP_SYS_ADMIN` or outside an ancestor of the destination, and
//! refused `mkdir` (`ns_create`) without `CAP_SYS_ADMIN`; gpc's hooks are not told who
//! the caller is (the host's permission checks on the directory and on `tasks` apply).
//! The controller has no files.

use core::sync::atomic::{AtomicUsize, Ordering};

use gpc_core::{CfType, Css, Error, Hooks, Result, Subsystem, TaskInfo};

/// The `ns` controller (Linux 2.6.24 `ns_subsys`).
pub struct Ns;

/// Per-container state (Linux `struct ns_cgroup`, plus the task count Linux read from
/// `cgroup->count`).
pub struct State {
    /// Tasks directly in this container (not maintained for the root).
    nr_tasks: AtomicUsize,
}

/// Tasks directly in a container (0 for the root, which is not counted).
pub fn nr_tasks(css: Css<'_, Ns>) -> usize {
    css.state().nr_tasks.load(Ordering::Acquire)
}

fn inc(css: Css<'_, Ns>) {
    if !css.is_root() {
        css.state().nr_tasks.fetch_add(1, Ordering::AcqRel);
    }
}

fn dec(css: Css<'_, Ns>) {
    if !css.is_root() {
        // Never below 0 even if a host misorders hooks: a saturating update.
        let _ = css
            .state()
            .nr_tasks
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(1))
            });
    }
}

impl Subsystem for Ns {
    type State = State;
    const NAME: &'static str = "ns";
    const HOOKS: Hooks = Hooks::FORK.union(Hooks::EXIT);

    fn files(&self) -> &'static [CfType<Self>] {
        &[]
    }

    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(State {
            nr_tasks: AtomicUsize::new(0),
        })
    }

    /// `ns_can_attach`: only into an empty child of the task's current container.
    fn can_attach(&self, _task: &TaskInfo, from: Css<'_, Self>, to: Css<'_, Self>) -> Result {
        if nr_tasks(to) != 0 {
            return Err(Error::EPERM);
        }
        match to.parent() {
            Some(parent) if parent.same(from) => Ok(()),
            _ => Err(Error::EPERM),
        }
    }

    fn attach(&self, _task: &TaskInfo, from: Css<'_, Self>, to: Css<'_, Self>) {
        dec(from);
        inc(to);
    }

    fn fork(&self, _child: &TaskInfo, css: Css<'_, Self>) {
        inc(css);
    }

    fn exit(&self, _task: &TaskInfo, css: Css<'_, Self>) {
        dec(css);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use std::string::String;
    use std::vec::Vec;

    use gpc_core::testing::OneHierarchy;
    use gpc_core::{Creds, Pid};

    use super::*;

    gpc_core::one_hierarchy_harness!(World);

    impl World {
        fn new() -> World {
            World(OneHierarchy::new(&[&Ns], "ns", 2, 1).unwrap())
        }

        fn unshare(&self, pid: Pid, name: &str) -> Result {
            self.gpc
                .container_clone(0, &self.tasks.task_ref(pid).unwrap(), name)
        }

        fn write_tasks(&self, path: &str, pid: Pid) -> Result {
            let file = if path.is_empty() {
                String::from("tasks")
            } else {
                std::format!("{path}/tasks")
            };
            self.gpc.write(
                self.h,
                &file,
                std::format!("{pid}\n").as_bytes(),
                &self.tasks.caller(Creds::ROOT, Some(1)),
            )
        }

        fn proc(&self, pid: Pid) -> String {
            let mut buf = Vec::new();
            self.gpc
                .proc_pid_cgroup(&self.tasks.get(pid).unwrap().slot, &mut buf)
                .unwrap();
            String::from_utf8(buf).unwrap()
        }

        fn count(&self, path: &str) -> usize {
            self.gpc
                .with_container_css(self.h, path, 0, |c| c.typed::<Ns>().map(nr_tasks))
                .unwrap()
                .unwrap()
        }
    }

    #[test]
    fn no_files() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        let mut ls = w.gpc.list(w.h, "a").unwrap();
        ls.sort();
        assert_eq!(
            ls,
            [
                "cgroup.clone_children",
                "cgroup.procs",
                "notify_on_release",
                "tasks"
            ]
        );
    }

    #[test]
    fn unshare_moves_into_a_new_child_each_time() {
        let mut w = World::new();
        let a = w.fork(1).unwrap();
        w.unshare(a, "n1").unwrap();
        assert!(w.proc(a).ends_with(":ns:/n1\n"), "{}", w.proc(a));
        w.unshare(a, "n2").unwrap();
        assert!(w.proc(a).ends_with(":ns:/n1/n2\n"), "{}", w.proc(a));
        assert_eq!(w.count("n1"), 0);
        assert_eq!(w.count("n1/n2"), 1);
        let b = w.fork(a).unwrap();
        let t = w.thread(a).unwrap();
        assert_eq!(w.count("n1/n2"), 3);
        w.exit(b).unwrap();
        w.exit(t).unwrap();
        assert_eq!(w.count("n1/n2"), 1);
        w.exit(a).unwrap();
        assert_eq!(w.count("n1/n2"), 0);
        w.gpc.rmdir(w.h, "n1/n2").unwrap();
    }

    #[test]
    fn attach_rules() {
        let mut w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        w.gpc.mkdir(w.h, "c").unwrap();
        let x = w.fork(1).unwrap();
        assert_eq!(w.write_tasks("a/b", x), Err(Error::EPERM), "a grandchild");
        w.write_tasks("a", x).unwrap();
        assert_eq!(
            w.write_tasks("", x),
            Err(Error::EPERM),
            "back up to the root"
        );
        assert_eq!(w.write_tasks("c", x), Err(Error::EPERM), "a sibling");
        assert_eq!(
            w.write_tasks("a", x),
            Ok(()),
            "already there: nothing moves, nothing asked"
        );
        let y = w.fork(1).unwrap();
        assert_eq!(
            w.write_tasks("a", y),
            Err(Error::EPERM),
            "a child, but not empty"
        );
        w.write_tasks("c", y).unwrap();
        w.write_tasks("a/b", x).unwrap();
        assert_eq!(w.count("a"), 0);
        assert_eq!(w.count("a/b"), 1);
        assert_eq!(w.count("c"), 1);
        // A refused move leaves the counts alone.
        assert_eq!(w.write_tasks("a", y), Err(Error::EPERM));
        assert_eq!(w.count("c"), 1);
        assert_eq!(w.count("a"), 0);
        // An empty child again: entered once.
        w.gpc.mkdir(w.h, "c/d").unwrap();
        w.write_tasks("c/d", y).unwrap();
        assert_eq!(w.count("c"), 0);
    }

    #[test]
    fn unshare_of_a_thread_moves_only_it() {
        let mut w = World::new();
        let a = w.fork(1).unwrap();
        let t = w.thread(a).unwrap();
        w.unshare(t, "n").unwrap();
        assert!(w.proc(t).ends_with(":ns:/n\n"));
        assert!(w.proc(a).ends_with(":ns:/\n"));
        assert_eq!(
            w.unshare(a, "n"),
            Err(Error::EEXIST),
            "name taken in the same parent"
        );
    }
}
