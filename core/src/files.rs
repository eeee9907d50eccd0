//! Control files as data (Linux `struct cftype`).
//!
//! A file is a name, flags, and a read and/or write handler. Subsystems list theirs in
//! [`crate::Subsystem::files`]; gpc adds its own core files (`tasks`, `cgroup.procs`,
//! ...), prefixes subsystem files with `NAME.` unless the hierarchy was mounted with
//! `noprefix`, and dispatches reads into a host buffer ([`Out`]) and writes from bytes.
//! Modes follow `cgroup_file_mode()` (kernel/cgroup/cgroup.c): readable files are 0444,
//! writable ones add 0200; the host's VFS enforces them.

use alloc::vec::Vec;
use core::fmt;

use crate::container::Container;
use crate::error::{Error, Result};
use crate::host::alloc::{try_reserve, Gfp};
use crate::host::task::Caller;
use crate::subsys::{Css, SubsysId, Subsystem};

bitflags::bitflags! {
    /// Where a file appears (Linux `CFTYPE_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct CfFlags: u8 {
        /// Only in the hierarchy's root (`CFTYPE_ONLY_ON_ROOT`).
        const ONLY_ON_ROOT = 1 << 0;
        /// Everywhere but the root (`CFTYPE_NOT_ON_ROOT`).
        const NOT_ON_ROOT = 1 << 1;
        /// Named without the subsystem prefix (`CFTYPE_NO_PREFIX`: memcg's
        /// `cgroup.event_control`).
        const NO_PREFIX = 1 << 2;
        /// Writable by everyone (`CFTYPE_WORLD_WRITABLE`: mode `0222` instead of `0200`).
        const WORLD_WRITABLE = 1 << 3;
        /// Also a file of the controller's v2 interface (Linux: in both `legacy_cftypes`
        /// and `dfl_cftypes`, as pids shares its files). A file without it or
        /// [`CfFlags::ONLY_ON_DFL`] is v1's only.
        const ON_DFL = 1 << 4;
        /// Only on the unified hierarchy (Linux: in `dfl_cftypes` only).
        const ONLY_ON_DFL = 1 << 5;
        /// Writable at a cgroup namespace's root by an opener inside it, even with
        /// `nsdelegate` (`CFTYPE_NS_DELEGATABLE`: memcg's `memory.oom.group` and
        /// `memory.reclaim`, as the core's `cgroup.procs`, `cgroup.threads` and
        /// `cgroup.subtree_control`).
        const NS_DELEGATABLE = 1 << 6;
    }
}

/// A read handler: format the file into `out`.
pub type ReadFn<S> = fn(&S, &FileCtxOf<'_, S>, &mut Out<'_>) -> Result;
/// A write handler: parse and apply `data` (one `write(2)`'s bytes).
pub type WriteFn<S> = fn(&S, &FileCtxOf<'_, S>, &[u8]) -> Result;

/// One control file of subsystem `S`.
pub struct CfType<S: Subsystem> {
    /// The name without the subsystem prefix (`"cpus"` for `cpuset.cpus`).
    pub name: &'static str,
    /// Where the file appears.
    pub flags: CfFlags,
    /// How to read it (`None`: reads fail with `EINVAL`).
    pub read: Option<ReadFn<S>>,
    /// How to write it (`None`: the file is read-only).
    pub write: Option<WriteFn<S>>,
}

impl<S: Subsystem> CfType<S> {
    /// A file that can be read and written.
    pub const fn rw(name: &'static str, read: ReadFn<S>, write: WriteFn<S>) -> Self {
        CfType {
            name,
            flags: CfFlags::empty(),
            read: Some(read),
            write: Some(write),
        }
    }

    /// A read-only file.
    pub const fn ro(name: &'static str, read: ReadFn<S>) -> Self {
        CfType {
            name,
            flags: CfFlags::empty(),
            read: Some(read),
            write: None,
        }
    }

    /// A write-only file.
    pub const fn wo(name: &'static str, write: WriteFn<S>) -> Self {
        CfType {
            name,
            flags: CfFlags::empty(),
            read: None,
            write: Some(write),
        }
    }

    /// The same file with `flags`.
    pub const fn with_flags(mut self, flags: CfFlags) -> Self {
        self.flags = flags;
        self
    }

    pub(crate) fn info(&self) -> FileInfo {
        FileInfo {
            name: self.name,
            flags: self.flags,
            mode: file_mode(self.read.is_some(), self.write.is_some())
                | if self.flags.contains(CfFlags::WORLD_WRITABLE) && self.write.is_some() {
                    0o022
                } else {
                    0
                },
        }
    }
}

/// What the host needs to know of a file to show it in a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileInfo {
    /// Name without prefix.
    pub name: &'static str,
    /// Where it appears.
    pub flags: CfFlags,
    /// Permission bits (`0o644`, `0o444`, `0o200`).
    pub mode: u16,
}

