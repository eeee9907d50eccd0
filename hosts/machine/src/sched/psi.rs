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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::super::{
        all_cpus, simulate_psi, BwState, Group, Runnable, NICE_0_WEIGHT, WORK_BUDGET,
    };
    use super::*;
    use alloc::vec;

    fn run(tree: &PsiTree, bw: Option<(u64, u64)>, ticks: u64) -> Vec<PsiCpuState> {
        let groups = vec![
            Group {
                parent: None,
                shares: NICE_0_WEIGHT,
                bandwidth: None,
            },
            Group {
                parent: Some(0),
                shares: NICE_0_WEIGHT,
                bandwidth: bw,
            },
        ];
        let tasks: Vec<Runnable> = (0..tree.chains.len())
            .map(|i| Runnable {
                pid: i as u32 + 1,
                group: 1,
                allowed: all_cpus(1),
            })
            .collect();
        let mut states: Vec<Option<BwState>> = vec![None, bw.map(|cfg| BwState::new(cfg, 0))];
        let mut now = 0;
        simulate_psi(
            &groups,
            &mut states,
            &tasks,
            Some(tree),
            1,
            &mut now,
            ticks,
            WORK_BUDGET,
            &mut |_| {},
        )
        .unwrap()
        .psi
    }

    #[test]
    fn psi_two_tasks_on_one_cpu() {
        const MS: u64 = TICK_NS;
        // One pressure group: someone always waits, someone of it always runs.
        let one = PsiTree {
            nodes: 1,
            chains: vec![vec![0], vec![0]],
            home: vec![0, 0],
        };
        assert_eq!(run(&one, None, 10), vec![[10 * MS, 10 * MS, 0]]);
        // Two groups below a common one: each waits half the time with nothing of its
        // own running; the common one always has a waiter and a runner.
        let two = PsiTree {
            nodes: 3,
            chains: vec![vec![0, 2], vec![1, 2]],
            home: vec![0, 0],
        };
        assert_eq!(
            run(&two, None, 10),
            vec![
                [10 * MS, 5 * MS, 5 * MS],
                [10 * MS, 5 * MS, 5 * MS],
                [10 * MS, 10 * MS, 0]
            ]
        );
    }

    #[test]
    fn psi_a_throttled_task_stays_runnable() {
        const MS: u64 = TICK_NS;
        // Half a CPU by quota for a billion ticks: runnable all along, running half of
        // it; the cycle fast-forward multiplies the sums too.
        let one = PsiTree {
            nodes: 1,
            chains: vec![vec![0]],
            home: vec![0],
        };
        let ticks = 1_000_000_000;
        let got = run(&one, Some((50 * MS, 100 * MS)), ticks);
        assert_eq!(got, vec![[ticks * MS, ticks * MS / 2, ticks * MS / 2]]);
    }
}
