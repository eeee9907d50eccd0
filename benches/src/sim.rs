//! The simulator's resident memory with a million tasks (`sim_rss_1m_tasks`): gpc-sim's
//! [`SimMachine`] (gpc-machine on the std platform, the machine the `gpc` command runs
//! scripts on), driven through gpc-script's [`Machine`] trait as a script would drive it.
//!
//! `bench-report` measures it in a child process of its own ([`sim_memory_in_child`]), so
//! that the resident memory is the simulator's alone: the child builds an empty machine,
//! raises `pid_max` to Linux's `PID_MAX_LIMIT`, mounts the three hierarchies of
//! [`SIM_MOUNTS`] (every controller but `ns`, as the bench world mounts them), makes the
//! containers (the same name in each hierarchy, `cpuset.cpus` and `cpuset.mems` set so
//! that tasks may enter), then spawns the tasks and writes each one's pid to its
//! container's `tasks` file in every hierarchy: as many tasks in each container.
//!
//! [`sim_task_figures`] times the simulator's task table: spawn+exit and a `cgroup.procs`
//! move among a thousand and a million tasks (`sim_spawn_exit_1m_vs_1k`,
//! `sim_procs_move_1m_vs_1k`: 1 when neither depends on the number of tasks).

use std::cell::RefCell;
use std::process::Command;
use std::time::Instant;

use gpc_core::Pid;
use gpc_script::Machine;
use gpc_sim::tasks::PID_MAX_LIMIT;
use gpc_sim::SimMachine;

use crate::alloc::live_bytes;
use crate::report::{vm_rss_kib, Figure};
use crate::timing::{measure_rounds, median, ratio_median, Run, Timing};
use crate::{BenchError, Ctx};

/// The hierarchies the simulator mounts (at `/cg0`, `/cg1`, `/cg2`): every controller of
/// gpc-subsystems but `ns` (whose mount would make a container per `unshare`).
pub const SIM_MOUNTS: [&str; 3] = [
    "cpuset,cpu,cpuacct",
    "memory,devices,freezer",
    "net_cls,pids,debug",
];

/// The argument that makes `bench-report` print [`sim_memory_figures`] and exit.
pub const SIM_MEM_CHILD_ARG: &str = "--sim-mem-child";

