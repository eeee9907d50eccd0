//! A uniprocessor RCU.
//!
//! On one CPU with interrupts off and no preemption, a read-side critical section cannot
//! be interrupted by anything that frees memory: the only way a grace period can be
//! "waited for" is to let the code in the read-side section finish. So this RCU keeps a
//! count of nested read-side sections and a list of deferred callbacks, and runs the
//! callbacks as soon as the count is zero: at `call_rcu` when no section is open, when
//! the outermost section closes (`read_unlock` to zero), and at `synchronize`.
//!
//! That honours gpc-core's [`Rcu`] contract: a callback queued while sections were open
//! runs only after the count dropped to zero, i.e. after every one of them ended, and a
//! callback queued with none open may run at once. `synchronize` inside a read-side
//! section could never return (the section cannot end while we wait on its CPU), so it
//! stops the kernel instead, as Linux's lockdep would complain.
//!
//! The pending list is linked through the callbacks' own [`RcuHead`]s: queuing never
//! allocates and never fails.

use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use gpc_core::host::rcu::{Rcu, RcuHead};

/// The uniprocessor RCU (see the module documentation).
pub struct UpRcu {
    /// Open read-side sections (nested).
    nesting: AtomicUsize,
    /// Callbacks waiting for a grace period, newest first.
    pending: AtomicPtr<RcuHead>,
    /// Callbacks queued so far.
    queued: AtomicU64,
    /// Callbacks run so far.
    invoked: AtomicU64,
}

impl UpRcu {
    /// No sections open, nothing pending.
    pub const fn new() -> Self {
        UpRcu {
            nesting: AtomicUsize::new(0),
            pending: AtomicPtr::new(ptr::null_mut()),
            queued: AtomicU64::new(0),
            invoked: AtomicU64::new(0),
        }
    }

    /// Read-side sections open now.
    pub fn nesting(&self) -> usize {
        self.nesting.load(Ordering::Relaxed)
    }

    /// `(queued, invoked)`: callbacks queued and run so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.queued.load(Ordering::Relaxed),
            self.invoked.load(Ordering::Relaxed),
        )
    }

    /// Run every pending callback. Called only when no read-side section is open.
    fn quiesce(&self) {
        while self.nesting.load(Ordering::SeqCst) == 0 {
            let mut head = self.pending.swap(ptr::null_mut(), Ordering::AcqRel);
            if head.is_null() {
                return;
            }
            while let Some(h) = NonNull::new(head) {
                // SAFETY: `h` was queued by `call_rcu` and is valid until invoked.
                head = unsafe { h.as_ref() }.next.load(Ordering::Relaxed);
                // SAFETY: `h` was queued once and is invoked once (we took it off the
                // list); no read-side section was open when we took it, and on the only
                // CPU none can have opened since that could reach the object (it was
                // unlinked before `call_rcu`): its grace period has elapsed.
                unsafe { RcuHead::invoke(h) };
                self.invoked.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl Default for UpRcu {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: a callback runs only from `quiesce`, which runs only while the nesting count
// is zero: every read-side section in progress when the callback was queued has ended
// (the kernel has one CPU and no preemption, so no other section can be in progress
// anywhere). `synchronize` returns only after running everything pending the same way.
unsafe impl Rcu for UpRcu {
    fn read_lock(&self) {
        self.nesting.fetch_add(1, Ordering::SeqCst);
    }

    unsafe fn read_unlock(&self) {
        match self.nesting.fetch_sub(1, Ordering::SeqCst) {
            0 => crate::fatal("rcu: read_unlock without a read-side section"),
            1 => self.quiesce(),
            _ => {}
        }
    }

    unsafe fn call_rcu(&self, head: NonNull<RcuHead>) {
        let mut old = self.pending.load(Ordering::Relaxed);
        loop {
            // SAFETY: the head is valid until invoked and queued once (caller's
            // contract); we own its `next` until it is on the list.
            unsafe { head.as_ref() }.next.store(old, Ordering::Relaxed);
            match self.pending.compare_exchange_weak(
                old,
                head.as_ptr(),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => old = now,
            }
        }
        self.queued.fetch_add(1, Ordering::Relaxed);
        if self.nesting.load(Ordering::SeqCst) == 0 {
            self.quiesce();
        }
    }

    fn synchronize(&self) {
        if self.nesting.load(Ordering::SeqCst) != 0 {
            crate::fatal("rcu: synchronize inside a read-side section would never return");
        }
        self.quiesce();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // gpc-core makes every `RcuHead` itself; the deferred frees of real objects are
    // tested in `crate::host` through a `Gpc` on this RCU.

    #[test]
    fn nesting_counts_and_synchronize_with_nothing_pending() {
        let rcu = UpRcu::new();
        rcu.read_lock();
        rcu.read_lock();
        assert_eq!(rcu.nesting(), 2);
        // SAFETY: each matches a read_lock above.
        unsafe {
            rcu.read_unlock();
            rcu.read_unlock();
        }
        assert_eq!(rcu.nesting(), 0);
        rcu.synchronize();
        assert_eq!(rcu.counts(), (0, 0));
    }
}
