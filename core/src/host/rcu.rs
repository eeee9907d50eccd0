//! RCU: how lock-free readers and deferred frees meet.
//!
//! The task-to-state lookup reads a task's css_group and the subsystem state behind it
//! with no lock at all (see `doc/fast-path.md`). That is sound only because nothing a
//! reader can reach is freed while the reader is inside a read-side critical section:
//! writers unlink an object, then hand its [`RcuHead`] to [`Rcu::call_rcu`], and the host
//! frees it after a grace period. No gpc write path ever waits for a grace period
//! ([`Rcu::synchronize`] is offered for hosts and tests, never called on a write path).

use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::primitive::{AtomicPtr, Ordering};

/// The link an object embeds to be freed after a grace period (Linux `struct rcu_head`).
///
/// Embedding it means a deferred free never allocates: an exit that drops the last
/// reference to a css_group cannot fail. `#[repr(C)]` with the host's two words first, so a
/// C host can treat the head as its own two-word `callback_head` (Linux `call_rcu` needs
/// `next` and `func`).
#[repr(C)]
pub struct RcuHead {
    /// Scratch space for the host's queue of pending callbacks; gpc never reads it.
    pub next: AtomicPtr<RcuHead>,
    /// A second scratch word for the host (a C host's callback pointer); gpc never reads it.
    pub host_word: AtomicPtr<()>,
    func: unsafe fn(NonNull<RcuHead>),
}

impl RcuHead {
    /// A head whose callback is `func`.
    pub(crate) fn new(func: unsafe fn(NonNull<RcuHead>)) -> Self {
        RcuHead {
            next: AtomicPtr::new(core::ptr::null_mut()),
            host_word: AtomicPtr::new(core::ptr::null_mut()),
            func,
        }
    }

    /// Run the callback: the object embedding `head` is freed.
    ///
    /// # Safety
    ///
    /// `head` must have been passed to [`Rcu::call_rcu`], a grace period must have
    /// elapsed since, and this must be the only call for it.
    pub unsafe fn invoke(head: NonNull<RcuHead>) {
        // SAFETY: the head is alive until its callback runs (the caller's contract).
        let func = unsafe { head.as_ref().func };
        // SAFETY: forwarded from the caller: a grace period has elapsed, once.
        unsafe { func(head) }
    }
}

/// The host's RCU.
///
/// # Safety
///
/// Implementors promise the RCU guarantee: a callback passed to `call_rcu` runs (through
/// [`RcuHead::invoke`]) only after every read-side critical section that was in progress
/// when `call_rcu` was called has ended; `synchronize` returns only after that too.
pub unsafe trait Rcu {
    /// Enter a read-side critical section (may nest). Called by [`RcuGuard::new`].
    fn read_lock(&self);

    /// Leave the innermost read-side critical section.
    ///
    /// # Safety
    ///
    /// Must match a `read_lock` by the same thread.
    unsafe fn read_unlock(&self);

    /// Run `RcuHead::invoke(head)` after a grace period, from a context where freeing
    /// memory is allowed. Must not allocate or fail.
    ///
    /// # Safety
    ///
    /// `head` must stay valid until invoked and be queued at most once at a time.
    unsafe fn call_rcu(&self, head: NonNull<RcuHead>);

    /// Wait for a grace period and run the callbacks it released. Never called by gpc
    /// on a write path; hosts call it at teardown and tests call it to check frees.
    fn synchronize(&self);
}

/// Proof of a read-side critical section; lookups borrow against it.
///
/// `!Send` (a reader must leave the section on the CPU/thread that entered it), and the
/// borrow checker keeps every reference a lookup returns from outliving it.
pub struct RcuGuard<'h> {
    rcu: &'h dyn Rcu,
    /// Whether dropping the guard leaves the section (false for [`RcuGuard::assume_held`]).
    owned: bool,
    _not_send: PhantomData<*mut ()>,
}

impl<'h> RcuGuard<'h> {
    /// Enter a read-side critical section of `rcu`.
    #[inline]
    pub fn new(rcu: &'h dyn Rcu) -> Self {
        rcu.read_lock();
        RcuGuard {
            rcu,
            owned: true,
            _not_send: PhantomData,
        }
    }

    /// A guard for a read-side section the caller already entered (a C kernel that calls
    /// gpc from inside its own `rcu_read_lock()`); dropping it leaves nothing.
    ///
    /// # Safety
    ///
    /// The calling thread must be inside a read-side section of `rcu` for the whole life
    /// of the guard and of every reference borrowed from it.
    #[inline]
    pub unsafe fn assume_held(rcu: &'h dyn Rcu) -> Self {
        RcuGuard {
            rcu,
            owned: false,
            _not_send: PhantomData,
        }
    }
}

impl Drop for RcuGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: `new` called `read_lock` on this thread (the guard is !Send).
            unsafe { self.rcu.read_unlock() };
        }
    }
}

/// A read-side section entered and left through the host's own `Rcu` implementation,
/// called directly (inlined) rather than through `&dyn Rcu`: what the fast path uses.
/// It lends an ordinary [`RcuGuard`] as the evidence lookups borrow against.
pub(crate) struct StaticRcuGuard<'h, R: Rcu> {
    rcu: &'h R,
    guard: RcuGuard<'h>,
}

impl<'h, R: Rcu> StaticRcuGuard<'h, R> {
    /// Enter a read-side section of `rcu`.
    #[inline]
    pub(crate) fn new(rcu: &'h R) -> Self {
        rcu.read_lock();
        StaticRcuGuard {
            rcu,
            // SAFETY: entered just above, and left only when `self` drops, after every
            // borrow of this guard (they borrow `self`) has ended.
            guard: unsafe { RcuGuard::assume_held(rcu) },
        }
    }

    /// The evidence.
    #[inline]
    pub(crate) fn guard(&self) -> &RcuGuard<'h> {
        &self.guard
    }
}

impl<R: Rcu> Drop for StaticRcuGuard<'_, R> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `new` entered the section on this thread; the guard is !Send (it holds
        // an `RcuGuard`).
        unsafe { self.rcu.read_unlock() };
    }
}

/// Load an RCU-protected pointer: the dependent loads after it see the pointee's
/// initialisation (Linux `rcu_dereference`). Acquire is free on x86 and cheap elsewhere.
#[inline]
pub(crate) fn rcu_dereference<T>(ptr: &AtomicPtr<T>, _guard: &RcuGuard<'_>) -> *mut T {
    ptr.load(Ordering::Acquire)
}
