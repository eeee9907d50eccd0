//! The `perf_event` controller: groups that perf events can be restricted to
//! (`perf stat -G GROUP`, `perf_event_open` with `PERF_FLAG_PID_CGROUP`).
//!
//! Follows `kernel/events/core.c` (`perf_event_cgrp_subsys`, torvalds/linux) as of Linux
//! 6.18: no control files (`perf_cgroup_css_alloc` only allocates the per-CPU time
//! info); mountable on v1 (`mount -t cgroup -o perf_event`); on v2 it is
//! `implicit_on_dfl` (every group has it without `cgroup.subtree_control`, and Linux
//! never lists it in `cgroup.controllers` or `cgroup.subtree_control`) and `threaded`.
//! gpc offers a controller on v2 only through its v2 files, so `perf_event` is never in
//! those files either; a v2 host keys its counts by the v2 group itself (the machine's
//! `perf` command does).
//!
//! # The count
//!
//! Linux keeps per group and CPU a `perf_cgroup_info.time`: how long a task of the group
//! *or of a descendant* ran there while a cgroup event was open
//! (`update_cgrp_time_from_cpuctx` walks `css->parent` up to the root), which is the
//! `task-clock`/`cpu-clock` a cgroup event of the group reads. gpc keeps one such sum
//! per group ([`time`]) for the life of the group: a host calls [`account`] with the
//! nanoseconds a task ran, and every ancestor of the task's group counts them too.

use core::sync::atomic::{AtomicU64, Ordering};

use gpc_core::{CfType, Css, Result, Subsystem};

/// The `perf_event` controller (Linux `perf_event_cgrp_subsys`).
pub struct PerfEvent;

/// Per-group state (Linux `struct perf_cgroup`, its `info` summed over CPUs).
pub struct State {
    /// Nanoseconds tasks of this group or below ran.
    time: AtomicU64,
}

/// The group's time: what a `task-clock` cgroup event of it counts, in nanoseconds.
pub fn time(css: Css<'_, PerfEvent>) -> u64 {
    css.state().time.load(Ordering::Relaxed)
}

/// A task of the group ran `ns` nanoseconds: the group and every ancestor count them
/// (`update_cgrp_time_from_cpuctx`).
pub fn account(css: Css<'_, PerfEvent>, ns: u64) {
    for c in css.ancestors_and_self() {
        c.state().time.fetch_add(ns, Ordering::Relaxed);
    }
}

/// No files (`perf_event_cgrp_subsys` has no cftypes).
static FILES: [CfType<PerfEvent>; 0] = [];

impl Subsystem for PerfEvent {
    type State = State;
    const NAME: &'static str = "perf_event";
    const NO_TASK_STATE: bool = true;

    fn files(&self) -> &'static [CfType<Self>] {
        &FILES
    }

    /// `perf_cgroup_css_alloc`: nothing counted yet.
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(State {
            time: AtomicU64::new(0),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    use gpc_core::testing::OneHierarchy;

    use super::*;

    #[test]
    fn no_files_and_hierarchical_time() {
        let w = OneHierarchy::new(&[&PerfEvent], "perf_event", 2, 1).unwrap();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        let mut names = w.ls("a");
        names.retain(|n| n.starts_with("perf_event"));
        assert!(names.is_empty(), "{names:?}");
        let t = |p: &str| {
            w.gpc
                .with_container_css(w.h, p, 0, |c| time(c.typed::<PerfEvent>().unwrap()))
                .unwrap()
        };
        w.gpc
            .with_container_css(w.h, "a/b", 0, |c| {
                account(c.typed::<PerfEvent>().unwrap(), 5_000_000);
            })
            .unwrap();
        w.gpc
            .with_container_css(w.h, "a", 0, |c| {
                account(c.typed::<PerfEvent>().unwrap(), 1_000_000);
            })
            .unwrap();
        assert_eq!((t("a/b"), t("a"), t("")), (5_000_000, 6_000_000, 6_000_000));
    }
}
