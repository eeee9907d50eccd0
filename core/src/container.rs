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
use core::ptr::NonNull;

use crate::gpc::Tree;
use crate::host::rcu::RcuHead;
use crate::list::{HHead, HNode};
use crate::primitive::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, UnsafeCell,
};
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
    children: UnsafeCell<Children>,
    /// This container's index in its parent's child list (under the hierarchy lock).
    sibling_pos: AtomicUsize,
    /// The container's own state per subsystem bound to the hierarchy (null for others).
    /// Written under the hierarchy lock before the container is published.
    pub(crate) css: [AtomicPtr<CssHeader>; MAX_SUBSYS],
    pub(crate) notify_on_release: AtomicBool,
    pub(crate) clone_children: AtomicBool,
    /// The css_groups that name this container (Linux `cgrp->cset_links`), through their
    /// `links[hier]` nodes; a root's list holds the css_groups whose key is null for its
    /// hierarchy. Under the table lock. Empty means no task is in the container.
    pub(crate) cgs: HHead,
    /// How many css_groups are on `cgs` (0 for a root: a root is populated for good),
    /// readable without the table lock.
    pub(crate) nr_csets: AtomicUsize,
    /// Live children, readable without the hierarchy lock (release checks).
    pub(crate) nr_children: AtomicUsize,
    /// Populated children, plus 1 if this one has tasks: populated when non-zero (Linux
    /// `nr_populated_csets` + `nr_populated_domain_children`). Under the table lock.
    pub(crate) populated: AtomicUsize,
    /// Removed by rmdir (or being torn down); never attached to again.
    pub(crate) dead: AtomicBool,
    /// Release queue membership, under the release queue lock.
    pub(crate) release_queued: AtomicBool,
    /// Live descendants (Linux `nr_descendants`), counted in the unified hierarchy only,
    /// under the hierarchy lock.
    pub(crate) nr_descendants: AtomicUsize,
    /// v2 `cgroup.max.descendants` and `cgroup.max.depth` ([`LIMIT_MAX`]: "max"), under
    /// the hierarchy lock.
    pub(crate) max_descendants: AtomicUsize,
    pub(crate) max_depth: AtomicUsize,
    /// v2 `cgroup.subtree_control`: the controllers this container enables in its
    /// children (a subsystem mask), under the hierarchy lock.
    pub(crate) subtree_control: AtomicU32,
    /// In the unified hierarchy (immutable after creation).
    pub(crate) unified: bool,
    /// v2 resource domain (Linux `cgrp->dom_cgrp`): null for a domain, which is its own;
    /// for a threaded container, the thread root whose domain it joined. Always an
    /// ancestor, so it outlives this container (a parent outlives its children). Written
    /// under the hierarchy lock (`cgroup.type`, kernel/cgroup/cgroup.c
    /// `cgroup_enable_threaded`); read under it or the table lock (`update_populated`,
    /// for a container whose type cannot change meanwhile: see [`Container::is_threaded`]).
    pub(crate) dom_cgrp: AtomicPtr<Container>,
    /// Live threaded children (Linux `nr_threaded_children`), under the hierarchy lock:
    /// non-zero makes this container a thread root.
    pub(crate) nr_threaded_children: AtomicUsize,
    /// Populated children that are domains (Linux `nr_populated_domain_children`),
    /// kept beside `populated` (which counts both kinds) by `update_populated`, under
    /// the table lock; one counter, so a reader under the hierarchy lock alone sees a
    /// stale value at worst, never a mix (as Linux's readers under `cgroup_mutex`).
    pub(crate) nr_populated_domain_children: AtomicUsize,
    /// This container's place in the queue of changed files (`Gpc::drain_notifications`),
    /// under the queue's lock; `notify_files` says which of its files changed
    /// ([`NOTIFY_EVENTS`]).
    pub(crate) notify_link: HNode,
    pub(crate) notify_files: AtomicU32,
    /// The v2 freezer's state (`cgroup.freeze`, `frozen` in `cgroup.events`).
    pub(crate) freezer: FreezerState,
    /// CPU time of the tasks that ran here, and of removed descendants (Linux folds a
    /// dying cgroup's rstat into its parent): `cpu.stat` sums the subtree.
    pub(crate) cpu_usage_ns: AtomicU64,
    /// Bumped twice by each `cgroup.kill` of this group or an ancestor, around its walk
    /// of the group's tasks (odd while it walks; Linux `kill_seq`, under the table
    /// lock): a fork that read an odd value, or one that changed by the time its child
    /// was linked, kills the child, so no child escapes a kill it raced.
    pub(crate) kill_seq: AtomicU32,
    /// v2 `cgroup.pressure`: whether the `*.pressure` files are shown (under the
    /// hierarchy lock).
    pub(crate) psi_enabled: AtomicBool,
    /// The group's pressure state (Linux `cgrp->psi`): made at mkdir for a unified
    /// container other than the root (whose figures are the system's), `None`
    /// otherwise. Read and written only under `Gpc`'s psi lock.
    pub(crate) psi: UnsafeCell<Option<crate::psi::PsiGroup>>,
    pub(crate) rcu: RcuHead,
}

