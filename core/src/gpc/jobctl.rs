//! v2 job control: `cgroup.freeze` and `cgroup.kill` (Linux kernel/cgroup/freezer.c,
//! `cgroup_kill` in kernel/cgroup/cgroup.c).
//!
//! Freezing follows Linux's state machine. A write sets the group's own `freeze`; each
//! descendant counts the frozen groups at or above it (`e_freeze`) and is *freezing*
//! (`CGRP_FREEZE`) while that count is non-zero. gpc then asks the host to stop each of
//! the group's tasks ([`crate::JobControl::freeze_task`]); a task that stops reports it
//! ([`Gpc::enter_frozen`]), and a group is *frozen* (`CGRP_FROZEN`, `frozen 1` in
//! `cgroup.events`) once it is freezing, every one of its tasks has stopped and every
//! descendant is frozen. So an empty group is frozen at once, a running task moved into a
//! frozen group unfreezes it until the task stops, and a killed frozen task unfreezes its
//! group until it has exited: each flip notifies `cgroup.events`, as Linux's does.
//!
//! The counts live under the css_group table lock (Linux `css_set_lock`). Counting a
//! group's tasks walks its task lists (O(its tasks)): a group of n tasks that stop one
//! by one costs O(n²) in all, where Linux keeps a per-css_set task count; the simulated
//! machine freezes few tasks, and a per-shard count is the way to lift it.
//!
//! Killing marks every task of the subtree for `SIGKILL` through the host
//! ([`crate::JobControl::kill_task`]); the tasks exit later, from their own context.

use core::ptr::NonNull;

use super::{Gpc, Tree, NO_UNIFIED};
use crate::container::{Container, NOTIFY_EVENTS};
use crate::cssgroup::{untag, CgTable};
use crate::error::{Error, Result};
use crate::files::next_pre;
use crate::host::rcu::rcu_dereference;
use crate::host::task::TaskSlot;
use crate::host::Host;
use crate::primitive::Ordering;

impl<H: Host> Gpc<H> {
    /// Ask the host to stop (or restart) a task, and remember that it was asked.
    pub(super) fn ask_freeze(&self, slot: &TaskSlot, freeze: bool) {
        self.host.freeze_task(slot, freeze);
        self.jobctl_asked.store(true, Ordering::Release);
    }

    /// Ask the host to kill a task's process, and remember that it was asked.
    pub(super) fn ask_kill(&self, slot: &TaskSlot) -> Result {
        self.host.kill_task(slot)?;
        self.jobctl_asked.store(true, Ordering::Release);
        Ok(())
    }

    /// Whether gpc asked the host to freeze, thaw or kill a task since the last call
    /// (and forget it): a host that acts on its tasks from a loop of its own (the
    /// simulated machine) looks at them only then. Takes no lock.
    pub fn take_job_control(&self) -> bool {
        self.jobctl_asked.swap(false, Ordering::AcqRel)
    }

    /// Whether a unified hierarchy exists (it was mounted once). Takes no lock.
    pub fn has_unified(&self) -> bool {
        self.unified_slot.load(Ordering::Acquire) != NO_UNIFIED
    }

    /// The unified hierarchy's mount flags (empty before the first `mount -t cgroup2`):
    /// what a host's memory reclaim reads for `memory_recursiveprot`.
    pub fn v2_options(&self) -> crate::options::V2Options {
        let tree = self.tree.lock();
        let slot = self.unified_slot.load(Ordering::Acquire);
        tree.hiers
            .get(slot)
            .and_then(|h| h.as_deref())
            .map_or(crate::options::V2Options::empty(), |h| h.v2_options)
    }

    /// A `cgroup.freeze` write (Linux `cgroup_freeze_write`): `0` or `1` after
    /// `strstrip` and `kstrtoint`.
    ///
    /// # Errors
    ///
    /// `EINVAL` (not a number), `ERANGE` (another number).
    pub(super) fn write_freeze(&self, tree: &Tree, c: &Container, data: &[u8]) -> Result {
        let v = crate::parse::kstrtoint(crate::parse::strstrip(data), 0)?;
        if !(0..=1).contains(&v) {
            return Err(Error::ERANGE);
        }
        self.cgroup_freeze(tree, c, v == 1);
        Ok(())
    }

