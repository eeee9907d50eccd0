//! A memory group's page statistics and events: what `memory.stat`, `memory.numa_stat`,
//! `memory.events` and v1's `total_*` lines show.
//!
//! Linux keeps per-CPU deltas and folds them up the tree on read (`rstat`). gpc keeps
//! two exact columns per item instead, one for the group alone and one for its subtree,
//! and adds to the group and every ancestor when a page changes state: an update costs
//! one atomic add per level (the depth is small and bounded), a read costs nothing, and
//! no read ever has to take a lock to walk descendants.

use core::sync::atomic::{AtomicU64, Ordering};

use super::Memory;
use gpc_core::Css;

/// A page-state item or an event counter of one group (Linux `enum node_stat_item`,
/// `enum memcg_stat_item` and `enum vm_event_item`, as far as gpc's pages have them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Stat {
    /// `NR_INACTIVE_ANON`, pages.
    InactiveAnon = 0,
    /// `NR_ACTIVE_ANON`, pages.
    ActiveAnon,
    /// `NR_INACTIVE_FILE`, pages.
    InactiveFile,
    /// `NR_ACTIVE_FILE`, pages.
    ActiveFile,
    /// `NR_FILE_DIRTY`, pages.
    Dirty,
    /// `NR_WRITEBACK`, pages.
    Writeback,
    /// `MEMCG_SWAP`: the group's pages out on swap.
    Swap,
    /// `PGPGIN` (v1: one per charge, "pagein of a big page is an event").
    Pgpgin,
    /// `PGPGOUT` (v1: one per uncharge).
    Pgpgout,
    /// `PGFAULT`: anonymous pages faulted in.
    Pgfault,
    /// `PGMAJFAULT`: faults that had to read (none: gpc has no swap-in).
    Pgmajfault,
    /// `PGSCAN_DIRECT`: pages scanned by reclaim of a charge (limit or machine full).
    PgscanDirect,
    /// `PGSTEAL_DIRECT`: pages that reclaim freed.
    PgstealDirect,
    /// `PGSCAN_PROACTIVE`: pages scanned by `memory.reclaim`.
    PgscanProactive,
    /// `PGSTEAL_PROACTIVE`.
    PgstealProactive,
    /// `PGACTIVATE`: pages moved to an active list.
    Pgactivate,
    /// `PGDEACTIVATE`: pages moved to an inactive list.
    Pgdeactivate,
    /// `PSWPOUT` (v2 `pswpout`): pages written to swap.
    Pswpout,
}

/// How many [`Stat`] items there are.
pub const NR_STATS: usize = Stat::Pswpout as usize + 1;

/// The v2 memory events (Linux `enum memcg_memory_event`), in `memory.events` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Event {
    /// `MEMCG_LOW`: reclaimed though below `memory.low`.
    Low = 0,
    /// `MEMCG_HIGH`: a charge left the usage above `memory.high`.
    High,
    /// `MEMCG_MAX`: a charge hit `memory.max`.
    Max,
    /// `MEMCG_OOM`: the OOM killer was invoked for the group.
    Oom,
    /// `MEMCG_OOM_KILL`: a task of the group was killed by an OOM killer.
    OomKill,
    /// `MEMCG_OOM_GROUP_KILL`: the group was killed as a whole (`memory.oom.group`).
    OomGroupKill,
    /// `MEMCG_SWAP_HIGH`: swap over `memory.swap.high`.
    SwapHigh,
    /// `MEMCG_SWAP_MAX`: swap-out refused by `memory.swap.max`.
    SwapMax,
    /// `MEMCG_SWAP_FAIL`: no swap left for the group's pages.
    SwapFail,
}

/// How many [`Event`]s there are.
pub const NR_EVENTS: usize = Event::SwapFail as usize + 1;

/// One group's statistics: its own column and its subtree's.
pub struct Stats {
    local: [AtomicU64; NR_STATS],
    tree: [AtomicU64; NR_STATS],
}

