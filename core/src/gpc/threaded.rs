//! v2 threaded subtrees: `cgroup.type`, the resource domain of each group, and the
//! rules moves and `cgroup.subtree_control` follow because of them (Linux
//! kernel/cgroup/cgroup.c: the helpers at its top, `cgroup_enable_threaded`,
//! `cgroup_type_show`, `cgroup_migrate_vet_dst`, `cgroup_attach_permissions`,
//! `cgroup_vet_subtree_control_enable`).
//!
//! A group is a *domain* (its own resource domain, `Container::dom_cgrp` null) or
//! *threaded* (`dom_cgrp` is the thread root whose domain it joined). Everything else is
//! derived, as in Linux: a domain with threaded children (or with tasks and threaded
//! controllers enabled) is a *thread root*, and a domain below a threaded group or below
//! a non-root thread root is *invalid* (it can take no process and enable nothing). Only
//! the unified hierarchy has threaded groups; v1 containers stay domains.
//!
//! Cost: the type of a group and every check here walk its ancestors, O(depth), as
//! Linux's `cgroup_is_valid_domain`; making a group threaded walks its threaded
//! descendants once; mkdir and rmdir stay O(depth) (a counter on the parent).

use core::ptr;

use super::{Gpc, Tree};
use crate::container::Container;
use crate::error::{Error, Result};
use crate::files::Out;
use crate::host::Host;
use crate::primitive::Ordering;

/// The controllers that handle threads of one process in several groups
/// (`cgrp_dfl_threaded_ss_mask`: `.threaded = true` in `cpuset_cgrp_subsys`,
/// `cpu_cgrp_subsys`, `perf_event_cgrp_subsys`, `pids_cgrp_subsys`); every other
/// controller is a domain controller.
pub(crate) fn is_threaded_controller(name: &str) -> bool {
    matches!(name, "cpuset" | "cpu" | "perf_event" | "pids")
}

/// Linux `cgroup_is_thread_root`: a domain with threaded children, or with tasks of its
/// own and a threaded controller (of `tmask`) enabled for its children.
pub(crate) fn is_thread_root(c: &Container, tmask: u32) -> bool {
    if c.is_threaded() {
        return false;
    }
    if c.nr_threaded_children.load(Ordering::Relaxed) != 0 {
        return true;
    }
    c.has_tasks() && c.subtree_control.load(Ordering::Relaxed) & tmask != 0
}

/// Linux `cgroup_is_valid_domain`: `c` is a domain, and no ancestor is threaded or a
/// thread root other than the root (which may be both a thread root and the parent of
/// domains: `cgroup_is_mixable`).
pub(crate) fn is_valid_domain(c: &Container, tmask: u32) -> bool {
    if c.is_threaded() {
        return false;
    }
    let mut up = c.parent_ref();
    while let Some(a) = up {
        if (!a.is_root() && is_thread_root(a, tmask)) || a.is_threaded() {
            return false;
        }
        up = a.parent_ref();
    }
    true
}

/// Linux `cgroup_can_be_thread_root`: the root always; otherwise a domain with no
/// populated domain child (a group has either kind of children, not both) and no
/// domain controller (outside `tmask`) enabled for its children.
pub(crate) fn can_be_thread_root(c: &Container, tmask: u32) -> bool {
    if c.is_root() {
        return true;
    }
    if c.is_threaded() {
        return false;
    }
    if c.nr_populated_domain_children.load(Ordering::Acquire) != 0 {
        return false;
    }
    c.subtree_control.load(Ordering::Relaxed) & !tmask == 0
}

