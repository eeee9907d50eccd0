//! Controllers on the unified hierarchy: which are offered, and what enabling or
//! disabling one in `cgroup.subtree_control` does (Linux `cgroup_apply_control`,
//! `cgroup_update_dfl_csses`, kernel/cgroup/cgroup.c).
//!
//! A controller is on v2 when it is bound to no v1 hierarchy and has a v2 interface
//! (files marked [`CfFlags::ON_DFL`] or [`CfFlags::ONLY_ON_DFL`]; Linux's `dfl_cftypes`),
//! and Linux does not inhibit it there. Its root state is the same `root_css` a v1 root
//! would hold. Enabling it in a group's `cgroup.subtree_control` makes a state in each
//! child; every task below then uses its nearest ancestor's state
//! ([`crate::rules::HierarchyRules::effective_css`]). Disabling removes those states.
//!
//! A controller that keeps nothing per task ([`crate::Subsystem::NO_TASK_STATE`]),
//! enabled or disabled alone, is re-pointed in place: each affected css_group's slot of
//! it changes atomically, O(css_groups), and no task moves. Otherwise a change replaces
//! each affected css_group (one whose unified container lies strictly below the
//! group) by a new one with the same containers and the new states, and moves its tasks
//! over with the subsystems' `can_attach`/`attach`, all or nothing, as Linux migrates every
//! task of the affected css_sets (the other states of a css_group do not change under a
//! task, so a task never sees a mix). The old css_group is *retired* first: no fork links a
//! child into it any more (the fork retries from its parent's slot), so no task is left
//! behind. The cost is O(affected css_groups + their tasks), as in Linux.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ptr::{self, NonNull};

use arrayvec::ArrayVec;

use super::{Gpc, Tree};
use crate::container::Container;
use crate::cssgroup::{untag, CssGroup};
use crate::error::Result;
use crate::files::{next_pre, CfFlags};
use crate::host::alloc::{try_reserve, with_flags, Gfp};
use crate::host::task::TaskSlot;
use crate::host::Host;
use crate::primitive::Ordering;
use crate::subsys::{CssHeader, CssRef, SubsysId, TaskInfo, MAX_SUBSYS};

/// One affected css_group and its replacement.
struct Rebind {
    old: NonNull<CssGroup>,
    new: NonNull<CssGroup>,
    /// The subsystems whose state differs.
    changed: u32,
}

/// One task to move: its slot and the value it had when listed.
struct Mover {
    slot: *const TaskSlot,
    seen: *mut CssGroup,
    info: TaskInfo,
    /// Index into the rebind list.
    at: usize,
}

impl<H: Host> Gpc<H> {
    /// Whether subsystem `ss` has a v2 interface (Linux: `dfl_cftypes`), and Linux offers
    /// it on v2 at all (`cgrp_dfl_inhibit_ss_mask`).
    pub(super) fn has_dfl_files(&self, ss: SubsysId) -> bool {
        let Some(sub) = self.subsys.get(ss) else {
            return false;
        };
        crate::rules::has_v2_interface(sub.name())
            && (0..sub.file_count()).any(|i| {
                sub.file_info(i)
                    .is_some_and(|f| f.flags.intersects(CfFlags::ON_DFL | CfFlags::ONLY_ON_DFL))
            })
    }

    /// The controllers on the unified hierarchy (Linux `cgrp_dfl_root.subsys_mask` less
    /// the inhibited ones): those with a v2 interface that no v1 hierarchy holds. Under
    /// the hierarchy lock.
    pub(super) fn dfl_subsys_mask(&self, tree: &Tree) -> u32 {
        let offered = self.v2_offered.load(Ordering::Relaxed);
        (0..self.subsys.len())
            .filter(|&ss| tree.bound.get(ss).copied().flatten().is_none() && self.has_dfl_files(ss))
            .fold(0, |m, ss| m | 1 << ss)
            & offered
    }

    /// Which controllers the unified hierarchy may offer (a mask of [`SubsysId`] bits;
    /// all by default), for a host that models a machine whose controllers are held
    /// elsewhere: Linux offers on v2 only what no v1 hierarchy holds, and a kernel whose
    /// boot mounted v1 hierarchies for its controllers (outside the view of whoever mounts
    /// cgroup2 next) offers none. Set it before the first `mount -t cgroup2`; a
    /// controller some group already uses stays where it is.
    pub fn offer_on_v2(&self, mask: u32) {
        let _tree = self.tree.lock();
        self.v2_offered.store(mask, Ordering::Relaxed);
    }

