//! Walking the tasks of a container (Linux `css_task_iter`), in pieces, and the sorted
//! `tasks` / `cgroup.procs` listings built on it (Linux `cgroup_pidlist_*`).
//!
//! # The walk
//!
//! A container's css_groups are on its list (`Container::cgs`, under the table lock), and
//! each css_group's tasks on one list per CPU shard (under that shard's lock). A walk
//! visits those lists only: O(css_groups of the container × shards + members), whatever
//! the machine holds.
//!
//! Between two pieces a walk holds no lock: its position is a *sentinel*, a node shaped
//! like a task slot, linked into the shard list it stopped in, right behind the last task
//! it listed (Linux's dcache readdir cursor; kernfs `kernfs_open_file` works alike).
//! Tasks that exit or move unlink themselves around it; a fork links the child first in
//! the list, behind the sentinel. Hence, as Linux's `css_task_iter`:
//! - a task that stays in its css_group for the whole walk is listed exactly once (no
//!   list operation of another task moves the sentinel or this task);
//! - a task forked, exiting or moved in or out during the walk is listed at most once
//!   (a fork or a move in lands behind the sentinel of a list being walked, or in a list
//!   not yet reached);
//! - a task that moves between two css_groups of the same container during the walk (a
//!   move in *another* v1 hierarchy) may be listed twice or missed, as in Linux: the
//!   sorted listings below walk under the hierarchy lock, which excludes moves.
//!
//! A css_group whose last reference goes while a walk is parked in it (its tasks all
//! left) hands the walk on to the next css_group of the walk's container
//! ([`Gpc::evict_walks`], under the table lock, before it unlinks): the walk holds no
//! reference, so it never keeps a container populated or a css_group alive.
//!
//! # Sorted listings with a bounded buffer
//!
//! v1 lists `tasks` and `cgroup.procs` sorted and without duplicates (Linux builds an
//! array of every pid, `pidlist_array_load`, then sorts it). gpc keeps at most
//! [`PIDS_PER_PASS`] pids per reader instead: one pass of the walk collects the smallest
//! pids above the last one listed, into a buffer of at most twice that many (compacted by
//! sort and dedup whenever it fills), so a streaming reader ([`Gpc::pids_reader`]) of a
//! container of `m` tasks costs `ceil(m / PIDS_PER_PASS)` passes of O(m) each, and its
//! memory is bounded whatever `m` is. A read of the whole file into one buffer (which
//! holds every pid anyway) doubles its pass each time: O(m log m) in all.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::marker::PhantomData;
use core::ptr::NonNull;

use super::control::{CoreFile, FileRef};
use super::nodes::Node;
use super::{Gpc, Tree};
use crate::container::{Container, HierIdx};
use crate::cssgroup::{CgTable, CssGroup, SENTINEL};
use crate::error::{Error, Result};
use crate::files::{decimal_line, Out, DECIMAL_LINE_MAX};
use crate::host::alloc::{try_box, try_reserve, Gfp};
use crate::host::task::{Pid, TaskSlot};
use crate::host::Host;
use crate::list::HNode;
use crate::primitive::{Ordering, UnsafeCell};
use crate::subsys::{CssRef, SubsysId};

/// How many pids one pass of a sorted listing collects (it buffers at most twice as
/// many). 8192 pids is a quarter of Linux's default `pid_max`: every container on a
/// machine with at most 8192 tasks is listed in one pass, and the buffer (64 KiB at its
/// largest) stays what a kernel may allocate for a reader.
pub const PIDS_PER_PASS: usize = 8192;

pub use crate::host::task::TaskId;

/// Where a walk is: the css_group and shard whose list holds its sentinel, and the
/// hierarchy of its container (whose css_group list it follows).
#[derive(Clone, Copy)]
struct Pos {
    /// `None`: the walk is over.
    cg: Option<NonNull<CssGroup>>,
    shard: usize,
    hier: HierIdx,
}

/// A walk's sentinel and position. `#[repr(C)]` with the sentinel first: a list node
/// that is not a task is a `Walk`.
#[repr(C)]
struct Walk {
    sentinel: TaskSlot,
    /// Under the table lock.
    pos: UnsafeCell<Pos>,
}

