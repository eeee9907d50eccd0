//! Atomic context and allocation flags, as the test host sees them.
//!
//! A kernel forbids sleeping in atomic context (a spinning lock held, preemption or
//! interrupts off, an RCU read-side section on a non-preemptible kernel): Linux's
//! `might_sleep()` reports "sleeping function called from invalid context". The test
//! host keeps the same evidence per thread: every spinning lock and RCU read-side
//! section of the test host enters and leaves atomic context here ([`atomic_enter`],
//! [`atomic_exit`]; a host lock implementation calls them), and
//! [`FailingAlloc`](super::FailingAlloc) records, for each allocation, the flags its
//! call site named (`crate::host::alloc::current`) against that depth. A test then
//! asserts that no may-sleep allocation happened in atomic context and that no
//! allocation went without flags.

use std::cell::Cell;

use crate::host::alloc::Gfp;

// The lock side: the test host's locks record their context here too (preemption
// count, sleeping calls under a spinning lock, class recursion), one module for both.
pub use super::host::lock_context::*;

std::thread_local! {
    static ATOMIC_DEPTH: Cell<usize> = const { Cell::new(0) };
    static RECORDING: Cell<bool> = const { Cell::new(false) };
    static LOG: Cell<ContextLog> = const { Cell::new(ContextLog::EMPTY) };
}

/// The thread entered atomic context (took a spinning lock, entered an RCU read-side
/// section): what `preempt_disable()` counts in a kernel.
pub fn atomic_enter() {
    let _ = ATOMIC_DEPTH.try_with(|d| d.set(d.get() + 1));
}

/// The thread left one level of atomic context.
pub fn atomic_exit() {
    let _ = ATOMIC_DEPTH.try_with(|d| d.set(d.get().saturating_sub(1)));
}

/// Whether the thread is in atomic context now.
pub fn in_atomic() -> bool {
    ATOMIC_DEPTH.try_with(Cell::get).unwrap_or(0) != 0
}

/// What the allocations of one thread said about their context while recording.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContextLog {
    /// Allocations (and reallocations) seen.
    pub allocations: usize,
    /// Of which with `Gfp::KERNEL`.
    pub kernel: usize,
    /// Of which with `Gfp::ATOMIC` or `Gfp::NOWAIT`.
    pub atomic: usize,
    /// Of which made in atomic context.
    pub in_atomic: usize,
    /// Made outside any allocation scope: a call site that named no flags.
    pub unscoped: usize,
    /// May-sleep allocations made in atomic context: a kernel bug.
    pub sleeping_in_atomic: usize,
}

impl ContextLog {
    const EMPTY: ContextLog = ContextLog {
        allocations: 0,
        kernel: 0,
        atomic: 0,
        in_atomic: 0,
        unscoped: 0,
        sleeping_in_atomic: 0,
    };
}

/// Start recording this thread's allocation contexts (from an empty log).
pub fn record_contexts() {
    let _ = LOG.try_with(|l| l.set(ContextLog::EMPTY));
    let _ = RECORDING.try_with(|r| r.set(true));
}

/// Stop recording; the log of what was recorded.
pub fn take_contexts() -> ContextLog {
    let _ = RECORDING.try_with(|r| r.set(false));
    LOG.try_with(|l| l.replace(ContextLog::EMPTY))
        .unwrap_or_default()
}

/// Called by the allocator for each allocation (must not allocate).
pub(super) fn note_allocation() {
    let flags = crate::host::alloc::current();
    // A may-sleep allocation is a sleeping call: under a spinning lock the lock side
    // counts it ([`might_sleep`]), recording or not.
    if flags.is_some_and(|f| f.may_sleep()) {
        might_sleep();
    }
    if !RECORDING.try_with(Cell::get).unwrap_or(false) {
        return;
    }
    let atomic = in_atomic();
    let _ = LOG.try_with(|l| {
        let mut log = l.get();
        log.allocations += 1;
        log.in_atomic += usize::from(atomic);
        match flags {
            None => log.unscoped += 1,
            Some(f) if f.may_sleep() => {
                log.kernel += 1;
                log.sleeping_in_atomic += usize::from(atomic);
            }
            Some(_) => log.atomic += 1,
        }
        l.set(log);
    });
}

/// Whether `flags` may be used now on this thread.
pub fn allowed_now(flags: Gfp) -> bool {
    !(flags.may_sleep() && in_atomic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::alloc::{try_box, Gfp};

    #[test]
    fn a_sleeping_allocation_in_atomic_context_is_recorded() {
        record_contexts();
        let a = try_box(1u64, Gfp::KERNEL);
        atomic_enter();
        let b = try_box(2u64, Gfp::ATOMIC);
        let c = try_box(3u64, Gfp::KERNEL);
        assert!(!allowed_now(Gfp::KERNEL) && allowed_now(Gfp::NOWAIT));
        atomic_exit();
        let log = take_contexts();
        assert!(a.is_ok() && b.is_ok() && c.is_ok());
        assert_eq!(
            log,
            ContextLog {
                allocations: 3,
                kernel: 2,
                atomic: 1,
                in_atomic: 2,
                unscoped: 0,
                sleeping_in_atomic: 1,
            }
        );
    }
}
