//! Locks the host supplies, in the Rust-for-Linux `sync::lock` shape.
//!
//! A lock is a host's raw lock (a [`LockBackend`]: a kernel spinlock, a mutex, a pthread
//! lock) wrapped by the generic [`Lock<T, B>`], which owns the data and hands out a
//! `#[must_use]` [`Guard`]. gpc never sees the host's lock type, only these operations.
//!
//! # In place, pinned, classed
//!
//! A kernel lock must not move once initialised (a Linux `struct mutex` holds a list that
//! points to itself) and is initialised with a class (a name and a `struct
//! lock_class_key`) that lockdep uses to check the order of acquisitions. So:
//! - every lock names a static [`LockClass`] (made by [`crate::lock_class!`], or by
//!   [`crate::new_spinlock!`] / [`crate::new_irq_spinlock!`] / [`crate::new_lock!`] that
//!   make the lock too):
//!   one class per lock *site*, as Linux's `spin_lock_init` macro gives one key per call
//!   site, so two locks of different roles never share a class and lockdep sees gpc's
//!   nesting (tree, then table, then release) as an order, not recursion;
//! - the host's lock state lives in its own allocation, made by [`Lock::try_new`] with
//!   the backend's size and alignment and initialised there, in place, by
//!   [`LockBackend::init`]: the `Lock` value may move (into a box, into the `Gpc`), the
//!   host's lock never does. It is destroyed and freed where it lies when the `Lock` is
//!   dropped. A host whose lock is large (a lockdep kernel's `struct mutex` is over 128
//!   bytes) costs nothing to the types that embed a `Lock`: they hold one pointer.
//!
//! # Where the backend comes from
//!
//! `Gpc<H>` uses its host's backends directly (`H::Mutex` for the tree lock, `H::Spin`
//! for the table and release locks): static dispatch. A css_group's transition lock and
//! the controllers' state locks live in types that are not generic over the host (a
//! subsystem is a `&'static dyn DynSubsystem`, and a subsystem crate stays free of
//! `unsafe` and of host generics), so they name a *host-chosen* backend: [`HostSpin`] or
//! [`HostIrqSpin`]. Those dispatch through a table of the host's lock operations
//! ([`LockOps`]) that `Gpc::new` installs ([`install_host_locks`]); each lock keeps the
//! table it was made with, so it always unlocks with the host that locked it. Before any
//! `Gpc` exists (unit tests that build a state by hand) they fall back to [`RawSpin`].
//! The aliases [`SpinLock`] and [`IrqSpinLock`] are what a subsystem writes.
//!
//! # Context
//!
//! [`LockKind`] says what holding a lock means: a `Spinning` lock disables preemption
//! (nothing may sleep under it: no mutex, no may-sleep allocation, no
//! `synchronize_rcu`); a `SpinningIrq` lock also disables interrupts (Linux
//! `spin_lock_irqsave`), for data an interrupt handler may lock; a `Sleeping` lock may
//! sleep and must not be taken under a spinning one. `doc/lock-order.md` lists every lock.

use alloc::alloc::{alloc, dealloc, Layout};
use core::ffi::{c_void, CStr};
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr as StaticPtr, Ordering as StaticOrdering};

use crate::error::{Error, Result};
use crate::primitive::{spin_loop, AtomicBool, Ordering, UnsafeCell};

/// Words of storage in a [`LockClassKey`]: Linux's `struct lock_class_key` is 16 bytes
/// with lockdep (`include/linux/lockdep_types.h`: a union of an `hlist_node` and
/// `MAX_LOCKDEP_SUBCLASSES` one-byte subkeys); 32 leaves room.
pub const LOCK_CLASS_KEY_WORDS: usize = 4;

/// Storage a host may hand to its lock validator as the class key (Linux `struct
/// lock_class_key`, Rust-for-Linux `LockClassKey`). It must be static: its address
/// identifies the class. gpc never reads or writes it.
pub struct LockClassKey(core::cell::UnsafeCell<[MaybeUninit<usize>; LOCK_CLASS_KEY_WORDS]>);

// SAFETY: gpc never touches the key's bytes; the host's validator synchronises its own
// accesses (lockdep does, under its graph lock).
unsafe impl Sync for LockClassKey {}

impl LockClassKey {
    /// A fresh key.
    #[must_use]
    pub const fn new() -> Self {
        LockClassKey(core::cell::UnsafeCell::new(
            [MaybeUninit::uninit(); LOCK_CLASS_KEY_WORDS],
        ))
    }
}

