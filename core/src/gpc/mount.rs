//! Hierarchies: mount (reuse or make, bind subsystems), umount (destroy when the last
//! mount goes and no child is left), and the per-hierarchy limits (Linux
//! `cgroup1_get_tree`, `cgroup1_root_to_use`, `rebind_subsystems`, `cgroup_kill_sb`).
//!
//! A hierarchy's root container is null in every css_group key (see `crate::cssgroup`),
//! so binding or unbinding subsystems rewrites no css_group while lock-free readers use
//! them: only the root states' container pointers change.

use alloc::boxed::Box;
use alloc::string::String;
use core::ptr::NonNull;

use arrayvec::ArrayVec;

use super::{free_container, Gpc, Hierarchy, HierarchyId, Limits, Tree};
use crate::container::{Container, HierIdx};
use crate::error::{Error, Result};
use crate::host::alloc::{try_box, Gfp};
use crate::host::task::Caller;
use crate::host::Host;
use crate::options::{parse_mount_options, parse_v2_mount_options, V2Options};
use crate::primitive::Ordering;
use crate::rules::{V1_RULES, V2_RULES};
use crate::subsys::{set_css_container, CssRef, MAX_SUBSYS};

impl<H: Host> Gpc<H> {
    /// Mount a v1 hierarchy with `options` (Linux `cgroup1_get_tree`): an existing
    /// hierarchy that matches is reused (its mount count grows), otherwise a new one is
    /// made and the subsystems are bound to it.
    ///
    /// # Errors
    ///
    /// `EPERM` without `CAP_SYS_ADMIN`; the option errors of
    /// [`crate::options::parse_mount_options`]; `EBUSY` when a name matches a hierarchy
    /// with other subsystems or a subsystem is bound elsewhere; `EINVAL` when a new
    /// hierarchy would have neither subsystems nor `none`; `ENOSPC` past
    /// [`MAX_HIERARCHIES`](crate::MAX_HIERARCHIES); `ENOMEM`.
    pub fn mount(&self, options: &str, caller: &Caller<'_>) -> Result<HierarchyId> {
        self.mount_v1(options, caller, true)
    }