impl Stats {
    pub(super) const fn new() -> Self {
        Stats {
            local: [const { AtomicU64::new(0) }; NR_STATS],
            tree: [const { AtomicU64::new(0) }; NR_STATS],
        }
    }

    /// The group's own value of `item`.
    pub fn local(&self, item: Stat) -> u64 {
        self.local[item as usize].load(Ordering::Relaxed)
    }

    /// The value of `item` over the group and its descendants.
    pub fn tree(&self, item: Stat) -> u64 {
        self.tree[item as usize].load(Ordering::Relaxed)
    }

    /// The group's own pages (anonymous and file, all lists).
    pub fn local_pages(&self) -> u64 {
        self.local(Stat::InactiveAnon)
            + self.local(Stat::ActiveAnon)
            + self.local(Stat::InactiveFile)
            + self.local(Stat::ActiveFile)
    }

    /// The subtree's pages.
    pub fn tree_pages(&self) -> u64 {
        self.tree(Stat::InactiveAnon)
            + self.tree(Stat::ActiveAnon)
            + self.tree(Stat::InactiveFile)
            + self.tree(Stat::ActiveFile)
    }

    /// Move the group's own values into `into` (a parent taking over the pages of a
    /// removed child): its subtree column already counts them.
    pub(super) fn hand_over(&self, into: &Stats) {
        for (mine, theirs) in self.local.iter().zip(into.local.iter()) {
            theirs.fetch_add(mine.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        }
    }
}

/// The group's events: hierarchical (`memory.events`) and its own (`memory.events.local`).
pub struct Events {
    tree: [AtomicU64; NR_EVENTS],
    local: [AtomicU64; NR_EVENTS],
}

impl Events {
    pub(super) const fn new() -> Self {
        Events {
            tree: [const { AtomicU64::new(0) }; NR_EVENTS],
            local: [const { AtomicU64::new(0) }; NR_EVENTS],
        }
    }

    /// `memory.events` (the group and its descendants).
    pub fn tree(&self, e: Event) -> u64 {
        self.tree[e as usize].load(Ordering::Relaxed)
    }

    /// `memory.events.local`.
    pub fn local(&self, e: Event) -> u64 {
        self.local[e as usize].load(Ordering::Relaxed)
    }
}

/// Add `n` to `item` of `css` and of every ancestor's subtree column.
pub fn add(css: Css<'_, Memory>, item: Stat, n: u64) {
    if n == 0 {
        return;
    }
    css.state().stats.local[item as usize].fetch_add(n, Ordering::Relaxed);
    for level in css.ancestors_and_self() {
        level.state().stats.tree[item as usize].fetch_add(n, Ordering::Relaxed);
    }
}

/// Take `n` from `item` of `css` and its ancestors' subtree columns, never below 0.
pub fn sub(css: Css<'_, Memory>, item: Stat, n: u64) {
    if n == 0 {
        return;
    }
    sub_clamped(&css.state().stats.local[item as usize], n);
    for level in css.ancestors_and_self() {
        sub_clamped(&level.state().stats.tree[item as usize], n);
    }
}

/// Move `n` pages of `css` from item `from` to item `to` (an LRU change).
pub fn shift(css: Css<'_, Memory>, from: Stat, to: Stat, n: u64) {
    sub(css, from, n);
    add(css, to, n);
}

pub(super) fn sub_clamped(a: &AtomicU64, v: u64) {
    let _ = a.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| {
        Some(x.saturating_sub(v))
    });
}

/// `memcg_memory_event`: count `e` in the group's own events and in the hierarchical
/// events of the group and each ancestor below the root (a do-while in Linux: a root
/// group counts its own).
pub fn event(css: Css<'_, Memory>, e: Event) {
    css.state().events.local[e as usize].fetch_add(1, Ordering::Relaxed);
    for (i, level) in css.ancestors_and_self().enumerate() {
        if i > 0 && level.is_root() {
            break;
        }
        level.state().events.tree[e as usize].fetch_add(1, Ordering::Relaxed);
    }
}