impl Default for LockClassKey {
    fn default() -> Self {
        Self::new()
    }
}

/// A lock class: a name and a key (Linux `lockdep_map`'s name and `lock_class_key`).
/// Made by [`crate::lock_class!`], one per lock site, in static storage.
pub struct LockClass {
    name: &'static CStr,
    key: LockClassKey,
}

impl LockClass {
    /// A class called `name`. Use [`crate::lock_class!`], which puts it in static storage.
    #[must_use]
    pub const fn new(name: &'static CStr) -> Self {
        LockClass {
            name,
            key: LockClassKey::new(),
        }
    }

    /// The class's name (NUL-terminated, for C).
    #[must_use]
    pub fn name(&self) -> &'static CStr {
        self.name
    }

    /// The class's key: storage whose address identifies the class.
    #[must_use]
    pub fn key(&self) -> *mut c_void {
        self.key.0.get().cast()
    }
}

/// A static [`LockClass`] called `name` (a C string literal), one per call site.
#[macro_export]
macro_rules! lock_class {
    ($name:literal) => {{
        static CLASS: $crate::host::lock::LockClass = $crate::host::lock::LockClass::new($name);
        &CLASS
    }};
}

/// `SpinLock::try_new(data, lock_class!(name))` (Rust-for-Linux `new_spinlock!`).
#[macro_export]
macro_rules! new_spinlock {
    ($data:expr, $name:literal) => {
        $crate::host::lock::SpinLock::try_new($data, $crate::lock_class!($name))
    };
}

/// `SpinLock::try_new_per_cpu(data, lock_class!(name))`: a spinning lock of a per-CPU
/// set, its host state on a cache line of its own.
#[macro_export]
macro_rules! new_per_cpu_spinlock {
    ($data:expr, $name:literal) => {
        $crate::host::lock::SpinLock::try_new_per_cpu($data, $crate::lock_class!($name))
    };
}

/// `IrqSpinLock::try_new(data, lock_class!(name))` (Rust-for-Linux
/// `new_spinlock_irq!`).
#[macro_export]
macro_rules! new_irq_spinlock {
    ($data:expr, $name:literal) => {
        $crate::host::lock::IrqSpinLock::try_new($data, $crate::lock_class!($name))
    };
}

/// `Lock::try_new(data, lock_class!(name))` for a lock whose backend is known from its
/// type (a `Host::Mutex` field).
#[macro_export]
macro_rules! new_lock {
    ($data:expr, $name:literal) => {
        $crate::host::lock::Lock::try_new($data, $crate::lock_class!($name))
    };
}

/// What holding a lock means for the holder's context.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LockKind {
    /// May sleep while waiting (Linux `struct mutex`); must not be taken under a
    /// spinning lock.
    Sleeping,
    /// Spins; holding it disables preemption (Linux `spin_lock`).
    Spinning,
    /// Spins; holding it disables preemption and local interrupts (Linux
    /// `spin_lock_irqsave`), so an interrupt handler may take it too.
    SpinningIrq,
}

/// A raw lock supplied by the host.
///
/// # Safety
///
/// Implementors must provide mutual exclusion: between a `lock` that returned and the
/// matching `unlock`, no other `lock` on the same state may return. `lock` must have
/// acquire semantics and `unlock` release semantics. `init` must leave an unlocked lock.
/// A lock of kind `Spinning` or `SpinningIrq` must disable what its kind says while held.
pub unsafe trait LockBackend: Send + Sync + 'static {
    /// The lock's storage: allocated by gpc with this type's layout and never moved.
    type State: Send + Sync;

    /// What holding the lock means.
    const KIND: LockKind;

    /// Initialise an unlocked lock of class `class` in place.
    ///
    /// # Safety
    ///
    /// `state` is valid for writes, suitably aligned, uninitialised, and stays at this
    /// address until [`LockBackend::destroy`].
    unsafe fn init(state: *mut Self::State, class: &'static LockClass);

    /// Acquire the lock, waiting (spinning or sleeping) as long as needed.
    ///
    /// # Safety
    ///
    /// `state` was initialised by [`LockBackend::init`] and not destroyed.
    unsafe fn lock(state: &Self::State);

    /// Acquire the lock while a lock of the same class is held by this thread, as lock
    /// number `subclass` of a nesting (Linux `spin_lock_nested`, `mutex_lock_nested`:
    /// a parent's lock then its child's). The default takes it as [`LockBackend::lock`]
    /// does (a host without a lock validator need not care).
    ///
    /// # Safety
    ///
    /// As [`LockBackend::lock`].
    unsafe fn lock_nested(state: &Self::State, subclass: u32) {
        let _ = subclass;
        // SAFETY: forwarded from the caller.
        unsafe { Self::lock(state) }
    }

    /// Release the lock.
    ///
    /// # Safety
    ///
    /// The caller holds the lock (a `lock` on `state` returned on this thread and was not
    /// yet matched by an `unlock`).
    unsafe fn unlock(state: &Self::State);

    /// Tear down an unlocked lock; its storage is freed next. The default drops it.
    ///
    /// # Safety
    ///
    /// `state` was initialised, is not held, and is not used again.
    unsafe fn destroy(state: *mut Self::State) {
        // SAFETY: forwarded from the caller: initialised and unused from now on.
        unsafe { state.drop_in_place() };
    }
}

