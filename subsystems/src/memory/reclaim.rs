//! Charging pages, reclaiming them and choosing whom the OOM killer takes: the decisions
//! of `mm/memcontrol.c` (`try_charge_memcg`, `mem_cgroup_calculate_protection`,
//! `mem_cgroup_handle_over_high`, `mem_cgroup_get_oom_group`) and `mm/vmscan.c`
//! (`do_try_to_free_pages`, `shrink_node_memcgs`, `get_scan_count`), over the counts
//! this controller keeps. The pages themselves are the host's: a reclaim asks
//! [`PageReclaim::reclaim`] for so many pages of one list of one group and uncharges
//! what the host freed (see `gpc_core::host::reclaim` for the split).
//!
//! # What a charge does (the host's loop, as `try_charge_memcg`)
//!
//! 1. [`try_charge_pages`]: the counters of the group and every ancestor, all or none
//!    (v1's `memsw` first, then `memory`). A refusal counts in the refusing level's
//!    `failcnt` and its `max` event, and names that level.
//! 2. The host reclaims from that level's subtree ([`reclaim`], at least
//!    `SWAP_CLUSTER_MAX` pages, without swapping when `memsw` refused) and tries again
//!    while reclaim makes progress. Linux retries a fruitless reclaim 16 times; a
//!    simulated machine where nothing runs in between would get 16 identical answers, so
//!    hosts may go on to step 3 at once.
//! 3. Out of memory in that level ([`Event::Oom`]): with v1's `oom_kill_disable` the task
//!    waits until memory is freed; otherwise the host kills [`oom_victim`] (and, with
//!    `memory.oom.group`, all of [`oom_group`]) and tries again. If the charging task was
//!    the victim, or no task can be killed, the charge fails with `ENOMEM`.
//! 4. On success, [`commit`] puts the pages on their list; [`over_high`] then names the
//!    levels above `memory.high`, which the host reclaims ([`reclaim`]) and, if that
//!    does not bring them back, throttles the task by [`high_delay_ms`].
//!
//! # Reclaim (`do_try_to_free_pages` for one target)
//!
//! Priorities 12 down to 0; at each, every group of the subtree (pre-order) is asked for
//! its lists' sizes shifted right by the priority, less its protection, until the target
//! is reached. Per group the split between page cache and anonymous memory is
//! `get_scan_count`'s: no swapping (swappiness 0 in a group's own reclaim, no swap
//! headroom, a `memsw` limit) scans file only; a healthy inactive file list (not smaller
//! than the active one) is trimmed alone ("cache trim mode"); otherwise anonymous and
//! file pages are scanned in the ratio `swappiness : 200 - swappiness` (Linux's costs
//! taken as equal). Inactive lists go before active ones. Groups at or below their
//! effective `memory.min` are never reclaimed; those at or below `memory.low` only when
//! a whole first pass freed nothing, and each such group counts a `low` event.
//! Effective protection is `effective_protection()` of mm/page_counter.c, with
//! `memory_recursiveprot` when the request says so.

use core::sync::atomic::Ordering;

use gpc_core::counter;
use gpc_core::host::reclaim::{Lru, PageReclaim, Reclaimed};
use gpc_core::Css;

use super::stats::{self, Event, Stat};
use super::{Memory, State};
use crate::parse::PAGE_COUNTER_MAX;

/// `SWAP_CLUSTER_MAX`: the least a charge's reclaim asks for.
pub const SWAP_CLUSTER_MAX: u64 = 32;
/// `MAX_RECLAIM_RETRIES`.
pub const MAX_RECLAIM_RETRIES: u32 = 16;
/// `DEF_PRIORITY`: the first scan looks at 1/4096 of each list.
pub const DEF_PRIORITY: u32 = 12;
/// `MEMCG_CHARGE_BATCH`: the unit `memory.high`'s penalty scales with.
pub const MEMCG_CHARGE_BATCH: u64 = 64;
/// `MEMCG_MAX_HIGH_DELAY_JIFFIES` at `HZ` = 1000: the longest sleep over `memory.high`.
pub const MAX_HIGH_DELAY_MS: u64 = 2000;

