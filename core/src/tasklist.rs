//! The machine's task table: tasks with pids, thread groups and credentials, whose fork
//! and exit drive gpc's hooks.
//!
//! A reference task table for hosts that have none of their own: the simulator, the
//! hobby kernel and the tests use it. `no_std` + `alloc`; growth is fallible (a full
//! table is `ENOMEM`, never an abort, and leaves the table as it was), and exit never
//! allocates.
//!
//! # Every operation costs the same however many tasks there are
//!
//! * Tasks live in a slab of boxed 256-entry chunks that never move (a task's gpc slot is
//!   linked into gpc's lists, so it must stay put), whose free entries are chained into a free
//!   list, so an exit frees its entry in O(1) and a fork reuses it.
//! * A pid index maps each pid to its slab entry, as Linux's pid idr does (kernel/pid.c:
//!   `alloc_pid` → `idr_alloc_cyclic`, `find_pid_ns` → `idr_find`): a radix of chunks of
//!   1,024 pids, each made when a pid in it is first given out and freed when its last
//!   task goes. A lookup is two loads; a full chunk is skipped whole when a fork looks
//!   for a free pid; walking the chunks gives the tasks in pid order (`ps`, `/proc`).
//! * Each thread group is a ring through the slab (Linux `signal->thread_head` and
//!   `task->thread_node`): a thread joins its group's ring at fork and leaves it in O(1)
//!   at exit, `exit_group` walks the ring, and [`TaskTable::with_thread_group`] visits
//!   the group's threads only (the leader first, then the threads in the order they were
//!   made, as Linux's `for_each_thread`).
//!
//! A task costs its 64-byte [`Task`] (24 of them gpc's [`TaskSlot`]), two 4-byte ring
//! links and 4 bytes of pid index.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::pin::Pin;

use crate::host::alloc::{try_reserve, try_reserve_exact, Gfp};
use crate::host::task::{EmbedsTaskSlot, TaskId};
use crate::primitive::{AtomicU8, Ordering};
use crate::{Caller, Creds, Error, Gpc, Host, Pid, Result, TaskInfo, TaskRef, TaskSlot, TaskTable};

/// Linux's default `pid_max` (kernel/pid.c: `PID_MAX_DEFAULT`, 32768).
pub const PID_MAX_DEFAULT: Pid = 32768;

/// The largest `pid_max` Linux allows on 64-bit (include/linux/threads.h:
/// `PID_MAX_LIMIT`, 4 * 1024 * 1024).
pub const PID_MAX_LIMIT: Pid = 4 * 1024 * 1024;

/// The smallest `pid_max` Linux allows (kernel/pid.c: `pid_max_min`,
/// `RESERVED_PIDS + 1` = 301).
pub const PID_MAX_MIN: Pid = RESERVED_PIDS + 1;

/// Where pid allocation starts again after wrapping at `pid_max` (kernel/pid.c:
/// `RESERVED_PIDS`, 300).
const RESERVED_PIDS: Pid = 300;

/// A task of a [`TaskList`].
pub struct Task {
    /// Thread id.
    pub pid: Pid,
    /// Thread-group id.
    pub tgid: Pid,
    /// Credentials.
    pub creds: Creds,
    /// gpc's per-task slot.
    pub slot: TaskSlot,
    /// Whether the task wants the CPU (the simulated scheduler runs busy tasks): init is
    /// idle, a forked task busy. It fits in the entry's padding: a task is 64 bytes on
    /// 64-bit, 24 of them gpc's slot.
    pub busy: bool,
    /// Job control the v2 core asked for and what the task did ([`JOBCTL_TRAP_FREEZE`],
    /// [`JOBCTL_FROZEN`], [`JOBCTL_KILLED`]): a host whose tasks are `Task`s implements
    /// [`crate::JobControl`] on these bits ([`crate::task_job_control!`]) and acts on them in its
    /// own context. Also in the padding.
    pub jobctl: AtomicU8,
}

/// The task was asked to stop for a freeze (Linux `JOBCTL_TRAP_FREEZE`).
pub const JOBCTL_TRAP_FREEZE: u8 = 1 << 0;
/// The task has stopped for a freeze and reported it (Linux `task->frozen`).
pub const JOBCTL_FROZEN: u8 = 1 << 1;
/// The task's process was sent `SIGKILL` (`cgroup.kill`).
pub const JOBCTL_KILLED: u8 = 1 << 2;

crate::embeds_task_slot!(Task, slot);

impl Task {
    /// A task in no table, boxed and pinned (its slot may be linked), for code that
    /// drives gpc's hooks by hand (tests, benchmarks, loom models).
    pub fn boxed(pid: Pid, tgid: Pid) -> Pin<Box<Task>> {
        Box::pin(Task {
            pid,
            tgid,
            creds: Creds::ROOT,
            slot: TaskSlot::new(),
            busy: false,
            jobctl: AtomicU8::new(0),
        })
    }

