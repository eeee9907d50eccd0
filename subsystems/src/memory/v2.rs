//! The `memory` controller's cgroup v2 interface: Linux 6.18 `mm/memcontrol.c`
//! `memory_files[]`, then `swap_files[]` and `zswap_files[]` (which `mem_cgroup_swap_init`
//! adds with `CONFIG_SWAP` and `CONFIG_ZSWAP`), and `mm/vmscan.c`
//! `user_proactive_reclaim` for `memory.reclaim`.
//!
//! Configuration, as for the v1 files (a distribution kernel): `CONFIG_SWAP`,
//! `CONFIG_ZSWAP`, `CONFIG_NUMA` (`memory.numa_stat`, and `memory.reclaim`, which 6.18
//! builds only with it), `CONFIG_NUMA_BALANCING` (`pgpromote_success`, the `numa_*`
//! events), `CONFIG_TRANSPARENT_HUGEPAGE`, `CONFIG_HUGETLB_PAGE`, `CONFIG_MEMCG_V1` (so
//! `memory.stat` leaves out `pgpgin`/`pgpgout`), 4096-byte pages. `doc/memory-v2-files.md`
//! lists every file with its mode, format and errors. `memory.oom.group` and
//! `memory.reclaim` are `CfFlags::NS_DELEGATABLE` (`CFTYPE_NS_DELEGATABLE`: writable at
//! a delegated namespace's root under `nsdelegate`).
//!
//! # What gpc keeps and what reads 0
//!
//! The controller counts what its host tells it: anonymous and page-cache pages on their
//! LRU lists, dirty and writeback page cache, swap, faults, reclaim scans and steals,
//! (de)activations, and the v2 events. Every other `memory.stat` key (kernel memory, slab,
//! sockets, THP, shmem, workingset, demotion, NUMA balancing) prints 0, as on a machine
//! that has none of it. Everything is on memory node 0 (`memory.numa_stat`).
//!
//! # Where gpc differs, and why
//!
//! * `memory.high` and `memory.max` writes reclaim as Linux does, but stop at the first
//!   reclaim that frees nothing, where Linux tries `MAX_RECLAIM_RETRIES` (16) more times:
//!   nothing runs between two tries of one write here, so a deterministic host answers the
//!   same each time (`reclaim` module doc, step 2). `memory.reclaim` keeps Linux's full
//!   retry budget (it is what decides its `EAGAIN`).
//! * A `memory.max` write that reclaim cannot satisfy counts an `oom` event and asks the
//!   host once for an OOM kill of the group ([`PageReclaim::request_oom_kill`]), then
//!   succeeds: Linux's kill is asynchronous too (the victim exits later), and the host
//!   kills until the group fits or nothing is left, as Linux's loop does.
//! * `memory.peak` / `memory.swap.peak`: a write resets the peak seen **through the file
//!   descriptor written** (6.12+, `peak_write`); a later read through another descriptor
//!   shows the counter's own peak. gpc's hosts open a descriptor per command (the
//!   simulator's script), so a write is accepted (any content, as Linux does not parse
//!   it) and changes nothing a later read shows.
//! * With `memory_localevents`, Linux counts each event in the group only; gpc counts it
//!   in both columns and `memory.events` / `memory.swap.events` read the local one while
//!   the mount has the flag (the same unless the flag changes at a remount).
//! * No `O_NONBLOCK` (a non-blocking `memory.high`/`memory.max` write skips reclaim in
//!   Linux), no signals, no per-CPU charge stock to drain, no writeback domains.
//! * `sock_throttled` in `memory.events` is always 0: gpc charges no socket memory.

use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use gpc_core::host::alloc::{try_reserve_exact, Gfp};
use gpc_core::host::reclaim::PageReclaim;
use gpc_core::options::V2Options;
use gpc_core::parse::{kstrtoint, strstrip};
use gpc_core::{CfFlags, Css, Error, FileCtxOf, Out, Result};

use super::reclaim::{self, Origin, Request, MAX_RECLAIM_RETRIES, SWAP_CLUSTER_MAX};
use super::stats::{self, Event, Stat, Stats};
use super::Memory;
use crate::parse::{page_counter_memparse, parse_memory_reclaim, PAGE_COUNTER_MAX, PAGE_SIZE};

/// Where a v2 file appears: Linux's `dfl_cftypes`.
pub(super) const DFL: CfFlags = CfFlags::ONLY_ON_DFL;
/// `CFTYPE_NOT_ON_ROOT` on the unified hierarchy.
pub(super) const DFL_NOT_ON_ROOT: CfFlags = CfFlags::ONLY_ON_DFL.union(CfFlags::NOT_ON_ROOT);

/// `seq_puts_memcg_tunable`: `max` for an unlimited value, else bytes.
fn write_tunable(out: &mut Out<'_>, pages: u64) -> Result {
    if pages == PAGE_COUNTER_MAX {
        out.bytes(b"max\n")
    } else {
        writeln!(out, "{}", pages.wrapping_mul(PAGE_SIZE))
    }
}

/// The value of a tunable write: `page_counter_memparse(strstrip(buf), "max")`, pages.
fn parse_tunable(buf: &[u8]) -> Result<u64> {
    page_counter_memparse(strstrip(buf), b"max")
}

/// A `0`/`1` write (`memory.oom.group`, `memory.zswap.writeback`): `kstrtoint` of the
/// stripped buffer (its `EINVAL`/`ERANGE`), then anything but 0 and 1 is `EINVAL`.
fn parse_bool_int(buf: &[u8]) -> Result<bool> {
    match kstrtoint(strstrip(buf), 0)? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Error::EINVAL),
    }
}

/// The host's reclaim for one write, with the groups it walks: the file's group and its
/// descendants, pre-order (the target first, as [`reclaim::reclaim`] wants).
struct Reclaimer<'a> {
    host: Option<&'a dyn PageReclaim>,
    groups: Vec<Css<'a, Memory>>,
    recursive_prot: bool,
}

impl<'a> Reclaimer<'a> {
    /// Gathered before the write changes anything, so that a failed allocation (`ENOMEM`)
    /// leaves everything as it was. Without a host that reclaims, nothing is gathered.
    fn new(ctx: &FileCtxOf<'a, Memory>) -> Result<Self> {
        let host = ctx.caller().tasks.page_reclaim();
        let mut groups = Vec::new();
        if host.is_some() {
            let n = 1 + ctx.descendants().count();
            try_reserve_exact(&mut groups, n, Gfp::KERNEL)?;
            groups.push(ctx.css());
            groups.extend(ctx.descendants().take(n - 1));
        }
        Ok(Reclaimer {
            host,
            groups,
            recursive_prot: ctx.v2_options().contains(V2Options::MEMORY_RECURSIVE_PROT),
        })
    }

    /// `try_to_free_mem_cgroup_pages(memcg, nr, GFP_KERNEL, MEMCG_RECLAIM_MAY_SWAP [|
    /// MEMCG_RECLAIM_PROACTIVE], swappiness)`: asks for at least `SWAP_CLUSTER_MAX` pages;
    /// returns the pages freed (0 without a host).
    fn run(&self, nr: u64, origin: Origin, swappiness: Option<u64>) -> u64 {
        let Some(host) = self.host else {
            return 0;
        };
        let req = Request {
            nr: nr.max(SWAP_CLUSTER_MAX),
            may_swap: true,
            swappiness,
            global: false,
            recursive_prot: self.recursive_prot,
            origin,
        };
        reclaim::reclaim(&self.groups, &req, host)
    }
}