/// The statistics item of a list.
pub const fn lru_stat(lru: Lru) -> Stat {
    match lru {
        Lru::InactiveAnon => Stat::InactiveAnon,
        Lru::ActiveAnon => Stat::ActiveAnon,
        Lru::InactiveFile => Stat::InactiveFile,
        Lru::ActiveFile => Stat::ActiveFile,
    }
}

/// `mem_cgroup_margin`: how many pages fit under every limit from `css` up, `memory`
/// and v1 `memsw` both (the root's limits never apply: `u64::MAX` for the root).
pub fn margin(css: Css<'_, Memory>) -> u64 {
    if css.is_root() {
        return u64::MAX;
    }
    css.ancestors_and_self()
        .take_while(|l| !l.is_root())
        .map(|l| {
            let st = l.state();
            let (m, s) = (&st.memory, &st.memsw);
            m.max()
                .saturating_sub(m.usage())
                .min(s.max().saturating_sub(s.usage()))
        })
        .min()
        .unwrap_or(u64::MAX)
}

/// The memory states of a walk (`Gpc::with_css_subtree`'s), as the list [`reclaim`]
/// takes (it walks them once per priority).
///
/// # Errors
///
/// `ENOMEM` (no room for the list).
pub fn typed_groups<'a>(
    groups: &mut dyn Iterator<Item = gpc_core::CssRef<'a>>,
) -> gpc_core::Result<alloc::vec::Vec<Css<'a, Memory>>> {
    let mut list = alloc::vec::Vec::new();
    for c in groups {
        let Some(c) = c.typed::<Memory>() else {
            continue;
        };
        list.try_reserve(1).map_err(|_| gpc_core::Error::ENOMEM)?;
        list.push(c);
    }
    Ok(list)
}

/// The level that refused a charge.
#[derive(Clone, Copy)]
pub struct Over<'a> {
    /// Its state.
    pub css: Css<'a, Memory>,
    /// Whether `memory.memsw.limit_in_bytes` refused (swapping cannot help then).
    pub memsw: bool,
}

