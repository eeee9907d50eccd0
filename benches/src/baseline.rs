//! The floors: what the hardware charges for the work gpc's fast paths must do at least.
//!
//! Each fixture mirrors the memory shape of the gpc path it is the floor of, and each
//! operation takes its input through [`black_box`] and hands its result to it, so the
//! compiler can neither hoist the loads out of a loop nor drop them.

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::sync::Arc;

use gpc_core::host::lock::{Lock, RawSpin};

/// `Arc::clone` and drop of a clone: one atomic increment and one atomic decrement on
/// an uncontended line, the floor for a refcounted fork+exit.
#[inline]
pub fn arc_clone_drop<T>(a: &Arc<T>) {
    let b = Arc::clone(black_box(a));
    drop(black_box(b));
}

/// A css_group's shape: a counter, then the state pointers the lookup indexes.
#[derive(Debug)]
#[repr(C)]
pub struct Group {
    /// Where gpc keeps the reference count.
    pub refcount: usize,
    /// The per-subsystem values (gpc: state pointers).
    pub subsys: [usize; 16],
}

/// A task slot pointing to a [`Group`]: the two-dependent-loads fixture.
#[derive(Debug)]
pub struct TwoLoads {
    #[allow(
        clippy::redundant_allocation,
        reason = "the slot lives in heap memory of its own, like a task struct's field"
    )]
    slot: Box<&'static Group>,
}

impl TwoLoads {
    /// A slot and a group (the group is leaked: one per process run).
    pub fn new() -> Self {
        let g: &'static Group = Box::leak(Box::new(Group {
            refcount: 1,
            subsys: core::array::from_fn(|i| 0x1000 + i),
        }));
        TwoLoads { slot: Box::new(g) }
    }

    /// The slot (pass it through `black_box` to [`TwoLoads::lookup`]).
    pub fn slot(&self) -> &&'static Group {
        &self.slot
    }

    /// Load the slot, then the group's entry `ss` (bounds-checked and null-checked, as
    /// the lookup's result is an `Option` of a non-null pointer).
    #[inline]
    pub fn lookup(slot: &&Group, ss: usize) -> Option<NonZeroUsize> {
        let g: &Group = slot;
        g.subsys.get(ss).copied().and_then(NonZeroUsize::new)
    }
}

impl Default for TwoLoads {
    fn default() -> Self {
        Self::new()
    }
}

/// A hashbrown map keyed by 8 machine words (the size of a css_group key with eight
/// hierarchies), with 1,024 entries.
#[derive(Debug)]
pub struct HashLookup {
    map: hashbrown::HashMap<[u64; 8], u64>,
    keys: Vec<[u64; 8]>,
}

impl HashLookup {
    /// The filled map.
    pub fn new() -> Self {
        let keys: Vec<[u64; 8]> = (0..1024u64)
            .map(|i| core::array::from_fn(|w| (i << 12) ^ (w as u64).wrapping_mul(0x9e37_79b9)))
            .collect();
        let map = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, i as u64))
            .collect();
        HashLookup { map, keys }
    }

    /// Look up key number `i` (modulo 1,024): hash 64 bytes, probe, compare 64 bytes.
    #[inline]
    pub fn lookup(&self, i: usize) -> Option<u64> {
        let k = self.keys.get(i & 1023)?;
        black_box(self.map.get(black_box(k)).copied())
    }
}

impl Default for HashLookup {
    fn default() -> Self {
        Self::new()
    }
}

/// Lock and unlock gpc-core's spin lock, uncontended.
#[inline]
pub fn spin_lock_unlock(l: &Lock<u64, RawSpin>) {
    let g = black_box(l).lock();
    black_box(&*g);
    drop(g);
}

/// Makes a reference's address depend on a value computed in the previous iteration,
/// without a memory access: `r + (dep & 0)`, where the compiler cannot know the mask is 0.
/// Dependent iterations measure latency (the time of two dependent loads one after the
/// other) instead of throughput (independent iterations overlapping).
#[derive(Debug)]
pub struct Chain {
    /// Always 0 (the only constructor makes it so), but opaque to the compiler.
    mask: usize,
}

impl Chain {
    /// A chain whose mask is an opaque 0.
    pub fn new() -> Self {
        Chain { mask: black_box(0) }
    }

    /// `r`, at an address computed from `dep` (one `and`, one `add`).
    #[inline(always)]
    pub fn dep<'a, T>(&self, r: &'a T, dep: usize) -> &'a T {
        let p = (r as *const T).wrapping_byte_add(dep & self.mask);
        // SAFETY: `self.mask` is 0 (set by `new`, the only constructor, and private), so
        // `p` is `r`'s own address: a valid, aligned `T` borrowed for `'a`.
        unsafe { &*p }
    }
}

impl Default for Chain {
    fn default() -> Self {
        Self::new()
    }
}

/// `n` two-load lookups, each from a slot address that depends on the previous result:
/// the latency of two dependent loads (plus the chain's `and`, `add` and `setcc`).
#[inline(never)]
pub fn two_loads_chain(slot: &&Group, ss: usize, n: u64) -> usize {
    let c = Chain::new();
    let mut dep = 0usize;
    for _ in 0..n {
        dep = usize::from(TwoLoads::lookup(c.dep(slot, dep), ss).is_some());
    }
    black_box(dep)
}
