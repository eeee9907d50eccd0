//! The `memory` controller (memcg): hierarchical page counters with limits, usage, peak
//! and failure counts, and the statistics files. This module is the v1 interface; the v2
//! one (`memory.current`, `memory.max`, `memory.reclaim`, ...) is in `memory/v2.rs`.
//!
//! Follows, in torvalds/linux as of Linux 6.18: `mm/memcontrol-v1.c`
//! (`mem_cgroup_legacy_files[]`, `memsw_files[]`, `mem_cgroup_read_u64`,
//! `mem_cgroup_write`, `mem_cgroup_reset`, `mem_cgroup_resize_max`,
//! `mem_cgroup_force_empty_write`, `mem_cgroup_hierarchy_write`,
//! `mem_cgroup_swappiness_write`, `mem_cgroup_move_charge_write` (6.13: "memcg-v1: fully
//! deprecate move_charge_at_immigrate"), `mem_cgroup_oom_control_*`,
//! `memcg1_stat_format`, `memcg_numa_stat_show`, `memcg1_charge_statistics`),
//! `mm/memcontrol.c` (`try_charge_memcg`, `mem_cgroup_usage`, `mem_cgroup_css_alloc`,
//! `memcg_memory_event`) and `mm/page_counter.c` (`page_counter_try_charge`,
//! `page_counter_cancel`, `page_counter_set_max`, `page_counter_reset_watermark`,
//! `page_counter_memparse`).
//!
//! Assumed configuration (a distribution kernel): `CONFIG_MEMCG_V1`, `CONFIG_SWAP` with
//! swap accounting (so the `memory.memsw.*` files exist), `CONFIG_TRANSPARENT_HUGEPAGE`
//! (`rss_huge` in `memory.stat`), `CONFIG_NUMA` (`memory.numa_stat`), `CONFIG_SLUB_DEBUG`
//! (`memory.kmem.slabinfo`), classic LRU (not MGLRU), not `PREEMPT_RT`, x86-64 pages of
//! 4096 bytes.
//!
//! # Files (no `CFTYPE_*` flag: all exist in the root too)
//!
//! | file | mode | read | write |
//! |---|---|---|---|
//! | `memory.usage_in_bytes` | 0444 | pages × 4096 (anonymous and page cache); the root shows its statistics (anon + file) instead of its counter (`mem_cgroup_usage`) | |
//! | `memory.max_usage_in_bytes` | 0644 | the counter's watermark | anything resets the watermark to the current usage (`mem_cgroup_reset` does not parse) |
//! | `memory.limit_in_bytes` | 0644 | the limit; unlimited is 9223372036854771712 | `strstrip` + `page_counter_memparse(buf, "-1")` ([`parse_memory_limit`]): rounded **down** to pages, `-1` is unlimited, `""` is 0. `EINVAL` in the root, or if the limit would exceed `memory.memsw.limit_in_bytes`; a limit below the usage first reclaims the group's subtree (`mem_cgroup_resize_max`; without swapping for `memsw`), `EBUSY` when reclaim frees nothing more |
//! | `memory.soft_limit_in_bytes` | 0644 | the soft limit (unlimited by default) | parsed as above, stored (also in the root); when the machine is full, groups above it are reclaimed first, the furthest above first ([`reclaim`]) |
//! | `memory.failcnt` | 0644 | how often a charge hit this group's limit | anything resets it to 0 |
//! | `memory.stat` | 0444 | `memcg1_stat_format`: see below | |
//! | `memory.force_empty` | 0200 | | `EINVAL` in the root; otherwise reclaims all it can of the subtree (swapping too) and succeeds (`mem_cgroup_force_empty`) |
//! | `memory.use_hierarchy` | 0644 | always `1` | `write_u64`: `1` succeeds, anything else `EINVAL` ("Non-hierarchical mode is deprecated") |
//! | `memory.swappiness` | 0644 | the group's swappiness; the root's is `vm_swappiness` (60) | `write_u64`: above 200 `EINVAL` |
//! | `memory.move_charge_at_immigrate` | 0644 | always `0` | `write_u64`: `0` succeeds, anything else `EINVAL` |
//! | `memory.oom_control` | 0644 | `oom_kill_disable %d`, `under_oom %d` (1 while a task waits in the OOM of the group or an ancestor), `oom_kill %lu` | `write_u64`: `EINVAL` in the root and for values other than 0/1; with 1, a task whose page fault finds no room waits instead of an OOM kill |
//! | `memory.pressure_level` | 0444 | always `EINVAL` (it exists for `cgroup.event_control`) | |
//! | `memory.numa_stat` | 0444 | `total= file= anon= unevictable=` and `hierarchical_*` lines in pages, with `N<node>=` per memory node | |
//! | `memory.kmem.limit_in_bytes` | 0644 | the kmem limit (always unlimited) | parsed; `EINVAL` in the root; otherwise accepted **without effect** (deprecated since 6.1) |
//! | `memory.kmem.usage_in_bytes`, `.max_usage_in_bytes`, `.failcnt` | 0444/0644/0644 | 0 (gpc charges no kernel memory) | reset as above |
//! | `memory.kmem.slabinfo` | 0444 | empty (deprecated) | |
//! | `memory.kmem.tcp.limit_in_bytes` | 0644 | the tcp limit | as `limit_in_bytes`, on its own counter (no memsw rule) |
//! | `memory.kmem.tcp.usage_in_bytes`, `.max_usage_in_bytes`, `.failcnt` | 0444/0644/0644 | 0 | reset as above |
//! | `memory.memsw.usage_in_bytes`, `.max_usage_in_bytes`, `.limit_in_bytes`, `.failcnt` | as above | memory + swap: a page written to swap stays charged here | the limit may not go below `memory.limit_in_bytes` (`EINVAL`) |
//!
//! Not shown: `cgroup.event_control`, which Linux lists in the memory directory with
//! `CFTYPE_NO_PREFIX | CFTYPE_WORLD_WRITABLE` (no `memory.` prefix, mode 0222). gpc's file
//! table has no such flags, and eventfd notifications have no meaning in gpc.
//!
//! # Charging: the effect
//!
//! A host with pages of its own (the simulated machine, a kernel through the C ABI)
//! charges through [`reclaim`]: the counters all or none, then reclaim and the OOM
//! killer when a limit refuses (the loop is described there); [`stats`] keeps each
//! group's pages per LRU list, dirty, writeback and swapped, and the events. A host
//! without reclaim calls [`try_charge`] / [`uncharge`] (anonymous pages, no reclaim).
//! Counts are whole pages (4096 bytes): every file shows multiples of 4096.
//!
//! 1. in a non-root group, the `memsw` counters of the group and every ancestor are
//!    charged, then the `memory` counters (`try_charge_memcg`); each level adds first and
//!    checks its limit after (`page_counter_try_charge`), and the first level whose limit
//!    is exceeded counts a failure in **its** `failcnt` and takes back what was added
//!    below it. Peaks (`max_usage_in_bytes`) follow the usage.
//! 2. a charge to the root group changes no counter (Linux: `if
//!    (mem_cgroup_is_root(memcg)) return 0`); the root's counter still sums its children.
//! 3. each page charged is one `pgpgin` (one fault of a small folio) and, anonymous, one
//!    `pgfault`; each page freed or reclaimed is one `pgpgout`.
//! 4. a page written to swap leaves the `memory` counters and enters the swap counters
//!    (v2 `memory.swap.*`); `memsw` keeps it (memory + swap).
//!
//! Uncharging more than was charged clamps the counters at 0 (`page_counter_cancel` warns
//! and does the same).
//!
//! Per-CPU charge batching (`MEMCG_CHARGE_BATCH`, the stock) is not modelled: gpc's
//! usage is exact where Linux's is up to 64 pages per CPU ahead.
//!
//! # Removing a group
//!
//! `rmdir` of a group that still has charges succeeds, as in Linux. Linux keeps the dying
//! memcg (and its charges) alive until the pages are freed; gpc frees the state, so its
//! remaining pages move to the parent's own statistics, where the ancestors' counters
//! already hold them, and the host uncharges and reclaims them from there.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use gpc_core::counter::PageCounter;
use gpc_core::host::reclaim::Lru;

