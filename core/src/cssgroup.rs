//! css_groups (Linux `struct css_set`): the shared set of subsystem states and containers
//! of every task with the same memberships.
//!
//! A task's slot points to one css_group; forking copies the pointer, takes a reference
//! and links the child into the task list of the forking CPU's shard, so the fork and
//! exit paths touch one CPU-local lock, count and list, and no shared lock. The table that
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
use crate::host::lock::{LockBackend, OpsOfBackend, SpinLock};
use crate::host::rcu::RcuHead;
use crate::host::task::TaskSlot;
use crate::list::{HHead, HNode};
use crate::primitive::{AtomicBool, AtomicPtr, Ordering};
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

/// The value a walk's sentinel node carries where a task slot has its css_group: a null
/// css_group with shard 1, which no linked task can have (a linked slot always names a
/// css_group).
pub(crate) const SENTINEL: *mut CssGroup = ptr::null_mut::<u8>().wrapping_add(1).cast();

/// One CPU's share of a css_group: the references taken on that CPU and the tasks whose
/// reference it is, under a lock only that CPU takes in the common case. On its own
/// cache line.
#[repr(align(64))]
pub(crate) struct Leaf(SpinLock<Shard>);

/// What a shard's lock protects.
pub(crate) struct Shard {
    /// References taken on this shard (each linked task holds one).
    count: usize,
    /// The tasks whose reference is on this shard, newest first, and the sentinels of
    /// walks paused here.
    pub(crate) tasks: HHead,
}

/// What the per-css_group transition lock protects.
pub(crate) struct Trans {
    /// Leaves with a non-zero count.
    root: usize,
    /// The count reached zero: no reference can be taken any more.
    dead: bool,
}

/// A css_group. Its references are a scalable non-zero indicator: each CPU (shard) counts
/// the references taken on it, with the list of the tasks holding them, under a lock of
/// its own on its own cache line, and only a shard's transitions between zero and
/// non-zero touch the shared `trans` state. A fork and the exit of a child on a CPU where
/// another task of the group already holds a reference touch one CPU-local line (see
/// doc/fast-path.md).
#[repr(C, align(64))]
pub(crate) struct CssGroup {
    leaves: Box<[Leaf]>,
    /// The instance the css_group belongs to (`Gpc::id`: the address of its init
    /// css_group). Next to `leaves`, so the fork and exit paths, which read `leaves`
    /// anyway, check it without touching another cache line. Immutable after creation.
    pub(crate) owner: usize,
    /// Replaced by another css_group with the same containers and new states (v2: a
    /// controller enabled or disabled above them, `Gpc::update_dfl_csses`): no task may
    /// join it any more. Set under each shard's lock in turn, read under one.
    pub(crate) retired: AtomicBool,
    trans: SpinLock<Trans>,
    /// The state each subsystem's lookups return (Linux `css_set->subsys`): the effective
    /// state of the container in that subsystem's hierarchy. Set at creation; a v2
    /// enable or disable may re-point one slot in place, for a controller that keeps
    /// nothing per task ([`crate::Subsystem::NO_TASK_STATE`]); lookups read it without a
    /// lock (acquire: the state is complete before it is published).
    pub(crate) subsys: [AtomicPtr<CssHeader>; MAX_SUBSYS],
    /// Immutable after creation.
    pub(crate) key: CgKey,
    pub(crate) hash: u64,
    /// This css_group's node in the css_group list of its container of each hierarchy
    /// (Linux `cgrp_cset_link`), under the table lock; roots included.
    pub(crate) links: [HNode; MAX_HIERARCHIES],
    pub(crate) rcu: RcuHead,
}

// SAFETY: after publication `key` and `hash` are immutable, `subsys` atomic, the counts and lists
// are under the shard locks, `trans` or the table lock; the raw pointers point to objects
// kept alive by the rules in doc/lock-order.md.
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