/// Charge `n` pages to `css` and every ancestor (`try_charge_memcg`'s counter part): v1's
/// `memsw` counters first, then `memory`; all levels or none. The root group's charges
/// change no counter (Linux: "if (mem_cgroup_is_root(memcg)) return 0").
///
/// # Errors
///
/// The refusing level: its `failcnt` grew and a `max` event was counted there; nothing
/// else changed.
pub fn try_charge_pages(css: Css<'_, Memory>, n: u64) -> Result<(), Over<'_>> {
    if n == 0 || css.is_root() {
        return Ok(());
    }
    let level = |i: usize| css.ancestors_and_self().nth(i).unwrap_or(css);
    if let Err(i) = counter::try_charge(css.ancestors_and_self().map(|l| &l.state().memsw), n) {
        let at = level(i);
        stats::event(at, Event::Max);
        return Err(Over {
            css: at,
            memsw: true,
        });
    }
    if let Err(i) = counter::try_charge(css.ancestors_and_self().map(|l| &l.state().memory), n) {
        counter::uncharge(css.ancestors_and_self().map(|l| &l.state().memsw), n);
        let at = level(i);
        stats::event(at, Event::Max);
        return Err(Over {
            css: at,
            memsw: false,
        });
    }
    Ok(())
}

/// The pages just charged are now on `lru` of `css` (`commit_charge` and
/// `memcg1_charge_statistics`): one `pgpgin` per page (each a fault of one small
/// folio), and one `pgfault` per anonymous page.
pub fn commit(css: Css<'_, Memory>, n: u64, lru: Lru) {
    stats::add(css, lru_stat(lru), n);
    stats::add(css, Stat::Pgpgin, n);
    if !lru.is_file() {
        stats::add(css, Stat::Pgfault, n);
    }
}

/// Free `n` resident pages of `lru` charged to `css` (`mem_cgroup_uncharge`).
pub fn uncharge_pages(css: Css<'_, Memory>, n: u64, lru: Lru) {
    if n == 0 {
        return;
    }
    if !css.is_root() {
        counter::uncharge(css.ancestors_and_self().map(|l| &l.state().memory), n);
        counter::uncharge(css.ancestors_and_self().map(|l| &l.state().memsw), n);
    }
    stats::sub(css, lru_stat(lru), n);
    stats::add(css, Stat::Pgpgout, n);
}

/// Free `n` pages of `css` that are out on swap (`mem_cgroup_uncharge_swap`): the swap
/// and `memsw` counters give them back.
pub fn uncharge_swap(css: Css<'_, Memory>, n: u64) {
    if n == 0 {
        return;
    }
    if !css.is_root() {
        counter::uncharge(css.ancestors_and_self().map(|l| &l.state().swap), n);
        counter::uncharge(css.ancestors_and_self().map(|l| &l.state().memsw), n);
    }
    stats::sub(css, Stat::Swap, n);
}

/// `n` pages of `css` moved from `from` to `to` (activation on a second use, or a
/// deactivation): `pgactivate` / `pgdeactivate` count them.
pub fn move_pages(css: Css<'_, Memory>, n: u64, from: Lru, to: Lru) {
    stats::shift(css, lru_stat(from), lru_stat(to), n);
    let ev = match (from, to) {
        (Lru::InactiveAnon, Lru::ActiveAnon) | (Lru::InactiveFile, Lru::ActiveFile) => {
            Stat::Pgactivate
        }
        _ => Stat::Pgdeactivate,
    };
    stats::add(css, ev, n);
}

/// `n` page-cache pages of `css` became dirty (`dirty`) or were cleaned by writeback.
pub fn set_dirty(css: Css<'_, Memory>, n: u64, dirty: bool) {
    if dirty {
        stats::add(css, Stat::Dirty, n);
    } else {
        stats::sub(css, Stat::Dirty, n);
    }
}

/// `n` dirty pages of `css` started (`true`) or finished (`false`) writeback on the
/// host's own (the flusher): finished pages are clean.
pub fn set_writeback(css: Css<'_, Memory>, n: u64, started: bool) {
    if started {
        stats::shift(css, Stat::Dirty, Stat::Writeback, n);
    } else {
        stats::sub(css, Stat::Writeback, n);
    }
}

/// Why a reclaim runs: the statistics it counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A charge hit a limit, or the machine is full (`pgscan_direct`).
    Direct,
    /// `memory.reclaim`, `memory.force_empty`, a lowered limit (`pgscan_proactive`; Linux
    /// counts the last two as direct, gpc as what they are).
    Proactive,
}

/// One reclaim request.
#[derive(Clone, Copy, Debug)]
pub struct Request {
    /// Pages to free (`nr_to_reclaim`).
    pub nr: u64,
    /// Anonymous pages may go to swap (false when `memsw` refused the charge).
    pub may_swap: bool,
    /// `swappiness=` of a `memory.reclaim` write (above `MAX_SWAPPINESS`: `swappiness=max`,
    /// anonymous memory only), else each group's own.
    pub swappiness: Option<u64>,
    /// The reclaim is the machine's (memory full), not a group's: swappiness 0 does not
    /// forbid swapping there, and v1 soft limits are reclaimed first.
    pub global: bool,
    /// `memory_recursiveprot`.
    pub recursive_prot: bool,
    /// Statistics.
    pub origin: Origin,
}

impl Request {
    /// Direct reclaim of `nr` pages, as a charge, `memory.high` or the machine's own
    /// shortage asks for it (`try_to_free_mem_cgroup_pages` / `try_to_free_pages`):
    /// each group's swappiness, `may_swap` unless a `memsw` limit refused, `global` for
    /// the machine's reclaim (soft limits first, swappiness 0 no bar to swapping).
    pub fn direct(nr: u64, may_swap: bool, global: bool, recursive_prot: bool) -> Self {
        Request {
            nr,
            may_swap,
            swappiness: None,
            global,
            recursive_prot,
            origin: Origin::Direct,
        }
    }
}

