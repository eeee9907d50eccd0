//! The fast path: fork, exit and the task → subsystem state lookup.
//!
//! These run for every task of the host, so they take no shared lock and allocate
//! nothing: a fork holds the lock of the forking CPU's shard of the parent's css_group
//! once, to take a reference and link the child into that shard's task list; an exit
//! holds the lock of the shard its slot names once, to unlink and drop the reference
//! (see `doc/fast-path.md`); a lookup is two dependent loads under the host's RCU and
//! takes no lock at all. Only the exit that drops a css_group's last reference leaves
//! this file (`css_groups.rs`, which takes the table lock). Keeping them together and
//! short is what lets a reviewer check the whole hot path at once.

use core::pin::Pin;
use core::ptr::NonNull;

use super::Gpc;
use crate::cssgroup::{untag, CssGroup, Unlinked};
use crate::error::{Error, Result};
use crate::host::rcu::{rcu_dereference, RcuGuard, StaticRcuGuard};
use crate::host::task::TaskSlot;
use crate::host::Host;
use crate::primitive::Ordering;
use crate::subsys::{CssRef, SubsysId, Subsystem, TaskInfo};

impl<H: Host> Gpc<H> {
    /// Put the first task (init) into the root of every hierarchy. `_info` describes
    /// init as hooks see a task; no subsystem has a hook for init (as in Linux, where
    /// `init_task` is placed statically), so gpc reads nothing from it.
    ///
    /// # Errors
    ///
    /// `EBUSY` if `slot` already holds a css_group.
    pub fn init_task(&self, slot: Pin<&TaskSlot>, _info: &TaskInfo) -> Result {
        let slot = TaskSlot::pinned(slot);
        if slot.is_attached()
            || !CssGroup::link_new_task(self.init_cg, self.shard(), slot, self.spin_ops)
        {
            return Err(Error::EBUSY);
        }
        Ok(())
    }

    /// Whether the task with `slot` belongs to this instance (it was given the first task
    /// or forked here and has not exited). `false` for an empty slot, or one that names
    /// another instance's css_group.
    pub fn owns_task(&self, guard: &RcuGuard<'_>, slot: &TaskSlot) -> bool {
        let (cg, _) = untag(rcu_dereference(slot.raw(), guard));
        // SAFETY: named by a slot, read under the guard (see `owns`).
        cg.is_some_and(|cg| unsafe { self.owns(cg) })
    }