/// A backend's operations with its type erased: what [`HostSpin`] and [`HostIrqSpin`]
/// dispatch through (a vtable without `dyn`, built at compile time by
/// [`LockOps::of`]).
pub struct LockOps {
    kind: LockKind,
    layout: Layout,
    init: unsafe fn(*mut u8, &'static LockClass),
    lock: unsafe fn(*const u8),
    lock_nested: unsafe fn(*const u8, u32),
    unlock: unsafe fn(*const u8),
    destroy: unsafe fn(*mut u8),
}

impl LockOps {
    /// The operations of backend `B`, in static storage.
    #[must_use]
    pub fn of<B: LockBackend>() -> &'static LockOps {
        &OpsOf::<B>::OPS
    }

    /// What holding a lock of these operations means.
    #[must_use]
    pub fn kind(&self) -> LockKind {
        self.kind
    }
}

struct OpsOf<B>(PhantomData<B>);

impl<B: LockBackend> OpsOf<B> {
    const OPS: LockOps = LockOps {
        kind: B::KIND,
        layout: Layout::new::<B::State>(),
        init: erased_init::<B>,
        lock: erased_lock::<B>,
        lock_nested: erased_lock_nested::<B>,
        unlock: erased_unlock::<B>,
        destroy: erased_destroy::<B>,
    };
}

/// # Safety
///
/// As [`LockBackend::init`], on storage of `B::State`'s layout.
unsafe fn erased_init<B: LockBackend>(state: *mut u8, class: &'static LockClass) {
    // SAFETY: forwarded from the caller.
    unsafe { B::init(state.cast(), class) }
}

/// # Safety
///
/// As [`LockBackend::lock`], on a `B::State`.
unsafe fn erased_lock<B: LockBackend>(state: *const u8) {
    // SAFETY: forwarded from the caller: an initialised `B::State` lies there.
    unsafe { B::lock(&*state.cast::<B::State>()) }
}

/// # Safety
///
/// As [`LockBackend::lock_nested`], on a `B::State`.
unsafe fn erased_lock_nested<B: LockBackend>(state: *const u8, subclass: u32) {
    // SAFETY: forwarded from the caller: an initialised `B::State` lies there.
    unsafe { B::lock_nested(&*state.cast::<B::State>(), subclass) }
}

/// # Safety
///
/// As [`LockBackend::unlock`], on a `B::State`.
unsafe fn erased_unlock<B: LockBackend>(state: *const u8) {
    // SAFETY: forwarded from the caller: an initialised `B::State` lies there.
    unsafe { B::unlock(&*state.cast::<B::State>()) }
}

/// # Safety
///
/// As [`LockBackend::destroy`], on a `B::State`.
unsafe fn erased_destroy<B: LockBackend>(state: *mut u8) {
    // SAFETY: forwarded from the caller.
    unsafe { B::destroy(state.cast()) }
}