    /// [`Gpc::mount`]; `init`: the mounter is in the initial cgroup namespace, the only
    /// one that may make a hierarchy.
    pub(super) fn mount_v1(
        &self,
        options: &str,
        caller: &Caller<'_>,
        init: bool,
    ) -> Result<HierarchyId> {
        if !caller.creds.cap_sys_admin {
            return Err(Error::EPERM);
        }
        // cgroup1_parse_param matches `ss->legacy_name` (`blkio`, not `io`).
        let names: ArrayVec<&str, MAX_SUBSYS> =
            self.subsys.iter().map(|s| s.legacy_name()).collect();
        let opts = parse_mount_options(options, &names, caller.creds.cap_sys_admin)?;
        let mut tree = self.tree.lock();
        // cgroup1_root_to_use()
        for (idx, slot) in tree.hiers.iter_mut().enumerate() {
            let Some(h) = slot.as_deref_mut() else {
                continue;
            };
            if h.rules.unified() {
                continue;
            }
            let mut name_match = false;
            if let Some(name) = &opts.name {
                if *name != h.name {
                    continue;
                }
                name_match = true;
            }
            if (opts.subsys_mask != 0 || opts.none) && opts.subsys_mask != h.subsys_mask {
                if !name_match {
                    continue;
                }
                return Err(Error::EBUSY);
            }
            // Differing flags are ignored with a warning in Linux.
            h.mounts += 1;
            return Ok(HierarchyId(idx));
        }
        if opts.subsys_mask == 0 && !opts.none {
            return Err(Error::EINVAL);
        }
        // cgroup1_root_to_use(): "Hierarchies may only be created in the initial cgroup
        // namespace."
        if !init {
            return Err(Error::EPERM);
        }
        // Linux allocates the new root's id before binding the subsystems, so a mount
        // that then fails with EBUSY still uses an id up (doc/linux-v1-reference.md §1.5).
        let hid = self.alloc_hier_id(&tree);
        tree.next_hier_id = hid.wrapping_add(1).max(1);
        for ss in 0..self.subsys.len() {
            if opts.subsys_mask & (1 << ss) != 0 && tree.bound.get(ss).copied().flatten().is_some()
            {
                return Err(Error::EBUSY);
            }
        }
        // A controller leaves the unified hierarchy only while no v2 group below the
        // root has its state (Linux `rebind_subsystems`: EBUSY otherwise).
        let leaving = opts.subsys_mask & self.dfl_subsys_mask(&tree);
        let v2_root = Self::unified_index(&tree)
            .and_then(|u| tree.hiers.get(u).and_then(|h| h.as_deref()).map(|h| h.root));
        if let Some(v2_root) = v2_root.filter(|_| leaving != 0) {
            // SAFETY: a hierarchy's root lives as long as the hierarchy (lock held).
            let top = unsafe { v2_root.as_ref() };
            let mut cur = crate::files::next_pre(top, top, &tree);
            while let Some(c) = cur {
                if (0..self.subsys.len())
                    .any(|ss| leaving & (1 << ss) != 0 && c.css_ref(ss).is_some())
                {
                    return Err(Error::EBUSY);
                }
                cur = crate::files::next_pre(top, c, &tree);
            }
        }
        let idx = tree
            .hiers
            .iter()
            .position(Option::is_none)
            .ok_or(Error::ENOSPC)?;
        let name = opts.name.unwrap_or_default();
        let release_agent = opts.release_agent.unwrap_or_default();
        let root = self.new_root(&mut tree, idx, false)?;
        // SAFETY: just made, not yet shared.
        let rootc = unsafe { root.as_ref() };
        rootc
            .clone_children
            .store(opts.clone_children, Ordering::Relaxed);
        let hier = match try_box(
            Hierarchy {
                id: 0,
                subsys_mask: opts.subsys_mask,
                name,
                noprefix: opts.noprefix,
                release_agent,
                root,
                mounts: 1,
                nr_containers: 1,
                limits: Limits::MAX,
                rules: &V1_RULES,
                v2_options: V2Options::empty(),
            },
            Gfp::KERNEL,
        ) {
            Ok(h) => h,
            Err(e) => {
                // SAFETY: never published.
                drop(unsafe { Box::from_raw(root.as_ptr()) });
                return Err(e);
            }
        };
        // Nothing can fail from here on.
        let mut hier = hier;
        hier.id = hid;
        for ss in 0..self.subsys.len() {
            if opts.subsys_mask & (1 << ss) == 0 {
                continue;
            }
            if let (Some(css), Some(slot)) = (self.root_css.get(ss), rootc.css.get(ss)) {
                slot.store(css.as_ptr(), Ordering::Release);
                set_css_container(*css, rootc.id);
                if let Some(sub) = self.subsys.get(ss) {
                    // SAFETY: root states live as long as gpc.
                    sub.bind(unsafe { CssRef::from_raw(*css) }, true);
                }
            }
            if let Some(b) = tree.bound.get_mut(ss) {
                *b = Some(idx);
            }
        }
        if let Some(v2_root) = v2_root {
            // The controllers that left v2 leave the root's cgroup.subtree_control
            // (cgroup_propagate_control); no group below had their state.
            // SAFETY: as above.
            unsafe { v2_root.as_ref() }
                .subtree_control
                .fetch_and(!leaving, Ordering::Relaxed);
        }
        self.install_hierarchy(&mut tree, idx, hier);
        Ok(HierarchyId(idx))
    }

    /// A new hierarchy's root container for slot `idx`, with room reserved for it in
    /// the container index; owned by the caller until published. A root is populated for
    /// good (init never leaves: see `check_for_release`).
    fn new_root(&self, tree: &mut Tree, idx: HierIdx, unified: bool) -> Result<NonNull<Container>> {
        let id = self.next_container_id.fetch_add(1, Ordering::Relaxed);
        let mut root = Container::new(id, idx, None, String::new(), 0, free_container);
        root.unified = unified;
        root.populated.store(1, Ordering::Relaxed);
        let root = NonNull::from(Box::leak(try_box(root, Gfp::KERNEL)?));
        if let Err(e) = tree.reserve_index() {
            // SAFETY: never published.
            drop(unsafe { Box::from_raw(root.as_ptr()) });
            return Err(e);
        }
        Ok(root)
    }

