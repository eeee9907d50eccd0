//! CPU pressure from the scheduler's placements (Linux kernel/sched/psi.c `test_state`
//! for `PSI_CPU_SOME`, `PSI_CPU_FULL` and the CPU part of `PSI_NONIDLE`).
//!
//! A placement that holds for `count` ticks is one state per group and CPU: the
//! group's runnable tasks on the CPU (`R`, its subtree's: psi is hierarchical) and the
//! time they run there (`O`, at most the placement's `D`). Linux keeps a task that its
//! group's bandwidth throttles runnable (on its runqueue, `TSK_RUNNING`), so a throttled
//! task counts on its home CPU without running. Over the placement:
//!
//! * busy (`R > 0`): `D`;
//! * some (`R > oncpu`): `D` for `R >= 2` (someone always waits), `D - O` for `R = 1`;
//! * full (`R > 0 && !oncpu`): `D - O`.
//!
//! The sums over a run are exact; [`Acc`] keeps them per group and CPU, dense.

use alloc::vec::Vec;

use super::{push, refill, Allocation, Layout, TICK_NS};
use gpc_core::{Error, Result};

/// The pressure groups of a run's tasks (the simulator's v2 groups and the system).
#[derive(Clone, Debug, Default)]
pub struct PsiTree {
    /// How many groups.
    pub nodes: usize,
    /// Per task of the run (the order of its `Runnable`s): the groups it counts in.
    pub chains: Vec<Vec<usize>>,
    /// Per task: the CPU whose runqueue holds it while it runs nowhere (throttled).
    pub home: Vec<usize>,
}

/// What a group's tasks did on one CPU in a run, ns: `[busy, some, full]`.
pub type PsiCpuState = [u64; 3];

/// The sums of a run.
pub(super) struct Acc<'a> {
    tree: &'a PsiTree,
    nr_cpus: usize,
    /// `[node * nr_cpus + cpu]`.
    pub(super) sums: Vec<PsiCpuState>,
    count: Vec<u32>,
    oncpu: Vec<u64>,
    touched: Vec<usize>,
    placed: Vec<Option<(usize, u64)>>,
}

impl<'a> Acc<'a> {
    pub(super) fn new(tree: &'a PsiTree, nr_cpus: usize, tasks: usize) -> Result<Self> {
        let cells = tree.nodes.checked_mul(nr_cpus).ok_or(Error::ENOMEM)?;
        let mut sums = Vec::new();
        refill(&mut sums, [0; 3], cells)?;
        let mut count = Vec::new();
        refill(&mut count, 0, cells)?;
        let mut oncpu = Vec::new();
        refill(&mut oncpu, 0, cells)?;
        let mut placed = Vec::new();
        refill(&mut placed, None, tasks)?;
        Ok(Acc {
            tree,
            nr_cpus,
            sums,
            count,
            oncpu,
            touched: Vec::new(),
            placed,
        })
    }

    /// The work a placement's accounting costs (a unit per task and group it counts
    /// in, and per group and CPU touched).
    pub(super) fn cost(&self) -> u64 {
        let links: usize = self.tree.chains.iter().map(Vec::len).sum();
        (links as u64).saturating_mul(2)
    }

    /// Adds a placement (`alloc` over `layout`'s tasks) that holds `count` ticks.
    pub(super) fn add(&mut self, layout: &Layout, alloc: &Allocation, count: u64) -> Result {
        let d = count.saturating_mul(TICK_NS);
        for p in self.placed.iter_mut() {
            *p = None;
        }
        for (slot, &i) in alloc.iter().zip(&layout.eligible) {
            if let (Some(p), Some(s)) = (self.placed.get_mut(i), slot) {
                *p = Some(*s);
            }
        }
        for (i, chain) in self.tree.chains.iter().enumerate() {
            let (cpu, ns) = match self.placed.get(i).copied().flatten() {
                Some(x) => x,
                None => (self.tree.home.get(i).copied().unwrap_or(0), 0),
            };
            if cpu >= self.nr_cpus {
                continue;
            }
            for &node in chain {
                let cell = node * self.nr_cpus + cpu;
                let (Some(n), Some(o)) = (self.count.get_mut(cell), self.oncpu.get_mut(cell))
                else {
                    continue;
                };
                if *n == 0 {
                    push(&mut self.touched, cell)?;
                }
                *n += 1;
                *o = o.saturating_add(ns);
            }
        }
        for &cell in &self.touched {
            let (Some(n), Some(o), Some(sum)) = (
                self.count.get_mut(cell),
                self.oncpu.get_mut(cell),
                self.sums.get_mut(cell),
            ) else {
                continue;
            };
            let waiting = d - (*o).min(d);
            sum[0] = sum[0].saturating_add(d);
            sum[1] = sum[1].saturating_add(if *n >= 2 { d } else { waiting });
            sum[2] = sum[2].saturating_add(waiting);
            *n = 0;
            *o = 0;
        }
        self.touched.clear();
        Ok(())
    }
}
