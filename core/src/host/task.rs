//! Tasks: the slot a host embeds in its task struct, and how gpc finds tasks.
//!
//! A task's whole cgroup state is one [`TaskSlot`]: a pointer to its css_group, which is
//! all the lookup fast path touches, and the task's link in its css_group's task list
//! (the seed's "lattice of lists"), which fork, exit and moves maintain under a lock of
//! the css_group's CPU shard (see `doc/fast-path.md`). Listing the tasks of a container
//! (`tasks`, `cgroup.procs`, [`crate::Gpc::tasks`]) walks those lists: O(members of the
//! container), not O(tasks on the machine).
//!
//! The slot is an intrusive list node, so it must stay where it is while linked: it is
//! `!Unpin`, and the calls that link it ([`crate::Gpc::fork`], [`crate::Gpc::init_task`])
//! take it pinned. A slot dropped while still linked unlinks itself (a host that forgets
//! `exit` leaks its reference, never a dangling link).

use core::marker::PhantomPinned;
use core::pin::Pin;
use core::ptr;

use crate::cssgroup::{untag, CssGroup};
use crate::host::cred::Creds;
use crate::list::HNode;
use crate::primitive::{AtomicPtr, Ordering};

/// A process or thread id.
pub type Pid = u32;

/// The per-task state of gpc, embedded by the host in its task struct.
///
/// 24 bytes on 64-bit hosts, what Linux spends (`task_struct::cgroups` and `cg_list`):
/// the task's link in its css_group's task list (two pointers) and the css_group
/// pointer. The task's ids stay in the host's task struct, where a listing finds them
/// through [`TaskIds`] (Linux `css_task_iter_next` returns the `task_struct`, whose pid
/// it prints). Its only constructor makes an empty slot; it gets a css_group through
/// `Gpc::init_task` or `Gpc::fork`, so a host cannot forge one.
#[repr(C)]
pub struct TaskSlot {
    /// First, so a list node is also the slot (`container_of` at offset 0).
    pub(crate) node: HNode,
    cg: AtomicPtr<CssGroup>,
    _pin: PhantomPinned,
}

/// A task a walk lists: its thread and group ids, as the host gives them ([`TaskIds`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId {
    /// Thread id.
    pub pid: Pid,
    /// Thread-group id.
    pub tgid: Pid,
}

/// How gpc learns the ids of a task it finds on a list: from the host's task struct that
/// embeds the slot (Linux: `container_of(node, struct task_struct, cg_list)`, then
/// `task_pid_vnr`). This is what keeps the ids out of [`TaskSlot`].
///
/// Called by task walks ([`crate::Gpc::tasks`], the `tasks` and `cgroup.procs`
/// listings) under spinning locks (the css_group table's and a shard's): it must not
/// sleep, allocate, or call gpc.
pub trait TaskIds {
    /// The ids of the task whose slot is `slot`. `slot` is one this host linked through
    /// `Gpc::init_task` or `Gpc::fork` and whose task has not exited (gpc never passes
    /// another): for a host that embeds every slot in its task struct,
    /// [`EmbedsTaskSlot::from_slot`] finds that struct.
    fn task_ids(&self, slot: &TaskSlot) -> TaskId;
}

/// A host task struct with a [`TaskSlot`] field: implement it with
/// [`crate::embeds_task_slot!`], which computes the offset.
///
/// # Safety
///
/// `SLOT_OFFSET` is the byte offset of a `TaskSlot` field of `Self`.
pub unsafe trait EmbedsTaskSlot: Sized {
    /// Where the slot is in `Self`.
    const SLOT_OFFSET: usize;

    /// The task struct whose slot field `slot` is (Linux `container_of`).
    ///
    /// # Safety
    ///
    /// `slot` is the slot field of a live `Self`, and the reference it came from was
    /// derived from a reference to that whole `Self` (a host that only ever hands gpc
    /// `&task.slot` of its own tasks satisfies both).
    #[inline]
    unsafe fn from_slot(slot: &TaskSlot) -> &Self {
        // SAFETY: `slot` sits `SLOT_OFFSET` bytes into a live `Self` (trait contract
        // and caller), so stepping back lands on that `Self`.
        unsafe {
            &*ptr::from_ref(slot)
                .cast::<u8>()
                .sub(Self::SLOT_OFFSET)
                .cast::<Self>()
        }
    }
}

/// Implement [`EmbedsTaskSlot`] for a struct and its `TaskSlot` field:
/// `gpc_core::embeds_task_slot!(Task, slot);`.
#[macro_export]
macro_rules! embeds_task_slot {
    ($task:ty, $field:ident) => {
        // SAFETY: `offset_of!` of a field checked to be a `TaskSlot`.
        unsafe impl $crate::host::task::EmbedsTaskSlot for $task {
            const SLOT_OFFSET: usize = {
                // The field must be a `TaskSlot` (this fails to compile otherwise).
                let _is_slot: fn(&$task) -> &$crate::TaskSlot = |t| &t.$field;
                ::core::mem::offset_of!($task, $field)
            };
        }
    };
}

