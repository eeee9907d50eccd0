//! css_groups as the instance sees them: finding or making one for a key, dropping the
//! last reference, and the populated counts that follow links (Linux `find_css_set`,
//! `put_css_set_locked`, `cgroup_update_populated`).
//!
//! The css_group type itself (its sharded counts and its table) is `crate::cssgroup`;
//! this file is where those counts meet the containers: a css_group links every
//! container of its key, and the first link or the last unlink flips a container's
//! populated state, which may queue a release. Everything here runs under the table
//! lock, or takes it.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ptr::{self, NonNull};

use super::{Gpc, Tree};
use crate::container::{Container, HierIdx};
use crate::cssgroup::{hash_key, untag, CgKey, CgTable, CssGroup, MAX_HIERARCHIES};
use crate::error::Result;
use crate::host::alloc::{try_reserve, with_flags, Gfp};
use crate::host::task::TaskSlot;
use crate::host::Host;
use crate::primitive::Ordering;
use crate::subsys::{CssHeader, CssRef, SubsysId, MAX_SUBSYS};

impl<H: Host> Gpc<H> {
    /// Drop a reference taken on `shard`; the last one unlinks and frees (after a grace
    /// period).
    pub(super) fn put_cg(&self, cg: NonNull<CssGroup>, shard: usize) {
        self.put_cg_inner(cg, shard, true);
    }

    pub(super) fn put_cg_inner(&self, cg: NonNull<CssGroup>, shard: usize, notify: bool) {
        // SAFETY: the caller's reference keeps it alive until we drop it.
        let cgr = unsafe { cg.as_ref() };
        if !cgr.put(shard) {
            return;
        }
        let mut table = self.table.lock();
        if !cgr.put_locked(shard, &table) {
            return;
        }
        table.remove(cg);
        // Walks parked in it move on while its container links still lead somewhere.
        self.evict_walks(cgr, &table);
        let mut queued = false;
        for h in 0..MAX_HIERARCHIES {
            if self.unlink_from_container(cgr, h, &table) {
                if let Some(c) = NonNull::new(cgr.container(h)) {
                    queued |= self.update_populated(c, false, notify, &table);
                }
            }
        }
        drop(table);
        if queued {
            self.host.release_queued();
        }
        // SAFETY: unlinked from the table and from every container, and no task slot
        // names it (count reached zero): only RCU readers can still see it.
        unsafe { self.host.call_rcu(NonNull::from(&cgr.rcu)) };
    }

    /// A container gained its first or lost its last css_group: update the populated
    /// counts up the tree and check for release (Linux `cgroup_update_populated`).
    /// Runs under the table lock (`_table`: its guarded data). Returns whether a release
    /// was queued.
    ///
    /// As in Linux, a container counts its populated *children*, so the walk stops at the
    /// first ancestor whose populated state does not flip: O(1) for a task moving between
    /// a container and its child however deep they are (`unshare` nests a task one level
    /// deeper each time), where counting every populated descendant would walk to the
    /// root on every change.
    fn update_populated(
        &self,
        c: NonNull<Container>,
        populated: bool,
        notify: bool,
        _table: &CgTable,
    ) -> bool {
        let mut queued = false;
        let mut cur = Some(c);
        // The container whose flip brought the walk here: the parent keeps a separate
        // count of its populated domain children (Linux `cgroup_update_populated`).
        let mut child: Option<NonNull<Container>> = None;
        while let Some(p) = cur {
            // SAFETY: the container and its ancestors are alive (table lock, linked).
            let cont = unsafe { p.as_ref() };
            // SAFETY: as above (the walk came up from it).
            if child.is_some_and(|ch| !unsafe { ch.as_ref() }.is_threaded()) {
                if populated {
                    cont.nr_populated_domain_children
                        .fetch_add(1, Ordering::AcqRel);
                } else {
                    cont.nr_populated_domain_children
                        .fetch_sub(1, Ordering::AcqRel);
                }
            }
            let before = if populated {
                cont.populated.fetch_add(1, Ordering::AcqRel)
            } else {
                cont.populated.fetch_sub(1, Ordering::AcqRel)
            };
            let flipped = if populated { before == 0 } else { before == 1 };
            if !flipped {
                break;
            }
            if !populated && notify {
                queued |= self.check_for_release(cont);
            }
            // v2: `cgroup.events` shows `populated` (the root has no such file).
            if cont.unified && !cont.is_root() {
                self.queue_notify(cont, crate::container::NOTIFY_EVENTS);
            }
            child = Some(p);
            cur = cont.parent;
        }
        queued
    }

