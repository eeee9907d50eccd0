//! The `freezer` controller (v1, "legacy freezer"): stop and resume a container's tasks.
//!
//! Follows `kernel/cgroup/legacy_freezer.c` (torvalds/linux) as of Linux 6.18.
//!
//! # Files (all `CFTYPE_NOT_ON_ROOT`: the root container cannot be frozen)
//!
//! | file | mode | read | write |
//! |---|---|---|---|
//! | `freezer.state` | 0644 | `THAWED`, `FREEZING` or `FROZEN` | `strstrip`, then exactly `THAWED` or `FROZEN`; anything else `EINVAL` |
//! | `freezer.self_freezing` | 0444 | `0`/`1`: `FROZEN` was written here | (none: `EINVAL`) |
//! | `freezer.parent_freezing` | 0444 | `0`/`1`: an ancestor is freezing | (none: `EINVAL`) |
//!
//! # States
//!
//! Linux keeps `CGROUP_FREEZING_SELF` (set by writing `FROZEN`, cleared by `THAWED`) and
//! `CGROUP_FREEZING_PARENT`, which `freezer_change_state` pushes down the subtree in
//! pre-order (a descendant has it iff its parent is freezing for either reason) and
//! `freezer_css_online` gives a new child of a freezing parent. By induction a container
//! has `FREEZING_PARENT` exactly when some proper ancestor has `FREEZING_SELF`, so gpc
//! stores only the self bit and derives the parent bit by walking up: no descendant walk
//! is needed on a write, and a new child is right from the start.
//!
//! `CGROUP_FROZEN` is set lazily by `update_if_frozen` (on a read of `freezer.state`)
//! once every task below has actually stopped. A simulated task stops the moment it is
//! asked to, so a freezing container always reads `FROZEN`: `FREEZING` is never visible
//! here (as the recorded transcript `sim-scripts/cases/freezer_states` shows for an idle
//! task on Linux). Moving a task into a frozen container (`freezer_attach`) or forking
//! inside one (`freezer_fork`) freezes the task at once, which is what [`is_frozen`]
//! tells the host's scheduler.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::parse::strstrip;
use gpc_core::{CfFlags, CfType, Css, Error, FileCtxOf, Out, Result, Subsystem};

/// The `freezer` controller (Linux `freezer_cgrp_subsys`).
pub struct Freezer;

/// Per-container state (Linux `struct freezer`, reduced to `CGROUP_FREEZING_SELF`).
pub struct State {
    self_freezing: AtomicBool,
}

/// Whether the tasks of this container must not run: it or an ancestor has `FROZEN`
/// written to its `freezer.state` (`CGROUP_FREEZING` in Linux).
pub fn is_frozen(css: Css<'_, Freezer>) -> bool {
    css.ancestors_and_self().any(self_freezing)
}

/// `CGROUP_FREEZING_SELF`: `FROZEN` was written to this container's `freezer.state`.
pub fn self_freezing(css: Css<'_, Freezer>) -> bool {
    css.state().self_freezing.load(Ordering::Acquire)
}

/// `CGROUP_FREEZING_PARENT`: some proper ancestor is freezing itself.
pub fn parent_freezing(css: Css<'_, Freezer>) -> bool {
    css.ancestors_and_self().skip(1).any(self_freezing)
}

