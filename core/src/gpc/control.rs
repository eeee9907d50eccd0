//! The control files: the core files of every v1 container (`cgroup1_base_files`,
//! kernel/cgroup/cgroup-v1.c) and the dispatch of reads and writes to them or to a
//! subsystem's handlers (Linux `cgroup_file_write`, `cgroup_seqfile_show`).
//!
//! Writes are checked as kernfs checks them before any handler runs (size, mode, empty
//! writes), so a subsystem's handler sees only what Linux's would. The value grammars
//! the core files use (`kstrtoull`, `strstrip`, the pid of `tasks`) are
//! `crate::parse`; the controllers' own grammars live with the controllers.

use alloc::vec::Vec;
use core::ptr::NonNull;

use super::debug_view::DebugCtx;
use super::nodes::{Node, NodeFile};
use super::{Gpc, Hierarchy, HierarchyId, Tree};
use crate::container::Container;
use crate::error::{Error, Result};
use crate::files::{file_mode, CfFlags, FileCtx, Out};
use crate::host::alloc::{try_string, Gfp};
use crate::host::task::Caller;
use crate::host::Host;
use crate::options::PATH_MAX;
use crate::primitive::Ordering;
use crate::subsys::{CssRef, DynSubsystem, SubsysId};

/// The page size kernfs limits writes to.
const PAGE_SIZE: usize = 4096;

/// The core files of every v1 container (`cgroup1_base_files`, kernel/cgroup/cgroup-v1.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum CoreFile {
    Procs,
    CloneChildren,
    SaneBehavior,
    Tasks,
    NotifyOnRelease,
    ReleaseAgent,
}

