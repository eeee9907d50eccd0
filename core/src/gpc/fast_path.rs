//! The fast path: fork, exit and the task → subsystem state lookup.
//!
//! These run for every task of the host, so they take no gpc lock and allocate nothing:
//! a fork takes one reference on the parent's css_group (on the CPU's own shard, see
//! `doc/fast-path.md`) and an exit drops it; a lookup is two dependent loads under the
//! host's RCU. Only the exit that drops a css_group's last reference leaves this file
//! (`css_groups.rs`, which takes the table lock). Keeping them together and short is
//! what lets a reviewer check the whole hot path at once.

use core::ptr::{self, NonNull};

use super::Gpc;
use crate::cssgroup::{tag, untag, CssGroup};
use crate::error::{Error, Result};
use crate::host::rcu::{rcu_dereference, RcuGuard};
use crate::host::task::TaskSlot;
use crate::host::Host;
use crate::primitive::Ordering;
use crate::subsys::{CssRef, SubsysId, Subsystem, TaskInfo};

impl<H: Host> Gpc<H> {
    /// Put the first task (init) into the root of every hierarchy.
    ///
    /// # Errors
    ///
    /// `EBUSY` if `slot` already holds a css_group.
    pub fn init_task(&self, slot: &TaskSlot) -> Result {
        // SAFETY: init_cg is never freed (its permanent reference is never dropped).
        let init = unsafe { self.init_cg.as_ref() };
        let shard = self.shard();
        if slot.is_attached() || !init.try_get(shard) {
            return Err(Error::EBUSY);
        }
        slot.raw()
            .store(tag(self.init_cg, shard), Ordering::Release);
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
        let css = *unsafe { &(*cg.as_ptr()).subsys }.get(ss)?;
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
    /// css_group of `parent` (the creating thread). Takes no lock: one reference on the
    /// css_group, plus the fork hooks of the subsystems that have them.
    ///
    /// # Errors
    ///
    /// A subsystem's `can_fork` errno (pids: `EAGAIN`), after `cancel_fork` on those
    /// already asked; `ESRCH` if `parent` has no css_group (it exited); `EINVAL` if
    /// `parent` belongs to another instance; `EBUSY` if `child` already has one. Nothing
    /// changes on error.
    pub fn fork(&self, parent: &TaskSlot, child: &TaskSlot, info: &TaskInfo) -> Result {
        if child.is_attached() {
            return Err(Error::EBUSY);
        }
        let guard = self.rcu_read_lock();
        let shard = self.shard();
        let cg = loop {
            let (p, _) = untag(rcu_dereference(parent.raw(), &guard));
            let Some(p) = p else {
                return Err(Error::ESRCH);
            };
            // SAFETY: under the guard, and the parent's reference keeps it alive.
            if !unsafe { self.owns(p) } {
                return Err(Error::EINVAL);
            }
            // SAFETY: under the guard the css_group's memory is valid even if its count
            // already dropped to zero; `try_get` refuses a dying one, and the parent's
            // slot then names another.
            if unsafe { p.as_ref() }.try_get(shard) {
                break p;
            }
            crate::primitive::spin_loop();
        };
        // SAFETY: pinned by the reference just taken.
        let cgr = unsafe { cg.as_ref() };
        for (n, &ss) in self.fork_hooks.iter().enumerate() {
            let Some(css) = self.cg_css(cgr, ss) else {
                continue;
            };
            let Some(sub) = self.subsys.get(ss) else {
                continue;
            };
            if let Err(e) = sub.can_fork(info, css) {
                for &prev in self.fork_hooks.iter().take(n) {
                    if let (Some(sub), Some(css)) = (self.subsys.get(prev), self.cg_css(cgr, prev))
                    {
                        sub.cancel_fork(info, css);
                    }
                }
                drop(guard);
                self.put_cg(cg, shard);
                return Err(e);
            }
        }
        // The child is not visible to anyone else yet (checked empty above): a store.
        child.raw().store(tag(cg, shard), Ordering::Release);
        for &ss in self.fork_hooks.iter() {
            if let (Some(sub), Some(css)) = (self.subsys.get(ss), self.cg_css(cgr, ss)) {
                sub.fork(info, css);
            }
        }
        Ok(())
    }

    /// Exit hook (Linux `cgroup_exit` + `cgroup_release` + `cgroup_free`): the task
    /// leaves its css_group; subsystems with exit hooks are told. Takes no lock unless
    /// this was the css_group's last task. A task of another instance is left as it is
    /// (see [`Gpc::try_exit`]).
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
        let (current, _) = untag(slot.raw().load(Ordering::Acquire));
        // SAFETY: the task's reference keeps its css_group alive; a migration may swap
        // it for another css_group, but only of the same instance.
        if current.is_some_and(|cg| !unsafe { self.owns(cg) }) {
            return Err(Error::EINVAL);
        }
        let (cg, shard) = untag(slot.raw().swap(ptr::null_mut(), Ordering::AcqRel));
        let Some(cg) = cg else { return Ok(()) };
        if !self.exit_hooks.is_empty() {
            // SAFETY: the task's reference, now ours, keeps the css_group alive.
            let cgr = unsafe { cg.as_ref() };
            for &ss in self.exit_hooks.iter() {
                if let (Some(sub), Some(css)) = (self.subsys.get(ss), self.cg_css(cgr, ss)) {
                    sub.exit(info, css);
                }
            }
        }
        self.put_cg(cg, shard);
        Ok(())
    }

    /// The state of `ss` in a css_group we hold a reference to.
    pub(super) fn cg_css<'a>(&self, cg: &'a CssGroup, ss: SubsysId) -> Option<CssRef<'a>> {
        let p = NonNull::new(*cg.subsys.get(ss)?)?;
        // SAFETY: states named by a referenced css_group are alive.
        Some(unsafe { CssRef::from_raw(p) })
    }
}