// ---------------------------------------------------------------------------------------
// memory_files[]
// ---------------------------------------------------------------------------------------

/// `memory_current_read`.
pub(super) fn read_current(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    let pages = ctx.css().state().memory.usage();
    writeln!(out, "{}", pages.wrapping_mul(PAGE_SIZE))
}

/// `peak_show` for a descriptor that never wrote: the counter's watermark.
pub(super) fn read_peak(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    let pages = ctx.css().state().memory.watermark();
    writeln!(out, "{}", pages.wrapping_mul(PAGE_SIZE))
}

/// `peak_write`: resets the peak of the writing descriptor only, whatever was written
/// (see the module doc).
pub(super) fn write_peak(_: &Memory, _: &FileCtxOf<'_, Memory>, _buf: &[u8]) -> Result {
    Ok(())
}

/// `memory_min_show`.
pub(super) fn read_min(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    write_tunable(out, ctx.css().state().memory.protection().0)
}

/// `memory_min_write`: `page_counter_set_min`, the parent's sum of protected usage
/// following.
pub(super) fn write_min(_: &Memory, ctx: &FileCtxOf<'_, Memory>, buf: &[u8]) -> Result {
    let min = parse_tunable(buf)?;
    let css = ctx.css();
    let parent = css.parent();
    css.state()
        .memory
        .set_min(min, parent.map(|p| &p.state().memory));
    Ok(())
}

/// `memory_low_show`.
pub(super) fn read_low(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    write_tunable(out, ctx.css().state().memory.protection().1)
}

/// `memory_low_write`: `page_counter_set_low`.
pub(super) fn write_low(_: &Memory, ctx: &FileCtxOf<'_, Memory>, buf: &[u8]) -> Result {
    let low = parse_tunable(buf)?;
    let css = ctx.css();
    let parent = css.parent();
    css.state()
        .memory
        .set_low(low, parent.map(|p| &p.state().memory));
    Ok(())
}

/// `memory_high_show`.
pub(super) fn read_high(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    write_tunable(out, ctx.css().state().high.load(Ordering::Relaxed))
}

/// `memory_high_write`: store the value (`page_counter_set_high`), then reclaim the
/// excess from the group's subtree, counted as direct reclaim, while the usage is above
/// it; a reclaim that frees nothing ends the loop (Linux: after 16 more). Never fails
/// once parsed, and throttles no one: the tasks over `memory.high` feel it at their next
/// charge.
pub(super) fn write_high(_: &Memory, ctx: &FileCtxOf<'_, Memory>, buf: &[u8]) -> Result {
    let high = parse_tunable(buf)?;
    let reclaimer = Reclaimer::new(ctx)?;
    let st = ctx.css().state();
    st.high.store(high, Ordering::Relaxed);
    loop {
        let usage = st.memory.usage();
        if usage <= high || reclaimer.run(usage - high, Origin::Direct, None) == 0 {
            return Ok(());
        }
    }
}

/// `memory_max_show`.
pub(super) fn read_max(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    write_tunable(out, ctx.css().state().memory.max())
}

/// `memory_max_write`: set the limit whatever the usage (`xchg`, never `EBUSY` as v1's
/// `memory.limit_in_bytes`), then reclaim down to it as direct reclaim; when a reclaim
/// frees nothing, count an `oom` event (`memcg_memory_event(memcg, MEMCG_OOM)`) and ask
/// the host once to OOM-kill in the group (`mem_cgroup_out_of_memory`, see the module
/// doc). The write succeeds in every case once parsed.
pub(super) fn write_max(_: &Memory, ctx: &FileCtxOf<'_, Memory>, buf: &[u8]) -> Result {
    let max = parse_tunable(buf)?;
    let reclaimer = Reclaimer::new(ctx)?;
    let css = ctx.css();
    let st = css.state();
    st.memory.xchg_max(max);
    loop {
        let usage = st.memory.usage();
        if usage <= max {
            return Ok(());
        }
        if reclaimer.run(usage - max, Origin::Direct, None) == 0 {
            // Dirty pages or pages under writeback are waited for before any OOM
            // (reclaim throttles on writeback): the host does that after the write,
            // and counts the `oom` of each round that has to kill.
            let dirty = st.stats.tree(Stat::Dirty) + st.stats.tree(Stat::Writeback);
            if dirty == 0 {
                stats::event(css, Event::Oom);
            }
            if let Some(host) = reclaimer.host {
                host.request_oom_kill(css.container_id());
            }
            return Ok(());
        }
    }
}

/// The column `memory.events` and `memory.swap.events` read: the subtree's, or with
/// `memory_localevents` the group's own (`memcg_memory_event` then stops at the group).
fn events_column<'a>(ctx: &FileCtxOf<'a, Memory>) -> impl Fn(Event) -> u64 + 'a {
    let local = ctx.v2_options().contains(V2Options::MEMORY_LOCAL_EVENTS);
    let events = &ctx.css().state().events;
    move |e| {
        if local {
            events.local(e)
        } else {
            events.tree(e)
        }
    }
}

/// `__memory_events_show`.
fn write_events(out: &mut Out<'_>, v: impl Fn(Event) -> u64) -> Result {
    writeln!(
        out,
        "low {}\nhigh {}\nmax {}\noom {}\noom_kill {}\noom_group_kill {}\nsock_throttled 0",
        v(Event::Low),
        v(Event::High),
        v(Event::Max),
        v(Event::Oom),
        v(Event::OomKill),
        v(Event::OomGroupKill),
    )
}

/// `memory_events_show`.
pub(super) fn read_events(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    write_events(out, events_column(ctx))
}

/// `memory_events_local_show`.
pub(super) fn read_events_local(
    _: &Memory,
    ctx: &FileCtxOf<'_, Memory>,
    out: &mut Out<'_>,
) -> Result {
    let events = &ctx.css().state().events;
    write_events(out, |e| events.local(e))
}

/// Where a `memory_stats[]` value comes from in gpc.
#[derive(Clone, Copy)]
enum Src {
    /// Not modelled: always 0.
    Zero,
    /// `NR_ANON_MAPPED`: every anonymous page gpc knows is mapped and on an LRU list.
    Anon,
    /// `NR_FILE_PAGES`: the page cache on the two file lists (dirty and writeback pages
    /// stay on them).
    File,
    /// One statistics item.
    Item(Stat),
}

/// One `memory_stats[]` entry: its name, its value in gpc, whether it is a node item
/// (`idx < NR_VM_NODE_STAT_ITEMS`: also in `memory.numa_stat`), and its output unit
/// (`memcg_page_state_output_unit`: the counted unit in bytes; 1 for byte and plain
/// counters).
struct StatKey {
    name: &'static str,
    src: Src,
    node: bool,
    unit: u64,
}

const fn key(name: &'static str, src: Src, node: bool, unit: u64) -> StatKey {
    StatKey {
        name,
        src,
        node,
        unit,
    }
}