/// `effective_protection` (mm/page_counter.c).
fn effective_protection(
    usage: u64,
    parent_usage: u64,
    setting: u64,
    parent_effective: u64,
    siblings_protected: u64,
    recursive: bool,
) -> u64 {
    let protected = usage.min(setting);
    if siblings_protected > parent_effective {
        return mul_div(protected, parent_effective, siblings_protected);
    }
    let mut ep = protected;
    if recursive
        && parent_effective > siblings_protected
        && parent_usage > siblings_protected
        && usage > protected
    {
        ep += mul_div(
            parent_effective - siblings_protected,
            usage - protected,
            parent_usage - siblings_protected,
        );
    }
    ep
}

/// `a * b / c` without overflow (0 for `c == 0`).
fn mul_div(a: u64, b: u64, c: u64) -> u64 {
    if c == 0 {
        return 0;
    }
    u64::try_from(u128::from(a) * u128::from(b) / u128::from(c)).unwrap_or(u64::MAX)
}

/// `page_counter_calculate_protection` of `g` below the reclaim target `target`
/// (parents first: a parent's effective values are already set).
fn calculate_protection(target: Css<'_, Memory>, g: Css<'_, Memory>, recursive: bool) {
    let st = g.state();
    if g.same(target) {
        return;
    }
    let usage = st.memory.usage();
    if usage == 0 {
        return;
    }
    let (min, low) = st.memory.protection();
    let Some(parent) = g.parent() else { return };
    if parent.same(target) {
        st.emin.store(min, Ordering::Relaxed);
        st.elow.store(low, Ordering::Relaxed);
        return;
    }
    let ps = parent.state();
    let parent_usage = ps.memory.usage();
    let (_, (children_min, children_low)) = ps.memory.protected_usage();
    st.emin.store(
        effective_protection(
            usage,
            parent_usage,
            min,
            ps.emin.load(Ordering::Relaxed),
            children_min,
            recursive,
        ),
        Ordering::Relaxed,
    );
    st.elow.store(
        effective_protection(
            usage,
            parent_usage,
            low,
            ps.elow.load(Ordering::Relaxed),
            children_low,
            recursive,
        ),
        Ordering::Relaxed,
    );
}

/// Whether the target's own protection applies (never: Linux `mem_cgroup_unprotected`,
/// also for the root group).
fn unprotected(target: Css<'_, Memory>, g: Css<'_, Memory>) -> bool {
    g.is_root() || g.same(target)
}

/// `mem_cgroup_below_min`.
fn below_min(target: Css<'_, Memory>, g: Css<'_, Memory>) -> bool {
    !unprotected(target, g) && g.state().emin.load(Ordering::Relaxed) >= g.state().memory.usage()
}

/// `mem_cgroup_below_low`.
fn below_low(target: Css<'_, Memory>, g: Css<'_, Memory>) -> bool {
    !unprotected(target, g) && g.state().elow.load(Ordering::Relaxed) >= g.state().memory.usage()
}

/// The swap a group may still use: the least headroom of `memory.swap.max` up its
/// chain (anonymous reclaim writes no more than this).
pub fn swap_headroom(g: Css<'_, Memory>) -> u64 {
    if g.is_root() {
        return PAGE_COUNTER_MAX;
    }
    g.ancestors_and_self()
        .map(|l| {
            let c = &l.state().swap;
            c.max().saturating_sub(c.usage())
        })
        .min()
        .unwrap_or(0)
}

