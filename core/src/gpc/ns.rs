//! Cgroup namespaces (Linux kernel/cgroup/namespace.c `copy_cgroup_ns`, cgroup.c
//! `cgroup_path_ns_locked`, `proc_cgroup_show`, `cgroup_do_get_tree`) and the three
//! `nsdelegate` checks keyed on them.
//!
//! Linux's namespace holds a reference on the css_set its creator was in (`root_cset`):
//! its cgroup in every hierarchy is the namespace's root. gpc keeps the same snapshot
//! by container *ids*, not by a css_group reference: in gpc a css_group that exists
//! keeps its containers populated and un-removable (populated counts linked
//! css_groups), whereas Linux counts a css_set only while it has tasks, so a namespace
//! must not hold one. Ids are never reused, so a snapshot never names another group;
//! it stores each root's ancestry (ids from the hierarchy root down), which is all that
//! paths relative to it need, also after the group was removed (Linux keeps the removed
//! cgroup's kernfs node, parent links included, until the namespace goes). The
//! namespace therefore holds nothing of gpc's: a host keeps one per task (Linux
//! `nsproxy`), shares it between the tasks that inherit it, and drops it.

use alloc::string::String;
use alloc::vec::Vec;
use core::ptr::NonNull;

use super::nodes::Node;
use super::{Gpc, HierarchyId, Tree};
use crate::container::Container;
use crate::cssgroup::{untag, MAX_HIERARCHIES};
use crate::error::{Error, Result};
use crate::host::alloc::{try_reserve_exact, try_reserve_str, Gfp};
use crate::host::rcu::rcu_dereference;
use crate::host::task::TaskSlot;
use crate::host::Host;
use crate::options::V2Options;

/// A cgroup namespace (Linux `struct cgroup_namespace`): the groups its creator was in,
/// one per hierarchy, as its root. Made by [`Gpc::cgroup_ns_of`]; `None` where an API
/// takes `Option<&CgroupNs>` is the initial namespace, whose root is every hierarchy's
/// root.
#[derive(Debug)]
pub struct CgroupNs {
    /// For every hierarchy slot, the ids of the containers from the hierarchy root down
    /// to the namespace's root there: `ids[spans[h].0..spans[h].1]`. Empty for a slot
    /// that had no hierarchy: one made later is seen from its root (every css_set,
    /// `root_cset` too, is linked to a new hierarchy's root).
    ids: Vec<u64>,
    spans: [(usize, usize); MAX_HIERARCHIES],
}

impl CgroupNs {
    /// The ancestry of the namespace's root in hierarchy slot `h` (hierarchy root first).
    fn chain(&self, h: usize) -> &[u64] {
        self.spans
            .get(h)
            .and_then(|&(a, b)| self.ids.get(a..b))
            .unwrap_or(&[])
    }

    /// The ancestry of the namespace root in `c`'s hierarchy, if it is that hierarchy's
    /// (not one that was destroyed since, its slot reused): `None` means "the root".
    fn chain_for(&self, c: &Container) -> Option<&[u64]> {
        let chain = self.chain(c.hier);
        let first = *chain.first()?;
        let mut top = c;
        while let Some(p) = top.parent_ref() {
            top = p;
        }
        (top.id == first && chain.len() > 1).then_some(chain)
    }

    /// Whether `c` is the namespace's root or below it (Linux `cgroup_is_descendant(c,
    /// ns->root_cset->dfl_cgrp)`). A removed root has nothing below it.
    pub(super) fn contains(&self, c: &Container) -> bool {
        let Some(chain) = self.chain_for(c) else {
            return true;
        };
        let (Some(&root), Some(nsdepth)) = (chain.last(), chain.len().checked_sub(1)) else {
            return true;
        };
        let mut x = Some(c);
        while let Some(cur) = x {
            if cur.depth < nsdepth {
                return false;
            }
            if cur.id == root {
                return true;
            }
            x = cur.parent_ref();
        }
        false
    }

    /// Whether `c` is the namespace's root (the nsdelegate write barrier's test,
    /// `ctx->ns->root_cset->dfl_cgrp == cgrp`).
    pub(super) fn is_root(&self, c: &Container) -> bool {
        match self.chain_for(c) {
            Some(chain) => chain.last() == Some(&c.id),
            None => c.is_root(),
        }
    }
}

