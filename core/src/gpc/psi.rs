//! Pressure stall information of the groups (Linux kernel/sched/psi.c, the cgroup half
//! in kernel/cgroup/cgroup.c): the host reports stalls, gpc keeps each unified group's
//! figures and the system's, and shows them in `*.pressure` and `/proc/pressure/*`.
//!
//! The arithmetic is [`crate::psi`]. Psi is hierarchical: a task counts in its v2 group
//! and every ancestor, and the unified root's figures are the system's (Linux
//! `cgroup_psi`: the root cgroup uses `psi_system`), which also hold the tasks of a
//! machine without a v2 mount.
//!
//! Concurrency: every group's state is under one lock (`Gpc::psi`, the host's spinning
//! lock, a leaf). The accounting calls ([`Gpc::psi_task_change`], [`Gpc::psi_record`])
//! are the host scheduler's: made from any context that may take a spinning lock, with
//! no gpc lock held except that [`Gpc::psi_record`] takes the hierarchy lock itself (so
//! not under it); each call's time must not go back for its groups (one scheduler clock).

use core::ptr::NonNull;

use super::{Gpc, Tree, NO_UNIFIED};
use crate::container::Container;
use crate::cssgroup::untag;
use crate::error::{Error, Result};
use crate::files::Out;
use crate::host::rcu::rcu_dereference;
use crate::host::task::TaskSlot;
use crate::host::Host;
use crate::primitive::Ordering;
use crate::psi::{PsiCpuTimes, PsiGroup, PsiRes, TSK_ALL};

/// The system's group in [`Gpc::psi_groups`] and [`Gpc::psi_record`] (the unified
/// root's figures, `/proc/pressure/*`).
pub const PSI_SYSTEM: u64 = u64::MAX;

impl<H: Host> Gpc<H> {
    /// Calls `f` with the pressure groups `slot`'s task counts in, from its own up:
    /// the container ids of its v2 group and the ancestors below the root, then
    /// [`PSI_SYSTEM`] (alone before the first v2 mount, or for a task gpc does not
    /// know). Takes no lock; the ids stay meaningful while the task does not move.
    pub fn psi_groups(&self, slot: &TaskSlot, f: &mut dyn FnMut(u64)) {
        let guard = self.rcu_read_lock();
        if self.unified_slot.load(Ordering::Acquire) != NO_UNIFIED {
            if let Some(c) = self.task_v2_group(slot, &guard) {
                // SAFETY: under the guard a container and its ancestors are valid.
                let mut cur = Some(unsafe { c.as_ref() });
                while let Some(c) = cur {
                    if c.is_root() {
                        break;
                    }
                    f(c.id);
                    cur = c.parent_ref();
                }
            }
        }
        f(PSI_SYSTEM);
    }

    /// The task's container in the unified hierarchy (`None` at the root, for a task
    /// of another instance or exited), under `_guard`.
    fn task_v2_group(
        &self,
        slot: &TaskSlot,
        guard: &crate::host::rcu::RcuGuard<'_>,
    ) -> Option<NonNull<Container>> {
        let u = self.unified_slot.load(Ordering::Acquire);
        if u == NO_UNIFIED {
            return None;
        }
        let (cg, _) = untag(rcu_dereference(slot.raw(), guard));
        let cg = cg?;
        // SAFETY: under the guard.
        if !unsafe { self.owns(cg) } {
            return None;
        }
        // SAFETY: under the guard the css_group and its containers are valid.
        NonNull::new(unsafe { cg.as_ref() }.container(u))
    }