    /// The task's slot, pinned as the task is.
    pub fn pinned_slot(self: Pin<&Self>) -> Pin<&TaskSlot> {
        // SAFETY: structural pinning: nothing moves the slot out of a pinned `Task`
        // (`Task` has no `Drop` and gives out no `&mut TaskSlot`).
        unsafe { self.map_unchecked(|t| &t.slot) }
    }

    /// The ids a listing shows for this task.
    pub fn id(&self) -> TaskId {
        TaskId {
            pid: self.pid,
            tgid: self.tgid,
        }
    }

    /// The task whose slot `slot` is, for a host whose every task is a `Task` (the test
    /// host, the machine's hosts): its [`crate::TaskIds`].
    ///
    /// # Safety
    ///
    /// `slot` is the slot field of a live `Task`, reached from that `Task` (see
    /// [`EmbedsTaskSlot::from_slot`]).
    pub unsafe fn of_slot(slot: &TaskSlot) -> &Task {
        // SAFETY: forwarded from the caller.
        unsafe { <Task as EmbedsTaskSlot>::from_slot(slot) }
    }

    /// The job-control bits ([`JOBCTL_TRAP_FREEZE`], [`JOBCTL_FROZEN`], [`JOBCTL_KILLED`]).
    pub fn jobctl(&self) -> u8 {
        self.jobctl.load(Ordering::Acquire)
    }

    /// Set (`on`) or clear `bits`: the body of [`crate::JobControl`]'s methods for a host
    /// whose tasks are `Task`s (one atomic operation: callable under spinning locks).
    pub fn set_jobctl(&self, bits: u8, on: bool) {
        if on {
            self.jobctl.fetch_or(bits, Ordering::AcqRel);
        } else {
            self.jobctl.fetch_and(!bits, Ordering::AcqRel);
        }
    }
}

/// Implement [`crate::JobControl`] for a host every linked slot of which is a [`Task`]'s
/// (the simulated machine's hosts): the requests and the stopped state are the task's
/// [`Task::jobctl`] bits, which the host's own loop acts on. The second argument reads
/// the host's clock (`|host| nanoseconds`).
///
/// ```ignore
/// gpc_core::task_job_control!(MyHost, |h: &MyHost| h.now_ns());
/// ```
#[macro_export]
macro_rules! task_job_control {
    ($host:ty, $clock:expr) => {
        impl $crate::JobControl for $host {
            fn task_frozen(&self, slot: &$crate::TaskSlot) -> bool {
                // SAFETY: gpc passes only slots this host linked, each a `Task`'s
                // (the macro's contract).
                let t = unsafe { $crate::tasklist::Task::of_slot(slot) };
                t.jobctl() & $crate::tasklist::JOBCTL_FROZEN != 0
            }
            fn set_task_frozen(&self, slot: &$crate::TaskSlot, frozen: bool) {
                // SAFETY: as above.
                let t = unsafe { $crate::tasklist::Task::of_slot(slot) };
                t.set_jobctl($crate::tasklist::JOBCTL_FROZEN, frozen);
            }
            fn freeze_task(&self, slot: &$crate::TaskSlot, freeze: bool) {
                // SAFETY: as above.
                let t = unsafe { $crate::tasklist::Task::of_slot(slot) };
                t.set_jobctl($crate::tasklist::JOBCTL_TRAP_FREEZE, freeze);
            }
            fn kill_task(&self, slot: &$crate::TaskSlot) -> $crate::Result {
                // SAFETY: as above.
                let t = unsafe { $crate::tasklist::Task::of_slot(slot) };
                t.set_jobctl($crate::tasklist::JOBCTL_KILLED, true);
                Ok(())
            }
            fn fatal_signal_pending(&self, slot: &$crate::TaskSlot) -> bool {
                // SAFETY: as above.
                let t = unsafe { $crate::tasklist::Task::of_slot(slot) };
                t.jobctl() & $crate::tasklist::JOBCTL_KILLED != 0
            }
            fn clock_ns(&self) -> u64 {
                let clock: fn(&$host) -> u64 = $clock;
                clock(self)
            }
        }
    };
}

/// A task table that drives gpc's fork and exit hooks, with Linux's pid allocation
/// (cyclic from the last pid given, skipping pids in use, wrapping at `pid_max` to 300
/// as `alloc_pid` does once pid 1 exists). See the module doc for its layout.
pub struct TaskList {
    slab: Slab,
    index: PidIndex,
    len: usize,
    last_pid: Pid,
    pid_max: Pid,
}

impl TaskList {
    /// No tasks.
    pub fn new() -> Self {
        TaskList {
            slab: Slab {
                chunks: Vec::new(),
                free: NIL,
            },
            index: PidIndex { chunks: Vec::new() },
            len: 0,
            last_pid: 0,
            pid_max: PID_MAX_DEFAULT,
        }
    }