pub mod reclaim;
pub mod stats;
mod v2;

use stats::{Events, Stat, Stats};

use crate::parse::{parse_memory_limit, write_u64_input, PAGE_COUNTER_MAX, PAGE_SIZE};
use gpc_core::parse;
use gpc_core::{CfFlags, CfType, Css, Error, FileCtxOf, Out, Result, Subsystem};

/// `vm_swappiness` at boot: what the root's `memory.swappiness` shows.
pub const DEFAULT_SWAPPINESS: u64 = 60;
/// `MAX_SWAPPINESS` (`include/linux/swap.h`, since 5.8).
pub const MAX_SWAPPINESS: u64 = 200;

/// The `memory` controller (Linux `memory_cgrp_subsys`).
pub struct Memory;

/// Per-container state (Linux `struct mem_cgroup`).
pub struct State {
    /// `memcg->memory`: resident pages (anonymous and page cache).
    memory: PageCounter,
    /// `memcg->memsw` (v1: memory + swap).
    memsw: PageCounter,
    /// `memcg->swap` (v2: pages out on swap, limited by `memory.swap.max`).
    swap: PageCounter,
    /// `memcg->kmem`.
    kmem: PageCounter,
    /// `memcg->tcpmem`.
    tcpmem: PageCounter,
    /// `memory.high`, pages (`memcg->memory.high`).
    high: AtomicU64,
    /// `memory.swap.high`, pages.
    swap_high: AtomicU64,
    /// `memcg->soft_limit`, pages.
    soft_limit: AtomicU64,
    /// `memcg->swappiness`; in the root, `vm_swappiness`.
    swappiness: AtomicU64,
    /// `memcg->oom_kill_disable`.
    oom_kill_disable: AtomicBool,
    /// `memcg->oom_group` (`memory.oom.group`).
    oom_group: AtomicBool,
    /// `memcg->zswap_max` (`memory.zswap.max`), pages: kept and shown, gpc has no zswap.
    zswap_max: AtomicU64,
    /// `memcg->zswap_writeback` (`memory.zswap.writeback`): kept and shown.
    zswap_writeback: AtomicBool,
    /// Tasks waiting in this group's OOM (v1 `oom_kill_disable`).
    under_oom: AtomicU64,
    /// The effective protection the last reclaim computed (`memory.emin`, `.elow`).
    emin: AtomicU64,
    elow: AtomicU64,
    /// Page states and events (`memory.stat`).
    stats: Stats,
    /// `memory.events`, `memory.events.local`.
    events: Events,
}

impl State {
    fn new(swappiness: u64, oom_kill_disable: bool) -> Self {
        State {
            memory: PageCounter::new(),
            memsw: PageCounter::new(),
            swap: PageCounter::new(),
            kmem: PageCounter::new(),
            tcpmem: PageCounter::new(),
            high: AtomicU64::new(PAGE_COUNTER_MAX),
            swap_high: AtomicU64::new(PAGE_COUNTER_MAX),
            soft_limit: AtomicU64::new(PAGE_COUNTER_MAX),
            swappiness: AtomicU64::new(swappiness),
            oom_kill_disable: AtomicBool::new(oom_kill_disable),
            oom_group: AtomicBool::new(false),
            // mem_cgroup_css_alloc: "zswap_max = PAGE_COUNTER_MAX", writeback on, in every
            // group (not inherited).
            zswap_max: AtomicU64::new(PAGE_COUNTER_MAX),
            zswap_writeback: AtomicBool::new(true),
            under_oom: AtomicU64::new(0),
            emin: AtomicU64::new(0),
            elow: AtomicU64::new(0),
            stats: Stats::new(),
            events: Events::new(),
        }
    }

    /// The page statistics.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The events.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The memory counter (`memory.current`, `memory.max`, `memory.min/low`).
    pub fn memory_counter(&self) -> &PageCounter {
        &self.memory
    }

    /// The memory + swap counter (v1 `memory.memsw.*`).
    pub fn memsw_counter(&self) -> &PageCounter {
        &self.memsw
    }

    /// The swap counter (`memory.swap.current`, `memory.swap.max`).
    pub fn swap_counter(&self) -> &PageCounter {
        &self.swap
    }

    /// `memory.high`, pages.
    pub fn high(&self) -> u64 {
        self.high.load(Ordering::Relaxed)
    }

    /// The swappiness reclaim of this group uses.
    pub fn swappiness(&self) -> u64 {
        self.swappiness.load(Ordering::Relaxed)
    }
}

/// Which page counter a file or a charge uses (`enum res_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Res {
    /// `_MEM`.
    Mem,
    /// `_MEMSWAP`.
    Memsw,
    /// `_KMEM`.
    Kmem,
    /// `_TCP`.
    Tcp,
}

const MEM: u8 = 0;
const MEMSW: u8 = 1;
const KMEM: u8 = 2;
const TCP: u8 = 3;

impl Res {
    const fn from_u8(v: u8) -> Res {
        match v {
            MEMSW => Res::Memsw,
            KMEM => Res::Kmem,
            TCP => Res::Tcp,
            _ => Res::Mem,
        }
    }

    fn counter(self, st: &State) -> &PageCounter {
        match self {
            Res::Mem => &st.memory,
            Res::Memsw => &st.memsw,
            Res::Kmem => &st.kmem,
            Res::Tcp => &st.tcpmem,
        }
    }
}

/// Bytes to whole pages, rounding up (what a charge of `bytes` costs).
pub const fn bytes_to_pages(bytes: u64) -> u64 {
    bytes.div_ceil(PAGE_SIZE)
}

/// Pages to the bytes a v1 file prints (`(u64)pages * PAGE_SIZE`).
const fn pages_to_bytes(pages: u64) -> u64 {
    pages.wrapping_mul(PAGE_SIZE)
}

/// Charge `bytes` (rounded up to pages) of anonymous memory to `css` without reclaim:
/// the counters all or none ([`reclaim::try_charge_pages`]), then the pages on the
/// inactive anonymous list ([`reclaim::commit`]). For a host that has no reclaim; one
/// that has runs the loop described in [`reclaim`].
///
/// # Errors
///
/// `ENOMEM` if the group or an ancestor would exceed its `memory.memsw.limit_in_bytes`
/// or `memory.limit_in_bytes`; that level's `failcnt` grows and nothing else changes.
pub fn try_charge(css: Css<'_, Memory>, bytes: u64) -> Result {
    let pages = bytes_to_pages(bytes);
    if pages == 0 {
        return Ok(());
    }
    reclaim::try_charge_pages(css, pages).map_err(|_| Error::ENOMEM)?;
    reclaim::commit(css, pages, Lru::InactiveAnon);
    Ok(())
}

/// Give back `bytes` (rounded up to pages) of anonymous memory charged to `css` with
/// [`try_charge`] (`mem_cgroup_uncharge`). Counters never go below zero.
pub fn uncharge(css: Css<'_, Memory>, bytes: u64) {
    reclaim::uncharge_pages(css, bytes_to_pages(bytes), Lru::InactiveAnon);
}

/// What `memory.usage_in_bytes` shows, in bytes (`mem_cgroup_usage`).
pub fn usage(css: Css<'_, Memory>) -> u64 {
    pages_to_bytes(usage_pages(css, Res::Mem))
}

/// `mem_cgroup_usage` for `memory`/`memsw` (the root shows its statistics: `NR_FILE_PAGES
/// + NR_ANON_MAPPED`, plus `MEMCG_SWAP` for memsw), or the counter for the others.
fn usage_pages(css: Css<'_, Memory>, res: Res) -> u64 {
    let st = css.state();
    match res {
        Res::Mem if css.is_root() => st.stats.tree_pages(),
        Res::Memsw if css.is_root() => st.stats.tree_pages() + st.stats.tree(Stat::Swap),
        _ => res.counter(st).usage(),
    }
}

