//! Nodes: names in a hierarchy resolved once, then operated on (Linux kernfs:
//! `kernfs_walk_and_get`, `kernfs_find_ns`, and the `kernfs_node` every file operation
//! takes).
//!
//! A host looks a path up once ([`Gpc::lookup`], or one step at a time with
//! [`Gpc::lookup_in`] as a VFS walks) and gets a [`Node`]: the hierarchy, the container's
//! id and, for a file, which file. Every operation then takes the node (read, write,
//! list, mkdir, rmdir, attach, a counted css) and finds its container in O(1) through
//! the id index, however deep it is, instead of walking the path again: a `tasks` write
//! through a node walks nothing. A node is a plain value the host may keep; it holds no
//! reference, so the container may go meanwhile: an operation on a removed node fails
//! with `ENODEV`, as kernfs fails an open file of a removed node (`kernfs_get_active`,
//! fs/kernfs/file.c). Container ids are never reused, so a stale node never names
//! another container. The path-taking methods of [`Gpc`] are thin wrappers: resolve,
//! then the node operation, under one hold of the hierarchy lock.
//!
//! A container's files are not stored: they are the core files plus the files of the
//! hierarchy's subsystems, filtered by root/non-root flags and named with or without the
//! subsystem prefix; `for_each_file` generates them in the order Linux lists them, and
//! a lookup is a walk over that small list.

use alloc::string::String;
use alloc::vec::Vec;

use super::control::{CoreFile, FileRef, FileVisitor, CORE_FILES};
use super::{Entry, Gpc, Hierarchy, HierarchyId, Tree};
use crate::container::Container;
use crate::error::{Error, Result};
use crate::files::{CfFlags, FileInfo};
use crate::host::alloc::{try_push, try_reserve_str, try_string, Gfp};
use crate::host::Host;
use crate::primitive::Ordering;
use crate::subsys::{CssRef, SubsysId};

/// A name resolved in a hierarchy (Linux `kernfs_node`): a container's directory, or one
/// of its control files. Get one from [`Gpc::root`], [`Gpc::lookup`] or
/// [`Gpc::lookup_in`]; see the module doc of `core/src/gpc/nodes.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Node {
    hier: HierarchyId,
    /// The container's id (for a file: the id of the directory holding it).
    container: u64,
    file: Option<NodeFile>,
}

/// Which file a node names, and its mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct NodeFile {
    pub(super) file: FileRef,
    pub(super) mode: u16,
}

impl Node {
    pub(super) fn dir(hier: HierarchyId, container: u64) -> Self {
        Node {
            hier,
            container,
            file: None,
        }
    }

    /// The node of the directory of the container with id `container_id` in `hier`
    /// (as [`Entry::Dir`] or [`Node::container_id`] gives it), for a host that keeps ids
    /// rather than nodes (Linux `kernfs_find_and_get_node_by_id`). Checked when used: no
    /// such container is `ENODEV` (`ENOENT` for a lookup in it).
    pub fn directory(hier: HierarchyId, container_id: u64) -> Self {
        Node::dir(hier, container_id)
    }

    /// The hierarchy.
    pub fn hierarchy(&self) -> HierarchyId {
        self.hier
    }

    /// The container's id, as [`Entry::Dir`] gives it; for a file, the id of the
    /// container that holds it.
    pub fn container_id(&self) -> u64 {
        self.container
    }

    /// Whether the node is a directory (a container).
    pub fn is_dir(&self) -> bool {
        self.file.is_none()
    }

    /// The permission bits of a file; `None` for a directory.
    pub fn mode(&self) -> Option<u16> {
        self.file.map(|f| f.mode)
    }

    /// What the node is, as [`Gpc::stat`] says it.
    pub fn entry(&self) -> Entry {
        match self.file {
            Some(f) => Entry::File { mode: f.mode },
            None => Entry::Dir { id: self.container },
        }
    }

    /// The node's file, or `EISDIR` for a directory.
    pub(super) fn file(&self) -> Result<NodeFile> {
        self.file.ok_or(Error::EISDIR)
    }
}