pub(super) const CORE_FILES: &[(CoreFile, &str, CfFlags, u16)] = &[
    (
        CoreFile::Procs,
        "cgroup.procs",
        CfFlags::empty(),
        file_mode(true, true),
    ),
    (
        CoreFile::CloneChildren,
        "cgroup.clone_children",
        CfFlags::empty(),
        file_mode(true, true),
    ),
    (
        CoreFile::SaneBehavior,
        "cgroup.sane_behavior",
        CfFlags::ONLY_ON_ROOT,
        file_mode(true, false),
    ),
    (
        CoreFile::Tasks,
        "tasks",
        CfFlags::empty(),
        file_mode(true, true),
    ),
    (
        CoreFile::NotifyOnRelease,
        "notify_on_release",
        CfFlags::empty(),
        file_mode(true, true),
    ),
    (
        CoreFile::ReleaseAgent,
        "release_agent",
        CfFlags::ONLY_ON_ROOT,
        file_mode(true, true),
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum FileRef {
    Core(CoreFile),
    Subsys(SubsysId, usize),
}

/// Called per file with (file, prefix, name, mode); returns whether to go on.
pub(super) type FileVisitor<'a> = dyn FnMut(FileRef, Option<&str>, &str, u16) -> bool + 'a;

impl<H: Host> Gpc<H> {
    /// Read file `path` into `buf` (appending): [`Gpc::read_node`] of its node.
    ///
    /// # Errors
    ///
    /// `ENOENT`, `ENOTDIR`, `EISDIR` (a directory), `EINVAL` (a write-only file),
    /// `ENOMEM`, or the handler's errno.
    pub fn read(
        &self,
        hier: HierarchyId,
        path: &str,
        caller: &Caller<'_>,
        buf: &mut Vec<u8>,
    ) -> Result {
        let tree = self.tree.lock();
        let node = self.lookup_locked(&tree, hier, path)?;
        self.read_locked(&tree, &node, caller, buf)
    }

    /// Read file `node` into `buf` (appending); on error `buf` is as it was.
    ///
    /// # Errors
    ///
    /// `EISDIR` (a directory), `ENODEV` (removed), `EINVAL` (a write-only file),
    /// `ENOMEM`, or the handler's errno.
    pub fn read_node(&self, node: &Node, caller: &Caller<'_>, buf: &mut Vec<u8>) -> Result {
        let tree = self.tree.lock();
        self.read_locked(&tree, node, caller, buf)
    }

    fn read_locked(
        &self,
        tree: &Tree,
        node: &Node,
        caller: &Caller<'_>,
        buf: &mut Vec<u8>,
    ) -> Result {
        let file = node.file()?.file;
        let h = Self::hierarchy(tree, node.hierarchy())?;
        let c = Self::node_container(tree, node)?;
        let start = buf.len();
        let res = self.read_file(tree, h, c, file, caller, &mut Out::new(buf));
        if res.is_err() {
            buf.truncate(start);
        }
        res
    }

    fn read_file(
        &self,
        tree: &Tree,
        h: &Hierarchy,
        c: &Container,
        file: FileRef,
        caller: &Caller<'_>,
        out: &mut Out<'_>,
    ) -> Result {
        match file {
            FileRef::Core(CoreFile::Tasks) => self.write_pids(tree, c, false, out),
            FileRef::Core(CoreFile::Procs) => self.write_pids(tree, c, true, out),
            FileRef::Core(CoreFile::NotifyOnRelease) => {
                writeln!(
                    out,
                    "{}",
                    u8::from(c.notify_on_release.load(Ordering::Relaxed))
                )
            }
            FileRef::Core(CoreFile::CloneChildren) => {
                writeln!(
                    out,
                    "{}",
                    u8::from(c.clone_children.load(Ordering::Relaxed))
                )
            }
            FileRef::Core(CoreFile::SaneBehavior) => out.bytes(b"0\n"),
            FileRef::Core(CoreFile::ReleaseAgent) => {
                let agent = &h.release_agent;
                writeln!(out, "{agent}")
            }
            FileRef::Subsys(ss, idx) => {
                self.with_subsys_file(tree, h, c, caller, ss, |sub, ctx, css| {
                    sub.read_file(idx, ctx, css, out)
                })
            }
        }
    }

    /// Write `data` (one `write(2)`) to file `path`: [`Gpc::write_node`] of its node,
    /// under the same hold of the hierarchy lock.
    ///
    /// # Errors
    ///
    /// `ENOENT`, `ENOTDIR`, and those of [`Gpc::write_node`].
    pub fn write(&self, hier: HierarchyId, path: &str, data: &[u8], caller: &Caller<'_>) -> Result {
        let mut tree = self.tree.lock();
        let node = self.lookup_locked(&tree, hier, path)?;
        self.write_locked(&mut tree, &node, data, caller)
    }

    /// Write `data` (one `write(2)`) to file `node`. File modes and ownership are the
    /// host VFS's check; this checks what Linux checks inside the handlers. A write to
    /// `tasks` or `cgroup.procs` walks no path and looks the task up once.
    ///
    /// # Errors
    ///
    /// `EISDIR`, `ENODEV` (removed), `E2BIG` (longer than kernfs takes), `EINVAL` (a
    /// read-only file or bad value), and the handler's errno (`ESRCH`, `EACCES`,
    /// `EPERM`, `ENOSPC`, `EBUSY`, `ENOMEM`, ...).
    pub fn write_node(&self, node: &Node, data: &[u8], caller: &Caller<'_>) -> Result {
        let mut tree = self.tree.lock();
        self.write_locked(&mut tree, node, data, caller)
    }

    fn write_locked(
        &self,
        tree: &mut Tree,
        node: &Node,
        data: &[u8],
        caller: &Caller<'_>,
    ) -> Result {
        let NodeFile { file, mode } = node.file()?;
        let hier = node.hierarchy();
        let h = Self::hierarchy(tree, hier)?;
        let c = Self::node_container(tree, node)?;
        // kernfs: a write longer than the file's atomic_write_len (a page; PATH_MAX - 1
        // for release_agent) is refused whole; cgroup_file_write ignores empty writes.
        let max = if file == FileRef::Core(CoreFile::ReleaseAgent) {
            PATH_MAX - 1
        } else {
            PAGE_SIZE
        };
        if data.len() > max {
            return Err(Error::E2BIG);
        }
        if mode & 0o200 == 0 {
            return Err(Error::EINVAL);
        }
        if data.is_empty() {
            return Ok(());
        }
        match file {
            FileRef::Core(CoreFile::Tasks) => self.write_pid(tree, c, data, caller, false),
            FileRef::Core(CoreFile::Procs) => self.write_pid(tree, c, data, caller, true),
            FileRef::Core(CoreFile::NotifyOnRelease) => {
                let v = crate::parse::write_u64_input(data)? != 0;
                let was = c.notify_on_release.load(Ordering::Relaxed);
                if v && !was {
                    self.release.lock().reserve_one(Gfp::ATOMIC)?;
                } else if !v && was {
                    let mut rq = self.release.lock();
                    if c.release_queued.load(Ordering::Relaxed) {
                        rq.remove(NonNull::from(c));
                    }
                    rq.unreserve_one();
                }
                c.notify_on_release.store(v, Ordering::Relaxed);
                Ok(())
            }
            FileRef::Core(CoreFile::CloneChildren) => {
                let v = crate::parse::write_u64_input(data)? != 0;
                c.clone_children.store(v, Ordering::Relaxed);
                Ok(())
            }
            FileRef::Core(CoreFile::ReleaseAgent) => {
                if !caller.creds.cap_sys_admin {
                    return Err(Error::EPERM);
                }
                let text = crate::parse::strstrip(data);
                let text = text.get(..text.len().min(PATH_MAX - 1)).unwrap_or(&[]);
                let text = core::str::from_utf8(text).map_err(|_| Error::EINVAL)?;
                let agent = try_string(text, Gfp::KERNEL)?;
                let idx = hier.0;
                if let Some(h) = tree.hiers.get_mut(idx).and_then(|h| h.as_deref_mut()) {
                    h.release_agent = agent;
                }
                Ok(())
            }
            FileRef::Core(CoreFile::SaneBehavior) => Err(Error::EINVAL),
            FileRef::Subsys(ss, idx) => {
                self.with_subsys_file(tree, h, c, caller, ss, |sub, ctx, css| {
                    sub.write_file(idx, ctx, css, data)
                })
            }
        }
    }

    /// Calls `f` with subsystem `ss`, the context its file handlers get in container `c`
    /// (the debug controller's view of the framework included) and `c`'s state of `ss`.
    ///
    /// # Errors
    ///
    /// `ENOENT` when `ss` has no state in `c`, or `f`'s errno.
    fn with_subsys_file(
        &self,
        tree: &Tree,
        h: &Hierarchy,
        c: &Container,
        caller: &Caller<'_>,
        ss: SubsysId,
        f: impl FnOnce(&dyn DynSubsystem, &FileCtx<'_>, CssRef<'_>) -> Result,
    ) -> Result {
        let sub = self.subsys.get(ss).ok_or(Error::ENOENT)?;
        let css = c.css_ref(ss).ok_or(Error::ENOENT)?;
        let view = DebugCtx {
            gpc: self,
            tree,
            h,
            c,
            caller,
        };
        let ctx = FileCtx {
            caller,
            tree,
            container: c,
            ss,
            nr_cpus: self.host.nr_cpus(),
            nr_mems: self.host.nr_mem_nodes(),
            debug: Some(&view),
        };
        f(*sub, &ctx, css)
    }
}