    /// Linux `cgroup_freeze`: set `c`'s own value and apply it to every live descendant
    /// whose effective state changes. A write that changes no group's state (an
    /// ancestor keeps it frozen, or it already is as asked) still notifies `c`'s
    /// `cgroup.events`, so a waiter learns there is nothing to wait for.
    fn cgroup_freeze(&self, tree: &Tree, c: &Container, freeze: bool) {
        let fz = &c.freezer;
        if fz.freeze.load(Ordering::Relaxed) == freeze {
            return;
        }
        fz.freeze.store(freeze, Ordering::Relaxed);
        let mut applied = false;
        let mut cur = Some(c);
        while let Some(d) = cur {
            cur = next_pre(c, d, tree);
            if d.dead.load(Ordering::Acquire) {
                continue;
            }
            let e = &d.freezer.e_freeze;
            if freeze {
                if e.fetch_add(1, Ordering::Relaxed) >= 1 {
                    continue; // already frozen by an ancestor
                }
            } else if e.fetch_sub(1, Ordering::Relaxed) > 1 {
                continue; // still frozen by an ancestor
            }
            self.do_freeze(d, freeze);
            applied = true;
        }
        if !applied {
            self.queue_notify(c, NOTIFY_EVENTS);
        }
    }

    /// Linux `cgroup_do_freeze`: set or clear `CGRP_FREEZE`, ask each task to stop or
    /// go on, and settle the group's state when its descendants already are (an empty
    /// leaf freezes here at once).
    fn do_freeze(&self, c: &Container, freeze: bool) {
        let table = self.table.lock();
        let fz = &c.freezer;
        let now = self.host.clock_ns();
        fz.freezing.store(freeze, Ordering::Release);
        if freeze {
            fz.freeze_start_ns.store(now, Ordering::Relaxed);
        } else {
            let start = fz.freeze_start_ns.load(Ordering::Relaxed);
            fz.frozen_ns
                .fetch_add(now.saturating_sub(start), Ordering::Relaxed);
        }
        Self::for_each_task_locked(c, &table, &mut |t| self.ask_freeze(t, freeze));
        if c.nr_descendants.load(Ordering::Relaxed)
            == fz.nr_frozen_descendants.load(Ordering::Relaxed)
        {
            self.update_frozen(c, &table);
        }
    }

    /// Linux `cgroup_update_frozen`: `c` is frozen when it is freezing and each of its
    /// tasks has stopped; a flip notifies and carries up the tree. Under the table lock
    /// (`table`).
    pub(super) fn update_frozen(&self, c: &Container, table: &CgTable) {
        let fz = &c.freezer;
        let frozen = fz.freezing.load(Ordering::Acquire) && {
            let mut n = 0usize;
            Self::for_each_task_locked(c, table, &mut |_| n += 1);
            fz.nr_frozen_tasks.load(Ordering::Relaxed) == n
        };
        if fz.frozen.load(Ordering::Relaxed) == frozen {
            return;
        }
        fz.frozen.store(frozen, Ordering::Relaxed);
        self.queue_notify(c, NOTIFY_EVENTS);
        self.propagate_frozen(c, frozen);
    }

    /// Linux `cgroup_propagate_frozen`: a group that froze counts as a frozen
    /// descendant of each ancestor, which may freeze in turn (its own tasks are not
    /// counted again there); a group that thawed thaws every frozen ancestor.
    fn propagate_frozen(&self, c: &Container, frozen: bool) {
        let mut desc = 1usize;
        let mut up = c.parent_ref();
        while let Some(a) = up {
            let fz = &a.freezer;
            if frozen {
                let n = fz.nr_frozen_descendants.fetch_add(desc, Ordering::Relaxed) + desc;
                if !fz.frozen.load(Ordering::Relaxed)
                    && fz.freezing.load(Ordering::Acquire)
                    && n == a.nr_descendants.load(Ordering::Relaxed)
                {
                    fz.frozen.store(true, Ordering::Relaxed);
                    self.queue_notify(a, NOTIFY_EVENTS);
                    desc += 1;
                }
            } else {
                let n = fz.nr_frozen_descendants.load(Ordering::Relaxed);
                fz.nr_frozen_descendants
                    .store(n.saturating_sub(desc), Ordering::Relaxed);
                if fz.frozen.load(Ordering::Relaxed) {
                    fz.frozen.store(false, Ordering::Relaxed);
                    self.queue_notify(a, NOTIFY_EVENTS);
                    desc += 1;
                }
            }
            up = a.parent_ref();
        }
    }

