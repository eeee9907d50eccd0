//! The `pids` controller: a limit on the number of tasks (processes and threads) in a
//! subtree.
//!
//! Follows `kernel/cgroup/pids.c` (torvalds/linux) as of Linux 6.18: `pids_files_legacy`
//! on v1, `pids_files` on v2.
//!
//! # Files (all `CFTYPE_NOT_ON_ROOT`)
//!
//! | file | mode | read | write |
//! |---|---|---|---|
//! | `pids.max` | 0644 | `max` or the limit (`pids_max_show`) | `pids_max_write`: `strstrip`, `"max"` or `kstrtoll(buf, 0)` with `0 <= n < PIDS_MAX` ([`parse_pids_max`]): `ERANGE` on overflow, `EINVAL` otherwise |
//! | `pids.current` | 0444 | `"%lld\n"` of the hierarchical count | |
//! | `pids.peak` | 0444 | `"%lld\n"`, the highest count seen | |
//! | `pids.events` | 0444 | `"max %lld\n"` (`__pids_events_show(sf, false)`, below) | |
//! | `pids.events.local` | 0444 | v2 only: `"max %lld\n"` (`__pids_events_show(sf, true)`) | |
//!
//! # Events (`pids_event`, `__pids_events_show`)
//!
//! A refused fork counts `events_local[PIDCG_FORKFAIL]` of the **forking** container.
//! On v1, and on v2 mounted with `pids_localevents`, that is all, and both
//! `pids.events` and `pids.events.local` show it. Otherwise (v2) it also counts
//! `events_local[PIDCG_MAX]` of the container **whose limit was hit** (its
//! `pids.events.local`) and `events[PIDCG_MAX]` of it and of every ancestor but the
//! root (their `pids.events`, hierarchical).
//!
//! gpc counts all three at every refusal and picks at read time (as the memory
//! controller does for `memory_localevents`): the fork hooks do not know the mount's
//! flags. The counts differ from Linux only after a remount that switches
//! `pids_localevents`: Linux did not count the hierarchical events while it was on.
//!
//! # Charging
//!
//! Every task (thread) counts once in its container and in every ancestor but the root
//! (`for (p = pids; parent_pids(p); p = parent_pids(p))`: the root is never charged).
//!
//! - **fork** (`pids_can_fork` → `pids_try_charge`): add 1 level by level from the
//!   child's container up; at the first level whose new count exceeds its limit, take the
//!   charge back from every level charged so far and fail the fork with `EAGAIN`. The
//!   peak (`pids_update_watermark`) of the levels passed before the failure keeps the
//!   raised value, as in Linux ("not technically accurate ... tolerable").
//! - **events**: on a refused fork `pids_event` counts `events_local[PIDCG_FORKFAIL]` of
//!   the **forking** container (not of the one whose limit was hit), and on the legacy
//!   hierarchy `pids.events` shows exactly that counter (`__pids_events_show` with
//!   `pe = PIDCG_FORKFAIL, local = true`).
//! - **attach** (`pids_can_attach`): the charge moves (`pids_charge` to the destination,
//!   `pids_uncharge` from the source) **without** checking limits, so `pids.current` may
//!   exceed `pids.max`; `pids_cancel_attach` moves it back.
//! - **exit** (`pids_release`, at reap): uncharge. gpc's exit hook is both `exit` and
//!   `release`, and the simulator reaps at exit.
//! - `pids_cancel_fork`: uncharge a fork that failed after `can_fork`.
//!
//! The effect is the `EAGAIN` of [`Subsystem::can_fork`], which the host's `fork`/`clone`
//! returns; [`current`] and [`limit`] are there for hosts that want to show them.

use core::sync::atomic::{AtomicI64, Ordering};

use crate::parse::{parse_pids_max, pids_max_display, PIDS_MAX};
use gpc_core::options::V2Options;
use gpc_core::{CfFlags, CfType, Css, Error, FileCtxOf, Hooks, Out, Result, Subsystem, TaskInfo};

/// The `pids` controller (Linux `pids_cgrp_subsys`).
pub struct Pids;