/// The group's `memory.limit_in_bytes` in bytes (9223372036854771712 when unlimited).
pub fn limit(css: Css<'_, Memory>) -> u64 {
    pages_to_bytes(css.state().memory.max())
}

/// Whether the group's OOM killer is disabled (`memory.oom_control`): Linux then makes the
/// charging task wait for memory instead of killing.
pub fn oom_kill_disabled(css: Css<'_, Memory>) -> bool {
    css.state().oom_kill_disable.load(Ordering::Relaxed)
}

/// The host's OOM killer killed a task of `css`: count it in `oom_kill` of the group and
/// of each ancestor below the root (`memcg_memory_event(memcg, MEMCG_OOM_KILL)`).
pub fn record_oom_kill(css: Css<'_, Memory>) {
    reclaim::record_oom_kill(css);
}

/// Reclaim from the subtree of the file's group as a write asks (`force_empty`, a lowered
/// limit, `memory.reclaim`), through the host's [`gpc_core::TaskTable::page_reclaim`];
/// 0 without one. The subtree is walked from the file context, under the hierarchy lock
/// the write holds.
fn reclaim_from_file(ctx: &FileCtxOf<'_, Memory>, req: &reclaim::Request) -> u64 {
    let Some(host) = ctx.caller().tasks.page_reclaim() else {
        return 0;
    };
    let mut groups: Vec<Css<'_, Memory>> = Vec::new();
    let n = 1 + ctx.descendants().count();
    if groups.try_reserve_exact(n).is_err() {
        return 0;
    }
    groups.push(ctx.css());
    groups.extend(ctx.descendants().take(n - 1));
    reclaim::reclaim(&groups, req, host)
}

/// A proactive reclaim request of `nr` pages from a file write.
fn file_request(ctx: &FileCtxOf<'_, Memory>, nr: u64, swappiness: Option<u64>) -> reclaim::Request {
    reclaim::Request {
        nr,
        may_swap: true,
        swappiness,
        global: false,
        recursive_prot: ctx
            .v2_options()
            .contains(gpc_core::options::V2Options::MEMORY_RECURSIVE_PROT),
        origin: reclaim::Origin::Proactive,
    }
}

// ---------------------------------------------------------------------------------------
// File handlers
// ---------------------------------------------------------------------------------------

/// `RES_USAGE`.
fn read_usage<const R: u8>(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    let pages = usage_pages(ctx.css(), Res::from_u8(R));
    writeln!(out, "{}", pages_to_bytes(pages))
}

/// `RES_LIMIT`.
fn read_limit<const R: u8>(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    let c = Res::from_u8(R).counter(ctx.css().state());
    writeln!(out, "{}", pages_to_bytes(c.max()))
}

/// `RES_MAX_USAGE`.
fn read_max_usage<const R: u8>(
    _: &Memory,
    ctx: &FileCtxOf<'_, Memory>,
    out: &mut Out<'_>,
) -> Result {
    let c = Res::from_u8(R).counter(ctx.css().state());
    writeln!(out, "{}", pages_to_bytes(c.watermark()))
}

/// `RES_FAILCNT`.
fn read_failcnt<const R: u8>(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    let c = Res::from_u8(R).counter(ctx.css().state());
    writeln!(out, "{}", c.failcnt())
}

/// `RES_SOFT_LIMIT`.
fn read_soft_limit(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    writeln!(
        out,
        "{}",
        pages_to_bytes(ctx.css().state().soft_limit.load(Ordering::Relaxed))
    )
}

/// `mem_cgroup_resize_max`: keep `memory.max <= memsw.max`, then set the limit,
/// reclaiming from the group while its usage is above it (without swapping for the
/// `memsw` limit); `EBUSY` once a reclaim frees nothing. Linux asks for
/// `SWAP_CLUSTER_MAX` pages per round; gpc asks for the excess rounded up to that in one
/// request, which frees the same pages.
fn resize_max(ctx: &FileCtxOf<'_, Memory>, max: u64, memsw: bool) -> Result {
    let st = ctx.css().state();
    loop {
        let invariant = if memsw {
            max >= st.memory.max()
        } else {
            max <= st.memsw.max()
        };
        if !invariant {
            return Err(Error::EINVAL);
        }
        let counter = if memsw { &st.memsw } else { &st.memory };
        if counter.set_max(max).is_ok() {
            return Ok(());
        }
        let excess = counter.usage().saturating_sub(max);
        let nr = excess.div_ceil(reclaim::SWAP_CLUSTER_MAX) * reclaim::SWAP_CLUSTER_MAX;
        let mut req = file_request(ctx, nr.max(reclaim::SWAP_CLUSTER_MAX), None);
        req.may_swap = !memsw;
        if reclaim_from_file(ctx, &req) == 0 {
            return Err(Error::EBUSY);
        }
    }
}

/// `mem_cgroup_write` for `RES_LIMIT`.
fn write_limit<const R: u8>(_: &Memory, ctx: &FileCtxOf<'_, Memory>, buf: &[u8]) -> Result {
    let pages = parse_memory_limit(buf)?;
    let css = ctx.css();
    // "Can't set limit on root"
    if css.is_root() {
        return Err(Error::EINVAL);
    }
    let st = css.state();
    match Res::from_u8(R) {
        Res::Mem => resize_max(ctx, pages, false),
        Res::Memsw => resize_max(ctx, pages, true),
        // "kmem.limit_in_bytes is deprecated and will be removed. Writing any value to
        // this file has no effect."
        Res::Kmem => Ok(()),
        Res::Tcp => st.tcpmem.set_max(pages),
    }
}

/// `mem_cgroup_write` for `RES_SOFT_LIMIT` (the root included).
fn write_soft_limit(_: &Memory, ctx: &FileCtxOf<'_, Memory>, buf: &[u8]) -> Result {
    let pages = parse_memory_limit(buf)?;
    ctx.css().state().soft_limit.store(pages, Ordering::Relaxed);
    Ok(())
}

/// `mem_cgroup_reset` for `RES_MAX_USAGE`: the written bytes are not looked at.
fn reset_max_usage<const R: u8>(_: &Memory, ctx: &FileCtxOf<'_, Memory>, _buf: &[u8]) -> Result {
    Res::from_u8(R).counter(ctx.css().state()).reset_watermark();
    Ok(())
}

/// `mem_cgroup_reset` for `RES_FAILCNT`.
fn reset_failcnt<const R: u8>(_: &Memory, ctx: &FileCtxOf<'_, Memory>, _buf: &[u8]) -> Result {
    Res::from_u8(R).counter(ctx.css().state()).reset_failcnt();
    Ok(())
}

/// `mem_cgroup_force_empty_write` → `mem_cgroup_force_empty`: reclaim all it can of the
/// group (and its descendants), swapping too; Linux succeeds even when pages remain.
fn write_force_empty(_: &Memory, ctx: &FileCtxOf<'_, Memory>, _buf: &[u8]) -> Result {
    let css = ctx.css();
    if css.is_root() {
        return Err(Error::EINVAL);
    }
    let usage = css.state().memory.usage();
    if usage > 0 {
        reclaim_from_file(ctx, &file_request(ctx, usage, None));
    }
    Ok(())
}

fn read_use_hierarchy(_: &Memory, _: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    out.bytes(b"1\n")
}

/// `mem_cgroup_hierarchy_write`.
fn write_use_hierarchy(_: &Memory, _: &FileCtxOf<'_, Memory>, buf: &[u8]) -> Result {
    if write_u64_input(buf)? == 1 {
        Ok(())
    } else {
        Err(Error::EINVAL)
    }
}