    /// A new child of `parent` in the unified hierarchy inherits its freezing (Linux
    /// `cgroup_create`): it is frozen at once (it has no task), and each ancestor counts
    /// one more frozen descendant without changing its own state. Under the hierarchy
    /// lock, before the child is published.
    pub(super) fn freezer_init_child(&self, parent: &Container, child: &Container) {
        let e = parent.freezer.e_freeze.load(Ordering::Relaxed);
        if e == 0 {
            return;
        }
        let _table = self.table.lock();
        let fz = &child.freezer;
        fz.e_freeze.store(e, Ordering::Relaxed);
        fz.freezing.store(true, Ordering::Release);
        fz.freeze_start_ns
            .store(self.host.clock_ns(), Ordering::Relaxed);
        fz.frozen.store(true, Ordering::Relaxed);
        let mut up = Some(parent);
        while let Some(a) = up {
            a.freezer
                .nr_frozen_descendants
                .fetch_add(1, Ordering::Relaxed);
            up = a.parent_ref();
        }
    }

    /// A unified-hierarchy container leaves (Linux `cgroup_destroy_locked`): a frozen
    /// one is no longer a frozen descendant of its ancestors (whose state is not
    /// re-evaluated, as in Linux), and its CPU time stays counted in its parent. Marks
    /// it dead under the table lock, so that an exit that re-evaluates a freezing group
    /// after dropping its reference skips it.
    pub(super) fn freezer_remove(&self, c: &Container) {
        let _table = self.table.lock();
        c.dead.store(true, Ordering::Release);
        let frozen = c.freezer.frozen.load(Ordering::Relaxed);
        if let Some(p) = c.parent_ref() {
            p.cpu_usage_ns
                .fetch_add(c.cpu_usage_ns.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        let mut up = if frozen { c.parent_ref() } else { None };
        while let Some(a) = up {
            let n = a.freezer.nr_frozen_descendants.load(Ordering::Relaxed);
            a.freezer
                .nr_frozen_descendants
                .store(n.saturating_sub(1), Ordering::Relaxed);
            up = a.parent_ref();
        }
    }

    /// The container of `slot`'s task in the unified hierarchy, under the hierarchy
    /// lock (`tree`), which keeps it from moving; `None` before the first v2 mount or
    /// for a task of no css_group (exited) or of another instance.
    pub(super) fn task_v2_container<'t>(
        &self,
        tree: &'t Tree,
        slot: &TaskSlot,
    ) -> Option<&'t Container> {
        let u = self.unified_slot.load(Ordering::Acquire);
        if u == NO_UNIFIED {
            return None;
        }
        let guard = self.rcu_read_lock();
        let (cg, _) = untag(rcu_dereference(slot.raw(), &guard));
        let cg = cg?;
        // SAFETY: under the guard.
        if !unsafe { self.owns(cg) } {
            return None;
        }
        // SAFETY: under the guard; the task cannot move while the hierarchy lock is held.
        let c = unsafe { cg.as_ref() }.container(u);
        let c = match NonNull::new(c) {
            Some(c) => c,
            None => tree.hiers.get(u)?.as_deref()?.root,
        };
        // SAFETY: a container named by the task's css_group (or the root) is alive while
        // the hierarchy lock is held.
        Some(unsafe { &*c.as_ptr() })
    }

    /// Whether `slot`'s task should stop for a freeze (Linux `cgroup_task_freeze`): its
    /// v2 group is freezing. Takes no lock.
    pub fn cgroup_task_freeze(&self, slot: &TaskSlot) -> bool {
        let u = self.unified_slot.load(Ordering::Acquire);
        if u == NO_UNIFIED {
            return false;
        }
        let guard = self.rcu_read_lock();
        let (Some(cg), _) = untag(rcu_dereference(slot.raw(), &guard)) else {
            return false;
        };
        // SAFETY: under the guard.
        if !unsafe { self.owns(cg) } {
            return false;
        }
        // SAFETY: under the guard, the css_group and the containers it names are valid.
        let c = unsafe { cg.as_ref() }.container(u);
        NonNull::new(c).is_some_and(|c| {
            // SAFETY: as above (a root is never freezing: null key).
            unsafe { c.as_ref() }
                .freezer
                .freezing
                .load(Ordering::Acquire)
        })
    }