/// `cgroup_file_mode()`: 0444 when readable, plus 0200 when writable.
pub const fn file_mode(readable: bool, writable: bool) -> u16 {
    let mut mode = 0;
    if readable {
        mode |= 0o444;
    }
    if writable {
        mode |= 0o200;
    }
    mode
}

/// The longest decimal line of a `u32`: ten digits and a newline.
pub(crate) const DECIMAL_LINE_MAX: usize = 11;

/// `v` in decimal and a newline, written at the end of `line`; returns that text.
#[inline]
pub(crate) fn decimal_line(mut v: u32, line: &mut [u8; DECIMAL_LINE_MAX]) -> &[u8] {
    let mut len = 1;
    if let Some(last) = line.last_mut() {
        *last = b'\n';
    }
    for digit in line.iter_mut().rev().skip(1) {
        *digit = b'0' + (v % 10) as u8;
        len += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    line.get(DECIMAL_LINE_MAX - len..).unwrap_or(&[])
}

/// A host buffer being filled by a read handler; every append is fallible.
///
/// The buffer grows with the flags it was made with: [`Out::new`] for a read in process
/// context (the hierarchy mutex at most), [`Out::atomic`] for one made under an RCU
/// read-side section or a spinning lock.
pub struct Out<'a> {
    buf: &'a mut Vec<u8>,
    flags: Gfp,
}

impl<'a> Out<'a> {
    /// Append to `buf`, which may grow with `GFP_KERNEL`.
    pub fn new(buf: &'a mut Vec<u8>) -> Self {
        Out {
            buf,
            flags: Gfp::KERNEL,
        }
    }

    /// Append to `buf`, which grows with `GFP_ATOMIC` (the writer is in atomic context).
    pub fn atomic(buf: &'a mut Vec<u8>) -> Self {
        Out {
            buf,
            flags: Gfp::ATOMIC,
        }
    }

    /// The same buffer, growing with `GFP_ATOMIC` while the reborrow lives: for a read
    /// handler that writes under a spinning lock.
    pub fn nosleep(&mut self) -> Out<'_> {
        Out {
            buf: &mut *self.buf,
            flags: Gfp::ATOMIC,
        }
    }

    /// The flags the buffer grows with.
    pub fn flags(&self) -> Gfp {
        self.flags
    }

    /// Append bytes.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the buffer cannot grow; nothing is appended then.
    pub fn bytes(&mut self, b: &[u8]) -> Result {
        try_reserve(self.buf, b.len(), self.flags)?;
        self.buf.extend_from_slice(b);
        Ok(())
    }

    /// Append `v` in decimal and a newline: a line of a pid listing, without the cost of
    /// `core::fmt` (a `tasks` read of a big group is mostly this).
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the buffer cannot grow; nothing is appended then.
    #[inline]
    pub fn decimal_line(&mut self, v: u32) -> Result {
        let mut line = [0; DECIMAL_LINE_MAX];
        let text = decimal_line(v, &mut line);
        self.bytes(text)
    }

    /// Append formatted text (what `write!(out, ...)` calls).
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the buffer cannot grow (part of the text may have been appended).
    pub fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> Result {
        fmt::Write::write_fmt(self, args).map_err(|_| Error::ENOMEM)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

impl fmt::Write for Out<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.bytes(s.as_bytes()).map_err(|_| fmt::Error)
    }
}

