//! The `lattice` section of bench-report: what the lattice of lists (tasks linked to
//! their css_groups, css_groups to their containers) buys and costs.
//!
//! - `read_tasks_10_of_1m_vs_10_of_1k`: reading the `tasks` file of a 10-task container
//!   (through `Gpc::read`, as a `read(2)` of the control file drives it) while the
//!   machine holds N (default 1,000,000) vs 1,000 tasks, the others in the root
//!   containers. The listing walks only the container's css_groups, so this stays near 1.
//! - At 10,000 members, against a `std::collections::LinkedList` of 10,000 heap nodes
//!   holding a pid and a tgid (the least a walk of per-task list nodes can cost):
//!   `walk_tasks_per_member_vs_list_walk`, the walk itself (`Gpc::tasks`, filled 256 at a
//!   time) against walking that list (`list_walk_ns_per_node`);
//!   `read_tasks_per_member_vs_list_read`, reading the `tasks` file
//!   (`read_tasks_ns_per_member`: walk, sort, format) against producing the same text
//!   from that list (`list_read_ns_per_node`: walk, sort, one line per pid, as Linux's
//!   pidlist does); and `read_tasks_per_member_vs_list_walk`, the file read against the
//!   bare list walk.
//! - `css_group_free_1m_vs_1`: an attach that frees one of N css_groups linked to a
//!   container vs one that frees the container's only css_group ([`LatticeGroups`]
//!   builds them), and `css_groups_1m_build_s`, the seconds to build the N.
//!
//! The issue's `bytes_per_task` is the memory section's figure (the slot plus gpc's heap
//! growth per task), not repeated here. `GPC_BENCH_LATTICE_N` overrides N (a test runs
//! the section with 2,000).

use std::collections::LinkedList;
use std::hint::black_box;
use std::time::Instant;

use gpc_core::{HierarchyId, Pid};

use crate::host::rcu;
use crate::timing::{measure_rounds, median, ratio_median, timed, timed_plain, Run, Timing};
use crate::world::{fork_world, Controllers, World, WORK_HIER};
use crate::{BenchError, Ctx};

/// The environment variable that sets N, the big size of the section.
pub const LATTICE_N_VAR: &str = "GPC_BENCH_LATTICE_N";

/// Tasks in the container whose `tasks` file is read against the machine's size.
const SMALL_CONTAINER: usize = 10;

/// Tasks on the small machine of `read_tasks_10_of_1m_vs_10_of_1k`.
const SMALL_MACHINE: usize = 1_000;

/// Members of the container of `read_tasks_ns_per_member` (and nodes of its baseline).
const MEMBERS: usize = 10_000;

/// N from [`LATTICE_N_VAR`] if it is set to a number, else `default`.
pub fn lattice_n(default: usize) -> usize {
    std::env::var(LATTICE_N_VAR)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// A figure of the section.
pub type Put<'a> = dyn FnMut(&str, f64, &'static str) + 'a;

/// A machine of `total` tasks: container `c0` of every hierarchy holds `members` of them
/// (a parent and its children), init and the rest live in the roots.
struct ReadWorld {
    world: World,
    hier: HierarchyId,
    members: usize,
}

impl ReadWorld {
    fn new(members: usize, total: usize) -> Result<ReadWorld, BenchError> {
        let (mut world, _) = fork_world(Controllers::NoForkHooks, members.saturating_sub(1))?;
        // Made so far: init and the members.
        let others = total.saturating_sub(members + 1);
        for _ in 0..others {
            world.tasks.fork(&world.gpc, 1)?;
        }
        let hier = *world
            .hiers
            .get(WORK_HIER)
            .ok_or(BenchError::new("no hierarchy"))?;
        let rw = ReadWorld {
            world,
            hier,
            members,
        };
        let mut buf = Vec::new();
        rw.read(&mut buf)?;
        let lines = buf.iter().filter(|b| **b == b'\n').count();
        if lines != members.max(1) {
            return Err(BenchError::new(format_args!(
                "c0/tasks has {lines} lines, expected {members}"
            )));
        }
        Ok(rw)
    }

    /// Read `c0/tasks` into `buf` (cleared first).
    #[inline]
    fn read(&self, buf: &mut Vec<u8>) -> Result<(), BenchError> {
        buf.clear();
        let caller = self.world.tasks.root_caller();
        self.world
            .gpc
            .read(self.hier, "c0/tasks", &caller, buf)
            .ctx("read c0/tasks")
    }
}