    /// The largest pid plus one that [`TaskList::fork`] may give out.
    pub fn pid_max(&self) -> Pid {
        self.pid_max
    }

    /// Set `pid_max` (`/proc/sys/kernel/pid_max`): new pids are below it, allocation
    /// wraps at it to 300. Tasks with pids at or above a lowered `pid_max` keep them.
    ///
    /// # Errors
    ///
    /// `EINVAL` outside [`PID_MAX_MIN`]..=[`PID_MAX_LIMIT`] (Linux's sysctl bounds).
    pub fn set_pid_max(&mut self, pid_max: Pid) -> Result {
        if !(PID_MAX_MIN..=PID_MAX_LIMIT).contains(&pid_max) {
            return Err(Error::EINVAL);
        }
        self.pid_max = pid_max;
        Ok(())
    }

    /// Make init (pid 1, root) and put it in the roots.
    ///
    /// # Errors
    ///
    /// `EBUSY` if init exists.
    pub fn add_init<H: Host>(&mut self, gpc: &Gpc<H>) -> Result<Pid> {
        if self.index.get(1).is_some() {
            return Err(Error::EBUSY);
        }
        let task = Task {
            pid: 1,
            tgid: 1,
            creds: Creds::ROOT,
            slot: TaskSlot::new(),
            busy: false,
            jobctl: AtomicU8::new(0),
        };
        self.reserve(1)?;
        let at = self.insert(task, None);
        let info = TaskInfo {
            pid: 1,
            tgid: 1,
            is_thread: false,
        };
        if let Err(e) = self
            .pinned_slot(at)
            .map_or(Err(Error::ESRCH), |s| gpc.init_task(s, &info))
        {
            self.remove(at);
            return Err(e);
        }
        self.last_pid = 1;
        Ok(1)
    }

    /// Linux `alloc_pid`'s cyclic search: the first free pid after the last one given,
    /// up to `pid_max`, then from 300 (`RESERVED_PIDS`) up to the last one.
    fn alloc_pid(&self) -> Result<Pid> {
        let from = self.last_pid.saturating_add(1);
        if let Some(pid) = self.index.first_free(from, self.pid_max) {
            return Ok(pid);
        }
        let upto = from.min(self.pid_max);
        self.index
            .first_free(RESERVED_PIDS, upto)
            .ok_or(Error::EAGAIN)
    }

    /// Room for task `pid`: its pid index chunk, and a slab entry.
    fn reserve(&mut self, pid: Pid) -> Result {
        self.slab.reserve()?;
        self.index.reserve(pid)
    }

    /// Add `task` (room reserved by [`TaskList::reserve`]), into the thread group of the
    /// task at slab entry `leader` if given, else as the leader of a group of its own.
    fn insert(&mut self, task: Task, leader: Option<u32>) -> u32 {
        let pid = task.pid;
        let at = self.slab.vacant();
        let (prev, next) = match leader {
            // The new thread goes last in its group's ring, just before the leader.
            Some(l) => (self.slab.node(l).map_or(l, |n| n.prev), l),
            None => (at, at),
        };
        self.slab.insert(Node { task, next, prev });
        if leader.is_some() {
            if let Some(p) = self.slab.node_mut(prev) {
                p.next = at;
            }
            if let Some(n) = self.slab.node_mut(next) {
                n.prev = at;
            }
        }
        self.index.set(pid, at);
        self.len += 1;
        at
    }

    /// Take the task at slab entry `at` out of its group's ring, the pid index and the
    /// slab. Never allocates.
    fn remove(&mut self, at: u32) {
        let Some(node) = self.slab.node(at) else {
            return;
        };
        let (pid, prev, next) = (node.task.pid, node.prev, node.next);
        if let Some(p) = self.slab.node_mut(prev) {
            p.next = next;
        }
        if let Some(n) = self.slab.node_mut(next) {
            n.prev = prev;
        }
        self.index.remove(pid);
        self.slab.free(at);
        self.len = self.len.saturating_sub(1);
    }

    /// `parent` forks a process (`thread = false`) or makes a thread in its group.
    ///
    /// # Errors
    ///
    /// `ESRCH` for an unknown parent, `EAGAIN` with no free pid, and gpc's fork errors.
    pub fn fork<H: Host>(&mut self, gpc: &Gpc<H>, parent: Pid, thread: bool) -> Result<Pid> {
        self.fork_as(gpc, parent, thread, None)
    }

    /// [`TaskList::fork`] with the child's credentials (default: the parent's).
    ///
    /// # Errors
    ///
    /// As for [`TaskList::fork`].
    pub fn fork_as<H: Host>(
        &mut self,
        gpc: &Gpc<H>,
        parent: Pid,
        thread: bool,
        creds: Option<Creds>,
    ) -> Result<Pid> {
        self.fork_with(parent, thread, creds, &mut |p, c, info| {
            gpc.fork(p, c, info)
        })
    }