impl TaskSlot {
    /// An empty slot, for a task struct not yet forked.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        TaskSlot {
            node: HNode::new(),
            cg: AtomicPtr::new(ptr::null_mut()),
            _pin: PhantomPinned,
        }
    }

    /// An empty slot (loom's atomics have no const constructor).
    #[cfg(loom)]
    pub fn new() -> Self {
        TaskSlot {
            node: HNode::new(),
            cg: AtomicPtr::new(ptr::null_mut()),
            _pin: PhantomPinned,
        }
    }

    /// A walk's sentinel: never a task, never dropped while linked (its walk unlinks
    /// it first).
    pub(crate) fn sentinel() -> Self {
        let s = Self::new();
        s.cg.store(crate::cssgroup::SENTINEL, Ordering::Relaxed);
        s
    }

    /// Whether the slot holds a css_group (the task was forked and has not exited).
    #[inline]
    pub fn is_attached(&self) -> bool {
        !self.cg.load(Ordering::Acquire).is_null()
    }

    #[inline]
    pub(crate) fn raw(&self) -> &AtomicPtr<CssGroup> {
        &self.cg
    }

    /// The slot behind a list node.
    ///
    /// # Safety
    ///
    /// `node` is the `node` field of a live `TaskSlot` (or of a walk's sentinel, which
    /// has the same layout).
    pub(crate) unsafe fn from_node<'a>(node: *const HNode) -> &'a TaskSlot {
        // SAFETY: `node` is at offset 0 of a `#[repr(C)]` TaskSlot (caller).
        unsafe { &*node.cast::<TaskSlot>() }
    }

    /// A pinned slot's address, for the calls that link it.
    pub(crate) fn pinned(slot: Pin<&TaskSlot>) -> &TaskSlot {
        slot.get_ref()
    }
}

// SAFETY: `cg` is atomic; `node` is written only while the slot is on no list
// (before linking, by the one caller that links it) or under the lock of the shard list it
// is on, and read only under that lock, so sharing a slot between threads races nothing.
unsafe impl Sync for TaskSlot {}
// SAFETY: as for `Sync`: nothing in the slot is tied to a thread; a linked slot is reached
// by other threads only through its list, under the list's lock.
unsafe impl Send for TaskSlot {}

impl Default for TaskSlot {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TaskSlot {
    /// A slot dropped while linked (its task never exited) unlinks itself, so no list
    /// keeps a pointer to freed memory; its css_group reference is leaked, as a kernel
    /// leaks what a task that never ran `cgroup_exit` held.
    fn drop(&mut self) {
        let (Some(cg), shard) = untag(self.cg.load(Ordering::Acquire)) else {
            return;
        };
        // SAFETY: the slot's leaked reference keeps the css_group alive; `&mut self`
        // means no move or exit runs on this slot concurrently.
        unsafe { cg.as_ref() }.unlink_dropped(shard, self);
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

    /// Call `f` once with an iterator over every live thread of thread group `tgid` (any
    /// order). Returns whether the group exists. The host keeps the group's thread list
    /// stable while `f` runs (Linux `cgroup_threadgroup_rwsem`): no thread is added or
    /// removed meanwhile.
    fn with_thread_group(
        &self,
        tgid: Pid,
        f: &mut dyn FnMut(&mut dyn Iterator<Item = TaskRef<'_>>),
    ) -> bool;

    /// Whether `creds` may write the `cgroup.procs` file of the v2 group whose container
    /// id is `container`: the VFS permission check that a v2 move makes on the common
    /// ancestor of the source and destination groups (Linux `cgroup_may_write`:
    /// `inode_permission(MAY_WRITE)` on that file), the delegation rule. The default
    /// answers for a file nobody chowned (mode 0644, owned by root).
    fn may_write_procs(&self, creds: &Creds, container: u64) -> bool {
        let _ = container;
        creds.euid == 0 || creds.cap_dac_override
    }

    /// The host's page reclaim, for the file writes that reclaim memory
    /// (`memory.force_empty`, a limit lowered below the usage, `memory.reclaim`), or
    /// `None` (the default) for a host whose pages cannot be reclaimed: those writes then
    /// act as if reclaim found nothing.
    fn page_reclaim(&self) -> Option<&dyn crate::host::reclaim::PageReclaim> {
        None
    }

    /// The host's network devices, for `net_prio.ifpriomap` (Linux: the devices of
    /// `init_net`), or `None` (the default) for a host without any: the map then reads
    /// empty and every write names no device (`ENODEV`).
    fn net_devices(&self) -> Option<&dyn NetDevices> {
        None
    }
}

/// A host's network devices, in the order Linux lists them (`for_each_netdev`:
/// registration order, `lo` first). A device's index here is what `net_prio` keys its
/// priorities by.
pub trait NetDevices {
    /// How many devices there are.
    fn count(&self) -> usize;
    /// The name of device `idx` (`None` past the end).
    fn name(&self, idx: usize) -> Option<&str>;
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
    fn with_thread_group(
        &self,
        _tgid: Pid,
        _f: &mut dyn FnMut(&mut dyn Iterator<Item = TaskRef<'_>>),
    ) -> bool {
        false
    }
}
