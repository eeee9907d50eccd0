//! Containers: making and removing them, and their paths (Linux `cgroup_mkdir`,
//! `cgroup_rmdir`, `cgroup_path`).
//!
//! Every operation here runs under the hierarchy lock and works on containers, not
//! paths: a host that resolved a node (`nodes.rs`) or knows a container id makes a
//! child in O(1) however deep it is, and `mkdir` allocates everything it needs before
//! it publishes anything, so a failure leaves the tree as it was. Removal unlinks at
//! once and frees after a grace period (lock-free readers may still hold the
//! container's states).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::ptr::NonNull;

use arrayvec::ArrayVec;

use super::nodes::Node;
use super::{free_container, Gpc, Hierarchy, HierarchyId, Tree};
use crate::container::Container;
use crate::error::{Error, Result};
use crate::host::alloc::{try_box, try_reserve_str, try_string, with_flags, Gfp};
use crate::host::task::TaskSlot;
use crate::host::Host;
use crate::primitive::Ordering;
use crate::subsys::{free_css_now, CssRef, SubsysId, MAX_SUBSYS};

impl<H: Host> Gpc<H> {
    pub(super) fn hierarchy(tree: &Tree, hier: HierarchyId) -> Result<&Hierarchy> {
        tree.hiers
            .get(hier.0)
            .and_then(|h| h.as_deref())
            .ok_or(Error::ENOENT)
    }