    /// clone3(`CLONE_INTO_CGROUP`): `parent` forks a new process (a thread with
    /// `thread`) that starts in the v2 group `dst` ([`Gpc::fork_into`]: `caller` and `ns`
    /// are whose permissions the move needs). The child copies the parent's
    /// credentials.
    ///
    /// # Errors
    ///
    /// `ESRCH` for an unknown parent, `EAGAIN` when no pid is free, `ENOMEM`, and those
    /// of [`Gpc::fork_into`]; nothing changes on error.
    #[allow(
        clippy::too_many_arguments,
        reason = "Gpc::fork_into's inputs, and the table"
    )]
    pub fn clone_into<H: Host>(
        &mut self,
        gpc: &Gpc<H>,
        parent: Pid,
        thread: bool,
        dst: &crate::Node,
        caller: &Caller<'_>,
        ns: Option<&crate::CgroupNs>,
    ) -> Result<Pid> {
        self.fork_with(parent, thread, None, &mut |p, c, info| {
            gpc.fork_into(p, c, info, dst, caller, ns, thread)
        })
    }

    /// A fork of `parent` whose gpc side is `hook` (the parent's slot, the child's, the
    /// child's ids), made once the child has its entry.
    fn fork_with(
        &mut self,
        parent: Pid,
        thread: bool,
        creds: Option<Creds>,
        hook: &mut dyn FnMut(&TaskSlot, Pin<&TaskSlot>, &TaskInfo) -> Result,
    ) -> Result<Pid> {
        let pid = self.alloc_pid()?;
        // Reserve first: a failed reservation must not leave a forked child behind.
        self.reserve(pid)?;
        let Some(p) = self.get(parent) else {
            self.index.release_if_empty(pid);
            return Err(Error::ESRCH);
        };
        let tgid = if thread { p.tgid } else { pid };
        let child = Task {
            pid,
            tgid,
            creds: creds.unwrap_or(p.creds),
            slot: TaskSlot::new(),
            busy: true,
            jobctl: AtomicU8::new(0),
        };
        let Some(pat) = self.index.get(parent) else {
            self.index.release_if_empty(pid);
            return Err(Error::ESRCH);
        };
        // The child takes its entry first and is forked there: its slot is linked into
        // gpc's lists by the fork and must not move afterwards.
        let leader = if thread { self.index.get(tgid) } else { None };
        let at = self.insert(child, leader);
        let info = TaskInfo {
            pid,
            tgid,
            is_thread: thread,
        };
        let forked = match (self.slab.node(pat), self.pinned_slot(at)) {
            (Some(p), Some(c)) => hook(&p.task.slot, c, &info),
            _ => Err(Error::ESRCH),
        };
        if let Err(e) = forked {
            self.remove(at);
            return Err(e);
        }
        self.last_pid = pid;
        Ok(pid)
    }

    /// The gpc slot of the task at slab entry `at`, pinned: a slab entry never moves
    /// (chunks are boxed and never reallocated) and is dropped in place when freed.
    fn pinned_slot(&self, at: u32) -> Option<Pin<&TaskSlot>> {
        let n = self.slab.node(at)?;
        // SAFETY: the entry stays at this address until `Slab::free` drops it in place
        // (running `TaskSlot`'s drop), and no `&mut Task` ever leaves this module, so
        // nothing can move the slot out.
        Some(unsafe { Pin::new_unchecked(&n.task.slot) })
    }

    /// The task exits and is reaped; a thread-group leader takes its whole group along
    /// (`exit_group`).
    ///
    /// # Errors
    ///
    /// `ESRCH` for an unknown task.
    pub fn exit<H: Host>(&mut self, gpc: &Gpc<H>, pid: Pid) -> Result {
        let at = self.index.get(pid).ok_or(Error::ESRCH)?;
        let t = self.slab.node(at).ok_or(Error::ESRCH)?;
        if t.task.pid != t.task.tgid {
            exit_hook(gpc, &t.task);
            self.remove(at);
            return Ok(());
        }
        // Exit in place, then drop the entries: no allocation on the exit path.
        for t in self.ring(at) {
            exit_hook(gpc, t);
        }
        let mut cur = at;
        loop {
            let next = self.slab.node(cur).map_or(at, |n| n.next);
            self.remove(cur);
            if next == at || next == cur {
                break;
            }
            cur = next;
        }
        Ok(())
    }

    /// Act on the job control gpc asked for since the last call (the simulated tasks do
    /// it at once, where a kernel's do it on their way back to user space): a task asked
    /// to stop reports that it stopped ([`Gpc::enter_frozen`]), one asked to go on that
    /// it runs ([`Gpc::leave_frozen`]). Returns whether some task was sent `SIGKILL`:
    /// the host then takes them one by one with [`TaskList::take_killed`] and exits
    /// them with the bookkeeping of its own. O(tasks), only when gpc asked something,
    /// and allocates nothing.
    pub fn job_control<H: Host>(&self, gpc: &Gpc<H>) -> bool {
        if !gpc.take_job_control() {
            return false;
        }
        let mut killed = false;
        for t in self.iter() {
            let bits = t.jobctl();
            if bits & JOBCTL_KILLED != 0 {
                killed = true;
                continue;
            }
            let asked = bits & JOBCTL_TRAP_FREEZE != 0;
            let stopped = bits & JOBCTL_FROZEN != 0;
            if asked && !stopped {
                gpc.enter_frozen(&t.slot);
            } else if !asked && stopped {
                gpc.leave_frozen(&t.slot, false);
            }
        }
        killed
    }

    /// A process one of whose tasks was sent `SIGKILL`, its thread-group id (the marks
    /// of its threads are taken: a process that survives it, as init does, is not
    /// killed again). O(tasks).
    pub fn take_killed(&self) -> Option<Pid> {
        let tgid = self.iter().find(|t| t.jobctl() & JOBCTL_KILLED != 0)?.tgid;
        for t in self.thread_group(tgid) {
            t.set_jobctl(JOBCTL_KILLED, false);
        }
        Some(tgid)
    }

    /// Exit every task (init included).
    pub fn exit_all<H: Host>(&mut self, gpc: &Gpc<H>) {
        for t in self.iter() {
            exit_hook(gpc, t);
        }
        self.slab.chunks.clear();
        self.slab.free = NIL;
        self.index.chunks.clear();
        self.len = 0;
    }

    /// The task `pid`.
    pub fn get(&self, pid: Pid) -> Option<&Task> {
        self.slab.node(self.index.get(pid)?).map(|n| &n.task)
    }

    /// Change the credentials of task `pid` (Linux `commit_creds`). Returns whether it
    /// exists. (No `&mut Task` is handed out: its gpc slot is pinned.)
    pub fn set_creds(&mut self, pid: Pid, creds: Creds) -> bool {
        let Some(at) = self.index.get(pid) else {
            return false;
        };
        self.slab
            .node_mut(at)
            .map(|n| n.task.creds = creds)
            .is_some()
    }

    /// Mark task `pid` busy (it wants the CPU) or idle. Returns whether it exists.
    pub fn set_busy(&mut self, pid: Pid, busy: bool) -> bool {
        let Some(at) = self.index.get(pid) else {
            return false;
        };
        self.slab.node_mut(at).map(|n| n.task.busy = busy).is_some()
    }

    /// Every task, by pid.
    pub fn iter(&self) -> impl Iterator<Item = &Task> {
        self.index
            .entries()
            .filter_map(|at| self.slab.node(at).map(|n| &n.task))
    }

    /// The threads of thread group `tgid`: its leader first, then the other threads in
    /// the order they were made. Empty if `tgid` is not a thread-group leader.
    pub fn thread_group(&self, tgid: Pid) -> impl Iterator<Item = &Task> {
        let leader = self
            .index
            .get(tgid)
            .filter(|&at| self.slab.node(at).is_some_and(|n| n.task.tgid == tgid));
        leader.into_iter().flat_map(|at| self.ring(at))
    }

    /// The tasks of the ring that `start` is on, from `start` on.
    fn ring(&self, start: u32) -> Ring<'_> {
        Ring {
            slab: &self.slab,
            start,
            cur: Some(start),
        }
    }

    /// How many tasks.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no tasks.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A caller acting as `creds`, from task `pid`.
    pub fn caller(&self, creds: Creds, pid: Option<Pid>) -> Caller<'_> {
        Caller {
            creds,
            pid,
            tasks: self,
        }
    }

    /// The task's [`TaskRef`].
    pub fn task_ref(&self, pid: Pid) -> Option<TaskRef<'_>> {
        self.get(pid).map(task_ref)
    }
}

