//! Every figure of `bench-report`: hand-rolled timing loops (warm-up, median of
//! batches), in the full configuration (under two minutes on two cores) or a tiny one
//! (a test runs it in well under a second; its figures mean nothing, their names are
//! the same).

use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gpc_core::host::lock::Lock;

/// The baseline spinlock: gpc-core's portable one, called directly.
type SpinLock<T> = Lock<T, gpc_core::host::lock::RawSpin>;
use gpc_core::host::task::NoTasks;
use gpc_core::testing::{Task as TestTask, TestHost};
use gpc_core::{Caller, Creds, Gpc, Pid, TaskRef, TaskSlot};

use crate::alloc::live_bytes;
use crate::baseline::{
    arc_clone_drop, spin_lock_unlock, two_loads_chain, Chain, HashLookup, TwoLoads,
};
use crate::host::{nproc, rcu};
use crate::lattice::{lattice, lattice_n};
use crate::sim::{sim_memory_figures, sim_memory_in_child, sim_task_figures};
use crate::tasks::BenchTask;
use crate::threads::{fork_exit_threads, threads_world, PrivateArcs};
use crate::timing::{
    measure, measure_rounds, median, ratio_median, timed, timed_plain, Run, Timing,
};
use crate::world::{
    controllers, fork_exit, fork_world, Child, Controllers, FlatWorld, GroupsWorld, SpreadWorld,
    World, MOUNTS, WORK_HIER,
};
use crate::{BenchError, Ctx};

/// One line of the report: `NAME VALUE UNIT`.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// The figure's name (no spaces).
    pub name: String,
    /// Its value.
    pub value: f64,
    /// Its unit (`ns`, `ratio`, `percent`, `bytes`, `MiB`, ...).
    pub unit: &'static str,
}

impl Figure {
    /// Parse a `NAME VALUE UNIT` line (units are matched against the known ones).
    pub fn parse(line: &str) -> Option<Figure> {
        let mut it = line.split_whitespace();
        let (name, value, unit) = (it.next()?, it.next()?, it.next()?);
        let unit = UNITS.iter().copied().find(|u| *u == unit)?;
        Some(Figure {
            name: name.to_string(),
            value: value.parse().ok()?,
            unit,
        })
    }
}

/// Every unit the report uses.
pub const UNITS: [&str; 10] = [
    "ns", "us", "ms", "s", "ratio", "percent", "bytes", "MiB", "count", "Mops/s",
];

impl core::fmt::Display for Figure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let v = self.value;
        let a = v.abs();
        if a >= 1000.0 || (a == a.trunc() && a < 1e15) {
            write!(f, "{} {:.0} {}", self.name, v, self.unit)
        } else if a >= 100.0 {
            write!(f, "{} {:.1} {}", self.name, v, self.unit)
        } else if a >= 1.0 {
            write!(f, "{} {:.2} {}", self.name, v, self.unit)
        } else {
            write!(f, "{} {:.4} {}", self.name, v, self.unit)
        }
    }
}

/// The figures the issue names, which every configuration prints.
pub const NAMED: [&str; 10] = [
    "fork_exit_vs_arc",
    "lookup_vs_two_loads",
    "attach_existing_100k_vs_10",
    "attach_new_100k_vs_10",
    "mkdir_rmdir_100k_vs_10",
    "find_or_create_1m_vs_10",
    "fork_exit_2thread_scaling",
    "hooks_share_of_pthread_create",
    "bytes_per_task",
    "sim_rss_1m_tasks",
];

/// A part of the report, for `--only`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// Baselines, fork+exit, lookup, the pthread anchor (`hot`).
    Hot,
    /// Two threads forking and exiting (`threads`).
    Threads,
    /// Attach and mkdir+rmdir against the number of containers (`containers`).
    Containers,
    /// css_group find-or-create against the number of css_groups (`groups`).
    Groups,
    /// Reading `tasks` and `/proc/PID/cgroup` (`reads`).
    Reads,
    /// Memory per task, and resident memory of a million tasks on the bench table and in
    /// the simulator (`memory`).
    Memory,
    /// The simulator's task table: spawn+exit and a `cgroup.procs` move among a thousand
    /// and a million tasks (`simtasks`).
    SimTasks,
    /// The lattice of lists: reading `tasks` against the machine's size and per member,
    /// freeing one of a million css_groups of a container (`lattice`, see
    /// [`crate::lattice`]).
    Lattice,
    /// The unified hierarchy: enabling a controller against the tasks below, a move
    /// against the groups (`v2`, see [`crate::v2`]).
    V2,
    /// The memory controller: the charge fast path against an atomic pair, reclaim per
    /// page against a charge, in gpc's policy alone and in the simulated machine
    /// (`memcg`, see [`crate::memcg`]).
    Memcg,
}