/// `memory_stats[]` of Linux 6.18 with `CONFIG_ZSWAP`, `CONFIG_SWAP`,
/// `CONFIG_TRANSPARENT_HUGEPAGE`, `CONFIG_HUGETLB_PAGE` and `CONFIG_NUMA_BALANCING`, in
/// order. `slab` (printed after `slab_unreclaimable`) and the `hugetlb` condition are in
/// [`read_stat`].
const MEMORY_STATS: [StatKey; 39] = [
    key("anon", Src::Anon, true, PAGE_SIZE),
    key("file", Src::File, true, PAGE_SIZE),
    key("kernel", Src::Zero, false, PAGE_SIZE),
    key("kernel_stack", Src::Zero, true, 1024),
    key("pagetables", Src::Zero, true, PAGE_SIZE),
    key("sec_pagetables", Src::Zero, true, PAGE_SIZE),
    key("percpu", Src::Zero, false, 1),
    key("sock", Src::Zero, false, PAGE_SIZE),
    key("vmalloc", Src::Zero, false, PAGE_SIZE),
    key("shmem", Src::Zero, true, PAGE_SIZE),
    key("zswap", Src::Zero, false, 1),
    key("zswapped", Src::Zero, false, PAGE_SIZE),
    key("file_mapped", Src::Zero, true, PAGE_SIZE),
    key("file_dirty", Src::Item(Stat::Dirty), true, PAGE_SIZE),
    key(
        "file_writeback",
        Src::Item(Stat::Writeback),
        true,
        PAGE_SIZE,
    ),
    key("swapcached", Src::Zero, true, PAGE_SIZE),
    key("anon_thp", Src::Zero, true, PAGE_SIZE),
    key("file_thp", Src::Zero, true, PAGE_SIZE),
    key("shmem_thp", Src::Zero, true, PAGE_SIZE),
    key(
        "inactive_anon",
        Src::Item(Stat::InactiveAnon),
        true,
        PAGE_SIZE,
    ),
    key("active_anon", Src::Item(Stat::ActiveAnon), true, PAGE_SIZE),
    key(
        "inactive_file",
        Src::Item(Stat::InactiveFile),
        true,
        PAGE_SIZE,
    ),
    key("active_file", Src::Item(Stat::ActiveFile), true, PAGE_SIZE),
    key("unevictable", Src::Zero, true, PAGE_SIZE),
    key("slab_reclaimable", Src::Zero, true, 1),
    key("slab_unreclaimable", Src::Zero, true, 1),
    key("hugetlb", Src::Zero, true, PAGE_SIZE),
    key("workingset_refault_anon", Src::Zero, true, 1),
    key("workingset_refault_file", Src::Zero, true, 1),
    key("workingset_activate_anon", Src::Zero, true, 1),
    key("workingset_activate_file", Src::Zero, true, 1),
    key("workingset_restore_anon", Src::Zero, true, 1),
    key("workingset_restore_file", Src::Zero, true, 1),
    key("workingset_nodereclaim", Src::Zero, true, 1),
    key("pgdemote_kswapd", Src::Zero, true, 1),
    key("pgdemote_direct", Src::Zero, true, 1),
    key("pgdemote_khugepaged", Src::Zero, true, 1),
    key("pgdemote_proactive", Src::Zero, true, 1),
    key("pgpromote_success", Src::Zero, true, 1),
];

/// `memcg_vm_event_stat[]` as `memory.stat` prints it (`pgpgin`/`pgpgout` are v1's), by
/// `vm_event_name`, with what gpc counts for each.
const MEMORY_EVENTS: [(&str, Option<Stat>); 29] = [
    ("pswpin", None),
    ("pswpout", Some(Stat::Pswpout)),
    ("pgscan_kswapd", None),
    ("pgscan_direct", Some(Stat::PgscanDirect)),
    ("pgscan_khugepaged", None),
    ("pgscan_proactive", Some(Stat::PgscanProactive)),
    ("pgsteal_kswapd", None),
    ("pgsteal_direct", Some(Stat::PgstealDirect)),
    ("pgsteal_khugepaged", None),
    ("pgsteal_proactive", Some(Stat::PgstealProactive)),
    ("pgfault", Some(Stat::Pgfault)),
    ("pgmajfault", Some(Stat::Pgmajfault)),
    ("pgrefill", None),
    ("pgactivate", Some(Stat::Pgactivate)),
    ("pgdeactivate", Some(Stat::Pgdeactivate)),
    ("pglazyfree", None),
    ("pglazyfreed", None),
    ("swpin_zero", None),
    ("swpout_zero", None),
    ("zswpin", None),
    ("zswpout", None),
    ("zswpwb", None),
    ("thp_fault_alloc", None),
    ("thp_collapse_alloc", None),
    ("thp_swpout", None),
    ("thp_swpout_fallback", None),
    ("numa_pages_migrated", None),
    ("numa_pte_updates", None),
    ("numa_hint_faults", None),
];

/// A `memory_stats[]` value of the subtree (`memcg_page_state_output`: v2 reads the
/// hierarchical counts), in its output unit.
fn stat_value(stats: &Stats, k: &StatKey) -> u64 {
    let pages = match k.src {
        Src::Zero => 0,
        Src::Anon => stats.tree(Stat::InactiveAnon) + stats.tree(Stat::ActiveAnon),
        Src::File => stats.tree(Stat::InactiveFile) + stats.tree(Stat::ActiveFile),
        Src::Item(i) => stats.tree(i),
    };
    pages.wrapping_mul(k.unit)
}

/// `memory_stat_show` → `memcg_stat_format`: the page states, then `pgscan` and
/// `pgsteal` (the sums of their kswapd, direct, proactive and khugepaged counts), then
/// the events. `hugetlb` only when the hierarchy was mounted with
/// `memory_hugetlb_accounting` (`memcg_accounts_hugetlb`).
pub(super) fn read_stat(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    let stats = &ctx.css().state().stats;
    let hugetlb = ctx
        .v2_options()
        .contains(V2Options::MEMORY_HUGETLB_ACCOUNTING);
    for k in MEMORY_STATS.iter() {
        if k.name == "hugetlb" && !hugetlb {
            continue;
        }
        let size = stat_value(stats, k);
        writeln!(out, "{} {}", k.name, size)?;
        if k.name == "slab_unreclaimable" {
            let reclaimable = MEMORY_STATS
                .iter()
                .find(|r| r.name == "slab_reclaimable")
                .map_or(0, |r| stat_value(stats, r));
            writeln!(out, "slab {}", size.wrapping_add(reclaimable))?;
        }
    }
    let t = |i: Stat| stats.tree(i);
    writeln!(
        out,
        "pgscan {}",
        t(Stat::PgscanDirect).wrapping_add(t(Stat::PgscanProactive))
    )?;
    writeln!(
        out,
        "pgsteal {}",
        t(Stat::PgstealDirect).wrapping_add(t(Stat::PgstealProactive))
    )?;
    for (name, item) in MEMORY_EVENTS {
        writeln!(out, "{name} {}", item.map_or(0, t))?;
    }
    Ok(())
}

/// `memory_numa_stat_show`: every node item of `memory_stats[]` (`hugetlb` too, with or
/// without `memory_hugetlb_accounting`), ` N<node>=<value>` for each memory node; gpc's
/// pages are all on node 0.
pub(super) fn read_numa_stat(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    let stats = &ctx.css().state().stats;
    let nodes = ctx.nr_mems().max(1);
    for k in MEMORY_STATS.iter().filter(|k| k.node) {
        let size = stat_value(stats, k);
        out.bytes(k.name.as_bytes())?;
        for nid in 0..nodes {
            write!(out, " N{nid}={}", if nid == 0 { size } else { 0 })?;
        }
        out.bytes(b"\n")?;
    }
    Ok(())
}