/// Where a file operation happens, untyped; built by gpc under the hierarchy lock.
pub struct FileCtx<'a> {
    pub(crate) caller: &'a Caller<'a>,
    /// The hierarchy lock's data: the evidence that it is held while the handler runs.
    pub(crate) tree: &'a crate::gpc::Tree,
    pub(crate) container: &'a Container,
    pub(crate) ss: SubsysId,
    pub(crate) nr_cpus: usize,
    pub(crate) nr_mems: usize,
    pub(crate) debug: Option<&'a dyn crate::debug::DebugView>,
    /// The unified hierarchy's mount flags when the file is in it, else empty.
    pub(crate) v2_options: crate::options::V2Options,
}

impl<'a> FileCtx<'a> {
    pub(crate) fn typed<'b, S: Subsystem>(&'b self, css: Css<'b, S>) -> FileCtxOf<'b, S> {
        FileCtxOf { ctx: self, css }
    }
}

/// Where a subsystem's file handler runs: its state in the container, and a view of the
/// container's neighbourhood (valid while the handler runs, under the hierarchy lock).
pub struct FileCtxOf<'a, S: Subsystem> {
    ctx: &'a FileCtx<'a>,
    css: Css<'a, S>,
}

impl<'a, S: Subsystem> FileCtxOf<'a, S> {
    /// The subsystem's state in this container.
    pub fn css(&self) -> Css<'a, S> {
        self.css
    }

    /// The state in the parent container (`None` at the root).
    pub fn parent(&self) -> Option<Css<'a, S>> {
        self.css.parent()
    }

    /// The states in the child containers.
    pub fn children(&self) -> impl Iterator<Item = Css<'a, S>> + 'a {
        let ss = self.ctx.ss;
        self.ctx
            .container
            .children(self.ctx.tree)
            .iter()
            .filter_map(move |c| {
                // SAFETY: the hierarchy lock is held while the ctx lives, so children are
                // alive and their css pointers valid.
                let child = unsafe { c.as_ref() };
                child.css_ref(ss).and_then(|r| r.typed::<S>())
            })
    }

    /// The states in every descendant container, parents before children (pre-order,
    /// Linux `css_for_each_descendant_pre` without the container itself). Allocates
    /// nothing: the walk follows parent links.
    pub fn descendants(&self) -> impl Iterator<Item = Css<'a, S>> + 'a {
        let ss = self.ctx.ss;
        let top: &'a Container = self.ctx.container;
        let tree: &'a crate::gpc::Tree = self.ctx.tree;
        let mut cur: Option<&'a Container> = Some(top);
        core::iter::from_fn(move || {
            cur = next_pre(top, cur?, tree);
            cur
        })
        .filter_map(move |c| c.css_ref(ss).and_then(|r| r.typed::<S>()))
    }

    /// The states in the sibling containers (the parent's other children).
    pub fn siblings(&self) -> impl Iterator<Item = Css<'a, S>> + 'a {
        let ss = self.ctx.ss;
        let me = self.ctx.container as *const Container;
        let parent = self.ctx.container.parent_ref();
        let tree = self.ctx.tree;
        parent
            .into_iter()
            .flat_map(move |p| p.children(tree).iter())
            .filter(move |c| !core::ptr::eq(c.as_ptr(), me))
            .filter_map(move |c| {
                // SAFETY: as in `children`.
                let sib = unsafe { c.as_ref() };
                sib.css_ref(ss).and_then(|r| r.typed::<S>())
            })
    }

    /// The states in every container of the hierarchy, the root's first, then in
    /// pre-order (Linux `css_for_each_descendant_pre` from the root css), each with its
    /// container's task counts. For a controller whose change in one container moves
    /// masks of containers elsewhere (cpuset partitions take CPUs from siblings).
    /// Allocates nothing: the walk follows parent links.
    pub fn hierarchy(&self) -> impl Iterator<Item = Peer<'a, S>> + 'a {
        let ss = self.ctx.ss;
        let tree: &'a crate::gpc::Tree = self.ctx.tree;
        let mut top: &'a Container = self.ctx.container;
        while let Some(p) = top.parent_ref() {
            top = p;
        }
        // The unified root holds no state of its own (gpc keeps the controllers' root
        // states apart): the root's is the one every state's parent chain ends at.
        let root_css = self.css.ancestors_and_self().last().unwrap_or(self.css);
        let mut cur: Option<&'a Container> = None;
        core::iter::from_fn(move || {
            cur = match cur {
                None => Some(top),
                Some(c) => next_pre(top, c, tree),
            };
            cur
        })
        .filter_map(move |c| {
            let css = if core::ptr::eq(c, top) {
                Some(root_css)
            } else {
                c.css_ref(ss).and_then(|r| r.typed::<S>())
            };
            css.map(|css| Peer { css, container: c })
        })
    }

    /// Whether the container or a descendant has tasks (Linux `cgroup_is_populated`).
    pub fn is_populated(&self) -> bool {
        self.ctx.container.is_populated_tree()
    }

    /// Who writes or reads.
    pub fn caller(&self) -> &Caller<'a> {
        self.ctx.caller
    }

    /// CPUs on the machine (`0..nr_cpus`).
    pub fn nr_cpus(&self) -> usize {
        self.ctx.nr_cpus
    }

    /// Memory nodes on the machine (`0..nr_mems`).
    pub fn nr_mems(&self) -> usize {
        self.ctx.nr_mems
    }

    /// The unified hierarchy's mount flags (`memory_recursiveprot`, ...) when the file is
    /// in it; empty on a v1 hierarchy.
    pub fn v2_options(&self) -> crate::options::V2Options {
        self.ctx.v2_options
    }

    /// Whether the file is in the unified (v2) hierarchy (Linux `cgroup_subsys_on_dfl`).
    pub fn on_dfl(&self) -> bool {
        self.ctx.container.unified
    }

    /// gpc's own state as the debug controller shows it (None outside gpc's debug
    /// support).
    pub fn debug(&self) -> Option<&'a dyn crate::debug::DebugView> {
        self.ctx.debug
    }
}

