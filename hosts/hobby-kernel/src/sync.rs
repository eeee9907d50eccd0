//! Spinlocks.
//!
//! The kernel runs on one CPU with interrupts off and no preemption: between taking a
//! lock and releasing it nothing else runs. A lock is therefore never contended in a
//! correct kernel, and a `lock` that finds its lock taken has found a bug (the same code
//! path taking it twice) that spinning would turn into a silent hang. [`KSpin`] spins a
//! bounded number of times (so it stays a correct lock should the kernel ever run on
//! more CPUs) and then stops the kernel with a message.
//!
//! [`KSpin`] is gpc's lock backend for both of gpc's lock classes (the hierarchy
//! "mutex" and the short spinning lock): with a single CPU and no scheduler to sleep in,
//! a sleeping lock would be this same lock. [`SpinCell`] is the kernel's own
//! `const`-constructible lock, for statics such as the heap.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

use gpc_core::host::lock::{LockBackend, LockClass, LockKind};

/// Spins before a lock that finds itself taken declares a deadlock (far longer than any critical section
/// of this kernel, which none ever waits for on one CPU).
pub const DEADLOCK_SPINS: u64 = 1 << 28;

/// Take the lock `flag` (false: free).
fn lock_raw(flag: &AtomicBool) {
    let mut spins: u64 = 0;
    loop {
        if flag
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        while flag.load(Ordering::Relaxed) {
            spins += 1;
            if spins == DEADLOCK_SPINS {
                crate::fatal("spinlock deadlock: a lock held on the only CPU was taken again");
            }
            core::hint::spin_loop();
        }
    }
}

/// Release the lock `flag`.
fn unlock_raw(flag: &AtomicBool) {
    flag.store(false, Ordering::Release);
}

/// gpc's lock backend on this kernel (see the module documentation).
pub struct KSpin;

// SAFETY: `lock` returns only after an acquire compare-exchange of the flag from false to
// true (or never returns: `fatal` diverges), and `unlock` stores false with release
// ordering, so between a `lock` that returned and its `unlock` no other `lock` returns.
// `new` makes an unlocked (false) flag.
unsafe impl LockBackend for KSpin {
    type State = AtomicBool;
    const KIND: LockKind = LockKind::Spinning;

    unsafe fn init(state: *mut AtomicBool, _class: &'static LockClass) {
        // SAFETY: the caller gives valid, aligned, uninitialised storage.
        unsafe { state.write(AtomicBool::new(false)) };
    }

    unsafe fn lock(state: &AtomicBool) {
        lock_raw(state);
    }

    unsafe fn unlock(state: &AtomicBool) {
        unlock_raw(state);
    }
}

/// Data behind a spinlock, constructible in a `static`.
pub struct SpinCell<T> {
    locked: AtomicBool,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out one `&mut T` at a time, so sharing the cell between CPUs
// moves access to `T` between them: that needs `T: Send`.
unsafe impl<T: Send> Sync for SpinCell<T> {}

impl<T> SpinCell<T> {
    /// An unlocked cell around `data`.
    pub const fn new(data: T) -> Self {
        SpinCell {
            locked: AtomicBool::new(false),
            data: UnsafeCell::new(data),
        }
    }

    /// Take the lock.
    pub fn lock(&self) -> SpinGuard<'_, T> {
        lock_raw(&self.locked);
        SpinGuard { cell: self }
    }
}

/// Proof that a [`SpinCell`] is held; dropping it releases the lock.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct SpinGuard<'a, T> {
    cell: &'a SpinCell<T>,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while the lock is held, so nobody else accesses
        // the data.
        unsafe { &*self.cell.data.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow through the guard.
        unsafe { &mut *self.cell.data.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        unlock_raw(&self.cell.locked);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    use super::*;
    use gpc_core::host::lock::Lock;

    #[test]
    fn spin_cell_guards_its_data() {
        static CELL: SpinCell<u32> = SpinCell::new(1);
        *CELL.lock() += 1;
        assert_eq!(*CELL.lock(), 2);
        assert!(!CELL.locked.load(Ordering::Relaxed));
    }

    #[test]
    fn kspin_is_a_gpc_lock() {
        let lock: Lock<u64, KSpin> = Lock::try_new(0, gpc_core::lock_class!(c"t")).unwrap();
        {
            let mut g = lock.lock();
            *g += 5;
        }
        assert_eq!(*lock.lock(), 5);
    }

    #[test]
    fn kspin_excludes_threads() {
        let lock: &'static Lock<u64, KSpin> = std::boxed::Box::leak(std::boxed::Box::new(
            Lock::try_new(0, gpc_core::lock_class!(c"t")).unwrap(),
        ));
        let hs: std::vec::Vec<_> = (0..2)
            .map(|_| std::thread::spawn(move || (0..10_000).for_each(|_| *lock.lock() += 1)))
            .collect();
        for h in hs {
            assert!(h.join().is_ok());
        }
        assert_eq!(*lock.lock(), 20_000);
    }
}