impl Walk {
    /// The position, under the table lock (`_table`: its guarded data).
    fn pos(&self, _table: &CgTable) -> Pos {
        // SAFETY: written only under the table lock, which the caller holds.
        self.pos.with(|p| unsafe { *p })
    }

    fn set_pos(&self, pos: Pos, _table: &CgTable) {
        // SAFETY: as in `pos`.
        self.pos.with_mut(|p| unsafe { *p = pos });
    }

    /// Park the sentinel first in `cg`'s shard `shard`, or end the walk (`cg` null).
    fn park(&self, cg: Option<NonNull<CssGroup>>, shard: usize, hier: HierIdx, table: &CgTable) {
        if let Some(c) = cg {
            // SAFETY: linked to the walk's container, under the table lock: alive.
            if let Some(l) = unsafe { c.as_ref() }.shard(shard) {
                let s = l.lock();
                // SAFETY: under the shard's lock; the sentinel is unlinked and lives in
                // its box until the walk ends, which unlinks it first.
                unsafe { s.tasks.add_head(&self.sentinel.node) };
            }
        }
        self.set_pos(Pos { cg, shard, hier }, table);
    }

    /// Move on from the end of the current shard list: the next shard, or the first
    /// shard of the next css_group of the container, or the end.
    fn advance(&self, table: &CgTable) {
        let pos = self.pos(table);
        let Some(cg) = pos.cg else { return };
        // SAFETY: as in `park`.
        let cgr = unsafe { cg.as_ref() };
        if pos.shard + 1 < cgr.nr_shards() {
            self.park(Some(cg), pos.shard + 1, pos.hier, table);
            return;
        }
        let next = cgr
            .links
            .get(pos.hier)
            // SAFETY: the container list is under the table lock, held.
            .map_or(core::ptr::null(), |l| unsafe { l.next() });
        // SAFETY: a node of hierarchy `hier`'s container list is `links[hier]` of a live
        // css_group.
        let next = (!next.is_null()).then(|| unsafe { CssGroup::from_link(next, pos.hier) });
        self.park(next, 0, pos.hier, table);
    }
}

/// A walk over the tasks of one container, in pieces (see the module doc). Made by
/// [`Gpc::tasks`]; holds no lock between calls; ends (and frees its sentinel) when
/// dropped.
pub struct TaskIter<'g, H: Host> {
    gpc: &'g Gpc<H>,
    walk: NonNull<Walk>,
    /// Not `Send`: a walk is a reader's, as a seq_file's private data.
    _not_send: PhantomData<*mut ()>,
}

impl<H: Host> TaskIter<'_, H> {
    /// List the next tasks into `out`; returns how many. 0 means the walk is over (or
    /// `out` is empty). Holds the table lock and one shard lock while it fills `out`, so
    /// a caller bounds the hold by the size of `out`.
    pub fn fill(&mut self, out: &mut [TaskId]) -> usize {
        if out.is_empty() {
            return 0;
        }
        let table = self.gpc.table.lock();
        // SAFETY: the walk lives in its box until `drop`.
        let w = unsafe { self.walk.as_ref() };
        let mut n = 0;
        loop {
            let pos = w.pos(&table);
            let Some(cg) = pos.cg else { return n };
            // SAFETY: a walk's css_group is alive under the table lock (a dying one hands
            // the walk on first, under the same lock).
            let cgr = unsafe { cg.as_ref() };
            if let Some(l) = cgr.shard(pos.shard) {
                let _s = l.lock();
                let me: *const HNode = &w.sentinel.node;
                let mut prev = me;
                // SAFETY: under the shard's lock, the list the sentinel is on; every
                // node on it is a linked task slot or another walk's sentinel, each
                // alive while linked.
                unsafe {
                    let mut p = w.sentinel.node.next();
                    while let Some(node) = p.as_ref() {
                        let t = TaskSlot::from_node(p);
                        if t.raw().load(Ordering::Relaxed) != SENTINEL {
                            let Some(slot) = out.get_mut(n) else { break };
                            *slot = self.gpc.host.task_ids(t);
                            n += 1;
                        }
                        prev = p;
                        p = node.next();
                    }
                    if !p.is_null() {
                        // `out` is full: park right behind the last node passed.
                        if prev != me {
                            w.sentinel.node.del();
                            w.sentinel.node.add_behind(&*prev);
                        }
                        return n;
                    }
                    w.sentinel.node.del();
                }
            }
            w.advance(&table);
        }
    }
}

