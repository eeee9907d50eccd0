//! The `debug` controller: a window on gpc's own bookkeeping.
//!
//! Follows `kernel/cgroup/debug.c` (torvalds/linux) as of Linux 6.18,
//! `debug_legacy_files` (the names a v1 mount shows, prefixed `debug.`):
//!
//! | file | flags | mode | Linux handler | here |
//! |---|---|---|---|---|
//! | `taskcount` | | 0444 | `read_u64`: `cgroup_task_count` | [`DebugView::task_count`] |
//! | `current_css_set` | `ONLY_ON_ROOT` | 0444 | `current_css_set_read` | [`DebugView::current_css_group`] |
//! | `current_css_set_refcount` | `ONLY_ON_ROOT` | 0444 | `read_u64` | [`DebugView::current_css_group_refcount`] |
//! | `current_css_set_cg_links` | `ONLY_ON_ROOT` | 0444 | `current_css_set_cg_links_read` | [`DebugView::current_css_group_links`] |
//! | `cgroup_css_links` | | 0444 | `cgroup_css_links_read` | [`DebugView::container_css_links`] |
//! | `cgroup_subsys_states` | | 0444 | `cgroup_subsys_states_read` | [`DebugView::container_subsys_states`] |
//! | `cgroup_masks` | | 0444 | `cgroup_masks_read` | [`DebugView::container_masks`] |
//! | `releasable` | | 0444 | `read_u64`: not populated and no online child | [`DebugView::releasable`] |
//!
//! The controller keeps no state of its own (`debug_css_alloc` allocates a bare css);
//! every file formats what the core's [`DebugView`] shows of the container the file is
//! in and of the reading task. `read_u64` files print `"%llu\n"`. Without a view (a core
//! built without debug support) a read fails with `ENODEV`, the errno Linux's
//! `cgroup_kn_lock_live` gives when the container cannot be inspected. No file is
//! writable (writes are `EINVAL`).
//!
//! Addresses and reference counts in these files depend on gpc's own data structures, as
//! Linux's depend on the kernel's; they are for humans, not for comparison.

use gpc_core::debug::DebugView;
use gpc_core::{CfFlags, CfType, Css, Error, FileCtxOf, Out, Result, Subsystem};

/// The `debug` controller (Linux `debug_cgrp_subsys`).
pub struct Debug;

/// Per-container state: none (Linux allocates a bare `cgroup_subsys_state`).
pub struct State;

/// The core's view for this file operation.
fn view<'a>(ctx: &FileCtxOf<'a, Debug>) -> Result<&'a dyn DebugView> {
    ctx.debug().ok_or(Error::ENODEV)
}

/// `debug_taskcount_read`.
fn read_taskcount(_: &Debug, ctx: &FileCtxOf<'_, Debug>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", view(ctx)?.task_count())
}

/// `current_css_set_read`.
fn read_current_css_set(_: &Debug, ctx: &FileCtxOf<'_, Debug>, out: &mut Out<'_>) -> Result {
    view(ctx)?.current_css_group(out)
}

/// `current_css_set_refcount_read`.
fn read_current_css_set_refcount(
    _: &Debug,
    ctx: &FileCtxOf<'_, Debug>,
    out: &mut Out<'_>,
) -> Result {
    view(ctx)?.current_css_group_refcount(out)
}

/// `current_css_set_cg_links_read`.
fn read_current_css_set_cg_links(
    _: &Debug,
    ctx: &FileCtxOf<'_, Debug>,
    out: &mut Out<'_>,
) -> Result {
    view(ctx)?.current_css_group_links(out)
}

/// `cgroup_css_links_read`.
fn read_cgroup_css_links(_: &Debug, ctx: &FileCtxOf<'_, Debug>, out: &mut Out<'_>) -> Result {
    view(ctx)?.container_css_links(out)
}

/// `cgroup_subsys_states_read`.
fn read_cgroup_subsys_states(_: &Debug, ctx: &FileCtxOf<'_, Debug>, out: &mut Out<'_>) -> Result {
    view(ctx)?.container_subsys_states(out)
}

/// `cgroup_masks_read`.
fn read_cgroup_masks(_: &Debug, ctx: &FileCtxOf<'_, Debug>, out: &mut Out<'_>) -> Result {
    view(ctx)?.container_masks(out)
}

/// `releasable_read`.
fn read_releasable(_: &Debug, ctx: &FileCtxOf<'_, Debug>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", u8::from(view(ctx)?.releasable()))
}

/// `debug_legacy_files`, in Linux's order.
static FILES: [CfType<Debug>; 8] = [
    CfType::ro("taskcount", read_taskcount),
    CfType::ro("current_css_set", read_current_css_set).with_flags(CfFlags::ONLY_ON_ROOT),
    CfType::ro("current_css_set_refcount", read_current_css_set_refcount)
        .with_flags(CfFlags::ONLY_ON_ROOT),
    CfType::ro("current_css_set_cg_links", read_current_css_set_cg_links)
        .with_flags(CfFlags::ONLY_ON_ROOT),
    CfType::ro("cgroup_css_links", read_cgroup_css_links),
    CfType::ro("cgroup_subsys_states", read_cgroup_subsys_states),
    CfType::ro("cgroup_masks", read_cgroup_masks),
    CfType::ro("releasable", read_releasable),
];