fn fig(name: &str, value: f64, unit: &'static str) -> Figure {
    Figure {
        name: name.to_string(),
        value,
        unit,
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The simulator's memory figures, measured in this process (see the module doc):
///
/// - `sim_rss_empty_machine`: resident memory with the empty machine made (the process:
///   code, libc, the machine with init and every controller registered), in MiB;
/// - `sim_rss_1m_tasks`: **the figure**, the whole process's resident memory with
///   `tasks` tasks in `containers` containers of each hierarchy, in MiB;
/// - `sim_rss_growth`: the same less the empty machine's;
/// - `sim_rss_bytes_per_task`: resident growth while the tasks were made and placed,
///   over the tasks; `sim_heap_bytes_per_task`: the same in live heap bytes (counting
///   allocator; absent without it);
/// - `sim_populate_s`: the time to spawn and place them; `sim_teardown_s`: to drop the
///   machine.
///
/// # Errors
///
/// Any machine error, or a container that does not hold its tasks after.
pub fn sim_memory_figures(tasks: usize, containers: usize) -> Result<Vec<Figure>, BenchError> {
    let containers = containers.max(1);
    if tasks >= PID_MAX_LIMIT as usize - 300 {
        return Err(BenchError::new(format_args!(
            "{tasks} tasks do not fit under pid_max {PID_MAX_LIMIT}"
        )));
    }
    let mut m = SimMachine::new().ctx("machine")?;
    m.set_pid_max(PID_MAX_LIMIT).ctx("pid_max")?;
    let rss0 = vm_rss_kib()?;
    for (i, opts) in SIM_MOUNTS.iter().enumerate() {
        m.mount("cgroup", opts, "cgroup", &format!("/cg{i}"))
            .ctx(format_args!("mount {opts}"))?;
    }
    let cpus = format!("0-{}", m.nr_cpus().saturating_sub(1));
    let mems = format!("0-{}", m.nr_mems().saturating_sub(1));
    // The `tasks` file of container `c` in each hierarchy.
    let mut paths: Vec<[String; 3]> = Vec::with_capacity(containers);
    for c in 0..containers {
        let p: [String; 3] = core::array::from_fn(|i| format!("/cg{i}/c{c}"));
        for dir in &p {
            m.mkdir(dir, false).ctx(format_args!("mkdir {dir}"))?;
        }
        m.write(&format!("{}/cpuset.cpus", p[0]), cpus.as_bytes())
            .ctx("cpuset.cpus")?;
        m.write(&format!("{}/cpuset.mems", p[0]), mems.as_bytes())
            .ctx("cpuset.mems")?;
        paths.push(p.map(|d| d + "/tasks"));
    }
    let rss1 = vm_rss_kib()?;
    let live1 = live_bytes();
    let t0 = Instant::now();
    let (per, extra) = (tasks / containers, tasks % containers);
    let mut last: Pid = 0;
    for (c, files) in paths.iter().enumerate() {
        for _ in 0..per + usize::from(c < extra) {
            let pid = m.spawn().ctx("spawn")?;
            let text = pid.to_string();
            for f in files {
                m.write(f, text.as_bytes())
                    .ctx(format_args!("write {pid} to {f}"))?;
            }
            last = pid;
        }
    }
    let populate = t0.elapsed().as_secs_f64();
    let rss2 = vm_rss_kib()?;
    let live2 = live_bytes();
    // Every task is where it was put: the last container's tasks in each hierarchy, and
    // the last task's /proc/PID/cgroup.
    let n_last = per + usize::from(containers - 1 < extra);
    if let Some(files) = paths.last() {
        for f in files {
            let got = m.read(f).ctx(format_args!("read {f}"))?;
            let lines = got.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
            if lines != n_last {
                return Err(BenchError::new(format_args!(
                    "{f} lists {lines} tasks, not {n_last}"
                )));
            }
        }
    }
    let cg = m
        .read(&format!("/proc/{last}/cgroup"))
        .ctx("/proc/PID/cgroup")?;
    let want = format!(":/c{}", containers - 1);
    let placed = String::from_utf8_lossy(&cg)
        .lines()
        .filter(|l| l.ends_with(&want))
        .count();
    if placed != SIM_MOUNTS.len() {
        return Err(BenchError::new(format_args!(
            "task {last} is not in c{} everywhere: {}",
            containers - 1,
            String::from_utf8_lossy(&cg)
        )));
    }
    let made = tasks.max(1) as f64;
    let mut v = vec![
        fig("sim_tasks", tasks as f64, "count"),
        fig("sim_containers", containers as f64, "count"),
        fig("sim_pid_max", f64::from(m.pid_max()), "count"),
        fig("sim_populate_s", populate, "s"),
        fig("sim_rss_empty_machine", mib(rss0), "MiB"),
        fig("sim_rss_1m_tasks", mib(rss2), "MiB"),
        fig("sim_rss_growth", mib(rss2.saturating_sub(rss0)), "MiB"),
        fig(
            "sim_rss_bytes_per_task",
            rss2.saturating_sub(rss1) as f64 * 1024.0 / made,
            "bytes",
        ),
    ];
    if let (Some(l1), Some(l2)) = (live1, live2) {
        v.push(fig(
            "sim_heap_bytes_per_task",
            l2.saturating_sub(l1) as f64 / made,
            "bytes",
        ));
    }
    let t1 = Instant::now();
    drop(m);
    v.push(fig("sim_teardown_s", t1.elapsed().as_secs_f64(), "s"));
    Ok(v)
}

/// [`sim_memory_figures`] in a fresh process (this executable with
/// [`SIM_MEM_CHILD_ARG`]), so that the resident memory is the simulator's alone.
///
/// # Errors
///
/// If the child cannot run or fails.
pub fn sim_memory_in_child(tasks: usize, containers: usize) -> Result<Vec<Figure>, BenchError> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe)
        .arg(SIM_MEM_CHILD_ARG)
        .arg(tasks.to_string())
        .arg(containers.to_string())
        .output()?;
    if !out.status.success() {
        return Err(BenchError::new(format_args!(
            "simulator memory child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(Figure::parse)
        .collect())
}

/// A machine with `tasks` idle tasks besides init, a `cpu,cpuacct` hierarchy at `/c` with
/// containers `a` and `b`, and a process of four threads (returned) to move between them.
fn task_table_machine(tasks: usize) -> Result<(SimMachine, Pid), BenchError> {
    let mut m = SimMachine::new().ctx("machine")?;
    m.set_pid_max(PID_MAX_LIMIT).ctx("pid_max")?;
    m.mount("cgroup", "cpu,cpuacct", "cgroup", "/c")
        .ctx("mount")?;
    for d in ["/c/a", "/c/b"] {
        m.mkdir(d, false).ctx(format_args!("mkdir {d}"))?;
    }
    for _ in 0..tasks {
        let pid = m.spawn().ctx("spawn")?;
        m.set_busy(pid, false).ctx("idle")?;
    }
    let mover = m.spawn().ctx("spawn")?;
    for _ in 0..3 {
        m.thread(mover).ctx("thread")?;
    }
    Ok((m, mover))
}

/// The simulator's task table at each number of tasks in `sizes` (smallest and largest
/// compared), timed in interleaved rounds ([`measure_rounds`]):
///
/// - `sim_spawn_exit_tN_ns`: a `spawn` and the new task's `exit`;
/// - `sim_procs_move_tN_ns`: a process of four threads moved by a write of its pid to
///   `cgroup.procs` (between two containers, there and back);
/// - `sim_spawn_exit_1m_vs_1k`, `sim_procs_move_1m_vs_1k`: largest over smallest, the
///   median of the per-round ratios (the names are the full report's sizes);
/// - `sim_task_setup_tN_s`: the time to spawn the tasks.
///
/// # Errors
///
/// Any machine error.
pub fn sim_task_figures(t: &Timing, sizes: &[usize]) -> Result<Vec<Figure>, BenchError> {
    let mut v = Vec::new();
    let mut machines = Vec::new();
    for &n in sizes {
        let t0 = Instant::now();
        let (m, mover) = task_table_machine(n)?;
        v.push(fig(
            &format!("sim_task_setup_t{n}_s"),
            t0.elapsed().as_secs_f64(),
            "s",
        ));
        machines.push((n, RefCell::new(m), mover.to_string()));
    }
    let mut runs: Vec<Box<Run<'_>>> = Vec::new();
    for (_, m, mover) in &machines {
        runs.push(Box::new(move |k: u64| {
            let mut m = m.borrow_mut();
            let start = Instant::now();
            for _ in 0..k {
                let pid = m.spawn().ctx("spawn")?;
                m.exit(pid).ctx("exit")?;
            }
            Ok(start.elapsed())
        }));
        runs.push(Box::new(move |k: u64| {
            let mut m = m.borrow_mut();
            let start = Instant::now();
            for i in 0..k {
                let to = if i % 2 == 0 {
                    "/c/a/cgroup.procs"
                } else {
                    "/c/b/cgroup.procs"
                };
                m.write(to, mover.as_bytes()).ctx("cgroup.procs")?;
            }
            Ok(start.elapsed())
        }));
    }
    let mut refs: Vec<&mut Run<'_>> = runs.iter_mut().map(|b| &mut **b).collect();
    let r = measure_rounds(t, &mut refs)?;
    drop(refs);
    drop(runs);
    for ((n, _, _), pair) in machines.iter().zip(r.chunks(2)) {
        if let [se, mv] = pair {
            v.push(fig(
                &format!("sim_spawn_exit_t{n}_ns"),
                median(&mut se.clone()),
                "ns",
            ));
            v.push(fig(
                &format!("sim_procs_move_t{n}_ns"),
                median(&mut mv.clone()),
                "ns",
            ));
        }
    }
    let last = r.len().saturating_sub(2);
    if let (Some(se_lo), Some(mv_lo), Some(se_hi), Some(mv_hi)) =
        (r.first(), r.get(1), r.get(last), r.get(last + 1))
    {
        v.push(fig(
            "sim_spawn_exit_1m_vs_1k",
            ratio_median(se_hi, se_lo),
            "ratio",
        ));
        v.push(fig(
            "sim_procs_move_1m_vs_1k",
            ratio_median(mv_hi, mv_lo),
            "ratio",
        ));
    }
    Ok(v)
}