impl<H: Host> Gpc<H> {
    /// A new cgroup namespace rooted at the groups the task with `slot` is in now, in
    /// every hierarchy (Linux `copy_cgroup_ns`: `root_cset` is the calling thread's
    /// css_set). Later moves of the task do not change it. The caller checks
    /// `CAP_SYS_ADMIN` (`EPERM`) first, as `copy_cgroup_ns` does.
    ///
    /// # Errors
    ///
    /// `ESRCH` if the task has no css_group, `EINVAL` if it belongs to another instance,
    /// `ENOMEM` (nothing made).
    pub fn cgroup_ns_of(&self, slot: &TaskSlot) -> Result<CgroupNs> {
        let tree = self.tree.lock();
        let mut at: [Option<NonNull<Container>>; MAX_HIERARCHIES] = [None; MAX_HIERARCHIES];
        {
            let guard = self.rcu_read_lock();
            let (Some(cg), _) = untag(rcu_dereference(slot.raw(), &guard)) else {
                return Err(Error::ESRCH);
            };
            // SAFETY: under the guard (see `owns`).
            if !unsafe { self.owns(cg) } {
                return Err(Error::EINVAL);
            }
            for (h, hier) in tree.hiers.iter().enumerate() {
                let Some(hier) = hier else { continue };
                // SAFETY: under the guard.
                let c = unsafe { (*cg.as_ptr()).container(h) };
                if let Some(slot) = at.get_mut(h) {
                    *slot = Some(NonNull::new(c).unwrap_or(hier.root));
                }
            }
        }
        // The containers stay alive without the guard: the hierarchy lock is held and
        // rmdir takes it.
        let total = at
            .iter()
            .flatten()
            // SAFETY: alive under the hierarchy lock (above).
            .map(|c| unsafe { c.as_ref() }.depth.saturating_add(1))
            .fold(0usize, usize::saturating_add);
        let mut ids: Vec<u64> = Vec::new();
        try_reserve_exact(&mut ids, total, Gfp::KERNEL)?;
        let mut spans = [(0usize, 0usize); MAX_HIERARCHIES];
        for (h, c) in at.iter().enumerate() {
            let Some(c) = c else { continue };
            let start = ids.len();
            // SAFETY: as above.
            let mut cur = Some(unsafe { c.as_ref() });
            while let Some(x) = cur {
                ids.push(x.id);
                cur = x.parent_ref();
            }
            if let Some(part) = ids.get_mut(start..) {
                part.reverse();
            }
            if let Some(s) = spans.get_mut(h) {
                *s = (start, ids.len());
            }
        }
        drop(tree);
        Ok(CgroupNs { ids, spans })
    }

    /// `/proc/PID/cgroup` of the task with `slot` as a reader in namespace `ns` sees it
    /// (Linux `proc_cgroup_show` with `current`'s namespace, `cgroup_path_ns_locked`):
    /// each path relative to the namespace's root in its hierarchy: `/` at the root,
    /// one `/..` per level from it up to the nearest common ancestor, then the names
    /// down to the group. `None`: the initial namespace (absolute paths, as
    /// [`Gpc::proc_pid_cgroup`]).
    ///
    /// # Errors
    ///
    /// As [`Gpc::proc_pid_cgroup`] (`ENAMETOOLONG` for a path of `PATH_MAX` or more).
    pub fn proc_pid_cgroup_ns(
        &self,
        slot: &TaskSlot,
        ns: Option<&CgroupNs>,
        buf: &mut Vec<u8>,
    ) -> Result {
        let start = buf.len();
        // Written under an RCU read-side section: the buffer grows atomically.
        let res = self.proc_pid_cgroup_inner(slot, ns, &mut crate::files::Out::atomic(buf));
        if res.is_err() {
            buf.truncate(start);
        }
        res
    }