impl<H: Host> Iterator for TaskIter<'_, H> {
    type Item = TaskId;

    /// One task per call (each takes the locks: [`TaskIter::fill`] lists many per
    /// hold).
    fn next(&mut self) -> Option<TaskId> {
        let mut one = [TaskId::default()];
        (self.fill(&mut one) == 1).then_some(one[0])
    }
}

impl<H: Host> Drop for TaskIter<'_, H> {
    fn drop(&mut self) {
        {
            let table = self.gpc.table.lock();
            // SAFETY: the walk lives in its box until below.
            let w = unsafe { self.walk.as_ref() };
            if let Some(cg) = w.pos(&table).cg {
                // SAFETY: as in `fill`.
                if let Some(l) = unsafe { cg.as_ref() }.shard(w.pos(&table).shard) {
                    let _s = l.lock();
                    // SAFETY: under the lock of the list the sentinel is on.
                    unsafe { w.sentinel.node.del() };
                }
            }
        }
        // SAFETY: made by `Box` in `walk_start`, unlinked above (or never linked, or
        // unlinked when the walk ended): no list reaches it any more.
        drop(unsafe { Box::from_raw(self.walk.as_ptr()) });
    }
}

impl<H: Host> Gpc<H> {
    /// Walk the tasks of directory `dir` (Linux `css_task_iter_start` on the container's
    /// own css): O(its css_groups × CPU shards + its tasks), in pieces, without holding a
    /// lock between them. See the module doc for what a walk guarantees when tasks fork,
    /// exit or move meanwhile.
    ///
    /// # Errors
    ///
    /// `ENOTDIR` (a file), `ENODEV` (removed), `ENOMEM`.
    pub fn tasks(&self, dir: &Node) -> Result<TaskIter<'_, H>> {
        let tree = self.tree.lock();
        let c = Self::dir_container(&tree, dir)?;
        self.walk_start(&tree, c)
    }

    /// How many tasks `c` has (Linux `cgroup_task_count`), without allocating: under
    /// the table lock, the container's css_groups and, one shard lock at a time, their
    /// task lists (walks' sentinels are not tasks). O(css_groups × shards + tasks); for
    /// the debug controller's `debug.taskcount`, which must not fail.
    pub(super) fn count_tasks(&self, _tree: &Tree, c: &Container) -> usize {
        let table = self.table.lock();
        let mut n = 0;
        Self::for_each_task_locked(c, &table, &mut |_| n += 1);
        drop(table);
        n
    }

    /// Call `f` with every task linked into `c`'s css_groups, under the table lock
    /// (`_table`: its guarded data) and, one at a time, their shards' locks; walks'
    /// sentinels are skipped. `f` runs under those spinning locks: it must not sleep,
    /// allocate or call gpc (it may mark a task through the host's job control).
    /// O(css_groups × shards + tasks).
    pub(super) fn for_each_task_locked(
        c: &Container,
        _table: &CgTable,
        f: &mut dyn FnMut(&TaskSlot),
    ) {
        // SAFETY: the container list is under the table lock, held.
        let mut link = unsafe { c.cgs.first() };
        while !link.is_null() {
            // SAFETY: a node of the container's list is `links[hier]` of a live
            // css_group (unlinked under the table lock before it is freed).
            let cg = unsafe { CssGroup::from_link(link, c.hier).as_ref() };
            // SAFETY: `cg_tasks` hands out linked slots, alive under their shard lock.
            Self::cg_tasks(cg, &mut |slot, _| f(unsafe { &*slot }));
            // SAFETY: under the table lock, as above.
            link = cg
                .links
                .get(c.hier)
                .map_or(core::ptr::null(), |l| unsafe { l.next() });
        }
    }

    /// [`Gpc::for_each_task_locked`] with each task's state of subsystem `ss` (its
    /// css_group's, alive while the css_group is linked to `c`); css_groups without one
    /// are skipped. The same locks and rules for `f`.
    pub(super) fn for_each_task_css_locked(
        c: &Container,
        _table: &CgTable,
        ss: SubsysId,
        f: &mut dyn FnMut(&TaskSlot, CssRef<'_>),
    ) {
        // SAFETY: the container list is under the table lock, held.
        let mut link = unsafe { c.cgs.first() };
        while !link.is_null() {
            // SAFETY: a node of the container's list is `links[hier]` of a live
            // css_group (unlinked under the table lock before it is freed).
            let cg = unsafe { CssGroup::from_link(link, c.hier).as_ref() };
            if let Some(css) = NonNull::new(cg.css(ss)) {
                // SAFETY: a state named by a css_group linked to a live container is
                // alive while the css_group is (the table lock keeps it linked).
                let css = unsafe { CssRef::from_raw(css) };
                // SAFETY: `cg_tasks` hands out linked slots, alive under their shard lock.
                Self::cg_tasks(cg, &mut |slot, _| f(unsafe { &*slot }, css));
            }
            // SAFETY: under the table lock, as above.
            link = cg
                .links
                .get(c.hier)
                .map_or(core::ptr::null(), |l| unsafe { l.next() });
        }
    }

    /// Call `f` with each task linked to `cg` (its slot and the tagged value naming
    /// `cg`), under each shard's lock in turn; returns how many. `f` must not sleep,
    /// allocate or call gpc.
    pub(super) fn cg_tasks(
        cg: &CssGroup,
        f: &mut dyn FnMut(*const TaskSlot, *mut CssGroup),
    ) -> usize {
        let mut n = 0;
        for s in 0..cg.nr_shards() {
            let Some(l) = cg.shard(s) else { continue };
            let sh = l.lock();
            // SAFETY: under the shard's lock: every node is a linked task slot or a
            // walk's sentinel, alive while linked.
            unsafe {
                let mut p = sh.tasks.first();
                while let Some(node) = p.as_ref() {
                    let slot = TaskSlot::from_node(p);
                    let seen = slot.raw().load(Ordering::Relaxed);
                    if seen != SENTINEL {
                        f(slot, seen);
                        n += 1;
                    }
                    p = node.next();
                }
            }
        }
        n
    }

    /// Start a walk of `c`, under the hierarchy lock (`_tree`) that keeps `c` alive.
    pub(super) fn walk_start(&self, _tree: &Tree, c: &Container) -> Result<TaskIter<'_, H>> {
        let walk = try_box(
            Walk {
                sentinel: TaskSlot::sentinel(),
                pos: UnsafeCell::new(Pos {
                    cg: None,
                    shard: 0,
                    hier: c.hier,
                }),
            },
            Gfp::KERNEL,
        )?;
        let walk = NonNull::from(Box::leak(walk));
        let table = self.table.lock();
        // SAFETY: the container list is under the table lock, held.
        let first = unsafe { c.cgs.first() };
        // SAFETY: a node of the container's list is `links[hier]` of a live css_group.
        let first = (!first.is_null()).then(|| unsafe { CssGroup::from_link(first, c.hier) });
        // SAFETY: just made.
        unsafe { walk.as_ref() }.park(first, 0, c.hier, &table);
        drop(table);
        Ok(TaskIter {
            gpc: self,
            walk,
            _not_send: PhantomData,
        })
    }

    /// A css_group is dying (its count reached zero, under the table lock): every walk
    /// parked in it moves on to the next css_group of its container, before the
    /// css_group leaves the container lists.
    pub(super) fn evict_walks(&self, cg: &CssGroup, table: &CgTable) {
        for shard in 0..cg.nr_shards() {
            let Some(l) = cg.shard(shard) else { continue };
            loop {
                let node = {
                    let s = l.lock();
                    // SAFETY: under the shard's lock.
                    let first = unsafe { s.tasks.first() };
                    // SAFETY: as above; a dead css_group has no task (each holds a
                    // reference), so every node left is a walk's sentinel.
                    match unsafe { first.as_ref() } {
                        Some(n) => {
                            // SAFETY: under the shard's lock.
                            unsafe { n.del() };
                            first
                        }
                        None => break,
                    }
                };
                // SAFETY: a sentinel is the first field of a `#[repr(C)]` Walk, alive
                // while its walk is (dropping a walk takes the table lock, held).
                let walk = unsafe { &*node.cast::<Walk>() };
                let pos = walk.pos(table);
                walk.set_pos(
                    Pos {
                        shard: cg.nr_shards(),
                        ..pos
                    },
                    table,
                );
                // `advance` from past the last shard: the next css_group, or the end.
                walk.advance(table);
            }
        }
    }

    /// One pass of a sorted listing of `c` (see the module doc): the smallest pids (or
    /// tgids) above `after`, sorted and unique, at most `per_pass` of them, into `out`
    /// (which holds at most twice that meanwhile). A v2 thread root's tgids are those of
    /// its whole resource domain (one walk per group of its threaded subtree); a
    /// threaded group's are refused (`EOPNOTSUPP`). Returns whether the pass listed
    /// everything above `after`. Under the hierarchy lock, which keeps tasks from moving
    /// during the pass.
    pub(super) fn pids_pass(
        &self,
        tree: &Tree,
        c: &Container,
        tgids: bool,
        after: Option<Pid>,
        per_pass: usize,
        out: &mut Vec<Pid>,
    ) -> Result<bool> {
        let per_pass = per_pass.max(1);
        out.clear();
        // v2 `cgroup.procs` (Linux `cgroup_procs_start`): a threaded group's processes
        // belong to its domain, where they are listed; reading here is refused.
        if tgids && c.is_threaded() {
            return Err(Error::EOPNOTSUPP);
        }
        // A thread root lists the processes of its whole resource domain: its own and
        // those in its threaded descendants (Linux `css_task_iter` with
        // `CSS_TASK_ITER_THREADED` walks each css_set's `threaded_csets`). All threads
        // of a process share one domain, so the tgids of the domain's tasks are its
        // processes, each once after the dedup below.
        let whole_domain =
            tgids && c.unified && c.nr_threaded_children.load(Ordering::Relaxed) != 0;
        let mut chunk = [TaskId::default(); 64];
        // Values at or above `limit` are beyond this pass.
        let mut limit: Option<Pid> = None;
        let mut group = Some(c);
        while let Some(g) = group {
            let mut walk = self.walk_start(tree, g)?;
            loop {
                let k = walk.fill(&mut chunk);
                if k == 0 {
                    break;
                }
                for id in chunk.iter().take(k) {
                    let v = if tgids { id.tgid } else { id.pid };
                    if after.is_some_and(|a| v <= a) || limit.is_some_and(|l| v >= l) {
                        continue;
                    }
                    if out.len() >= per_pass.saturating_mul(2) {
                        out.sort_unstable();
                        out.dedup();
                        if out.len() > per_pass {
                            out.truncate(per_pass);
                            limit = out.last().copied();
                        }
                        if limit.is_some_and(|l| v >= l) {
                            continue;
                        }
                    }
                    try_reserve(out, 1, Gfp::KERNEL)?;
                    out.push(v);
                }
            }
            drop(walk);
            group = if whole_domain {
                Self::next_in_domain(tree, g, c)
            } else {
                None
            };
        }
        out.sort_unstable();
        out.dedup();
        if out.len() > per_pass {
            out.truncate(per_pass);
            limit = out.last().copied();
        }
        Ok(limit.is_none())
    }

    /// The whole sorted listing of `c` into `out`, one pass after another (a read of
    /// the whole `tasks` or `cgroup.procs` file under the hierarchy lock).
    ///
    /// `out` receives every pid anyway, so this reader's passes may grow with what it has
    /// written: each pass collects twice as many pids as the one before, starting at
    /// [`PIDS_PER_PASS`]. A group of `m` tasks then costs about `log2(m / 8192)` walks
    /// rather than `m / 8192`, and the pass buffer stays within a small factor of the
    /// text already produced (Linux holds an array of all `m` pids).
    pub(super) fn write_pids(
        &self,
        tree: &Tree,
        c: &Container,
        tgids: bool,
        out: &mut Out<'_>,
    ) -> Result {
        let mut pids = Vec::new();
        let mut after = None;
        let mut per_pass = PIDS_PER_PASS;
        loop {
            let complete = self.pids_pass(tree, c, tgids, after, per_pass, &mut pids)?;
            per_pass = per_pass.saturating_mul(2);
            for &pid in &pids {
                out.decimal_line(pid)?;
            }
            if complete || pids.is_empty() {
                return Ok(());
            }
            after = pids.last().copied();
        }
    }

    /// A streaming reader of the `tasks` or `cgroup.procs` file `file` (Linux's seq_file
    /// over the pidlist): each [`PidsReader::read`] fills a buffer, running a pass of the
    /// sorted listing when it needs more pids; between reads it holds no lock and at most
    /// [`PIDS_PER_PASS`] pids.
    ///
    /// # Errors
    ///
    /// `EISDIR` (a directory), `ENODEV` (removed), `EINVAL` (another file).
    pub fn pids_reader(&self, file: &Node) -> Result<PidsReader<'_, H>> {
        let tgids = match file.file()?.file {
            FileRef::Core(CoreFile::Tasks) => false,
            FileRef::Core(CoreFile::Procs) => true,
            _ => return Err(Error::EINVAL),
        };
        let tree = self.tree.lock();
        Self::node_container(&tree, file)?;
        drop(tree);
        Ok(PidsReader {
            gpc: self,
            file: *file,
            tgids,
            after: None,
            pids: Vec::new(),
            next: 0,
            complete: false,
            line: arrayvec::ArrayVec::new(),
            line_pos: 0,
        })
    }
}

