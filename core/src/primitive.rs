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
pub use core::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

#[cfg(loom)]
#[allow(
    unused_imports,
    reason = "`fence` serves the test host's RCU and the css reference count"
)]
pub use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

/// A spin-wait hint.
#[inline]
pub fn spin_loop() {
    #[cfg(not(loom))]
    core::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}
