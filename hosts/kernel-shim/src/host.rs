//! gpc's host boundary (`gpc_core::host`) implemented on the imports.

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::mem::{align_of, size_of, MaybeUninit};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU8, Ordering};

use gpc_core::host::cpu::Cpus;
use gpc_core::host::lock::LockBackend;
use gpc_core::host::rcu::{Rcu, RcuHead};
use gpc_core::{Caller, Creds, Host, Pid, TaskRef, TaskSlot, TaskTable};

use crate::abi::{GpcCreds, GpcRcuHead, GpcTask, GPC_LOCK_STORAGE_ALIGN, GPC_LOCK_STORAGE_SIZE};
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
    /// Whether holding the lock is atomic context (a spinlock).
    const ATOMIC: bool;

    /// # Safety
    ///
    /// `lock` is `GPC_LOCK_STORAGE_SIZE` bytes of storage, not yet initialised.
    unsafe fn init(lock: *mut c_void);
    /// # Safety
    ///
    /// `lock` was initialised by `init`.
    unsafe fn lock(lock: *mut c_void);
    /// # Safety
    ///
    /// `lock` is held by the caller.
    unsafe fn unlock(lock: *mut c_void);
    /// # Safety
    ///
    /// `lock` was initialised, is not held, and is not used again.
    unsafe fn destroy(lock: *mut c_void);
}

/// A kernel spinlock (`gpc_spin_*`): Linux `spinlock_t`.
pub struct SpinOps;
/// A kernel mutex (`gpc_mutex_*`): Linux `struct mutex`.
pub struct MutexOps;

