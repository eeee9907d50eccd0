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
use super::ns::CgroupNs;
use super::{Gpc, Hierarchy, HierarchyId, Tree};
use crate::container::{Container, LIMIT_MAX};
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
    // v2 (`cgroup_base_files`, kernel/cgroup/cgroup.c); a hierarchy's rules say which
    // of all these its containers have.
    Type,
    Threads,
    Controllers,
    SubtreeControl,
    Events,
    MaxDescendants,
    MaxDepth,
    Stat,
    StatLocal,
    Freeze,
    Kill,
    CpuStat,
    CpuStatLocal,
    /// `{io,memory,cpu}.pressure` (`cgroup_psi_files`; no `irq.pressure`: Linux has it
    /// only with `CONFIG_IRQ_TIME_ACCOUNTING`, which the reference kernel lacks).
    Pressure(PsiResource),
    /// `cgroup.pressure`: whether the `*.pressure` files are shown.
    PsiEnable,
}

/// The resources pressure stall information is kept for (Linux `enum psi_res`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum PsiResource {
    Io,
    Memory,
    Cpu,
}

impl From<PsiResource> for crate::psi::PsiRes {
    fn from(r: PsiResource) -> Self {
        match r {
            PsiResource::Io => crate::psi::PsiRes::Io,
            PsiResource::Memory => crate::psi::PsiRes::Memory,
            PsiResource::Cpu => crate::psi::PsiRes::Cpu,
        }
    }
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
    (
        CoreFile::Type,
        "cgroup.type",
        CfFlags::NOT_ON_ROOT,
        file_mode(true, true),
    ),
    (
        CoreFile::Threads,
        "cgroup.threads",
        CfFlags::empty(),
        file_mode(true, true),
    ),
    (
        CoreFile::Controllers,
        "cgroup.controllers",
        CfFlags::empty(),
        file_mode(true, false),
    ),
    (
        CoreFile::SubtreeControl,
        "cgroup.subtree_control",
        CfFlags::empty(),
        file_mode(true, true),
    ),
    (
        CoreFile::Events,
        "cgroup.events",
        CfFlags::NOT_ON_ROOT,
        file_mode(true, false),
    ),
    (
        CoreFile::MaxDescendants,
        "cgroup.max.descendants",
        CfFlags::empty(),
        file_mode(true, true),
    ),
    (
        CoreFile::MaxDepth,
        "cgroup.max.depth",
        CfFlags::empty(),
        file_mode(true, true),
    ),
    (
        CoreFile::Stat,
        "cgroup.stat",
        CfFlags::empty(),
        file_mode(true, false),
    ),
    (
        CoreFile::StatLocal,
        "cgroup.stat.local",
        CfFlags::NOT_ON_ROOT,
        file_mode(true, false),
    ),
    (
        CoreFile::Freeze,
        "cgroup.freeze",
        CfFlags::NOT_ON_ROOT,
        file_mode(true, true),
    ),
    (
        CoreFile::Kill,
        "cgroup.kill",
        CfFlags::NOT_ON_ROOT,
        file_mode(false, true),
    ),
    (
        CoreFile::CpuStat,
        "cpu.stat",
        CfFlags::empty(),
        file_mode(true, false),
    ),
    (
        CoreFile::CpuStatLocal,
        "cpu.stat.local",
        CfFlags::empty(),
        file_mode(true, false),
    ),
    (
        CoreFile::Pressure(PsiResource::Io),
        "io.pressure",
        CfFlags::empty(),
        file_mode(true, true),
    ),
    (
        CoreFile::Pressure(PsiResource::Memory),
        "memory.pressure",
        CfFlags::empty(),
        file_mode(true, true),
    ),
    (
        CoreFile::Pressure(PsiResource::Cpu),
        "cpu.pressure",
        CfFlags::empty(),
        file_mode(true, true),
    ),
    (
        CoreFile::PsiEnable,
        "cgroup.pressure",
        CfFlags::empty(),
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
            FileRef::Core(CoreFile::Tasks | CoreFile::Threads) => {
                self.write_pids(tree, c, false, out)
            }
            FileRef::Core(CoreFile::Procs) => self.write_pids(tree, c, true, out),
            FileRef::Core(CoreFile::Type) => self.cgroup_type_show(c, out),
            FileRef::Core(CoreFile::Controllers) => {
                self.write_ss_mask(self.v2_control(tree, c), out)
            }
            FileRef::Core(CoreFile::SubtreeControl) => {
                self.write_ss_mask(c.subtree_control.load(Ordering::Relaxed), out)
            }
            FileRef::Core(CoreFile::Events) => {
                let populated = c.populated.load(Ordering::Acquire) != 0;
                let frozen = c.freezer.frozen.load(Ordering::Relaxed);
                writeln!(
                    out,
                    "populated {}\nfrozen {}",
                    u8::from(populated),
                    u8::from(frozen)
                )
            }
            FileRef::Core(CoreFile::StatLocal) => {
                writeln!(out, "frozen_usec {}", self.frozen_usec(c))
            }
            FileRef::Core(CoreFile::Freeze) => {
                writeln!(
                    out,
                    "{}",
                    u8::from(c.freezer.freeze.load(Ordering::Relaxed))
                )
            }
            // Write-only (mode 0200): cgroup_seqfile_show finds no show op.
            FileRef::Core(CoreFile::Kill) => Err(Error::EINVAL),
            FileRef::Core(CoreFile::CpuStat) => {
                // Linux cgroup_base_stat_cputime_show: the simulated tasks run in user
                // mode at nice 0. The cpu controller's own lines come with its v2 state.
                let usec = self.subtree_cpu_ns(tree, c) / 1000;
                writeln!(
                    out,
                    "usage_usec {usec}\nuser_usec {usec}\nsystem_usec 0\nnice_usec 0"
                )?;
                self.cpu_stat_show(tree, c, false, out)
            }
            // Empty without a cpu controller state of the group's own (cpu_local_stat_show).
            FileRef::Core(CoreFile::CpuStatLocal) => self.cpu_stat_show(tree, c, true, out),
            FileRef::Core(CoreFile::Pressure(res)) => {
                self.psi_show_container(tree, c, res.into(), out)
            }
            FileRef::Core(CoreFile::PsiEnable) => {
                writeln!(out, "{}", u8::from(c.psi_enabled.load(Ordering::Relaxed)))
            }
            FileRef::Core(CoreFile::MaxDescendants) => {
                Self::write_limit(c.max_descendants.load(Ordering::Relaxed), out)
            }
            FileRef::Core(CoreFile::MaxDepth) => {
                Self::write_limit(c.max_depth.load(Ordering::Relaxed), out)
            }
            FileRef::Core(CoreFile::Stat) => {
                // Removed groups are freed after a grace period, never kept dying.
                writeln!(
                    out,
                    "nr_descendants {}\nnr_dying_descendants 0",
                    c.nr_descendants.load(Ordering::Relaxed)
                )
            }
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
        self.write_locked(&mut tree, &node, data, caller, None)
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
        self.write_locked(&mut tree, node, data, caller, None)
    }