    pub(super) fn child_named<'t>(
        c: &'t Container,
        name: &str,
        tree: &'t Tree,
    ) -> Option<&'t Container> {
        c.child_named(name, tree)
    }

    /// The live container with id `id` in `hier`.
    pub(super) fn container_at(
        tree: &Tree,
        hier: HierarchyId,
        id: u64,
    ) -> Result<NonNull<Container>> {
        Self::hierarchy(tree, hier)?;
        tree.container_by_id(id)
            // SAFETY: indexed, hence alive under the hierarchy lock.
            .filter(|c| unsafe { c.as_ref() }.hier == hier.0)
            .ok_or(Error::ENOENT)
    }

    /// Make container `path` (Linux `cgroup_mkdir`). The parent must exist. Permission to
    /// write the parent directory is the host VFS's check.
    ///
    /// # Errors
    ///
    /// `ENOENT` (no parent, or the parent was removed), `ENOTDIR`, `EEXIST` (a container
    /// or file of that name, `.` or `..`), `EINVAL` (a name with a newline or a NUL), `EAGAIN`
    /// (past the hierarchy's [`Limits`](super::Limits)), `ENOMEM`, or a subsystem's `create` errno.
    /// Nothing is left behind on error.
    pub fn mkdir(&self, hier: HierarchyId, path: &str) -> Result {
        let mut tree = self.tree.lock();
        let (parent_path, name) = split_last(path).ok_or(Error::EEXIST)?;
        let dir = self.lookup_locked(&tree, hier, parent_path)?;
        let parent = NonNull::from(Self::dir_container(&tree, &dir)?);
        self.mkdir_in(&mut tree, parent, name).map(|_| ())
    }

    /// Make container `name` in directory `dir` (Linux `cgroup_mkdir`, which takes the
    /// parent's kernfs node), in O(1) however deep `dir` is; returns the new directory's
    /// node.
    ///
    /// # Errors
    ///
    /// `ENODEV` if `dir` was removed (`cgroup_kn_lock_live` fails), `ENOTDIR` for a
    /// file; otherwise as for [`Gpc::mkdir`].
    pub fn mkdir_node(&self, dir: &Node, name: &str) -> Result<Node> {
        let mut tree = self.tree.lock();
        let parent = NonNull::from(Self::dir_container(&tree, dir)?);
        let c = self.mkdir_in(&mut tree, parent, name)?;
        // SAFETY: just made, alive under the hierarchy lock.
        Ok(Node::dir(dir.hierarchy(), unsafe { c.as_ref() }.id))
    }

    /// [`Gpc::mkdir`] of `name` in the directory with container id `parent_id` (as
    /// [`Entry::Dir`](super::Entry::Dir) gives it) of `hier`, in O(1) however deep it is: a host that walked
    /// to the parent already need not have gpc walk the path again (Linux `cgroup_mkdir`
    /// takes the parent's kernfs node). Returns the new container's id.
    ///
    /// # Errors
    ///
    /// `ENOENT` if there is no such container in `hier` (or it was removed); otherwise
    /// as for [`Gpc::mkdir`].
    pub fn mkdir_at(&self, hier: HierarchyId, parent_id: u64, name: &str) -> Result<u64> {
        let mut tree = self.tree.lock();
        let parent = Self::container_at(&tree, hier, parent_id)?;
        let c = self.mkdir_in(&mut tree, parent, name)?;
        // SAFETY: just made, alive under the hierarchy lock.
        Ok(unsafe { c.as_ref() }.id)
    }

    /// Make container `name` under `parent` (alive, under the hierarchy lock the caller
    /// holds through `tree`): the body of [`Gpc::mkdir`].
    pub(super) fn mkdir_in(
        &self,
        tree: &mut Tree,
        parent: NonNull<Container>,
        name: &str,
    ) -> Result<NonNull<Container>> {
        let parent_ptr = parent;
        // SAFETY: the caller's contract: alive under the hierarchy lock.
        let parent = unsafe { parent_ptr.as_ref() };
        let hier = HierarchyId(parent.hier);
        let h = Self::hierarchy(tree, hier)?;
        validate_name(name)?;
        if Self::child_named(parent, name, tree).is_some()
            || self.find_file(tree, h, parent, name).is_some()
        {
            return Err(Error::EEXIST);
        }
        // cgroup_check_hierarchy_limits(), after the name checks as in cgroup_mkdir().
        if parent.depth >= h.limits.max_depth
            || h.nr_containers.saturating_sub(1) >= h.limits.max_descendants
            || h.rules.unified() && !Self::within_group_limits(parent)
        {
            return Err(Error::EAGAIN);
        }
        let unified = h.rules.unified();
        // v1: every controller of the hierarchy; v2: those the parent enables for its
        // children (Linux `cgroup_ss_mask`, the parent's `subtree_ss_mask`).
        let mask = if unified {
            parent.subtree_control.load(Ordering::Relaxed)
        } else {
            h.subsys_mask
        };
        tree.reserve_index()?;
        let notify = parent.notify_on_release.load(Ordering::Relaxed);
        let clone = parent.clone_children.load(Ordering::Relaxed);
        let name = try_string(name, Gfp::KERNEL)?;
        let id = self.next_container_id.fetch_add(1, Ordering::Relaxed);
        let mut new = Container::new(
            id,
            hier.0,
            Some(parent_ptr),
            name,
            parent.depth + 1,
            free_container,
        );
        new.unified = unified;
        if unified {
            // Linux psi_cgroup_alloc: a group of its own, made before anything is
            // published (ENOMEM leaves nothing).
            let group = crate::psi::PsiGroup::try_new(self.host.nr_cpus(), self.host.clock_ns())?;
            *new.psi.get_mut() = Some(group);
        }
        let c = try_box(new, Gfp::KERNEL)?;
        let c = NonNull::from(Box::leak(c));
        // SAFETY: just made, owned here.
        let cr = unsafe { c.as_ref() };
        let undo_box = |c: NonNull<Container>| {
            // SAFETY: never published.
            drop(unsafe { Box::from_raw(c.as_ptr()) });
        };
        // SAFETY: no other borrow of the parent's list alive.
        let children = unsafe { parent.children_mut(tree) };
        if let Err(e) = with_flags(Gfp::KERNEL, || children.try_reserve()) {
            undo_box(c);
            return Err(e);
        }
        if notify {
            if let Err(e) = self.release.lock().reserve_one(Gfp::ATOMIC) {
                undo_box(c);
                return Err(e);
            }
        }
        let mut made: ArrayVec<SubsysId, MAX_SUBSYS> = ArrayVec::new();
        for ss in 0..self.subsys.len() {
            if mask & (1 << ss) == 0 {
                continue;
            }
            let pcss = if unified {
                // SAFETY: the parent's own state (the root's: the root state), alive
                // under the hierarchy lock.
                self.dfl_own_css(parent, ss)
                    .map(|p| unsafe { CssRef::from_raw(p) })
            } else {
                parent.css_ref(ss)
            };
            let (Some(sub), Some(pcss)) = (self.subsys.get(ss), pcss) else {
                continue;
            };
            match sub.create_css(ss, Some(pcss), id, self.host.nr_cpus()) {
                Ok(css) => {
                    if let Some(slot) = cr.css.get(ss) {
                        slot.store(css.as_ptr(), Ordering::Release);
                    }
                    made.push(ss);
                }
                Err(e) => {
                    for &ss in made.iter().rev() {
                        if let (Some(sub), Some(css)) = (self.subsys.get(ss), cr.css_ref(ss)) {
                            sub.destroy(css);
                            // SAFETY: never visible to readers (the container is not
                            // linked anywhere yet).
                            unsafe { free_css_now(css.raw()) };
                        }
                    }
                    if notify {
                        self.release.lock().unreserve_one();
                    }
                    undo_box(c);
                    return Err(e);
                }
            }
        }
        // Commit: nothing fails from here.
        cr.notify_on_release.store(notify, Ordering::Relaxed);
        cr.clone_children.store(clone, Ordering::Relaxed);
        if clone {
            for &ss in made.iter() {
                if let (Some(sub), Some(css)) = (self.subsys.get(ss), cr.css_ref(ss)) {
                    sub.post_clone(css);
                }
            }
        }
        // SAFETY: no other borrow of the list alive; capacity reserved above.
        unsafe { parent.children_mut(tree) }.push(c);
        parent.nr_children.fetch_add(1, Ordering::Release);
        // v2's per-group counts (cgroup.stat, cgroup.max.descendants) cost O(depth), as
        // in Linux's cgroup_create; v1 shows neither and keeps mkdir O(1).
        let mut up = if unified { Some(parent) } else { None };
        while let Some(a) = up {
            a.nr_descendants.fetch_add(1, Ordering::Relaxed);
            up = a.parent_ref();
        }
        if unified {
            self.freezer_init_child(parent, cr);
        }
        tree.index(c);
        if let Some(h) = tree.hiers.get_mut(hier.0).and_then(|h| h.as_deref_mut()) {
            h.nr_containers += 1;
        }
        Ok(c)
    }

    /// The per-container limits of the new child of `parent` (Linux
    /// `cgroup_check_hierarchy_limits`): no ancestor may already hold its
    /// `cgroup.max.descendants`, nor be `cgroup.max.depth` levels above the child. Only
    /// the unified hierarchy has them (v1 has the host's per-hierarchy `Limits`).
    fn within_group_limits(parent: &Container) -> bool {
        let mut level = 0;
        let mut up = Some(parent);
        while let Some(a) = up {
            if a.nr_descendants.load(Ordering::Relaxed) >= a.max_descendants.load(Ordering::Relaxed)
                || level >= a.max_depth.load(Ordering::Relaxed)
            {
                return false;
            }
            level += 1;
            up = a.parent_ref();
        }
        true
    }

    /// Remove container `path` (Linux `cgroup_rmdir`).
    ///
    /// # Errors
    ///
    /// `EBUSY` for the root or a container with tasks or children, `ENOENT`, `ENOTDIR`
    /// (a file).
    pub fn rmdir(&self, hier: HierarchyId, path: &str) -> Result {
        let mut tree = self.tree.lock();
        let node = self.lookup_locked(&tree, hier, path)?;
        let c = NonNull::from(Self::dir_container(&tree, &node)?);
        self.rmdir_locked(&mut tree, c)
    }

    /// Remove directory `dir` (Linux `cgroup_rmdir`).
    ///
    /// # Errors
    ///
    /// `EBUSY` for the root or a container with tasks or children, `ENODEV` if it was
    /// removed already, `ENOTDIR` (a file).
    pub fn rmdir_node(&self, dir: &Node) -> Result {
        let mut tree = self.tree.lock();
        let c = NonNull::from(Self::dir_container(&tree, dir)?);
        self.rmdir_locked(&mut tree, c)
    }

    /// Remove container `c` (alive, under the hierarchy lock the caller holds through
    /// `tree`): the body of [`Gpc::rmdir`].
    pub(super) fn rmdir_locked(&self, tree: &mut Tree, c: NonNull<Container>) -> Result {
        // SAFETY: the caller's contract.
        let c = unsafe { c.as_ref() };
        let hier = HierarchyId(c.hier);
        let h = Self::hierarchy(tree, hier)?;
        if c.is_root() {
            return Err(Error::EBUSY);
        }
        if c.has_tasks() || !c.children(tree).is_empty() {
            return Err(Error::EBUSY);
        }
        let unified = h.rules.unified();
        // v2: the states the container has (those its parent enabled).
        let mask = if unified { u32::MAX } else { h.subsys_mask };
        let cptr = NonNull::from(c);
        let Some(parent) = c.parent else {
            return Err(Error::EBUSY);
        };
        c.dead.store(true, Ordering::Release);
        for ss in 0..self.subsys.len() {
            if mask & (1 << ss) == 0 {
                continue;
            }
            if let (Some(sub), Some(css)) = (self.subsys.get(ss), c.css_ref(ss)) {
                sub.destroy(css);
            }
        }
        // SAFETY: the parent outlives the child; hierarchy lock held.
        let parent_ref = unsafe { parent.as_ref() };
        // SAFETY: no other borrow of the list alive.
        unsafe { parent_ref.children_mut(tree) }.remove(cptr);
        parent_ref.nr_children.fetch_sub(1, Ordering::Release);
        // The last threaded child gone, the parent is no thread root any more (Linux
        // cgroup_destroy_locked).
        if c.is_threaded() {
            parent_ref
                .nr_threaded_children
                .fetch_sub(1, Ordering::Relaxed);
        }
        let mut up = if unified { Some(parent_ref) } else { None };
        while let Some(a) = up {
            a.nr_descendants.fetch_sub(1, Ordering::Relaxed);
            up = a.parent_ref();
        }
        if unified {
            self.freezer_remove(c);
        }
        tree.unindex(cptr);
        self.dequeue_notify(c);
        {
            let mut rq = self.release.lock();
            if c.release_queued.load(Ordering::Relaxed) {
                rq.remove(cptr);
            }
            if c.notify_on_release.load(Ordering::Relaxed) {
                rq.unreserve_one();
            }
        }
        // SAFETY: the container is still allocated (freed only through RCU below).
        let c = unsafe { &*cptr.as_ptr() };
        if let Some(h) = tree.hiers.get_mut(hier.0).and_then(|h| h.as_deref_mut()) {
            h.nr_containers = h.nr_containers.saturating_sub(1);
        }
        for ss in 0..self.subsys.len() {
            if let Some(css) = c
                .css
                .get(ss)
                .and_then(|p| NonNull::new(p.load(Ordering::Acquire)))
            {
                // The container's own reference: the state goes once no counted handle
                // or child state holds it (Linux `css_put` in `css_killed_ref_fn`).
                self.css_put(css);
            }
        }
        // SAFETY: as above for the container itself.
        unsafe { self.host.call_rcu(NonNull::from(&(*cptr.as_ptr()).rcu)) };
        // The parent may have become releasable (cgroup_destroy_locked).
        let queued = {
            let _table = self.table.lock();
            self.check_for_release(parent_ref)
        };
        if queued {
            self.host.release_queued();
        }
        // A hierarchy kept alive only by children after its last umount stays until the
        // next mount and umount, as in Linux.
        Ok(())
    }

    /// Call `f` with the state of subsystem `ss` in the container with id `id` (as
    /// [`CssRef::container_id`] gives), if it still exists and `ss` is mounted. O(1)
    /// through the id index, and allocation-free: `None` means gone, never "no memory
    /// to look" (the simulator uncharges through it after a task has exited).
    pub fn with_css_by_container_id<R>(
        &self,
        ss: SubsysId,
        id: u64,
        f: impl FnOnce(CssRef<'_>) -> R,
    ) -> Option<R> {
        let tree = self.tree.lock();
        let (css, _) = self.css_and_container_by_id(&tree, ss, id)?;
        Some(f(css))
    }

    /// Call `f` with an iterator over the states of subsystem `ss` in the container with
    /// id `id` and in every descendant that has its own (pre-order, parents first: Linux
    /// `css_for_each_descendant_pre`), under the hierarchy lock: the subtree cannot
    /// change while `f` runs. On the unified hierarchy a group where `ss` is not enabled
    /// has no state of its own and is skipped (its tasks use an ancestor's). `None`
    /// when the container is gone or `ss` is not there. Allocates nothing: the walk
    /// follows parent links. What a controller's reclaim walks (the memory controller's
    /// `mem_cgroup_iter` over the group that hit its limit).
    pub fn with_css_subtree<R>(
        &self,
        ss: SubsysId,
        id: u64,
        f: impl FnOnce(&mut dyn Iterator<Item = CssRef<'_>>) -> R,
    ) -> Option<R> {
        let tree = self.tree.lock();
        let (top_css, top) = self.css_and_container_by_id(&tree, ss, id)?;
        let tree_ref: &Tree = &tree;
        let mut cur = top;
        let below = core::iter::from_fn(move || {
            let t = top?;
            cur = crate::files::next_pre(t, cur?, tree_ref);
            cur
        })
        .filter_map(move |c| c.css_ref(ss));
        let mut all = core::iter::once(top_css).chain(below);
        Some(f(&mut all))
    }

    /// Call `f` with the tasks of the subtree of `ss`'s state whose container id is `id`
    /// (found as [`Gpc::with_css_subtree`] finds it): the tasks of its container and of
    /// every live descendant container, on the unified hierarchy those of the groups where
    /// `ss` is not enabled too (they use an ancestor's state). What a memory controller's
    /// OOM killer chooses its victim among (Linux `mem_cgroup_scan_tasks`, a
    /// `css_task_iter` over each memcg of the subtree). `f` runs under the hierarchy lock
    /// and may walk the tasks several times ([`SubtreeTasks::for_each`]): meanwhile the
    /// subtree does not change and no task moves between its groups, though tasks may
    /// fork and exit. `None` when the state is gone, or is the root state of a subsystem
    /// on no hierarchy (no container holds its tasks). Allocates nothing.
    pub fn with_css_subtree_tasks<R>(
        &self,
        ss: SubsysId,
        id: u64,
        f: impl FnOnce(&SubtreeTasks<'_, H>) -> R,
    ) -> Option<R> {
        let tree = self.tree.lock();
        let (css, top) = self.css_and_container_by_id(&tree, ss, id)?;
        let top = top?;
        Some(f(&SubtreeTasks {
            gpc: self,
            tree: &tree,
            top,
            css,
            ss,
        }))
    }

    /// The container id of subsystem `ss`'s root state (0 while the subsystem is on no
    /// hierarchy; it changes when the subsystem is bound to another one), or `None` for
    /// an unknown subsystem.
    pub fn root_css_id(&self, ss: SubsysId) -> Option<u64> {
        let root = self.root_css.get(ss).copied()?;
        // SAFETY: root states live as long as the `Gpc`.
        Some(unsafe { CssRef::from_raw(root) }.container_id())
    }

    /// The state of `ss` whose container id is `id`, and that container (`None` for the
    /// root state of a subsystem on no hierarchy). The unified hierarchy's root holds no
    /// state of its own: its groups charge the subsystem's root state.
    fn css_and_container_by_id<'t>(
        &'t self,
        tree: &'t Tree,
        ss: SubsysId,
        id: u64,
    ) -> Option<(CssRef<'t>, Option<&'t Container>)> {
        let root_css = self.root_css.get(ss).copied()?;
        // SAFETY: root states live as long as the `Gpc`.
        let root_css = unsafe { CssRef::from_raw(root_css) };
        if root_css.container_id() == id {
            let top = match tree.bound.get(ss).copied().flatten() {
                Some(h) => tree.hiers.get(h).and_then(|h| h.as_deref()).map(|h| h.root),
                None if self.dfl_subsys_mask(tree) & (1 << ss) != 0 => {
                    NonNull::new(self.unified_root.load(Ordering::Acquire))
                }
                None => None,
            };
            // SAFETY: a hierarchy's root lives as long as the hierarchy, under the lock.
            return Some((root_css, top.map(|c| unsafe { &*c.as_ptr() })));
        }
        let c = tree.container_by_id(id)?;
        // SAFETY: indexed, hence alive under the hierarchy lock.
        let c = unsafe { &*c.as_ptr() };
        let on_it = if c.unified {
            self.dfl_subsys_mask(tree) & (1 << ss) != 0
        } else {
            tree.bound.get(ss).copied().flatten() == Some(c.hier)
        };
        if !on_it {
            return None;
        }
        c.css_ref(ss).map(|css| (css, Some(c)))
    }

    /// The path of `c` relative to its hierarchy root (`/a/b`; `/` for the root), into
    /// `out`. Never recursive: the depth of a tree is the user's to choose and a kernel
    /// stack is small (Linux's `kernfs_path_from_node` walks up in a loop too).
    pub(super) fn container_path(&self, c: &Container, out: &mut String, flags: Gfp) -> Result {
        if c.is_root() {
            try_reserve_str(out, 1, flags)?;
            out.push('/');
            return Ok(());
        }
        let mut names: ArrayVec<&str, 64> = ArrayVec::new();
        let mut cur = Some(c);
        let mut total = 0;
        let mut deep = false;
        while let Some(x) = cur {
            if x.is_root() {
                break;
            }
            if names.try_push(x.name.as_str()).is_err() {
                deep = true;
                break;
            }
            total += x.name.len() + 1;
            cur = x.parent_ref();
        }
        if deep {
            return Self::deep_container_path(c, out, flags);
        }
        try_reserve_str(out, total, flags)?;
        for n in names.iter().rev() {
            out.push('/');
            out.push_str(n);
        }
        Ok(())
    }

    /// `container_path` of a container more than 64 levels down: measure the
    /// path walking up, then walk up again writing each name at its place from the end.
    fn deep_container_path(c: &Container, out: &mut String, flags: Gfp) -> Result {
        let mut total = 0usize;
        let mut cur = Some(c);
        while let Some(x) = cur.filter(|x| !x.is_root()) {
            total = total.saturating_add(x.name.len() + 1);
            cur = x.parent_ref();
        }
        let mut buf: Vec<u8> = Vec::new();
        crate::host::alloc::try_reserve_exact(&mut buf, total, flags)?;
        buf.resize(total, b'/');
        let mut end = total;
        let mut cur = Some(c);
        while let Some(x) = cur.filter(|x| !x.is_root()) {
            let Some(start) = end.checked_sub(x.name.len()) else {
                break;
            };
            if let Some(dst) = buf.get_mut(start..end) {
                dst.copy_from_slice(x.name.as_bytes());
            }
            // Leave the '/' before the name.
            end = start.saturating_sub(1);
            cur = x.parent_ref();
        }
        // Names are UTF-8 and '/' is ASCII: this cannot fail.
        let path = core::str::from_utf8(&buf).map_err(|_| Error::EINVAL)?;
        try_reserve_str(out, path.len(), flags)?;
        out.push_str(path);
        Ok(())
    }
}

/// Split `a/b/c` into (`a/b`, `c`), ignoring empty components; `None` for an empty path.
pub(super) fn split_last(path: &str) -> Option<(&str, &str)> {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return None;
    }
    match trimmed.rfind('/') {
        Some(i) => Some((
            trimmed.get(..i).unwrap_or(""),
            trimmed.get(i + 1..).unwrap_or(""),
        )),
        None => Some(("", trimmed)),
    }
}