impl Section {
    /// Every section, with its name.
    pub const ALL: [(Section, &'static str); 10] = [
        (Section::Hot, "hot"),
        (Section::Threads, "threads"),
        (Section::Containers, "containers"),
        (Section::Groups, "groups"),
        (Section::Reads, "reads"),
        (Section::Memory, "memory"),
        (Section::SimTasks, "simtasks"),
        (Section::Lattice, "lattice"),
        (Section::V2, "v2"),
        (Section::Memcg, "memcg"),
    ];

    /// The section called `name`.
    pub fn from_name(name: &str) -> Option<Section> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(s, _)| *s)
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Run only these sections (`None`: all).
    pub only: Option<Vec<Section>>,
    /// Timing of each single-thread figure.
    pub timing: Timing,
    /// Containers in the attach and mkdir hierarchy (smallest and largest are compared).
    pub containers: Vec<usize>,
    /// Tasks living in each container of an attach-into-existing pair.
    pub residents: Vec<usize>,
    /// Live css_groups for find-or-create (smallest and largest are compared).
    pub css_groups: Vec<usize>,
    /// Tasks in the container whose `tasks` file is read.
    pub read_tasks: usize,
    /// Tasks of the memory figures.
    pub mem_tasks: usize,
    /// Containers (per hierarchy) of the memory figures.
    pub mem_containers: usize,
    /// Measure memory in a child process (this executable run with `--mem-child`).
    pub mem_in_child: bool,
    /// Tasks on the simulator for its task-table figures (smallest and largest compared).
    pub sim_tasks: Vec<usize>,
    /// Single `pthread_create`+`pthread_join` calls timed one by one (fast decile).
    pub pthread_singles: usize,
    /// The big size of the lattice section (tasks on the big machine, css_groups linked
    /// to one container); [`crate::lattice::LATTICE_N_VAR`] overrides it.
    pub lattice_n: usize,
    /// Rounds of the thread-scaling figures (1 and 2 threads each; medians).
    pub thread_rounds: usize,
    /// Length of one thread-scaling run.
    pub thread_run: Duration,
    /// Groups (one css_group each) below the root of the v2 enable figure.
    pub v2_groups: usize,
    /// Sibling groups of the v2 move figure (few, many).
    pub v2_move_groups: (usize, usize),
    /// Pages a group holds for the reclaim-policy figure (the `memcg` section).
    pub memcg_fake_pages: u64,
    /// The simulated machine's reclaim figures: files read, and pages of each; the
    /// second layout has one page per file (a run per page, the per-page worst case).
    pub memcg_sim_files: [(usize, u64); 2],
}

impl Config {
    /// The report: the sizes.
    pub fn full() -> Config {
        Config {
            only: None,
            timing: Timing::REPORT,
            containers: vec![10, 10_000, 100_000],
            residents: vec![1, 10_000],
            css_groups: vec![10, 10_000, 1_000_000],
            read_tasks: 10_000,
            mem_tasks: 1_000_000,
            mem_containers: 1_000,
            mem_in_child: true,
            sim_tasks: vec![1_000, 1_000_000],
            pthread_singles: 2_000,
            lattice_n: lattice_n(1_000_000),
            thread_rounds: 15,
            thread_run: Duration::from_millis(20),
            v2_groups: 1_000,
            v2_move_groups: (10, 10_000),
            memcg_fake_pages: 16_384,
            memcg_sim_files: [(64, 256), (4096, 1)],
        }
    }

    /// Tiny sizes for a test: every code path, no meaningful numbers.
    pub fn tiny() -> Config {
        Config {
            only: None,
            timing: Timing::TINY,
            containers: vec![10, 40],
            residents: vec![1, 3],
            css_groups: vec![10, 60],
            read_tasks: 20,
            mem_tasks: 2_000,
            mem_containers: 10,
            mem_in_child: false,
            sim_tasks: vec![10, 100],
            pthread_singles: 20,
            lattice_n: lattice_n(2_000),
            thread_rounds: 1,
            thread_run: Duration::from_micros(200),
            v2_groups: 10,
            v2_move_groups: (3, 30),
            memcg_fake_pages: 256,
            memcg_sim_files: [(4, 16), (32, 1)],
        }
    }
}

/// The figures so far, printed as they come.
struct Out<'a> {
    figs: Vec<Figure>,
    emit: &'a mut dyn FnMut(&Figure),
    /// `synchronize` calls seen inside timed write-path rounds.
    waits: usize,
}

impl Out<'_> {
    fn put(&mut self, name: impl Into<String>, value: f64, unit: &'static str) -> f64 {
        let f = Figure {
            name: name.into(),
            value,
            unit,
        };
        (self.emit)(&f);
        self.figs.push(f);
        value
    }
}