impl Subsystem for Debug {
    type State = State;
    const NAME: &'static str = "debug";

    fn files(&self) -> &'static [CfType<Self>] {
        &FILES
    }

    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(State)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use std::string::String;
    use std::vec::Vec;

    use gpc_core::testing::OneHierarchy;
    use gpc_core::Creds;

    use super::*;

    gpc_core::one_hierarchy_harness!(World);

    impl World {
        fn new() -> World {
            World(OneHierarchy::new(&[&Debug], "debug", 2, 1).unwrap())
        }

        fn ls(&self, path: &str) -> Vec<String> {
            let mut v: Vec<String> = self
                .gpc
                .list(self.h, path)
                .unwrap()
                .into_iter()
                .filter(|n| n.starts_with("debug."))
                .collect();
            v.sort();
            v
        }
    }

    #[test]
    fn files_where_linux_has_them() {
        let w = World::new();
        assert_eq!(
            w.ls(""),
            [
                "debug.cgroup_css_links",
                "debug.cgroup_masks",
                "debug.cgroup_subsys_states",
                "debug.current_css_set",
                "debug.current_css_set_cg_links",
                "debug.current_css_set_refcount",
                "debug.releasable",
                "debug.taskcount"
            ]
        );
        w.gpc.mkdir(w.h, "a").unwrap();
        assert_eq!(
            w.ls("a"),
            [
                "debug.cgroup_css_links",
                "debug.cgroup_masks",
                "debug.cgroup_subsys_states",
                "debug.releasable",
                "debug.taskcount"
            ]
        );
        assert_eq!(w.read("a/debug.current_css_set"), Err(Error::ENOENT));
        for f in w.ls("") {
            assert_eq!(
                w.gpc
                    .write(w.h, &f, b"1\n", &w.tasks.caller(Creds::ROOT, Some(1))),
                Err(Error::EINVAL),
                "{f}"
            );
        }
    }

    #[test]
    fn counts_and_releasable() {
        let mut w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        assert_eq!(w.read("debug.taskcount").unwrap(), "1\n", "init");
        assert_eq!(w.read("a/debug.taskcount").unwrap(), "0\n");
        assert_eq!(w.read("a/debug.releasable").unwrap(), "1\n");
        assert_eq!(w.read("debug.releasable").unwrap(), "0\n");
        let x = w.fork(1).unwrap();
        let t = w.thread(x).unwrap();
        w.gpc
            .attach(w.h, "a", &w.tasks.task_ref(x).unwrap())
            .unwrap();
        w.gpc
            .attach(w.h, "a", &w.tasks.task_ref(t).unwrap())
            .unwrap();
        assert_eq!(w.read("a/debug.taskcount").unwrap(), "2\n", "threads count");
        assert_eq!(w.read("a/debug.releasable").unwrap(), "0\n");
        assert!(!w.read("a/debug.cgroup_css_links").unwrap().is_empty());
        w.gpc.mkdir(w.h, "b").unwrap();
        w.gpc.mkdir(w.h, "b/c").unwrap();
        assert_eq!(w.read("b/debug.releasable").unwrap(), "0\n", "a live child");
        w.exit(x).unwrap();
        assert_eq!(w.read("a/debug.taskcount").unwrap(), "0\n");
        assert_eq!(w.read("a/debug.releasable").unwrap(), "1\n");
    }

    #[test]
    fn masks_and_states() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        let masks = "subtree_control  : debug\nsubtree_ss_mask  : debug\n";
        assert_eq!(w.read("debug.cgroup_masks").unwrap(), masks);
        assert_eq!(w.read("a/debug.cgroup_masks").unwrap(), masks);
        let states = w.read("a/debug.cgroup_subsys_states").unwrap();
        let lines: Vec<&str> = states.lines().collect();
        assert_eq!(lines.len(), 1, "{states}");
        assert!(
            lines.iter().all(|l| l.starts_with(" 0: debug\t- ")),
            "{states}"
        );
        assert!(
            lines.iter().all(|l| l.contains(" P=")),
            "children name their parent: {states}"
        );
        let root = w.read("debug.cgroup_subsys_states").unwrap();
        assert!(!root.contains(" P="), "{root}");
        assert!(
            root.lines().all(|l| l.ends_with(" 2")),
            "itself and one online child: {root}"
        );
    }

    #[test]
    fn current_css_set_files_follow_the_reader() {
        let mut w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        let x = w.fork(1).unwrap();
        let before = w.read_as("debug.current_css_set", x).unwrap();
        assert_eq!(
            before,
            w.read("debug.current_css_set").unwrap(),
            "x shares init's css_group"
        );
        w.gpc
            .attach(w.h, "a", &w.tasks.task_ref(x).unwrap())
            .unwrap();
        assert_ne!(w.read_as("debug.current_css_set", x).unwrap(), before);
        assert_eq!(
            w.read_as("debug.current_css_set_refcount", x).unwrap(),
            "1\n"
        );
        let links = w.read_as("debug.current_css_set_cg_links", x).unwrap();
        assert!(links.contains("group a\n"), "{links}");
    }
}
