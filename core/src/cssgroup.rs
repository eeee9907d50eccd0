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
use crate::host::alloc::Gfp;
use crate::host::lock::SpinLock;
use crate::host::rcu::RcuHead;
use crate::primitive::{AtomicUsize, Ordering};
use crate::subsys::{CssHeader, MAX_SUBSYS};

/// The most hierarchies one gpc instance can have mounted at once.
pub const MAX_HIERARCHIES: usize = 16;

/// The key of a css_group: the container of each hierarchy slot (null: the root, or an
/// unused slot).
pub(crate) type CgKey = [*mut Container; MAX_HIERARCHIES];

/// The most reference shards a css_group has (one per CPU, up to this many; CPUs beyond
/// share). Also the number of tag values a task slot's pointer can carry in its low bits,
/// hence the css_group's alignment.
pub(crate) const MAX_SHARDS: usize = 64;

/// One CPU's share of a css_group's references, on its own cache line.
#[repr(align(64))]
pub(crate) struct Leaf(AtomicUsize);

/// What the per-css_group transition lock protects.
pub(crate) struct Trans {
    /// Leaves with a non-zero count.
    root: usize,
    /// The count reached zero: no reference can be taken any more.
    dead: bool,
}

/// A css_group. Its references are a scalable non-zero indicator: each CPU (shard) counts
/// the references taken on it in its own cache line, and only a shard's transitions
/// between zero and non-zero touch the shared `trans` state. A fork and the exit of a
/// child on a CPU where another task of the group already holds a reference touch one
/// CPU-local line (see doc/fast-path.md).
#[repr(C, align(64))]
pub(crate) struct CssGroup {
    leaves: Box<[Leaf]>,
    /// The instance the css_group belongs to (`Gpc::id`: the address of its init
    /// css_group). Next to `leaves`, so the fork and exit paths, which read `leaves`
    /// anyway, check it without touching another cache line. Immutable after creation.
    pub(crate) owner: usize,
    trans: SpinLock<Trans>,
    /// The state each subsystem's lookups return (Linux `css_set->subsys`): the effective
    /// state of the container in that subsystem's hierarchy. Immutable after creation.
    pub(crate) subsys: [*mut CssHeader; MAX_SUBSYS],
    /// Immutable after creation.
    pub(crate) key: CgKey,
    pub(crate) hash: u64,
    pub(crate) rcu: RcuHead,
}

// SAFETY: after publication `subsys`, `key` and `hash` are immutable, the counts are
// atomics or under `trans`; the raw pointers point to objects kept alive by the rules in
// doc/lock-order.md.
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

/// A task slot's value: the css_group pointer with, in its low bits, the shard the
/// task's reference was taken on.
#[inline]
pub(crate) fn tag(cg: NonNull<CssGroup>, shard: usize) -> *mut CssGroup {
    cg.as_ptr().wrapping_byte_add(shard % MAX_SHARDS)
}

/// Split a task slot's value into the css_group and the shard of its reference.
#[inline]
pub(crate) fn untag(p: *mut CssGroup) -> (Option<NonNull<CssGroup>>, usize) {
    let shard = (p as usize) % MAX_SHARDS;
    (NonNull::new(p.wrapping_byte_sub(shard)), shard)
}

impl CssGroup {
    /// A css_group with one reference, on `shard`.
    pub(crate) fn try_new(
        subsys: [*mut CssHeader; MAX_SUBSYS],
        key: CgKey,
        nr_shards: usize,
        shard: usize,
    ) -> crate::Result<Box<Self>> {
        let n = nr_shards.clamp(1, MAX_SHARDS);
        let mut leaves = alloc::vec::Vec::new();
        crate::host::alloc::try_reserve_exact(&mut leaves, n, Gfp::KERNEL)?;
        leaves.extend((0..n).map(|i| Leaf(AtomicUsize::new(usize::from(i == shard % n)))));
        crate::host::alloc::try_box(
            CssGroup {
                leaves: leaves.into_boxed_slice(),
                owner: 0,
                trans: crate::new_spinlock!(
                    Trans {
                        root: 1,
                        dead: false,
                    },
                    c"gpc_css_group_trans"
                )?,
                subsys,
                hash: hash_key(&key),
                key,
                rcu: RcuHead::new(free_css_group),
            },
            Gfp::KERNEL,
        )
    }

    /// The container in hierarchy slot `h` (null: that hierarchy's root).
    pub(crate) fn container(&self, h: HierIdx) -> *mut Container {
        self.key.get(h).copied().unwrap_or(ptr::null_mut())
    }

    fn leaf(&self, shard: usize) -> Option<&AtomicUsize> {
        let n = self.leaves.len().max(1);
        self.leaves.get(shard % n).map(|l| &l.0)
    }

