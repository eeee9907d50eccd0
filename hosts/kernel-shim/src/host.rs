//! gpc's host boundary (`gpc_core::host`) implemented on the imports.

use core::cell::{Cell, UnsafeCell};
use core::ffi::{c_int, c_uint, c_void};
use core::marker::PhantomData;
use core::mem::{align_of, size_of, MaybeUninit};
use core::pin::Pin;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU32, Ordering};

use gpc_core::host::cpu::Cpus;
use gpc_core::host::lock::{LockBackend, LockClass, LockKind};
use gpc_core::host::rcu::{Rcu, RcuHead};
use gpc_core::host::reclaim::{Lru, PageReclaim, Reclaimed};
use gpc_core::{Caller, Creds, Host, Pid, TaskId, TaskIds, TaskRef, TaskSlot, TaskTable};

use crate::abi::{
    GpcCreds, GpcRcuHead, GpcTask, GpcTaskSlot, GPC_LOCK_STORAGE_ALIGN, GPC_LOCK_STORAGE_SIZE,
};
use crate::ffi;

// ---------------------------------------------------------------------------------
// Atomic context, for the GFP flags.
// ---------------------------------------------------------------------------------

/// Which CPUs are in atomic context (hold a gpc spinlock or are inside a gpc RCU
/// read-side section), so that the allocator can pass `GPC_GFP_ATOMIC` there.
///
/// Rust's `GlobalAlloc` carries no GFP flags, and gpc allocates in both kinds of
/// context, so the shim keeps a nesting depth per CPU: the kernel promises that the CPU
/// does not change between a `gpc_spin_lock` and its unlock, or a `gpc_rcu_read_lock`
/// and its unlock (spinlocks disable preemption; see doc/kernel-shim.md for RCU). CPUs
/// beyond [`atomic_ctx::SLOTS`] share slots, which can only make an allocation
/// `GPC_GFP_ATOMIC` when it did not need to be, never the other way round.
pub(crate) mod atomic_ctx {
    use super::*;

    /// Per-CPU slots (CPU numbers are taken modulo this).
    pub(crate) const SLOTS: usize = 64;
    const MASK: usize = SLOTS - 1;

    /// One CPU's depth, on its own cache line (it is written on every lock).
    #[repr(align(64))]
    struct Depth(AtomicU32);

    static DEPTH: [Depth; SLOTS] = [const { Depth(AtomicU32::new(0)) }; SLOTS];