    /// Container `c`'s own state of `ss` in the unified hierarchy: the root holds the
    /// controllers' root states.
    pub(super) fn dfl_own_css(&self, c: &Container, ss: SubsysId) -> Option<NonNull<CssHeader>> {
        if c.is_root() {
            return self.root_css.get(ss).copied();
        }
        c.css_ref(ss).map(|r| r.raw())
    }

    /// Make the state of each controller of `enable` in every live child of `p`, for an
    /// enable of `p`'s `cgroup.subtree_control` (Linux `cgroup_apply_control_enable`).
    /// All or nothing: on error the states made are gone again.
    fn make_child_states(&self, tree: &Tree, p: &Container, enable: u32) -> Result {
        for &child in p.children(tree) {
            // SAFETY: children are alive under the hierarchy lock.
            let c = unsafe { child.as_ref() };
            if c.dead.load(Ordering::Acquire) {
                continue;
            }
            for ss in (0..self.subsys.len()).filter(|ss| enable & (1 << ss) != 0) {
                let (Some(sub), Some(parent)) = (self.subsys.get(ss), self.dfl_own_css(p, ss))
                else {
                    continue;
                };
                // SAFETY: the parent's state is alive under the hierarchy lock.
                let parent = unsafe { CssRef::from_raw(parent) };
                match sub.create_css(ss, Some(parent), c.id, self.host.nr_cpus()) {
                    Ok(css) => {
                        if let Some(slot) = c.css.get(ss) {
                            slot.store(css.as_ptr(), Ordering::Release);
                        }
                    }
                    Err(e) => {
                        self.drop_new_child_states(tree, p, enable);
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    /// Undo [`Gpc::make_child_states`]: destroy the states of `enable` in `p`'s
    /// children. Only those it made can be there: a controller being enabled in `p` was
    /// not enabled before, so no child had its state.
    fn drop_new_child_states(&self, tree: &Tree, p: &Container, enable: u32) {
        for &child in p.children(tree) {
            // SAFETY: children are alive under the hierarchy lock.
            let c = unsafe { child.as_ref() };
            for ss in (0..self.subsys.len()).filter(|ss| enable & (1 << ss) != 0) {
                let Some(slot) = c.css.get(ss) else { continue };
                let css = slot.swap(ptr::null_mut(), Ordering::AcqRel);
                if let (Some(sub), Some(css)) = (self.subsys.get(ss), NonNull::new(css)) {
                    // SAFETY: made by make_child_states, named by no css_group.
                    sub.destroy(unsafe { CssRef::from_raw(css) });
                    self.css_put(css);
                }
            }
        }
    }

    /// Enable and disable controllers in `p`'s `cgroup.subtree_control` (Linux
    /// `cgroup_apply_control` + `cgroup_finalize_control`): make the enabled ones' states
    /// in the children, re-point every css_group below `p`, then drop the disabled ones'
    /// states. `enable` and `disable` are already checked (offered, not busy). All or
    /// nothing: `ENOMEM` or a subsystem's `can_attach` errno leaves everything as it was.
    pub(super) fn apply_subtree_control(
        &self,
        tree: &Tree,
        p: &Container,
        enable: u32,
        disable: u32,
    ) -> Result {
        self.make_child_states(tree, p, enable)?;
        // Take the disabled states out of the children (kept aside to restore or drop).
        let mut dropped: Vec<(NonNull<Container>, SubsysId, NonNull<CssHeader>)> = Vec::new();
        let n = p.children(tree).len() * disable.count_ones() as usize;
        if let Err(e) = try_reserve(&mut dropped, n, Gfp::KERNEL) {
            self.drop_new_child_states(tree, p, enable);
            return Err(e);
        }
        for &child in p.children(tree) {
            // SAFETY: as above.
            let c = unsafe { child.as_ref() };
            for ss in (0..self.subsys.len()).filter(|ss| disable & (1 << ss) != 0) {
                let Some(slot) = c.css.get(ss) else { continue };
                if let Some(css) = NonNull::new(slot.swap(ptr::null_mut(), Ordering::AcqRel)) {
                    dropped.push((child, ss, css));
                }
            }
        }
        let have = p.subtree_control.load(Ordering::Relaxed);
        p.subtree_control
            .store((have | enable) & !disable, Ordering::Relaxed);
        // One controller that keeps nothing per task: its slot is re-pointed in place.
        let changed = enable | disable;
        let in_place = changed.count_ones() == 1
            && self
                .subsys
                .get(changed.trailing_zeros() as usize)
                .is_some_and(|s| s.no_task_state());
        let res = if in_place {
            self.repoint_in_place(tree, p, changed.trailing_zeros() as usize);
            Ok(())
        } else {
            self.update_dfl_csses(tree, p)
        };
        if let Err(e) = res {
            p.subtree_control.store(have, Ordering::Relaxed);
            for (child, ss, css) in dropped.drain(..) {
                // SAFETY: as above.
                if let Some(slot) = unsafe { child.as_ref() }.css.get(ss) {
                    slot.store(css.as_ptr(), Ordering::Release);
                }
            }
            self.drop_new_child_states(tree, p, enable);
            return Err(e);
        }
        // No css_group names the dropped states any more (retired ones are freed after
        // a grace period, before the states are).
        for (_, ss, css) in dropped {
            if let Some(sub) = self.subsys.get(ss) {
                // SAFETY: still alive: its container's reference is dropped just below.
                sub.destroy(unsafe { CssRef::from_raw(css) });
            }
            self.css_put(css);
        }
        Ok(())
    }

    /// Replace every css_group whose unified container lies strictly below `top` and
    /// whose states changed, moving its tasks (Linux `cgroup_update_dfl_csses`). All or
    /// nothing.
    fn update_dfl_csses(&self, tree: &Tree, top: &Container) -> Result {
        let shard = self.shard();
        // 1. Pin the css_groups below `top`. None is made meanwhile (that takes the
        // hierarchy lock, held); one may die (its last task exiting): skipped.
        let mut pinned: Vec<NonNull<CssGroup>> = Vec::new();
        let count = {
            let table = self.table.lock();
            let mut n = 0usize;
            self.for_each_cg_below(tree, top, &table, &mut |_| n += 1);
            n
        };
        try_reserve(&mut pinned, count, Gfp::KERNEL)?;
        {
            let table = self.table.lock();
            self.for_each_cg_below(tree, top, &table, &mut |cg| {
                // SAFETY: linked, hence alive under the table lock.
                if pinned.len() < pinned.capacity() && unsafe { cg.as_ref() }.try_get(shard) {
                    pinned.push(cg);
                }
            });
        }
        let unpin = |pinned: &mut Vec<NonNull<CssGroup>>| {
            for cg in pinned.drain(..) {
                self.put_cg(cg, shard);
            }
        };
        // 2. Their new states, and a replacement for each that changed.
        let mut rebinds: Vec<Rebind> = Vec::new();
        if let Err(e) = try_reserve(&mut rebinds, pinned.len(), Gfp::KERNEL) {
            unpin(&mut pinned);
            return Err(e);
        }
        let drop_new = |rebinds: &mut Vec<Rebind>| {
            for r in rebinds.drain(..) {
                // SAFETY: never published.
                unsafe { crate::cssgroup::free_css_group_now(r.new) };
            }
        };
        for &old in pinned.iter() {
            // SAFETY: pinned.
            let o = unsafe { old.as_ref() };
            let mut subsys = [ptr::null_mut(); MAX_SUBSYS];
            let mut changed = 0u32;
            for (ss, slot) in subsys.iter_mut().enumerate().take(self.subsys.len()) {
                *slot = self.effective_css(tree, &o.key, ss).as_ptr();
                if o.css(ss) != *slot {
                    changed |= 1 << ss;
                }
            }
            if changed == 0 {
                continue;
            }
            match CssGroup::try_new(subsys, o.key, self.nr_shards, shard) {
                Ok(mut new) => {
                    new.owner = self.id();
                    rebinds.push(Rebind {
                        old,
                        new: NonNull::from(Box::leak(new)),
                        changed,
                    });
                }
                Err(e) => {
                    drop_new(&mut rebinds);
                    unpin(&mut pinned);
                    return Err(e);
                }
            }
        }
        // 3. Retire the old ones (no fork joins them now), then list their tasks.
        for r in rebinds.iter() {
            // SAFETY: pinned.
            Self::set_retired(unsafe { r.old.as_ref() }, true);
        }
        let unretire = |rebinds: &Vec<Rebind>| {
            for r in rebinds.iter() {
                // SAFETY: pinned.
                Self::set_retired(unsafe { r.old.as_ref() }, false);
            }
        };
        let mut movers: Vec<Mover> = Vec::new();
        let nr_tasks: usize = rebinds
            .iter()
            // SAFETY: pinned.
            .map(|r| Self::cg_tasks(unsafe { r.old.as_ref() }, &mut |_, _| {}))
            .sum();
        if let Err(e) = try_reserve(&mut movers, nr_tasks, Gfp::KERNEL) {
            unretire(&rebinds);
            drop_new(&mut rebinds);
            unpin(&mut pinned);
            return Err(e);
        }
        for (at, r) in rebinds.iter().enumerate() {
            // SAFETY: pinned.
            Self::cg_tasks(unsafe { r.old.as_ref() }, &mut |slot, seen| {
                // SAFETY: a linked slot, alive under its shard's lock (`cg_tasks`).
                let id = self.host.task_ids(unsafe { &*slot });
                if movers.len() < movers.capacity() {
                    movers.push(Mover {
                        slot,
                        seen,
                        info: TaskInfo {
                            pid: id.pid,
                            tgid: id.tgid,
                            is_thread: id.pid != id.tgid,
                        },
                        at,
                    });
                }
            });
        }
        // 4. can_attach for every task and changed subsystem, in subsystem order; the
        // ones asked are cancelled when one refuses (cgroup_migrate_execute).
        let subs: ArrayVec<SubsysId, MAX_SUBSYS> = (0..self.subsys.len())
            .filter(|ss| rebinds.iter().any(|r| r.changed & (1 << ss) != 0))
            .collect();
        let css_of = |cg: NonNull<CssGroup>, ss: SubsysId| self.pinned_css(cg, ss);
        for (n, &ss) in subs.iter().enumerate() {
            let Some(sub) = self.subsys.get(ss) else {
                continue;
            };
            let mut failed = None;
            for (i, m) in movers.iter().enumerate() {
                let Some(r) = rebinds.get(m.at) else { continue };
                if r.changed & (1 << ss) == 0 {
                    continue;
                }
                if let (Some(from), Some(to)) = (css_of(r.old, ss), css_of(r.new, ss)) {
                    if let Err(e) = sub.can_attach(&m.info, from, to) {
                        failed = Some((i, e));
                        break;
                    }
                }
            }
            if let Some((i, e)) = failed {
                let cancel = |ss: SubsysId, upto: usize| {
                    let Some(sub) = self.subsys.get(ss) else {
                        return;
                    };
                    for m in movers.iter().take(upto) {
                        let Some(r) = rebinds.get(m.at) else { continue };
                        if r.changed & (1 << ss) == 0 {
                            continue;
                        }
                        if let (Some(from), Some(to)) = (css_of(r.old, ss), css_of(r.new, ss)) {
                            sub.cancel_attach(&m.info, from, to);
                        }
                    }
                };
                cancel(ss, i);
                for &prev in subs.iter().take(n) {
                    cancel(prev, movers.len());
                }
                unretire(&rebinds);
                drop_new(&mut rebinds);
                unpin(&mut pinned);
                return Err(e);
            }
        }
        // 5. Commit: nothing fails from here. Each replacement enters the table and its
        // containers' lists in place of the old one, then the tasks move.
        {
            let mut table = self.table.lock();
            if let Err(e) = with_flags(Gfp::ATOMIC, || table.try_reserve_n(rebinds.len())) {
                drop(table);
                for &ss in subs.iter() {
                    let Some(sub) = self.subsys.get(ss) else {
                        continue;
                    };
                    for m in movers.iter() {
                        let Some(r) = rebinds.get(m.at) else { continue };
                        if let (Some(from), Some(to)) = (css_of(r.old, ss), css_of(r.new, ss)) {
                            sub.cancel_attach(&m.info, from, to);
                        }
                    }
                }
                unretire(&rebinds);
                drop_new(&mut rebinds);
                unpin(&mut pinned);
                return Err(e);
            }
            for r in rebinds.iter() {
                table.remove(r.old);
                table.insert(r.new);
                // SAFETY: just made, alive.
                let new = unsafe { r.new.as_ref() };
                for (hi, hier) in tree.hiers.iter().enumerate() {
                    let Some(hier) = hier else { continue };
                    let c = NonNull::new(new.container(hi)).unwrap_or(hier.root);
                    // The old css_group still links the same containers: none flips.
                    self.link_to_container(new, hi, c, &table);
                }
            }
        }
        for m in movers.iter() {
            let Some(r) = rebinds.get(m.at) else { continue };
            // SAFETY: the new css_group's creation reference keeps it alive.
            let got = unsafe { r.new.as_ref() }.try_get(shard);
            // SAFETY: the slot is a linked task's, listed under its shard lock; a task
            // that exited since is found out by `relink_task` (its slot changed).
            let slot = unsafe { &*m.slot };
            if got && CssGroup::relink_task(m.seen, slot, r.new, shard, tree) {
                for ss in (0..self.subsys.len()).filter(|ss| r.changed & (1 << ss) != 0) {
                    if let (Some(sub), Some(from), Some(to)) =
                        (self.subsys.get(ss), css_of(r.old, ss), css_of(r.new, ss))
                    {
                        sub.attach(&m.info, from, to);
                    }
                }
                // The task's reference on the old css_group.
                let (_, from_shard) = untag(m.seen);
                self.put_cg(r.old, from_shard);
            } else {
                for ss in (0..self.subsys.len()).filter(|ss| r.changed & (1 << ss) != 0) {
                    if let (Some(sub), Some(from), Some(to)) =
                        (self.subsys.get(ss), css_of(r.old, ss), css_of(r.new, ss))
                    {
                        sub.cancel_attach(&m.info, from, to);
                    }
                }
                if got {
                    self.put_cg(r.new, shard);
                }
            }
        }
        // The creation references of the replacements, and our pins of the old ones.
        for r in rebinds.drain(..) {
            self.put_cg(r.new, shard);
        }
        unpin(&mut pinned);
        Ok(())
    }

    /// Re-point subsystem `ss`'s slot of every css_group below `top` at its new
    /// effective state, in place: for a controller that keeps nothing per task
    /// ([`crate::Subsystem::NO_TASK_STATE`]) no task needs to move, so this costs
    /// O(css_groups) and cannot fail. Each slot changes atomically, and it is the only
    /// one that changes, so a task never sees a mix. Under the table lock, which keeps
    /// the css_groups from going.
    fn repoint_in_place(&self, tree: &Tree, top: &Container, ss: SubsysId) {
        let table = self.table.lock();
        self.for_each_cg_below(tree, top, &table, &mut |cg| {
            // SAFETY: linked, hence alive under the table lock.
            let g = unsafe { cg.as_ref() };
            let new = self.effective_css(tree, &g.key, ss).as_ptr();
            if let Some(slot) = g.subsys.get(ss) {
                slot.store(new, Ordering::Release);
            }
        });
    }

    /// Call `f` with each css_group linked to a container strictly below `top`, under
    /// the table lock.
    fn for_each_cg_below(
        &self,
        tree: &Tree,
        top: &Container,
        _table: &crate::cssgroup::CgTable,
        f: &mut dyn FnMut(NonNull<CssGroup>),
    ) {
        let mut cur = next_pre(top, top, tree);
        while let Some(d) = cur {
            // SAFETY: the container list is under the table lock, held.
            let mut link = unsafe { d.cgs.first() };
            while !link.is_null() {
                // SAFETY: a node of the container's list is `links[hier]` of a live
                // css_group (unlinked under the table lock before it is freed).
                let cg = unsafe { CssGroup::from_link(link, d.hier) };
                f(cg);
                // SAFETY: as above.
                link = unsafe { cg.as_ref() }
                    .links
                    .get(d.hier)
                    .map_or(ptr::null(), |l| unsafe { l.next() });
            }
            cur = next_pre(top, d, tree);
        }
    }

    /// Mark `cg` retired (or not again), under each of its shards' locks in turn, so a
    /// fork that links a child under one either did so before (and is listed) or sees it.
    fn set_retired(cg: &CssGroup, retired: bool) {
        for s in 0..cg.nr_shards() {
            if let Some(l) = cg.shard(s) {
                let _s = l.lock();
                cg.retired.store(retired, Ordering::Relaxed);
            }
        }
    }
}
