//! Pressure stall information from what the machine does (Linux kernel/sched/psi.c;
//! doc/psi.md): per `run` segment, the CPU states of each pressure group that the
//! scheduler sums per placement (`sched/psi.rs`), plus the tasks that sleep on memory
//! or I/O, are reported to gpc, which keeps the averages.
//!
//! What counts as which stall:
//!
//! * CPU: a busy task that is runnable but not on a CPU: more runnable tasks than its
//!   CPUs give time to, or its `cpu` group throttled by bandwidth (Linux keeps a
//!   throttled task runnable, `TSK_RUNNING`, on its runqueue: here on the first CPU of
//!   its cpuset).
//! * memory: a task asleep in `memory.high`'s penalty (`mem_cgroup_handle_over_high`
//!   between `psi_memstall_enter` and `psi_memstall_leave`) or waiting in a v1 OOM
//!   (`oom_kill_disable`: `mem_cgroup_oom_synchronize`, a memstall in Linux's reclaim
//!   path). Such a task is `TSK_MEMSTALL` without running; `full` while no task of the
//!   group is runnable on its CPU.
//! * I/O: a task [`Machine::task_iowait`] says waits for I/O (`TSK_IOWAIT`).
//!
//! A frozen task, or one that is not busy, is idle (no flag). A sleeping task counts on
//! the first CPU of its cpuset.

use alloc::vec::Vec;

use gpc_core::psi::{
    PsiCpuTimes, NR_PSI_STATES, PSI_CPU_FULL, PSI_CPU_SOME, PSI_IO_FULL, PSI_IO_SOME, PSI_MEM_FULL,
    PSI_MEM_SOME, PSI_NONIDLE,
};
use gpc_core::{tasklist, Pid, Result, TaskSlot};
use gpc_subsystems::cpuset;
use hashbrown::HashMap;

use super::{Machine, Platform};
use crate::effects;
use crate::sched::{self, PsiTree, Runnable, Usage};

/// What a segment reports: the groups, the sleepers, and room for one group's record.
pub(super) struct PsiPlan {
    pub(super) tree: PsiTree,
    /// Per node, the container id gpc knows it by.
    ids: Vec<u64>,
    /// Per node and CPU (`[node * nr_cpus + cpu]`): tasks in a memory stall, in iowait.
    sleepers: Vec<[u32; 2]>,
    nr_cpus: usize,
    /// Room for one group's record (a CPU each).
    buf: Vec<PsiCpuTimes>,
}

impl<P: Platform> Machine<P> {
    /// A write to `/proc/pressure/*` (Linux `psi_open` and `psi_write`): opening for
    /// writing needs `CAP_SYS_RESOURCE` (`EPERM`; the simulator's credentials are all
    /// or nothing, so root's); an empty write is `EINVAL`; at most 32 bytes are read
    /// and the last of them is overwritten with the terminating NUL
    /// (`buf[buf_size - 1] = '\0'`), then the trigger is parsed as
    /// `psi_trigger_create` does. A trigger lives while the file is open, which for a
    /// script's write ends with it: a valid one leaves nothing behind.
    pub(super) fn write_proc_pressure(caller: &gpc_core::Caller<'_>, data: &[u8]) -> Result {
        if !caller.creds.cap_sys_admin {
            return Err(gpc_core::Error::EPERM);
        }
        if data.is_empty() {
            return Err(gpc_core::Error::EINVAL);
        }
        let n = data.len().min(32);
        let buf = data.get(..n - 1).unwrap_or(&[]);
        gpc_core::parse::psi_trigger(buf, true)
    }

    /// Whether task `pid` sleeps waiting for I/O (`TSK_IOWAIT`): its `io` is in flight
    /// on a block device (`machine/io.rs`; `run` ends a segment at each completion, so
    /// the answer holds for the whole segment).
    pub(super) fn task_iowait(&self, pid: Pid) -> bool {
        self.task_io_waiting(pid)
    }

    /// Whether task `pid` stalls on memory without running: asleep in `memory.high`'s
    /// penalty or waiting in an OOM.
    fn task_memstall(&self, pid: Pid) -> bool {
        self.oom_waiters.iter().any(|w| w.pid == pid)
            || self
                .sim
                .get(&pid)
                .is_some_and(|s| s.throttled_until_ns > self.clock_ns)
    }

    /// The CPU a task that runs nowhere counts on: the first of its cpuset's.
    fn home_cpu(&self, slot: &TaskSlot) -> usize {
        let guard = self.gpc.rcu_read_lock();
        let mask = match self.ids.cpuset {
            Some(ss) => self
                .gpc
                .task_state::<cpuset::Cpuset>(&guard, slot, ss)
                .map_or_else(
                    || sched::all_cpus(self.nr_cpus),
                    |c| effects::effective_cpus(c, self.nr_cpus),
                ),
            None => sched::all_cpus(self.nr_cpus),
        };
        mask.first()
            .unwrap_or(0)
            .min(self.nr_cpus.saturating_sub(1))
    }