/// Where a [`Lock`] gets its operations: a host's [`LockBackend`] (static dispatch), or
/// the host-chosen [`HostSpin`] / [`HostIrqSpin`] (the table `Gpc::new` installed).
pub trait LockSource: 'static {
    /// The operations for a lock made now.
    fn ops() -> &'static LockOps;

    /// Take the lock at `state`, made with `ops`: through the table by default.
    ///
    /// # Safety
    ///
    /// `state` was initialised by `ops` and is alive.
    #[doc(hidden)]
    #[inline]
    unsafe fn lock_at(ops: &LockOps, state: *const u8, subclass: u32) {
        // SAFETY: forwarded from the caller.
        unsafe {
            if subclass == 0 {
                (ops.lock)(state);
            } else {
                (ops.lock_nested)(state, subclass);
            }
        }
    }

    /// Release the lock at `state`, made with `ops` and held by the caller.
    ///
    /// # Safety
    ///
    /// As [`LockBackend::unlock`].
    #[doc(hidden)]
    #[inline]
    unsafe fn unlock_at(ops: &LockOps, state: *const u8) {
        // SAFETY: forwarded from the caller.
        unsafe { (ops.unlock)(state) }
    }
}

/// A host backend named by type is called directly (static dispatch, inlined): the
/// table is only used to make and free the state.
impl<B: LockBackend> LockSource for B {
    fn ops() -> &'static LockOps {
        LockOps::of::<B>()
    }

    #[inline]
    unsafe fn lock_at(_ops: &LockOps, state: *const u8, subclass: u32) {
        // SAFETY: the state was made by `B`'s table (`ops()` is the only one for `B`).
        let state = unsafe { &*state.cast::<B::State>() };
        // SAFETY: forwarded from the caller.
        unsafe {
            if subclass == 0 {
                B::lock(state);
            } else {
                B::lock_nested(state, subclass);
            }
        }
    }

    #[inline]
    unsafe fn unlock_at(_ops: &LockOps, state: *const u8) {
        // SAFETY: as in `lock_at`, and the caller holds it.
        unsafe { B::unlock(&*state.cast::<B::State>()) }
    }
}

static HOST_SPIN: StaticPtr<LockOps> = StaticPtr::new(core::ptr::null_mut());
static HOST_IRQ_SPIN: StaticPtr<LockOps> = StaticPtr::new(core::ptr::null_mut());

/// Make `Spin` and `IrqSpin` the backends of [`HostSpin`] and [`HostIrqSpin`] locks made
/// from now on (`Gpc::new` calls it with its host's). A kernel has one host, so this is
/// set once; in a test process that runs several hosts, locks made earlier keep the
/// operations they were made with.
pub fn install_host_locks<Spin: LockBackend, IrqSpin: LockBackend>() -> OpsOfBackend<Spin> {
    let spin = OpsOfBackend::<Spin>::new();
    HOST_SPIN.store(
        core::ptr::from_ref(spin.ops).cast_mut(),
        StaticOrdering::Release,
    );
    HOST_IRQ_SPIN.store(
        core::ptr::from_ref(LockOps::of::<IrqSpin>()).cast_mut(),
        StaticOrdering::Release,
    );
    spin
}

/// The operations table of backend `B`, as one particular address: evidence that a lock
/// whose table is at this address holds a `B::State`, so [`Lock::lock_as`] may call `B`
/// directly (inlined) instead of through the table. (A `const` table may have several
/// addresses; comparing with this one never confuses two backends, it can only miss.)
pub struct OpsOfBackend<B: LockBackend> {
    ops: &'static LockOps,
    _backend: PhantomData<fn() -> B>,
}

impl<B: LockBackend> OpsOfBackend<B> {
    /// `B`'s table.
    #[must_use]
    pub fn new() -> Self {
        OpsOfBackend {
            ops: LockOps::of::<B>(),
            _backend: PhantomData,
        }
    }
}

impl<B: LockBackend> Default for OpsOfBackend<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: LockBackend> Clone for OpsOfBackend<B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<B: LockBackend> Copy for OpsOfBackend<B> {}

impl<B: LockBackend> core::fmt::Debug for OpsOfBackend<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OpsOfBackend").finish_non_exhaustive()
    }
}

fn installed(slot: &StaticPtr<LockOps>) -> &'static LockOps {
    let p = slot.load(StaticOrdering::Acquire);
    // SAFETY: only `install_host_locks` stores here, and only pointers to `'static`
    // tables.
    unsafe { p.cast_const().as_ref() }.unwrap_or_else(|| LockOps::of::<RawSpin>())
}

/// The host's spinning lock (`Host::Spin`), for types not generic over the host.
pub struct HostSpin;
/// The host's interrupt-safe spinning lock (`Host::IrqSpin`), for types not generic
/// over the host.
pub struct HostIrqSpin;