fn first_last(v: &[usize]) -> Result<(usize, usize), BenchError> {
    match (v.first(), v.last()) {
        (Some(a), Some(b)) => Ok((*a, *b)),
        _ => Err(BenchError::new("empty size list")),
    }
}

/// Run the report, calling `emit` with each figure as soon as it is known.
///
/// Figures that are compared are timed in the same interleaved rounds
/// ([`measure_rounds`]); each raw figure is the median over rounds, each ratio the median
/// of the per-round ratios.
///
/// # Errors
///
/// The first setup or run error.
pub fn run(cfg: &Config, emit: &mut dyn FnMut(&Figure)) -> Result<Vec<Figure>, BenchError> {
    let mut o = Out {
        figs: Vec::new(),
        emit,
        waits: 0,
    };
    o.put("nproc", nproc() as f64, "count");
    if let Some(l) = loadavg() {
        o.put("loadavg_1min_at_start", l, "count");
    }
    let on = |s: Section| cfg.only.as_ref().is_none_or(|v| v.contains(&s));
    if on(Section::Hot) {
        hot_paths(cfg, &mut o)?;
        o.put(
            "fork_exit_testhost_ns",
            fork_exit_testhost(&cfg.timing)?,
            "ns",
        );
    }
    if on(Section::Threads) {
        let fe = match get(&o, "fork_exit_ns") {
            Ok(v) => v,
            Err(_) => {
                let (w, p) = fork_world(Controllers::NoForkHooks, 0)?;
                let (parent, child) = (slot_of(&w, p)?, Child::new(1_000_000));
                measure(&cfg.timing, |n| {
                    timed(n, false, || fork_exit(&w.gpc, parent, &child))
                })?
            }
        };
        threads(cfg, fe, &mut o)?;
    }
    if on(Section::Containers) {
        attach_and_mkdir(cfg, &mut o)?;
    }
    if on(Section::Groups) {
        find_or_create(cfg, &mut o)?;
    }
    if on(Section::Containers) || on(Section::Groups) {
        // Counted from the start of the first timed round to the end of the last, so
        // gpc's own Drop (which does wait) is outside.
        o.put("grace_period_waits_in_write_paths", o.waits as f64, "count");
    }
    if on(Section::Reads) {
        reads(cfg, &mut o)?;
    }
    if on(Section::Memory) {
        let mem = if cfg.mem_in_child {
            memory_in_child(cfg.mem_tasks, cfg.mem_containers)?
        } else {
            memory_figures(cfg.mem_tasks, cfg.mem_containers)?
        };
        for f in mem {
            o.put(f.name, f.value, f.unit);
        }
        let sim = if cfg.mem_in_child {
            sim_memory_in_child(cfg.mem_tasks, cfg.mem_containers)?
        } else {
            sim_memory_figures(cfg.mem_tasks, cfg.mem_containers)?
        };
        for f in sim {
            o.put(f.name, f.value, f.unit);
        }
    }
    if on(Section::SimTasks) {
        for f in sim_task_figures(&cfg.timing, &cfg.sim_tasks)? {
            o.put(f.name, f.value, f.unit);
        }
    }
    if on(Section::Lattice) {
        lattice(&cfg.timing, cfg.lattice_n, &mut |name, v, unit| {
            o.put(name, v, unit);
        })?;
    }
    if on(Section::V2) {
        crate::v2::v2(
            &cfg.timing,
            cfg.v2_groups,
            cfg.v2_move_groups,
            &mut |name, v, unit| {
                o.put(name, v, unit);
            },
        )?;
    }
    if on(Section::Memcg) {
        crate::memcg::memcg(
            &cfg.timing,
            cfg.memcg_fake_pages,
            cfg.memcg_sim_files,
            &mut |name, v, unit| {
                o.put(name, v, unit);
            },
        )?;
    }
    if let Some(l) = loadavg() {
        o.put("loadavg_1min_at_end", l, "count");
    }
    Ok(o.figs)
}