    /// The pressure groups of `runnable` (in its order) and of the tasks that stall
    /// asleep, made before the segment runs (every allocation is here).
    pub(super) fn psi_plan(&self, runnable: &[Runnable]) -> Result<PsiPlan> {
        let nr_cpus = self.nr_cpus.max(1);
        let mut index: HashMap<u64, usize> = HashMap::new();
        let mut ids: Vec<u64> = Vec::new();
        let mut chain_ids: Vec<u64> = Vec::new();
        let mut chain_of = |m: &Self,
                            slot: &TaskSlot,
                            index: &mut HashMap<u64, usize>,
                            ids: &mut Vec<u64>|
         -> Result<Vec<usize>> {
            chain_ids.clear();
            let mut res: Result = Ok(());
            m.gpc.psi_groups(slot, &mut |id| {
                if res.is_ok() {
                    res = chain_ids.try_reserve(1).map_err(Into::into);
                    chain_ids.push(id);
                }
            });
            res?;
            let mut chain = Vec::new();
            chain.try_reserve_exact(chain_ids.len())?;
            for &id in &chain_ids {
                let node = match index.get(&id) {
                    Some(&n) => n,
                    None => {
                        index.try_reserve(1)?;
                        ids.try_reserve(1)?;
                        let n = ids.len();
                        ids.push(id);
                        index.insert(id, n);
                        n
                    }
                };
                chain.push(node);
            }
            Ok(chain)
        };
        let mut tree = PsiTree::default();
        tree.chains.try_reserve_exact(runnable.len())?;
        tree.home.try_reserve_exact(runnable.len())?;
        for r in runnable {
            let (chain, home) = match self.tasks.get(r.pid) {
                Some(t) => (
                    chain_of(self, &t.slot, &mut index, &mut ids)?,
                    r.allowed.first().unwrap_or(0),
                ),
                None => (Vec::new(), 0),
            };
            tree.chains.push(chain);
            tree.home.push(home);
        }
        // The sleepers: (chain, cpu, kind).
        let mut stalls: Vec<(Vec<usize>, usize, usize)> = Vec::new();
        for t in self.tasks.iter() {
            if t.jobctl() & tasklist::JOBCTL_FROZEN != 0 || self.is_frozen(&t.slot) {
                continue;
            }
            let kind = if self.task_memstall(t.pid) {
                0
            } else if self.task_iowait(t.pid) {
                1
            } else {
                continue;
            };
            let chain = chain_of(self, &t.slot, &mut index, &mut ids)?;
            stalls.try_reserve(1)?;
            stalls.push((chain, self.home_cpu(&t.slot), kind));
        }
        tree.nodes = ids.len();
        let cells = ids
            .len()
            .checked_mul(nr_cpus)
            .ok_or(gpc_core::Error::ENOMEM)?;
        let mut sleepers = Vec::new();
        sleepers.try_reserve_exact(cells)?;
        sleepers.resize(cells, [0u32; 2]);
        for (chain, cpu, kind) in &stalls {
            for &node in chain {
                if let Some(cell) = sleepers
                    .get_mut(node * nr_cpus + cpu)
                    .and_then(|c| c.get_mut(*kind))
                {
                    *cell += 1;
                }
            }
        }
        let mut buf = Vec::new();
        buf.try_reserve_exact(nr_cpus)?;
        Ok(PsiPlan {
            tree,
            ids,
            sleepers,
            nr_cpus,
            buf,
        })
    }

    /// Reports a segment of `duration` ns that ended at the clock: each group's states
    /// per CPU (Linux `test_state` over the segment's sums), to gpc. Allocates nothing.
    pub(super) fn psi_commit(&self, plan: &mut PsiPlan, usage: &Usage, duration: u64) {
        if duration == 0 {
            return;
        }
        let d = duration;
        let nr = plan.nr_cpus;
        for (node, &id) in plan.ids.iter().enumerate() {
            plan.buf.clear();
            for cpu in 0..nr {
                let cell = node * nr + cpu;
                let [busy, some, full] = usage.psi.get(cell).copied().unwrap_or([0; 3]);
                let [mem, io] = plan.sleepers.get(cell).copied().unwrap_or([0; 2]);
                if busy == 0 && mem == 0 && io == 0 {
                    continue;
                }
                let idle_of_runnable = d - busy.min(d);
                let mut times = [0u64; NR_PSI_STATES];
                times[PSI_CPU_SOME] = some;
                times[PSI_CPU_FULL] = full;
                if mem > 0 {
                    times[PSI_MEM_SOME] = d;
                    // No task of the group runnable here (the sleepers run nowhere:
                    // `tasks[NR_RUNNING] == tasks[NR_MEMSTALL_RUNNING]` = 0).
                    times[PSI_MEM_FULL] = idle_of_runnable;
                }
                if io > 0 {
                    times[PSI_IO_SOME] = d;
                    times[PSI_IO_FULL] = idle_of_runnable;
                }
                times[PSI_NONIDLE] = if mem > 0 || io > 0 { d } else { busy };
                if plan.buf.len() < plan.buf.capacity() {
                    plan.buf.push(PsiCpuTimes { cpu, times });
                }
            }
            if !plan.buf.is_empty() {
                self.gpc.psi_record(id, self.clock_ns, d, &mut plan.buf);
            }
        }
    }
}