/// `mem_cgroup_swappiness_read`.
fn read_swappiness(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    writeln!(
        out,
        "{}",
        ctx.css().state().swappiness.load(Ordering::Relaxed)
    )
}

/// `mem_cgroup_swappiness_write` (in the root it sets `vm_swappiness`).
fn write_swappiness(_: &Memory, ctx: &FileCtxOf<'_, Memory>, buf: &[u8]) -> Result {
    let val = write_u64_input(buf)?;
    if val > MAX_SWAPPINESS {
        return Err(Error::EINVAL);
    }
    ctx.css().state().swappiness.store(val, Ordering::Relaxed);
    Ok(())
}

fn read_move_charge(_: &Memory, _: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    out.bytes(b"0\n")
}

/// `mem_cgroup_move_charge_write` (6.13+): only `0` is accepted.
fn write_move_charge(_: &Memory, _: &FileCtxOf<'_, Memory>, buf: &[u8]) -> Result {
    if write_u64_input(buf)? == 0 {
        Ok(())
    } else {
        Err(Error::EINVAL)
    }
}

/// `mem_cgroup_oom_control_read`: `under_oom` is 1 while a task waits in the OOM of the
/// group or an ancestor.
fn read_oom_control(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    let css = ctx.css();
    let st = css.state();
    writeln!(
        out,
        "oom_kill_disable {}\nunder_oom {}\noom_kill {}",
        u8::from(st.oom_kill_disable.load(Ordering::Relaxed)),
        u8::from(reclaim::under_oom(css)),
        // v1 counts an event in the group alone (`memcg_memory_event` stops after it
        // when memory is not on the default hierarchy).
        st.events.local(stats::Event::OomKill)
    )
}

/// `mem_cgroup_oom_control_write`: "cannot set to root cgroup and only 0 and 1 are
/// allowed".
fn write_oom_control(_: &Memory, ctx: &FileCtxOf<'_, Memory>, buf: &[u8]) -> Result {
    let val = write_u64_input(buf)?;
    let css = ctx.css();
    if css.is_root() || val > 1 {
        return Err(Error::EINVAL);
    }
    css.state()
        .oom_kill_disable
        .store(val == 1, Ordering::Relaxed);
    Ok(())
}

/// `mem_cgroup_dummy_seq_show`: "Its only job is to provide a read handler for a file so
/// that cgroup_file_mode() will add read permissions."
fn read_pressure_level(_: &Memory, _: &FileCtxOf<'_, Memory>, _: &mut Out<'_>) -> Result {
    Err(Error::EINVAL)
}

/// `mem_cgroup_slab_show`: deprecated, prints nothing.
fn read_slabinfo(_: &Memory, _: &FileCtxOf<'_, Memory>, _: &mut Out<'_>) -> Result {
    Ok(())
}

/// `memcg_numa_stat_show`: gpc puts all memory on node 0.
fn read_numa_stat(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    let st = ctx.css().state();
    let nodes = ctx.nr_mems().max(1);
    let column = |tree: bool| {
        let v = |i: Stat| {
            if tree {
                st.stats.tree(i)
            } else {
                st.stats.local(i)
            }
        };
        let anon = v(Stat::InactiveAnon) + v(Stat::ActiveAnon);
        let file = v(Stat::InactiveFile) + v(Stat::ActiveFile);
        [
            ("total", anon + file),
            ("file", file),
            ("anon", anon),
            ("unevictable", 0),
        ]
    };
    for (prefix, tree) in [("", false), ("hierarchical_", true)] {
        for (name, pages) in column(tree) {
            write!(out, "{prefix}{name}={pages}")?;
            for nid in 0..nodes {
                let here = if nid == 0 { pages } else { 0 };
                write!(out, " N{nid}={here}")?;
            }
            out.bytes(b"\n")?;
        }
    }
    Ok(())
}

/// `memcg1_stats` / `memcg1_stat_names` (THP and swap configured): the page-state items,
/// and what gpc counts for each (`None`: always 0 in gpc).
const STATS_V1: [(&str, Option<Stat>); 11] = [
    ("cache", None),
    ("rss", None),
    ("rss_huge", None),
    ("shmem", None),
    ("mapped_file", None),
    ("dirty", Some(Stat::Dirty)),
    ("writeback", Some(Stat::Writeback)),
    ("workingset_refault_anon", None),
    ("workingset_refault_file", None),
    ("swap", Some(Stat::Swap)),
    ("swapcached", None),
];

/// `memcg1_events`.
const EVENTS_V1: [(&str, Stat); 4] = [
    ("pgpgin", Stat::Pgpgin),
    ("pgpgout", Stat::Pgpgout),
    ("pgfault", Stat::Pgfault),
    ("pgmajfault", Stat::Pgmajfault),
];

/// `lru_list_name()` for `NR_LRU_LISTS`.
const LRU_NAMES: [(&str, Option<Stat>); 5] = [
    ("inactive_anon", Some(Stat::InactiveAnon)),
    ("active_anon", Some(Stat::ActiveAnon)),
    ("inactive_file", Some(Stat::InactiveFile)),
    ("active_file", Some(Stat::ActiveFile)),
    ("unevictable", None),
];

/// One column of v1 `memory.stat`: the group's own values, or its subtree's.
fn write_stat_column(out: &mut Out<'_>, stats: &Stats, tree: bool, prefix: &str) -> Result {
    let v = |i: Stat| {
        if tree {
            stats.tree(i)
        } else {
            stats.local(i)
        }
    };
    for (i, (name, item)) in STATS_V1.iter().enumerate() {
        let pages = match (i, item) {
            (0, _) => v(Stat::InactiveFile) + v(Stat::ActiveFile),
            (1, _) => v(Stat::InactiveAnon) + v(Stat::ActiveAnon),
            (_, Some(item)) => v(*item),
            (_, None) => 0,
        };
        // Page items print bytes; the workingset counters (0 here) are plain counts.
        writeln!(out, "{prefix}{name} {}", pages_to_bytes(pages))?;
    }
    for (name, item) in EVENTS_V1 {
        writeln!(out, "{prefix}{name} {}", v(item))?;
    }
    for (name, item) in LRU_NAMES {
        writeln!(out, "{prefix}{name} {}", pages_to_bytes(item.map_or(0, v)))?;
    }
    Ok(())
}

/// `memory_stat_show` → `memcg1_stat_format`.
fn read_stat(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    let css = ctx.css();
    let st = css.state();
    write_stat_column(out, &st.stats, false, "")?;
    // "Hierarchical information"
    let (memory, memsw) = css
        .ancestors_and_self()
        .fold((PAGE_COUNTER_MAX, PAGE_COUNTER_MAX), |(m, s), c| {
            (m.min(c.state().memory.max()), s.min(c.state().memsw.max()))
        });
    writeln!(out, "hierarchical_memory_limit {}", pages_to_bytes(memory))?;
    writeln!(out, "hierarchical_memsw_limit {}", pages_to_bytes(memsw))?;
    write_stat_column(out, &st.stats, true, "total_")
}

/// `cgroup.event_control` (`memcg_write_event_control`, mm/memcontrol-v1.c): "EFD CFD
/// [ARGS]" registers an eventfd for a notification. The event fd number is parsed with
/// `simple_strtoul` and must be followed by a blank, then the control file's fd; anything
/// else is `EINVAL`. A well-formed request then looks its fds up: a host without file
/// descriptors (the simulator) has none, so Linux's next answer, `EBADF`, is the result.
fn write_event_control(_: &Memory, _ctx: &FileCtxOf<'_, Memory>, data: &[u8]) -> Result {
    let buf = parse::strstrip(parse::cstr(data));
    let (_efd, rest) = parse::simple_strtoull(buf, 10);
    let Some(rest) = rest.strip_prefix(b" ") else {
        return Err(Error::EINVAL);
    };
    let (_cfd, rest) = parse::simple_strtoull(rest, 10);
    if !(rest.is_empty() || rest.first() == Some(&b' ')) {
        return Err(Error::EINVAL);
    }
    Err(Error::EBADF)
}