/// `PIDS_MAX` as the signed value the state stores ("no limit").
const NO_LIMIT: i64 = PIDS_MAX as i64;

/// Per-container state (Linux `struct pids_cgroup`).
pub struct State {
    /// Tasks here and below (`counter`).
    counter: AtomicI64,
    /// `limit`; [`NO_LIMIT`] is `max`.
    limit: AtomicI64,
    /// `watermark` (`pids.peak`).
    watermark: AtomicI64,
    /// `events_local[PIDCG_FORKFAIL]`: forks refused in this container (v1's and
    /// `pids_localevents`' `pids.events`).
    forkfail: AtomicI64,
    /// `events_local[PIDCG_MAX]`: forks refused by this container's limit (v2's
    /// `pids.events.local`).
    max_local: AtomicI64,
    /// `events[PIDCG_MAX]`: forks refused by this container's or a descendant's limit
    /// (v2's `pids.events`).
    max_tree: AtomicI64,
}

/// The tasks charged to a container (its own and its descendants').
pub fn current(css: Css<'_, Pids>) -> i64 {
    css.state().counter.load(Ordering::Relaxed)
}

/// The container's limit, `None` for `max`.
pub fn limit(css: Css<'_, Pids>) -> Option<u64> {
    let l = css.state().limit.load(Ordering::Relaxed);
    if l >= NO_LIMIT {
        None
    } else {
        u64::try_from(l).ok()
    }
}

/// The levels a charge touches: `css` and its ancestors, the root excluded.
fn levels<'a>(css: Css<'a, Pids>) -> impl Iterator<Item = Css<'a, Pids>> {
    css.ancestors_and_self().take_while(|p| !p.is_root())
}

/// `pids_update_watermark`.
fn update_watermark(p: Css<'_, Pids>, nr: i64) {
    p.state().watermark.fetch_max(nr, Ordering::Relaxed);
}

/// `pids_cancel`: take `num` back from one level.
fn cancel(p: Css<'_, Pids>, num: i64) {
    p.state().counter.fetch_sub(num, Ordering::AcqRel);
}

/// `pids_uncharge`: take `num` back from every level.
fn uncharge(css: Css<'_, Pids>, num: i64) {
    for p in levels(css) {
        cancel(p, num);
    }
}

/// `pids_charge`: add `num` at every level, ignoring limits.
fn charge(css: Css<'_, Pids>, num: i64) {
    for p in levels(css) {
        let new = p
            .state()
            .counter
            .fetch_add(num, Ordering::AcqRel)
            .wrapping_add(num);
        update_watermark(p, new);
    }
}

/// `pids_try_charge`: add `num` at every level unless a level would exceed its limit;
/// then nothing stays charged and the level that refused is returned.
fn try_charge<'a>(css: Css<'a, Pids>, num: i64) -> core::result::Result<(), Css<'a, Pids>> {
    for p in levels(css) {
        let new = p
            .state()
            .counter
            .fetch_add(num, Ordering::AcqRel)
            .wrapping_add(num);
        let limit = p.state().limit.load(Ordering::Relaxed);
        if new > limit {
            // revert: every level below `p`, then `p` itself.
            for q in levels(css) {
                cancel(q, num);
                if q.same(p) {
                    break;
                }
            }
            return Err(p);
        }
        update_watermark(p, new);
    }
    Ok(())
}

/// `pids_event`: the refusal counts in the forking container, and (the v2 view) in
/// the one whose limit was hit and hierarchically from there up to below the root.
fn event(forking: Css<'_, Pids>, over_limit: Css<'_, Pids>) {
    forking.state().forkfail.fetch_add(1, Ordering::Relaxed);
    over_limit.state().max_local.fetch_add(1, Ordering::Relaxed);
    for p in levels(over_limit) {
        p.state().max_tree.fetch_add(1, Ordering::Relaxed);
    }
}