    /// Enter an RCU read-side critical section, for lookups.
    pub fn rcu_read_lock(&self) -> RcuGuard<'_> {
        RcuGuard::new(&self.host)
    }

    /// The state of subsystem `ss` for the task with `slot`: no lock, no atomic
    /// read-modify-write, two dependent loads (slot → css_group → state).
    #[inline]
    pub fn task_css<'g>(
        &self,
        guard: &'g RcuGuard<'_>,
        slot: &'g TaskSlot,
        ss: SubsysId,
    ) -> Option<CssRef<'g>> {
        let (cg, _) = untag(rcu_dereference(slot.raw(), guard));
        let cg = cg?;
        // SAFETY: a css_group reachable from a task slot inside an RCU read-side section
        // is freed only after the section ends (it is unlinked first, then call_rcu).
        let css = unsafe { cg.as_ref() }.css(ss);
        // SAFETY: states named by a live css_group are alive at least as long (a
        // container with linked css_groups cannot be removed; frees go through RCU).
        NonNull::new(css).map(|p| unsafe { CssRef::from_raw(p) })
    }

    /// Typed [`Gpc::task_css`].
    #[inline]
    pub fn task_state<'g, S: Subsystem>(
        &self,
        guard: &'g RcuGuard<'_>,
        slot: &'g TaskSlot,
        ss: SubsysId,
    ) -> Option<crate::subsys::Css<'g, S>> {
        self.task_css(guard, slot, ss).and_then(CssRef::typed::<S>)
    }

    /// Fork hook (Linux `cgroup_can_fork` + `cgroup_post_fork`): `child` joins the
    /// css_group of `parent` (the creating thread). Takes no shared lock: one hold of
    /// the css_group's lock for this CPU (count a reference, link the child first in
    /// this CPU's task list), plus the fork hooks of the subsystems that have them.
    ///
    /// The child is pinned: it is linked into a list and must stay where it is until
    /// [`Gpc::exit`] (or its drop) unlinks it.
    ///
    /// # Errors
    ///
    /// A subsystem's `can_fork` errno (pids: `EAGAIN`), after `cancel_fork` on those
    /// already asked; `ESRCH` if `parent` has no css_group (it exited); `EINTR` if the
    /// parent was killed (`cgroup.kill`: [`crate::JobControl::fatal_signal_pending`]); `EINVAL` if
    /// `parent` belongs to another instance; `EBUSY` if `child` already has one. Nothing
    /// changes on error.
    pub fn fork(&self, parent: &TaskSlot, child: Pin<&TaskSlot>, info: &TaskInfo) -> Result {
        let child = TaskSlot::pinned(child);
        if child.is_attached() {
            return Err(Error::EBUSY);
        }
        let rcu = StaticRcuGuard::new(&self.host);
        let guard = rcu.guard();
        let shard = self.shard();
        let (cg, v2) = loop {
            let (p, _) = untag(rcu_dereference(parent.raw(), guard));
            let Some(cg) = p else {
                return Err(Error::ESRCH);
            };
            // SAFETY: under the guard the css_group's memory is valid even if a move
            // of the parent dropped its last reference meanwhile.
            if !unsafe { self.owns(cg) } {
                return Err(Error::EINVAL);
            }
            // SAFETY: as above; the states it names outlive it (RCU).
            let cgr = unsafe { cg.as_ref() };
            // can_fork before linking, so no walk lists a child that fails to fork
            // (Linux cgroup_can_fork runs before cgroup_post_fork links the task).
            for (n, &ss) in self.fork_hooks.iter().enumerate() {
                let (Some(sub), Some(css)) = (self.subsys.get(ss), self.cg_css(cgr, ss)) else {
                    continue;
                };
                if let Err(e) = sub.can_fork(info, css) {
                    self.cancel_fork(cgr, info, n);
                    return Err(e);
                }
            }
            // v2: the kill count of the child's group before it is linked (Linux
            // cgroup_css_set_fork reads `kill_seq`); the root has no cgroup.kill.
            let u = self.unified_slot.load(Ordering::Relaxed);
            let v2 = if u == super::NO_UNIFIED {
                None
            } else {
                NonNull::new(cgr.container(u))
            };
            // SAFETY: named by the parent's css_group, valid under the guard.
            let seq = v2.map(|c| unsafe { c.as_ref() }.kill_seq.load(Ordering::Acquire));
            // A parent killed by a cgroup.kill that finished before that read does not
            // fork (copy_process's fatal_signal_pending check, after cgroup_can_fork).
            if seq.is_some() && self.host.fatal_signal_pending(parent) {
                self.cancel_fork(cgr, info, self.fork_hooks.len());
                return Err(Error::EINTR);
            }
            if CssGroup::link_new_task(cg, shard, child, self.spin_ops) {
                if let (Some(c), Some(seq)) = (v2, seq) {
                    // SAFETY: as above; the child's reference now keeps it.
                    let now = unsafe { c.as_ref() }.kill_seq.load(Ordering::Acquire);
                    if seq & 1 != 0 || now != seq {
                        // A kill ran meanwhile and may have missed the child.
                        let _ = self.ask_kill(child);
                    }
                }
                break (cg, v2);
            }
            // The css_group died under us (a move of the parent dropped its last
            // reference): the parent's slot now names another one.
            self.cancel_fork(cgr, info, self.fork_hooks.len());
            crate::primitive::spin_loop();
        };
        drop(rcu);
        // SAFETY: the child's reference, taken above, keeps the css_group alive; only
        // this thread can move or exit the child before fork returns.
        let cgr = unsafe { cg.as_ref() };
        for &ss in self.fork_hooks.iter() {
            if let (Some(sub), Some(css)) = (self.subsys.get(ss), self.cg_css(cgr, ss)) {
                sub.fork(info, css);
            }
        }
        // v2: a child born into a freezing group is asked to stop, without
        // re-evaluating the group (Linux `cgroup_post_fork`: it would only flip to
        // thawed and back when the child stops).
        if let Some(c) = v2 {
            // SAFETY: named by the child's css_group, which its reference keeps.
            if unsafe { c.as_ref() }
                .freezer
                .freezing
                .load(Ordering::Acquire)
            {
                self.ask_freeze(child, true);
            }
        }
        Ok(())
    }

    /// `cancel_fork` on the first `asked` fork hooks.
    fn cancel_fork(&self, cg: &CssGroup, info: &TaskInfo, asked: usize) {
        for &prev in self.fork_hooks.iter().take(asked) {
            if let (Some(sub), Some(css)) = (self.subsys.get(prev), self.cg_css(cg, prev)) {
                sub.cancel_fork(info, css);
            }
        }
    }

    /// Exit hook (Linux `cgroup_exit` + `cgroup_release` + `cgroup_free`): the task
    /// leaves its css_group; subsystems with exit hooks are told. Takes no shared lock
    /// unless this was the css_group's last task. A task of another instance is left as
    /// it is (see [`Gpc::try_exit`]).
    pub fn exit(&self, slot: &TaskSlot, info: &TaskInfo) {
        let _ = self.try_exit(slot, info);
    }

    /// [`Gpc::exit`], saying whether the task was this instance's.
    ///
    /// # Errors
    ///
    /// `EINVAL` if the task belongs to another instance: nothing changes. An empty slot
    /// (never forked, or exited) is `Ok`.
    pub fn try_exit(&self, slot: &TaskSlot, info: &TaskInfo) -> Result {
        let hooks = !self.exit_hooks.is_empty();
        let rcu = StaticRcuGuard::new(&self.host);
        let (cg, shard) = loop {
            let seen = rcu_dereference(slot.raw(), rcu.guard());
            let (cg, shard) = untag(seen);
            let Some(cg) = cg else { return Ok(()) };
            // SAFETY: under the guard: valid even if a concurrent move just dropped it.
            if !unsafe { self.owns(cg) } {
                return Err(Error::EINVAL);
            }
            // SAFETY: as above.
            match unsafe { cg.as_ref() }.unlink_task(shard, seen, slot, !hooks, self.spin_ops) {
                Unlinked::Moved => continue,
                Unlinked::Done => return Ok(()),
                Unlinked::HoldsRef => break (cg, shard),
            }
        };
        drop(rcu);
        if hooks {
            // SAFETY: the task's reference, now ours, keeps the css_group alive.
            let cgr = unsafe { cg.as_ref() };
            for &ss in self.exit_hooks.iter() {
                if let (Some(sub), Some(css)) = (self.subsys.get(ss), self.cg_css(cgr, ss)) {
                    sub.exit(info, css);
                }
            }
        }
        let u = self.unified_slot.load(Ordering::Relaxed);
        if u == super::NO_UNIFIED {
            self.put_cg(cg, shard);
            return Ok(());
        }
        // v2: a freezing group re-evaluates once the task is gone (Linux `cgroup_exit`).
        // The guard keeps the group's memory valid past our reference (a removed
        // group is freed after a grace period; `freezer_exit` skips a dead one).
        let rcu = StaticRcuGuard::new(&self.host);
        // SAFETY: the task's reference, ours until the put, keeps the css_group alive.
        let v2 = NonNull::new(unsafe { cg.as_ref() }.container(u));
        self.put_cg(cg, shard);
        if let Some(c) = v2 {
            // SAFETY: see above.
            self.freezer_exit(unsafe { c.as_ref() });
        }
        drop(rcu);
        Ok(())
    }

    /// The state of `ss` in a css_group we hold a reference to.
    pub(super) fn cg_css<'a>(&self, cg: &'a CssGroup, ss: SubsysId) -> Option<CssRef<'a>> {
        let p = NonNull::new(cg.css(ss))?;
        // SAFETY: states named by a referenced css_group are alive.
        Some(unsafe { CssRef::from_raw(p) })
    }
}
