//! The simulator's costs grow linearly with the input (issue 10, items 8 and 9).
//!
//! Each test times the same work at two sizes in the same run and asserts a ratio, never
//! an absolute time: 10x the input may cost at most 12x the time (linear, with room for
//! cache effects), and an operation whose cost must not depend on a size (spawn+exit,
//! a `cgroup.procs` move) may cost at most 2x at 10x the size (before the fix: 20x and
//! more). Each figure is the fastest of a few repetitions, so that a busy machine makes a
//! test slower, not red. Sizes keep a debug `cargo test -p gpc-sim --test scaling` within
//! a few seconds; `-- --nocapture` prints the figures.
//!
//! - `mkdir -p` of N levels resolves the path once and makes each level from the node of
//!   the one above (it used to resolve every prefix from `/`: O(N^3));
//! - `rmdir` of a plain directory unlinks it from its parent by name (it used to scan the
//!   siblings: O(siblings) each);
//! - `unshare` makes the child of the task's container from the container itself (it used
//!   to build the container's path and resolve it twice, and walk the populated counts
//!   to the root: O(depth) each, and each unshare nests one level deeper);
//! - the task table indexes pids and thread groups (exit and thread-group lookups used to
//!   scan every task).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "a test"
)]

use std::time::{Duration, Instant};

use gpc_script::Machine;
use gpc_sim::tasks::PID_MAX_LIMIT;
use gpc_sim::SimMachine;

/// Repetitions of each measurement (the fastest counts).
const REPS: usize = 3;

/// The fastest of [`REPS`] runs of `setup` then `work` (only `work` timed).
fn fastest<S>(mut setup: impl FnMut() -> S, mut work: impl FnMut(&mut S)) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..REPS {
        let mut s = setup();
        let t = Instant::now();
        work(&mut s);
        best = best.min(t.elapsed());
        drop(s);
    }
    best
}

fn ratio(small: Duration, large: Duration) -> f64 {
    large.as_secs_f64() / small.as_secs_f64().max(1e-9)
}

/// `large` (10x the input of `small`) costs at most `max` times as much.
fn assert_ratio(what: &str, small: Duration, large: Duration, max: f64) {
    let r = ratio(small, large);
    println!("{what}: {small:?} -> {large:?} ({r:.2}x)");
    assert!(r <= max, "{what}: {r:.2}x the time (at most {max}x)");
}

/// The path of `levels` nested directories `a` under `root`.
fn deep_path(root: &str, levels: usize) -> String {
    let mut p = String::from(root);
    for _ in 0..levels {
        p.push_str("/a");
    }
    p
}

fn mkdir_p(root: &str, mount: Option<&str>, levels: usize) -> Duration {
    let path = deep_path(root, levels);
    fastest(
        || {
            let mut m = SimMachine::new().unwrap();
            if let Some(opts) = mount {
                m.mount("cgroup", opts, "x", root).unwrap();
            }
            m
        },
        |m| {
            m.mkdir(&path, true).unwrap();
            // The deepest level exists and a second `mkdir -p` is fine.
            m.mkdir(&path, true).unwrap();
        },
    )
}

#[test]
fn mkdir_p_is_linear_in_the_depth() {
    // 2,000 levels of `/a` is a 4,000-byte path, just under PATH_MAX.
    let (small, large) = (mkdir_p("/d", None, 200), mkdir_p("/d", None, 2_000));
    assert_ratio("mkdir -p plain 200 -> 2000 levels", small, large, 12.0);
    let (small, large) = (
        mkdir_p("/cg", Some("cpu,cpuacct"), 200),
        mkdir_p("/cg", Some("cpu,cpuacct"), 2_000),
    );
    assert_ratio("mkdir -p cgroup 200 -> 2000 levels", small, large, 12.0);
}

/// rmdir every one of `n` sibling directories (in a plain directory, or in a cgroup).
fn rmdir_all(root: &str, mount: Option<&str>, n: usize) -> Duration {
    let names: Vec<String> = (0..n).map(|i| format!("{root}/d{i}")).collect();
    fastest(
        || {
            let mut m = SimMachine::new().unwrap();
            if let Some(opts) = mount {
                m.mount("cgroup", opts, "x", root).unwrap();
            } else {
                m.mkdir(root, false).unwrap();
            }
            for p in &names {
                m.mkdir(p, false).unwrap();
            }
            m
        },
        |m| {
            // Every other one first, then the rest: not only the newest.
            for p in names.iter().step_by(2).chain(names.iter().skip(1).step_by(2)) {
                m.rmdir(p).unwrap();
            }
        },
    )
}