/// The files, in Linux's order: v1's `mem_cgroup_legacy_files[]`, then `memsw_files[]`;
/// then v2's `memory_files[]`, `swap_files[]` and `zswap_files[]` ([`v2`]). Names may
/// repeat (`stat`, `numa_stat`): a v1 file never shows on v2 and an `ONLY_ON_DFL` file
/// never on v1.
static FILES: [CfType<Memory>; 47] = [
    CfType::ro("usage_in_bytes", read_usage::<MEM>),
    CfType::rw(
        "max_usage_in_bytes",
        read_max_usage::<MEM>,
        reset_max_usage::<MEM>,
    ),
    CfType::rw("limit_in_bytes", read_limit::<MEM>, write_limit::<MEM>),
    CfType::rw("soft_limit_in_bytes", read_soft_limit, write_soft_limit),
    CfType::rw("failcnt", read_failcnt::<MEM>, reset_failcnt::<MEM>),
    CfType::ro("stat", read_stat),
    CfType::wo("force_empty", write_force_empty),
    CfType::rw("use_hierarchy", read_use_hierarchy, write_use_hierarchy),
    CfType::wo("cgroup.event_control", write_event_control)
        .with_flags(CfFlags::NO_PREFIX.union(CfFlags::WORLD_WRITABLE)),
    CfType::rw("swappiness", read_swappiness, write_swappiness),
    CfType::rw(
        "move_charge_at_immigrate",
        read_move_charge,
        write_move_charge,
    ),
    CfType::rw("oom_control", read_oom_control, write_oom_control),
    CfType::ro("pressure_level", read_pressure_level),
    CfType::ro("numa_stat", read_numa_stat),
    CfType::rw(
        "kmem.limit_in_bytes",
        read_limit::<KMEM>,
        write_limit::<KMEM>,
    ),
    CfType::ro("kmem.usage_in_bytes", read_usage::<KMEM>),
    CfType::rw("kmem.failcnt", read_failcnt::<KMEM>, reset_failcnt::<KMEM>),
    CfType::rw(
        "kmem.max_usage_in_bytes",
        read_max_usage::<KMEM>,
        reset_max_usage::<KMEM>,
    ),
    CfType::ro("kmem.slabinfo", read_slabinfo),
    CfType::rw(
        "kmem.tcp.limit_in_bytes",
        read_limit::<TCP>,
        write_limit::<TCP>,
    ),
    CfType::ro("kmem.tcp.usage_in_bytes", read_usage::<TCP>),
    CfType::rw(
        "kmem.tcp.failcnt",
        read_failcnt::<TCP>,
        reset_failcnt::<TCP>,
    ),
    CfType::rw(
        "kmem.tcp.max_usage_in_bytes",
        read_max_usage::<TCP>,
        reset_max_usage::<TCP>,
    ),
    CfType::ro("memsw.usage_in_bytes", read_usage::<MEMSW>),
    CfType::rw(
        "memsw.max_usage_in_bytes",
        read_max_usage::<MEMSW>,
        reset_max_usage::<MEMSW>,
    ),
    CfType::rw(
        "memsw.limit_in_bytes",
        read_limit::<MEMSW>,
        write_limit::<MEMSW>,
    ),
    CfType::rw(
        "memsw.failcnt",
        read_failcnt::<MEMSW>,
        reset_failcnt::<MEMSW>,
    ),
    // memory_files[]
    CfType::ro("current", v2::read_current).with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::rw("peak", v2::read_peak, v2::write_peak).with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::rw("min", v2::read_min, v2::write_min).with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::rw("low", v2::read_low, v2::write_low).with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::rw("high", v2::read_high, v2::write_high).with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::rw("max", v2::read_max, v2::write_max).with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::ro("events", v2::read_events).with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::ro("events.local", v2::read_events_local).with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::ro("stat", v2::read_stat).with_flags(v2::DFL),
    CfType::ro("numa_stat", v2::read_numa_stat).with_flags(v2::DFL),
    CfType::rw("oom.group", v2::read_oom_group, v2::write_oom_group)
        .with_flags(v2::DFL_NOT_ON_ROOT.union(CfFlags::NS_DELEGATABLE)),
    CfType::wo("reclaim", v2::write_reclaim).with_flags(v2::DFL.union(CfFlags::NS_DELEGATABLE)),
    // swap_files[]
    CfType::ro("swap.current", v2::read_swap_current).with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::rw("swap.high", v2::read_swap_high, v2::write_swap_high)
        .with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::rw("swap.max", v2::read_swap_max, v2::write_swap_max).with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::rw("swap.peak", v2::read_swap_peak, v2::write_peak).with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::ro("swap.events", v2::read_swap_events).with_flags(v2::DFL_NOT_ON_ROOT),
    // zswap_files[]
    CfType::ro("zswap.current", v2::read_zswap_current).with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::rw("zswap.max", v2::read_zswap_max, v2::write_zswap_max)
        .with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::rw(
        "zswap.writeback",
        v2::read_zswap_writeback,
        v2::write_zswap_writeback,
    )
    .with_flags(v2::DFL),
];

impl Subsystem for Memory {
    type State = State;
    const NAME: &'static str = "memory";