/// A streaming reader of a sorted pid listing (see [`Gpc::pids_reader`]).
pub struct PidsReader<'g, H: Host> {
    gpc: &'g Gpc<H>,
    file: Node,
    tgids: bool,
    /// The last pid of the passes so far.
    after: Option<Pid>,
    /// This pass's pids, `next` the first not yet formatted.
    pids: Vec<Pid>,
    next: usize,
    /// The last pass listed everything.
    complete: bool,
    /// A formatted line and how much of it was handed out.
    line: arrayvec::ArrayVec<u8, 12>,
    line_pos: usize,
}

impl<H: Host> PidsReader<'_, H> {
    /// Copy the next bytes of the listing into `buf`; returns how many (0: the end).
    ///
    /// # Errors
    ///
    /// `ENODEV` if the container was removed between reads, `ENOMEM`.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut n = 0;
        loop {
            let rest = self.line.get(self.line_pos..).unwrap_or(&[]);
            if !rest.is_empty() {
                let k = rest.len().min(buf.len().saturating_sub(n));
                if let (Some(dst), Some(src)) = (buf.get_mut(n..n + k), rest.get(..k)) {
                    dst.copy_from_slice(src);
                }
                n += k;
                self.line_pos += k;
                if self.line_pos < self.line.len() {
                    return Ok(n);
                }
            }
            if n == buf.len() {
                return Ok(n);
            }
            if let Some(&pid) = self.pids.get(self.next) {
                self.next += 1;
                self.line.clear();
                self.line_pos = 0;
                let mut text = [0; DECIMAL_LINE_MAX];
                let _ = self
                    .line
                    .try_extend_from_slice(decimal_line(pid, &mut text));
                continue;
            }
            if self.complete {
                return Ok(n);
            }
            self.after = self.pids.last().copied().or(self.after);
            let tree = self.gpc.tree.lock();
            let c = Gpc::<H>::node_container(&tree, &self.file)?;
            let had_after = self.after;
            self.complete = self.gpc.pids_pass(
                &tree,
                c,
                self.tgids,
                had_after,
                PIDS_PER_PASS,
                &mut self.pids,
            )?;
            self.next = 0;
            if self.pids.is_empty() {
                self.complete = true;
            }
        }
    }
}