/// The 1-minute load average (other work on the machine while the report ran).
fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Baselines, fork+exit, lookup and the pthread anchor, in the same rounds.
fn hot_paths(cfg: &Config, o: &mut Out<'_>) -> Result<(), BenchError> {
    let t = &cfg.timing;
    let arc = Arc::new(1u64);
    let two = TwoLoads::new();
    let hl = HashLookup::new();
    let sl: SpinLock<u64> = Lock::try_new(0, gpc_core::lock_class!(c"bench_spin"))
        .map_err(|_| BenchError::new("ENOMEM"))?;
    let (w, p) = fork_world(Controllers::NoForkHooks, 0)?;
    let parent = slot_of(&w, p)?;
    let (wp, pp) = fork_world(Controllers::WithPids, 0)?;
    let parent_p = slot_of(&wp, pp)?;
    let child = Child::new(1_000_000);
    let ss = w.gpc.subsys_id("cpu").ok_or(BenchError::new("no cpu"))?;

    let mut arc_r = |n| Ok(timed_plain(n, |_| arc_clone_drop(&arc)));
    let mut two_r = |n| {
        Ok(timed_plain(n, |_| {
            black_box(TwoLoads::lookup(black_box(two.slot()), black_box(1)));
        }))
    };
    let mut hash_r = |n| {
        Ok(timed_plain(n, |i| {
            black_box(hl.lookup(i as usize));
        }))
    };
    let mut spin_r = |n| Ok(timed_plain(n, |_| spin_lock_unlock(&sl)));
    let mut fe_r = |n| timed(n, false, || fork_exit(&w.gpc, parent, &child));
    let mut fep_r = |n| timed(n, false, || fork_exit(&wp.gpc, parent_p, &child));
    let mut look_r = |n| {
        let guard = w.gpc.rcu_read_lock();
        let chain = Chain::new();
        let (slot, ss) = (black_box(parent), black_box(ss));
        let mut dep = 0usize;
        let start = Instant::now();
        for _ in 0..n {
            dep = usize::from(w.gpc.task_css(&guard, chain.dep(slot, dep), ss).is_some());
        }
        let d = start.elapsed();
        black_box(dep);
        drop(guard);
        Ok(d)
    };
    let mut two_chain_r = |n| {
        let start = Instant::now();
        two_loads_chain(black_box(two.slot()), black_box(1), n);
        Ok(start.elapsed())
    };
    let mut look_tput_r = |n| {
        let guard = w.gpc.rcu_read_lock();
        let d = timed_plain(n, |_| {
            black_box(w.gpc.task_css(&guard, black_box(parent), black_box(ss)));
        });
        drop(guard);
        Ok(d)
    };
    let mut lookg_r = |n| {
        Ok(timed_plain(n, |_| {
            let guard = w.gpc.rcu_read_lock();
            black_box(w.gpc.task_css(&guard, black_box(parent), black_box(ss)));
            drop(guard);
        }))
    };
    let mut pt_r = |n| timed(n, false, crate::anchor::pthread_create_join);
    let mut std_r = |n| timed(n, false, crate::anchor::std_spawn_join);
    let names = [
        "arc_clone_drop_ns",
        "two_loads_tput_ns",
        "hashbrown_lookup_8word_ns",
        "spinlock_lock_unlock_ns",
        "fork_exit_ns",
        "fork_exit_pids_ns",
        "lookup_ns",
        "lookup_with_guard_ns",
        "pthread_create_join_ns",
        "std_thread_spawn_join_ns",
        "two_loads_ns",
        "lookup_tput_ns",
    ];
    let mut r = measure_rounds(
        t,
        &mut [
            &mut arc_r,
            &mut two_r,
            &mut hash_r,
            &mut spin_r,
            &mut fe_r,
            &mut fep_r,
            &mut look_r,
            &mut lookg_r,
            &mut pt_r,
            &mut std_r,
            &mut two_chain_r,
            &mut look_tput_r,
        ],
    )?;
    for (name, v) in names.iter().zip(r.iter_mut()) {
        o.put(*name, median(&mut v.clone()), "ns");
    }
    let [arc, two_tput, _, _, fe, fep, look, _, pt, _, two, look_tput] = &r[..] else {
        return Err(BenchError::new("missing rounds"));
    };
    o.put("fork_exit_vs_arc", ratio_median(fe, arc), "ratio");
    o.put("fork_exit_pids_vs_arc", ratio_median(fep, arc), "ratio");
    o.put("lookup_vs_two_loads", ratio_median(look, two), "ratio");
    o.put(
        "lookup_tput_vs_two_loads_tput",
        ratio_median(look_tput, two_tput),
        "ratio",
    );
    // fork+exit on a CPU where no task of the css_group holds a reference: the per-CPU
    // share goes 0 -> 1 -> 0 each time (the steady state above has it held).
    {
        let me = rcu::cpu_index();
        rcu::bind_cpu(0);
        let made = fork_world(Controllers::NoForkHooks, 0);
        rcu::bind_cpu(1);
        let res = made.and_then(|(w, p)| {
            let parent = slot_of(&w, p)?;
            measure(t, |n| timed(n, false, || fork_exit(&w.gpc, parent, &child)))
        });
        rcu::bind_cpu(me);
        o.put("fork_exit_cold_cpu_ns", res?, "ns");
    }
    // The anchor's batches include waits for a CPU while the machine is busy. Single
    // creations timed one by one give their fast decile (creations that neither waited
    // for a busy CPU nor had to wake an idle one); dividing by it rather than by the
    // median can only overstate the hooks' share.
    let mut singles = Vec::with_capacity(cfg.pthread_singles);
    for _ in 0..cfg.pthread_singles.max(1) {
        let t0 = Instant::now();
        crate::anchor::pthread_create_join()?;
        singles.push(t0.elapsed().as_nanos() as f64);
    }
    singles.sort_by(f64::total_cmp);
    let p10 = singles.get(singles.len() / 10).copied().unwrap_or(0.0);
    o.put("pthread_create_join_p10_ns", p10, "ns");
    o.put("pthread_create_join_p50_ns", median(&mut singles), "ns");
    let (fe_m, fep_m) = (median(&mut fe.clone()), median(&mut fep.clone()));
    o.put(
        "hooks_share_of_pthread_create",
        100.0 * fe_m / p10.max(1.0),
        "percent",
    );
    o.put(
        "hooks_pids_share_of_pthread_create",
        100.0 * fep_m / p10.max(1.0),
        "percent",
    );
    // The floor: one atomic increment and one decrement, as a share of the same anchor.
    let arc_m = median(&mut arc.clone());
    o.put(
        "arc_share_of_pthread_create",
        100.0 * arc_m / p10.max(1.0),
        "percent",
    );
    o.put(
        "hooks_share_of_pthread_create_batches",
        100.0 * ratio_median(fe, pt),
        "percent",
    );
    Ok(())
}