fn task_ref(t: &Task) -> TaskRef<'_> {
    TaskRef {
        pid: t.pid,
        tgid: t.tgid,
        creds: t.creds,
        slot: &t.slot,
    }
}

fn exit_hook<H: Host>(gpc: &Gpc<H>, t: &Task) {
    // A stopped task that dies leaves the frozen state first (Linux get_signal's
    // `cgroup_leave_frozen(true)` on a fatal signal): its group thaws until it is gone.
    if t.jobctl() & JOBCTL_FROZEN != 0 {
        gpc.leave_frozen(&t.slot, true);
    }
    gpc.exit(
        &t.slot,
        &TaskInfo {
            pid: t.pid,
            tgid: t.tgid,
            is_thread: t.pid != t.tgid,
        },
    );
}

/// "No entry": the end of the free list, an unused pid.
const NIL: u32 = u32::MAX;

/// log2 of the pids per chunk of the pid index.
const CHUNK_SHIFT: u32 = 10;
/// Pids per chunk of the pid index.
const CHUNK: usize = 1 << CHUNK_SHIFT;

/// A task in the slab, with its thread group's ring links (slab entries; a task alone
/// in its group links to itself).
struct Node {
    task: Task,
    next: u32,
    prev: u32,
}

/// A slab entry.
enum Entry {
    Used(Node),
    /// Free, with the next free entry.
    Free(u32),
}