    fn files(&self) -> &'static [CfType<Self>] {
        &FILES
    }

    /// `mem_cgroup_css_alloc`: unlimited counters, soft limit unlimited; a child takes its
    /// parent's swappiness (`mem_cgroup_swappiness(parent)`) and `oom_kill_disable`.
    fn create(&self, parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(match parent {
            None => State::new(DEFAULT_SWAPPINESS, false),
            Some(p) => {
                let ps = p.state();
                State::new(
                    ps.swappiness.load(Ordering::Relaxed),
                    ps.oom_kill_disable.load(Ordering::Relaxed),
                )
            }
        })
    }

    /// The group goes away with its charges: its pages become the parent's own (see the
    /// module doc); the ancestors' counters and subtree columns already include them.
    fn destroy(&self, css: Css<'_, Self>) {
        if let Some(parent) = css.parent() {
            // `mem_cgroup_css_offline`: the protection leaves the parent's sums, or the
            // siblings' effective protection would stay scaled down by it.
            let st = css.state();
            st.memory.set_min(0, Some(&parent.state().memory));
            st.memory.set_low(0, Some(&parent.state().memory));
            st.stats.hand_over(&parent.state().stats);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use std::string::String;
    use std::vec::Vec;

    use crate::parse::UNLIMITED_MEMORY_BYTES;
    use gpc_core::counter;
    use gpc_core::testing::OneHierarchy;

    use super::*;

    gpc_core::one_hierarchy_harness!(World);

    impl World {
        fn new() -> World {
            World(OneHierarchy::new(&[&Memory], "memory", 2, 2).unwrap())
        }

        fn num(&self, path: &str) -> u64 {
            self.read(path).unwrap().trim_end().parse().unwrap()
        }

        fn with<R>(&self, path: &str, f: impl FnOnce(Css<'_, Memory>) -> R) -> R {
            let ss = self.gpc.subsys_id("memory").unwrap();
            self.gpc
                .with_container_css(self.h, path, ss, |c| f(c.typed::<Memory>().unwrap()))
                .unwrap()
        }

        fn charge(&self, path: &str, bytes: u64) -> Result {
            self.with(path, |c| try_charge(c, bytes))
        }

        fn uncharge(&self, path: &str, bytes: u64) {
            self.with(path, |c| uncharge(c, bytes));
        }

        /// One line of memory.stat.
        fn stat(&self, dir: &str, key: &str) -> u64 {
            let text = self.read(&std::format!("{dir}memory.stat")).unwrap();
            let line = text
                .lines()
                .find(|l| l.split(' ').next() == Some(key))
                .unwrap();
            line.split(' ').nth(1).unwrap().parse().unwrap()
        }
    }

    const ALL: [&str; 26] = [
        "memory.failcnt",
        "memory.force_empty",
        "memory.kmem.failcnt",
        "memory.kmem.limit_in_bytes",
        "memory.kmem.max_usage_in_bytes",
        "memory.kmem.slabinfo",
        "memory.kmem.tcp.failcnt",
        "memory.kmem.tcp.limit_in_bytes",
        "memory.kmem.tcp.max_usage_in_bytes",
        "memory.kmem.tcp.usage_in_bytes",
        "memory.kmem.usage_in_bytes",
        "memory.limit_in_bytes",
        "memory.max_usage_in_bytes",
        "memory.memsw.failcnt",
        "memory.memsw.limit_in_bytes",
        "memory.memsw.max_usage_in_bytes",
        "memory.memsw.usage_in_bytes",
        "memory.move_charge_at_immigrate",
        "memory.numa_stat",
        "memory.oom_control",
        "memory.pressure_level",
        "memory.soft_limit_in_bytes",
        "memory.stat",
        "memory.swappiness",
        "memory.usage_in_bytes",
        "memory.use_hierarchy",
    ];

    #[test]
    fn files_modes_and_defaults() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        for dir in ["", "a"] {
            let names = w.ls(dir);
            let mine: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .filter(|n| n.starts_with("memory."))
                .collect();
            assert_eq!(mine, ALL, "{dir}");
            assert!(
                names.iter().any(|n| n == "cgroup.event_control"),
                "unprefixed, {dir}"
            );
        }
        for f in FILES
            .iter()
            .filter(|f| !f.flags.contains(CfFlags::ONLY_ON_DFL))
        {
            let mode = gpc_core::files::file_mode(f.read.is_some(), f.write.is_some());
            let expect = match f.name {
                "usage_in_bytes"
                | "stat"
                | "pressure_level"
                | "numa_stat"
                | "kmem.usage_in_bytes"
                | "kmem.slabinfo"
                | "kmem.tcp.usage_in_bytes"
                | "memsw.usage_in_bytes" => 0o444,
                // The raw handler mode; CfFlags::WORLD_WRITABLE makes it 0222 (core).
                "force_empty" | "cgroup.event_control" => 0o200,
                _ => 0o644,
            };
            assert_eq!(mode, expect, "{}", f.name);
        }
        for dir in ["", "a/"] {
            let r = |f: &str| w.read(&std::format!("{dir}memory.{f}")).unwrap();
            let unl = std::format!("{UNLIMITED_MEMORY_BYTES}\n");
            assert_eq!(r("usage_in_bytes"), "0\n");
            assert_eq!(r("max_usage_in_bytes"), "0\n");
            assert_eq!(r("limit_in_bytes"), unl);
            assert_eq!(r("soft_limit_in_bytes"), unl);
            assert_eq!(r("failcnt"), "0\n");
            assert_eq!(r("use_hierarchy"), "1\n");
            assert_eq!(r("swappiness"), "60\n");
            assert_eq!(r("move_charge_at_immigrate"), "0\n");
            assert_eq!(
                r("oom_control"),
                "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"
            );
            assert_eq!(r("kmem.limit_in_bytes"), unl);
            assert_eq!(r("kmem.usage_in_bytes"), "0\n");
            assert_eq!(r("kmem.slabinfo"), "");
            assert_eq!(r("kmem.tcp.limit_in_bytes"), unl);
            assert_eq!(r("memsw.limit_in_bytes"), unl);
            assert_eq!(r("memsw.usage_in_bytes"), "0\n");
            assert_eq!(
                r("numa_stat"),
                "total=0 N0=0 N1=0\nfile=0 N0=0 N1=0\nanon=0 N0=0 N1=0\nunevictable=0 N0=0 N1=0\n\
                 hierarchical_total=0 N0=0 N1=0\nhierarchical_file=0 N0=0 N1=0\n\
                 hierarchical_anon=0 N0=0 N1=0\nhierarchical_unevictable=0 N0=0 N1=0\n"
            );
        }
        assert_eq!(w.read("a/memory.pressure_level"), Err(Error::EINVAL));
        assert_eq!(w.read("a/memory.force_empty"), Err(Error::EINVAL));
    }

    #[test]
    fn stat_layout() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.charge("a", 4096 * 3).unwrap();
        let expect = "cache 0\nrss 12288\nrss_huge 0\nshmem 0\nmapped_file 0\ndirty 0\nwriteback 0\n\
            workingset_refault_anon 0\nworkingset_refault_file 0\nswap 0\nswapcached 0\n\
            pgpgin 3\npgpgout 0\npgfault 3\npgmajfault 0\n\
            inactive_anon 12288\nactive_anon 0\ninactive_file 0\nactive_file 0\nunevictable 0\n\
            hierarchical_memory_limit 9223372036854771712\nhierarchical_memsw_limit 9223372036854771712\n\
            total_cache 0\ntotal_rss 12288\ntotal_rss_huge 0\ntotal_shmem 0\ntotal_mapped_file 0\n\
            total_dirty 0\ntotal_writeback 0\ntotal_workingset_refault_anon 0\n\
            total_workingset_refault_file 0\ntotal_swap 0\ntotal_swapcached 0\n\
            total_pgpgin 3\ntotal_pgpgout 0\ntotal_pgfault 3\ntotal_pgmajfault 0\n\
            total_inactive_anon 12288\ntotal_active_anon 0\ntotal_inactive_file 0\n\
            total_active_file 0\ntotal_unevictable 0\n";
        assert_eq!(w.read("a/memory.stat").unwrap(), expect);
        // The root: nothing local, everything in the totals.
        assert_eq!(w.stat("", "rss"), 0);
        assert_eq!(w.stat("", "total_rss"), 12288);
        assert_eq!(w.stat("", "total_pgpgin"), 3, "one per page (a fault each)");
    }

    #[test]
    fn limit_parsing() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        for (input, bytes) in [
            (&b"1M\n"[..], 1u64 << 20),
            (b"4097", 4096),
            (b"4095", 0),
            (b"1k", 0),
            (b"8K", 8192),
            (b"1G", 1 << 30),
            (b"0x2000", 8192),
            (b"  12288  \n", 12288),
            (b"\n", 0),
            (b"", 0), // (a 0-byte write is the core's no-op: the value stays)
            (b"-1", UNLIMITED_MEMORY_BYTES),
            (b"9223372036854775807", UNLIMITED_MEMORY_BYTES),
            (b"16E", 0),
            (b"8E", UNLIMITED_MEMORY_BYTES),
            (b"1T", 1 << 40),
            (b"4096\0junk", 4096),
        ] {
            w.write("a/memory.limit_in_bytes", input).unwrap();
            if !input.is_empty() {
                assert_eq!(w.num("a/memory.limit_in_bytes"), bytes, "{input:?}");
            }
        }
        for bad in [
            &b"-2"[..],
            b"+1",
            b"1 k",
            b"1kb",
            b"08",
            b"abc",
            b"1M 2M",
            b"max",
            b"- 1",
            b"1\n2",
        ] {
            assert_eq!(
                w.write("a/memory.limit_in_bytes", bad),
                Err(Error::EINVAL),
                "{bad:?}"
            );
        }
        assert_eq!(w.num("a/memory.limit_in_bytes"), 4096);
        // The root: parse errors first, then EINVAL for any limit.
        assert_eq!(w.write("memory.limit_in_bytes", b"1M"), Err(Error::EINVAL));
        assert_eq!(w.write("memory.limit_in_bytes", b"-1"), Err(Error::EINVAL));
        assert_eq!(
            w.write("memory.memsw.limit_in_bytes", b"-1"),
            Err(Error::EINVAL)
        );
        assert_eq!(
            w.write("memory.kmem.limit_in_bytes", b"-1"),
            Err(Error::EINVAL)
        );
        assert_eq!(
            w.write("memory.kmem.tcp.limit_in_bytes", b"-1"),
            Err(Error::EINVAL)
        );
        assert_eq!(
            w.write("memory.kmem.limit_in_bytes", b"x"),
            Err(Error::EINVAL)
        );
        // The soft limit is accepted everywhere.
        w.write("memory.soft_limit_in_bytes", b"1M").unwrap();
        assert_eq!(w.num("memory.soft_limit_in_bytes"), 1 << 20);
        w.write("a/memory.soft_limit_in_bytes", b"8193").unwrap();
        assert_eq!(w.num("a/memory.soft_limit_in_bytes"), 8192);
        assert_eq!(
            w.write("a/memory.soft_limit_in_bytes", b"1 M"),
            Err(Error::EINVAL)
        );
        // kmem: parsed, accepted, no effect.
        w.write("a/memory.kmem.limit_in_bytes", b"1M").unwrap();
        assert_eq!(
            w.num("a/memory.kmem.limit_in_bytes"),
            UNLIMITED_MEMORY_BYTES
        );
        // tcp: stored.
        w.write("a/memory.kmem.tcp.limit_in_bytes", b"1M").unwrap();
        assert_eq!(w.num("a/memory.kmem.tcp.limit_in_bytes"), 1 << 20);
    }

    #[test]
    fn memsw_invariant() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.write("a/memory.limit_in_bytes", b"2M").unwrap();
        assert_eq!(
            w.write("a/memory.memsw.limit_in_bytes", b"1M"),
            Err(Error::EINVAL)
        );
        w.write("a/memory.memsw.limit_in_bytes", b"2M").unwrap();
        w.write("a/memory.memsw.limit_in_bytes", b"3M").unwrap();
        // memory.limit may not exceed memsw.limit, "-1" included.
        assert_eq!(
            w.write("a/memory.limit_in_bytes", b"4M"),
            Err(Error::EINVAL)
        );
        assert_eq!(
            w.write("a/memory.limit_in_bytes", b"-1"),
            Err(Error::EINVAL)
        );
        w.write("a/memory.limit_in_bytes", b"3M").unwrap();
        w.write("a/memory.memsw.limit_in_bytes", b"-1").unwrap();
        w.write("a/memory.limit_in_bytes", b"-1").unwrap();
    }

    #[test]
    fn charges_limits_failcnt_and_peaks() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        w.write("a/memory.limit_in_bytes", b"16K").unwrap();
        // Rounded up to pages.
        w.charge("a/b", 1).unwrap();
        assert_eq!(w.num("a/b/memory.usage_in_bytes"), 4096);
        assert_eq!(w.num("a/memory.usage_in_bytes"), 4096);
        assert_eq!(w.num("memory.usage_in_bytes"), 4096);
        assert_eq!(w.num("a/b/memory.memsw.usage_in_bytes"), 4096);
        w.charge("a/b", 8192).unwrap();
        w.charge("a", 4096).unwrap();
        assert_eq!(w.num("a/memory.usage_in_bytes"), 16384);
        // The parent's limit is hit: failcnt grows there only; nothing else changes.
        assert_eq!(w.charge("a/b", 1), Err(Error::ENOMEM));
        assert_eq!(w.num("a/memory.failcnt"), 1);
        assert_eq!(w.num("a/b/memory.failcnt"), 0);
        assert_eq!(w.num("memory.failcnt"), 0);
        assert_eq!(w.num("a/memory.memsw.failcnt"), 0);
        assert_eq!(w.num("a/b/memory.usage_in_bytes"), 12288);
        assert_eq!(w.num("a/b/memory.memsw.usage_in_bytes"), 12288);
        assert_eq!(w.num("memory.usage_in_bytes"), 16384);
        assert_eq!(w.num("a/memory.max_usage_in_bytes"), 16384);
        // A limit below the usage: EBUSY, nothing reclaimable.
        assert_eq!(w.write("a/memory.limit_in_bytes", b"8K"), Err(Error::EBUSY));
        assert_eq!(w.num("a/memory.limit_in_bytes"), 16384);
        w.write("a/memory.limit_in_bytes", b"16K").unwrap();
        // Uncharge, then the peak stays until reset (to the current usage).
        w.uncharge("a/b", 8192);
        assert_eq!(w.num("a/memory.usage_in_bytes"), 8192);
        assert_eq!(w.num("a/memory.max_usage_in_bytes"), 16384);
        w.write("a/memory.max_usage_in_bytes", b"whatever\n")
            .unwrap();
        assert_eq!(w.num("a/memory.max_usage_in_bytes"), 8192);
        w.write("a/memory.failcnt", b"17").unwrap();
        assert_eq!(w.num("a/memory.failcnt"), 0);
        w.write("a/memory.limit_in_bytes", b"8K").unwrap();
        // memsw limit hit first: its failcnt, not memory's.
        w.write("a/b/memory.limit_in_bytes", b"4K").unwrap();
        w.write("a/b/memory.memsw.limit_in_bytes", b"4K").unwrap();
        assert_eq!(w.charge("a/b", 4096), Err(Error::ENOMEM));
        assert_eq!(w.num("a/b/memory.memsw.failcnt"), 1);
        assert_eq!(w.num("a/b/memory.failcnt"), 0);
        // Hostile sizes: refused, counted once, nothing overflows.
        assert_eq!(w.charge("a/b", u64::MAX), Err(Error::ENOMEM));
        assert_eq!(w.num("a/b/memory.memsw.failcnt"), 2);
        assert_eq!(w.num("a/b/memory.usage_in_bytes"), 4096);
        assert_eq!(w.charge("a/b", 0), Ok(()));
        // Over-uncharging clamps every level at zero (page_counter_cancel).
        w.uncharge("a/b", u64::MAX);
        assert_eq!(w.num("a/b/memory.usage_in_bytes"), 0);
        assert_eq!(w.num("a/memory.usage_in_bytes"), 0);
        assert_eq!(w.num("memory.usage_in_bytes"), 0);
        assert_eq!(w.stat("a/b/", "rss"), 0);
        assert_eq!(w.stat("a/", "rss"), 4096);
        assert_eq!(w.stat("a/", "total_rss"), 0);
        w.charge("a", 4096).unwrap();
        w.with("a", |c| {
            assert_eq!(usage(c), 4096);
            assert_eq!(limit(c), 8192);
        });
    }

    #[test]
    fn root_charges_touch_statistics_only() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.charge("", 8192).unwrap();
        w.charge("a", 4096).unwrap();
        assert_eq!(w.num("memory.usage_in_bytes"), 12288);
        assert_eq!(w.num("memory.memsw.usage_in_bytes"), 12288);
        assert_eq!(w.num("memory.max_usage_in_bytes"), 4096);
        assert_eq!(w.stat("", "rss"), 8192);
        assert_eq!(w.stat("", "total_rss"), 12288);
        w.uncharge("", 8192);
        assert_eq!(w.num("memory.usage_in_bytes"), 4096);
        assert_eq!(w.stat("", "pgpgout"), 2);
        assert_eq!(w.stat("", "total_pgpgout"), 2);
        assert_eq!(w.stat("", "total_pgpgin"), 3);
    }

    #[test]
    fn rmdir_hands_pages_to_parent() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        w.charge("a/b", 8192).unwrap();
        w.gpc.rmdir(w.h, "a/b").unwrap();
        assert_eq!(w.num("a/memory.usage_in_bytes"), 8192);
        assert_eq!(w.stat("a/", "rss"), 8192);
        w.uncharge("a", 8192);
        assert_eq!(w.num("a/memory.usage_in_bytes"), 0);
        assert_eq!(w.stat("a/", "total_rss"), 0);
        assert_eq!(w.num("memory.usage_in_bytes"), 0);
    }

    #[test]
    fn u64_files_parse() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        // use_hierarchy
        w.write("a/memory.use_hierarchy", b"1\n").unwrap();
        w.write("memory.use_hierarchy", b"0x1").unwrap();
        for bad in [&b"0"[..], b"2", b" 1", b"1 ", b"\n", b"-1"] {
            assert_eq!(
                w.write("a/memory.use_hierarchy", bad),
                Err(Error::EINVAL),
                "{bad:?}"
            );
        }
        assert_eq!(
            w.write("a/memory.use_hierarchy", b"18446744073709551616"),
            Err(Error::ERANGE)
        );
        // move_charge_at_immigrate
        w.write("a/memory.move_charge_at_immigrate", b"0").unwrap();
        for bad in [&b"1"[..], b"3", b"0 ", b"\n"] {
            assert_eq!(
                w.write("a/memory.move_charge_at_immigrate", bad),
                Err(Error::EINVAL),
                "{bad:?}"
            );
        }
        // swappiness: the root sets vm_swappiness; children inherit at mkdir.
        w.write("memory.swappiness", b"10").unwrap();
        assert_eq!(w.read("memory.swappiness").unwrap(), "10\n");
        assert_eq!(w.read("a/memory.swappiness").unwrap(), "60\n");
        w.gpc.mkdir(w.h, "b").unwrap();
        assert_eq!(w.read("b/memory.swappiness").unwrap(), "10\n");
        w.write("a/memory.swappiness", b"200").unwrap();
        assert_eq!(w.write("a/memory.swappiness", b"201"), Err(Error::EINVAL));
        assert_eq!(w.write("a/memory.swappiness", b"-1"), Err(Error::EINVAL));
        assert_eq!(
            w.write("a/memory.swappiness", b"99999999999999999999"),
            Err(Error::ERANGE)
        );
        assert_eq!(w.read("a/memory.swappiness").unwrap(), "200\n");
        // oom_control
        w.write("a/memory.oom_control", b"1").unwrap();
        assert_eq!(
            w.read("a/memory.oom_control").unwrap(),
            "oom_kill_disable 1\nunder_oom 0\noom_kill 0\n"
        );
        w.gpc.mkdir(w.h, "a/c").unwrap();
        assert!(w
            .read("a/c/memory.oom_control")
            .unwrap()
            .starts_with("oom_kill_disable 1\n"));
        w.with("a/c", |c| assert!(oom_kill_disabled(c)));
        assert_eq!(w.write("a/memory.oom_control", b"2"), Err(Error::EINVAL));
        assert_eq!(w.write("memory.oom_control", b"0"), Err(Error::EINVAL));
        assert_eq!(w.write("a/memory.oom_control", b"x"), Err(Error::EINVAL));
        w.write("a/memory.oom_control", b"0").unwrap();
        // force_empty: EINVAL in the root, fine elsewhere, whatever the bytes.
        assert_eq!(w.write("memory.force_empty", b"0"), Err(Error::EINVAL));
        w.write("a/memory.force_empty", b"garbage").unwrap();
        // Read-only files refuse writes.
        assert_eq!(w.write("a/memory.usage_in_bytes", b"0"), Err(Error::EINVAL));
        assert_eq!(w.write("a/memory.stat", b"0"), Err(Error::EINVAL));
    }

    #[test]
    fn hostile_writes_change_nothing() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        let snapshot = |w: &World| -> Vec<String> {
            ALL.iter()
                .filter(|f| !matches!(**f, "memory.force_empty" | "memory.pressure_level"))
                .map(|f| w.read(&std::format!("a/{f}")).unwrap())
                .collect()
        };
        let before = snapshot(&w);
        // write_u64 files.
        for f in [
            "use_hierarchy",
            "swappiness",
            "move_charge_at_immigrate",
            "oom_control",
        ] {
            let path = std::format!("a/memory.{f}");
            for bad in [
                &b"\n"[..],
                b" 1",
                b"1 ",
                b"1 2",
                b"1\n\n",
                b"-1",
                b"1x",
                b"0x",
            ] {
                assert_eq!(w.write(&path, bad), Err(Error::EINVAL), "{f} {bad:?}");
            }
            assert_eq!(
                w.write(&path, b"18446744073709551616"),
                Err(Error::ERANGE),
                "{f}"
            );
            assert_eq!(w.write(&path, b""), Ok(()));
        }
        // Limit files (memparse after strstrip).
        for f in [
            "limit_in_bytes",
            "soft_limit_in_bytes",
            "memsw.limit_in_bytes",
            "kmem.limit_in_bytes",
            "kmem.tcp.limit_in_bytes",
        ] {
            let path = std::format!("a/memory.{f}");
            for bad in [
                &b"-2"[..],
                b"1 2",
                b"1M1",
                b"1\n2",
                b"x",
                b"--1",
                b"- 1",
                b"1.5G",
            ] {
                assert_eq!(w.write(&path, bad), Err(Error::EINVAL), "{f} {bad:?}");
            }
        }
        assert_eq!(before, snapshot(&w));
        // Overflowing sizes wrap as in memparse: 2^64 bytes is 0, 16E is 0.
        w.write("a/memory.soft_limit_in_bytes", b"18446744073709551616")
            .unwrap();
        assert_eq!(w.num("a/memory.soft_limit_in_bytes"), 0);
    }

    #[test]
    fn oom_kill_counts_in_the_group_alone_on_v1() {
        // memcg_memory_event: "if (!cgroup_subsys_on_dfl(memory_cgrp_subsys)) break;"
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        w.with("a/b", record_oom_kill);
        w.with("", record_oom_kill);
        assert!(w
            .read("a/b/memory.oom_control")
            .unwrap()
            .ends_with("oom_kill 1\n"));
        assert!(w
            .read("a/memory.oom_control")
            .unwrap()
            .ends_with("oom_kill 0\n"));
        assert!(w
            .read("memory.oom_control")
            .unwrap()
            .ends_with("oom_kill 1\n"));
    }

    #[test]
    fn numa_stat_values() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        w.charge("a", 4096).unwrap();
        w.charge("a/b", 8192).unwrap();
        assert_eq!(
            w.read("a/memory.numa_stat").unwrap(),
            "total=1 N0=1 N1=0\nfile=0 N0=0 N1=0\nanon=1 N0=1 N1=0\nunevictable=0 N0=0 N1=0\n\
             hierarchical_total=3 N0=3 N1=0\nhierarchical_file=0 N0=0 N1=0\n\
             hierarchical_anon=3 N0=3 N1=0\nhierarchical_unevictable=0 N0=0 N1=0\n"
        );
    }

    #[test]
    fn page_counter_set_max_and_charge() {
        let c = PageCounter::new();
        let one = || core::iter::once(&c);
        assert_eq!(counter::try_charge(one(), 10), Ok(()));
        assert_eq!(c.set_max(9), Err(Error::EBUSY));
        assert_eq!(c.set_max(10), Ok(()));
        assert_eq!(counter::try_charge(one(), 1), Err(0));
        assert_eq!(c.failcnt(), 1);
        counter::uncharge(one(), 100);
        assert_eq!(c.usage(), 0);
        assert_eq!(c.watermark(), 10);
        assert_eq!(bytes_to_pages(0), 0);
        assert_eq!(bytes_to_pages(1), 1);
        assert_eq!(bytes_to_pages(4096), 1);
        assert_eq!(bytes_to_pages(4097), 2);
        assert_eq!(bytes_to_pages(u64::MAX), 1 << 52);
    }

    #[test]
    fn concurrent_charges_respect_the_limit() {
        // (Css handles are not Send; the counter is what threads share.)
        let c = PageCounter::new();
        assert_eq!(c.set_max(100), Ok(()));
        let ok = std::sync::atomic::AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..200 {
                        if counter::try_charge(core::iter::once(&c), 1).is_ok() {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(ok.load(Ordering::Relaxed), 100);
        assert_eq!(c.usage(), 100);
        assert_eq!(c.watermark(), 100);
        assert_eq!(c.failcnt(), 300);
    }
}