/// Attach (into an existing css_group, and one that must be made) and mkdir+rmdir, in
/// flat hierarchies of every configured size, all timed in the same rounds.
fn attach_and_mkdir(cfg: &Config, o: &mut Out<'_>) -> Result<(), BenchError> {
    let (c_lo, c_hi) = first_last(&cfg.containers)?;
    let mut residents = cfg.residents.clone();
    residents.push(0);
    let mut worlds = Vec::new();
    for &n in &cfg.containers {
        let t0 = Instant::now();
        worlds.push(FlatWorld::new(n, &residents)?);
        o.put(
            format!("setup_flat_c{n}_s"),
            t0.elapsed().as_secs_f64(),
            "s",
        );
    }
    // One subject per (world, pair) and per world for mkdir+rmdir.
    let mut names = Vec::new();
    let mut runs: Vec<Box<Run<'_>>> = Vec::new();
    for fw in &worlds {
        let n = fw.containers;
        for (i, p) in fw.pairs.iter().enumerate() {
            names.push(if p.residents == 0 {
                format!("attach_new_c{n}_ns")
            } else {
                format!("attach_existing_c{n}_t{}_ns", p.residents)
            });
            // One iteration = one attach (half of a move there and back).
            runs.push(Box::new(move |k: u64| {
                timed(k.div_ceil(2), true, || fw.attach_there_and_back(i))
            }));
        }
        names.push(format!("mkdir_rmdir_c{n}_ns"));
        runs.push(Box::new(move |k: u64| timed(k, true, || fw.mkdir_rmdir())));
    }
    let mut refs: Vec<&mut Run<'_>> = runs.iter_mut().map(|b| &mut **b).collect();
    let syncs = rcu::synchronize_calls();
    let r = measure_rounds(&cfg.timing, &mut refs)?;
    o.waits += rcu::synchronize_calls() - syncs;
    drop(refs);
    drop(runs);
    for (name, v) in names.iter().zip(&r) {
        // Attach runs time ceil(k/2) moves of two attaches: per attach, k/2*2 = k.
        o.put(name.clone(), median(&mut v.clone()), "ns");
    }
    let rounds = |name: String| -> Result<&Vec<f64>, BenchError> {
        names
            .iter()
            .position(|x| *x == name)
            .and_then(|i| r.get(i))
            .ok_or(BenchError::new(format_args!("no figure {name}")))
    };
    for &k in &cfg.residents {
        let name = if Some(&k) == cfg.residents.first() {
            "attach_existing_100k_vs_10".to_string()
        } else {
            format!("attach_existing_100k_vs_10_t{k}")
        };
        let v = ratio_median(
            rounds(format!("attach_existing_c{c_hi}_t{k}_ns"))?,
            rounds(format!("attach_existing_c{c_lo}_t{k}_ns"))?,
        );
        o.put(name, v, "ratio");
    }
    let v = ratio_median(
        rounds(format!("attach_new_c{c_hi}_ns"))?,
        rounds(format!("attach_new_c{c_lo}_ns"))?,
    );
    o.put("attach_new_100k_vs_10", v, "ratio");
    let v = ratio_median(
        rounds(format!("mkdir_rmdir_c{c_hi}_ns"))?,
        rounds(format!("mkdir_rmdir_c{c_lo}_ns"))?,
    );
    o.put("mkdir_rmdir_100k_vs_10", v, "ratio");
    for fw in worlds {
        let n = fw.containers;
        let t0 = Instant::now();
        drop(fw);
        o.put(
            format!("teardown_flat_c{n}_s"),
            t0.elapsed().as_secs_f64(),
            "s",
        );
    }
    Ok(())
}