/// How many pages of each list of `g` to ask for at `priority` (`get_scan_count`).
fn scan_count(
    target: Css<'_, Memory>,
    g: Css<'_, Memory>,
    req: &Request,
    priority: u32,
    low_reclaim: bool,
    swap_free: u64,
) -> [u64; 4] {
    let st = g.state();
    let protection = if unprotected(target, g) {
        0
    } else {
        let emin = st.emin.load(Ordering::Relaxed);
        if low_reclaim {
            emin
        } else {
            emin.max(st.elow.load(Ordering::Relaxed))
        }
    };
    let cgroup_size = st.memory.usage();
    let mut scan = [0u64; 4];
    for lru in Lru::ALL {
        let size = st.stats.local(lru_stat(lru));
        let mut s = size;
        if protection > 0 {
            s = size - mul_div(size, protection, cgroup_size.saturating_add(1));
            // "Minimally target SWAP_CLUSTER_MAX pages to keep reclaim moving forwards."
            s = s.max(SWAP_CLUSTER_MAX);
        }
        scan[lru as usize] = (s >> priority).min(size);
    }
    let swappiness = req
        .swappiness
        .unwrap_or_else(|| st.swappiness.load(Ordering::Relaxed));
    let may_swap =
        req.may_swap && (swappiness > 0 || req.global) && swap_headroom(g) > 0 && swap_free > 0;
    let anon = scan[Lru::InactiveAnon as usize] + scan[Lru::ActiveAnon as usize];
    let file = scan[Lru::InactiveFile as usize] + scan[Lru::ActiveFile as usize];
    let (anon_share, file_share) = if !may_swap {
        (0, 200)
    } else if swappiness > super::MAX_SWAPPINESS {
        // `swappiness=max` of a `memory.reclaim` write (`SWAPPINESS_ANON_ONLY`): anonymous
        // pages only, checked after "no swap" and before every balancing rule
        // (`get_scan_count`).
        (200, 0)
    } else if anon == 0 {
        (0, 200)
    } else if file == 0 {
        (200, 0)
    } else {
        let inactive_file = st.stats.local(Stat::InactiveFile);
        let active_file = st.stats.local(Stat::ActiveFile);
        if scan[Lru::InactiveFile as usize] > 0 && inactive_file >= active_file {
            (0, 200) // cache trim mode
        } else {
            (swappiness.min(200), 200 - swappiness.min(200))
        }
    };
    for lru in Lru::ALL {
        let share = if lru.is_file() {
            file_share
        } else {
            anon_share
        };
        scan[lru as usize] = mul_div(scan[lru as usize], share, 200);
    }
    scan
}

/// Ask the host for up to `nr` pages of `lru` of `g` and uncharge what it freed.
fn reclaim_list(
    g: Css<'_, Memory>,
    lru: Lru,
    nr: u64,
    origin: Origin,
    host: &dyn PageReclaim,
) -> u64 {
    let nr = if lru.is_file() {
        nr
    } else {
        let headroom = swap_headroom(g);
        // Linux isolates a batch of up to SWAP_CLUSTER_MAX pages and swaps them one by
        // one: when the batch does not fit under `memory.swap.max`, the swap charge of
        // the first page beyond fails (`__mem_cgroup_try_charge_swap`).
        let batch = nr.max(SWAP_CLUSTER_MAX.min(g.state().stats.local(lru_stat(lru))));
        if batch > headroom && headroom < host.swap_free() {
            stats::event(g, Event::SwapMax);
            stats::event(g, Event::SwapFail);
        }
        nr.min(headroom)
    };
    if nr == 0 {
        return 0;
    }
    let Reclaimed { freed, writeback } = host.reclaim(g.container_id(), lru, nr);
    let freed = freed.min(nr);
    let writeback = writeback.min(nr - freed);
    let (scan, steal) = match origin {
        Origin::Direct => (Stat::PgscanDirect, Stat::PgstealDirect),
        Origin::Proactive => (Stat::PgscanProactive, Stat::PgstealProactive),
    };
    stats::add(g, scan, freed + writeback);
    stats::add(g, steal, freed);
    if writeback > 0 {
        set_writeback(g, writeback, true);
    }
    if freed == 0 {
        return 0;
    }
    if lru.is_file() {
        uncharge_pages(g, freed, lru);
    } else {
        // Swapped out: the memory counters give the pages back, the swap counters take
        // them; `memsw` (memory + swap) stays as it was.
        if !g.is_root() {
            counter::uncharge(g.ancestors_and_self().map(|l| &l.state().memory), freed);
            counter::charge(g.ancestors_and_self().map(|l| &l.state().swap), freed);
        }
        stats::sub(g, lru_stat(lru), freed);
        stats::add(g, Stat::Swap, freed);
        stats::add(g, Stat::Pswpout, freed);
        stats::add(g, Stat::Pgpgout, freed);
    }
    freed
}

