//! Tasks: the slot a host embeds in its task struct, and how gpc finds tasks.
//!
//! gpc keeps no task list of its own. A task's whole cgroup state is one [`TaskSlot`]:
//! a pointer to its css_group, which is all the fork, exit and lookup fast paths touch
//! (see `doc/fast-path.md`). Listing the tasks of a container (`tasks`, `cgroup.procs`)
//! walks the host's own task table through [`TaskTable`] and keeps those whose
//! css_group is in the container: that read is O(tasks on the machine), the price of a
//! fork that takes no lock at all. Linux pays the other way round (`css_set_lock` on
//! every fork to keep per-css_set task lists).

use core::ptr;

use crate::cssgroup::CssGroup;
use crate::host::cred::Creds;
use crate::primitive::{AtomicPtr, Ordering};

/// A process or thread id.
pub type Pid = u32;

/// The per-task state of gpc, embedded by the host in its task struct.
///
/// One pointer (8 bytes on 64-bit hosts). Its only constructor makes an empty slot; it
/// gets a css_group through `Gpc::init_task` or `Gpc::fork`, so a host cannot forge one.
#[repr(transparent)]
pub struct TaskSlot {
    cg: AtomicPtr<CssGroup>,
}

impl TaskSlot {
    /// An empty slot, for a task struct not yet forked.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        TaskSlot {
            cg: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// An empty slot (loom's atomics have no const constructor).
    #[cfg(loom)]
    pub fn new() -> Self {
        TaskSlot {
            cg: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Whether the slot holds a css_group (the task was forked and has not exited).
    pub fn is_attached(&self) -> bool {
        !self.cg.load(Ordering::Acquire).is_null()
    }

    pub(crate) fn raw(&self) -> &AtomicPtr<CssGroup> {
        &self.cg
    }
}

impl Default for TaskSlot {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for TaskSlot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TaskSlot")
            .field("attached", &self.is_attached())
            .finish()
    }
}

/// A task as the host shows it to gpc for the duration of one callback.
#[derive(Clone, Copy)]
pub struct TaskRef<'a> {
    /// Thread id.
    pub pid: Pid,
    /// Thread-group (process) id: the pid of the group leader.
    pub tgid: Pid,
    /// The task's credentials (for the v1 move rule).
    pub creds: Creds,
    /// The task's gpc slot.
    pub slot: &'a TaskSlot,
}

/// The host's task table, as gpc needs it.
///
/// Callbacks are synchronous and must not call back into gpc.
pub trait TaskTable {
    /// Call `f` with the live task whose thread id is `pid`. Returns whether it exists.
    /// A task that is exiting (Linux `PF_EXITING`) is not live.
    fn with_task(&self, pid: Pid, f: &mut dyn FnMut(&TaskRef<'_>)) -> bool;

    /// Call `f` for every live task, in any order.
    fn for_each_task(&self, f: &mut dyn FnMut(&TaskRef<'_>));

    /// Call `f` once with an iterator over every live thread of thread group `tgid` (any
    /// order). Returns whether the group exists. The host keeps the group's thread list
    /// stable while `f` runs (Linux `cgroup_threadgroup_rwsem`): no thread is added or
    /// removed meanwhile.
    fn with_thread_group(
        &self,
        tgid: Pid,
        f: &mut dyn FnMut(&mut dyn Iterator<Item = TaskRef<'_>>),
    ) -> bool;
}

/// Who is calling, for an operation that checks permissions or names tasks.
#[derive(Clone, Copy)]
pub struct Caller<'a> {
    /// The caller's credentials.
    pub creds: Creds,
    /// The calling task's pid, for writes of `0` to `tasks` (Linux: "the current task").
    pub pid: Option<Pid>,
    /// The host's tasks.
    pub tasks: &'a dyn TaskTable,
}

/// A task table with no tasks, for callers that act on no task.
pub struct NoTasks;

impl TaskTable for NoTasks {
    fn with_task(&self, _pid: Pid, _f: &mut dyn FnMut(&TaskRef<'_>)) -> bool {
        false
    }
    fn for_each_task(&self, _f: &mut dyn FnMut(&TaskRef<'_>)) {}
    fn with_thread_group(
        &self,
        _tgid: Pid,
        _f: &mut dyn FnMut(&mut dyn Iterator<Item = TaskRef<'_>>),
    ) -> bool {
        false
    }
}