/// css_group find-or-create (an attach that makes a css_group) with every configured
/// number of live css_groups, timed in the same rounds.
fn find_or_create(cfg: &Config, o: &mut Out<'_>) -> Result<(), BenchError> {
    let mut worlds = Vec::new();
    for &n in &cfg.css_groups {
        let t0 = Instant::now();
        let gw = GroupsWorld::new(n)?;
        o.put(
            format!("setup_groups_g{n}_s"),
            t0.elapsed().as_secs_f64(),
            "s",
        );
        o.put(
            format!("css_groups_live_g{n}"),
            gw.css_groups() as f64,
            "count",
        );
        worlds.push(gw);
    }
    let mut runs: Vec<Box<Run<'_>>> = worlds
        .iter()
        .map(|gw| -> Box<Run<'_>> {
            Box::new(move |k: u64| timed(k.div_ceil(2), true, || gw.attach_new_there_and_back()))
        })
        .collect();
    let mut refs: Vec<&mut Run<'_>> = runs.iter_mut().map(|b| &mut **b).collect();
    let syncs = rcu::synchronize_calls();
    let r = measure_rounds(&cfg.timing, &mut refs)?;
    o.waits += rcu::synchronize_calls() - syncs;
    drop(refs);
    drop(runs);
    for (n, v) in cfg.css_groups.iter().zip(&r) {
        o.put(
            format!("find_or_create_g{n}_ns"),
            median(&mut v.clone()),
            "ns",
        );
    }
    match (r.first(), r.last()) {
        (Some(lo), Some(hi)) => o.put("find_or_create_1m_vs_10", ratio_median(hi, lo), "ratio"),
        _ => return Err(BenchError::new("no css_group sizes")),
    };
    for (n, gw) in cfg.css_groups.iter().zip(worlds) {
        let t0 = Instant::now();
        drop(gw);
        o.put(
            format!("teardown_groups_g{n}_s"),
            t0.elapsed().as_secs_f64(),
            "s",
        );
    }
    Ok(())
}

/// Reading `tasks` of a big container and `/proc/PID/cgroup`.
fn reads(cfg: &Config, o: &mut Out<'_>) -> Result<(), BenchError> {
    let t = &cfg.timing;
    let (w, p) = fork_world(Controllers::NoForkHooks, cfg.read_tasks.saturating_sub(1))?;
    let h = *w
        .hiers
        .get(WORK_HIER)
        .ok_or(BenchError::new("no hierarchy"))?;
    let caller = w.tasks.root_caller();
    let mut buf = Vec::with_capacity(8 * cfg.read_tasks + 64);
    w.gpc
        .read(h, "c0/tasks", &caller, &mut buf)
        .ctx("read tasks")?;
    let lines = buf.iter().filter(|b| **b == b'\n').count();
    if lines != cfg.read_tasks {
        return Err(BenchError::new(format_args!(
            "c0/tasks has {lines} lines, expected {}",
            cfg.read_tasks
        )));
    }
    o.put(
        format!("read_tasks_t{}_ns", cfg.read_tasks),
        measure(t, |k| {
            timed(k, false, || {
                buf.clear();
                w.gpc
                    .read(h, "c0/tasks", &caller, &mut buf)
                    .ctx("read tasks")
            })
        })?,
        "ns",
    );
    let slot = slot_of(&w, p)?;
    o.put(
        "proc_pid_cgroup_ns",
        measure(t, |k| {
            timed(k, false, || {
                buf.clear();
                w.gpc
                    .proc_pid_cgroup(slot, &mut buf)
                    .ctx("/proc/PID/cgroup")
            })
        })?,
        "ns",
    );
    Ok(())
}

fn get(o: &Out<'_>, name: &str) -> Result<f64, BenchError> {
    o.figs
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.value)
        .ok_or(BenchError::new(format_args!("no figure {name}")))
}

/// The slot of task `pid`.
///
/// # Errors
///
/// An unknown pid.
pub fn slot_of(w: &World, pid: Pid) -> Result<&TaskSlot, BenchError> {
    w.tasks
        .get(pid)
        .map(|t| &t.slot)
        .ok_or(BenchError::new("no such task"))
}