/// Linux `cgroup_migrate_vet_dst` and the thread rule of `cgroup_attach_permissions`:
/// may tasks of `src` move into `dst` (a whole process when `threadgroup`, else one
/// thread)? `tmask`: the threaded controllers.
///
/// # Errors
///
/// `EOPNOTSUPP` when `dst` cannot host resources (`domain invalid`, or inside a broken
/// threaded subtree), or a thread would leave its resource domain; `EBUSY` for a domain
/// with controllers enabled for its children that cannot be a thread root (the
/// no-internal-process rule; the root is exempt).
pub(crate) fn vet_dst(src: &Container, dst: &Container, threadgroup: bool, tmask: u32) -> Result {
    if !is_valid_domain(dst.dom(), tmask) {
        return Err(Error::EOPNOTSUPP);
    }
    let internal_ok = dst.is_root() || can_be_thread_root(dst, tmask) || dst.is_threaded();
    if !internal_ok && dst.subtree_control.load(Ordering::Relaxed) != 0 {
        return Err(Error::EBUSY);
    }
    if !threadgroup && !ptr::eq(src.dom(), dst.dom()) {
        return Err(Error::EOPNOTSUPP);
    }
    Ok(())
}

/// Linux `cgroup_vet_subtree_control_enable`: may `c` enable the controllers of
/// `enable` for its children? Threaded controllers (`tmask`) handle competition between
/// a group's own tasks and its children, so they are allowed in a (prospective) thread
/// subtree even with tasks here; domain controllers are not allowed there at all, and
/// elsewhere only without tasks of `c`'s own (the no-internal-process rule).
///
/// # Errors
///
/// `EOPNOTSUPP` for an invalid domain, or a domain controller in a thread root or a
/// threaded group; `EBUSY` for tasks in `c` (not the root).
pub(crate) fn vet_subtree_control_enable(c: &Container, enable: u32, tmask: u32) -> Result {
    if enable == 0 {
        return Ok(());
    }
    if !is_valid_domain(c.dom(), tmask) {
        return Err(Error::EOPNOTSUPP);
    }
    if c.is_root() {
        return Ok(());
    }
    if enable & !tmask != 0 {
        if is_thread_root(c, tmask) || c.is_threaded() {
            return Err(Error::EOPNOTSUPP);
        }
    } else if can_be_thread_root(c, tmask) || c.is_threaded() {
        return Ok(());
    }
    if c.has_tasks() {
        return Err(Error::EBUSY);
    }
    Ok(())
}

impl<H: Host> Gpc<H> {
    /// The mask of this instance's threaded controllers ([`is_threaded_controller`]).
    pub(super) fn threaded_ss_mask(&self) -> u32 {
        self.subsys
            .iter()
            .enumerate()
            .filter(|(_, s)| is_threaded_controller(s.name()))
            .fold(0, |m, (ss, _)| m | (1 << ss))
    }

    /// [`vet_dst`] with this instance's threaded controllers: what every v2 move checks
    /// after the writer's permission.
    pub(super) fn v2_vet_dst(&self, src: &Container, dst: &Container, threadgroup: bool) -> Result {
        vet_dst(src, dst, threadgroup, self.threaded_ss_mask())
    }

    /// [`vet_subtree_control_enable`] with this instance's threaded controllers.
    pub(super) fn vet_subtree_control_enable(&self, c: &Container, enable: u32) -> Result {
        vet_subtree_control_enable(c, enable, self.threaded_ss_mask())
    }

    /// `cgroup.type` (Linux `cgroup_type_show`): the first that holds of `threaded`,
    /// `domain invalid`, `domain threaded` (a thread root), `domain`.
    pub(super) fn cgroup_type_show(&self, c: &Container, out: &mut Out<'_>) -> Result {
        let tmask = self.threaded_ss_mask();
        let text: &[u8] = if c.is_threaded() {
            b"threaded\n"
        } else if !is_valid_domain(c, tmask) {
            b"domain invalid\n"
        } else if is_thread_root(c, tmask) {
            b"domain threaded\n"
        } else {
            b"domain\n"
        };
        out.bytes(text)
    }

    /// A `cgroup.type` write (Linux `cgroup_type_write`): only `threaded` (white space
    /// around it stripped) is accepted, and there is no way back.
    ///
    /// # Errors
    ///
    /// `EINVAL` for any other text (checked first, as Linux checks it before it
    /// locks); `ENOENT` for a removed group; those of [`Gpc::enable_threaded`].
    pub(super) fn cgroup_type_write(&self, tree: &Tree, c: &Container, data: &[u8]) -> Result {
        if crate::parse::strstrip(data) != b"threaded" {
            return Err(Error::EINVAL);
        }
        // cgroup_kn_lock_live(): a removed group is ENOENT for this file.
        if c.dead.load(Ordering::Acquire) {
            return Err(Error::ENOENT);
        }
        self.enable_threaded(tree, c)
    }