    fn this_cpu() -> Option<&'static AtomicU32> {
        // SAFETY: the import has no preconditions.
        let cpu = unsafe { ffi::gpc_current_cpu() };
        let cpu = usize::try_from(cpu).unwrap_or(0);
        DEPTH.get(cpu & MASK).map(|d| &d.0)
    }

    /// The CPU entered a spinlock or RCU read-side section.
    pub(crate) fn enter() {
        if let Some(d) = this_cpu() {
            d.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The CPU left one.
    pub(crate) fn exit() {
        if let Some(d) = this_cpu() {
            d.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Whether the CPU is in atomic context (counted by its own thread of control:
    /// relaxed loads see its own increments). The allocator no longer reads it (every
    /// allocation names its flags); the unit tests check the lock state with it.
    #[cfg(test)]
    pub(crate) fn in_atomic() -> bool {
        this_cpu().is_some_and(|d| d.load(Ordering::Relaxed) != 0)
    }
}

// ---------------------------------------------------------------------------------
// Locks.
// ---------------------------------------------------------------------------------

/// The operations of one kind of kernel lock.
pub trait LockOps: 'static {
    /// What holding the lock means (a spinning kind is atomic context).
    const KIND: LockKind;

    /// # Safety
    ///
    /// `lock` is `GPC_LOCK_STORAGE_SIZE` bytes of storage, not yet initialised, that
    /// stays where it is until `destroy`.
    unsafe fn init(lock: *mut c_void, class: &'static LockClass);
    /// # Safety
    ///
    /// `lock` was initialised by `init`.
    unsafe fn lock(lock: *mut c_void);
    /// # Safety
    ///
    /// As `lock`; the caller holds another lock of the same class.
    unsafe fn lock_nested(lock: *mut c_void, subclass: u32);
    /// # Safety
    ///
    /// `lock` is held by the caller.
    unsafe fn unlock(lock: *mut c_void);
    /// # Safety
    ///
    /// `lock` was initialised, is not held, and is not used again.
    unsafe fn destroy(lock: *mut c_void);
}

/// A kernel spinlock (`gpc_spin_*`): Linux `spinlock_t`, `spin_lock`.
pub struct SpinOps;
/// A kernel spinlock taken with interrupts off (`gpc_spin_lock_irqsave`): Linux
/// `spin_lock_irqsave`, the flags kept in the lock by the kernel.
pub struct IrqSpinOps;
/// A kernel mutex (`gpc_mutex_*`): Linux `struct mutex`.
pub struct MutexOps;

impl LockOps for SpinOps {
    const KIND: LockKind = LockKind::Spinning;
    unsafe fn init(lock: *mut c_void, class: &'static LockClass) {
        // SAFETY: forwarded from the caller; the class is static.
        unsafe { ffi::gpc_spin_init(lock, class.name().as_ptr(), class.key()) }
    }
    unsafe fn lock(lock: *mut c_void) {
        // SAFETY: forwarded from the caller.
        unsafe { ffi::gpc_spin_lock(lock) }
    }
    unsafe fn lock_nested(lock: *mut c_void, subclass: u32) {
        // SAFETY: forwarded from the caller.
        unsafe { ffi::gpc_spin_lock_nested(lock, subclass) }
    }
    unsafe fn unlock(lock: *mut c_void) {
        // SAFETY: forwarded from the caller.
        unsafe { ffi::gpc_spin_unlock(lock) }
    }
    unsafe fn destroy(lock: *mut c_void) {
        // SAFETY: forwarded from the caller.
        unsafe { ffi::gpc_spin_destroy(lock) }
    }
}

impl LockOps for IrqSpinOps {
    const KIND: LockKind = LockKind::SpinningIrq;
    unsafe fn init(lock: *mut c_void, class: &'static LockClass) {
        // SAFETY: forwarded from the caller; the class is static.
        unsafe { ffi::gpc_spin_init(lock, class.name().as_ptr(), class.key()) }
    }
    unsafe fn lock(lock: *mut c_void) {
        // SAFETY: forwarded from the caller.
        unsafe { ffi::gpc_spin_lock_irqsave(lock) }
    }
    unsafe fn lock_nested(lock: *mut c_void, _subclass: u32) {
        // gpc nests no irq-safe lock in another of its class.
        // SAFETY: forwarded from the caller.
        unsafe { ffi::gpc_spin_lock_irqsave(lock) }
    }
    unsafe fn unlock(lock: *mut c_void) {
        // SAFETY: forwarded from the caller.
        unsafe { ffi::gpc_spin_unlock_irqrestore(lock) }
    }
    unsafe fn destroy(lock: *mut c_void) {
        // SAFETY: forwarded from the caller.
        unsafe { ffi::gpc_spin_destroy(lock) }
    }
}

impl LockOps for MutexOps {
    const KIND: LockKind = LockKind::Sleeping;
    unsafe fn init(lock: *mut c_void, class: &'static LockClass) {
        // SAFETY: forwarded from the caller; the class is static.
        unsafe { ffi::gpc_mutex_init(lock, class.name().as_ptr(), class.key()) }
    }
    unsafe fn lock(lock: *mut c_void) {
        // SAFETY: forwarded from the caller.
        unsafe { ffi::gpc_mutex_lock(lock) }
    }
    unsafe fn lock_nested(lock: *mut c_void, _subclass: u32) {
        // gpc nests no mutex in another of its class.
        // SAFETY: forwarded from the caller.
        unsafe { ffi::gpc_mutex_lock(lock) }
    }
    unsafe fn unlock(lock: *mut c_void) {
        // SAFETY: forwarded from the caller.
        unsafe { ffi::gpc_mutex_unlock(lock) }
    }
    unsafe fn destroy(lock: *mut c_void) {
        // SAFETY: forwarded from the caller.
        unsafe { ffi::gpc_mutex_destroy(lock) }
    }
}

/// A kernel lock's storage: `GPC_LOCK_STORAGE_SIZE` opaque bytes, allocated by gpc-core
/// with this type's layout ([`gpc_core::host::lock`]: the host's lock state lives in its
/// own allocation), initialised there by the kernel and never moved.
#[repr(C, align(16))]
pub struct KLockState<K: LockOps> {
    storage: UnsafeCell<[MaybeUninit<u8>; GPC_LOCK_STORAGE_SIZE]>,
    _ops: PhantomData<fn() -> K>,
}

const _: () = assert!(size_of::<KLockState<SpinOps>>() == GPC_LOCK_STORAGE_SIZE);
const _: () = assert!(align_of::<KLockState<MutexOps>>() == GPC_LOCK_STORAGE_ALIGN);

// SAFETY: the storage is only touched through the kernel's lock operations, which are
// thread-safe.
unsafe impl<K: LockOps> Send for KLockState<K> {}
// SAFETY: as for Send.
unsafe impl<K: LockOps> Sync for KLockState<K> {}

impl<K: LockOps> KLockState<K> {
    fn ptr(&self) -> *mut c_void {
        self.storage.get().cast()
    }
}

/// A gpc `LockBackend` on a kernel lock.
pub struct KLock<K: LockOps>(PhantomData<fn() -> K>);

/// The spinning lock (Linux `spinlock_t`, `spin_lock`).
pub type KSpin = KLock<SpinOps>;
/// The irq-safe spinning lock (Linux `spin_lock_irqsave`).
pub type KIrqSpin = KLock<IrqSpinOps>;
/// The sleeping lock (Linux `struct mutex`).
pub type KMutex = KLock<MutexOps>;

// SAFETY: mutual exclusion, acquire and release ordering, and the context of each kind
// (preemption, interrupts) are the kernel lock's (the import contract); `init` makes an
// unlocked lock in place.
unsafe impl<K: LockOps> LockBackend for KLock<K> {
    type State = KLockState<K>;
    const KIND: LockKind = K::KIND;

    unsafe fn init(state: *mut KLockState<K>, class: &'static LockClass) {
        // SAFETY: the caller gives storage of our layout that stays put until `destroy`;
        // the kernel initialises it in place (the bytes need no Rust initialisation:
        // `MaybeUninit` storage behind an `UnsafeCell`).
        unsafe { K::init(state.cast(), class) };
    }

    unsafe fn lock(state: &KLockState<K>) {
        // SAFETY: initialised by `init` (the caller's contract).
        unsafe { K::lock(state.ptr()) };
        if K::KIND != LockKind::Sleeping {
            atomic_ctx::enter();
        }
    }

    unsafe fn lock_nested(state: &KLockState<K>, subclass: u32) {
        // SAFETY: as in `lock`.
        unsafe { K::lock_nested(state.ptr(), subclass) };
        if K::KIND != LockKind::Sleeping {
            atomic_ctx::enter();
        }
    }

    unsafe fn unlock(state: &KLockState<K>) {
        if K::KIND != LockKind::Sleeping {
            atomic_ctx::exit();
        }
        // SAFETY: the caller holds the lock.
        unsafe { K::unlock(state.ptr()) };
    }

    unsafe fn destroy(state: *mut KLockState<K>) {
        // SAFETY: initialised, unlocked, unused from now on (the caller's contract).
        unsafe { K::destroy(state.cast()) };
    }
}

// ---------------------------------------------------------------------------------
// The host: RCU, CPUs, release notifications.
// ---------------------------------------------------------------------------------

/// The kernel's context pointer, handed back to `gpc_release_notify`.
struct HostCtx(*mut c_void);

// SAFETY: the pointer is the kernel's; the shim never dereferences it, only passes it
// back to the kernel, from any thread (the import's contract).
unsafe impl Send for HostCtx {}
// SAFETY: as for Send.
unsafe impl Sync for HostCtx {}

/// gpc's `Host` on the imports.
pub struct KHost {
    ctx: HostCtx,
}

impl KHost {
    pub(crate) fn new(ctx: *mut c_void) -> Self {
        KHost { ctx: HostCtx(ctx) }
    }
}

/// Run a head's callback: the kernel calls this (`gpc_rcu_invoke`) after the grace
/// period of a `gpc_call_rcu`.
///
/// # Safety
///
/// `head` was passed to `gpc_call_rcu`, a grace period has elapsed since, and this is
/// the only call for it.
pub(crate) unsafe fn rcu_invoke(head: *mut GpcRcuHead) {
    if let Some(head) = crate::abi::rcu_head_of(head) {
        // SAFETY: `head` came from `call_rcu` below as the link word of a core
        // `RcuHead`, which `rcu_head_of` stepped back to; the rest is the caller's
        // contract (grace period elapsed, once).
        unsafe { RcuHead::invoke(head) };
    }
}

// SAFETY: the kernel's RCU provides the guarantee (import contract): a head queued by
// `gpc_call_rcu` is invoked only after every read-side section in progress at the time
// has ended, and `gpc_synchronize_rcu` waits for a grace period and the callbacks.
unsafe impl Rcu for KHost {
    fn read_lock(&self) {
        // SAFETY: no preconditions.
        unsafe { ffi::gpc_rcu_read_lock() };
        atomic_ctx::enter();
    }

    unsafe fn read_unlock(&self) {
        atomic_ctx::exit();
        // SAFETY: matches the caller's `read_lock` (forwarded contract).
        unsafe { ffi::gpc_rcu_read_unlock() };
    }

    unsafe fn call_rcu(&self, head: NonNull<RcuHead>) {
        // SAFETY: the kernel gets the head's `next` word, which is all it may touch;
        // the head stays valid until invoked (caller's contract).
        unsafe { ffi::gpc_call_rcu(crate::abi::rcu_link(head)) };
    }

    fn synchronize(&self) {
        // SAFETY: no preconditions (gpc never calls it inside a read-side section).
        unsafe { ffi::gpc_synchronize_rcu() };
    }
}

impl Cpus for KHost {
    fn current_cpu(&self) -> usize {
        // SAFETY: no preconditions.
        usize::try_from(unsafe { ffi::gpc_current_cpu() }).unwrap_or(0)
    }

    fn nr_cpus(&self) -> usize {
        // SAFETY: no preconditions.
        usize::try_from(unsafe { ffi::gpc_nr_cpus() })
            .unwrap_or(1)
            .max(1)
    }

    fn nr_mem_nodes(&self) -> usize {
        // SAFETY: no preconditions.
        usize::try_from(unsafe { ffi::gpc_nr_mem_nodes() })
            .unwrap_or(1)
            .max(1)
    }
}

impl Host for KHost {
    type Mutex = KMutex;
    type Spin = KSpin;
    type IrqSpin = KIrqSpin;

    fn release_queued(&self) {
        // SAFETY: the kernel's own context pointer, handed back.
        unsafe { ffi::gpc_release_notify(self.ctx.0) };
    }

    fn files_changed(&self) {
        // SAFETY: the kernel's own context pointer, handed back.
        unsafe { ffi::gpc_files_changed(self.ctx.0) };
    }
}

/// The task whose slot gpc passes to a host method.
///
/// gpc only passes slots of tasks this instance attached (`gpc_init_task`,
/// `gpc_fork`, `gpc_fork_into`; not yet `gpc_exit`), which the kernel embeds in the
/// task and returned from `gpc_task_slot`, so `gpc_slot_task` (container_of) finds the
/// task; the kernel only computes an address from the pointer and never writes through
/// it. The job-control exports check that their task is attached before gpc asks.
pub(crate) fn slot_task(slot: &TaskSlot) -> *mut GpcTask {
    let slot = ptr::from_ref(slot).cast_mut().cast::<GpcTaskSlot>();
    // SAFETY: `slot` is such a slot (above); the import neither sleeps nor calls gpc,
    // as the spinning locks gpc may hold here require (its contract).
    unsafe { ffi::gpc_slot_task(slot) }
}

/// Job control on the kernel's tasks (Linux `task->frozen`, `cgroup_freeze_task`,
/// `send_sig(SIGKILL)`, `fatal_signal_pending`, `ktime_get_ns`): each method is one
/// import on the task of the slot. gpc calls them under its spinning locks, which the
/// imports' contract allows (no sleeping, no allocation, no call into gpc).
impl gpc_core::JobControl for KHost {
    fn task_frozen(&self, task: &TaskSlot) -> bool {
        // SAFETY: a live attached task (`slot_task`); no other precondition.
        unsafe { ffi::gpc_task_frozen(slot_task(task)) }
    }

    fn set_task_frozen(&self, task: &TaskSlot, frozen: bool) {
        // SAFETY: as in `task_frozen`.
        unsafe { ffi::gpc_set_task_frozen(slot_task(task), frozen) }
    }

    fn freeze_task(&self, task: &TaskSlot, freeze: bool) {
        // SAFETY: as in `task_frozen`.
        unsafe { ffi::gpc_freeze_task(slot_task(task), freeze) }
    }

    fn kill_task(&self, task: &TaskSlot) -> gpc_core::Result {
        // SAFETY: as in `task_frozen`.
        let r = unsafe { ffi::gpc_kill_task(slot_task(task)) };
        if r == 0 {
            return Ok(());
        }
        // A kernel answering outside its contract (a positive value, an errno gpc does
        // not know) still fails the write, with EIO rather than a made-up success.
        Err(r
            .checked_neg()
            .filter(|e| *e > 0)
            .and_then(gpc_core::Error::from_errno)
            .unwrap_or(gpc_core::Error::EIO))
    }

    fn fatal_signal_pending(&self, task: &TaskSlot) -> bool {
        // SAFETY: as in `task_frozen`.
        unsafe { ffi::gpc_fatal_signal_pending(slot_task(task)) }
    }

    fn clock_ns(&self) -> u64 {
        // SAFETY: no preconditions.
        unsafe { ffi::gpc_clock_ns() }
    }
}

// Task walks (the `tasks` and `cgroup.procs` listings) find a task's ids from its slot:
// Linux `container_of(node, struct task_struct, cg_list)`, then `task_pid_vnr`.

impl TaskIds for KHost {
    fn task_ids(&self, slot: &TaskSlot) -> TaskId {
        let task = slot_task(slot);
        TaskId {
            // SAFETY: the task is live while its slot is attached, which it is (above).
            pid: unsafe { ffi::gpc_task_pid(task) },
            // SAFETY: as above.
            tgid: unsafe { ffi::gpc_task_tgid(task) },
        }
    }
}

// ---------------------------------------------------------------------------------
// Tasks.
// ---------------------------------------------------------------------------------

/// The credentials of `task`.
///
/// # Safety
///
/// `task` is a live kernel task.
pub(crate) unsafe fn task_creds(task: *mut GpcTask) -> Creds {
    let mut creds = GpcCreds::NOBODY;
    // SAFETY: `task` is live (caller); `creds` is a valid out-pointer.
    unsafe { ffi::gpc_task_creds(task, &mut creds) };
    creds.into()
}

/// The slot of `task`, if the kernel has one for it.
///
/// # Safety
///
/// `task` is a live kernel task whose slot was initialised (`gpc_task_slot_init`) and
/// stays valid for `'a`.
pub(crate) unsafe fn task_slot<'a>(task: *mut GpcTask) -> Option<&'a TaskSlot> {
    if task.is_null() {
        return None;
    }
    // SAFETY: `task` is live (caller).
    let slot = unsafe { ffi::gpc_task_slot(task) };
    // SAFETY: a `struct gpc_task_slot` is a `TaskSlot` (size and alignment asserted in
    // `abi`, initialised by `gpc_task_slot_init`), alive for `'a` (caller).
    unsafe { slot.cast::<TaskSlot>().as_ref() }
}

/// `task` as gpc sees it.
///
/// # Safety
///
/// As for [`task_slot`].
pub(crate) unsafe fn task_ref<'a>(task: *mut GpcTask) -> Option<TaskRef<'a>> {
    // SAFETY: forwarded.
    let slot = unsafe { task_slot(task) }?;
    Some(TaskRef {
        // SAFETY: `task` is live (caller).
        pid: unsafe { ffi::gpc_task_pid(task) },
        // SAFETY: as above.
        tgid: unsafe { ffi::gpc_task_tgid(task) },
        // SAFETY: as above.
        creds: unsafe { task_creds(task) },
        slot,
    })
}

/// A task's slot, pinned: for the calls that link it into a css_group's task list.
///
/// # Safety
///
/// `slot` is the slot of a live kernel task, from [`task_slot`] or [`task_ref`] (so it
/// lies in the kernel's task struct, not on the stack).
pub(crate) unsafe fn pinned_slot(slot: &TaskSlot) -> Pin<&TaskSlot> {
    // SAFETY: the slot lives in the kernel's task struct, and the ABI (include/gpc.h,
    // `struct gpc_task_slot`) forbids the kernel to move or copy an attached slot: it
    // stays at this address until `gpc_exit` unlinks it (Linux's task_struct never
    // moves), which is `Pin`'s contract. A copy made before attaching (dup_task_struct)
    // is a new slot that `gpc_task_slot_init` empties without unlinking.
    unsafe { Pin::new_unchecked(slot) }
}

/// The kernel's task table for one call into gpc: the walk imports, and the page
/// reclaim import (`gpc_reclaim_pages`, with the instance's context) for the file writes
/// that reclaim (`memory.force_empty`, a lowered limit, `memory.reclaim`).
pub(crate) struct KTasks<'a> {
    host: &'a KHost,
    /// The group whose OOM killer a file write asked for
    /// ([`PageReclaim::request_oom_kill`]): run by the export once the write returned
    /// (one write names one group).
    oom_request: Cell<Option<u64>>,
}

impl<'a> KTasks<'a> {
    /// The task table of a call on the instance whose host is `host`.
    pub(crate) fn new(host: &'a KHost) -> Self {
        KTasks {
            host,
            oom_request: Cell::new(None),
        }
    }

    /// The group whose OOM killer the call asked for, if any.
    pub(crate) fn take_oom_request(&self) -> Option<u64> {
        self.oom_request.take()
    }
}

/// The kernel's page reclaim: `gpc_reclaim_pages` with the instance's context. Called by
/// gpc-subsystems' `memory::reclaim` with gpc's hierarchy mutex held (the import may
/// sleep, must not call gpc).
impl PageReclaim for KHost {
    fn reclaim(&self, group: u64, lru: Lru, nr: u64) -> Reclaimed {
        let mut writeback = 0u64;
        // SAFETY: the kernel's own context pointer, handed back; `writeback` is a valid
        // out-pointer for the call; `lru` is one of the four `GPC_LRU_*` values.
        let freed =
            unsafe { ffi::gpc_reclaim_pages(self.ctx.0, group, lru as c_int, nr, &mut writeback) };
        // The controller clamps both to what it asked for (`reclaim_list`).
        Reclaimed { freed, writeback }
    }
}

impl PageReclaim for KTasks<'_> {
    fn reclaim(&self, group: u64, lru: Lru, nr: u64) -> Reclaimed {
        self.host.reclaim(group, lru, nr)
    }

    fn request_oom_kill(&self, group: u64) {
        self.oom_request.set(Some(group));
    }
}

struct OneTask<'a> {
    f: &'a mut dyn FnMut(&TaskRef<'_>),
}