/// The counter `__pids_events_show` prints: on v1 and with `pids_localevents`
/// `events_local[PIDCG_FORKFAIL]`, else `events[PIDCG_MAX]` or (`local`)
/// `events_local[PIDCG_MAX]`.
fn events_shown(ctx: &FileCtxOf<'_, Pids>, local: bool) -> i64 {
    let st = ctx.css().state();
    let counter = if !ctx.on_dfl() || ctx.v2_options().contains(V2Options::PIDS_LOCAL_EVENTS) {
        &st.forkfail
    } else if local {
        &st.max_local
    } else {
        &st.max_tree
    };
    counter.load(Ordering::Relaxed)
}

/// `pids_max_show`.
fn read_max(_: &Pids, ctx: &FileCtxOf<'_, Pids>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", pids_max_display(limit(ctx.css())))
}

/// `pids_max_write`.
fn write_max(_: &Pids, ctx: &FileCtxOf<'_, Pids>, data: &[u8]) -> Result {
    let new = match parse_pids_max(data)? {
        None => NO_LIMIT,
        // parse_pids_max guarantees n < PIDS_MAX, which fits.
        Some(n) => i64::try_from(n).map_err(|_| Error::EINVAL)?,
    };
    // Not serialised against forks, as in Linux: racing forks may see either limit.
    ctx.css().state().limit.store(new, Ordering::Relaxed);
    Ok(())
}

/// `pids_current_read` (`read_s64`).
fn read_current(_: &Pids, ctx: &FileCtxOf<'_, Pids>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", current(ctx.css()))
}

/// `pids_peak_read` (`read_s64`).
fn read_peak(_: &Pids, ctx: &FileCtxOf<'_, Pids>, out: &mut Out<'_>) -> Result {
    writeln!(
        out,
        "{}",
        ctx.css().state().watermark.load(Ordering::Relaxed)
    )
}

/// `pids_events_show`.
fn read_events(_: &Pids, ctx: &FileCtxOf<'_, Pids>, out: &mut Out<'_>) -> Result {
    writeln!(out, "max {}", events_shown(ctx, false))
}

/// `pids_events_local_show`.
fn read_events_local(_: &Pids, ctx: &FileCtxOf<'_, Pids>, out: &mut Out<'_>) -> Result {
    writeln!(out, "max {}", events_shown(ctx, true))
}

/// `CFTYPE_NOT_ON_ROOT` in both `pids_files` and `pids_files_legacy`.
const BOTH_NOT_ON_ROOT: CfFlags = CfFlags::ON_DFL.union(CfFlags::NOT_ON_ROOT);

/// `pids_files` and `pids_files_legacy`, in Linux's order: the legacy four are in both.
static FILES: [CfType<Pids>; 5] = [
    CfType::rw("max", read_max, write_max).with_flags(BOTH_NOT_ON_ROOT),
    CfType::ro("current", read_current).with_flags(BOTH_NOT_ON_ROOT),
    CfType::ro("peak", read_peak).with_flags(BOTH_NOT_ON_ROOT),
    CfType::ro("events", read_events).with_flags(BOTH_NOT_ON_ROOT),
    CfType::ro("events.local", read_events_local)
        .with_flags(CfFlags::ONLY_ON_DFL.union(CfFlags::NOT_ON_ROOT)),
];

impl Subsystem for Pids {
    type State = State;
    const NAME: &'static str = "pids";
    const HOOKS: Hooks = Hooks::FORK.union(Hooks::EXIT);