    /// Put a new hierarchy in slot `idx` (room for its root in the container index was
    /// reserved): it cannot fail. Every task is in the new root, so every css_group is
    /// linked to it (Linux `cgroup_setup_root` links each css_set to the new root), so
    /// that a walk of the root finds them. Intrusive links: nothing to allocate.
    fn install_hierarchy(&self, tree: &mut Tree, idx: HierIdx, hier: Box<Hierarchy>) {
        let root = hier.root;
        if let Some(slot) = tree.hiers.get_mut(idx) {
            *slot = Some(hier);
        }
        tree.index(root);
        let table = self.table.lock();
        for cg in table.iter() {
            // SAFETY: in the table, hence alive.
            self.link_to_container(unsafe { cg.as_ref() }, idx, root, &table);
        }
    }

    /// Mount the unified hierarchy (`mount -t cgroup2 -o OPTIONS`, Linux
    /// `cgroup_get_tree`). There is one per instance: the first mount makes it, with
    /// every task in its root (Linux's `cgrp_dfl_root` exists from boot; here it exists
    /// once something mounted it, which is also when Linux starts to show it in
    /// `/proc/PID/cgroup`: `cgrp_dfl_visible`), and later mounts reuse it. Each mount
    /// sets the hierarchy's flags to its options (`apply_cgroup_root_flags`). It is
    /// never destroyed, also when its last mount goes. Its id is 0.
    ///
    /// No controller is on the unified hierarchy yet: `cgroup.controllers` is empty
    /// until the controllers have their v2 files.
    ///
    /// # Errors
    ///
    /// `EPERM` without `CAP_SYS_ADMIN`; `EINVAL` for an unknown option; `ENOSPC` when
    /// every hierarchy slot is taken; `ENOMEM`.
    pub fn mount_v2(&self, options: &str, caller: &Caller<'_>) -> Result<HierarchyId> {
        self.mount_v2_flags(options, caller, true)
    }

    /// [`Gpc::mount_v2`]; `apply`: the options become the hierarchy's flags (a mount
    /// from the initial cgroup namespace), else they are only checked.
    pub(super) fn mount_v2_flags(
        &self,
        options: &str,
        caller: &Caller<'_>,
        apply: bool,
    ) -> Result<HierarchyId> {
        if !caller.creds.cap_sys_admin {
            return Err(Error::EPERM);
        }
        let parsed = parse_v2_mount_options(options)?;
        let mut tree = self.tree.lock();
        if let Some(idx) = Self::unified_index(&tree) {
            if let Some(h) = tree.hiers.get_mut(idx).and_then(|h| h.as_deref_mut()) {
                h.mounts += 1;
                // cgroup_get_tree: apply_cgroup_root_flags() only from the initial
                // namespace.
                if apply {
                    h.v2_options = parsed;
                }
            }
            return Ok(HierarchyId(idx));
        }
        // Linux's default root exists from boot with no flags: a first mount from
        // another namespace leaves it so.
        let flags = if apply {
            parsed
        } else {
            crate::options::V2Options::empty()
        };
        let idx = tree
            .hiers
            .iter()
            .position(Option::is_none)
            .ok_or(Error::ENOSPC)?;
        let root = self.new_root(&mut tree, idx, true)?;
        let hier = match try_box(
            Hierarchy {
                id: 0,
                subsys_mask: 0,
                name: String::new(),
                noprefix: false,
                release_agent: String::new(),
                root,
                mounts: 1,
                nr_containers: 1,
                limits: Limits::MAX,
                rules: &V2_RULES,
                v2_options: flags,
            },
            Gfp::KERNEL,
        ) {
            Ok(h) => h,
            Err(e) => {
                // SAFETY: never published.
                drop(unsafe { Box::from_raw(root.as_ptr()) });
                return Err(e);
            }
        };
        // Nothing can fail from here on.
        self.install_hierarchy(&mut tree, idx, hier);
        self.unified_root.store(root.as_ptr(), Ordering::Release);
        self.unified_slot.store(idx, Ordering::Release);
        Ok(HierarchyId(idx))
    }

    /// The slot of the unified hierarchy, once mounted.
    pub(super) fn unified_index(tree: &Tree) -> Option<HierIdx> {
        tree.hiers
            .iter()
            .position(|h| h.as_deref().is_some_and(|h| h.rules.unified()))
    }

    /// Whether `hier` is the unified (v2) hierarchy.
    pub fn is_unified(&self, hier: HierarchyId) -> bool {
        Self::unified_index(&self.tree.lock()) == Some(hier.0)
    }

    /// The unified hierarchy, if it was ever mounted.
    pub fn unified_hierarchy(&self) -> Option<HierarchyId> {
        Self::unified_index(&self.tree.lock()).map(HierarchyId)
    }