impl LockOps for SpinOps {
    const ATOMIC: bool = true;
    unsafe fn init(lock: *mut c_void) {
        // SAFETY: forwarded from the caller.
        unsafe { ffi::gpc_spin_init(lock) }
    }
    unsafe fn lock(lock: *mut c_void) {
        // SAFETY: forwarded from the caller.
        unsafe { ffi::gpc_spin_lock(lock) }
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

impl LockOps for MutexOps {
    const ATOMIC: bool = false;
    unsafe fn init(lock: *mut c_void) {
        // SAFETY: forwarded from the caller.
        unsafe { ffi::gpc_mutex_init(lock) }
    }
    unsafe fn lock(lock: *mut c_void) {
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

#[repr(C, align(16))]
struct Storage(UnsafeCell<[MaybeUninit<u8>; GPC_LOCK_STORAGE_SIZE]>);

const _: () = assert!(size_of::<Storage>() == GPC_LOCK_STORAGE_SIZE);
const _: () = assert!(align_of::<Storage>() == GPC_LOCK_STORAGE_ALIGN);

const UNINIT: u8 = 0;
const INITIALISING: u8 = 1;
const READY: u8 = 2;

/// A kernel lock's state inside a gpc `Lock`: opaque storage, initialised in place by
/// the kernel at first use, and again if it was moved since.
///
/// gpc's `LockBackend::new` returns the state by value and the `Lock` holding it is
/// moved before it is first locked (into the `Gpc`, then into its box). Kernel locks
/// must not move once initialised (a Linux `struct mutex` holds a list pointing to
/// itself), so the kernel's init runs on the first `lock`, at the state's final place,
/// and the address it ran at is kept: a state found at another address is a bitwise
/// copy of an unlocked lock (a value moves only while nothing borrows it, and a held
/// lock is borrowed by its guard), which is initialised again where it now is. The old
/// copy is forgotten, as moved-from values are.
pub struct KLockState<K: LockOps> {
    storage: Storage,
    state: AtomicU8,
    /// Where `init` ran (valid once `state` is `READY`).
    at: AtomicPtr<c_void>,
    _ops: PhantomData<fn() -> K>,
}

// SAFETY: the storage is only touched through the kernel's lock operations, which are
// thread-safe, and by `init` under the `state` handshake.
unsafe impl<K: LockOps> Send for KLockState<K> {}
// SAFETY: as for Send.
unsafe impl<K: LockOps> Sync for KLockState<K> {}

impl<K: LockOps> KLockState<K> {
    const fn new() -> Self {
        KLockState {
            storage: Storage(UnsafeCell::new(
                [MaybeUninit::uninit(); GPC_LOCK_STORAGE_SIZE],
            )),
            state: AtomicU8::new(UNINIT),
            at: AtomicPtr::new(ptr::null_mut()),
            _ops: PhantomData,
        }
    }

    fn ptr(&self) -> *mut c_void {
        self.storage.0.get().cast()
    }

    /// Initialised here (not elsewhere before a move)?
    #[inline]
    fn ready_here(&self) -> bool {
        self.state.load(Ordering::Acquire) == READY && self.at.load(Ordering::Relaxed) == self.ptr()
    }

    #[inline]
    fn ensure_init(&self) {
        if !self.ready_here() {
            self.init_slow();
        }
    }

    #[cold]
    fn init_slow(&self) {
        let here = self.ptr();
        loop {
            let s = self.state.load(Ordering::Acquire);
            if s == READY && self.at.load(Ordering::Relaxed) == here {
                return;
            }
            if s == INITIALISING {
                core::hint::spin_loop();
                continue;
            }
            // Never initialised, or initialised at another address and moved since
            // (so unlocked): initialise it here.
            if self
                .state
                .compare_exchange(s, INITIALISING, Ordering::Acquire, Ordering::Acquire)
                .is_ok()
            {
                // SAFETY: we won the handshake: no one else touches the storage until
                // READY is published; it holds no lock initialised at this address.
                unsafe { K::init(here) };
                self.at.store(here, Ordering::Relaxed);
                self.state.store(READY, Ordering::Release);
                return;
            }
        }
    }
}

impl<K: LockOps> Drop for KLockState<K> {
    fn drop(&mut self) {
        if *self.state.get_mut() == READY && *self.at.get_mut() == self.ptr() {
            // SAFETY: initialised at this address; `&mut self` means no one holds or
            // uses it any more.
            unsafe { K::destroy(self.ptr()) };
        }
    }
}

/// A gpc `LockBackend` on a kernel lock.
pub struct KLock<K: LockOps>(PhantomData<fn() -> K>);

/// The spinning lock (Linux `css_set_lock`'s class).
pub type KSpin = KLock<SpinOps>;
/// The sleeping lock (Linux `cgroup_mutex`'s class).
pub type KMutex = KLock<MutexOps>;

// SAFETY: mutual exclusion, acquire and release ordering are the kernel lock's (the
// import contract); `new` makes an unlocked lock (initialised at first use).
unsafe impl<K: LockOps> LockBackend for KLock<K> {
    type State = KLockState<K>;

    fn new() -> KLockState<K> {
        KLockState::new()
    }

    unsafe fn lock(state: &KLockState<K>) {
        state.ensure_init();
        // SAFETY: initialised just above; pinned while locked (gpc's contract).
        unsafe { K::lock(state.ptr()) };
        if K::ATOMIC {
            atomic_ctx::enter();
        }
    }

    unsafe fn unlock(state: &KLockState<K>) {
        if K::ATOMIC {
            atomic_ctx::exit();
        }
        // SAFETY: the caller holds the lock (so it was initialised).
        unsafe { K::unlock(state.ptr()) };
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

    fn release_queued(&self) {
        // SAFETY: the kernel's own context pointer, handed back.
        unsafe { ffi::gpc_release_notify(self.ctx.0) };
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

/// The kernel's task table, through the walk imports.
pub(crate) struct KTasks;

/// The one task table (the kernel's).
pub(crate) static KTASKS: KTasks = KTasks;

struct OneTask<'a> {
    f: &'a mut dyn FnMut(&TaskRef<'_>),
}

/// # Safety
///
/// `ctx` is the `OneTask` that `with_task` or `for_each_task` passed, and `task` a live
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

impl TaskTable for KTasks {
    fn with_task(&self, pid: Pid, f: &mut dyn FnMut(&TaskRef<'_>)) -> bool {
        let mut ctx = OneTask { f };
        // SAFETY: `one_task` matches `gpc_task_fn` and `ctx` outlives the call.
        unsafe { ffi::gpc_with_task(pid, one_task, ptr::from_mut(&mut ctx).cast()) != 0 }
    }

    fn for_each_task(&self, f: &mut dyn FnMut(&TaskRef<'_>)) {
        let mut ctx = OneTask { f };
        // SAFETY: as above.
        unsafe { ffi::gpc_for_each_task(one_task, ptr::from_mut(&mut ctx).cast()) }
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
}

/// The caller of an operation: `task` (the kernel's `current`), or the kernel itself
/// (root, every capability, no task) when null.
///
/// # Safety
///
/// `task` is null or a live kernel task.
pub(crate) unsafe fn caller<'a>(task: *mut GpcTask) -> Caller<'a> {
    if task.is_null() {
        return Caller {
            creds: Creds::ROOT,
            pid: None,
            tasks: &KTASKS,
        };
    }
    Caller {
        // SAFETY: live (caller's contract).
        creds: unsafe { task_creds(task) },
        // SAFETY: as above.
        pid: Some(unsafe { ffi::gpc_task_pid(task) }),
        tasks: &KTASKS,
    }
}