impl LockSource for HostSpin {
    fn ops() -> &'static LockOps {
        installed(&HOST_SPIN)
    }
}

impl LockSource for HostIrqSpin {
    fn ops() -> &'static LockOps {
        installed(&HOST_IRQ_SPIN)
    }
}

/// A spinning lock of the host's (preemption off while held): what a subsystem's state
/// and a css_group use.
pub type SpinLock<T> = Lock<T, HostSpin>;

/// A spinning lock of the host's that also disables interrupts: for state an interrupt
/// handler or a caller with interrupts off may lock (a controller's settings read by the
/// scheduler).
pub type IrqSpinLock<T> = Lock<T, HostIrqSpin>;

/// The storage a per-CPU lock's state gets at least ([`Lock::try_new_per_cpu`]): a cache
/// line, so no two such states share one.
pub const CACHE_LINE: usize = 64;

/// The allocation of a backend's state: its layout, at least one byte (a zero-sized state
/// still gets an address of its own); with `own_line`, at least a cache line's worth.
fn storage_layout(ops: &LockOps, own_line: bool) -> Result<Layout> {
    // Padded, not over-aligned: two allocations of a line's size never start on one
    // line, which is all a per-CPU set needs (a kernel's kmalloc-64 is line-aligned
    // anyway; an aligned allocation costs a user-space malloc twice the time).
    let size = if own_line {
        ops.layout.size().max(CACHE_LINE)
    } else {
        ops.layout.size().max(1)
    };
    Layout::from_size_align(size, ops.layout.align()).map_err(|_| Error::EINVAL)
}

/// The host's lock state, in its own allocation, initialised there and never moved.
struct RawLock {
    ops: &'static LockOps,
    state: NonNull<u8>,
    class: &'static LockClass,
    /// The state has a cache line to itself.
    own_line: bool,
}

impl RawLock {
    /// Allocate the host's lock state and initialise it in place.
    fn try_new(ops: &'static LockOps, class: &'static LockClass, own_line: bool) -> Result<Self> {
        let layout = storage_layout(ops, own_line)?;
        // Allocation context: may sleep. Locks are made with the object that embeds them
        // (a Gpc, a css_group, a subsystem state), never under a spinning lock.
        let state = crate::host::alloc::with_flags(crate::host::alloc::Gfp::KERNEL, || {
            // SAFETY: the layout has a non-zero size.
            NonNull::new(unsafe { alloc(layout) })
        })
        .ok_or(Error::ENOMEM)?;
        // SAFETY: fresh storage of the backend's layout, which stays here until `drop`.
        unsafe { (ops.init)(state.as_ptr(), class) };
        Ok(RawLock {
            ops,
            state,
            class,
            own_line,
        })
    }
}

impl Drop for RawLock {
    fn drop(&mut self) {
        // SAFETY: initialised in `try_new`; `&mut self` means no guard holds it.
        unsafe { (self.ops.destroy)(self.state.as_ptr()) };
        if let Ok(layout) = storage_layout(self.ops, self.own_line) {
            // SAFETY: allocated in `try_new` with this layout (the same computation).
            unsafe { dealloc(self.state.as_ptr(), layout) };
        }
    }
}

/// Data protected by a host lock.
pub struct Lock<T: ?Sized, B: LockSource> {
    raw: RawLock,
    _source: PhantomData<fn() -> B>,
    data: UnsafeCell<T>,
}

// SAFETY: the lock serialises every access to `data`, so sharing the `Lock` between
// threads only ever gives one thread at a time a `&mut T`: that needs `T: Send`. The
// host's state is only touched through its lock operations, which are thread-safe.
unsafe impl<T: ?Sized + Send, B: LockSource> Sync for Lock<T, B> {}
// SAFETY: moving the lock moves the data and the pointer to the host's state, which
// stays where it is.
unsafe impl<T: ?Sized + Send, B: LockSource> Send for Lock<T, B> {}

impl<T, B: LockSource> Lock<T, B> {
    /// A new unlocked lock of class `class` around `data` (see [`crate::new_spinlock!`]
    /// and friends for the class).
    ///
    /// # Errors
    ///
    /// `ENOMEM` when the host's lock state cannot be allocated.
    pub fn try_new(data: T, class: &'static LockClass) -> Result<Self> {
        Ok(Lock {
            raw: RawLock::try_new(B::ops(), class, false)?,
            _source: PhantomData,
            data: UnsafeCell::new(data),
        })
    }

