//! Page reclaim: the host's half of memory that reclaims before it fails.
//!
//! In Linux one subsystem both decides and acts: `mm/vmscan.c` picks the memory cgroups
//! and LRU lists to scan, isolates pages, writes anonymous ones to swap and drops clean
//! file ones. gpc splits that where a kernel's own memory manager begins. The memory
//! controller (gpc-subsystems' `memory`) keeps every group's counters and LRU sizes and
//! **decides**: which groups give pages back, how many from which list, what protection
//! (`memory.min`, `memory.low`) and `swappiness` allow, and whom the OOM killer takes.
//! The host owns the pages and **acts**: it frees the pages asked for, oldest first, and
//! says how many it freed; the controller then uncharges them. So one call crosses the
//! boundary per (group, list) step of a reclaim, never one per page.
//!
//! The host's pages of one group are only that group's own (Linux's per-memcg
//! `lruvec`), not its descendants': the controller walks the subtree itself.
//!
//! The methods here are called with gpc's hierarchy lock held when a file write
//! reclaims (`memory.force_empty`, a lowered limit, `memory.reclaim`): they must not
//! call back into gpc, and they must not sleep under a spinning lock. They may allocate
//! nothing that can fail: a host that cannot free says so by freeing fewer pages.

/// The LRU lists a memory group's pages are on (Linux `enum lru_list`, without the
/// unevictable list, which reclaim never scans).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Lru {
    /// Anonymous pages not used recently (`LRU_INACTIVE_ANON`): new anonymous pages start
    /// here (Linux since 5.9, "workingset protection" on the anon LRU).
    InactiveAnon = 0,
    /// Anonymous pages in use (`LRU_ACTIVE_ANON`).
    ActiveAnon = 1,
    /// Page cache not used recently (`LRU_INACTIVE_FILE`): a page read for the first
    /// time starts here.
    InactiveFile = 2,
    /// Page cache used again (`LRU_ACTIVE_FILE`): a second read moves a page here.
    ActiveFile = 3,
}

impl Lru {
    /// All four, in Linux's order (`for_each_evictable_lru`).
    pub const ALL: [Lru; 4] = [
        Lru::InactiveAnon,
        Lru::ActiveAnon,
        Lru::InactiveFile,
        Lru::ActiveFile,
    ];

    /// Whether the list holds page cache (`is_file_lru`).
    pub const fn is_file(self) -> bool {
        matches!(self, Lru::InactiveFile | Lru::ActiveFile)
    }
}

/// What one reclaim request did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reclaimed {
    /// Pages freed: clean page cache dropped, or anonymous pages written to swap. The
    /// controller uncharges them (and charges swap for anonymous ones).
    pub freed: u64,
    /// Dirty page-cache pages the scan met and started writing back (Linux marks them
    /// `PG_reclaim` and wakes the flusher): they stay charged, counted as `writeback`
    /// until the host reports them clean.
    pub writeback: u64,
}

/// The host's page reclaim (Linux `shrink_folio_list` on one memcg's `lruvec`).
pub trait PageReclaim {
    /// Free up to `nr` pages of list `lru` charged to the memory group whose container id
    /// is `group` (its own pages only), least recently used first.
    ///
    /// * File lists: clean pages are dropped; dirty ones are not freed, their writeback
    ///   starts and they are reported in [`Reclaimed::writeback`]; pages already under
    ///   writeback are skipped. An active-list request deactivates and frees in one step.
    /// * Anonymous lists: pages are written to swap, at most `nr` and at most what the
    ///   host's swap device has free (the controller already applied the groups' swap
    ///   limits to `nr`).
    ///
    /// Valid results: `freed <= nr`, `writeback <= nr - freed`; zero of both when the
    /// group has no such pages (or no longer exists on the host's side).
    fn reclaim(&self, group: u64, lru: Lru, nr: u64) -> Reclaimed;

    /// Reclaim could not bring the group whose container id is `group` under a limit a
    /// file write just set (v2 `memory.max`): run its OOM killer once the write has
    /// returned (Linux's kill is asynchronous too: the victim exits later, from its own
    /// context). The host picks the victim with the memory controller's `oom_victim` and
    /// kills until the group fits or nothing is left to kill. The default does nothing
    /// (the usage stays above the limit, as with a host that cannot kill).
    fn request_oom_kill(&self, group: u64) {
        let _ = group;
    }

    /// Free pages on the host's swap devices (Linux `get_nr_swap_pages`): reclaim does
    /// not scan anonymous memory without any (`can_reclaim_anon_pages`). The default, for
    /// a host that does not say, is unlimited (the host refuses a swap-out it cannot do
    /// by freeing fewer pages).
    fn swap_free(&self) -> u64 {
        u64::MAX
    }
}