/// The v2 freezer's per-group state (Linux `struct cgroup_freezer_state` and the
/// `CGRP_FREEZE`/`CGRP_FROZEN` flags, kernel/cgroup/freezer.c).
pub(crate) struct FreezerState {
    /// `cgroup.freeze` as written (under the hierarchy lock).
    pub(crate) freeze: AtomicBool,
    /// How many of this group and its ancestors have `freeze` set (`e_freeze`; under
    /// the hierarchy lock).
    pub(crate) e_freeze: AtomicU32,
    /// `CGRP_FREEZE`: the group's tasks are asked to stop. Written under the hierarchy
    /// and table locks, read anywhere (fork asks it without a lock).
    pub(crate) freezing: AtomicBool,
    /// `CGRP_FROZEN`: every task stopped and every descendant frozen (table lock).
    pub(crate) frozen: AtomicBool,
    /// Frozen descendants (`nr_frozen_descendants`; table lock).
    pub(crate) nr_frozen_descendants: AtomicUsize,
    /// Tasks here that reported stopping (`nr_frozen_tasks`; table lock).
    pub(crate) nr_frozen_tasks: AtomicUsize,
    /// When `freezing` was last set, and the time it was set before that
    /// (`freeze_start_nsec`, `frozen_nsec`: `cgroup.stat.local`'s `frozen_usec`; table
    /// lock).
    pub(crate) freeze_start_ns: AtomicU64,
    pub(crate) frozen_ns: AtomicU64,
}

impl FreezerState {
    // Not `const`: loom's atomics have no const constructor.
    fn new() -> Self {
        FreezerState {
            freeze: AtomicBool::new(false),
            e_freeze: AtomicU32::new(0),
            freezing: AtomicBool::new(false),
            frozen: AtomicBool::new(false),
            nr_frozen_descendants: AtomicUsize::new(0),
            nr_frozen_tasks: AtomicUsize::new(0),
            freeze_start_ns: AtomicU64::new(0),
            frozen_ns: AtomicU64::new(0),
        }
    }
}

/// `cgroup.events` changed by itself (Linux `cgroup_file_notify(&cgrp->events_file)`).
pub(crate) const NOTIFY_EVENTS: u32 = 1 << 0;

/// "max" in `cgroup.max.depth` and `cgroup.max.descendants` (Linux stores `INT_MAX`).
pub(crate) const LIMIT_MAX: usize = i32::MAX as usize;

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
            children: UnsafeCell::new(Children::new()),
            sibling_pos: AtomicUsize::new(0),
            css: core::array::from_fn(|_| AtomicPtr::new(core::ptr::null_mut())),
            notify_on_release: AtomicBool::new(false),
            clone_children: AtomicBool::new(false),
            cgs: HHead::new(),
            nr_csets: AtomicUsize::new(0),
            nr_children: AtomicUsize::new(0),
            populated: AtomicUsize::new(0),
            dead: AtomicBool::new(false),
            release_queued: AtomicBool::new(false),
            nr_descendants: AtomicUsize::new(0),
            max_descendants: AtomicUsize::new(LIMIT_MAX),
            max_depth: AtomicUsize::new(LIMIT_MAX),
            subtree_control: AtomicU32::new(0),
            unified: false,
            dom_cgrp: AtomicPtr::new(core::ptr::null_mut()),
            nr_threaded_children: AtomicUsize::new(0),
            nr_populated_domain_children: AtomicUsize::new(0),
            notify_link: HNode::new(),
            notify_files: AtomicU32::new(0),
            freezer: FreezerState::new(),
            cpu_usage_ns: AtomicU64::new(0),
            psi_enabled: AtomicBool::new(true),
            psi: UnsafeCell::new(None),
            kill_seq: AtomicU32::new(0),
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

    /// The child list, under the hierarchy lock (the `&Tree` is its guarded data: the
    /// evidence).
    pub(crate) fn children<'a>(&'a self, _tree: &'a Tree) -> &'a [NonNull<Container>] {
        // SAFETY: the hierarchy lock is held (`_tree`), and all mutation happens under it
        // through `children_mut`, whose callers keep no shared borrow alive.
        self.children.with(|p| unsafe { &*p }).list.as_slice()
    }

    /// The child list of a subtree the caller owns outright (being freed: no lock, no
    /// guard).
    ///
    /// # Safety
    ///
    /// No one else can reach the subtree, and the list is not changed while the slice
    /// is alive.
    pub(crate) unsafe fn children_owned(&self) -> &[NonNull<Container>] {
        // SAFETY: forwarded from the caller.
        self.children.with(|p| unsafe { &*p }).list.as_slice()
    }

    /// The child called `name`, in O(1), under the hierarchy lock (`_tree`).
    pub(crate) fn child_named<'a>(&'a self, name: &str, _tree: &'a Tree) -> Option<&'a Container> {
        // SAFETY: the hierarchy lock is held (`_tree`); all mutation happens under it.
        let children = self.children.with(|p| unsafe { &*p });
        // SAFETY: children are alive under the hierarchy lock.
        children.find(name).map(|c| unsafe { &*c.as_ptr() })
    }

    /// The index of this container in its parent's child list.
    pub(crate) fn sibling_pos(&self) -> usize {
        self.sibling_pos.load(Ordering::Relaxed)
    }

    /// The child list, for mutation, under the hierarchy lock (`_tree`).
    ///
    /// # Safety
    ///
    /// No other reference to the list is alive.
    #[allow(
        clippy::mut_from_ref,
        reason = "exclusivity is the hierarchy lock's, per the safety contract"
    )]
    pub(crate) unsafe fn children_mut<'a>(&'a self, _tree: &'a Tree) -> &'a mut Children {
        // SAFETY: forwarded from the caller.
        self.children.with_mut(|p| unsafe { &mut *p })
    }

    /// The child list of a subtree the caller owns outright, for mutation.
    ///
    /// # Safety
    ///
    /// As [`Container::children_owned`], and no other reference to the list is alive.
    #[allow(
        clippy::mut_from_ref,
        reason = "exclusivity is the caller's ownership, per the safety contract"
    )]
    pub(crate) unsafe fn children_owned_mut(&self) -> &mut Children {
        // SAFETY: forwarded from the caller.
        self.children.with_mut(|p| unsafe { &mut *p })
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

    /// Whether this v2 container is threaded (Linux `cgroup_is_threaded`: its domain is
    /// another container). Only an unpopulated container changes type, under the
    /// hierarchy lock, and only a task inside one (or a move, under the hierarchy lock)
    /// can populate it, so the table-lock side (`update_populated`) never sees it
    /// change under a populated count.
    pub(crate) fn is_threaded(&self) -> bool {
        !self.dom_cgrp.load(Ordering::Acquire).is_null()
    }

    /// The resource domain (Linux `cgrp->dom_cgrp`): this container, or for a threaded
    /// one its thread root.
    pub(crate) fn dom(&self) -> &Container {
        match NonNull::new(self.dom_cgrp.load(Ordering::Acquire)) {
            // SAFETY: `dom_cgrp` is an ancestor, and an ancestor outlives its
            // descendants (rmdir refuses a container with children).
            Some(d) => unsafe { &*d.as_ptr() },
            None => self,
        }
    }
}