/// # Safety
///
/// `ctx` is the `OneTask` that `with_task` passed, and `task` a live
/// task the kernel keeps alive during the call.
unsafe extern "C" fn one_task(ctx: *mut c_void, task: *mut GpcTask) {
    // SAFETY: the `OneTask` lives on the caller's stack for the whole walk, and the
    // kernel calls back synchronously from one thread.
    let Some(ctx) = (unsafe { ctx.cast::<OneTask<'_>>().as_mut() }) else {
        return;
    };
    // SAFETY: the kernel keeps `task` alive during the callback.
    if let Some(t) = unsafe { task_ref(task) } {
        (ctx.f)(&t);
    }
}

struct Group<'a> {
    f: &'a mut dyn FnMut(&mut dyn Iterator<Item = TaskRef<'_>>),
}

/// The live threads of a group, through `gpc_next_thread`.
struct Threads<'a> {
    leader: *mut GpcTask,
    prev: *mut GpcTask,
    done: bool,
    _tasks: PhantomData<&'a GpcTask>,
}

impl<'a> Iterator for Threads<'a> {
    type Item = TaskRef<'a>;

    fn next(&mut self) -> Option<TaskRef<'a>> {
        while !self.done {
            // SAFETY: the kernel holds the group stable during `gpc_with_thread_group`'s
            // callback, which this iterator cannot outlive.
            let next = unsafe { ffi::gpc_next_thread(self.leader, self.prev) };
            // A kernel whose thread list is circular (Linux's `next_thread`) comes
            // back to the leader: that is the end too.
            if next.is_null() || (!self.prev.is_null() && next == self.leader) {
                self.done = true;
                return None;
            }
            self.prev = next;
            // SAFETY: a thread of the stable group, alive during the callback.
            if let Some(t) = unsafe { task_ref(next) } {
                return Some(t);
            }
        }
        None
    }
}

