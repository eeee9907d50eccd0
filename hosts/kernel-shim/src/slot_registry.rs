//! Debug builds only: which task slots are attached, so that `gpc_task_slot_init` can
//! refuse to empty one.
//!
//! A slot cannot say by its value whether it is attached or a copy: `dup_task_struct`
//! copies the parent's slot, attached value and all, into the child, and that copy is
//! exactly what `gpc_task_slot_init` exists to clear. Only the slot's *address* tells
//! them apart, so debug builds remember the addresses of the slots `gpc_init_task` and
//! `gpc_fork` attached until `gpc_exit` detaches them. Emptying an attached slot would
//! leak its css_group reference (the container could never be removed, its pids never
//! uncharged), which the kernel should hear about as `-EINVAL`.
//!
//! The set is a fixed table in static memory (no allocation: fork and exit must not
//! allocate, and the fault-injection harness counts every allocation), open addressing
//! with a bounded probe: each address lives in one of [`PROBE`] buckets after its hash,
//! inserted by a CAS from empty and removed by a CAS back to empty. Every operation on
//! one slot address comes from the one thread that owns that task at the time (the hooks'
//! contract), so no address is inserted twice or raced with its own removal, and a lookup
//! scans all [`PROBE`] buckets rather than stopping at an empty one. When all of an
//! address's buckets are taken the slot goes untracked: the check is best effort past
//! about [`BUCKETS`] live tasks, never wrong about a tracked one.

use core::sync::atomic::{AtomicUsize, Ordering};

/// Buckets in the table (128 KiB of `.bss` on 64-bit, debug builds only).
pub(crate) const BUCKETS: usize = 1 << 14;
/// Buckets an address may occupy, from its hash on.
pub(crate) const PROBE: usize = 32;

static TABLE: [AtomicUsize; BUCKETS] = [const { AtomicUsize::new(0) }; BUCKETS];

fn buckets(addr: usize) -> impl Iterator<Item = &'static AtomicUsize> {
    // Fibonacci hashing: slot addresses share their low bits (task structs are aligned).
    let h = (addr as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32;
    let start = usize::try_from(h).unwrap_or(0);
    (0..PROBE).filter_map(move |i| TABLE.get(start.wrapping_add(i) % BUCKETS))
}

/// Remember that the slot at `addr` is attached (a no-op when its buckets are full).
pub(crate) fn insert(addr: usize) {
    if addr == 0 || contains(addr) {
        return;
    }
    for b in buckets(addr) {
        if b.compare_exchange(0, addr, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
    }
}

/// The slot at `addr` was detached.
pub(crate) fn remove(addr: usize) {
    for b in buckets(addr) {
        if b.compare_exchange(addr, 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
    }
}

/// Whether the slot at `addr` is known to be attached.
pub(crate) fn contains(addr: usize) -> bool {
    addr != 0 && buckets(addr).any(|b| b.load(Ordering::Acquire) == addr)
}