    /// The task of `slot` has stopped for a freeze (Linux `cgroup_enter_frozen`, called
    /// by the task itself): its group counts one more stopped task and may become
    /// frozen. Does nothing for a task already stopped. Sleeps (takes the hierarchy
    /// lock, which keeps the task from moving meanwhile).
    pub fn enter_frozen(&self, slot: &TaskSlot) {
        if self.host.task_frozen(slot) {
            return;
        }
        let tree = self.tree.lock();
        let Some(c) = self.task_v2_container(&tree, slot) else {
            return;
        };
        let table = self.table.lock();
        self.host.set_task_frozen(slot, true);
        c.freezer.nr_frozen_tasks.fetch_add(1, Ordering::Relaxed);
        self.update_frozen(c, &table);
    }

    /// The task of `slot` runs again (Linux `cgroup_leave_frozen`): when its group is
    /// no longer freezing, or always (`always`: it was killed and exits), it stops
    /// counting as stopped, which may thaw the group; a task of a group still freezing
    /// that only woke up is asked to stop again. Does nothing for a task not stopped.
    /// Sleeps (takes the hierarchy lock).
    pub fn leave_frozen(&self, slot: &TaskSlot, always: bool) {
        if !self.host.task_frozen(slot) {
            return;
        }
        let tree = self.tree.lock();
        let Some(c) = self.task_v2_container(&tree, slot) else {
            self.host.set_task_frozen(slot, false);
            return;
        };
        let table = self.table.lock();
        if always || !c.freezer.freezing.load(Ordering::Acquire) {
            let n = c.freezer.nr_frozen_tasks.load(Ordering::Relaxed);
            c.freezer
                .nr_frozen_tasks
                .store(n.saturating_sub(1), Ordering::Relaxed);
            self.host.set_task_frozen(slot, false);
            self.update_frozen(c, &table);
        } else {
            self.ask_freeze(slot, true);
        }
    }

    /// A task moved between unified groups `src` and `dst` (Linux
    /// `cgroup_freezer_migrate_task`): a stopped task's count moves with it, both groups
    /// are re-evaluated (a running task entering a frozen group thaws it until it
    /// stops), and the task is asked to take `dst`'s state. Under the table lock.
    pub(super) fn freezer_migrate_task(
        &self,
        slot: &TaskSlot,
        src: &Container,
        dst: &Container,
        table: &CgTable,
    ) {
        let stopped = self.host.task_frozen(slot);
        let (sf, df) = (&src.freezer, &dst.freezer);
        if !sf.freezing.load(Ordering::Acquire) && !df.freezing.load(Ordering::Acquire) && !stopped
        {
            return;
        }
        if stopped {
            df.nr_frozen_tasks.fetch_add(1, Ordering::Relaxed);
            let n = sf.nr_frozen_tasks.load(Ordering::Relaxed);
            sf.nr_frozen_tasks
                .store(n.saturating_sub(1), Ordering::Relaxed);
        }
        self.update_frozen(dst, table);
        self.update_frozen(src, table);
        self.ask_freeze(slot, df.freezing.load(Ordering::Acquire));
    }

    /// After an exit dropped the task's reference: re-evaluate its v2 group `c` if it
    /// is freezing (Linux `cgroup_exit`), unless it was removed meanwhile. `c` is valid:
    /// the caller holds an RCU read guard taken while the task still named it.
    pub(super) fn freezer_exit(&self, c: &Container) {
        if !c.freezer.freezing.load(Ordering::Acquire) {
            return;
        }
        let table = self.table.lock();
        if c.dead.load(Ordering::Acquire) {
            return;
        }
        self.update_frozen(c, &table);
    }

    /// `cgroup.stat.local` (Linux `cgroup_core_local_stat_show`): the time the group
    /// has been freezing, in microseconds, the current stretch included.
    pub(super) fn frozen_usec(&self, c: &Container) -> u64 {
        let _table = self.table.lock();
        let fz = &c.freezer;
        let mut ns = fz.frozen_ns.load(Ordering::Relaxed);
        if fz.freezing.load(Ordering::Acquire) {
            let start = fz.freeze_start_ns.load(Ordering::Relaxed);
            ns = ns.saturating_add(self.host.clock_ns().saturating_sub(start));
        }
        ns / 1000
    }