    /// Take a reference on `shard` unless the count already dropped to zero (the group is
    /// being freed). Lock-free while the shard's count is non-zero; the caller holds an
    /// RCU guard (or the table lock) so the memory is valid.
    #[inline]
    pub(crate) fn try_get(&self, shard: usize) -> bool {
        let Some(leaf) = self.leaf(shard) else {
            return false;
        };
        let mut n = leaf.load(Ordering::Relaxed);
        loop {
            if n >= 1 {
                // Non-zero here means the group is alive: death needs every leaf at zero.
                match leaf.compare_exchange_weak(n, n + 1, Ordering::Acquire, Ordering::Relaxed) {
                    Ok(_) => return true,
                    Err(now) => n = now,
                }
                continue;
            }
            let mut t = self.trans.lock();
            if t.dead {
                return false;
            }
            match leaf.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => {
                    t.root += 1;
                    return true;
                }
                Err(now) => n = now,
            }
        }
    }

    /// Drop a reference taken on `shard`. Returns `true` when it may be the last one: the
    /// caller must then take the table lock and call [`CssGroup::put_locked`].
    #[inline]
    pub(crate) fn put(&self, shard: usize) -> bool {
        let Some(leaf) = self.leaf(shard) else {
            return false;
        };
        let mut n = leaf.load(Ordering::Relaxed);
        loop {
            if n >= 2 {
                match leaf.compare_exchange_weak(n, n - 1, Ordering::Release, Ordering::Relaxed) {
                    Ok(_) => return false,
                    Err(now) => n = now,
                }
                continue;
            }
            if n == 0 {
                // An unbalanced put is a host bug; never underflow.
                return false;
            }
            let mut t = self.trans.lock();
            if t.root < 2 {
                return true;
            }
            match leaf.compare_exchange(1, 0, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => {
                    t.root -= 1;
                    return false;
                }
                Err(now) => n = now,
            }
        }
    }

    /// [`CssGroup::put`] under the table lock (`_table`: its guarded data); returns
    /// whether the count reached zero (the group is dead and must be unlinked and freed
    /// by the caller).
    pub(crate) fn put_locked(&self, shard: usize, _table: &CgTable) -> bool {
        let Some(leaf) = self.leaf(shard) else {
            return false;
        };
        loop {
            let n = leaf.load(Ordering::Relaxed);
            if n >= 2 {
                if leaf
                    .compare_exchange(n, n - 1, Ordering::Release, Ordering::Relaxed)
                    .is_ok()
                {
                    return false;
                }
                continue;
            }
            if n == 0 {
                return false;
            }
            let mut t = self.trans.lock();
            if leaf
                .compare_exchange(1, 0, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            t.root = t.root.saturating_sub(1);
            if t.root == 0 {
                t.dead = true;
                return true;
            }
            return false;
        }
    }

    /// The number of references (exact when no fork, exit or attach runs concurrently).
    pub(crate) fn refs(&self) -> usize {
        self.leaves
            .iter()
            .map(|l| l.0.load(Ordering::Relaxed))
            .sum()
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn group(shards: usize) -> Box<CssGroup> {
        let r = CssGroup::try_new(
            [ptr::null_mut(); MAX_SUBSYS],
            [ptr::null_mut(); MAX_HIERARCHIES],
            shards,
            1,
        );
        assert!(r.is_ok());
        r.unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn shards_count_and_die_exactly_once() {
        let g = group(4);
        assert_eq!(g.refs(), 1);
        assert!(g.try_get(1), "fast path on a non-zero shard");
        assert!(g.try_get(2), "slow path: shard 2 becomes non-zero");
        assert!(
            g.try_get(6),
            "CPUs beyond the shard count share (6 % 4 = 2)"
        );
        assert_eq!(g.refs(), 4);
        assert!(!g.put(2));
        assert!(
            !g.put(2),
            "shard 2 drops to zero, another shard is non-zero"
        );
        assert!(!g.put(1));
        assert_eq!(g.refs(), 1);
        assert!(g.put(1), "the last reference asks for the table lock");
        assert!(g.put_locked(1, &CgTable::new()), "and dies under it");
        assert!(!g.try_get(0), "a dead group gives no reference");
        assert!(!g.try_get(1));
        assert_eq!(g.refs(), 0);
        assert!(!g.put(3), "an unbalanced put never underflows");
    }

    #[test]
    fn a_revived_shard_keeps_the_group_alive() {
        let g = group(2);
        assert!(g.put(1), "the only reference");
        // Someone takes a reference on another shard before we get the table lock.
        assert!(g.try_get(0));
        assert!(!g.put_locked(1, &CgTable::new()), "not the last any more");
        assert_eq!(g.refs(), 1);
        assert!(g.put(0));
        assert!(g.put_locked(0, &CgTable::new()));
    }

    #[test]
    fn tags_round_trip() {
        let g = group(4);
        let p = NonNull::from(&*g);
        for shard in [0, 1, 63] {
            assert_eq!(untag(tag(p, shard)), (Some(p), shard));
        }
        assert_eq!(untag(ptr::null_mut()), (None, 0));
        assert_eq!(core::mem::align_of::<CssGroup>(), MAX_SHARDS);
    }
}