/// Reclaim `req.nr` pages from `groups`: the target first, then its descendants in
/// pre-order (parents before children), as `Gpc::with_css_subtree` walks them. Returns
/// the pages freed (more than asked only by a host's rounding, never).
pub fn reclaim(groups: &[Css<'_, Memory>], req: &Request, host: &dyn PageReclaim) -> u64 {
    let Some(&target) = groups.first() else {
        return 0;
    };
    let mut freed = 0u64;
    if req.global {
        freed += reclaim_soft_limits(groups, req, host);
    }
    for low_reclaim in [false, true] {
        let mut low_skipped = false;
        for priority in (0..=DEF_PRIORITY).rev() {
            for &g in groups {
                if freed >= req.nr {
                    break;
                }
                calculate_protection(target, g, req.recursive_prot);
                if below_min(target, g) {
                    continue;
                }
                if below_low(target, g) {
                    if !low_reclaim {
                        low_skipped = true;
                        continue;
                    }
                    if priority == DEF_PRIORITY {
                        stats::event(g, Event::Low);
                    }
                }
                let scan = scan_count(target, g, req, priority, low_reclaim, host.swap_free());
                for lru in [
                    Lru::InactiveFile,
                    Lru::ActiveFile,
                    Lru::InactiveAnon,
                    Lru::ActiveAnon,
                ] {
                    let want = scan[lru as usize].min(req.nr - freed);
                    if want > 0 {
                        freed += reclaim_list(g, lru, want, req.origin, host);
                    }
                }
            }
            if freed >= req.nr {
                return freed;
            }
        }
        // "Untapped cgroup reserves? Don't OOM, retry." — only when nothing was freed.
        if freed > 0 || !low_skipped {
            break;
        }
    }
    freed
}

/// v1 soft limits under global pressure (`mem_cgroup_soft_limit_reclaim`): the groups
/// furthest above `memory.soft_limit_in_bytes` give back their excess first.
fn reclaim_soft_limits(groups: &[Css<'_, Memory>], req: &Request, host: &dyn PageReclaim) -> u64 {
    let mut freed = 0;
    // Largest excess first; a few passes, each taking the group now furthest above.
    for _ in 0..groups.len() {
        let excess = |g: &Css<'_, Memory>| {
            let st = g.state();
            st.memory
                .usage()
                .saturating_sub(st.soft_limit.load(Ordering::Relaxed))
        };
        let Some(&g) = groups
            .iter()
            .filter(|g| !g.is_root() && excess(g) > 0 && g.state().stats.local_pages() > 0)
            .max_by_key(|g| excess(g))
        else {
            break;
        };
        let want = excess(&g).min(req.nr.saturating_sub(freed));
        if want == 0 {
            break;
        }
        let mut got = 0;
        for lru in [
            Lru::InactiveFile,
            Lru::ActiveFile,
            Lru::InactiveAnon,
            Lru::ActiveAnon,
        ] {
            if lru.is_file() || req.may_swap {
                got += reclaim_list(g, lru, want - got, req.origin, host);
            }
            if got >= want {
                break;
            }
        }
        freed += got;
        if got == 0 || freed >= req.nr {
            break;
        }
    }
    freed
}

/// The levels from `css` up (the root excluded) whose usage is above `memory.high`,
/// with their excess in pages: each counts a `high` event (`try_charge_memcg`'s "do {
/// ... memcg_memory_event(memcg, MEMCG_HIGH)" walk), and the host reclaims them.
pub fn over_high<'a>(css: Css<'a, Memory>) -> impl Iterator<Item = (Css<'a, Memory>, u64)> {
    css.ancestors_and_self()
        .take_while(|l| !l.is_root())
        .filter_map(|l| {
            let st = l.state();
            let usage = st.memory.usage();
            let high = st.high.load(Ordering::Relaxed);
            (usage > high).then(|| (l, usage - high))
        })
}

/// `calculate_overage`: how far above `high` the usage is, in 1/2^20 of `high`.
fn overage(usage: u64, high: u64) -> u64 {
    if usage <= high {
        return 0;
    }
    let high = high.max(1);
    mul_div(usage - high, 1 << 20, high)
}