/// N css_groups all linked to one container, and a task whose moves free a css_group
/// linked to it.
///
/// What is built: three named hierarchies `la`, `lb`, `lc` besides the controllers'.
/// Every task sits in `la/x`; `lb` and `lc` each have `side = ceil(sqrt(N))` containers,
/// and task (i, j) sits in `lb/b{i}` and `lc/c{j}`, one task per pair, so each task has a
/// css_group of its own and all N are linked to `la/x` (plus one per `b{i}` for the
/// parent that forks row i's tasks). The mover sits in `la/x`, `lb`'s root and `lc/m`:
/// alone in its css_group. Moving it to `la/y` frees that css_group, one of about N
/// linked to `la/x`, and moving back frees the only one linked to `la/y`. With N = 0 the
/// mover is alone: each move frees the only css_group of the container it leaves.
pub struct LatticeGroups {
    world: World,
    la: usize,
    mover: Pid,
}

impl LatticeGroups {
    /// The machine for `n` css_groups (see the type doc).
    ///
    /// # Errors
    ///
    /// gpc's errors.
    pub fn new(n: usize) -> Result<LatticeGroups, BenchError> {
        let side = (n as f64).sqrt().ceil() as usize;
        let mut world = World::new(Controllers::NoForkHooks, n + side + 2)?;
        let la = world.mount("none,name=la")?;
        let lb = world.mount("none,name=lb")?;
        let lc = world.mount("none,name=lc")?;
        world.mkdir(la, "x")?;
        world.mkdir(la, "y")?;
        world.mkdir(lc, "m")?;
        for i in 0..side {
            world.mkdir(lb, &format!("b{i}"))?;
            world.mkdir(lc, &format!("c{i}"))?;
        }
        let mut made = 0;
        'rows: for i in 0..side {
            let parent = world.tasks.fork(&world.gpc, 1)?;
            world.attach(la, "x", parent)?;
            world.attach(lb, &format!("b{i}"), parent)?;
            for j in 0..side {
                if made == n {
                    break 'rows;
                }
                let t = world.tasks.fork(&world.gpc, parent)?;
                world.attach(lc, &format!("c{j}"), t)?;
                made += 1;
                if made % 4096 == 0 {
                    rcu::quiescent();
                }
            }
        }
        let mover = world.tasks.fork(&world.gpc, 1)?;
        world.attach(la, "x", mover)?;
        world.attach(lc, "m", mover)?;
        rcu::quiescent();
        Ok(LatticeGroups { world, la, mover })
    }

    /// Live css_groups.
    pub fn css_groups(&self) -> usize {
        self.world.gpc.css_group_count()
    }

    /// Move the mover to `la/y` and back: two attaches, each freeing the css_group it
    /// leaves (see the type doc).
    ///
    /// # Errors
    ///
    /// gpc's errors.
    #[inline]
    pub fn free_there_and_back(&self) -> Result<(), BenchError> {
        self.world.attach(self.la, "y", self.mover)?;
        self.world.attach(self.la, "x", self.mover)
    }
}

/// Run the section with big size `n`, handing each figure to `put`.
///
/// # Errors
///
/// Setup or run errors.
pub fn lattice(t: &Timing, n: usize, put: &mut Put<'_>) -> Result<(), BenchError> {
    put("lattice_n", n as f64, "count");
    read_vs_machine(t, n, put)?;
    read_per_member(t, n, put)?;
    css_group_free(t, n, put)
}