/// A subsystem state met by [`FileCtxOf::hierarchy`], with what its container holds.
pub struct Peer<'a, S: Subsystem> {
    css: Css<'a, S>,
    container: &'a Container,
}

impl<S: Subsystem> Clone for Peer<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S: Subsystem> Copy for Peer<'_, S> {}

impl<'a, S: Subsystem> Peer<'a, S> {
    /// The state.
    pub fn css(&self) -> Css<'a, S> {
        self.css
    }

    /// Whether the container or a descendant has tasks (Linux `cgroup_is_populated`).
    pub fn is_populated(&self) -> bool {
        self.container.is_populated_tree()
    }

    /// Whether the container itself has tasks (Linux `nr_populated_csets != 0`); a root
    /// always has (Linux's root cgroup holds the kernel threads and init).
    pub fn has_tasks(&self) -> bool {
        self.container.is_root() || self.container.has_tasks()
    }
}

/// The container after `cur` in a pre-order walk of `top`'s subtree (excluding `top`),
/// under the hierarchy lock (`tree`).
pub(crate) fn next_pre<'a>(
    top: &'a Container,
    cur: &'a Container,
    tree: &'a crate::gpc::Tree,
) -> Option<&'a Container> {
    // SAFETY (for the derefs below): children are alive under the hierarchy lock.
    if let Some(first) = cur.children(tree).first() {
        // SAFETY: see above.
        return Some(unsafe { &*first.as_ptr() });
    }
    let mut node = cur;
    while !core::ptr::eq(node, top) {
        let parent = node.parent_ref()?;
        let sibs = parent.children(tree);
        if let Some(next) = sibs.get(node.sibling_pos() + 1) {
            // SAFETY: see above.
            return Some(unsafe { &*next.as_ptr() });
        }
        node = parent;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn decimal_lines_match_core_fmt() -> Result {
        let mut buf = Vec::new();
        let mut want = alloc::string::String::new();
        let mut out = Out::new(&mut buf);
        for v in [
            0,
            1,
            9,
            10,
            99,
            100,
            32_768,
            4_194_304,
            999_999_999,
            1 << 31,
            u32::MAX,
        ] {
            out.decimal_line(v)?;
            want += &format!("{v}\n");
        }
        assert_eq!(buf, want.as_bytes());
        Ok(())
    }
}