    /// Find the css_group with `key`, or make it, with one reference taken for the
    /// caller. Under the hierarchy lock (`tree`, the evidence: no one else creates one
    /// meanwhile).
    /// Returns whether it was created.
    pub(super) fn find_or_create(
        &self,
        tree: &Tree,
        key: &CgKey,
        shard: usize,
    ) -> Result<(NonNull<CssGroup>, bool)> {
        let hash = hash_key(key);
        {
            let table = self.table.lock();
            if let Some(cg) = table.find(key, hash) {
                // SAFETY: in the table, hence alive with a count of at least one (the
                // last reference is dropped and the entry removed under this lock, so
                // `try_get` cannot fail here).
                if unsafe { cg.as_ref() }.try_get(shard) {
                    return Ok((cg, false));
                }
            }
        }
        let mut subsys = [ptr::null_mut(); MAX_SUBSYS];
        for (ss, slot) in subsys.iter_mut().enumerate().take(self.subsys.len()) {
            *slot = self.effective_css(tree, key, ss).as_ptr();
        }
        let mut new = CssGroup::try_new(subsys, *key, self.nr_shards, shard)?;
        new.owner = self.id();
        let cg = NonNull::from(Box::leak(new));
        let mut table = self.table.lock();
        // Under the table's spinning lock (Linux css_set_lock): atomic context. The
        // container links are intrusive: only the table may need room.
        if let Err(e) = with_flags(Gfp::ATOMIC, || table.try_reserve()) {
            drop(table);
            // SAFETY: never published.
            unsafe { crate::cssgroup::free_css_group_now(cg) };
            return Err(e);
        }
        table.insert(cg);
        // SAFETY: just made, alive.
        let cgr = unsafe { cg.as_ref() };
        for (h, hier) in tree.hiers.iter().enumerate() {
            let Some(hier) = hier else { continue };
            let c = NonNull::new(cgr.container(h)).unwrap_or(hier.root);
            if self.link_to_container(cgr, h, c, &table) {
                self.update_populated(c, true, false, &table);
            }
        }
        Ok((cg, true))
    }

    /// Link `cg` to container `c` of hierarchy `h` (Linux `link_css_set`). Returns
    /// whether `c` (not a root) thereby got its first css_group. Under the table lock.
    pub(super) fn link_to_container(
        &self,
        cg: &CssGroup,
        h: HierIdx,
        c: NonNull<Container>,
        _table: &CgTable,
    ) -> bool {
        let Some(node) = cg.links.get(h) else {
            return false;
        };
        // SAFETY: a container linked from a live css_group, or a hierarchy's root, is
        // alive under the table lock.
        let cont = unsafe { c.as_ref() };
        // SAFETY: the container lists are under the table lock, held; the css_group is
        // boxed and unlinks before it is freed, the container's head outlives its links.
        unsafe {
            if node.is_linked() {
                return false;
            }
            cont.cgs.add_head(node);
        }
        if cont.is_root() {
            return false;
        }
        cont.nr_csets.fetch_add(1, Ordering::AcqRel) == 0
    }

    /// Unlink `cg` from its container of hierarchy `h`, if linked. Returns whether that
    /// container (not a root) thereby lost its last css_group. Under the table lock.
    pub(super) fn unlink_from_container(
        &self,
        cg: &CssGroup,
        h: HierIdx,
        _table: &CgTable,
    ) -> bool {
        let Some(node) = cg.links.get(h) else {
            return false;
        };
        // SAFETY: under the table lock, held.
        unsafe {
            if !node.is_linked() {
                return false;
            }
            node.del();
        }
        let Some(c) = NonNull::new(cg.container(h)) else {
            return false;
        };
        // SAFETY: a container linked from a live css_group is alive.
        unsafe { c.as_ref() }
            .nr_csets
            .fetch_sub(1, Ordering::AcqRel)
            == 1
    }

    /// The state a task in the containers of `key` uses for subsystem `ss`.
    pub(super) fn effective_css(
        &self,
        tree: &Tree,
        key: &CgKey,
        ss: SubsysId,
    ) -> NonNull<CssHeader> {
        let root = self.root_css.get(ss).copied();
        let Some(root) = root else {
            return NonNull::dangling();
        };
        // Bound to a v1 hierarchy, or else on the unified one if it has a v2 interface
        // (enabled per subtree there: the nearest state above decides).
        let bound = tree.bound.get(ss).copied().flatten();
        let h = match bound {
            Some(h) => h,
            None => match Self::unified_index(tree) {
                Some(u) if self.has_dfl_files(ss) => u,
                _ => return root,
            },
        };
        let Some(hier) = tree.hiers.get(h).and_then(|x| x.as_deref()) else {
            return root;
        };
        let c = key.get(h).copied().unwrap_or(ptr::null_mut());
        let start = NonNull::new(c).unwrap_or(hier.root);
        // SAFETY: containers named by a key are alive under the hierarchy lock.
        hier.rules
            .effective_css(unsafe { start.as_ref() }, ss)
            .unwrap_or(root)
    }

    pub(super) fn pinned_css(&self, cg: NonNull<CssGroup>, ss: SubsysId) -> Option<CssRef<'_>> {
        // SAFETY: the caller holds a reference on `cg`.
        self.cg_css(unsafe { &*cg.as_ptr() }, ss)
    }

    /// Live css_groups.
    pub fn css_group_count(&self) -> usize {
        self.table.lock().len()
    }

    /// Every live css_group's reference count, and how many containers link it.
    pub fn css_group_refcounts(&self) -> Vec<(usize, usize)> {
        let table = self.table.lock();
        let mut v = Vec::new();
        if try_reserve(&mut v, table.len(), Gfp::ATOMIC).is_err() {
            return v;
        }
        for cg in table.iter() {
            // SAFETY: in the table, hence alive.
            let cg = unsafe { cg.as_ref() };
            v.push((cg.refs(), cg.key.iter().filter(|c| !c.is_null()).count()));
        }
        v
    }

    /// A stable identity of the task's css_group (its address), for tests.
    pub fn css_group_of(&self, slot: &TaskSlot) -> usize {
        untag(slot.raw().load(Ordering::Acquire))
            .0
            .map_or(0, |p| p.as_ptr() as usize)
    }

    /// The reference count of the init css_group's permanent reference holder, i.e. how
    /// many references the initial css_group has.
    pub fn init_css_group(&self) -> usize {
        self.init_cg.as_ptr() as usize
    }
}