/// A container's children: a list (for walks) and a name index (for path lookups), so
/// that `mkdir`, `rmdir` and path resolution stay O(1) however many siblings there are.
pub(crate) struct Children {
    list: Vec<NonNull<Container>>,
    index: hashbrown::HashTable<NonNull<Container>>,
}

/// FNV-1a over a name.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn child_hash(c: &NonNull<Container>) -> u64 {
    // SAFETY: indexed children are alive (removed from the index before they are freed).
    name_hash(&unsafe { c.as_ref() }.name)
}

impl Children {
    fn new() -> Self {
        Children {
            list: Vec::new(),
            index: hashbrown::HashTable::new(),
        }
    }

    fn find(&self, name: &str) -> Option<NonNull<Container>> {
        self.index
            .find(name_hash(name), |c| {
                // SAFETY: as in `child_hash`.
                unsafe { c.as_ref() }.name == name
            })
            .copied()
    }

    /// Make room for one more child, so that [`Children::push`] cannot fail.
    pub(crate) fn try_reserve(&mut self) -> crate::Result {
        self.list.try_reserve(1)?;
        self.index
            .try_reserve(1, child_hash)
            .map_err(|_| crate::Error::ENOMEM)
    }

    /// Add `c` (capacity reserved by [`Children::try_reserve`]).
    pub(crate) fn push(&mut self, c: NonNull<Container>) {
        // SAFETY: the caller passes a live container it is publishing.
        let cont = unsafe { c.as_ref() };
        cont.sibling_pos.store(self.list.len(), Ordering::Relaxed);
        self.list.push(c);
        self.index
            .insert_unique(name_hash(&cont.name), c, child_hash);
    }

    /// Remove `c` in O(1) (the last child takes its place in the list).
    pub(crate) fn remove(&mut self, c: NonNull<Container>) {
        // SAFETY: the caller passes a live child of this container.
        let cont = unsafe { c.as_ref() };
        if let Ok(e) = self.index.find_entry(name_hash(&cont.name), |x| *x == c) {
            e.remove();
        }
        let pos = cont.sibling_pos.load(Ordering::Relaxed);
        if self.list.get(pos) == Some(&c) {
            self.list.swap_remove(pos);
            if let Some(moved) = self.list.get(pos) {
                // SAFETY: a live child.
                unsafe { moved.as_ref() }
                    .sibling_pos
                    .store(pos, Ordering::Relaxed);
            }
        }
    }
}