impl<H: Host> Gpc<H> {
    /// Every file of container `c`, with its name parts (prefix, name).
    fn for_each_file(&self, tree: &Tree, h: &Hierarchy, c: &Container, f: &mut FileVisitor<'_>) {
        let on_root = c.is_root();
        let visible = |flags: CfFlags| {
            !(flags.contains(CfFlags::ONLY_ON_ROOT) && !on_root
                || flags.contains(CfFlags::NOT_ON_ROOT) && on_root)
        };
        // `cgroup.pressure` 0 hides the *.pressure files (cgroup_file_show).
        let psi = c.psi_enabled.load(Ordering::Relaxed);
        for &(cf, name, flags, mode) in CORE_FILES {
            if matches!(cf, CoreFile::Pressure(_)) && !psi {
                continue;
            }
            if visible(flags)
                && h.rules.has_core_file(name)
                && !f(FileRef::Core(cf), None, name, mode)
            {
                return;
            }
        }
        // v1: the hierarchy's controllers, their v1 files. v2 (Linux `css_visible`): at
        // the root every controller on v2, elsewhere those the parent enables (whose
        // state the group then has); their v2 files.
        let unified = h.rules.unified();
        let shown = if !unified {
            h.subsys_mask
        } else if on_root {
            self.dfl_subsys_mask(tree)
        } else {
            c.parent_ref()
                .map_or(0, |p| p.subtree_control.load(Ordering::Relaxed))
        };
        for (ss, sub) in self.subsys.iter().enumerate() {
            if shown & (1 << ss) == 0 {
                continue;
            }
            for idx in 0..sub.file_count() {
                let Some(FileInfo { name, flags, mode }) = sub.file_info(idx) else {
                    continue;
                };
                let on_this = if unified {
                    flags.intersects(CfFlags::ON_DFL | CfFlags::ONLY_ON_DFL)
                } else {
                    !flags.contains(CfFlags::ONLY_ON_DFL)
                };
                if !visible(flags) || !on_this {
                    continue;
                }
                let prefix = if h.noprefix || flags.contains(CfFlags::NO_PREFIX) {
                    None
                } else if unified {
                    Some(sub.name())
                } else {
                    // cgroup_file_name: `ss->legacy_name` off the default hierarchy.
                    Some(sub.legacy_name())
                };
                if !f(FileRef::Subsys(ss, idx), prefix, name, mode) {
                    return;
                }
            }
        }
    }

    pub(super) fn find_file(
        &self,
        tree: &Tree,
        h: &Hierarchy,
        c: &Container,
        want: &str,
    ) -> Option<(FileRef, u16)> {
        let mut found = None;
        self.for_each_file(tree, h, c, &mut |fr, prefix, name, mode| {
            let matches = match prefix {
                Some(p) => want.strip_prefix(p).and_then(|r| r.strip_prefix('.')) == Some(name),
                None => want == name,
            };
            if matches {
                found = Some((fr, mode));
            }
            !matches
        });
        found
    }