#[test]
fn rmdir_is_linear_in_the_siblings() {
    let (small, large) = (rmdir_all("/d", None, 1_000), rmdir_all("/d", None, 10_000));
    assert_ratio("rmdir plain 1000 -> 10000 siblings", small, large, 12.0);
    let (small, large) = (
        rmdir_all("/cg", Some("none,name=x"), 1_000),
        rmdir_all("/cg", Some("none,name=x"), 10_000),
    );
    assert_ratio("rmdir cgroup 1000 -> 10000 siblings", small, large, 12.0);
}

/// `unshare` one task `n` times with `ns` mounted: each nests it one level deeper.
fn unshares(n: usize) -> Duration {
    fastest(
        || {
            let mut m = SimMachine::new().unwrap();
            m.mount("cgroup", "ns", "x", "/ns").unwrap();
            let t = m.spawn().unwrap();
            (m, t)
        },
        |(m, t)| {
            for _ in 0..n {
                m.unshare(*t).unwrap();
            }
        },
    )
}

#[test]
fn unshare_is_linear_in_the_count() {
    let (small, large) = (unshares(300), unshares(3_000));
    assert_ratio("300 -> 3000 unshares", small, large, 12.0);
}

/// A machine with `tasks` idle tasks besides init, in one container of a cpu,cpuacct
/// hierarchy and of a memory,pids one.
fn populated(tasks: usize) -> SimMachine {
    let mut m = SimMachine::new().unwrap();
    m.set_pid_max(PID_MAX_LIMIT).unwrap();
    m.mount("cgroup", "cpu,cpuacct", "x", "/c").unwrap();
    m.mount("cgroup", "memory,pids", "x", "/m").unwrap();
    for d in ["/c/a", "/c/b", "/m/a"] {
        m.mkdir(d, false).unwrap();
    }
    for _ in 0..tasks {
        let pid = m.spawn().unwrap().to_string();
        m.set_busy(pid.parse().unwrap(), false).unwrap();
        m.write("/m/a/cgroup.procs", pid.as_bytes()).unwrap();
    }
    m
}

/// `OPS` spawn+exit pairs on a machine with `tasks` other tasks.
fn spawn_exit(tasks: usize) -> Duration {
    const OPS: usize = 2_000;
    let mut m = populated(tasks);
    let mut best = Duration::MAX;
    for _ in 0..REPS {
        let t = Instant::now();
        for _ in 0..OPS {
            let pid = m.spawn().unwrap();
            m.exit(pid).unwrap();
        }
        best = best.min(t.elapsed());
    }
    best
}

/// `OPS` `cgroup.procs` moves of a process with 4 threads on a machine with `tasks`
/// other tasks.
fn procs_moves(tasks: usize) -> Duration {
    const OPS: usize = 1_000;
    let mut m = populated(tasks);
    let p = m.spawn().unwrap();
    for _ in 0..3 {
        m.thread(p).unwrap();
    }
    let pid = p.to_string();
    let mut best = Duration::MAX;
    for _ in 0..REPS {
        let t = Instant::now();
        for i in 0..OPS {
            let to = if i % 2 == 0 { "/c/a" } else { "/c/b" };
            m.write(&format!("{to}/cgroup.procs"), pid.as_bytes())
                .unwrap();
        }
        best = best.min(t.elapsed());
    }
    let tasks_in_a = String::from_utf8(m.read("/c/b/tasks").unwrap()).unwrap();
    assert_eq!(tasks_in_a.lines().count(), 4, "the whole process moved");
    best
}

#[test]
fn spawn_exit_and_procs_move_do_not_depend_on_the_task_count() {
    let (small, large) = (spawn_exit(1_000), spawn_exit(10_000));
    assert_ratio("spawn+exit at 1000 -> 10000 tasks", small, large, 2.0);
    let (small, large) = (procs_moves(1_000), procs_moves(10_000));
    assert_ratio("procs move at 1000 -> 10000 tasks", small, large, 2.0);
}