    /// The path of `c` as seen from namespace `ns` (`kernfs_path_from_node(c, nsroot)`).
    pub(super) fn container_path_ns(
        &self,
        c: &Container,
        ns: Option<&CgroupNs>,
        out: &mut String,
        flags: Gfp,
    ) -> Result {
        let Some(chain) = ns.and_then(|ns| ns.chain_for(c)) else {
            return self.container_path(c, out, flags);
        };
        let nsdepth = chain.len().saturating_sub(1);
        // The nearest common ancestor: first up to the namespace root's depth, then up
        // in step with its ancestry until the two meet (the hierarchy roots do).
        let mut x = c;
        while x.depth > nsdepth {
            x = x.parent_ref().ok_or(Error::EINVAL)?;
        }
        while chain.get(x.depth) != Some(&x.id) {
            x = x.parent_ref().ok_or(Error::EINVAL)?;
        }
        let ups = nsdepth.saturating_sub(x.depth);
        let mut full = String::new();
        self.container_path(c, &mut full, flags)?;
        let below = if x.is_root() {
            if c.is_root() {
                ""
            } else {
                full.as_str()
            }
        } else {
            let mut top = String::new();
            self.container_path(x, &mut top, flags)?;
            full.get(top.len()..).unwrap_or("")
        };
        if ups == 0 && below.is_empty() {
            try_reserve_str(out, 1, flags)?;
            out.push('/');
            return Ok(());
        }
        try_reserve_str(
            out,
            ups.saturating_mul(3).saturating_add(below.len()),
            flags,
        )?;
        for _ in 0..ups {
            out.push_str("/..");
        }
        out.push_str(below);
        Ok(())
    }

    /// Whether the hierarchy of `c` has `nsdelegate` on (only the unified one can).
    pub(super) fn nsdelegate(tree: &Tree, c: &Container) -> bool {
        tree.hiers
            .get(c.hier)
            .and_then(|h| h.as_deref())
            .is_some_and(|h| h.v2_options.contains(V2Options::NSDELEGATE))
    }

    /// `mount -t cgroup2` by a task in namespace `ns` (Linux `cgroup_get_tree` and
    /// `cgroup_do_get_tree`): the unified hierarchy's one superblock, but the mount's
    /// root is the namespace's root group there (a non-root group, with that group's
    /// files), and the options, parsed and checked, are not applied (only the initial
    /// namespace sets the hierarchy's flags). Returns the hierarchy and the node of the
    /// mount's root directory. `None`: [`Gpc::mount_v2`] and the hierarchy's root.
    ///
    /// # Errors
    ///
    /// Those of [`Gpc::mount_v2`]; `ENOENT` if the namespace's root group was removed
    /// (`kernfs_node_dentry` finds no such name), with the mount count as it was.
    pub fn mount_v2_ns(
        &self,
        options: &str,
        caller: &crate::host::task::Caller<'_>,
        ns: Option<&CgroupNs>,
    ) -> Result<(HierarchyId, Node)> {
        let hier = self.mount_v2_flags(options, caller, ns.is_none())?;
        self.ns_mount_root(hier, ns)
    }

    /// `mount -t cgroup` by a task in namespace `ns` (Linux `cgroup1_get_tree`,
    /// `cgroup_do_get_tree`): as [`Gpc::mount`], but only an existing hierarchy may be
    /// mounted from a namespace other than the initial one, and the mount's root is the
    /// namespace's root group in it. Returns the hierarchy and the node of the mount's
    /// root directory.
    ///
    /// # Errors
    ///
    /// Those of [`Gpc::mount`]; `EPERM` for a mount from another namespace that would
    /// make a hierarchy (after the option errors); `ENOENT` as for
    /// [`Gpc::mount_v2_ns`].
    pub fn mount_ns(
        &self,
        options: &str,
        caller: &crate::host::task::Caller<'_>,
        ns: Option<&CgroupNs>,
    ) -> Result<(HierarchyId, Node)> {
        let hier = self.mount_v1(options, caller, ns.is_none())?;
        self.ns_mount_root(hier, ns)
    }

    /// The root of a mount of `hier` just counted, made from namespace `ns`: the
    /// namespace's root group there; on failure the mount count is given back.
    fn ns_mount_root(
        &self,
        hier: HierarchyId,
        ns: Option<&CgroupNs>,
    ) -> Result<(HierarchyId, Node)> {
        let tree = self.tree.lock();
        let h = Self::hierarchy(&tree, hier)?;
        // SAFETY: a hierarchy's root lives as long as the hierarchy (lock held).
        let root = unsafe { h.root.as_ref() };
        let Some(ns) = ns else {
            return Ok((hier, Node::dir(hier, root.id)));
        };
        let chain = ns.chain_for(root).unwrap_or(&[]);
        let Some(&id) = chain.last() else {
            return Ok((hier, Node::dir(hier, root.id)));
        };
        if tree.container_by_id(id).is_some() {
            return Ok((hier, Node::dir(hier, id)));
        }
        drop(tree);
        // Give back the mount count taken above.
        let _ = self.umount(hier);
        Err(Error::ENOENT)
    }
}