    fn files(&self) -> &'static [CfType<Self>] {
        &FILES
    }

    /// `pids_css_alloc`: no tasks, no limit.
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(State {
            counter: AtomicI64::new(0),
            limit: AtomicI64::new(NO_LIMIT),
            watermark: AtomicI64::new(0),
            forkfail: AtomicI64::new(0),
            max_local: AtomicI64::new(0),
            max_tree: AtomicI64::new(0),
        })
    }

    /// `pids_can_attach`: move the charge, limits notwithstanding.
    fn can_attach(&self, _task: &TaskInfo, from: Css<'_, Self>, to: Css<'_, Self>) -> Result {
        charge(to, 1);
        uncharge(from, 1);
        Ok(())
    }

    /// `pids_cancel_attach`: move it back.
    fn cancel_attach(&self, _task: &TaskInfo, from: Css<'_, Self>, to: Css<'_, Self>) {
        charge(from, 1);
        uncharge(to, 1);
    }

    /// `pids_can_fork`.
    fn can_fork(&self, _child: &TaskInfo, css: Css<'_, Self>) -> Result {
        try_charge(css, 1).map_err(|over_limit| {
            event(css, over_limit);
            Error::EAGAIN
        })
    }

    /// `pids_cancel_fork`.
    fn cancel_fork(&self, _child: &TaskInfo, css: Css<'_, Self>) {
        uncharge(css, 1);
    }

    /// `pids_release`.
    fn exit(&self, _task: &TaskInfo, css: Css<'_, Self>) {
        uncharge(css, 1);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use std::string::String;
    use std::vec::Vec;

    use gpc_core::testing::{OneHierarchy, TaskList, TestHost};
    use gpc_core::{Creds, Gpc};

    use super::*;

    gpc_core::one_hierarchy_harness!(World);

    impl World {
        fn new() -> World {
            World(OneHierarchy::new(&[&Pids], "pids", 2, 1).unwrap())
        }
    }

    #[test]
    fn transcript_pids_limit() {
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
                "notify_on_release",
                "pids.current",
                "pids.events",
                "pids.max",
                "pids.peak",
                "tasks"
            ]
        );
        assert_eq!(w.read("a/pids.max").unwrap(), "max\n");
        assert_eq!(w.read("a/pids.current").unwrap(), "0\n");
        assert_eq!(w.read("a/pids.events").unwrap(), "max 0\n");
        let a = w.fork(1).unwrap();
        w.move_to("a", a).unwrap();
        assert_eq!(w.read("a/pids.current").unwrap(), "1\n");
        w.write("a/pids.max", b"1\n").unwrap();
        assert_eq!(w.fork(a), Err(Error::EAGAIN));
        assert_eq!(w.thread(a), Err(Error::EAGAIN));
        assert_eq!(w.read("a/pids.events").unwrap(), "max 2\n");
        w.write("a/pids.max", b"2\n").unwrap();
        let t = w.thread(a).unwrap();
        assert_eq!(w.read("a/pids.current").unwrap(), "2\n");
        assert_eq!(w.fork(a), Err(Error::EAGAIN));
        assert_eq!(w.fork(t), Err(Error::EAGAIN));
        assert_eq!(w.read("a/pids.events").unwrap(), "max 4\n");
        w.write("a/pids.max", b"max\n").unwrap();
        let b = w.fork(t).unwrap();
        assert_eq!(w.read("a/pids.current").unwrap(), "3\n");
        assert_eq!(w.read("a/tasks").unwrap(), std::format!("{a}\n{t}\n{b}\n"));
        assert_eq!(w.read("a/pids.peak").unwrap(), "3\n");
        w.exit(b).unwrap();
        assert_eq!(w.read("a/pids.current").unwrap(), "2\n");
        assert_eq!(w.read("a/pids.peak").unwrap(), "3\n");
    }

    #[test]
    fn max_parsing_and_hostile_values() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        let f = "a/pids.max";
        for (input, shown) in [
            (&b"0\n"[..], "0\n"),
            (b" 7 \n", "7\n"),
            (b"0x10", "16\n"),
            (b"010", "8\n"),
            (b"+5", "5\n"),
            (b"4194304", "4194304\n"),
            (b"\tmax\n", "max\n"),
            (b"9\0junk", "9\n"),
        ] {
            w.write(f, input).unwrap();
            assert_eq!(w.read(f).unwrap(), shown, "{input:?}");
        }
        for bad in [
            &b"4194305"[..],
            b"-1",
            b"Max",
            b"max x",
            b"\n",
            b"   ",
            b"1 2",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"0x",
            b"abc",
            b"\0",
        ] {
            assert_eq!(w.write(f, bad), Err(Error::EINVAL), "{bad:?}");
        }
        assert_eq!(w.write(f, b"99999999999999999999"), Err(Error::ERANGE));
        assert_eq!(w.write(f, b"-99999999999999999999"), Err(Error::ERANGE));
        assert_eq!(w.read(f).unwrap(), "9\n", "failed writes change nothing");
        for ro in ["a/pids.current", "a/pids.peak", "a/pids.events"] {
            assert_eq!(w.write(ro, b"1\n"), Err(Error::EINVAL), "{ro}");
        }
        assert_eq!(w.read("pids.max"), Err(Error::ENOENT), "not on root");
        assert_eq!(w.write("pids.max", b"1"), Err(Error::ENOENT));
    }

    #[test]
    fn hierarchical_limits_and_events_in_the_forking_group() {
        let mut w = World::new();
        w.gpc.mkdir(w.h, "p").unwrap();
        w.gpc.mkdir(w.h, "p/c").unwrap();
        w.write("p/pids.max", b"2").unwrap();
        let x = w.fork(1).unwrap();
        w.move_to("p/c", x).unwrap();
        let y = w.fork(x).unwrap();
        assert_eq!(w.read("p/pids.current").unwrap(), "2\n");
        assert_eq!(w.read("p/c/pids.current").unwrap(), "2\n");
        assert_eq!(w.fork(y), Err(Error::EAGAIN), "the parent's limit applies");
        assert_eq!(
            w.read("p/c/pids.events").unwrap(),
            "max 1\n",
            "counted where the fork was"
        );
        assert_eq!(w.read("p/pids.events").unwrap(), "max 0\n");
        assert_eq!(
            w.read("p/c/pids.current").unwrap(),
            "2\n",
            "the failed charge was undone"
        );
        assert_eq!(
            w.read("p/c/pids.peak").unwrap(),
            "3\n",
            "Linux keeps the raised watermark below the failing level"
        );
        assert_eq!(w.read("p/pids.peak").unwrap(), "2\n");
        // Attach moves the charge and ignores limits.
        let z = w.fork(1).unwrap();
        w.move_to("p", z).unwrap();
        assert_eq!(w.read("p/pids.current").unwrap(), "3\n");
        assert_eq!(w.read("p/pids.peak").unwrap(), "3\n");
        w.move_to("", x).unwrap();
        assert_eq!(w.read("p/c/pids.current").unwrap(), "1\n");
        assert_eq!(w.read("p/pids.current").unwrap(), "2\n");
        // Moving within the subtree keeps the parent's count.
        w.move_to("p/c", z).unwrap();
        assert_eq!(w.read("p/pids.current").unwrap(), "2\n");
        assert_eq!(w.read("p/c/pids.current").unwrap(), "2\n");
        // Limit 0: nothing forks below it; a task outside the subtree is not limited.
        w.write("p/c/pids.max", b"0").unwrap();
        assert_eq!(w.thread(z), Err(Error::EAGAIN));
        let free = w.fork(x).unwrap();
        w.exit(free).unwrap();
        // Exits uncharge everything.
        w.exit(y).unwrap();
        w.exit(z).unwrap();
        assert_eq!(w.read("p/pids.current").unwrap(), "0\n");
        assert_eq!(w.read("p/c/pids.current").unwrap(), "0\n");
        w.gpc.rmdir(w.h, "p/c").unwrap();
    }

    /// The unified hierarchy, mounted with `options`, pids enabled below the root.
    fn v2(options: &str) -> World {
        let gpc = Gpc::new(TestHost::new(2, 1), &[&Pids]).unwrap();
        let mut tasks = TaskList::new();
        tasks.add_init(&gpc).unwrap();
        let h = gpc
            .mount_v2(options, &tasks.caller(Creds::ROOT, None))
            .unwrap();
        let w = World(OneHierarchy { tasks, gpc, h });
        w.write("cgroup.subtree_control", b"+pids").unwrap();
        w
    }

    fn events(w: &World, dir: &str) -> (String, String) {
        (
            w.read(&std::format!("{dir}/pids.events")).unwrap(),
            w.read(&std::format!("{dir}/pids.events.local")).unwrap(),
        )
    }

    fn ev(total: u32, local: u32) -> (String, String) {
        (std::format!("max {total}\n"), std::format!("max {local}\n"))
    }

    #[test]
    fn v2_files() {
        let w = v2("");
        w.gpc.mkdir(w.h, "a").unwrap();
        let pids = |dir: &str| -> Vec<String> {
            w.ls(dir)
                .into_iter()
                .filter(|n| n.starts_with("pids."))
                .collect()
        };
        assert!(pids("").is_empty(), "all CFTYPE_NOT_ON_ROOT");
        assert_eq!(
            pids("a"),
            [
                "pids.current",
                "pids.events",
                "pids.events.local",
                "pids.max",
                "pids.peak"
            ]
        );
        assert_eq!(w.read("a/pids.max").unwrap(), "max\n");
        assert_eq!(events(&w, "a"), ev(0, 0));
        w.write("a/pids.max", b" 3\n").unwrap();
        assert_eq!(w.read("a/pids.max").unwrap(), "3\n");
        assert_eq!(w.write("a/pids.max", b"-1"), Err(Error::EINVAL));
        assert_eq!(w.write("a/pids.max", b"4194305"), Err(Error::EINVAL));
        assert_eq!(
            w.write("a/pids.max", b"99999999999999999999"),
            Err(Error::ERANGE)
        );
        assert_eq!(w.write("a/pids.events.local", b"1"), Err(Error::EINVAL));
        assert_eq!(w.read("a/pids.max").unwrap(), "3\n");
    }

    #[test]
    fn v2_events_count_where_the_limit_was_hit_and_up() {
        let mut w = v2("");
        w.gpc.mkdir(w.h, "p").unwrap();
        w.write("p/cgroup.subtree_control", b"+pids").unwrap();
        w.gpc.mkdir(w.h, "p/c").unwrap();
        w.write("p/c/cgroup.subtree_control", b"+pids").unwrap();
        w.gpc.mkdir(w.h, "p/c/g").unwrap();
        w.write("p/pids.max", b"2").unwrap();
        let x = w.fork(1).unwrap();
        w.move_to("p/c/g", x).unwrap();
        w.fork(x).unwrap();
        // p's limit refuses a fork in g: p counts it, in both files; c and g do not.
        assert_eq!(w.fork(x), Err(Error::EAGAIN));
        assert_eq!(events(&w, "p"), ev(1, 1));
        assert_eq!(events(&w, "p/c"), ev(0, 0));
        assert_eq!(events(&w, "p/c/g"), ev(0, 0));
        // c's own limit: c's local count, and the hierarchical one of c and p.
        w.write("p/pids.max", b"max").unwrap();
        w.write("p/c/pids.max", b"2").unwrap();
        assert_eq!(w.thread(x), Err(Error::EAGAIN));
        assert_eq!(events(&w, "p"), ev(2, 1));
        assert_eq!(events(&w, "p/c"), ev(1, 1));
        assert_eq!(events(&w, "p/c/g"), ev(0, 0));
    }

    #[test]
    fn v2_pids_localevents_counts_the_forking_group() {
        let mut w = v2("pids_localevents");
        w.gpc.mkdir(w.h, "p").unwrap();
        w.write("p/cgroup.subtree_control", b"+pids").unwrap();
        w.gpc.mkdir(w.h, "p/c").unwrap();
        w.write("p/pids.max", b"1").unwrap();
        let x = w.fork(1).unwrap();
        w.move_to("p/c", x).unwrap();
        assert_eq!(w.fork(x), Err(Error::EAGAIN));
        assert_eq!(w.fork(x), Err(Error::EAGAIN));
        // As on v1: the forking group, in both files.
        assert_eq!(events(&w, "p/c"), ev(2, 2));
        assert_eq!(events(&w, "p"), ev(0, 0));
    }

    #[test]
    fn exit_group_uncharges_every_thread() {
        let mut w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        let a = w.fork(1).unwrap();
        w.move_to("a", a).unwrap();
        for _ in 0..5 {
            w.thread(a).unwrap();
        }
        assert_eq!(w.read("a/pids.current").unwrap(), "6\n");
        w.exit(a).unwrap();
        assert_eq!(w.read("a/pids.current").unwrap(), "0\n");
        assert_eq!(w.read("a/pids.peak").unwrap(), "6\n");
    }
}