/// The fork+exit pair on gpc-core's `TestHost` (its RCU counts readers in one shared
/// atomic and takes a std mutex when the count returns to zero), for comparison.
fn fork_exit_testhost(t: &Timing) -> Result<f64, BenchError> {
    let gpc = Gpc::new(
        TestHost::new(nproc(), 1),
        &controllers(Controllers::NoForkHooks)?,
    )
    .ctx("Gpc::new")?;
    let caller = Caller {
        creds: Creds::ROOT,
        pid: None,
        tasks: &NoTasks,
    };
    // Boxed and pinned: linked into gpc's lists until they exit below. The test host's
    // tasks are `tasklist::Task`s (its `TaskIds` finds them from their slots).
    let init = TestTask::boxed(1, 1);
    let init_info = Child::new(1).info;
    gpc.init_task(init.as_ref().pinned_slot(), &init_info)
        .ctx("init_task")?;
    let parent = TestTask::boxed(2, 2);
    let pinfo = Child::new(2).info;
    gpc.fork(&init.slot, parent.as_ref().pinned_slot(), &pinfo)
        .ctx("fork")?;
    let pref = TaskRef {
        pid: 2,
        tgid: 2,
        creds: Creds::ROOT,
        slot: &parent.slot,
    };
    let res = (|| {
        for (i, m) in MOUNTS.iter().enumerate() {
            let h = gpc.mount(m, &caller).ctx("mount")?;
            gpc.mkdir(h, "c0").ctx("mkdir")?;
            if i == 0 {
                gpc.write(h, "c0/cpuset.cpus", b"0", &caller).ctx("cpus")?;
                gpc.write(h, "c0/cpuset.mems", b"0", &caller).ctx("mems")?;
            }
            gpc.attach(h, "c0", &pref).ctx("attach")?;
        }
        let child = TestTask::boxed(3, 3);
        let cinfo = Child::new(3).info;
        measure(t, |n| {
            timed(n, false, || {
                gpc.fork(&parent.slot, child.as_ref().pinned_slot(), &cinfo)
                    .ctx("fork")?;
                gpc.exit(&child.slot, &cinfo);
                Ok(())
            })
        })
    })();
    gpc.exit(&parent.slot, &pinfo);
    gpc.exit(&init.slot, &init_info);
    res
}

fn threads(cfg: &Config, fe_ns: f64, o: &mut Out<'_>) -> Result<(), BenchError> {
    let (w, [p0, p1, p2]) = threads_world()?;
    let (s0, s1, s2) = (slot_of(&w, p0)?, slot_of(&w, p1)?, slot_of(&w, p2)?);
    let iters = ((cfg.thread_run.as_secs_f64() * 1e9 / fe_ns.max(0.1)) as u64).max(1);
    let arcs = PrivateArcs::new();
    let arc_iters = ((cfg.thread_run.as_secs_f64() * 1e9 / 20.0) as u64).max(1);
    let mops = |threads: usize, iters: u64, wall: Duration| {
        threads as f64 * iters as f64 / wall.as_secs_f64().max(1e-9) / 1e6
    };
    let mut v: [Vec<f64>; 6] = Default::default();
    for _ in 0..cfg.thread_rounds.max(1) {
        let runs = [
            mops(1, iters, fork_exit_threads(&w, &[s0], iters)?),
            mops(2, iters, fork_exit_threads(&w, &[s0, s1], iters)?),
            mops(2, iters, fork_exit_threads(&w, &[s0, s2], iters)?),
            mops(1, arc_iters, arcs.run(1, false, arc_iters)?),
            mops(2, arc_iters, arcs.run(2, false, arc_iters)?),
            mops(2, arc_iters, arcs.run(2, true, arc_iters)?),
        ];
        for (x, r) in v.iter_mut().zip(runs) {
            x.push(r);
        }
    }
    let [one, same, diff, a1, a2, a2s] = &mut v;
    o.put(
        "fork_exit_2thread_scaling",
        ratio_median(same, one),
        "ratio",
    );
    o.put(
        "fork_exit_2thread_2cont_scaling",
        ratio_median(diff, one),
        "ratio",
    );
    o.put("arc_private_2thread_scaling", ratio_median(a2, a1), "ratio");
    o.put("arc_shared_2thread_scaling", ratio_median(a2s, a1), "ratio");
    // How much of the scaling the machine allowed at that moment gpc reached.
    let ceiling: Vec<f64> = a2
        .iter()
        .zip(a1.iter())
        .map(|(x, y)| x / y.max(1e-9))
        .collect();
    let same_sc: Vec<f64> = same
        .iter()
        .zip(one.iter())
        .map(|(x, y)| x / y.max(1e-9))
        .collect();
    o.put(
        "fork_exit_2thread_scaling_of_ceiling",
        ratio_median(&same_sc, &ceiling),
        "ratio",
    );
    o.put("fork_exit_1thread_mops", median(one), "Mops/s");
    o.put("fork_exit_2thread_same_mops", median(same), "Mops/s");
    o.put("fork_exit_2thread_2cont_mops", median(diff), "Mops/s");
    o.put("arc_private_1thread_mops", median(a1), "Mops/s");
    o.put("arc_private_2thread_mops", median(a2), "Mops/s");
    o.put("arc_shared_2thread_mops", median(a2s), "Mops/s");
    Ok(())
}