/// # Safety
///
/// `ctx` is the `Group` that `with_thread_group` passed, `leader` the group's leader,
/// kept stable by the kernel during the call.
unsafe extern "C" fn group(ctx: *mut c_void, leader: *mut GpcTask) {
    // SAFETY: as in `one_task`.
    let Some(ctx) = (unsafe { ctx.cast::<Group<'_>>().as_mut() }) else {
        return;
    };
    if leader.is_null() {
        return;
    }
    let mut threads = Threads {
        leader,
        prev: ptr::null_mut(),
        done: false,
        _tasks: PhantomData,
    };
    (ctx.f)(&mut threads);
}

impl TaskTable for KTasks<'_> {
    fn with_task(&self, pid: Pid, f: &mut dyn FnMut(&TaskRef<'_>)) -> bool {
        let mut ctx = OneTask { f };
        // SAFETY: `one_task` matches `gpc_task_fn` and `ctx` outlives the call.
        unsafe { ffi::gpc_with_task(pid, one_task, ptr::from_mut(&mut ctx).cast()) != 0 }
    }

    fn with_thread_group(
        &self,
        tgid: Pid,
        f: &mut dyn FnMut(&mut dyn Iterator<Item = TaskRef<'_>>),
    ) -> bool {
        let mut ctx = Group { f };
        // SAFETY: `group` matches `gpc_task_fn` and `ctx` outlives the call.
        unsafe { ffi::gpc_with_thread_group(tgid, group, ptr::from_mut(&mut ctx).cast()) != 0 }
    }

    fn may_write_procs(&self, creds: &Creds, container: u64) -> bool {
        let creds = GpcCreds::from(*creds);
        // SAFETY: a valid pointer for the call; gpc holds only its hierarchy mutex here
        // (`cgroup_attach_permissions` under `cgroup_mutex`), as the import allows.
        unsafe { ffi::gpc_may_write_procs(&creds, container) }
    }

    fn page_reclaim(&self) -> Option<&dyn PageReclaim> {
        Some(self)
    }

    fn net_devices(&self) -> Option<&dyn gpc_core::NetDevices> {
        Some(self)
    }
}

/// The most network devices gpc asks the kernel about.
const MAX_NETDEVS: c_uint = 1024;

impl gpc_core::NetDevices for KTasks<'_> {
    fn count(&self) -> usize {
        let mut n: c_uint = 0;
        // SAFETY: the import may be called from any context; it returns null or a name.
        while n < MAX_NETDEVS && !unsafe { ffi::gpc_netdev_name(n) }.is_null() {
            n = n.saturating_add(1);
        }
        n as usize
    }

    fn name(&self, idx: usize) -> Option<&str> {
        let idx = c_uint::try_from(idx).ok().filter(|&i| i < MAX_NETDEVS)?;
        // SAFETY: as above.
        let p = unsafe { ffi::gpc_netdev_name(idx) };
        if p.is_null() {
            return None;
        }
        // SAFETY: a NUL-terminated name the kernel keeps valid and unchanged for the
        // life of the instance (the import's contract), which outlives `self`.
        let name = unsafe { core::ffi::CStr::from_ptr(p) };
        name.to_str().ok()
    }
}

/// The caller of an operation: `task` (the kernel's `current`), or the kernel itself
/// (root, every capability, no task) when null, with the call's task table `tasks`.
///
/// # Safety
///
/// `task` is null or a live kernel task.
pub(crate) unsafe fn caller<'a>(tasks: &'a KTasks<'_>, task: *mut GpcTask) -> Caller<'a> {
    if task.is_null() {
        return Caller {
            creds: Creds::ROOT,
            pid: None,
            tasks,
        };
    }
    Caller {
        // SAFETY: live (caller's contract).
        creds: unsafe { task_creds(task) },
        // SAFETY: as above.
        pid: Some(unsafe { ffi::gpc_task_pid(task) }),
        tasks,
    }
}