/// `freezer_state_strs` for the state of `css` once `update_if_frozen` has run (freezing
/// completes at once in gpc, see the module doc).
fn state_str(css: Css<'_, Freezer>) -> &'static str {
    if is_frozen(css) {
        "FROZEN"
    } else {
        "THAWED"
    }
}

/// `freezer_read`.
fn read_state(_: &Freezer, ctx: &FileCtxOf<'_, Freezer>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", state_str(ctx.css()))
}

/// `freezer_write`: `strstrip`, then `strcmp` with `"THAWED"` / `"FROZEN"`.
fn write_state(_: &Freezer, ctx: &FileCtxOf<'_, Freezer>, data: &[u8]) -> Result {
    let freeze = match strstrip(data) {
        b"THAWED" => false,
        b"FROZEN" => true,
        _ => return Err(Error::EINVAL),
    };
    // freezer_change_state(): the descendants' FREEZING_PARENT follows by derivation.
    ctx.css()
        .state()
        .self_freezing
        .store(freeze, Ordering::Release);
    Ok(())
}

/// `freezer_self_freezing_read`: `"%llu\n"` of a bool.
fn read_self_freezing(_: &Freezer, ctx: &FileCtxOf<'_, Freezer>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", u8::from(self_freezing(ctx.css())))
}

/// `freezer_parent_freezing_read`: `"%llu\n"` of a bool.
fn read_parent_freezing(_: &Freezer, ctx: &FileCtxOf<'_, Freezer>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", u8::from(parent_freezing(ctx.css())))
}

/// `files` (legacy_freezer.c), in Linux's order.
static FILES: [CfType<Freezer>; 3] = [
    CfType::rw("state", read_state, write_state).with_flags(CfFlags::NOT_ON_ROOT),
    CfType::ro("self_freezing", read_self_freezing).with_flags(CfFlags::NOT_ON_ROOT),
    CfType::ro("parent_freezing", read_parent_freezing).with_flags(CfFlags::NOT_ON_ROOT),
];

impl Subsystem for Freezer {
    type State = State;
    const NAME: &'static str = "freezer";

    fn files(&self) -> &'static [CfType<Self>] {
        &FILES
    }

    /// `freezer_css_alloc`: not freezing itself; `freezer_css_online`'s inheritance of
    /// the parent's freezing is the derived parent bit.
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(State {
            self_freezing: AtomicBool::new(false),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use std::vec::Vec;

    use gpc_core::testing::OneHierarchy;
    use gpc_core::Pid;

    use super::*;

    gpc_core::one_hierarchy_harness!(World);

    impl World {
        fn new() -> World {
            World(OneHierarchy::new(&[&Freezer], "freezer", 2, 1).unwrap())
        }

        fn frozen(&self, path: &str) -> bool {
            self.gpc
                .with_container_css(self.h, path, 0, |c| c.typed::<Freezer>().map(is_frozen))
                .unwrap()
                .unwrap()
        }

        fn task_frozen(&self, pid: Pid) -> bool {
            let guard = self.gpc.rcu_read_lock();
            let t = self.tasks.get(pid).unwrap();
            self.gpc
                .task_state::<Freezer>(&guard, &t.slot, 0)
                .map(is_frozen)
                .unwrap()
        }
    }

    #[test]
    fn transcript_freezer_states() {
        let mut w = World::new();
        assert_eq!(
            w.ls(""),
            [
                "cgroup.clone_children",
                "cgroup.procs",
                "cgroup.sane_behavior",
                "notify_on_release",
                "release_agent",
                "tasks"
            ]
        );
        w.gpc.mkdir(w.h, "a").unwrap();
        assert_eq!(
            w.ls("a"),
            [
                "cgroup.clone_children",
                "cgroup.procs",
                "freezer.parent_freezing",
                "freezer.self_freezing",
                "freezer.state",
                "notify_on_release",
                "tasks"
            ]
        );
        assert_eq!(w.read("a/freezer.state").unwrap(), "THAWED\n");
        assert_eq!(w.read("a/freezer.self_freezing").unwrap(), "0\n");
        assert_eq!(w.read("a/freezer.parent_freezing").unwrap(), "0\n");
        assert_eq!(w.read("freezer.state"), Err(Error::ENOENT));
        let a = w.fork(1).unwrap();
        w.gpc
            .attach(w.h, "a", &w.tasks.task_ref(a).unwrap())
            .unwrap();
        w.write("a/freezer.state", b"FROZEN\n").unwrap();
        assert_eq!(w.read("a/freezer.state").unwrap(), "FROZEN\n");
        assert_eq!(w.read("a/freezer.self_freezing").unwrap(), "1\n");
        assert!(w.task_frozen(a));
        w.write("a/freezer.state", b"FROZEN\n").unwrap();
        assert_eq!(w.read("a/freezer.state").unwrap(), "FROZEN\n");
        w.write("a/freezer.state", b"THAWED\n").unwrap();
        assert_eq!(w.read("a/freezer.state").unwrap(), "THAWED\n");
        assert_eq!(w.read("a/freezer.self_freezing").unwrap(), "0\n");
        assert!(!w.task_frozen(a));
        for bad in [&b"FREEZING\n"[..], b"frozen\n", b"1\n", b"\n"] {
            assert_eq!(
                w.write("a/freezer.state", bad),
                Err(Error::EINVAL),
                "{bad:?}"
            );
        }
        w.write("a/freezer.state", b" FROZEN \n").unwrap();
        assert_eq!(w.read("a/freezer.state").unwrap(), "FROZEN\n");
        w.write("a/freezer.state", b"THAWED\n").unwrap();
        assert_eq!(
            w.write("a/freezer.self_freezing", b"1\n"),
            Err(Error::EINVAL)
        );
        assert_eq!(
            w.write("a/freezer.parent_freezing", b"1\n"),
            Err(Error::EINVAL)
        );
        let b = w.fork(a).unwrap();
        assert!(!w.task_frozen(b));
    }

    #[test]
    fn hostile_writes() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        assert_eq!(
            w.write("a/freezer.state", b""),
            Ok(()),
            "a 0-byte write does nothing"
        );
        for bad in [
            &b"FROZENX"[..],
            b"FROZEN\nTHAWED",
            b"FRO ZEN",
            b"THAWED!",
            b"\xffFROZEN",
            b"\0FROZEN",
        ] {
            assert_eq!(
                w.write("a/freezer.state", bad),
                Err(Error::EINVAL),
                "{bad:?}"
            );
        }
        assert!(!w.frozen("a"));
        // Linux's isspace set, including VT, FF, CR and Latin-1 NBSP, is stripped.
        w.write("a/freezer.state", b"\t\x0b\x0c\r\xa0FROZEN\xa0\n")
            .unwrap();
        assert!(w.frozen("a"));
        w.write("a/freezer.state", b"THAWED\0FROZEN").unwrap();
        assert!(!w.frozen("a"), "the C string ends at the NUL");
        let mut long = Vec::new();
        long.resize(4090, b' ');
        long.extend_from_slice(b"FROZEN");
        w.write("a/freezer.state", &long).unwrap();
        assert!(w.frozen("a"));
        long.push(b'\n');
        assert_eq!(
            w.write("a/freezer.state", &long),
            Err(Error::E2BIG),
            "kernfs: over a page"
        );
    }

    #[test]
    fn freezing_propagates_down_and_to_new_children() {
        let mut w = World::new();
        w.gpc.mkdir(w.h, "p").unwrap();
        w.gpc.mkdir(w.h, "p/c").unwrap();
        let t = w.fork(1).unwrap();
        w.gpc
            .attach(w.h, "p/c", &w.tasks.task_ref(t).unwrap())
            .unwrap();
        w.write("p/freezer.state", b"FROZEN").unwrap();
        assert_eq!(w.read("p/c/freezer.state").unwrap(), "FROZEN\n");
        assert_eq!(w.read("p/c/freezer.self_freezing").unwrap(), "0\n");
        assert_eq!(w.read("p/c/freezer.parent_freezing").unwrap(), "1\n");
        assert_eq!(w.read("p/freezer.parent_freezing").unwrap(), "0\n");
        assert!(w.task_frozen(t));
        w.gpc.mkdir(w.h, "p/c/new").unwrap();
        assert_eq!(
            w.read("p/c/new/freezer.state").unwrap(),
            "FROZEN\n",
            "css_online inherits"
        );
        assert_eq!(w.read("p/c/new/freezer.parent_freezing").unwrap(), "1\n");
        // Self and parent freezing are independent bits.
        w.write("p/c/freezer.state", b"FROZEN").unwrap();
        w.write("p/freezer.state", b"THAWED").unwrap();
        assert_eq!(w.read("p/c/freezer.state").unwrap(), "FROZEN\n");
        assert_eq!(w.read("p/c/new/freezer.state").unwrap(), "FROZEN\n");
        assert_eq!(w.read("p/c/freezer.parent_freezing").unwrap(), "0\n");
        w.write("p/c/freezer.state", b"THAWED").unwrap();
        assert!(!w.task_frozen(t));
        assert_eq!(w.read("p/c/new/freezer.state").unwrap(), "THAWED\n");
        // A task moved into a frozen container is frozen; moved out, it runs.
        w.write("p/freezer.state", b"FROZEN").unwrap();
        let u = w.fork(1).unwrap();
        assert!(!w.task_frozen(u));
        w.gpc
            .attach(w.h, "p", &w.tasks.task_ref(u).unwrap())
            .unwrap();
        assert!(w.task_frozen(u));
        w.gpc
            .attach(w.h, "", &w.tasks.task_ref(u).unwrap())
            .unwrap();
        assert!(!w.task_frozen(u));
        assert!(!w.frozen(""));
    }
}