    /// [`Gpc::write_node`] by an opener in cgroup namespace `ns` (Linux `ctx->ns`,
    /// taken at open; `None`: the initial namespace). With `nsdelegate`, the namespace
    /// is a delegation boundary: its root group's files other than `cgroup.procs`,
    /// `cgroup.threads`, `cgroup.subtree_control` and the controllers' files flagged
    /// [`CfFlags::NS_DELEGATABLE`] refuse the write (`EPERM`), and a move must start and
    /// end inside it (`ENOENT`).
    ///
    /// # Errors
    ///
    /// Those of [`Gpc::write_node`], and those two.
    pub fn write_node_ns(
        &self,
        node: &Node,
        data: &[u8],
        caller: &Caller<'_>,
        ns: Option<&CgroupNs>,
    ) -> Result {
        let mut tree = self.tree.lock();
        self.write_locked(&mut tree, node, data, caller, ns)
    }

    fn write_locked(
        &self,
        tree: &mut Tree,
        node: &Node,
        data: &[u8],
        caller: &Caller<'_>,
        ns: Option<&CgroupNs>,
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
        // cgroup_file_write(): with nsdelegate, an opener inside a namespace may not
        // write its root's files but the delegatable ones (CFTYPE_NS_DELEGATABLE), before
        // any handler is looked at.
        if let Some(ns) = ns {
            let delegatable = match file {
                FileRef::Core(cf) => matches!(
                    cf,
                    CoreFile::Procs | CoreFile::Threads | CoreFile::SubtreeControl
                ),
                FileRef::Subsys(ss, idx) => self
                    .subsys
                    .get(ss)
                    .and_then(|sub| sub.file_info(idx))
                    .is_some_and(|f| f.flags.contains(CfFlags::NS_DELEGATABLE)),
            };
            if !data.is_empty() && !delegatable && Self::nsdelegate(tree, c) && ns.is_root(c) {
                return Err(Error::EPERM);
            }
        }
        if mode & 0o200 == 0 {
            return Err(Error::EINVAL);
        }
        if data.is_empty() {
            return Ok(());
        }
        match file {
            FileRef::Core(CoreFile::Tasks) => self.write_pid(tree, c, data, caller, false),
            FileRef::Core(CoreFile::Procs) if h.rules.unified() => {
                self.write_pid_v2(tree, c, data, caller, ns, true)
            }
            FileRef::Core(CoreFile::Threads) => self.write_pid_v2(tree, c, data, caller, ns, false),
            FileRef::Core(CoreFile::Procs) => self.write_pid(tree, c, data, caller, true),
            FileRef::Core(CoreFile::SubtreeControl) => self.write_subtree_control(tree, c, data),
            FileRef::Core(CoreFile::Type) => self.cgroup_type_write(tree, c, data),
            FileRef::Core(CoreFile::MaxDescendants) => {
                c.max_descendants
                    .store(crate::parse::cgroup_limit(data)?, Ordering::Relaxed);
                Ok(())
            }
            FileRef::Core(CoreFile::MaxDepth) => {
                c.max_depth
                    .store(crate::parse::cgroup_limit(data)?, Ordering::Relaxed);
                Ok(())
            }
            FileRef::Core(
                CoreFile::Controllers
                | CoreFile::Events
                | CoreFile::Stat
                | CoreFile::StatLocal
                | CoreFile::CpuStat
                | CoreFile::CpuStatLocal,
            ) => Err(Error::EINVAL),
            FileRef::Core(CoreFile::Freeze) => self.write_freeze(tree, c, data),
            FileRef::Core(CoreFile::Kill) => self.write_kill(tree, c, data),
            FileRef::Core(CoreFile::Pressure(_)) => {
                // The simulator's credentials are all or nothing: an effective
                // CAP_SYS_RESOURCE goes with CAP_SYS_ADMIN.
                crate::parse::psi_trigger(data, caller.creds.cap_sys_admin)
            }
            FileRef::Core(CoreFile::PsiEnable) => {
                // Linux cgroup_pressure_write: kstrtoint, then 0 or 1 (ERANGE).
                let v = crate::parse::kstrtoint(crate::parse::strstrip(data), 0)?;
                if !(0..=1).contains(&v) {
                    return Err(Error::ERANGE);
                }
                self.psi_set_enabled(tree, c, v == 1);
                Ok(())
            }
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

    /// A subsystem mask as `cgroup.controllers` and `cgroup.subtree_control` print it
    /// (Linux `cgroup_print_ss_mask`): names separated by blanks and a newline, nothing
    /// at all for an empty mask.
    fn write_ss_mask(&self, mask: u32, out: &mut Out<'_>) -> Result {
        let mut printed = false;
        for (ss, sub) in self.subsys.iter().enumerate() {
            if mask & (1 << ss) == 0 {
                continue;
            }
            if printed {
                out.bytes(b" ")?;
            }
            out.bytes(sub.name().as_bytes())?;
            printed = true;
        }
        if printed {
            out.bytes(b"\n")?;
        }
        Ok(())
    }

    /// `cgroup.max.depth` / `cgroup.max.descendants` (`cgroup_max_depth_show`).
    fn write_limit(v: usize, out: &mut Out<'_>) -> Result {
        if v >= LIMIT_MAX {
            out.bytes(b"max\n")
        } else {
            writeln!(out, "{v}")
        }
    }

    /// The controllers `c` may enable in its children (Linux `cgroup_control`): the
    /// parent's `cgroup.subtree_control` (only its threaded controllers in a threaded
    /// group), or at the root those on the unified hierarchy.
    pub(super) fn v2_control(&self, tree: &Tree, c: &Container) -> u32 {
        match c.parent_ref() {
            Some(p) if c.is_threaded() => {
                p.subtree_control.load(Ordering::Relaxed) & self.threaded_ss_mask()
            }
            Some(p) => p.subtree_control.load(Ordering::Relaxed),
            None => self.dfl_subsys_mask(tree),
        }
    }

    /// A `cgroup.subtree_control` write (Linux `cgroup_subtree_control_write`): `+name`
    /// and `-name` separated by spaces; a later token for the same controller wins.
    fn write_subtree_control(&self, tree: &Tree, c: &Container, data: &[u8]) -> Result {
        let (mut enable, mut disable) = (0u32, 0u32);
        // strstrip, then strsep(" "): single spaces only (a tab stays in a token).
        for tok in crate::parse::strstrip(data)
            .split(|&b| b == b' ')
            .filter(|t| !t.is_empty())
        {
            let (sign, name) = tok.split_first().ok_or(Error::EINVAL)?;
            // Only controllers with a v2 interface are named here (Linux leaves the
            // others, `cgrp_dfl_inhibit_ss_mask`, out of the search): another name,
            // or a token without its sign, is EINVAL.
            let ss = self
                .subsys
                .iter()
                .position(|s| {
                    s.name().as_bytes() == name && crate::rules::has_v2_interface(s.name())
                })
                .ok_or(Error::EINVAL)?;
            let bit = 1u32 << ss;
            match sign {
                b'+' => {
                    enable |= bit;
                    disable &= !bit;
                }
                b'-' => {
                    disable |= bit;
                    enable &= !bit;
                }
                _ => return Err(Error::EINVAL),
            }
        }
        let have = c.subtree_control.load(Ordering::Relaxed);
        enable &= !have;
        disable &= have;
        if enable == 0 && disable == 0 {
            return Ok(());
        }
        // Per controller in ssid order, the first refusal wins: one the parent does not
        // offer cannot be enabled (ENOENT); one a live child enables for its own
        // children cannot be disabled (EBUSY).
        let offered = self.v2_control(tree, c);
        for ss in 0..self.subsys.len() {
            let bit = 1u32 << ss;
            if enable & bit != 0 && offered & bit == 0 {
                return Err(Error::ENOENT);
            }
            if disable & bit != 0
                && c.children(tree).iter().any(|k| {
                    // SAFETY: children are alive under the hierarchy lock.
                    let k = unsafe { k.as_ref() };
                    !k.dead.load(Ordering::Acquire)
                        && k.subtree_control.load(Ordering::Relaxed) & bit != 0
                })
            {
                return Err(Error::EBUSY);
            }
        }
        // The enable set is vetted once every token has passed, before the masks are
        // saved and applied (Linux cgroup_vet_subtree_control_enable: the
        // no-internal-process rule and the threaded model's refusals).
        self.vet_subtree_control_enable(c, enable)?;
        self.apply_subtree_control(tree, c, enable, disable)
    }

    /// The cpu controller's lines of the unified `cpu.stat` (`local`: `cpu.stat.local`),
    /// Linux `cgroup_extra_stat_show` / `cgroup_local_stat_show`: only when the group
    /// has a cpu state of its own (`cgroup_css(cgrp, ss)`: the controller is on the
    /// unified hierarchy and, below the root, enabled in the parent's
    /// `cgroup.subtree_control`), else nothing.
    fn cpu_stat_show(&self, tree: &Tree, c: &Container, local: bool, out: &mut Out<'_>) -> Result {
        let Some(ss) = self.subsys_id("cpu") else {
            return Ok(());
        };
        if !c.unified || self.dfl_subsys_mask(tree) & (1 << ss) == 0 {
            return Ok(());
        }
        let (Some(sub), Some(css)) = (self.subsys.get(ss), self.dfl_own_css(c, ss)) else {
            return Ok(());
        };
        // SAFETY: a root state, or the container's own, alive under the hierarchy lock.
        let css = unsafe { CssRef::from_raw(css) };
        if local {
            sub.local_stat_show(css, out)
        } else {
            sub.extra_stat_show(css, out)
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
        // The unified root holds no state of its own: the controllers' root states.
        let css = if c.unified {
            // SAFETY: a root state, or the container's own, alive under the lock.
            self.dfl_own_css(c, ss)
                .map(|p| unsafe { CssRef::from_raw(p) })
        } else {
            c.css_ref(ss)
        }
        .ok_or(Error::ENOENT)?;
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
            v2_options: if c.unified {
                tree.hiers
                    .get(c.hier)
                    .and_then(|h| h.as_deref())
                    .map_or(crate::options::V2Options::empty(), |h| h.v2_options)
            } else {
                crate::options::V2Options::empty()
            },
        };
        f(*sub, &ctx, css)
    }
}