/// What [`CssGroup::unlink_task`] did.
pub(crate) enum Unlinked {
    /// The slot no longer names this css_group and shard (a move or another exit got
    /// there first): read it again.
    Moved,
    /// Unlinked, its reference dropped, not the last one.
    Done,
    /// Unlinked; the reference is still held and may be the last: drop it with
    /// `Gpc::put_cg` (which takes the table lock).
    HoldsRef,
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
        for i in 0..n {
            // Each shard's lock state on a line of its own: the CPUs of one css_group
            // must not share a line (issue 13: two threads forking in one css_group).
            leaves.push(Leaf(crate::new_per_cpu_spinlock!(
                Shard {
                    count: usize::from(i == shard % n),
                    tasks: HHead::new(),
                },
                c"gpc_css_group_shard"
            )?));
        }
        crate::host::alloc::try_box(
            CssGroup {
                leaves: leaves.into_boxed_slice(),
                owner: 0,
                retired: AtomicBool::new(false),
                trans: crate::new_spinlock!(
                    Trans {
                        root: 1,
                        dead: false,
                    },
                    c"gpc_css_group_trans"
                )?,
                subsys: subsys.map(AtomicPtr::new),
                hash: hash_key(&key),
                key,
                links: core::array::from_fn(|_| HNode::new()),
                rcu: RcuHead::new(free_css_group),
            },
            Gfp::KERNEL,
        )
    }

    /// The container in hierarchy slot `h` (null: that hierarchy's root).
    pub(crate) fn container(&self, h: HierIdx) -> *mut Container {
        self.key.get(h).copied().unwrap_or(ptr::null_mut())
    }

    /// The number of shards.
    pub(crate) fn nr_shards(&self) -> usize {
        self.leaves.len()
    }

    /// Shard `shard`'s lock (CPUs beyond the shard count share).
    #[inline]
    pub(crate) fn shard(&self, shard: usize) -> Option<&SpinLock<Shard>> {
        // No division in the common case (a CPU below the shard count).
        let leaf = match self.leaves.get(shard) {
            Some(l) => Some(l),
            None => self.leaves.get(shard % self.leaves.len().max(1)),
        };
        leaf.map(|l| &l.0)
    }

    /// Take a reference on a shard whose lock is held, unless the css_group is dead.
    /// Lock order: shard, then `trans`.
    #[inline]
    fn get_locked(&self, s: &mut Shard) -> bool {
        if s.count >= 1 {
            // Non-zero here means the group is alive: death needs every shard at zero.
            s.count += 1;
            return true;
        }
        let mut t = self.trans.lock();
        if t.dead {
            return false;
        }
        s.count = 1;
        t.root += 1;
        true
    }

    /// Take a reference on `shard` unless the count already dropped to zero (the group is
    /// being freed). The caller holds an RCU guard (or the table lock) so the memory is
    /// valid.
    #[inline]
    pub(crate) fn try_get(&self, shard: usize) -> bool {
        let Some(l) = self.shard(shard) else {
            return false;
        };
        self.get_locked(&mut l.lock())
    }

    /// Drop a reference on a shard whose lock is held. Returns `true` when it may be the
    /// last one (the reference is then still held): the caller must drop the shard lock,
    /// take the table lock and call [`CssGroup::put_locked`].
    #[inline]
    fn put_shard(&self, s: &mut Shard) -> bool {
        if s.count >= 2 {
            s.count -= 1;
            return false;
        }
        if s.count == 0 {
            // An unbalanced put is a host bug; never underflow.
            return false;
        }
        let mut t = self.trans.lock();
        if t.root < 2 {
            return true;
        }
        s.count = 0;
        t.root -= 1;
        false
    }

    /// Drop a reference taken on `shard`. Returns `true` when it may be the last one:
    /// the caller must then take the table lock and call [`CssGroup::put_locked`].
    #[inline]
    pub(crate) fn put(&self, shard: usize) -> bool {
        let Some(l) = self.shard(shard) else {
            return false;
        };
        self.put_shard(&mut l.lock())
    }

    /// [`CssGroup::put`] under the table lock (`_table`: its guarded data); returns
    /// whether the count reached zero (the group is dead and must be unlinked and freed
    /// by the caller).
    pub(crate) fn put_locked(&self, shard: usize, _table: &CgTable) -> bool {
        let Some(l) = self.shard(shard) else {
            return false;
        };
        let mut s = l.lock();
        if s.count != 1 {
            if s.count >= 2 {
                s.count -= 1;
            }
            return false;
        }
        let mut t = self.trans.lock();
        s.count = 0;
        t.root = t.root.saturating_sub(1);
        if t.root == 0 {
            t.dead = true;
            return true;
        }
        false
    }

    /// Fork: take a reference on `shard` for `child` and link it, in one hold of the
    /// shard's lock. Fails (nothing changed) when the css_group is dead.
    #[inline]
    pub(crate) fn link_new_task<K: LockBackend>(
        this: NonNull<CssGroup>,
        shard: usize,
        child: &TaskSlot,
        spin: OpsOfBackend<K>,
    ) -> bool {
        // SAFETY: the caller keeps the memory valid (RCU guard or a reference).
        let cg = unsafe { this.as_ref() };
        let Some(l) = cg.shard(shard) else {
            return false;
        };
        let s = &mut *l.lock_as(spin);
        // A retired css_group takes no child: the fork retries from the parent's slot,
        // which its move to the replacement updates.
        if cg.retired.load(Ordering::Relaxed) || !cg.get_locked(s) {
            return false;
        }
        // SAFETY: under the shard's lock; the child is unlinked (its slot is empty) and
        // pinned by the caller, so it stays put until exit unlinks it.
        unsafe { s.tasks.add_head(&child.node) };
        child.raw().store(tag(this, shard), Ordering::Release);
        true
    }

    /// Exit: unlink `slot`, which the caller read as naming this css_group on `shard`
    /// (`seen`, tagged), and empty it. With `drop_ref`, its reference is dropped too
    /// unless it may be the last.
    #[inline]
    pub(crate) fn unlink_task<K: LockBackend>(
        &self,
        shard: usize,
        seen: *mut CssGroup,
        slot: &TaskSlot,
        drop_ref: bool,
        spin: OpsOfBackend<K>,
    ) -> Unlinked {
        let Some(l) = self.shard(shard) else {
            return Unlinked::Moved;
        };
        let s = &mut *l.lock_as(spin);
        // A slot changes css_group only under the lock of the shard it is linked on.
        if slot.raw().load(Ordering::Relaxed) != seen {
            return Unlinked::Moved;
        }
        // SAFETY: under the lock of the shard the slot is linked on.
        unsafe { slot.node.del() };
        slot.raw().store(ptr::null_mut(), Ordering::Release);
        if drop_ref && !self.put_shard(s) {
            return Unlinked::Done;
        }
        Unlinked::HoldsRef
    }

    /// A move: take `slot` (read as `seen`) off this css_group and link it to `to`'s
    /// shard `to_shard`, whose reference the caller took for it. Returns `false` (nothing
    /// changed) if the slot no longer names `seen` (the task exited). Only moves nest two
    /// shard locks, and moves are serialised by the hierarchy lock (`_tree`), so the
    /// nesting cannot deadlock.
    pub(crate) fn relink_task(
        seen: *mut CssGroup,
        slot: &TaskSlot,
        to: NonNull<CssGroup>,
        to_shard: usize,
        _tree: &crate::gpc::Tree,
    ) -> bool {
        let (Some(from), from_shard) = untag(seen) else {
            return false;
        };
        // SAFETY: the caller pinned `from` and holds a reference on `to`.
        let (from_cg, to_cg) = unsafe { (from.as_ref(), to.as_ref()) };
        let (Some(fl), Some(tl)) = (from_cg.shard(from_shard), to_cg.shard(to_shard)) else {
            return false;
        };
        let _f = fl.lock();
        if slot.raw().load(Ordering::Relaxed) != seen {
            return false;
        }
        let t = tl.lock_nested(1);
        // SAFETY: under both shards' locks: the slot's current list and its new one.
        unsafe {
            slot.node.del();
            t.tasks.add_head(&slot.node);
        }
        slot.raw().store(tag(to, to_shard), Ordering::Release);
        true
    }

    /// A linked slot is being dropped without an exit: unlink it, keep its reference.
    pub(crate) fn unlink_dropped(&self, shard: usize, slot: &TaskSlot) {
        if let Some(l) = self.shard(shard) {
            let _s = l.lock();
            // SAFETY: under the lock of the shard the slot is linked on.
            unsafe { slot.node.del() };
        }
    }

    /// Whether a task is still linked to this css_group.
    pub(crate) fn has_tasks(&self) -> bool {
        self.leaves.iter().any(|l| {
            // SAFETY: under the shard's lock.
            !unsafe { l.0.lock().tasks.is_empty() }
        })
    }

    /// The number of references (exact when no fork, exit or attach runs concurrently).
    pub(crate) fn refs(&self) -> usize {
        self.leaves.iter().map(|l| l.0.lock().count).sum()
    }

    /// The css_group behind its node in hierarchy `h`'s container list.
    ///
    /// # Safety
    ///
    /// `node` is `links[h]` of a live css_group.
    pub(crate) unsafe fn from_link(node: *const HNode, h: HierIdx) -> NonNull<CssGroup> {
        let off = core::mem::offset_of!(CssGroup, links) + h * core::mem::size_of::<HNode>();
        // SAFETY: stepping back from the field to its struct (caller's contract).
        unsafe { NonNull::new_unchecked(node.cast::<u8>().sub(off).cast::<CssGroup>().cast_mut()) }
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
        self.try_reserve_n(1)
    }

    /// Room for `n` more inserts (a removal leaves a tombstone: it frees no room).
    pub(crate) fn try_reserve_n(&mut self, n: usize) -> crate::Result {
        self.map
            .try_reserve(n, Self::hasher)
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

impl CssGroup {
    /// The state of subsystem `ss` ([`CssGroup::subsys`]), or null.
    #[inline]
    pub(crate) fn css(&self, ss: usize) -> *mut CssHeader {
        self.subsys
            .get(ss)
            .map_or(core::ptr::null_mut(), |p| p.load(Ordering::Acquire))
    }
}