    /// Make `c` threaded (Linux `cgroup_enable_threaded`): `c` and its already threaded
    /// descendants join the resource domain of `c`'s parent; a no-op if `c` is
    /// threaded already.
    ///
    /// # Errors
    ///
    /// `EOPNOTSUPP` when `c` or a descendant has tasks, `c` enables a domain
    /// controller, or the parent's domain cannot become a thread root (it is invalid,
    /// has a populated domain child or enables a domain controller); `ENOENT` for the
    /// root, which has no `cgroup.type`.
    pub(super) fn enable_threaded(&self, tree: &Tree, c: &Container) -> Result {
        let Some(parent) = c.parent_ref() else {
            return Err(Error::ENOENT);
        };
        if c.is_threaded() {
            return Ok(());
        }
        let tmask = self.threaded_ss_mask();
        // Checked here as well as through can_be_thread_root below, which only covers
        // it when the parent is not the root (Linux's comment in cgroup_enable_threaded).
        if c.is_populated_tree() || c.subtree_control.load(Ordering::Relaxed) & !tmask != 0 {
            return Err(Error::EOPNOTSUPP);
        }
        let dom = parent.dom();
        if !is_valid_domain(dom, tmask) || !can_be_thread_root(dom, tmask) {
            return Err(Error::EOPNOTSUPP);
        }
        // Nothing below fails. Linux re-applies the subtree's control masks here
        // (`cgroup_apply_control`: a threaded group keeps only threaded controllers);
        // no controller is enabled on the unified hierarchy yet, so no state changes
        // and no task moves (the group is empty anyway).
        let dom_ptr = ptr::from_ref(dom).cast_mut();
        c.dom_cgrp.store(dom_ptr, Ordering::Release);
        // Its threaded descendants were in `c`'s domain: they follow it into `dom`'s
        // (`cgroup_for_each_live_descendant_pre` ... `dsct->dom_cgrp = dom_cgrp`).
        let mut pos = Self::next_in_domain(tree, c, c);
        while let Some(d) = pos {
            d.dom_cgrp.store(dom_ptr, Ordering::Release);
            pos = Self::next_in_domain(tree, d, c);
        }
        parent.nr_threaded_children.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The next threaded group after `pos` in a pre-order walk of the threaded groups
    /// below `root` (`root` itself excluded): the groups of `root`'s resource domain
    /// when `root` is a domain. Without allocating: from the first threaded child, or
    /// from the next threaded sibling of `pos` or of its nearest ancestor below `root`
    /// that has one. A threaded group's domain children are invalid and empty, and no
    /// group below one can be threaded (its domain would be invalid), so the walk
    /// never enters them.
    pub(super) fn next_in_domain<'t>(
        tree: &'t Tree,
        pos: &'t Container,
        root: &Container,
    ) -> Option<&'t Container> {
        let threaded = |list: &'t [core::ptr::NonNull<Container>]| {
            list.iter()
                // SAFETY: children are alive under the hierarchy lock (`tree`), which
                // the caller holds.
                .map(|c| unsafe { &*c.as_ptr() })
                .find(|c| c.is_threaded())
        };
        if pos.nr_threaded_children.load(Ordering::Relaxed) != 0 {
            if let Some(first) = threaded(pos.children(tree)) {
                return Some(first);
            }
        }
        let mut cur = pos;
        while !ptr::eq(cur, root) {
            let parent = cur.parent_ref()?;
            let siblings = parent.children(tree);
            if let Some(next) = threaded(siblings.get(cur.sibling_pos() + 1..).unwrap_or(&[])) {
                return Some(next);
            }
            cur = parent;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    //! The rules with controllers enabled, which no write can do yet on the unified
    //! hierarchy (no controller is offered there): the masks are set directly, with
    //! the probe subsystem standing for a threaded controller and the plain one for a
    //! domain controller.
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::format;
    use std::string::String;

    use super::{can_be_thread_root, is_thread_root, vet_dst, vet_subtree_control_enable};
    use crate::container::Container;
    use crate::gpc::Gpc;
    use crate::testing::TestHost;
    use crate::tests::World;
    use crate::{Creds, Error, HierarchyId};

    /// Probe (subsystem 0) plays a threaded controller, plain (1) a domain one.
    const T: u32 = 1 << 0;
    const D: u32 = 1 << 1;

    fn world() -> (World, HierarchyId) {
        let w = World::new();
        let h = w
            .gpc
            .mount_v2("", &w.tasks.caller(Creds::ROOT, None))
            .unwrap();
        (w, h)
    }

    /// `f` on the group at `path`, under the hierarchy lock.
    fn at<R>(w: &World, h: HierarchyId, path: &str, f: impl FnOnce(&Container) -> R) -> R {
        let tree = w.gpc.tree.lock();
        let node = w.gpc.lookup_locked(&tree, h, path).unwrap();
        f(Gpc::<TestHost>::dir_container(&tree, &node).unwrap())
    }

    /// `f` on the groups at `a` and `b`, under one hold of the hierarchy lock.
    fn at2<R>(
        w: &World,
        h: HierarchyId,
        (a, b): (&str, &str),
        f: impl FnOnce(&Container, &Container) -> R,
    ) -> R {
        let tree = w.gpc.tree.lock();
        let na = w.gpc.lookup_locked(&tree, h, a).unwrap();
        let nb = w.gpc.lookup_locked(&tree, h, b).unwrap();
        f(
            Gpc::<TestHost>::dir_container(&tree, &na).unwrap(),
            Gpc::<TestHost>::dir_container(&tree, &nb).unwrap(),
        )
    }

    fn set_subtree_control(w: &World, h: HierarchyId, path: &str, mask: u32) {
        at(w, h, path, |c| {
            c.subtree_control
                .store(mask, crate::primitive::Ordering::Relaxed);
        });
    }

    fn move_to(w: &World, h: HierarchyId, path: &str, pid: crate::Pid) {
        w.write(h, &format!("{path}/cgroup.procs"), &format!("{pid}"))
            .unwrap();
    }

    #[test]
    fn subtree_control_enable_vet() {
        let (mut w, h) = world();
        for p in ["a", "a/t", "a/d", "b", "c", "c/x"] {
            w.gpc.mkdir(h, p).unwrap();
        }
        w.write(h, "a/t/cgroup.type", "threaded").unwrap();
        let vet = |w: &World, path: &str, enable: u32| {
            at(w, h, path, |c| vet_subtree_control_enable(c, enable, T))
        };
        // Nothing enabled: nothing to vet, even in an invalid domain.
        assert_eq!(vet(&w, "a/d", 0), Ok(()));
        assert_eq!(vet(&w, "a/d", T), Err(Error::EOPNOTSUPP), "domain invalid");
        // A thread root or a threaded group takes threaded controllers only.
        assert_eq!(vet(&w, "a", D), Err(Error::EOPNOTSUPP));
        assert_eq!(vet(&w, "a", T), Ok(()));
        assert_eq!(vet(&w, "a/t", D | T), Err(Error::EOPNOTSUPP));
        assert_eq!(vet(&w, "a/t", T), Ok(()));
        // A domain with tasks: no domain controller (no internal process), but
        // threaded ones (it may become a thread root).
        let p = w.fork(1).unwrap();
        move_to(&w, h, "b", p);
        assert_eq!(vet(&w, "b", D), Err(Error::EBUSY));
        assert_eq!(vet(&w, "b", T), Ok(()));
        // With a populated domain child it cannot be a thread root: its own tasks
        // decide.
        let q = w.fork(1).unwrap();
        move_to(&w, h, "c/x", q);
        assert_eq!(vet(&w, "c", T), Ok(()), "no task of its own");
        let r = w.fork(1).unwrap();
        move_to(&w, h, "c", r);
        assert_eq!(vet(&w, "c", T), Err(Error::EBUSY));
        // The root mixes both.
        assert_eq!(vet(&w, "", D | T), Ok(()));
        w.write(h, "cgroup.procs", &format!("{r}")).unwrap();
        w.exit(r).unwrap();
    }

    #[test]
    fn moves_with_controllers_enabled() {
        let (mut w, h) = world();
        for p in ["a", "a/x", "b"] {
            w.gpc.mkdir(h, p).unwrap();
        }
        let vet = |w: &World, dst: &str, threadgroup: bool| {
            at2(w, h, ("b", dst), |src, d| vet_dst(src, d, threadgroup, T))
        };
        // Only threaded controllers and no populated domain child: `a` could be a
        // thread root, so it takes processes.
        set_subtree_control(&w, h, "a", T);
        assert_eq!(vet(&w, "a", true), Ok(()));
        // A domain controller: the no-internal-process rule.
        set_subtree_control(&w, h, "a", T | D);
        assert_eq!(vet(&w, "a", true), Err(Error::EBUSY));
        set_subtree_control(&w, h, "a", T);
        let p = w.fork(1).unwrap();
        move_to(&w, h, "a/x", p);
        assert_eq!(
            vet(&w, "a", true),
            Err(Error::EBUSY),
            "a populated domain child"
        );
        assert_eq!(vet(&w, "", true), Ok(()), "the root is exempt");
        // A thread never leaves its domain, controllers or not.
        assert_eq!(vet(&w, "a/x", false), Err(Error::EOPNOTSUPP));
        set_subtree_control(&w, h, "a", 0);
    }

    /// A domain with tasks and a threaded controller enabled is a thread root without a
    /// threaded child (`cgroup_is_thread_root`): its domain children turn invalid, and
    /// a domain controller keeps it from becoming one.
    #[test]
    fn thread_root_by_tasks_and_threaded_controllers() {
        let (mut w, h) = world();
        for p in ["a", "a/d", "a/t"] {
            w.gpc.mkdir(h, p).unwrap();
        }
        let p = w.fork(1).unwrap();
        move_to(&w, h, "a", p);
        assert!(!at(&w, h, "a", |c| is_thread_root(c, T)));
        set_subtree_control(&w, h, "a", T);
        assert!(at(&w, h, "a", |c| is_thread_root(c, T)));
        assert!(at(&w, h, "a", |c| can_be_thread_root(c, T)));
        // Through the instance's own mask (no threaded controller among the test
        // subsystems) the probe is a domain controller: `a` is a plain domain there,
        // and making a child threaded is refused (its parent cannot be a thread root).
        assert_eq!(w.read(h, "a/cgroup.type").unwrap(), "domain\n");
        assert_eq!(
            w.write(h, "a/t/cgroup.type", "threaded"),
            Err(Error::EOPNOTSUPP)
        );
        // A domain controller enabled in the group itself refuses too.
        set_subtree_control(&w, h, "a", 0);
        set_subtree_control(&w, h, "a/t", D);
        assert_eq!(
            w.write(h, "a/t/cgroup.type", "threaded"),
            Err(Error::EOPNOTSUPP)
        );
        set_subtree_control(&w, h, "a/t", 0);
        w.write(h, "a/t/cgroup.type", "threaded").unwrap();
        let types: String = ["a", "a/d", "a/t"]
            .iter()
            .map(|p| w.read(h, &format!("{p}/cgroup.type")).unwrap())
            .collect();
        assert_eq!(types, "domain threaded\ndomain invalid\nthreaded\n");
    }

    /// `cgroup.controllers` of a threaded group lists only the threaded controllers its
    /// parent enables (Linux `cgroup_control`).
    #[test]
    fn threaded_groups_see_threaded_controllers_only() {
        let (w, h) = world();
        for p in ["a", "a/t", "a/d"] {
            w.gpc.mkdir(h, p).unwrap();
        }
        // `threaded_ss_mask` knows no test subsystem as threaded: a threaded group
        // sees none of the parent's.
        w.write(h, "a/t/cgroup.type", "threaded").unwrap();
        set_subtree_control(&w, h, "a", T | D);
        assert_eq!(
            w.read(h, "a/d/cgroup.controllers").unwrap(),
            "probe plain\n"
        );
        assert_eq!(w.read(h, "a/t/cgroup.controllers").unwrap(), "");
        set_subtree_control(&w, h, "a", 0);
    }
}