    /// The container `node` names (or holds its file), alive under the hierarchy lock
    /// `tree` is borrowed from; `ENODEV` if it was removed.
    pub(super) fn node_container<'t>(tree: &'t Tree, node: &Node) -> Result<&'t Container> {
        let c = tree.container_by_id(node.container).ok_or(Error::ENODEV)?;
        // SAFETY: indexed, hence alive while the hierarchy lock (`tree`) is held.
        let c = unsafe { &*c.as_ptr() };
        if c.hier != node.hier.0 {
            return Err(Error::ENODEV);
        }
        Ok(c)
    }

    /// A directory node's container, `ENOTDIR` for a file.
    pub(super) fn dir_container<'t>(tree: &'t Tree, node: &Node) -> Result<&'t Container> {
        if !node.is_dir() {
            return Err(Error::ENOTDIR);
        }
        Self::node_container(tree, node)
    }

    /// The node of `name` in directory `dir` (a child container, or a file).
    fn child_node(&self, tree: &Tree, h: &Hierarchy, dir: &Container, name: &str) -> Option<Node> {
        let hier = HierarchyId(dir.hier);
        if let Some(c) = Self::child_named(dir, name, tree) {
            return Some(Node::dir(hier, c.id));
        }
        self.find_file(tree, h, dir, name).map(|(file, mode)| Node {
            hier,
            container: dir.id,
            file: Some(NodeFile { file, mode }),
        })
    }

    /// Resolve `path` in `hier` under the hierarchy lock (`tree`): one walk from
    /// the root, one step per component.
    pub(super) fn lookup_locked(&self, tree: &Tree, hier: HierarchyId, path: &str) -> Result<Node> {
        let h = Self::hierarchy(tree, hier)?;
        let mut cur = h.root();
        let mut comps = path.split('/').filter(|c| !c.is_empty()).peekable();
        while let Some(comp) = comps.next() {
            if let Some(child) = Self::child_named(cur, comp, tree) {
                cur = child;
                continue;
            }
            if let Some((file, mode)) = self.find_file(tree, h, cur, comp) {
                if comps.peek().is_some() {
                    return Err(Error::ENOTDIR);
                }
                return Ok(Node {
                    hier,
                    container: cur.id,
                    file: Some(NodeFile { file, mode }),
                });
            }
            return Err(Error::ENOENT);
        }
        Ok(Node::dir(hier, cur.id))
    }

    /// The root directory of `hier`.
    ///
    /// # Errors
    ///
    /// `ENOENT` if `hier` does not exist.
    pub fn root(&self, hier: HierarchyId) -> Result<Node> {
        let tree = self.tree.lock();
        let h = Self::hierarchy(&tree, hier)?;
        Ok(Node::dir(hier, h.root().id))
    }

    /// Resolve `path` in `hier` (`/` or empty for the root) into a node, walking it once.
    ///
    /// # Errors
    ///
    /// `ENOENT`, `ENOTDIR` (a file used as a directory).
    pub fn lookup(&self, hier: HierarchyId, path: &str) -> Result<Node> {
        let tree = self.tree.lock();
        self.lookup_locked(&tree, hier, path)
    }

    /// The node of `name` in directory `dir`, in O(1) however deep `dir` is (a VFS walk's
    /// step: Linux `kernfs_iop_lookup`).
    ///
    /// # Errors
    ///
    /// `ENOENT` (no such entry, or `dir` was removed), `ENOTDIR` if `dir` is a file.
    pub fn lookup_in(&self, dir: &Node, name: &str) -> Result<Node> {
        let tree = self.tree.lock();
        let h = Self::hierarchy(&tree, dir.hier)?;
        let c = Self::dir_container(&tree, dir).map_err(|e| match e {
            Error::ENODEV => Error::ENOENT,
            e => e,
        })?;
        self.child_node(&tree, h, c, name).ok_or(Error::ENOENT)
    }

    /// The directory holding `node` (for a directory, its parent container's; Linux
    /// `kernfs_get_parent`), in O(1): a VFS walking `..` need not resolve the parent's
    /// path from the root.
    ///
    /// # Errors
    ///
    /// `ENOENT` for a hierarchy's root (its `..` is the VFS's: the directory the
    /// hierarchy is mounted on), `ENODEV` if `node` was removed.
    pub fn parent(&self, node: &Node) -> Result<Node> {
        let tree = self.tree.lock();
        let c = Self::node_container(&tree, node)?;
        if !node.is_dir() {
            return Ok(Node::dir(node.hier, c.id));
        }
        let p = c.parent_ref().ok_or(Error::ENOENT)?;
        Ok(Node::dir(node.hier, p.id))
    }

    /// What `path` names in `hier` ([`Gpc::lookup`], as an [`Entry`]).
    ///
    /// # Errors
    ///
    /// `ENOENT`, `ENOTDIR` (a file used as a directory).
    pub fn stat(&self, hier: HierarchyId, path: &str) -> Result<Entry> {
        self.lookup(hier, path).map(|n| n.entry())
    }

    /// What `name` in the directory with container id `dir_id` of `hier` is: a child
    /// container or a file ([`Gpc::lookup_in`] of the directory's node, as an [`Entry`]).
    ///
    /// # Errors
    ///
    /// `ENOENT` (no such directory or entry).
    pub fn stat_at(&self, hier: HierarchyId, dir_id: u64, name: &str) -> Result<Entry> {
        self.lookup_in(&Node::dir(hier, dir_id), name)
            .map(|n| n.entry())
    }

    /// The entries of directory `path`: child containers and files, unsorted
    /// ([`Gpc::list_node`] of its node).
    ///
    /// # Errors
    ///
    /// `ENOENT`, `ENOTDIR`, `ENOMEM`.
    pub fn list(&self, hier: HierarchyId, path: &str) -> Result<Vec<String>> {
        let tree = self.tree.lock();
        let node = self.lookup_locked(&tree, hier, path)?;
        self.list_locked(&tree, &node)
    }

    /// The entries of directory `dir`: child containers and files, unsorted.
    ///
    /// # Errors
    ///
    /// `ENOTDIR` for a file, `ENODEV` if `dir` was removed, `ENOMEM`.
    pub fn list_node(&self, dir: &Node) -> Result<Vec<String>> {
        let tree = self.tree.lock();
        self.list_locked(&tree, dir)
    }

    fn list_locked(&self, tree: &Tree, dir: &Node) -> Result<Vec<String>> {
        let h = Self::hierarchy(tree, dir.hier)?;
        let c = Self::dir_container(tree, dir)?;
        let mut out: Vec<String> = Vec::new();
        for ch in c.children(tree) {
            // SAFETY: alive under the hierarchy lock.
            let ch = unsafe { ch.as_ref() };
            try_push(&mut out, try_string(&ch.name, Gfp::KERNEL)?, Gfp::KERNEL)?;
        }
        let mut err = Ok(());
        self.for_each_file(tree, h, c, &mut |_, prefix, name, _| {
            let mut s = String::new();
            let len = prefix.map_or(0, |p| p.len() + 1) + name.len();
            if let Err(e) = try_reserve_str(&mut s, len, Gfp::KERNEL) {
                err = Err(e);
                return false;
            }
            if let Some(p) = prefix {
                s.push_str(p);
                s.push('.');
            }
            s.push_str(name);
            if let Err(e) = try_push(&mut out, s, Gfp::KERNEL) {
                err = Err(e);
                return false;
            }
            true
        });
        err.map(|()| out)
    }

    /// Call `f` with the state of subsystem `ss` in container `path` of `hier`, under
    /// the hierarchy lock (`f` must not call back into gpc).
    ///
    /// # Errors
    ///
    /// `ENOENT` if there is no such container or `ss` is not bound to `hier`,
    /// `ENOTDIR` for a file.
    pub fn with_container_css<R>(
        &self,
        hier: HierarchyId,
        path: &str,
        ss: SubsysId,
        f: impl FnOnce(CssRef<'_>) -> R,
    ) -> Result<R> {
        let tree = self.tree.lock();
        let node = self.lookup_locked(&tree, hier, path)?;
        let c = Self::dir_container(&tree, &node)?;
        let css = c.css_ref(ss).ok_or(Error::ENOENT)?;
        Ok(f(css))
    }

    /// Call `f` with the state of subsystem `ss` in directory `dir`, under the hierarchy
    /// lock (`f` must not call back into gpc). To keep a state past the call, take a
    /// counted handle instead ([`Gpc::css_get`]).
    ///
    /// # Errors
    ///
    /// `ENOENT` if `ss` is not bound to the node's hierarchy, `ENOTDIR` for a file,
    /// `ENODEV` if `dir` was removed.
    pub fn with_node_css<R>(
        &self,
        dir: &Node,
        ss: SubsysId,
        f: impl FnOnce(CssRef<'_>) -> R,
    ) -> Result<R> {
        let tree = self.tree.lock();
        let c = Self::dir_container(&tree, dir)?;
        let css = c.css_ref(ss).ok_or(Error::ENOENT)?;
        Ok(f(css))
    }
}