/// Resident memory of this process, from `/proc/self/status` (`VmRSS`, the resident
/// count `/proc/self/statm` gives in pages, here in KiB).
///
/// # Errors
///
/// Without `/proc`.
pub fn vm_rss_kib() -> Result<u64, BenchError> {
    let s = std::fs::read_to_string("/proc/self/status")?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or(BenchError::new("no VmRSS in /proc/self/status"))
}

/// The memory figures, measured in this process: `tasks` tasks spread over
/// `containers` containers of each of the three hierarchies (every controller, as in
/// the simulator), on the bench task table.
///
/// - `bytes_per_task`: the task's `TaskSlot` plus gpc's heap growth while the tasks
///   were made (their css_groups, the table, the containers' css_group links) divided
///   by the tasks: the amortised css_group share. Containers and their subsystem states
///   exist before and are per container, not per task (`gpc_bytes_per_task_all` adds
///   them too). Without the counting allocator the share reads 0.
/// - `core_rss_1m_tasks`: the whole process's resident memory with the tasks made (code,
///   gpc, the bench task table), in MiB; `core_rss_growth` is its growth since the
///   measurement started. The simulator's own figure, `sim_rss_1m_tasks`, is
///   [`crate::sim::sim_memory_figures`].
///
/// # Errors
///
/// Setup errors.
pub fn memory_figures(tasks: usize, containers: usize) -> Result<Vec<Figure>, BenchError> {
    let rss0 = vm_rss_kib().ok();
    let live0 = live_bytes();
    let mut sw = SpreadWorld::containers(containers, tasks)?;
    let table_bytes = (tasks + 1) * core::mem::size_of::<BenchTask>();
    let live1 = live_bytes();
    sw.populate(containers, tasks)?;
    rcu::quiescent();
    let live2 = live_bytes();
    let rss2 = vm_rss_kib().ok();
    let made = sw.world.tasks.len().saturating_sub(1).max(1);
    let slot = core::mem::size_of::<TaskSlot>() as f64;
    let mut v = vec![
        fig("mem_tasks", made as f64, "count"),
        fig(
            "mem_css_groups",
            sw.world.gpc.css_group_count() as f64,
            "count",
        ),
        fig("task_slot_bytes", slot, "bytes"),
        fig(
            "host_task_bytes",
            core::mem::size_of::<BenchTask>() as f64,
            "bytes",
        ),
    ];
    if let (Some(l1), Some(l2)) = (live1, live2) {
        let share = l2.saturating_sub(l1) as f64 / made as f64;
        v.push(fig("css_group_share_bytes", share, "bytes"));
        v.push(fig("bytes_per_task", slot + share, "bytes"));
        if let Some(l0) = live0 {
            let all = l2.saturating_sub(l0).saturating_sub(table_bytes) as f64 / made as f64;
            v.push(fig("gpc_bytes_per_task_all", slot + all, "bytes"));
        }
    } else {
        v.push(fig("bytes_per_task", slot, "bytes"));
    }
    if let (Some(r0), Some(r2)) = (rss0, rss2) {
        v.push(fig("core_rss_1m_tasks", r2 as f64 / 1024.0, "MiB"));
        v.push(fig(
            "core_rss_growth",
            r2.saturating_sub(r0) as f64 / 1024.0,
            "MiB",
        ));
    }
    let t0 = Instant::now();
    drop(sw);
    v.push(fig("mem_teardown_s", t0.elapsed().as_secs_f64(), "s"));
    Ok(v)
}

fn fig(name: &str, value: f64, unit: &'static str) -> Figure {
    Figure {
        name: name.to_string(),
        value,
        unit,
    }
}

/// The argument that makes `bench-report` print [`memory_figures`] and exit.
pub const MEM_CHILD_ARG: &str = "--mem-child";

/// [`memory_figures`] in a fresh process (this executable with [`MEM_CHILD_ARG`]), so
/// that the resident memory is the machine's alone.
///
/// # Errors
///
/// If the child cannot run or fails.
pub fn memory_in_child(tasks: usize, containers: usize) -> Result<Vec<Figure>, BenchError> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe)
        .arg(MEM_CHILD_ARG)
        .arg(tasks.to_string())
        .arg(containers.to_string())
        .output()?;
    if !out.status.success() {
        return Err(BenchError::new(format_args!(
            "memory child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(Figure::parse)
        .collect())
}