fn read_vs_machine(t: &Timing, n: usize, put: &mut Put<'_>) -> Result<(), BenchError> {
    let small = ReadWorld::new(SMALL_CONTAINER, SMALL_MACHINE.min(n))?;
    let t0 = Instant::now();
    let big = ReadWorld::new(SMALL_CONTAINER, n)?;
    put("lattice_read_setup_s", t0.elapsed().as_secs_f64(), "s");
    let mut bs = Vec::new();
    let mut bb = Vec::new();
    let mut small_r = |k| timed(k, false, || small.read(&mut bs));
    let mut big_r = |k| timed(k, false, || big.read(&mut bb));
    let r = measure_rounds(t, &mut [&mut small_r as &mut Run<'_>, &mut big_r])?;
    let [s, b] = &r[..] else {
        return Err(BenchError::new("missing rounds"));
    };
    put("read_tasks_10_of_1k_ns", median(&mut s.clone()), "ns");
    put("read_tasks_10_of_1m_ns", median(&mut b.clone()), "ns");
    put(
        "read_tasks_10_of_1m_vs_10_of_1k",
        ratio_median(b, s),
        "ratio",
    );
    Ok(())
}

fn read_per_member(t: &Timing, n: usize, put: &mut Put<'_>) -> Result<(), BenchError> {
    let members = MEMBERS.min(n).max(1);
    let rw = ReadWorld::new(members, members + 1)?;
    let dir = rw.world.gpc.lookup(rw.hier, "c0").ctx("lookup c0")?;
    // The baselines' list holds what a task slot gives a listing: pid and tgid, in the
    // order a fork-built list has them (newest first).
    let list: LinkedList<(u32, u32)> = (0..members as u32).rev().map(|p| (p + 2, p + 2)).collect();
    let mut buf = Vec::with_capacity(8 * members + 64);
    let mut lbuf = Vec::with_capacity(8 * members + 64);
    let mut pids: Vec<u32> = Vec::with_capacity(members);
    let mut chunk = [gpc_core::TaskId::default(); 256];
    let mut read_r = |k| timed(k, false, || rw.read(&mut buf));
    // The walk alone: `Gpc::tasks` in pieces of 256, as a host lists a container.
    let mut iter_r = |k| {
        timed(k, false, || {
            let mut walk = rw.world.gpc.tasks(&dir).ctx("tasks")?;
            let mut sum = 0u32;
            loop {
                let got = walk.fill(&mut chunk);
                if got == 0 {
                    break;
                }
                for id in chunk.iter().take(got) {
                    sum = sum.wrapping_add(id.pid);
                }
            }
            black_box(sum);
            Ok(())
        })
    };
    let mut walk_r = |k| {
        Ok(timed_plain(k, |_| {
            let sum = black_box(&list)
                .iter()
                .fold(0u32, |a, &(p, _)| a.wrapping_add(p));
            black_box(sum);
        }))
    };
    // The same file from a plain list: walk, sort, one line per pid (what Linux's
    // pidlist_array_load + seq_file do for `tasks`).
    let mut list_read_r = |k| {
        Ok(timed_plain(k, |_| {
            pids.clear();
            pids.extend(black_box(&list).iter().map(|&(p, _)| p));
            pids.sort_unstable();
            pids.dedup();
            lbuf.clear();
            // The same line formatter as gpc's listing (no `core::fmt`), so the ratio
            // compares the walks and the passes, not two ways of printing.
            let mut out = gpc_core::Out::new(&mut lbuf);
            for &p in pids.iter() {
                let _ = out.decimal_line(p);
            }
            black_box(&lbuf);
        }))
    };
    let r = measure_rounds(
        t,
        &mut [
            &mut read_r as &mut Run<'_>,
            &mut walk_r,
            &mut iter_r,
            &mut list_read_r,
        ],
    )?;
    let [rd, wk, it, lr] = &r[..] else {
        return Err(BenchError::new("missing rounds"));
    };
    let per = |v: &[f64]| median(&mut v.to_vec()) / members as f64;
    put("read_tasks_members", rw.members as f64, "count");
    put("read_tasks_ns_per_member", per(rd), "ns");
    put("list_walk_ns_per_node", per(wk), "ns");
    put("walk_tasks_ns_per_member", per(it), "ns");
    put("list_read_ns_per_node", per(lr), "ns");
    put(
        "walk_tasks_per_member_vs_list_walk",
        ratio_median(it, wk),
        "ratio",
    );
    put(
        "read_tasks_per_member_vs_list_read",
        ratio_median(rd, lr),
        "ratio",
    );
    put(
        "read_tasks_per_member_vs_list_walk",
        ratio_median(rd, wk),
        "ratio",
    );
    Ok(())
}

fn css_group_free(t: &Timing, n: usize, put: &mut Put<'_>) -> Result<(), BenchError> {
    let one = LatticeGroups::new(0)?;
    let t0 = Instant::now();
    let many = LatticeGroups::new(n)?;
    put("css_groups_1m_build_s", t0.elapsed().as_secs_f64(), "s");
    put("lattice_css_groups", many.css_groups() as f64, "count");
    let mut one_r = |k: u64| timed(k.div_ceil(2), true, || one.free_there_and_back());
    let mut many_r = |k: u64| timed(k.div_ceil(2), true, || many.free_there_and_back());
    let r = measure_rounds(t, &mut [&mut one_r as &mut Run<'_>, &mut many_r])?;
    let [o, m] = &r[..] else {
        return Err(BenchError::new("missing rounds"));
    };
    put("css_group_free_of_1_ns", median(&mut o.clone()), "ns");
    put("css_group_free_of_1m_ns", median(&mut m.clone()), "ns");
    put("css_group_free_1m_vs_1", ratio_median(m, o), "ratio");
    let t0 = Instant::now();
    drop(many);
    put("css_groups_1m_teardown_s", t0.elapsed().as_secs_f64(), "s");
    Ok(())
}