/// Container name rules: no newline (`cgroup_mkdir`), not `.`/`..` (the VFS says
/// `EEXIST`). kernfs sets no length limit of its own: the host VFS limits whole paths
/// (`PATH_MAX`), as Linux's does (doc/linux-v1-reference.md, mkdir).
pub(super) fn validate_name(name: &str) -> Result {
    if name.is_empty() || name == "." || name == ".." {
        return Err(Error::EEXIST);
    }
    // Linux: `cgroup_mkdir` refuses '\n' (it would break /proc/PID/cgroup). A NUL cannot
    // reach Linux at all (a path is a C string); a host that passes one gets EINVAL, so
    // no name can cut a /proc line or a release agent's argument short.
    if name.contains('\n') || name.contains('\0') {
        return Err(Error::EINVAL);
    }
    Ok(())
}

/// The tasks of one state's subtree, for [`Gpc::with_css_subtree_tasks`], under the
/// hierarchy lock.
pub struct SubtreeTasks<'t, H: Host> {
    gpc: &'t Gpc<H>,
    tree: &'t Tree,
    top: &'t Container,
    css: CssRef<'t>,
    ss: SubsysId,
}

impl<'t, H: Host> SubtreeTasks<'t, H> {
    /// The state whose subtree this is.
    pub fn css(&self) -> CssRef<'t> {
        self.css
    }

    /// Call `f` with each task of the subtree (once, unless it forks or exits meanwhile:
    /// see [`crate::TaskIter`]), with its state of the subsystem (that of its css_group).
    /// Container by container, pre-order, each under the css_group table's lock and one
    /// shard lock at a time: `f` must not sleep, allocate or call gpc (it may ask the
    /// host about the task, or kill it through the host's job control). O(containers +
    /// css_groups × shards + tasks).
    pub fn for_each(&self, f: &mut dyn FnMut(&TaskSlot, CssRef<'_>)) {
        let mut cur = Some(self.top);
        while let Some(c) = cur {
            cur = crate::files::next_pre(self.top, c, self.tree);
            if c.dead.load(Ordering::Acquire) {
                continue;
            }
            let table = self.gpc.table.lock();
            Gpc::<H>::for_each_task_css_locked(c, &table, self.ss, f);
        }
    }
}