    /// The next hierarchy id (cyclic like Linux's idr, skipping ids in use).
    fn alloc_hier_id(&self, tree: &Tree) -> u32 {
        let mut id = tree.next_hier_id.max(1);
        loop {
            if !tree.hiers.iter().flatten().any(|h| h.id == id) {
                return id;
            }
            id = id.wrapping_add(1).max(1);
        }
    }

    /// Drop one mount of `hier` (Linux `cgroup_kill_sb`). The last one destroys the
    /// hierarchy if it has no child containers, returning its subsystems to the dummy
    /// hierarchy; otherwise it lives on and a later matching mount finds it.
    ///
    /// # Errors
    ///
    /// `EINVAL` if `hier` is not mounted.
    pub fn umount(&self, hier: HierarchyId) -> Result {
        let mut tree = self.tree.lock();
        let h = tree
            .hiers
            .get_mut(hier.0)
            .and_then(|h| h.as_deref_mut())
            .ok_or(Error::EINVAL)?;
        if h.mounts == 0 {
            return Err(Error::EINVAL);
        }
        h.mounts -= 1;
        self.maybe_destroy_hierarchy(&mut tree, hier.0);
        Ok(())
    }

    fn maybe_destroy_hierarchy(&self, tree: &mut Tree, idx: HierIdx) {
        let Some(h) = tree.hiers.get(idx).and_then(|h| h.as_deref()) else {
            return;
        };
        // The unified hierarchy stays (Linux's is static: `cgrp_dfl_root`).
        if h.mounts != 0 || !h.root().children(tree).is_empty() || h.rules.unified() {
            return;
        }
        let mask = h.subsys_mask;
        let root = h.root;
        for ss in 0..self.subsys.len() {
            if mask & (1 << ss) == 0 {
                continue;
            }
            if let Some(css) = self.root_css.get(ss) {
                set_css_container(*css, 0);
                if let Some(sub) = self.subsys.get(ss) {
                    // SAFETY: root states live as long as gpc.
                    sub.bind(unsafe { CssRef::from_raw(*css) }, false);
                }
            }
            if let Some(b) = tree.bound.get_mut(ss) {
                *b = None;
            }
        }
        if let Some(slot) = tree.hiers.get_mut(idx) {
            *slot = None;
        }
        tree.unindex(root);
        {
            let table = self.table.lock();
            // SAFETY: the root's list is under the table lock, held; every node on it is
            // `links[idx]` of a live css_group.
            unsafe {
                loop {
                    let first = (*root.as_ptr()).cgs.first();
                    let Some(n) = first.as_ref() else { break };
                    n.del();
                }
            }
            drop(table);
        }
        // SAFETY: the root is unreachable now (no css_group names a root: roots are
        // null in keys); lock-free readers may still hold it through a root state's
        // container pointer, hence RCU.
        unsafe { self.host.call_rcu(NonNull::from(&(*root.as_ptr()).rcu)) };
    }

    /// Whether `hier` still exists (mounted, or alive with children).
    pub fn hierarchy_exists(&self, hier: HierarchyId) -> bool {
        self.tree
            .lock()
            .hiers
            .get(hier.0)
            .is_some_and(Option::is_some)
    }

    /// Set the depth and size limits of `hier` (default [`Limits::MAX`]). Containers
    /// already beyond new limits stay; only later `mkdir`s are refused.
    ///
    /// # Errors
    ///
    /// `ENOENT` if `hier` does not exist.
    pub fn set_hierarchy_limits(&self, hier: HierarchyId, limits: Limits) -> Result {
        let mut tree = self.tree.lock();
        let h = tree
            .hiers
            .get_mut(hier.0)
            .and_then(|h| h.as_deref_mut())
            .ok_or(Error::ENOENT)?;
        h.limits = limits;
        Ok(())
    }

    /// The depth and size limits of `hier`.
    pub fn hierarchy_limits(&self, hier: HierarchyId) -> Option<Limits> {
        self.tree
            .lock()
            .hiers
            .get(hier.0)
            .and_then(|h| h.as_deref())
            .map(|h| h.limits)
    }

    /// The id `/proc` shows for `hier`.
    pub fn hierarchy_proc_id(&self, hier: HierarchyId) -> Option<u32> {
        self.tree
            .lock()
            .hiers
            .get(hier.0)
            .and_then(|h| h.as_deref())
            .map(|h| h.id)
    }
}
