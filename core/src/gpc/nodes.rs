//! Names in a hierarchy: resolving a path to a container and maybe one of its files
//! (Linux kernfs: `kernfs_walk_and_get`, `kernfs_find_ns`), listing a directory.
//!
//! A container's files are not stored: they are the core files plus the files of the
//! hierarchy's subsystems, filtered by root/non-root flags and named with or without the
//! subsystem prefix; [`Gpc::for_each_file`] generates them in the order Linux lists
//! them, and a lookup is a walk over that small list.

use alloc::string::String;
use alloc::vec::Vec;

use super::control::{FileRef, FileVisitor, CORE_FILES};
use super::{Entry, Gpc, Hierarchy, HierarchyId, Tree};
use crate::container::Container;
use crate::error::{Error, Result};
use crate::files::{CfFlags, FileInfo};
use crate::host::alloc::{try_push, try_string};
use crate::host::Host;
use crate::subsys::{CssRef, SubsysId};

/// A resolved path: the hierarchy, the container, and the file if it names one.
pub(super) type Resolved<'t> = (&'t Hierarchy, &'t Container, Option<(FileRef, u16)>);

impl<H: Host> Gpc<H> {
    /// Every file of container `c`, with its name parts (prefix, name).
    fn for_each_file(&self, h: &Hierarchy, c: &Container, f: &mut FileVisitor<'_>) {
        let on_root = c.is_root();
        let visible = |flags: CfFlags| {
            !(flags.contains(CfFlags::ONLY_ON_ROOT) && !on_root
                || flags.contains(CfFlags::NOT_ON_ROOT) && on_root)
        };
        for &(cf, name, flags, mode) in CORE_FILES {
            if visible(flags)
                && h.rules.has_core_file(name)
                && !f(FileRef::Core(cf), None, name, mode)
            {
                return;
            }
        }
        for (ss, sub) in self.subsys.iter().enumerate() {
            if h.subsys_mask & (1 << ss) == 0 {
                continue;
            }
            for idx in 0..sub.file_count() {
                let Some(FileInfo { name, flags, mode }) = sub.file_info(idx) else {
                    continue;
                };
                if !visible(flags) {
                    continue;
                }
                let prefix = if h.noprefix || flags.contains(CfFlags::NO_PREFIX) {
                    None
                } else {
                    Some(sub.name())
                };
                if !f(FileRef::Subsys(ss, idx), prefix, name, mode) {
                    return;
                }
            }
        }
    }

    pub(super) fn find_file(
        &self,
        h: &Hierarchy,
        c: &Container,
        want: &str,
    ) -> Option<(FileRef, u16)> {
        let mut found = None;
        self.for_each_file(h, c, &mut |fr, prefix, name, mode| {
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

    pub(super) fn resolve_full<'t>(
        &self,
        tree: &'t Tree,
        hier: HierarchyId,
        path: &str,
    ) -> Result<Resolved<'t>> {
        let h = Self::hierarchy(tree, hier)?;
        let mut cur = h.root();
        let mut comps = path.split('/').filter(|c| !c.is_empty()).peekable();
        while let Some(comp) = comps.next() {
            if let Some(child) = Self::child_named(cur, comp) {
                cur = child;
                continue;
            }
            if let Some(f) = self.find_file(h, cur, comp) {
                if comps.peek().is_some() {
                    return Err(Error::ENOTDIR);
                }
                return Ok((h, cur, Some(f)));
            }
            return Err(Error::ENOENT);
        }
        Ok((h, cur, None))
    }

    /// What `path` names in `hier`.
    ///
    /// # Errors
    ///
    /// `ENOENT`, `ENOTDIR` (a file used as a directory).
    pub fn stat(&self, hier: HierarchyId, path: &str) -> Result<Entry> {
        let tree = self.tree.lock();
        let (_, c, file) = self.resolve_full(&tree, hier, path)?;
        Ok(match file {
            Some((_, mode)) => Entry::File { mode },
            None => Entry::Dir { id: c.id },
        })
    }

    /// What `name` in the directory with container id `dir_id` of `hier` is: a child
    /// container or a file ([`Gpc::stat`] of the directory's path joined with `name`, in
    /// O(1) however deep the directory is).
    ///
    /// # Errors
    ///
    /// `ENOENT` (no such directory or entry).
    pub fn stat_at(&self, hier: HierarchyId, dir_id: u64, name: &str) -> Result<Entry> {
        let tree = self.tree.lock();
        let h = Self::hierarchy(&tree, hier)?;
        let dir = Self::container_at(&tree, hier, dir_id)?;
        // SAFETY: indexed, hence alive under the hierarchy lock.
        let dir = unsafe { dir.as_ref() };
        if let Some(c) = Self::child_named(dir, name) {
            return Ok(Entry::Dir { id: c.id });
        }
        match self.find_file(h, dir, name) {
            Some((_, mode)) => Ok(Entry::File { mode }),
            None => Err(Error::ENOENT),
        }
    }

    /// The entries of directory `path`: child containers and files, unsorted.
    ///
    /// # Errors
    ///
    /// `ENOENT`, `ENOTDIR`, `ENOMEM`.
    pub fn list(&self, hier: HierarchyId, path: &str) -> Result<Vec<String>> {
        let tree = self.tree.lock();
        let (h, c, file) = self.resolve_full(&tree, hier, path)?;
        if file.is_some() {
            return Err(Error::ENOTDIR);
        }
        let mut out: Vec<String> = Vec::new();
        for ch in c.children_unlocked() {
            // SAFETY: alive under the hierarchy lock.
            let ch = unsafe { ch.as_ref() };
            try_push(&mut out, try_string(&ch.name)?)?;
        }
        let mut err = Ok(());
        self.for_each_file(h, c, &mut |_, prefix, name, _| {
            let mut s = String::new();
            let len = prefix.map_or(0, |p| p.len() + 1) + name.len();
            if let Err(e) = s.try_reserve_exact(len) {
                err = Err(Error::from(e));
                return false;
            }
            if let Some(p) = prefix {
                s.push_str(p);
                s.push('.');
            }
            s.push_str(name);
            if let Err(e) = try_push(&mut out, s) {
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
        let (_, c, file) = self.resolve_full(&tree, hier, path)?;
        if file.is_some() {
            return Err(Error::ENOTDIR);
        }
        let css = c.css_ref(ss).ok_or(Error::ENOENT)?;
        Ok(f(css))
    }
}
