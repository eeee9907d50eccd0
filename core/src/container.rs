//! Containers: one group in one hierarchy (Linux `struct cgroup`).
//!
//! A container is owned by its parent's child list and freed (after a grace period) by
//! `rmdir` or when its hierarchy is destroyed. Fields split by who may touch them:
//! - immutable after creation: id, hierarchy, parent, name, depth;
//! - under the hierarchy lock (`cgroup_mutex`): the child list, the css array's slots;
//! - under the css_group table lock (`css_set_lock`): the list of css_groups linked here;
//! - atomics read anywhere: the flags and counters the exit path checks.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::ptr::NonNull;

use crate::cssgroup::CssGroup;
use crate::host::rcu::RcuHead;
use crate::primitive::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use crate::subsys::{CssHeader, CssRef, SubsysId, MAX_SUBSYS};

/// The index of a hierarchy slot in a `Gpc` (not the id `/proc` shows).
pub type HierIdx = usize;

/// A container (opaque outside gpc-core).
pub struct Container {
    /// Unique for the life of the `Gpc`, never reused.
    pub(crate) id: u64,
    pub(crate) hier: HierIdx,
    pub(crate) parent: Option<NonNull<Container>>,
    pub(crate) name: String,
    pub(crate) depth: usize,
    /// Under the hierarchy lock.
    children: UnsafeCell<Vec<NonNull<Container>>>,
    /// The container's own state per subsystem bound to the hierarchy (null for others).
    /// Written under the hierarchy lock before the container is published.
    pub(crate) css: [AtomicPtr<CssHeader>; MAX_SUBSYS],
    pub(crate) notify_on_release: AtomicBool,
    pub(crate) clone_children: AtomicBool,
    /// css_groups that name this container (Linux `cgrp_cset_link`s). Under the table
    /// lock. Empty means no task is in the container.
    pub(crate) csets: UnsafeCell<Vec<NonNull<CssGroup>>>,
    /// `csets.len()`, readable without the table lock.
    pub(crate) nr_csets: AtomicUsize,
    /// Live children, readable without the hierarchy lock (release checks).
    pub(crate) nr_children: AtomicUsize,
    /// Descendant containers with tasks, plus 1 if this one has tasks: populated when
    /// non-zero (Linux `nr_populated_*`). Under the table lock.
    pub(crate) populated: AtomicUsize,
    /// Removed by rmdir (or being torn down); never attached to again.
    pub(crate) dead: AtomicBool,
    /// Release queue membership, under the release queue lock.
    pub(crate) release_queued: AtomicBool,
    pub(crate) rcu: RcuHead,
}

// SAFETY: the UnsafeCell fields are only accessed under the locks documented on them
// (hierarchy lock, table lock); everything else is immutable or atomic.
unsafe impl Send for Container {}
// SAFETY: as for Send.
unsafe impl Sync for Container {}

impl Container {
    pub(crate) fn new(
        id: u64,
        hier: HierIdx,
        parent: Option<NonNull<Container>>,
        name: String,
        depth: usize,
        free: unsafe fn(NonNull<RcuHead>),
    ) -> Self {
        Container {
            id,
            hier,
            parent,
            name,
            depth,
            children: UnsafeCell::new(Vec::new()),
            css: core::array::from_fn(|_| AtomicPtr::new(core::ptr::null_mut())),
            notify_on_release: AtomicBool::new(false),
            clone_children: AtomicBool::new(false),
            csets: UnsafeCell::new(Vec::new()),
            nr_csets: AtomicUsize::new(0),
            nr_children: AtomicUsize::new(0),
            populated: AtomicUsize::new(0),
            dead: AtomicBool::new(false),
            release_queued: AtomicBool::new(false),
            rcu: RcuHead::new(free),
        }
    }

    pub(crate) fn is_root(&self) -> bool {
        self.parent.is_none()
    }

    pub(crate) fn parent_ref(&self) -> Option<&Container> {
        // SAFETY: a parent outlives its children (rmdir refuses a container with
        // children), and callers hold either the hierarchy lock or an RCU guard.
        self.parent.map(|p| unsafe { &*p.as_ptr() })
    }

    /// The child list. Caller holds the hierarchy lock.
    pub(crate) fn children_unlocked(&self) -> &Vec<NonNull<Container>> {
        // SAFETY: callers hold the hierarchy lock (all mutation happens under it).
        unsafe { &*self.children.get() }
    }

    /// The child list, for mutation.
    ///
    /// # Safety
    ///
    /// The caller holds the hierarchy lock and no other reference to the list is alive.
    #[allow(
        clippy::mut_from_ref,
        reason = "exclusivity is the hierarchy lock's, per the safety contract"
    )]
    pub(crate) unsafe fn children_mut(&self) -> &mut Vec<NonNull<Container>> {
        // SAFETY: forwarded from the caller.
        unsafe { &mut *self.children.get() }
    }

    /// The css_groups linked here, for mutation.
    ///
    /// # Safety
    ///
    /// The caller holds the table lock and no other reference to the list is alive.
    #[allow(
        clippy::mut_from_ref,
        reason = "exclusivity is the table lock's, per the safety contract"
    )]
    pub(crate) unsafe fn csets_mut(&self) -> &mut Vec<NonNull<CssGroup>> {
        // SAFETY: forwarded from the caller.
        unsafe { &mut *self.csets.get() }
    }

    /// The container's own state of subsystem `ss`.
    pub(crate) fn css_ref(&self, ss: SubsysId) -> Option<CssRef<'_>> {
        let p = NonNull::new(self.css.get(ss)?.load(Ordering::Acquire))?;
        // SAFETY: a container's css lives as long as the container.
        Some(unsafe { CssRef::from_raw(p) })
    }

    /// Whether this container or a descendant has tasks.
    pub(crate) fn is_populated_tree(&self) -> bool {
        self.populated.load(Ordering::Acquire) != 0
    }

    /// Whether this container itself has tasks.
    pub(crate) fn has_tasks(&self) -> bool {
        self.nr_csets.load(Ordering::Acquire) != 0
    }
}