    /// [`Lock::try_new`] for one of a set of per-CPU locks: the host's state is
    /// allocated at least [`CACHE_LINE`] bytes, so no two states of the set share a
    /// line and CPUs taking their own locks never write to one line (two one-byte
    /// states allocated one after the other would share it, and every fork on one CPU
    /// would then steal the line from the other's).
    ///
    /// # Errors
    ///
    /// `ENOMEM` when the host's lock state cannot be allocated.
    pub fn try_new_per_cpu(data: T, class: &'static LockClass) -> Result<Self> {
        Ok(Lock {
            raw: RawLock::try_new(B::ops(), class, true)?,
            _source: PhantomData,
            data: UnsafeCell::new(data),
        })
    }
}

impl<T: ?Sized, B: LockSource> Lock<T, B> {
    /// Acquire the lock.
    pub fn lock(&self) -> Guard<'_, T, B> {
        // SAFETY: initialised in `try_new` and alive as long as `self`.
        unsafe { B::lock_at(self.raw.ops, self.raw.state.as_ptr(), 0) };
        Guard {
            lock: self,
            _not_send: PhantomData,
        }
    }

    /// Acquire the lock, calling backend `B` directly when the lock was made with the
    /// table `ops` names (the fast path knows its host's backend: no indirect call, and
    /// `B::lock` inlines); through the table otherwise. The guard releases it the same
    /// way.
    #[inline]
    pub fn lock_as<K: LockBackend>(&self, ops: OpsOfBackend<K>) -> StaticGuard<'_, T, B, K> {
        if core::ptr::eq(self.raw.ops, ops.ops) {
            // SAFETY: the lock was made with `K`'s table (same address as the evidence,
            // which only `OpsOfBackend::<K>::new` makes), so its state is an initialised
            // `K::State`, alive as long as `self`.
            unsafe { K::lock(&*self.raw.state.as_ptr().cast::<K::State>()) };
            StaticGuard {
                lock: self,
                direct: true,
                _backend: PhantomData,
                _not_send: PhantomData,
            }
        } else {
            // SAFETY: initialised in `try_new` and alive as long as `self`.
            unsafe { B::lock_at(self.raw.ops, self.raw.state.as_ptr(), 0) };
            StaticGuard {
                lock: self,
                direct: false,
                _backend: PhantomData,
                _not_send: PhantomData,
            }
        }
    }

    /// Acquire the lock while this thread holds another lock of the same class: the
    /// `subclass`-th of a nesting (`1` for a child's lock under its parent's, Linux
    /// `SINGLE_DEPTH_NESTING`). Without it a lock validator reports recursion.
    pub fn lock_nested(&self, subclass: u32) -> Guard<'_, T, B> {
        // SAFETY: initialised in `try_new` and alive as long as `self`.
        unsafe { B::lock_at(self.raw.ops, self.raw.state.as_ptr(), subclass) };
        Guard {
            lock: self,
            _not_send: PhantomData,
        }
    }

    /// The data, without locking: possible only with exclusive access to the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// The lock's class.
    pub fn class(&self) -> &'static LockClass {
        self.raw.class
    }

    /// What holding this lock means.
    pub fn kind(&self) -> LockKind {
        self.raw.ops.kind
    }
}

/// Proof that a [`Lock`] is held; dropping it releases the lock. A function that needs
/// the lock held takes `&Guard` (or `&mut Guard`) of it: the evidence is in its
/// signature, as with Rust-for-Linux's `Guard` and `LockedBy`.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct Guard<'a, T: ?Sized, B: LockSource> {
    lock: &'a Lock<T, B>,
    // A guard is released by the thread that took it (kernel spinlocks and mutexes
    // require it), so it is !Send.
    _not_send: PhantomData<*mut ()>,
}

impl<T: ?Sized, B: LockSource> Guard<'_, T, B> {
    /// Whether this guard holds `lock` (for evidence checks in debug assertions).
    pub fn holds(&self, lock: &Lock<T, B>) -> bool {
        core::ptr::eq(self.lock, lock)
    }
}

/// A [`Guard`] taken by [`Lock::lock_as`]: released the way it was taken (directly
/// through backend `K`, or through the lock's table).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct StaticGuard<'a, T: ?Sized, B: LockSource, K: LockBackend> {
    lock: &'a Lock<T, B>,
    direct: bool,
    _backend: PhantomData<fn() -> K>,
    _not_send: PhantomData<*mut ()>,
}

