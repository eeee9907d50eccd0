//! Locks the host supplies, in the Rust-for-Linux shape.
//!
//! A lock is a [`LockBackend`] (the host's raw lock: a kernel spinlock, a mutex, a pthread
//! lock) wrapped by the generic [`Lock<T, B>`], which owns the data and hands out a
//! `#[must_use]` [`Guard`]. gpc never sees the host's lock type, only these operations.

use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use crate::primitive::{spin_loop, AtomicBool, Ordering, UnsafeCell};

/// A raw lock supplied by the host.
///
/// # Safety
///
/// Implementors must provide mutual exclusion: between a `lock` that returned and the
/// matching `unlock`, no other `lock` on the same state may return. `lock` must have
/// acquire semantics and `unlock` release semantics. `new` must create an unlocked lock.
pub unsafe trait LockBackend: Send + Sync + 'static {
    /// The lock's storage, embedded in every [`Lock`].
    type State: Send + Sync;

    /// A new, unlocked lock.
    fn new() -> Self::State;

    /// Acquire the lock, waiting (spinning or sleeping) as long as needed.
    ///
    /// # Safety
    ///
    /// `state` must have been made by [`LockBackend::new`] and stay pinned while locked.
    unsafe fn lock(state: &Self::State);

    /// Release the lock.
    ///
    /// # Safety
    ///
    /// The caller must hold the lock (a `lock` on `state` returned and was not yet
    /// matched by an `unlock`).
    unsafe fn unlock(state: &Self::State);
}

/// Data protected by a host lock.
pub struct Lock<T: ?Sized, B: LockBackend> {
    state: B::State,
    data: UnsafeCell<T>,
}

// SAFETY: the lock serialises every access to `data`, so sharing the `Lock` between
// threads only ever gives one thread at a time a `&mut T`: that needs `T: Send`.
unsafe impl<T: ?Sized + Send, B: LockBackend> Sync for Lock<T, B> {}
// SAFETY: moving the lock moves the data; the backend state is `Send` by its bound.
unsafe impl<T: ?Sized + Send, B: LockBackend> Send for Lock<T, B> {}

impl<T, B: LockBackend> Lock<T, B> {
    /// A new unlocked lock around `data`.
    pub fn new(data: T) -> Self {
        Lock {
            state: B::new(),
            data: UnsafeCell::new(data),
        }
    }
}

impl<T: ?Sized, B: LockBackend> Lock<T, B> {
    /// Acquire the lock.
    pub fn lock(&self) -> Guard<'_, T, B> {
        // SAFETY: `state` was made by `B::new` in `Lock::new` and is pinned by `&self`.
        unsafe { B::lock(&self.state) };
        Guard {
            lock: self,
            _not_send: PhantomData,
        }
    }

    /// The data, without locking: possible only with exclusive access to the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

/// Proof that a [`Lock`] is held; dropping it releases the lock.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct Guard<'a, T: ?Sized, B: LockBackend> {
    lock: &'a Lock<T, B>,
    // A guard is released by the thread that took it (kernel spinlocks and mutexes
    // require it), so it is !Send.
    _not_send: PhantomData<*mut ()>,
}

impl<T: ?Sized, B: LockBackend> Deref for Guard<'_, T, B> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard's existence proves the lock is held, so no one else accesses
        // the data.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T: ?Sized, B: LockBackend> DerefMut for Guard<'_, T, B> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: ?Sized, B: LockBackend> Drop for Guard<'_, T, B> {
    fn drop(&mut self) {
        // SAFETY: the guard was made by `Lock::lock`, so the lock is held by us.
        unsafe { B::unlock(&self.lock.state) };
    }
}

/// A portable test-and-test-and-set spinning lock, for hosts that have nothing better
/// and for data that must be locked without any host (subsystem state).
pub struct RawSpin;

// SAFETY: `lock` only returns after a successful acquire-CAS from false to true, and
// `unlock` stores false with release ordering: a classic spinlock.
unsafe impl LockBackend for RawSpin {
    type State = AtomicBool;

    fn new() -> AtomicBool {
        AtomicBool::new(false)
    }

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

    unsafe fn unlock(state: &AtomicBool) {
        state.store(false, Ordering::Release);
    }
}

/// A spin lock that needs no host: `Lock<T, RawSpin>`.
pub type SpinLock<T> = Lock<T, RawSpin>;

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn guard_gives_exclusive_access() {
        let lock: SpinLock<u32> = Lock::new(1);
        {
            let mut g = lock.lock();
            *g += 1;
        }
        assert_eq!(*lock.lock(), 2);
    }

    #[test]
    fn threads_do_not_lose_updates() {
        extern crate std;
        let lock: &'static SpinLock<u64> =
            std::boxed::Box::leak(std::boxed::Box::new(Lock::new(0)));
        let hs: std::vec::Vec<_> = (0..2)
            .map(|_| std::thread::spawn(move || (0..10_000).for_each(|_| *lock.lock() += 1)))
            .collect();
        for h in hs {
            assert!(h.join().is_ok());
        }
        assert_eq!(*lock.lock(), 20_000);
    }
}