    /// A `cgroup.kill` write (Linux `cgroup_kill_write`): only `1`; every task of the
    /// live subtree is sent `SIGKILL` through the host, which kills its process.
    ///
    /// # Errors
    ///
    /// `EINVAL` (not a number), `ERANGE` (another number), `EOPNOTSUPP` in a threaded
    /// group, or the host's errno (`EOPNOTSUPP` for a host that cannot kill).
    pub(super) fn write_kill(&self, tree: &Tree, c: &Container, data: &[u8]) -> Result {
        let v = crate::parse::kstrtoint(crate::parse::strstrip(data), 0)?;
        if v != 1 {
            return Err(Error::ERANGE);
        }
        // Killing is process-directed: like cgroup.procs, not in a threaded group.
        if c.is_threaded() {
            return Err(Error::EOPNOTSUPP);
        }
        let mut res = Ok(());
        let mut cur = Some(c);
        while let Some(d) = cur {
            cur = next_pre(c, d, tree);
            if d.dead.load(Ordering::Acquire) {
                continue;
            }
            let table = self.table.lock();
            // Odd while the walk runs, even again after it: a fork that read an odd
            // value, or a value that changed by the time its child was linked, raced
            // this kill and kills the child itself (Linux `kill_seq`, checked in
            // cgroup_post_fork). A fork that read the even value from before the walk
            // and linked before the walk reached its shard is killed by the walk.
            d.kill_seq.fetch_add(1, Ordering::AcqRel);
            Self::for_each_task_locked(d, &table, &mut |t| {
                if res.is_ok() {
                    res = self.ask_kill(t);
                }
            });
            d.kill_seq.fetch_add(1, Ordering::AcqRel);
            drop(table);
            res?;
        }
        Ok(())
    }

    /// Charge `ns` of CPU time that `slot`'s task ran to its v2 group (Linux
    /// `cgroup_account_cputime`; `cpu.stat` sums the subtree when read, as rstat
    /// flushes). Takes no lock; does nothing before the first v2 mount.
    pub fn account_cputime(&self, slot: &TaskSlot, ns: u64) {
        let u = self.unified_slot.load(Ordering::Acquire);
        if u == NO_UNIFIED {
            return;
        }
        let guard = self.rcu_read_lock();
        let (Some(cg), _) = untag(rcu_dereference(slot.raw(), &guard)) else {
            return;
        };
        // SAFETY: under the guard.
        if !unsafe { self.owns(cg) } {
            return;
        }
        // SAFETY: under the guard, the css_group and the containers it names are valid,
        // and the unified root is never freed.
        let c = NonNull::new(unsafe { cg.as_ref() }.container(u))
            .or_else(|| NonNull::new(self.unified_root.load(Ordering::Acquire)));
        if let Some(c) = c {
            // SAFETY: as above.
            unsafe { c.as_ref() }
                .cpu_usage_ns
                .fetch_add(ns, Ordering::Relaxed);
        }
    }

    /// The CPU time the tasks of v2 group `dir` and its descendants ran, in nanoseconds
    /// (`cpu.stat`'s `usage_usec` before it is cut to microseconds): what a host shows
    /// for a controller that is implicit on v2 (`perf_event`'s cgroup time).
    ///
    /// # Errors
    ///
    /// `ENOTDIR` for a file, `ENODEV` if `dir` was removed.
    pub fn subtree_cpu_ns_of(&self, dir: &super::nodes::Node) -> Result<u64> {
        let tree = self.tree.lock();
        let c = Self::dir_container(&tree, dir)?;
        Ok(self.subtree_cpu_ns(&tree, c))
    }

    /// `cpu.stat`'s CPU time of `c`'s subtree in nanoseconds, under the hierarchy lock.
    pub(super) fn subtree_cpu_ns(&self, tree: &Tree, c: &Container) -> u64 {
        let mut ns = 0u64;
        let mut cur = Some(c);
        while let Some(d) = cur {
            ns = ns.saturating_add(d.cpu_usage_ns.load(Ordering::Relaxed));
            cur = next_pre(c, d, tree);
        }
        ns
    }
}