    /// A task's pressure flags changed on `cpu` at `now_ns` (Linux `psi_task_change`,
    /// with `psi_task_switch`'s `TSK_ONCPU`): `clear` and `set` are
    /// [`crate::psi`]`::TSK_*` flags, applied to the task's v2 group, each ancestor and
    /// the system. The host keeps each task's flags and reports them cleared before the
    /// task moves to another group and set again after (Linux `cgroup_move_task`), and
    /// cleared when it exits.
    ///
    /// # Errors
    ///
    /// `EINVAL` for an unknown flag or a CPU beyond the host's.
    pub fn psi_task_change(
        &self,
        slot: &TaskSlot,
        cpu: usize,
        clear: u32,
        set: u32,
        now_ns: u64,
    ) -> Result {
        if (clear | set) & !TSK_ALL != 0 || cpu >= self.host.nr_cpus().max(1) {
            return Err(Error::EINVAL);
        }
        let guard = self.rcu_read_lock();
        let own = self.task_v2_group(slot, &guard);
        let mut system = self.psi.lock();
        // SAFETY: under the guard a container and its ancestors are valid.
        let mut cur = own.map(|c| unsafe { &*c.as_ptr() });
        while let Some(c) = cur {
            with_group(c, &mut system, |g| g.change(cpu, clear, set, now_ns));
            cur = c.parent_ref();
        }
        system.change(cpu, clear, set, now_ns);
        Ok(())
    }

    /// Adds a stretch of `duration_ns` ending at `end_ns` to `group` (a container id
    /// from [`Gpc::psi_groups`], or [`PSI_SYSTEM`]): the time each listed CPU spent in
    /// each state ([`crate::psi::PsiGroup::record`]; `times` is used up). The host
    /// derives the states of each group from its tasks (the subtree's), as Linux's
    /// `test_state` does per CPU. A group that is gone is skipped.
    ///
    /// Takes the hierarchy lock (to find the group) and the psi lock.
    pub fn psi_record(&self, group: u64, end_ns: u64, duration_ns: u64, times: &mut [PsiCpuTimes]) {
        if group == PSI_SYSTEM {
            self.psi.lock().record(end_ns, duration_ns, times);
            return;
        }
        let tree = self.tree.lock();
        let Some(c) = tree.container_by_id(group) else {
            return;
        };
        // SAFETY: a container found in the tree is alive under the hierarchy lock.
        let c = unsafe { c.as_ref() };
        let mut system = self.psi.lock();
        with_group(c, &mut system, |g| g.record(end_ns, duration_ns, times));
    }

    /// `/proc/pressure/{io,memory,cpu}` (Linux `psi_show(m, &psi_system, res)`).
    ///
    /// # Errors
    ///
    /// `EFBIG` from `out`.
    pub fn psi_show_system(&self, res: PsiRes, out: &mut Out<'_>) -> Result {
        let now = self.host.clock_ns();
        let text = self.psi.lock().show(res, true, now);
        out.bytes(text.as_bytes())
    }

    /// A container's `*.pressure` file (Linux `cgroup_{io,memory,cpu}_pressure_show`,
    /// `cgroup_psi`: the root's are the system's), under the hierarchy lock.
    pub(super) fn psi_show_container(
        &self,
        _tree: &Tree,
        c: &Container,
        res: PsiRes,
        out: &mut Out<'_>,
    ) -> Result {
        let now = self.host.clock_ns();
        let mut system = self.psi.lock();
        let text = if c.is_root() {
            system.show(res, true, now)
        } else {
            with_group(c, &mut system, |g| g.show(res, false, now)).ok_or(Error::ENOENT)?
        };
        // Written out (which may allocate) once the spinning lock is dropped.
        drop(system);
        out.bytes(text.as_bytes())
    }

    /// `cgroup.pressure` (Linux `cgroup_pressure_write`): accounting of `c`'s group
    /// (the system's at the root) on or off; under the hierarchy lock.
    pub(super) fn psi_set_enabled(&self, _tree: &Tree, c: &Container, on: bool) {
        let now = self.host.clock_ns();
        let mut system = self.psi.lock();
        if c.is_root() {
            system.set_enabled(on, now);
        } else {
            with_group(c, &mut system, |g| g.set_enabled(on, now));
        }
        c.psi_enabled.store(on, Ordering::Relaxed);
    }
}

/// Calls `f` with `c`'s pressure group, if it has one. `_held` is the system's group,
/// borrowed from the psi lock's guard: the evidence that the lock is held.
fn with_group<R>(
    c: &Container,
    _held: &mut PsiGroup,
    f: impl FnOnce(&mut PsiGroup) -> R,
) -> Option<R> {
    c.psi.with_mut(|p| {
        // SAFETY: a container's group is read and written only under the psi lock,
        // which the caller holds (`_held`), so no other reference to it exists.
        unsafe { &mut *p }.as_mut().map(f)
    })
}