/// Entries per slab chunk.
const SLAB_CHUNK: usize = 256;

/// The tasks, at stable entry numbers and stable addresses (a task's gpc slot is linked
/// into gpc's lists from fork to exit, so it must never move: the slab grows by whole
/// chunks and never reallocates an entry); free entries are chained from `free`.
struct Slab {
    chunks: Vec<Box<[Entry]>>,
    free: u32,
}

impl Slab {
    /// Room for one more entry, so that [`Slab::insert`] cannot fail.
    fn reserve(&mut self) -> Result {
        if self.free != NIL {
            return Ok(());
        }
        let base = self.chunks.len() * SLAB_CHUNK;
        // Entry numbers are u32 with NIL reserved; pids bound the tasks far below that.
        if base + SLAB_CHUNK >= NIL as usize {
            return Err(Error::ENOMEM);
        }
        // A host's task table grows in process context (Linux alloc_pid: GFP_KERNEL).
        try_reserve(&mut self.chunks, 1, Gfp::KERNEL)?;
        let mut chunk = Vec::new();
        try_reserve_exact(&mut chunk, SLAB_CHUNK, Gfp::KERNEL)?;
        // Chain the new entries in order, the first one first.
        chunk.extend((0..SLAB_CHUNK).map(|i| {
            let next = if i + 1 < SLAB_CHUNK {
                (base + i + 1) as u32
            } else {
                NIL
            };
            Entry::Free(next)
        }));
        self.chunks.push(chunk.into_boxed_slice());
        self.free = base as u32;
        Ok(())
    }

    fn entry(&self, at: u32) -> Option<&Entry> {
        let at = at as usize;
        self.chunks.get(at / SLAB_CHUNK)?.get(at % SLAB_CHUNK)
    }

    fn entry_mut(&mut self, at: u32) -> Option<&mut Entry> {
        let at = at as usize;
        self.chunks
            .get_mut(at / SLAB_CHUNK)?
            .get_mut(at % SLAB_CHUNK)
    }

    /// The entry the next [`Slab::insert`] fills (room reserved).
    fn vacant(&self) -> u32 {
        self.free
    }

    /// Fill the vacant entry (room reserved).
    fn insert(&mut self, node: Node) {
        let free = self.free;
        if let Some(e) = self.entry_mut(free) {
            if let Entry::Free(next) = *e {
                *e = Entry::Used(node);
                self.free = next;
            }
        }
    }

    /// Drop the task at `at` in place and free its entry.
    fn free(&mut self, at: u32) {
        let head = self.free;
        if let Some(e) = self.entry_mut(at) {
            if matches!(e, Entry::Used(_)) {
                *e = Entry::Free(head);
                self.free = at;
            }
        }
    }

    fn node(&self, at: u32) -> Option<&Node> {
        match self.entry(at)? {
            Entry::Used(n) => Some(n),
            Entry::Free(_) => None,
        }
    }

    /// A node, for its ring links only: the task in it is pinned (its slot is linked
    /// into gpc's lists), so nothing here may move it out or swap it.
    fn node_mut(&mut self, at: u32) -> Option<&mut Node> {
        match self.entry_mut(at)? {
            Entry::Used(n) => Some(n),
            Entry::Free(_) => None,
        }
    }
}

/// The tasks of one thread group's ring.
struct Ring<'a> {
    slab: &'a Slab,
    start: u32,
    cur: Option<u32>,
}

impl<'a> Iterator for Ring<'a> {
    type Item = &'a Task;

    fn next(&mut self) -> Option<&'a Task> {
        let node = self.slab.node(self.cur?)?;
        self.cur = Some(node.next).filter(|&n| n != self.start);
        Some(&node.task)
    }
}

/// One chunk of the pid index: the slab entry of each of its pids (NIL if unused).
struct Chunk {
    entries: Vec<u32>,
    used: usize,
}

/// Pid → slab entry, a radix of [`CHUNK`]-pid chunks.
struct PidIndex {
    chunks: Vec<Option<Chunk>>,
}

/// The chunk and the place in it of `pid`.
fn split(pid: Pid) -> (usize, usize) {
    ((pid >> CHUNK_SHIFT) as usize, pid as usize & (CHUNK - 1))
}

impl PidIndex {
    fn chunk(&self, c: usize) -> Option<&Chunk> {
        self.chunks.get(c).and_then(Option::as_ref)
    }

