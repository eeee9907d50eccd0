//! css_groups (Linux `struct css_set`): the shared set of subsystem states and containers
//! of every task with the same memberships.
//!
//! A task's slot points to one css_group; forking copies the pointer and takes a
//! reference, so the fork and exit paths touch one counter and no lock. The table that
//! finds a css_group by its key (the container of every hierarchy) is a resizable hash
//! table under one spinning lock, taken only when an attach looks up or creates a
//! css_group and when the last reference to one is dropped. The key is every hierarchy's
//! container, named hierarchies included, so lookups stay O(1) however many css_groups
//! exist (Linux's 128-bucket table keyed on subsystem states degrades to one chain when
//! the groups differ only in a named hierarchy).
//!
//! The root container of a hierarchy is stored as null: mounting or destroying a
//! hierarchy (where every task is at the root) changes no key, so no css_group needs
//! rewriting while lock-free readers use them.

use alloc::boxed::Box;
use core::ptr::{self, NonNull};

use crate::container::{Container, HierIdx};
use crate::host::rcu::RcuHead;
use crate::primitive::{AtomicUsize, Ordering};
use crate::subsys::{CssHeader, MAX_SUBSYS};

/// The most hierarchies one gpc instance can have mounted at once.
pub const MAX_HIERARCHIES: usize = 16;

/// The key of a css_group: the container of each hierarchy slot (null: the root, or an
/// unused slot).
pub(crate) type CgKey = [*mut Container; MAX_HIERARCHIES];

pub(crate) struct CssGroup {
    /// References: one per task whose slot points here, one per in-flight attach or fork
    /// that pinned it, and one forever for the init css_group.
    pub(crate) refcount: AtomicUsize,
    /// The state each subsystem's lookups return (Linux `css_set->subsys`): the effective
    /// state of the container in that subsystem's hierarchy. Immutable after creation.
    pub(crate) subsys: [*mut CssHeader; MAX_SUBSYS],
    /// Immutable after creation.
    pub(crate) key: CgKey,
    pub(crate) hash: u64,
    pub(crate) rcu: RcuHead,
}

// SAFETY: after publication every field but the atomic refcount is immutable; the raw
// pointers point to objects kept alive by the rules in doc/lock-order.md.
unsafe impl Send for CssGroup {}
// SAFETY: as for Send.
unsafe impl Sync for CssGroup {}

/// Mix a key into a hash (a multiply-xorshift over the pointers of non-root slots).
pub(crate) fn hash_key(key: &CgKey) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
    for (i, &c) in key.iter().enumerate() {
        if c.is_null() {
            continue;
        }
        let v = (c as usize as u64) ^ ((i as u64) << 56);
        h = (h ^ v).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
    }
    h
}

impl CssGroup {
    pub(crate) fn new(
        subsys: [*mut CssHeader; MAX_SUBSYS],
        key: CgKey,
        initial_refs: usize,
    ) -> Self {
        CssGroup {
            refcount: AtomicUsize::new(initial_refs),
            subsys,
            hash: hash_key(&key),
            key,
            rcu: RcuHead::new(free_css_group),
        }
    }

    /// The container in hierarchy slot `h` (null: that hierarchy's root).
    pub(crate) fn container(&self, h: HierIdx) -> *mut Container {
        self.key.get(h).copied().unwrap_or(ptr::null_mut())
    }

    /// Take a reference unless the count already dropped to zero (the group is being
    /// freed). Lock-free; the caller holds an RCU guard so the memory is valid.
    #[inline]
    pub(crate) fn get_unless_zero(&self) -> bool {
        let mut cur = self.refcount.load(Ordering::Relaxed);
        loop {
            if cur == 0 {
                return false;
            }
            match self.refcount.compare_exchange_weak(
                cur,
                cur + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => cur = now,
            }
        }
    }

    /// Drop a reference unless it is the last one (which must be dropped under the table
    /// lock). Returns whether it dropped.
    #[inline]
    pub(crate) fn put_unless_last(&self) -> bool {
        let mut cur = self.refcount.load(Ordering::Relaxed);
        loop {
            if cur <= 1 {
                return false;
            }
            match self.refcount.compare_exchange_weak(
                cur,
                cur - 1,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => cur = now,
            }
        }
    }
}

/// RCU callback freeing a css_group.
///
/// # Safety
///
/// `head` is the `rcu` field of a `Box`ed, unlinked `CssGroup`, passed once after a grace
/// period.
unsafe fn free_css_group(head: NonNull<RcuHead>) {
    let offset = core::mem::offset_of!(CssGroup, rcu);
    // SAFETY: stepping back from the field to its struct (caller's contract).
    let cg = unsafe { head.as_ptr().cast::<u8>().sub(offset) }.cast::<CssGroup>();
    // SAFETY: made by `Box` in `Gpc::create_css_group`, freed only here.
    drop(unsafe { Box::from_raw(cg) });
}

/// Free a css_group that no reader ever saw.
///
/// # Safety
///
/// `cg` was made by `Box` and never published.
pub(crate) unsafe fn free_css_group_now(cg: NonNull<CssGroup>) {
    // SAFETY: forwarded from the caller.
    drop(unsafe { Box::from_raw(cg.as_ptr()) });
}

/// The hash table of live css_groups (under the table lock).
pub(crate) struct CgTable {
    pub(crate) map: hashbrown::HashTable<NonNull<CssGroup>>,
}

// SAFETY: the table only holds pointers to css_groups, which are Send + Sync.
unsafe impl Send for CgTable {}

impl CgTable {
    pub(crate) fn new() -> Self {
        CgTable {
            map: hashbrown::HashTable::new(),
        }
    }

    fn hasher(cg: &NonNull<CssGroup>) -> u64 {
        // SAFETY: every pointer in the table is a live css_group (removed before free).
        unsafe { cg.as_ref() }.hash
    }

    pub(crate) fn find(&self, key: &CgKey, hash: u64) -> Option<NonNull<CssGroup>> {
        self.map
            .find(hash, |cg| {
                // SAFETY: as in `hasher`.
                unsafe { cg.as_ref() }.key == *key
            })
            .copied()
    }

    pub(crate) fn try_reserve(&mut self) -> crate::Result {
        self.map
            .try_reserve(1, Self::hasher)
            .map_err(|_| crate::Error::ENOMEM)
    }

    /// Insert; capacity must have been reserved.
    pub(crate) fn insert(&mut self, cg: NonNull<CssGroup>) {
        // SAFETY: `cg` is live (just made by the caller).
        let hash = unsafe { cg.as_ref() }.hash;
        self.map.insert_unique(hash, cg, Self::hasher);
    }

    pub(crate) fn remove(&mut self, cg: NonNull<CssGroup>) {
        // SAFETY: `cg` is live until the caller frees it after this.
        let hash = unsafe { cg.as_ref() }.hash;
        if let Ok(entry) = self.map.find_entry(hash, |x| *x == cg) {
            entry.remove();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = NonNull<CssGroup>> + '_ {
        self.map.iter().copied()
    }
}
