//! Every atomic gpc uses, in one place.
//!
//! crossbeam-epoch's rule: the rest of the crate names atomics only through this module,
//! so a `--cfg loom` build swaps in loom's model-checked versions without touching the
//! algorithms.

#[cfg(not(loom))]
#[allow(
    unused_imports,
    reason = "`fence` serves the test host's RCU and the css reference count"
)]
pub use core::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};

#[cfg(loom)]
#[allow(
    unused_imports,
    reason = "`fence` serves the test host's RCU and the css reference count"
)]
pub use loom::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};

/// A spin-wait hint.
#[inline]
pub fn spin_loop() {
    #[cfg(not(loom))]
    core::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// An `UnsafeCell` that loom can see: under `--cfg loom` it is loom's, which checks
/// every access made through [`UnsafeCell::with`] and [`UnsafeCell::with_mut`] against
/// the others for a data race, so the models check the data the locks protect (a
/// container's child and css_group lists, the data of a [`crate::host::lock::Lock`]),
/// not only the atomics. Everywhere else it is `core`'s, and both calls compile to a
/// plain pointer. A reference that outlives the call (a lock guard's `Deref`, a
/// container's child list read under the hierarchy lock) is checked where it is taken:
/// a take that races a write under another thread is a loom failure.
#[cfg(not(loom))]
#[derive(Debug)]
#[repr(transparent)]
pub struct UnsafeCell<T: ?Sized>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// A cell holding `value`.
    pub const fn new(value: T) -> Self {
        UnsafeCell(core::cell::UnsafeCell::new(value))
    }
}

#[cfg(not(loom))]
impl<T: ?Sized> UnsafeCell<T> {
    /// Call `f` with a pointer for reading the value.
    #[inline(always)]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Call `f` with a pointer for writing the value.
    #[inline(always)]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }

    /// The value, through exclusive access to the cell.
    #[inline(always)]
    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut()
    }
}

/// loom's `UnsafeCell` behind the same interface (see the non-loom one).
#[cfg(loom)]
#[derive(Debug)]
pub struct UnsafeCell<T: ?Sized>(loom::cell::UnsafeCell<T>);

#[cfg(loom)]
impl<T> UnsafeCell<T> {
    /// A cell holding `value`.
    pub fn new(value: T) -> Self {
        UnsafeCell(loom::cell::UnsafeCell::new(value))
    }
}

#[cfg(loom)]
impl<T: ?Sized> UnsafeCell<T> {
    /// Call `f` with a pointer for reading the value (a tracked read).
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        self.0.with(f)
    }

    /// Call `f` with a pointer for writing the value (a tracked write).
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        self.0.with_mut(f)
    }

    /// The value, through exclusive access to the cell.
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` excludes every other access to the cell.
        self.0.with_mut(|p| unsafe { &mut *p })
    }
}