/// `mem_cgroup_handle_over_high`'s sleep for a task that charged `nr_pages` to `css`
/// and whose groups are still above `memory.high` (or `memory.swap.high`) after reclaim,
/// in milliseconds (`HZ` = 1000): the largest overage of any level, squared and scaled
/// (`calculate_high_delay`), for memory and for swap, at most 2 s; 0 when it would be at
/// most 10 ms ("Don't sleep if the amount of jiffies this memcg owes us is so low that
/// it's not even worth doing").
pub fn high_delay_ms(css: Css<'_, Memory>, nr_pages: u64) -> u64 {
    let delay = |pick: fn(&State) -> (u64, u64)| {
        let max_overage = css
            .ancestors_and_self()
            .take_while(|l| !l.is_root())
            .map(|l| {
                let (usage, high) = pick(l.state());
                overage(usage, high)
            })
            .max()
            .unwrap_or(0);
        if max_overage == 0 {
            return 0;
        }
        let jiffies = mul_div(max_overage, max_overage.saturating_mul(1000), 1 << 20) >> 14;
        mul_div(jiffies, nr_pages, MEMCG_CHARGE_BATCH)
    };
    let mem = delay(|st| (st.memory.usage(), st.high.load(Ordering::Relaxed)));
    let swap = delay(|st| (st.swap.usage(), st.swap_high.load(Ordering::Relaxed)));
    let total = mem.saturating_add(swap).min(MAX_HIGH_DELAY_MS);
    if total <= 10 {
        0
    } else {
        total
    }
}

/// `select_bad_process` over `candidates` (a process id and its footprint in pages:
/// resident anonymous memory plus swap, Linux `oom_badness`): the largest; among equals
/// the last one given (Linux replaces its choice on `points >= chosen`... for equal
/// points it keeps walking and the later task wins). `None` without candidates.
pub fn oom_victim<T: Copy>(candidates: impl Iterator<Item = (T, u64)>) -> Option<T> {
    let mut chosen: Option<(T, u64)> = None;
    for (t, points) in candidates {
        if chosen.map_or(true, |(_, best)| points >= best) {
            chosen = Some((t, points));
        }
    }
    chosen.map(|(t, _)| t)
}

/// `mem_cgroup_get_oom_group`: the highest group from the victim's (`victim`) up to the
/// OOM domain (`domain`, the group whose limit was hit; `None` for the machine's own OOM)
/// with `memory.oom.group` set: every task in it is killed with the victim. `None` when
/// no such group (only the victim dies).
pub fn oom_group<'a>(
    victim: Css<'a, Memory>,
    domain: Option<Css<'a, Memory>>,
) -> Option<Css<'a, Memory>> {
    let mut group = None;
    for l in victim.ancestors_and_self() {
        if l.is_root() {
            break;
        }
        if l.state().oom_group.load(Ordering::Relaxed) {
            group = Some(l);
        }
        if domain.is_some_and(|d| d.same(l)) {
            break;
        }
    }
    group
}

/// The group's OOM killer ran (`mem_cgroup_oom`): an `oom` event.
pub fn record_oom(css: Css<'_, Memory>) {
    stats::event(css, Event::Oom);
}

/// A task charged to `css` was killed by an OOM killer: `oom_kill` in the group and its
/// ancestors (v1 `memory.oom_control`, v2 `memory.events`).
pub fn record_oom_kill(css: Css<'_, Memory>) {
    stats::event(css, Event::OomKill);
}

/// `memory.oom.group` killed the tasks of `css` together: `oom_group_kill`.
pub fn record_oom_group_kill(css: Css<'_, Memory>) {
    stats::event(css, Event::OomGroupKill);
}

/// A task waits for memory in `css`'s OOM (v1 `oom_kill_disable`): `under_oom` of the
/// group and its descendants reads 1 while some task waits (`mem_cgroup_mark_under_oom`
/// counts in the whole subtree; gpc counts in the group and reads it down the tree).
pub fn mark_under_oom(css: Css<'_, Memory>, waiting: bool) {
    let c = &css.state().under_oom;
    if waiting {
        c.fetch_add(1, Ordering::Relaxed);
    } else {
        stats::sub_clamped(c, 1);
    }
}

/// Whether `css` or an ancestor has a task waiting in its OOM.
pub fn under_oom(css: Css<'_, Memory>) -> bool {
    css.ancestors_and_self()
        .any(|l| l.state().under_oom.load(Ordering::Relaxed) > 0)
}