impl<T: ?Sized, B: LockSource, K: LockBackend> Deref for StaticGuard<'_, T, B, K> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard's existence proves the lock is held.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T: ?Sized, B: LockSource, K: LockBackend> DerefMut for StaticGuard<'_, T, B, K> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: ?Sized, B: LockSource, K: LockBackend> Drop for StaticGuard<'_, T, B, K> {
    #[inline]
    fn drop(&mut self) {
        let state = self.lock.raw.state.as_ptr();
        if self.direct {
            // SAFETY: taken directly through `K` in `lock_as`, which checked that the
            // state is a `K::State`; we hold it.
            unsafe { K::unlock(&*state.cast::<K::State>()) };
        } else {
            // SAFETY: taken through the table in `lock_as`; we hold it.
            unsafe { B::unlock_at(self.lock.raw.ops, state) };
        }
    }
}

impl<T: ?Sized, B: LockSource> Deref for Guard<'_, T, B> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard's existence proves the lock is held, so no one else accesses
        // the data.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T: ?Sized, B: LockSource> DerefMut for Guard<'_, T, B> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: ?Sized, B: LockSource> Drop for Guard<'_, T, B> {
    fn drop(&mut self) {
        // SAFETY: the guard was made by `Lock::lock`, so the lock is held by us.
        unsafe { B::unlock_at(self.lock.raw.ops, self.lock.raw.state.as_ptr()) };
    }
}

/// A portable test-and-test-and-set spinning lock, for hosts that have nothing better.
/// It cannot disable preemption or interrupts: a host whose threads are preemptible
/// (a kernel) must supply its own.
pub struct RawSpin;

// SAFETY: `lock` only returns after a successful acquire-CAS from false to true, and
// `unlock` stores false with release ordering: a classic spinlock.
unsafe impl LockBackend for RawSpin {
    type State = AtomicBool;
    const KIND: LockKind = LockKind::Spinning;

    unsafe fn init(state: *mut AtomicBool, _class: &'static LockClass) {
        // SAFETY: the caller gives valid, aligned, uninitialised storage.
        unsafe { state.write(AtomicBool::new(false)) };
    }

    #[inline]
    unsafe fn lock(state: &AtomicBool) {
        loop {
            if state
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
            while state.load(Ordering::Relaxed) {
                spin_loop();
            }
        }
    }

    #[inline]
    unsafe fn unlock(state: &AtomicBool) {
        state.store(false, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn guard_gives_exclusive_access() {
        let lock: Lock<u32, RawSpin> = new_lock!(1, c"test_guard").unwrap();
        {
            let mut g = lock.lock();
            *g += 1;
            assert!(g.holds(&lock));
        }
        assert_eq!(*lock.lock(), 2);
        assert_eq!(lock.class().name(), c"test_guard");
    }

    #[test]
    fn each_site_has_its_own_class() {
        let a: SpinLock<u8> = new_spinlock!(0, c"a").unwrap();
        let b: SpinLock<u8> = new_spinlock!(0, c"b").unwrap();
        let make = || -> SpinLock<u8> { new_spinlock!(0, c"same_site").unwrap() };
        let (c, d) = (make(), make());
        assert_ne!(a.class().key(), b.class().key());
        assert_eq!(c.class().key(), d.class().key());
    }

    #[test]
    fn moving_a_lock_does_not_move_the_host_state() {
        let lock: SpinLock<u64> = new_spinlock!(7, c"moved").unwrap();
        let at = lock.raw.state;
        let boxed = alloc::boxed::Box::new(lock);
        assert_eq!(boxed.raw.state, at);
        assert_eq!(*boxed.lock(), 7);
    }

    #[test]
    fn threads_do_not_lose_updates() {
        extern crate std;
        let lock: &'static SpinLock<u64> =
            std::boxed::Box::leak(std::boxed::Box::new(new_spinlock!(0, c"count").unwrap()));
        let hs: std::vec::Vec<_> = (0..2)
            .map(|_| std::thread::spawn(move || (0..10_000).for_each(|_| *lock.lock() += 1)))
            .collect();
        for h in hs {
            assert!(h.join().is_ok());
        }
        assert_eq!(*lock.lock(), 20_000);
    }
}