    fn get(&self, pid: Pid) -> Option<u32> {
        let (c, i) = split(pid);
        let at = *self.chunk(c)?.entries.get(i)?;
        (at != NIL).then_some(at)
    }

    /// Make `pid`'s chunk, so that [`PidIndex::set`] cannot fail.
    fn reserve(&mut self, pid: Pid) -> Result {
        let (c, _) = split(pid);
        if self.chunks.len() <= c {
            let more = c + 1 - self.chunks.len();
            try_reserve(&mut self.chunks, more, Gfp::KERNEL)?;
            self.chunks.resize_with(c + 1, || None);
        }
        let slot = self.chunks.get_mut(c).ok_or(Error::ENOMEM)?;
        if slot.is_none() {
            let mut entries = Vec::new();
            try_reserve_exact(&mut entries, CHUNK, Gfp::KERNEL)?;
            entries.resize(CHUNK, NIL);
            *slot = Some(Chunk { entries, used: 0 });
        }
        Ok(())
    }

    /// Undo a [`PidIndex::reserve`] whose pid was not used after all.
    fn release_if_empty(&mut self, pid: Pid) {
        let (c, _) = split(pid);
        if let Some(slot) = self.chunks.get_mut(c) {
            if slot.as_ref().is_some_and(|ch| ch.used == 0) {
                *slot = None;
            }
        }
    }

    /// Map `pid` to `at` (its chunk reserved).
    fn set(&mut self, pid: Pid, at: u32) {
        let (c, i) = split(pid);
        if let Some(ch) = self.chunks.get_mut(c).and_then(Option::as_mut) {
            if let Some(e) = ch.entries.get_mut(i) {
                if *e == NIL {
                    ch.used += 1;
                }
                *e = at;
            }
        }
    }

    /// Forget `pid`; its chunk goes with its last pid. Never allocates.
    fn remove(&mut self, pid: Pid) {
        let (c, i) = split(pid);
        let Some(slot) = self.chunks.get_mut(c) else {
            return;
        };
        if let Some(ch) = slot.as_mut() {
            if let Some(e) = ch.entries.get_mut(i) {
                if *e != NIL {
                    *e = NIL;
                    ch.used = ch.used.saturating_sub(1);
                }
            }
            if ch.used == 0 {
                *slot = None;
            }
        }
    }

    /// The first unused pid in `from..to`: a missing chunk is all free, a full one is
    /// skipped whole.
    fn first_free(&self, from: Pid, to: Pid) -> Option<Pid> {
        let mut pid = from;
        while pid < to {
            let (c, i) = split(pid);
            let chunk_end = ((c + 1) << CHUNK_SHIFT) as Pid;
            match self.chunk(c) {
                None => return Some(pid),
                Some(ch) if ch.used < CHUNK => {
                    let end = (chunk_end.min(to) - pid) as usize + i;
                    let found = ch
                        .entries
                        .get(i..end)
                        .and_then(|s| s.iter().position(|&at| at == NIL));
                    if let Some(k) = found {
                        return Some(pid + k as Pid);
                    }
                }
                Some(_) => {}
            }
            pid = chunk_end;
        }
        None
    }

    /// The slab entries of every used pid, in pid order.
    fn entries(&self) -> impl Iterator<Item = u32> + '_ {
        self.chunks
            .iter()
            .flatten()
            .flat_map(|ch| ch.entries.iter().copied().filter(|&at| at != NIL))
    }
}

impl Default for TaskList {
    fn default() -> Self {
        Self::new()
    }
}