/// `memory_oom_group_show`.
pub(super) fn read_oom_group(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    let on = ctx.css().state().oom_group.load(Ordering::Relaxed);
    writeln!(out, "{}", u8::from(on))
}

/// `memory_oom_group_write`.
pub(super) fn write_oom_group(_: &Memory, ctx: &FileCtxOf<'_, Memory>, buf: &[u8]) -> Result {
    let on = parse_bool_int(buf)?;
    ctx.css().state().oom_group.store(on, Ordering::Relaxed);
    Ok(())
}

/// `memory_reclaim` → `user_proactive_reclaim`: reclaim the amount asked from the
/// group's subtree, proactively, in batches of a quarter of what is left (at least
/// `SWAP_CLUSTER_MAX` pages each); each batch that frees nothing uses up one of
/// `MAX_RECLAIM_RETRIES` retries, and a fruitless batch with none left is `EAGAIN`
/// (what was reclaimed stays reclaimed).
pub(super) fn write_reclaim(_: &Memory, ctx: &FileCtxOf<'_, Memory>, buf: &[u8]) -> Result {
    let req = parse_memory_reclaim(buf)?;
    let reclaimer = Reclaimer::new(ctx)?;
    let mut retries = MAX_RECLAIM_RETRIES;
    let mut reclaimed = 0u64;
    while reclaimed < req.pages {
        if reclaimer.host.is_none() {
            // Every try would free nothing.
            return Err(Error::EAGAIN);
        }
        let batch = (req.pages - reclaimed) / 4;
        let got = reclaimer.run(batch, Origin::Proactive, req.swappiness);
        if got == 0 {
            if retries == 0 {
                return Err(Error::EAGAIN);
            }
            retries -= 1;
        }
        reclaimed = reclaimed.saturating_add(got);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// swap_files[]
// ---------------------------------------------------------------------------------------

/// `swap_current_read`.
pub(super) fn read_swap_current(
    _: &Memory,
    ctx: &FileCtxOf<'_, Memory>,
    out: &mut Out<'_>,
) -> Result {
    let pages = ctx.css().state().swap.usage();
    writeln!(out, "{}", pages.wrapping_mul(PAGE_SIZE))
}

/// `swap_high_show`.
pub(super) fn read_swap_high(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    write_tunable(out, ctx.css().state().swap_high.load(Ordering::Relaxed))
}

/// `swap_high_write`: stored only (`page_counter_set_high`); it throttles charges, it
/// reclaims nothing.
pub(super) fn write_swap_high(_: &Memory, ctx: &FileCtxOf<'_, Memory>, buf: &[u8]) -> Result {
    let high = parse_tunable(buf)?;
    ctx.css().state().swap_high.store(high, Ordering::Relaxed);
    Ok(())
}

/// `swap_max_show`.
pub(super) fn read_swap_max(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    write_tunable(out, ctx.css().state().swap.max())
}

/// `swap_max_write`: `xchg`, whatever is on swap now (it is never pulled back).
pub(super) fn write_swap_max(_: &Memory, ctx: &FileCtxOf<'_, Memory>, buf: &[u8]) -> Result {
    let max = parse_tunable(buf)?;
    ctx.css().state().swap.xchg_max(max);
    Ok(())
}

/// `swap_peak_show`.
pub(super) fn read_swap_peak(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    let pages = ctx.css().state().swap.watermark();
    writeln!(out, "{}", pages.wrapping_mul(PAGE_SIZE))
}

/// `swap_events_show`.
pub(super) fn read_swap_events(
    _: &Memory,
    ctx: &FileCtxOf<'_, Memory>,
    out: &mut Out<'_>,
) -> Result {
    let v = events_column(ctx);
    writeln!(
        out,
        "high {}\nmax {}\nfail {}",
        v(Event::SwapHigh),
        v(Event::SwapMax),
        v(Event::SwapFail)
    )
}

// ---------------------------------------------------------------------------------------
// zswap_files[]: gpc has no compressed swap cache; the settings are kept and shown.
// ---------------------------------------------------------------------------------------

/// `zswap_current_read`: `MEMCG_ZSWAP_B`, none in gpc.
pub(super) fn read_zswap_current(
    _: &Memory,
    _: &FileCtxOf<'_, Memory>,
    out: &mut Out<'_>,
) -> Result {
    out.bytes(b"0\n")
}

/// `zswap_max_show`.
pub(super) fn read_zswap_max(_: &Memory, ctx: &FileCtxOf<'_, Memory>, out: &mut Out<'_>) -> Result {
    write_tunable(out, ctx.css().state().zswap_max.load(Ordering::Relaxed))
}

/// `zswap_max_write`.
pub(super) fn write_zswap_max(_: &Memory, ctx: &FileCtxOf<'_, Memory>, buf: &[u8]) -> Result {
    let max = parse_tunable(buf)?;
    ctx.css().state().zswap_max.store(max, Ordering::Relaxed);
    Ok(())
}

/// `zswap_writeback_show`.
pub(super) fn read_zswap_writeback(
    _: &Memory,
    ctx: &FileCtxOf<'_, Memory>,
    out: &mut Out<'_>,
) -> Result {
    let on = ctx.css().state().zswap_writeback.load(Ordering::Relaxed);
    writeln!(out, "{}", u8::from(on))
}

/// `zswap_writeback_write`.
pub(super) fn write_zswap_writeback(_: &Memory, ctx: &FileCtxOf<'_, Memory>, buf: &[u8]) -> Result {
    let on = parse_bool_int(buf)?;
    ctx.css()
        .state()
        .zswap_writeback
        .store(on, Ordering::Relaxed);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use core::cell::{Cell, RefCell};
    use std::string::String;
    use std::vec::Vec;

    use gpc_core::host::reclaim::{Lru, Reclaimed};
    use gpc_core::host::task::{Pid, TaskRef};
    use gpc_core::testing::{OneHierarchy, TaskList, TestHost};
    use gpc_core::{Caller, Creds, Gpc, TaskTable};

    use super::super::{record_oom_kill, try_charge, uncharge, FILES};
    use super::*;

    gpc_core::one_hierarchy_harness!(World);

    const PAGE: u64 = PAGE_SIZE;

    /// A host that frees what it is asked for, up to a budget of pages, and records the
    /// requests and the OOM kills asked of it.
    struct FakeReclaim {
        budget: Cell<u64>,
        calls: RefCell<Vec<(u64, Lru, u64)>>,
        ooms: RefCell<Vec<u64>>,
    }

    impl FakeReclaim {
        fn new(budget: u64) -> Self {
            FakeReclaim {
                budget: Cell::new(budget),
                calls: RefCell::new(Vec::new()),
                ooms: RefCell::new(Vec::new()),
            }
        }

        fn lists(&self) -> Vec<Lru> {
            self.calls.borrow().iter().map(|c| c.1).collect()
        }
    }

    impl PageReclaim for FakeReclaim {
        fn reclaim(&self, group: u64, lru: Lru, nr: u64) -> Reclaimed {
            self.calls.borrow_mut().push((group, lru, nr));
            let freed = nr.min(self.budget.get());
            self.budget.set(self.budget.get() - freed);
            Reclaimed {
                freed,
                writeback: 0,
            }
        }

        fn request_oom_kill(&self, group: u64) {
            self.ooms.borrow_mut().push(group);
        }
    }

    /// The test task table with [`FakeReclaim`] as its page reclaim.
    struct Reclaiming<'a> {
        tasks: &'a TaskList,
        host: &'a FakeReclaim,
    }

    impl TaskTable for Reclaiming<'_> {
        fn with_task(&self, pid: Pid, f: &mut dyn FnMut(&TaskRef<'_>)) -> bool {
            self.tasks.with_task(pid, f)
        }

        fn with_thread_group(
            &self,
            tgid: Pid,
            f: &mut dyn FnMut(&mut dyn Iterator<Item = TaskRef<'_>>),
        ) -> bool {
            self.tasks.with_thread_group(tgid, f)
        }

        fn page_reclaim(&self) -> Option<&dyn PageReclaim> {
            Some(self.host)
        }
    }

    impl World {
        /// The unified hierarchy with the memory controller enabled below the root.
        fn new() -> World {
            World::mounted("")
        }

        fn mounted(options: &str) -> World {
            let gpc = Gpc::new(TestHost::new(2, 2), &[&Memory]).unwrap();
            let mut tasks = TaskList::new();
            tasks.add_init(&gpc).unwrap();
            let h = gpc
                .mount_v2(options, &tasks.caller(Creds::ROOT, None))
                .unwrap();
            let w = World(OneHierarchy { tasks, gpc, h });
            w.write("cgroup.subtree_control", b"+memory").unwrap();
            w
        }

        /// `a` and `a/b`, memory enabled in `a`.
        fn tree() -> World {
            let w = World::new();
            w.gpc.mkdir(w.h, "a").unwrap();
            w.write("a/cgroup.subtree_control", b"+memory").unwrap();
            w.gpc.mkdir(w.h, "a/b").unwrap();
            w
        }

        fn write_via(&self, host: &FakeReclaim, path: &str, data: &[u8]) -> Result {
            let tasks = Reclaiming {
                tasks: &self.tasks,
                host,
            };
            let caller = Caller {
                creds: Creds::ROOT,
                pid: Some(1),
                tasks: &tasks,
            };
            self.gpc.write(self.h, path, data, &caller)
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

        fn anon(&self, path: &str, pages: u64) {
            self.with(path, |c| try_charge(c, pages * PAGE)).unwrap();
        }

        fn file(&self, path: &str, pages: u64) {
            self.with(path, |c| {
                assert!(reclaim::try_charge_pages(c, pages).is_ok());
                reclaim::commit(c, pages, Lru::InactiveFile);
            });
        }

        /// One key of a flat keyed file (`memory.stat`, `memory.events`).
        fn key(&self, path: &str, key: &str) -> u64 {
            let text = self.read(path).unwrap();
            let line = text
                .lines()
                .find(|l| l.split(' ').next() == Some(key))
                .unwrap();
            line.split(' ').nth(1).unwrap().parse().unwrap()
        }

        fn id(&self, path: &str) -> u64 {
            self.with(path, |c| c.container_id())
        }
    }

    /// Every v2 file but the write-only `memory.reclaim`.
    const READABLE: [&str; 19] = [
        "memory.current",
        "memory.events",
        "memory.events.local",
        "memory.high",
        "memory.low",
        "memory.max",
        "memory.min",
        "memory.numa_stat",
        "memory.oom.group",
        "memory.peak",
        "memory.stat",
        "memory.swap.current",
        "memory.swap.events",
        "memory.swap.high",
        "memory.swap.max",
        "memory.swap.peak",
        "memory.zswap.current",
        "memory.zswap.max",
        "memory.zswap.writeback",
    ];

    fn memory_files(w: &World, dir: &str) -> Vec<String> {
        w.ls(dir)
            .into_iter()
            .filter(|n| n.starts_with("memory.") && n != "memory.pressure")
            .collect()
    }

    #[test]
    fn files_flags_modes_and_defaults() {
        let w = World::tree();
        assert_eq!(
            memory_files(&w, ""),
            [
                "memory.numa_stat",
                "memory.reclaim",
                "memory.stat",
                "memory.zswap.writeback"
            ]
        );
        let mut all: Vec<&str> = READABLE.to_vec();
        all.push("memory.reclaim");
        all.sort_unstable();
        assert_eq!(memory_files(&w, "a"), all);
        assert_eq!(memory_files(&w, "a/b"), all);
        assert_eq!(w.read("memory.current"), Err(Error::ENOENT));
        assert_eq!(w.write("memory.max", b"1M"), Err(Error::ENOENT));
        for f in FILES
            .iter()
            .filter(|f| f.flags.contains(CfFlags::ONLY_ON_DFL))
        {
            let mode = gpc_core::files::file_mode(f.read.is_some(), f.write.is_some());
            let expect = match f.name {
                "current" | "events" | "events.local" | "stat" | "numa_stat" | "swap.current"
                | "swap.events" | "zswap.current" => 0o444,
                "reclaim" => 0o200,
                _ => 0o644,
            };
            assert_eq!(mode, expect, "{}", f.name);
        }
        let r = |f: &str| w.read(&std::format!("a/memory.{f}")).unwrap();
        for (f, v) in [
            ("current", "0\n"),
            ("peak", "0\n"),
            ("min", "0\n"),
            ("low", "0\n"),
            ("high", "max\n"),
            ("max", "max\n"),
            ("oom.group", "0\n"),
            ("swap.current", "0\n"),
            ("swap.high", "max\n"),
            ("swap.max", "max\n"),
            ("swap.peak", "0\n"),
            ("swap.events", "high 0\nmax 0\nfail 0\n"),
            ("zswap.current", "0\n"),
            ("zswap.max", "max\n"),
            ("zswap.writeback", "1\n"),
        ] {
            assert_eq!(r(f), v, "{f}");
        }
        let events =
            "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\nsock_throttled 0\n";
        assert_eq!(r("events"), events);
        assert_eq!(r("events.local"), events);
        assert_eq!(w.read("memory.zswap.writeback").unwrap(), "1\n");
        assert_eq!(w.read("a/memory.reclaim"), Err(Error::EINVAL));
        for f in ["current", "stat", "events", "swap.current", "zswap.current"] {
            let path = std::format!("a/memory.{f}");
            assert_eq!(w.write(&path, b"0"), Err(Error::EINVAL), "{f}");
        }
    }

    #[test]
    fn v1_hierarchy_shows_no_v2_file() {
        let w = World(OneHierarchy::new(&[&Memory], "memory", 2, 2).unwrap());
        w.gpc.mkdir(w.h, "a").unwrap();
        for dir in ["", "a"] {
            let names = w.ls(dir);
            for f in READABLE.iter().chain(["memory.reclaim"].iter()) {
                let v1_too = matches!(*f, "memory.stat" | "memory.numa_stat");
                assert_eq!(names.iter().any(|n| n == f), v1_too, "{dir} {f}");
            }
        }
        assert!(w.read("a/memory.stat").unwrap().starts_with("cache 0\n"));
    }

    #[test]
    fn stat_and_numa_stat_layout() {
        let w = World::tree();
        w.anon("a/b", 3);
        w.file("a", 2);
        w.with("a", |c| reclaim::set_dirty(c, 1, true));
        let expect = "anon 12288\nfile 8192\nkernel 0\nkernel_stack 0\npagetables 0\n\
            sec_pagetables 0\npercpu 0\nsock 0\nvmalloc 0\nshmem 0\nzswap 0\nzswapped 0\n\
            file_mapped 0\nfile_dirty 4096\nfile_writeback 0\nswapcached 0\nanon_thp 0\n\
            file_thp 0\nshmem_thp 0\ninactive_anon 12288\nactive_anon 0\ninactive_file 8192\n\
            active_file 0\nunevictable 0\nslab_reclaimable 0\nslab_unreclaimable 0\nslab 0\n\
            workingset_refault_anon 0\nworkingset_refault_file 0\nworkingset_activate_anon 0\n\
            workingset_activate_file 0\nworkingset_restore_anon 0\nworkingset_restore_file 0\n\
            workingset_nodereclaim 0\npgdemote_kswapd 0\npgdemote_direct 0\n\
            pgdemote_khugepaged 0\npgdemote_proactive 0\npgpromote_success 0\npgscan 0\n\
            pgsteal 0\npswpin 0\npswpout 0\npgscan_kswapd 0\npgscan_direct 0\n\
            pgscan_khugepaged 0\npgscan_proactive 0\npgsteal_kswapd 0\npgsteal_direct 0\n\
            pgsteal_khugepaged 0\npgsteal_proactive 0\npgfault 3\npgmajfault 0\npgrefill 0\n\
            pgactivate 0\npgdeactivate 0\npglazyfree 0\npglazyfreed 0\nswpin_zero 0\n\
            swpout_zero 0\nzswpin 0\nzswpout 0\nzswpwb 0\nthp_fault_alloc 0\n\
            thp_collapse_alloc 0\nthp_swpout 0\nthp_swpout_fallback 0\n\
            numa_pages_migrated 0\nnuma_pte_updates 0\nnuma_hint_faults 0\n";
        assert_eq!(w.read("a/memory.stat").unwrap(), expect);
        // The subtree: the root sees everything, a/b its own.
        assert_eq!(w.read("memory.stat").unwrap(), expect);
        assert_eq!(w.key("a/b/memory.stat", "anon"), 12288);
        assert_eq!(w.key("a/b/memory.stat", "file"), 0);
        let numa = "anon N0=12288 N1=0\nfile N0=8192 N1=0\nkernel_stack N0=0 N1=0\n\
            pagetables N0=0 N1=0\nsec_pagetables N0=0 N1=0\nshmem N0=0 N1=0\n\
            file_mapped N0=0 N1=0\nfile_dirty N0=4096 N1=0\nfile_writeback N0=0 N1=0\n\
            swapcached N0=0 N1=0\nanon_thp N0=0 N1=0\nfile_thp N0=0 N1=0\n\
            shmem_thp N0=0 N1=0\ninactive_anon N0=12288 N1=0\nactive_anon N0=0 N1=0\n\
            inactive_file N0=8192 N1=0\nactive_file N0=0 N1=0\nunevictable N0=0 N1=0\n\
            slab_reclaimable N0=0 N1=0\nslab_unreclaimable N0=0 N1=0\nhugetlb N0=0 N1=0\n\
            workingset_refault_anon N0=0 N1=0\nworkingset_refault_file N0=0 N1=0\n\
            workingset_activate_anon N0=0 N1=0\nworkingset_activate_file N0=0 N1=0\n\
            workingset_restore_anon N0=0 N1=0\nworkingset_restore_file N0=0 N1=0\n\
            workingset_nodereclaim N0=0 N1=0\npgdemote_kswapd N0=0 N1=0\n\
            pgdemote_direct N0=0 N1=0\npgdemote_khugepaged N0=0 N1=0\n\
            pgdemote_proactive N0=0 N1=0\npgpromote_success N0=0 N1=0\n";
        assert_eq!(w.read("a/memory.numa_stat").unwrap(), numa);
        assert_eq!(w.read("memory.numa_stat").unwrap(), numa);
        // hugetlb in memory.stat only with memory_hugetlb_accounting.
        assert!(!expect.contains("hugetlb"));
        let h = World::mounted("memory_hugetlb_accounting");
        let text = h.read("memory.stat").unwrap();
        assert!(text.contains("\nslab 0\nhugetlb 0\nworkingset_refault_anon 0\n"));
        assert_eq!(text.lines().count(), expect.lines().count() + 1);
    }

    #[test]
    fn tunables_parse_as_page_counter_memparse() {
        let w = World::tree();
        let files = [
            "min",
            "low",
            "high",
            "max",
            "swap.high",
            "swap.max",
            "zswap.max",
        ];
        for f in files {
            let path = std::format!("a/memory.{f}");
            for (input, shown) in [
                (&b"1M\n"[..], "1048576\n"),
                (b"4097", "4096\n"),
                (b"4095", "0\n"),
                (b"  8K \n", "8192\n"),
                (b"0x2000", "8192\n"),
                (b"max", "max\n"),
                (b"\tmax\n", "max\n"),
                (b"\n", "0\n"),
                (b"8E", "max\n"),
                (b"7E", "8070450532247928832\n"),
                (b"16E", "0\n"),
                (b"4096\0junk", "4096\n"),
            ] {
                w.write(&path, input).unwrap();
                assert_eq!(w.read(&path).unwrap(), shown, "{f} {input:?}");
            }
            w.write(&path, b"").unwrap(); // the core's no-op
            assert_eq!(w.read(&path).unwrap(), "4096\n", "{f}");
            for bad in [
                &b"-1"[..],
                b"Max",
                b"max\n\n1",
                b"1 M",
                b"1kb",
                b"+1",
                b"08",
                b"x",
                b"1.5G",
                b"maxx",
            ] {
                assert_eq!(w.write(&path, bad), Err(Error::EINVAL), "{f} {bad:?}");
            }
            assert_eq!(w.read(&path).unwrap(), "4096\n", "{f}");
        }
    }

    #[test]
    fn zero_or_one_files() {
        let w = World::tree();
        for (path, default) in [
            ("a/memory.oom.group", "0\n"),
            ("a/memory.zswap.writeback", "1\n"),
            ("memory.zswap.writeback", "1\n"),
        ] {
            for (input, shown) in [
                (&b"1"[..], "1\n"),
                (b"0\n", "0\n"),
                (b" 0x1 ", "1\n"),
                (b"+0", "0\n"),
                (b"-0", "0\n"),
                (b"01", "1\n"),
            ] {
                w.write(path, input).unwrap();
                assert_eq!(w.read(path).unwrap(), shown, "{path} {input:?}");
            }
            for (bad, e) in [
                (&b"2"[..], Error::EINVAL),
                (b"-1", Error::EINVAL),
                (b"\n", Error::EINVAL),
                (b"x", Error::EINVAL),
                (b"1 1", Error::EINVAL),
                (b"0x", Error::EINVAL),
                (b"true", Error::EINVAL),
                (b"4294967297", Error::ERANGE),
                (b"99999999999999999999", Error::ERANGE),
            ] {
                assert_eq!(w.write(path, bad), Err(e), "{path} {bad:?}");
            }
            assert_eq!(w.read(path).unwrap(), "1\n", "{path}");
            w.write(path, default.as_bytes()).unwrap();
        }
        w.write("a/memory.oom.group", b"1").unwrap();
        w.write("a/memory.zswap.writeback", b"0").unwrap();
        w.gpc.mkdir(w.h, "a/c").unwrap();
        assert_eq!(
            w.read("a/c/memory.oom.group").unwrap(),
            "0\n",
            "not inherited"
        );
        assert_eq!(w.read("a/c/memory.zswap.writeback").unwrap(), "1\n");
        w.with("a/b", |b| {
            let a = b.parent().unwrap();
            assert!(reclaim::oom_group(b, None).unwrap().same(a));
        });
    }

    #[test]
    fn hostile_writes_change_nothing() {
        let w = World::tree();
        w.anon("a/b", 5);
        let snapshot = |w: &World| -> Vec<String> {
            READABLE
                .iter()
                .flat_map(|f| ["a", "a/b"].map(|d| w.read(&std::format!("{d}/{f}")).unwrap()))
                .chain(["memory.stat", "memory.numa_stat"].map(|f| w.read(f).unwrap()))
                .collect()
        };
        let before = snapshot(&w);
        let host = FakeReclaim::new(u64::MAX);
        let garbage: [&[u8]; 10] = [
            b"-1",
            b"1 2",
            b"max max",
            b"\xff",
            b"1\n2",
            b"--",
            b"0x",
            b"99999999999999999999x",
            b"swappiness=1",
            b"1M swappiness=1000",
        ];
        for f in READABLE.iter().chain(["memory.reclaim"].iter()) {
            if matches!(*f, "memory.peak" | "memory.swap.peak") {
                continue; // any write is accepted, and changes nothing either
            }
            for bad in garbage {
                let path = std::format!("a/{f}");
                assert!(w.write_via(&host, &path, bad).is_err(), "{f} {bad:?}");
            }
        }
        for f in ["memory.peak", "memory.swap.peak"] {
            for bad in garbage {
                w.write_via(&host, &std::format!("a/{f}"), bad).unwrap();
            }
        }
        assert_eq!(before, snapshot(&w));
        assert!(host.calls.borrow().is_empty());
    }

    #[test]
    fn protection_sums_in_the_parent() {
        let w = World::tree();
        w.anon("a/b", 10);
        w.write("a/b/memory.min", b"32K").unwrap();
        w.write("a/b/memory.low", b"max").unwrap();
        assert_eq!(w.read("a/b/memory.min").unwrap(), "32768\n");
        assert_eq!(w.read("a/b/memory.low").unwrap(), "max\n");
        w.with("a", |a| {
            assert_eq!(a.state().memory_counter().protected_usage().1, (8, 10));
        });
        w.write("a/b/memory.min", b"0").unwrap();
        w.with("a", |a| {
            assert_eq!(a.state().memory_counter().protected_usage().1, (0, 10));
        });
    }

    #[test]
    fn max_reclaims_through_the_host() {
        let w = World::tree();
        w.anon("a/b", 100);
        let host = FakeReclaim::new(u64::MAX);
        w.write_via(&host, "a/memory.max", b"160K").unwrap();
        assert_eq!(w.read("a/memory.max").unwrap(), "163840\n");
        assert_eq!(w.num("a/memory.current"), 40 * PAGE);
        assert_eq!(w.num("a/b/memory.current"), 40 * PAGE);
        assert_eq!(w.num("a/memory.swap.current"), 60 * PAGE);
        assert_eq!(w.num("a/b/memory.swap.peak"), 60 * PAGE);
        assert_eq!(w.num("a/memory.peak"), 100 * PAGE, "the peak stays");
        for (k, v) in [
            ("pgscan", 60),
            ("pgsteal", 60),
            ("pgscan_direct", 60),
            ("pgsteal_direct", 60),
            ("pgscan_proactive", 0),
            ("pswpout", 60),
            ("anon", 40 * PAGE),
            ("inactive_anon", 40 * PAGE),
        ] {
            assert_eq!(w.key("a/memory.stat", k), v, "{k}");
        }
        let b = w.id("a/b");
        assert!(host
            .calls
            .borrow()
            .iter()
            .all(|c| c.0 == b && c.1 == Lru::InactiveAnon));
        assert!(host.ooms.borrow().is_empty());
        assert_eq!(w.key("a/memory.events", "oom"), 0);
        assert_eq!(w.key("a/memory.events", "max"), 0);
        // A charge now meets the new limit: a `max` event, as try_charge_memcg counts.
        assert_eq!(w.with("a/b", |c| try_charge(c, 1)), Err(Error::ENOMEM));
        assert_eq!(w.key("a/memory.events", "max"), 1);
        assert_eq!(w.key("a/memory.events.local", "max"), 1);
        assert_eq!(w.key("a/b/memory.events", "max"), 0);
        // Raising it reclaims nothing.
        let calls = host.calls.borrow().len();
        w.write_via(&host, "a/memory.max", b"max").unwrap();
        assert_eq!(host.calls.borrow().len(), calls);
        assert_eq!(w.read("a/memory.max").unwrap(), "max\n");
    }

    #[test]
    fn max_that_reclaim_cannot_reach_asks_for_an_oom_kill() {
        let w = World::tree();
        w.anon("a/b", 10);
        let stuck = FakeReclaim::new(0);
        w.write_via(&stuck, "a/memory.max", b"8K").unwrap();
        assert_eq!(w.read("a/memory.max").unwrap(), "8192\n");
        assert_eq!(
            w.num("a/memory.current"),
            10 * PAGE,
            "above the limit until the kill"
        );
        assert_eq!(*stuck.ooms.borrow(), [w.id("a")]);
        assert_eq!(w.key("a/memory.events", "oom"), 1);
        assert_eq!(w.key("a/memory.events.local", "oom"), 1);
        assert_eq!(w.key("a/b/memory.events", "oom"), 0);
        assert_eq!(w.key("a/memory.events", "max"), 0);
        // The host kills; the victim's pages go.
        w.with("a/b", record_oom_kill);
        w.with("a/b", |c| uncharge(c, 10 * PAGE));
        assert_eq!(w.key("a/memory.events", "oom_kill"), 1);
        assert_eq!(w.key("a/memory.events.local", "oom_kill"), 0);
        assert_eq!(w.key("a/b/memory.events.local", "oom_kill"), 1);
        // Without a host that reclaims: the oom event, nobody to ask.
        w.anon("a/b", 2);
        w.write("a/memory.max", b"4K").unwrap();
        assert_eq!(w.key("a/memory.events", "oom"), 2);
        assert_eq!(stuck.ooms.borrow().len(), 1);
        // A limit already met: no reclaim, no event.
        w.write_via(&stuck, "a/memory.max", b"1M").unwrap();
        assert_eq!(w.key("a/memory.events", "oom"), 2);
    }

    #[test]
    fn high_reclaims_and_stops_when_reclaim_cannot() {
        let w = World::tree();
        w.anon("a/b", 100);
        let host = FakeReclaim::new(30);
        w.write_via(&host, "a/memory.high", b"200K").unwrap();
        assert_eq!(w.read("a/memory.high").unwrap(), "204800\n");
        // 50 over; the host had 30 pages to give.
        assert_eq!(w.num("a/memory.current"), 70 * PAGE);
        assert_eq!(w.key("a/memory.stat", "pgsteal_direct"), 30);
        assert!(host.ooms.borrow().is_empty());
        assert_eq!(
            w.key("a/memory.events", "high"),
            0,
            "a write counts no event"
        );
        assert_eq!(w.key("a/memory.events", "oom"), 0);
        // Nothing over: nothing asked.
        let calls = host.calls.borrow().len();
        w.write_via(&host, "a/memory.high", b"max").unwrap();
        assert_eq!(host.calls.borrow().len(), calls);
        // The next charge over memory.high names the group.
        w.write("a/memory.high", b"4K").unwrap();
        let a = w.id("a");
        let over: Vec<_> = w.with("a/b", |c| {
            reclaim::over_high(c)
                .map(|(g, n)| (g.container_id(), n))
                .collect()
        });
        assert_eq!(over, [(a, 69)]);
    }

    #[test]
    fn reclaim_file_batches_retries_and_eagain() {
        let w = World::tree();
        w.anon("a/b", 100);
        let host = FakeReclaim::new(u64::MAX);
        // 50 pages: a first batch of max(50 / 4, 32) pages, then max(18 / 4, 32).
        w.write_via(&host, "a/memory.reclaim", b"200K").unwrap();
        assert_eq!(w.num("a/memory.current"), 36 * PAGE);
        assert_eq!(w.key("a/memory.stat", "pgscan_proactive"), 64);
        assert_eq!(w.key("a/memory.stat", "pgsteal_proactive"), 64);
        assert_eq!(w.key("a/memory.stat", "pgscan_direct"), 0);
        // Amounts under a page ask for nothing.
        let calls = host.calls.borrow().len();
        for zero in [&b"0"[..], b"4095", b"K", b" 0 swappiness=max "] {
            w.write_via(&host, "a/memory.reclaim", zero).unwrap();
        }
        assert_eq!(host.calls.borrow().len(), calls);
        // The host can give 10 of 30: what was freed stays freed, the write is EAGAIN.
        host.budget.set(10);
        assert_eq!(
            w.write_via(&host, "a/memory.reclaim", b"120K"),
            Err(Error::EAGAIN)
        );
        assert_eq!(w.num("a/memory.current"), 26 * PAGE);
        // Without a host, nothing can be reclaimed.
        assert_eq!(w.write("a/memory.reclaim", b"1M"), Err(Error::EAGAIN));
        assert_eq!(w.write("a/memory.reclaim", b"0"), Ok(()));
        assert_eq!(w.write("a/memory.reclaim", b"1M x"), Err(Error::EINVAL));
        // The root's reclaim walks every group.
        host.budget.set(u64::MAX);
        w.write_via(&host, "memory.reclaim", b"40K").unwrap();
        assert_eq!(w.num("a/memory.current"), 0);
    }

    #[test]
    fn reclaim_swappiness_picks_the_lists() {
        let w = World::tree();
        w.anon("a", 64);
        w.file("a", 64);
        let host = FakeReclaim::new(u64::MAX);
        w.write_via(&host, "a/memory.reclaim", b"64K swappiness=max")
            .unwrap();
        assert!(!host.lists().is_empty());
        assert!(
            host.lists().iter().all(|l| !l.is_file()),
            "{:?}",
            host.lists()
        );
        assert_eq!(w.num("a/memory.swap.current"), 32 * PAGE);
        let host = FakeReclaim::new(u64::MAX);
        w.write_via(&host, "a/memory.reclaim", b"64K swappiness=0")
            .unwrap();
        assert!(!host.lists().is_empty());
        assert!(
            host.lists().iter().all(|l| l.is_file()),
            "{:?}",
            host.lists()
        );
        assert_eq!(w.key("a/memory.stat", "file"), 32 * PAGE);
    }

    #[test]
    fn peak_write_is_accepted_and_reads_stay_global() {
        let w = World::tree();
        w.anon("a/b", 8);
        w.with("a/b", |c| uncharge(c, 6 * PAGE));
        assert_eq!(w.num("a/memory.peak"), 8 * PAGE);
        w.write("a/memory.peak", b"reset\n").unwrap();
        w.write("a/memory.swap.peak", b"0").unwrap();
        assert_eq!(w.num("a/memory.peak"), 8 * PAGE);
        assert_eq!(w.num("a/memory.current"), 2 * PAGE);
    }

    #[test]
    fn events_are_hierarchical_unless_memory_localevents() {
        for (options, a_tree) in [("", 1), ("memory_localevents", 0)] {
            let w = World::mounted(options);
            w.gpc.mkdir(w.h, "a").unwrap();
            w.write("a/cgroup.subtree_control", b"+memory").unwrap();
            w.gpc.mkdir(w.h, "a/b").unwrap();
            w.with("a/b", |c| {
                record_oom_kill(c);
                stats::event(c, Event::SwapMax);
                stats::event(c, Event::SwapFail);
                stats::event(c, Event::OomGroupKill);
            });
            assert_eq!(w.key("a/memory.events", "oom_kill"), a_tree, "{options}");
            assert_eq!(w.key("a/memory.events", "oom_group_kill"), a_tree);
            assert_eq!(w.key("a/memory.events.local", "oom_kill"), 0);
            assert_eq!(w.key("a/b/memory.events", "oom_kill"), 1);
            assert_eq!(w.key("a/b/memory.events.local", "oom_kill"), 1);
            assert_eq!(
                w.read("a/memory.swap.events").unwrap(),
                std::format!("high 0\nmax {a_tree}\nfail {a_tree}\n")
            );
            assert_eq!(
                w.read("a/b/memory.swap.events").unwrap(),
                "high 0\nmax 1\nfail 1\n"
            );
        }
    }

    #[test]
    fn nsdelegate_lets_oom_group_and_reclaim_through() {
        let mut w = World::mounted("nsdelegate");
        w.gpc.mkdir(w.h, "a").unwrap();
        let pid = w.fork(1).unwrap();
        w.write("a/cgroup.procs", std::format!("{pid}").as_bytes())
            .unwrap();
        let ns = w.gpc.cgroup_ns_of(&w.tasks.get(pid).unwrap().slot).unwrap();
        let write_in = |w: &World, path: &str, data: &[u8]| {
            let node = w.gpc.lookup(w.h, path)?;
            let caller = w.tasks.caller(Creds::ROOT, None);
            w.gpc.write_node_ns(&node, data, &caller, Some(&ns))
        };
        // CFTYPE_NS_DELEGATABLE
        write_in(&w, "a/memory.oom.group", b"1").unwrap();
        write_in(&w, "a/memory.reclaim", b"0").unwrap();
        assert_eq!(w.read("a/memory.oom.group").unwrap(), "1\n");
        for f in [
            "max",
            "high",
            "low",
            "min",
            "swap.max",
            "peak",
            "zswap.writeback",
        ] {
            let path = std::format!("a/memory.{f}");
            assert_eq!(write_in(&w, &path, b"0"), Err(Error::EPERM), "{f}");
        }
        assert_eq!(w.read("a/memory.max").unwrap(), "max\n");
        w.write("a/memory.max", b"1M").unwrap();
    }

    #[test]
    fn swap_max_is_stored_whatever_is_on_swap() {
        let w = World::tree();
        w.anon("a/b", 10);
        let host = FakeReclaim::new(u64::MAX);
        w.write_via(&host, "a/memory.reclaim", b"40K").unwrap();
        assert_eq!(w.num("a/memory.swap.current"), 10 * PAGE);
        host.calls.borrow_mut().clear();
        w.write_via(&host, "a/memory.swap.max", b"4K").unwrap();
        assert_eq!(w.read("a/memory.swap.max").unwrap(), "4096\n");
        assert_eq!(w.num("a/memory.swap.current"), 10 * PAGE);
        assert!(host.calls.borrow().is_empty());
        // No swap headroom left: anonymous memory cannot be reclaimed.
        assert_eq!(
            w.write_via(&host, "a/memory.reclaim", b"4K"),
            Err(Error::EAGAIN)
        );
        w.write("a/memory.swap.high", b"0").unwrap();
        assert_eq!(w.read("a/memory.swap.high").unwrap(), "0\n");
    }
}