impl TaskTable for TaskList {
    fn with_task(&self, pid: Pid, f: &mut dyn FnMut(&TaskRef<'_>)) -> bool {
        match self.task_ref(pid) {
            Some(t) => {
                f(&t);
                true
            }
            None => false,
        }
    }

    fn with_thread_group(
        &self,
        tgid: Pid,
        f: &mut dyn FnMut(&mut dyn Iterator<Item = TaskRef<'_>>),
    ) -> bool {
        let mut it = self.thread_group(tgid).map(task_ref).peekable();
        if it.peek().is_none() {
            return false;
        }
        f(&mut it);
        true
    }
}

#[cfg(all(test, not(loom)))]
#[allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]
mod tests {
    use std::collections::BTreeSet;
    use std::vec;
    use std::vec::Vec;

    use super::*;
    use crate::tests::World;

    fn pids(it: impl Iterator<Item = Pid>) -> Vec<Pid> {
        it.collect()
    }

    fn group(w: &World, tgid: Pid) -> Vec<Pid> {
        pids(w.tasks.thread_group(tgid).map(|t| t.pid))
    }

    fn visited_group(w: &World, tgid: Pid) -> Option<Vec<Pid>> {
        let mut v = Vec::new();
        w.tasks
            .with_thread_group(tgid, &mut |it| v.extend(it.map(|t| t.pid)))
            .then_some(v)
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_slab_entry_is_the_task_and_two_links() {
        // The task (with its credentials' permitted capability set and gpc's 24-byte
        // slot) and the two links of its thread group's ring.
        assert!(core::mem::size_of::<TaskSlot>() <= 24);
        assert!(core::mem::size_of::<Task>() <= 64);
        assert!(core::mem::size_of::<Entry>() <= 72);
    }

    #[test]
    fn thread_groups_are_rings_in_creation_order() {
        let mut w = World::new();
        let p = w.fork(1).unwrap();
        let other = w.fork(1).unwrap();
        let t1 = w.thread(p).unwrap();
        let t2 = w.thread(p).unwrap();
        // A thread made by a thread joins the same group.
        let t3 = w.thread(t2).unwrap();
        assert_eq!(group(&w, p), [p, t1, t2, t3]);
        assert_eq!(visited_group(&w, p), Some(vec![p, t1, t2, t3]));
        // A thread is no group of its own.
        assert_eq!(visited_group(&w, t1), None);
        assert_eq!(visited_group(&w, 12345), None);
        w.exit(t2).unwrap();
        assert_eq!(group(&w, p), [p, t1, t3]);
        let t4 = w.thread(p).unwrap();
        assert_eq!(group(&w, p), [p, t1, t3, t4]);
        assert_eq!(w.tasks.len(), 6);
        // exit_group takes the leader's whole ring and nothing else.
        w.exit(p).unwrap();
        assert_eq!(pids(w.tasks.iter().map(|t| t.pid)), [1, other]);
        assert_eq!(w.tasks.len(), 2);
        assert_eq!(w.exit(t1), Err(Error::ESRCH));
        assert_eq!(group(&w, other), [other]);
        assert_eq!(w.tasks.iter().count(), 2);
    }

    /// The pid the old linear search gave: after the last one, wrapping at `pid_max` to
    /// 300, at most `pid_max` tries.
    fn reference_alloc(used: &BTreeSet<Pid>, last: Pid, pid_max: Pid) -> Option<Pid> {
        let mut pid = last;
        for _ in 0..pid_max {
            pid = if pid + 1 >= pid_max {
                RESERVED_PIDS
            } else {
                pid + 1
            };
            if !used.contains(&pid) {
                return Some(pid);
            }
        }
        None
    }

    #[test]
    fn pids_are_allocated_as_linux_does_across_chunks_and_wraps() {
        let mut w = World::new();
        // Just over two chunks, so that searches cross chunk boundaries and skip full
        // chunks.
        let pid_max = 2 * CHUNK as Pid + 77;
        w.tasks.set_pid_max(pid_max).unwrap();
        let mut used: BTreeSet<Pid> = BTreeSet::from([1]);
        let mut last = 1;
        let mut seed = 0x9e37_79b9_u64;
        for step in 0..40_000 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let r = (seed >> 33) as usize;
            // Mostly forks early (fill up to exhaustion), balanced later.
            let fork = if step < 6_000 { r % 10 < 8 } else { r % 2 == 0 };
            if fork {
                let want = reference_alloc(&used, last, pid_max);
                let got = w.fork(1);
                match want {
                    Some(p) => {
                        assert_eq!(got, Ok(p), "step {step}");
                        used.insert(p);
                        last = p;
                    }
                    None => assert_eq!(got, Err(Error::EAGAIN), "step {step}"),
                }
            } else if used.len() > 1 {
                let victim = *used.iter().nth(1 + r % (used.len() - 1)).unwrap();
                w.exit(victim).unwrap();
                used.remove(&victim);
            }
            if step % 997 == 0 {
                assert_eq!(
                    pids(w.tasks.iter().map(|t| t.pid)),
                    pids(used.iter().copied())
                );
                assert_eq!(w.tasks.len(), used.len());
            }
        }
    }

    #[test]
    fn chunks_go_with_their_last_task() {
        let mut w = World::new();
        w.tasks.set_pid_max(PID_MAX_LIMIT).unwrap();
        let made: Vec<Pid> = (0..5 * CHUNK).map(|_| w.fork(1).unwrap()).collect();
        assert_eq!(w.tasks.index.chunks.iter().flatten().count(), 5 + 1);
        for &p in &made {
            w.exit(p).unwrap();
        }
        // Only init's chunk is left; the slab keeps its entries for the next forks.
        assert_eq!(w.tasks.index.chunks.iter().flatten().count(), 1);
        assert_eq!(w.tasks.len(), 1);
        let cap = w.tasks.slab.chunks.len();
        for _ in 0..5 * CHUNK {
            w.fork(1).unwrap();
        }
        assert_eq!(w.tasks.slab.chunks.len(), cap, "freed entries are reused");
        w.tasks.exit_all(&w.gpc);
        assert!(w.tasks.is_empty());
        assert!(w.tasks.get(1).is_none());
    }
}
