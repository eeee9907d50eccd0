//! The `hugetlb` controller: limits on the huge pages a group's tasks map, per huge page
//! size, for faulted pages and for reservations.
//!
//! Follows `mm/hugetlb_cgroup.c` (torvalds/linux) as of Linux 6.18. gpc models the two
//! huge page sizes of x86_64, `2MB` (index 0) and `1GB` (index 1), always both (Linux
//! makes files only for the hstates the machine has; x86_64 with `hugepagesz=1G` has
//! these two, `mem_fmt` names them). Every counter counts **base pages** (4 KiB) in a
//! [`PageCounter`], hierarchically (the root included), as Linux's `page_counter`s do.
//!
//! # Files (per size `<S>`, from `hugetlb_legacy_tmpl` / `hugetlb_dfl_tmpl`)
//!
//! v1 (no flags: also in the root):
//!
//! | file | read | write |
//! |---|---|---|
//! | `hugetlb.<S>.limit_in_bytes`, `.rsvd.limit_in_bytes` | `max * PAGE_SIZE` (`hugetlb_cgroup_read_u64`; unlimited is `round_down(PAGE_COUNTER_MAX, pages per huge page) * 4096`: 9223372036852678656 for 2MB, 9223372035781033984 for 1GB) | `hugetlb_cgroup_write_legacy`: the root `EINVAL`; `strstrip`, `page_counter_memparse(buf, "-1")` (`EINVAL`), rounded **down** to the huge page size, `page_counter_set_max` (`EBUSY` below the usage) |
//! | `.usage_in_bytes`, `.rsvd.usage_in_bytes` | usage in bytes | (read-only) |
//! | `.max_usage_in_bytes`, `.rsvd.max_usage_in_bytes` | the watermark in bytes | any write resets it to the usage (`hugetlb_cgroup_reset`) |
//! | `.failcnt`, `.rsvd.failcnt` | refused charges at this level | any write sets 0 |
//! | `.numa_stat` | `total=B N0=B ...` (this group's faulted pages), then `hierarchical_total=B N0=B ...` | |
//!
//! v2 (all `CFTYPE_NOT_ON_ROOT`):
//!
//! | file | read | write |
//! |---|---|---|
//! | `hugetlb.<S>.max`, `.rsvd.max` | `max` or bytes (`hugetlb_cgroup_read_u64_max`) | `hugetlb_cgroup_write_dfl`: as v1 with `"max"` for unlimited |
//! | `.current`, `.rsvd.current` | bytes | |
//! | `.events` | `max N`: refusals in this group or below (`hugetlb_event`) | |
//! | `.events.local` | `max N`: refusals in this group | |
//! | `.numa_stat` | `total=B N0=B ...` (hierarchical) | |
//!
//! # Charging (what a host calls)
//!
//! - [`try_charge`] with `rsvd = true`: a reservation (`hugetlb_cgroup_charge_cgroup_rsvd`
//!   from `hugetlb_reserve_pages` at `mmap`); with `rsvd = false`: a faulted page
//!   (`hugetlb_cgroup_charge_cgroup` from `alloc_hugetlb_folio`). Both charge the group
//!   of the task and every ancestor; a level whose limit refuses counts a `failcnt`, and
//!   the charging group counts a `max` event (`events.local`, and `events` in it and each
//!   ancestor but the root); the errno is `ENOMEM` (Linux's return; `mmap` reports it,
//!   the fault path turns it into `SIGBUS`, `MADV_POPULATE_WRITE` into `EFAULT`).
//! - [`uncharge`] gives it back to the group charged (a host remembers it).
//! - Charges stay where they were made when a task moves (Linux moves nothing at
//!   attach). At `rmdir` (`hugetlb_cgroup_css_offline` → `hugetlb_cgroup_move_parent`)
//!   the faulted pages become the parent's: gpc moves the group's own (per-node) count to
//!   the parent in [`Subsystem::destroy`], and a host uncharges a removed group's pages
//!   from its nearest live ancestor, whose counters already hold them.
//!   Reservations keep the removed group (Linux holds a css reference); visible figures
//!   are the ancestors', where both models agree.
//!
//! All huge pages are on node 0 (gpc's memory model; `N1=0` etc. for other nodes).

use core::sync::atomic::{AtomicU64, Ordering};

use gpc_core::counter::{self, PageCounter, COUNTER_MAX};
use gpc_core::parse::strstrip;
use gpc_core::{CfFlags, CfType, Css, Error, FileCtxOf, Out, Result, Subsystem};

use crate::parse::{page_counter_memparse, PAGE_SIZE};

/// The `hugetlb` controller (Linux `hugetlb_cgrp_subsys`).
pub struct Hugetlb;

/// The huge page sizes, in hstate order: their names (`mem_fmt`) and base pages each.
pub const SIZES: [(&str, u64); NR_SIZES] = [("2MB", 512), ("1GB", 262_144)];

/// How many huge page sizes gpc models.
pub const NR_SIZES: usize = 2;

/// The index in [`SIZES`] of a size name (`"2MB"`, `"1GB"`).
pub fn size_index(name: &str) -> Option<usize> {
    SIZES.iter().position(|&(n, _)| n == name)
}

/// Base pages per huge page of size `idx` (`pages_per_huge_page`); 0 for no such size.
pub fn pages_per_huge_page(idx: usize) -> u64 {
    SIZES.get(idx).map_or(0, |&(_, n)| n)
}

/// The "no limit" of size `idx`: `round_down(PAGE_COUNTER_MAX, pages_per_huge_page)`.
fn unlimited(idx: usize) -> u64 {
    let ppp = pages_per_huge_page(idx).max(1);
    COUNTER_MAX - COUNTER_MAX % ppp
}

/// Per-group state (Linux `struct hugetlb_cgroup`).
pub struct State {
    /// `hugepage[idx]`: faulted pages, in base pages.
    fault: [PageCounter; NR_SIZES],
    /// `rsvd_hugepage[idx]`: reservations, in base pages.
    rsvd: [PageCounter; NR_SIZES],
    /// `nodeinfo[0]->usage[idx]`: faulted pages charged to this group itself.
    local: [AtomicU64; NR_SIZES],
    /// `events[idx][HUGETLB_MAX]` (hierarchical).
    events: [AtomicU64; NR_SIZES],
    /// `events_local[idx][HUGETLB_MAX]`.
    events_local: [AtomicU64; NR_SIZES],
}

impl State {
    fn counter(&self, idx: usize, rsvd: bool) -> Option<&PageCounter> {
        if rsvd {
            self.rsvd.get(idx)
        } else {
            self.fault.get(idx)
        }
    }
}

/// The usage of size `idx` in base pages: faulted pages, or reservations with `rsvd`.
pub fn usage(css: Css<'_, Hugetlb>, idx: usize, rsvd: bool) -> u64 {
    css.state().counter(idx, rsvd).map_or(0, PageCounter::usage)
}

/// `hugetlb_event(h_cg, idx, HUGETLB_MAX)`.
fn event(css: Css<'_, Hugetlb>, idx: usize) {
    if let Some(e) = css.state().events_local.get(idx) {
        e.fetch_add(1, Ordering::Relaxed);
    }
    // do { events++ } while ((h = parent(h)) && !is_root(h)): the group itself, then
    // each ancestor below the root.
    let mut cur = Some(css);
    while let Some(c) = cur {
        if let Some(e) = c.state().events.get(idx) {
            e.fetch_add(1, Ordering::Relaxed);
        }
        cur = c.parent().filter(|p| !p.is_root());
    }
}

/// Charge `nr` huge pages of size `idx` to `css` and its ancestors: a reservation with
/// `rsvd`, else faulted pages (`__hugetlb_cgroup_charge_cgroup` and, for faults, the
/// node count of `__hugetlb_cgroup_commit_charge`). All or nothing.
///
/// # Errors
///
/// `ENOMEM` when a level's limit refuses (its `failcnt` and the group's `max` events
/// count it); `EINVAL` for an unknown size; `ENOMEM` for a count whose pages overflow.
pub fn try_charge(css: Css<'_, Hugetlb>, idx: usize, nr: u64, rsvd: bool) -> Result {
    if idx >= NR_SIZES {
        return Err(Error::EINVAL);
    }
    let pages = nr
        .checked_mul(pages_per_huge_page(idx))
        .ok_or(Error::ENOMEM)?;
    let chain = css
        .ancestors_and_self()
        .filter_map(move |c| c.state().counter(idx, rsvd));
    if counter::try_charge(chain, pages).is_err() {
        event(css, idx);
        return Err(Error::ENOMEM);
    }
    if !rsvd {
        if let Some(l) = css.state().local.get(idx) {
            l.fetch_add(pages, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// How many more huge pages of size `idx` the group may fault in before a limit of it
/// or an ancestor refuses one (what a host charging page by page would get in).
pub fn fault_headroom(css: Css<'_, Hugetlb>, idx: usize) -> u64 {
    let ppp = pages_per_huge_page(idx).max(1);
    css.ancestors_and_self()
        .filter_map(|c| c.state().counter(idx, false))
        .map(|c| c.max().saturating_sub(c.usage()) / ppp)
        .min()
        .unwrap_or(0)
}

/// Give back `nr` huge pages of size `idx` charged to `css` by [`try_charge`] with the
/// same `rsvd` (`hugetlb_cgroup_uncharge_folio[_rsvd]`, `..._uncharge_counter`). A
/// count never goes below 0.
pub fn uncharge(css: Css<'_, Hugetlb>, idx: usize, nr: u64, rsvd: bool) {
    if idx >= NR_SIZES {
        return;
    }
    let pages = nr.saturating_mul(pages_per_huge_page(idx));
    let chain = css
        .ancestors_and_self()
        .filter_map(move |c| c.state().counter(idx, rsvd));
    counter::uncharge(chain, pages);
    if !rsvd {
        if let Some(l) = css.state().local.get(idx) {
            let _ = l.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(pages))
            });
        }
    }
}

/// Which counter value a file shows (Linux `RES_*`).
const USAGE: u8 = 0;
const LIMIT: u8 = 1;
const MAX_USAGE: u8 = 2;
const FAILCNT: u8 = 3;

/// `hugetlb_cgroup_read_u64` (v1): bytes, or the count for `failcnt`.
fn read_u64<const IDX: usize, const RSVD: bool, const ATTR: u8>(
    _: &Hugetlb,
    ctx: &FileCtxOf<'_, Hugetlb>,
    out: &mut Out<'_>,
) -> Result {
    let c = ctx.css().state().counter(IDX, RSVD).ok_or(Error::EINVAL)?;
    let v = match ATTR {
        USAGE => c.usage().wrapping_mul(PAGE_SIZE),
        LIMIT => c.max().wrapping_mul(PAGE_SIZE),
        MAX_USAGE => c.watermark().wrapping_mul(PAGE_SIZE),
        _ => c.failcnt(),
    };
    writeln!(out, "{v}")
}

/// `hugetlb_cgroup_read_u64_max` (v2): the usage in bytes, or the limit as `max`/bytes.
fn read_u64_max<const IDX: usize, const RSVD: bool, const ATTR: u8>(
    _: &Hugetlb,
    ctx: &FileCtxOf<'_, Hugetlb>,
    out: &mut Out<'_>,
) -> Result {
    let c = ctx.css().state().counter(IDX, RSVD).ok_or(Error::EINVAL)?;
    if ATTR == LIMIT {
        let max = c.max();
        if max == unlimited(IDX) {
            return writeln!(out, "max");
        }
        return writeln!(out, "{}", max.wrapping_mul(PAGE_SIZE));
    }
    writeln!(out, "{}", c.usage().wrapping_mul(PAGE_SIZE))
}

/// `hugetlb_cgroup_write`: not at the root; `page_counter_memparse(strstrip(buf), max)`,
/// rounded down to the huge page size; `page_counter_set_max` (`EBUSY` below the usage).
fn write_limit(
    ctx: &FileCtxOf<'_, Hugetlb>,
    data: &[u8],
    idx: usize,
    rsvd: bool,
    max: &[u8],
) -> Result {
    let css = ctx.css();
    if css.is_root() {
        // "Can't set limit on root", before the value is even parsed.
        return Err(Error::EINVAL);
    }
    let nr_pages = page_counter_memparse(strstrip(data), max)?;
    let ppp = pages_per_huge_page(idx).max(1);
    let nr_pages = nr_pages - nr_pages % ppp;
    css.state()
        .counter(idx, rsvd)
        .ok_or(Error::EINVAL)?
        .set_max(nr_pages)
}

/// `hugetlb_cgroup_write_legacy`: `"-1"` is unlimited.
fn write_legacy<const IDX: usize, const RSVD: bool>(
    _: &Hugetlb,
    ctx: &FileCtxOf<'_, Hugetlb>,
    data: &[u8],
) -> Result {
    write_limit(ctx, data, IDX, RSVD, b"-1")
}

/// `hugetlb_cgroup_write_dfl`: `"max"` is unlimited.
fn write_dfl<const IDX: usize, const RSVD: bool>(
    _: &Hugetlb,
    ctx: &FileCtxOf<'_, Hugetlb>,
    data: &[u8],
) -> Result {
    write_limit(ctx, data, IDX, RSVD, b"max")
}

/// `hugetlb_cgroup_reset`: whatever is written, the watermark becomes the usage
/// (`max_usage_in_bytes`) or `failcnt` becomes 0.
fn reset<const IDX: usize, const RSVD: bool, const ATTR: u8>(
    _: &Hugetlb,
    ctx: &FileCtxOf<'_, Hugetlb>,
    _data: &[u8],
) -> Result {
    let c = ctx.css().state().counter(IDX, RSVD).ok_or(Error::EINVAL)?;
    if ATTR == MAX_USAGE {
        c.reset_watermark();
    } else {
        c.reset_failcnt();
    }
    Ok(())
}

/// `__hugetlb_events_show`: `"max %lu\n"`.
fn read_events<const IDX: usize, const LOCAL: bool>(
    _: &Hugetlb,
    ctx: &FileCtxOf<'_, Hugetlb>,
    out: &mut Out<'_>,
) -> Result {
    let s = ctx.css().state();
    let v = if LOCAL { &s.events_local } else { &s.events };
    writeln!(
        out,
        "max {}",
        v.get(IDX).map_or(0, |e| e.load(Ordering::Relaxed))
    )
}

/// `hugetlb_cgroup_read_numa_stat`: on v1 first the group's own pages (`total=` and per
/// node), then the hierarchical ones (`hierarchical_total=`, the counter; per node the
/// sum of the subtree's own pages); on v2 only the hierarchical line, as `total=`.
fn read_numa_stat<const IDX: usize>(
    _: &Hugetlb,
    ctx: &FileCtxOf<'_, Hugetlb>,
    out: &mut Out<'_>,
) -> Result {
    let nodes = ctx.nr_mems().max(1);
    let local = |c: Css<'_, Hugetlb>| {
        c.state()
            .local
            .get(IDX)
            .map_or(0, |l| l.load(Ordering::Relaxed))
    };
    let legacy = !ctx.on_dfl();
    if legacy {
        let own = local(ctx.css()).wrapping_mul(PAGE_SIZE);
        write!(out, "total={own}")?;
        for nid in 0..nodes {
            write!(out, " N{nid}={}", if nid == 0 { own } else { 0 })?;
        }
        writeln!(out)?;
    }
    let total = usage(ctx.css(), IDX, false).wrapping_mul(PAGE_SIZE);
    write!(
        out,
        "{}total={total}",
        if legacy { "hierarchical_" } else { "" }
    )?;
    let subtree = ctx
        .descendants()
        .fold(local(ctx.css()), |acc, c| acc.wrapping_add(local(c)))
        .wrapping_mul(PAGE_SIZE);
    for nid in 0..nodes {
        write!(out, " N{nid}={}", if nid == 0 { subtree } else { 0 })?;
    }
    writeln!(out)
}

/// v2 files: only on the unified hierarchy, not in its root.
const DFL: CfFlags = CfFlags::ONLY_ON_DFL.union(CfFlags::NOT_ON_ROOT);

/// The v1 files of size `I` (`hugetlb_legacy_tmpl`), then its v2 files
/// (`hugetlb_dfl_tmpl`); names repeat only for `numa_stat`, one per hierarchy.
macro_rules! size_files {
    ($i:literal, $s:literal) => {
        [
            CfType::rw(
                concat!($s, ".limit_in_bytes"),
                read_u64::<$i, false, LIMIT>,
                write_legacy::<$i, false>,
            ),
            CfType::rw(
                concat!($s, ".rsvd.limit_in_bytes"),
                read_u64::<$i, true, LIMIT>,
                write_legacy::<$i, true>,
            ),
            CfType::ro(concat!($s, ".usage_in_bytes"), read_u64::<$i, false, USAGE>),
            CfType::ro(
                concat!($s, ".rsvd.usage_in_bytes"),
                read_u64::<$i, true, USAGE>,
            ),
            CfType::rw(
                concat!($s, ".max_usage_in_bytes"),
                read_u64::<$i, false, MAX_USAGE>,
                reset::<$i, false, MAX_USAGE>,
            ),
            CfType::rw(
                concat!($s, ".rsvd.max_usage_in_bytes"),
                read_u64::<$i, true, MAX_USAGE>,
                reset::<$i, true, MAX_USAGE>,
            ),
            CfType::rw(
                concat!($s, ".failcnt"),
                read_u64::<$i, false, FAILCNT>,
                reset::<$i, false, FAILCNT>,
            ),
            CfType::rw(
                concat!($s, ".rsvd.failcnt"),
                read_u64::<$i, true, FAILCNT>,
                reset::<$i, true, FAILCNT>,
            ),
            CfType::ro(concat!($s, ".numa_stat"), read_numa_stat::<$i>),
            CfType::rw(
                concat!($s, ".max"),
                read_u64_max::<$i, false, LIMIT>,
                write_dfl::<$i, false>,
            )
            .with_flags(DFL),
            CfType::rw(
                concat!($s, ".rsvd.max"),
                read_u64_max::<$i, true, LIMIT>,
                write_dfl::<$i, true>,
            )
            .with_flags(DFL),
            CfType::ro(concat!($s, ".current"), read_u64_max::<$i, false, USAGE>).with_flags(DFL),
            CfType::ro(
                concat!($s, ".rsvd.current"),
                read_u64_max::<$i, true, USAGE>,
            )
            .with_flags(DFL),
            CfType::ro(concat!($s, ".events"), read_events::<$i, false>).with_flags(DFL),
            CfType::ro(concat!($s, ".events.local"), read_events::<$i, true>).with_flags(DFL),
            CfType::ro(concat!($s, ".numa_stat"), read_numa_stat::<$i>).with_flags(DFL),
        ]
    };
}

/// Files per size: 9 of v1, 7 of v2.
const PER_SIZE: usize = 16;

/// Every file, size by size in hstate order.
static FILES: [[CfType<Hugetlb>; PER_SIZE]; NR_SIZES] =
    [size_files!(0, "2MB"), size_files!(1, "1GB")];

impl Subsystem for Hugetlb {
    type State = State;
    const NAME: &'static str = "hugetlb";
    // Charges are per page, not per task: moving a task moves nothing.
    const NO_TASK_STATE: bool = true;

    fn files(&self) -> &'static [CfType<Self>] {
        FILES.as_flattened()
    }

    /// `hugetlb_cgroup_css_alloc` + `hugetlb_cgroup_init`: empty counters whose limits
    /// are `PAGE_COUNTER_MAX` rounded down to each huge page size.
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        let s = State {
            fault: [PageCounter::new(), PageCounter::new()],
            rsvd: [PageCounter::new(), PageCounter::new()],
            local: [AtomicU64::new(0), AtomicU64::new(0)],
            events: [AtomicU64::new(0), AtomicU64::new(0)],
            events_local: [AtomicU64::new(0), AtomicU64::new(0)],
        };
        for idx in 0..NR_SIZES {
            for rsvd in [false, true] {
                if let Some(c) = s.counter(idx, rsvd) {
                    // An empty counter takes any limit.
                    c.set_max(unlimited(idx))?;
                }
            }
        }
        Ok(s)
    }

    /// `hugetlb_cgroup_css_offline`: the group's faulted pages become its parent's. The
    /// ancestors' counters hold them already (`hugetlb_cgroup_move_parent` takes them
    /// off this level only); the group's own per-node count moves up with them.
    fn destroy(&self, css: Css<'_, Self>) {
        let Some(parent) = css.parent() else {
            return;
        };
        for idx in 0..NR_SIZES {
            let (Some(mine), Some(theirs)) =
                (css.state().local.get(idx), parent.state().local.get(idx))
            else {
                continue;
            };
            theirs.fetch_add(mine.swap(0, Ordering::Relaxed), Ordering::Relaxed);
            if let Some(c) = css.state().counter(idx, false) {
                let n = c.usage();
                counter::uncharge(core::iter::once(c), n);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use std::string::String;
    use std::vec::Vec;

    use gpc_core::testing::{OneHierarchy, TaskList, TestHost};
    use gpc_core::{Creds, Gpc};

    use super::*;

    gpc_core::one_hierarchy_harness!(World);

    /// 2MB unlimited on v1: `round_down(PAGE_COUNTER_MAX, 512) * 4096`.
    const UNLIM_2M: &str = "9223372036852678656\n";
    /// 1GB unlimited on v1: `round_down(PAGE_COUNTER_MAX, 262144) * 4096`.
    const UNLIM_1G: &str = "9223372035781033984\n";

    impl World {
        fn new() -> World {
            World(OneHierarchy::new(&[&Hugetlb], "hugetlb", 2, 2).unwrap())
        }

        fn v2() -> World {
            let gpc = Gpc::new(TestHost::new(2, 2), &[&Hugetlb]).unwrap();
            let mut tasks = TaskList::new();
            tasks.add_init(&gpc).unwrap();
            let h = gpc.mount_v2("", &tasks.caller(Creds::ROOT, None)).unwrap();
            let w = World(OneHierarchy { tasks, gpc, h });
            w.write("cgroup.subtree_control", b"+hugetlb").unwrap();
            w
        }

        fn charge(&self, path: &str, idx: usize, nr: u64, rsvd: bool) -> Result {
            self.gpc
                .with_container_css(self.h, path, 0, |c| {
                    try_charge(c.typed::<Hugetlb>().unwrap(), idx, nr, rsvd)
                })
                .unwrap()
        }

        fn uncharge(&self, path: &str, idx: usize, nr: u64, rsvd: bool) {
            self.gpc
                .with_container_css(self.h, path, 0, |c| {
                    uncharge(c.typed::<Hugetlb>().unwrap(), idx, nr, rsvd)
                })
                .unwrap();
        }

        fn r(&self, path: &str) -> String {
            self.read(path).unwrap()
        }
    }

    #[test]
    fn v1_files_everywhere_and_defaults() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        let files: Vec<String> = w
            .ls("a")
            .into_iter()
            .filter(|f| f.starts_with("hugetlb."))
            .collect();
        let mut want = Vec::new();
        for s in ["1GB", "2MB"] {
            for f in [
                "failcnt",
                "limit_in_bytes",
                "max_usage_in_bytes",
                "numa_stat",
                "rsvd.failcnt",
                "rsvd.limit_in_bytes",
                "rsvd.max_usage_in_bytes",
                "rsvd.usage_in_bytes",
                "usage_in_bytes",
            ] {
                want.push(std::format!("hugetlb.{s}.{f}"));
            }
        }
        assert_eq!(files, want);
        assert_eq!(
            w.ls("")
                .iter()
                .filter(|f| f.starts_with("hugetlb."))
                .count(),
            18,
            "v1 files are also in the root"
        );
        assert_eq!(w.r("a/hugetlb.2MB.limit_in_bytes"), UNLIM_2M);
        assert_eq!(w.r("a/hugetlb.2MB.rsvd.limit_in_bytes"), UNLIM_2M);
        assert_eq!(w.r("a/hugetlb.1GB.limit_in_bytes"), UNLIM_1G);
        assert_eq!(w.r("a/hugetlb.2MB.usage_in_bytes"), "0\n");
        assert_eq!(w.r("a/hugetlb.2MB.failcnt"), "0\n");
        assert_eq!(
            w.r("a/hugetlb.2MB.numa_stat"),
            "total=0 N0=0 N1=0\nhierarchical_total=0 N0=0 N1=0\n"
        );
    }

    #[test]
    fn v1_limit_writes_and_hostile_values() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        let f = "a/hugetlb.2MB.limit_in_bytes";
        for (input, shown) in [
            (&b"4M\n"[..], "4194304\n"),
            (b"5M", "4194304\n"),
            (b"2097151", "0\n"),
            (b" 2G \n", "2147483648\n"),
            (b"-1", UNLIM_2M),
            (b"0x400000", "4194304\n"),
            (b"\n", "0\n"),
            (b"99999999999999999999", "7766279631451193344\n"), // memparse wraps
        ] {
            w.write(f, input).unwrap();
            assert_eq!(w.r(f), shown, "{input:?}");
        }
        w.write(f, b"1G").unwrap();
        w.write("a/hugetlb.1GB.limit_in_bytes", b"3G").unwrap();
        assert_eq!(w.r("a/hugetlb.1GB.limit_in_bytes"), "3221225472\n");
        w.write("a/hugetlb.1GB.limit_in_bytes", b"1500M").unwrap();
        assert_eq!(w.r("a/hugetlb.1GB.limit_in_bytes"), "1073741824\n");
        for bad in [&b"max"[..], b"-2", b"1 G", b"1Gx", b"abc", b"+1", b"4M 5M"] {
            assert_eq!(w.write(f, bad), Err(Error::EINVAL), "{bad:?}");
        }
        assert_eq!(w.r(f), "1073741824\n", "failed writes change nothing");
        assert_eq!(
            w.write("hugetlb.2MB.limit_in_bytes", b"4M"),
            Err(Error::EINVAL),
            "the root takes no limit"
        );
        assert_eq!(
            w.write("hugetlb.2MB.limit_in_bytes", b"garbage"),
            Err(Error::EINVAL)
        );
        assert_eq!(
            w.write("a/hugetlb.2MB.usage_in_bytes", b"0"),
            Err(Error::EINVAL),
            "read-only"
        );
    }

    #[test]
    fn fault_charges_refused_at_the_limit_count_failcnt_and_events() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        w.write("a/hugetlb.2MB.limit_in_bytes", b"4M").unwrap();
        assert_eq!(w.charge("a/b", 0, 1, false), Ok(()));
        assert_eq!(w.charge("a/b", 0, 1, false), Ok(()));
        assert_eq!(w.charge("a/b", 0, 1, false), Err(Error::ENOMEM));
        assert_eq!(
            w.r("a/hugetlb.2MB.failcnt"),
            "1\n",
            "the level that refused"
        );
        assert_eq!(w.r("a/b/hugetlb.2MB.failcnt"), "0\n");
        assert_eq!(w.r("a/hugetlb.2MB.usage_in_bytes"), "4194304\n");
        assert_eq!(w.r("a/b/hugetlb.2MB.usage_in_bytes"), "4194304\n");
        assert_eq!(w.r("hugetlb.2MB.usage_in_bytes"), "4194304\n", "root too");
        assert_eq!(w.r("a/hugetlb.2MB.max_usage_in_bytes"), "4194304\n");
        assert_eq!(
            w.write("a/hugetlb.2MB.limit_in_bytes", b"2M"),
            Err(Error::EBUSY)
        );
        assert_eq!(
            w.r("a/hugetlb.2MB.numa_stat"),
            "total=0 N0=0 N1=0\nhierarchical_total=4194304 N0=4194304 N1=0\n"
        );
        assert_eq!(
            w.r("a/b/hugetlb.2MB.numa_stat"),
            "total=4194304 N0=4194304 N1=0\nhierarchical_total=4194304 N0=4194304 N1=0\n"
        );
        w.uncharge("a/b", 0, 1, false);
        assert_eq!(w.r("a/hugetlb.2MB.usage_in_bytes"), "2097152\n");
        w.write("a/hugetlb.2MB.max_usage_in_bytes", b"whatever\n")
            .unwrap();
        assert_eq!(w.r("a/hugetlb.2MB.max_usage_in_bytes"), "2097152\n");
        w.write("a/hugetlb.2MB.failcnt", b"").unwrap();
        w.write("a/hugetlb.2MB.failcnt", b"7").unwrap();
        assert_eq!(w.r("a/hugetlb.2MB.failcnt"), "0\n");
        // Reservations have their own counter and limit.
        w.write("a/b/hugetlb.1GB.rsvd.limit_in_bytes", b"1G")
            .unwrap();
        assert_eq!(w.charge("a/b", 1, 2, true), Err(Error::ENOMEM));
        assert_eq!(w.r("a/b/hugetlb.1GB.rsvd.failcnt"), "1\n");
        assert_eq!(w.charge("a/b", 1, 1, true), Ok(()));
        assert_eq!(w.r("a/b/hugetlb.1GB.rsvd.usage_in_bytes"), "1073741824\n");
        assert_eq!(w.r("a/b/hugetlb.1GB.usage_in_bytes"), "0\n");
        assert_eq!(w.charge("a/b", 2, 1, false), Err(Error::EINVAL));
        assert_eq!(w.charge("a/b", 1, u64::MAX, false), Err(Error::ENOMEM));
    }

    #[test]
    fn rmdir_moves_the_groups_pages_to_the_parent() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        w.charge("a/b", 0, 3, false).unwrap();
        w.gpc.rmdir(w.h, "a/b").unwrap();
        assert_eq!(w.r("a/hugetlb.2MB.usage_in_bytes"), "6291456\n");
        assert_eq!(
            w.r("a/hugetlb.2MB.numa_stat"),
            "total=6291456 N0=6291456 N1=0\nhierarchical_total=6291456 N0=6291456 N1=0\n"
        );
        w.uncharge("a", 0, 3, false);
        assert_eq!(w.r("a/hugetlb.2MB.usage_in_bytes"), "0\n");
        assert_eq!(w.r("hugetlb.2MB.usage_in_bytes"), "0\n");
    }

    #[test]
    fn v2_files_and_events() {
        let w = World::v2();
        assert_eq!(
            w.ls("")
                .iter()
                .filter(|f| f.starts_with("hugetlb."))
                .count(),
            0,
            "every v2 file is NOT_ON_ROOT"
        );
        w.gpc.mkdir(w.h, "a").unwrap();
        w.write("a/cgroup.subtree_control", b"+hugetlb").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        let files: Vec<String> = w
            .ls("a")
            .into_iter()
            .filter(|f| f.starts_with("hugetlb.2MB"))
            .collect();
        assert_eq!(
            files,
            [
                "hugetlb.2MB.current",
                "hugetlb.2MB.events",
                "hugetlb.2MB.events.local",
                "hugetlb.2MB.max",
                "hugetlb.2MB.numa_stat",
                "hugetlb.2MB.rsvd.current",
                "hugetlb.2MB.rsvd.max",
            ]
        );
        assert_eq!(w.r("a/hugetlb.2MB.max"), "max\n");
        assert_eq!(w.r("a/hugetlb.1GB.rsvd.max"), "max\n");
        w.write("a/hugetlb.2MB.max", b"2M\n").unwrap();
        assert_eq!(w.r("a/hugetlb.2MB.max"), "2097152\n");
        assert_eq!(w.write("a/hugetlb.2MB.max", b"-1"), Err(Error::EINVAL));
        assert_eq!(w.write("a/hugetlb.2MB.max", b"Max"), Err(Error::EINVAL));
        w.charge("a/b", 0, 1, false).unwrap();
        assert_eq!(w.charge("a/b", 0, 1, false), Err(Error::ENOMEM));
        assert_eq!(w.r("a/b/hugetlb.2MB.events"), "max 1\n");
        assert_eq!(w.r("a/b/hugetlb.2MB.events.local"), "max 1\n");
        assert_eq!(w.r("a/hugetlb.2MB.events"), "max 1\n", "hierarchical");
        assert_eq!(
            w.r("a/hugetlb.2MB.events.local"),
            "max 0\n",
            "counted in the charging group, not the one that refused"
        );
        assert_eq!(w.r("a/hugetlb.2MB.current"), "2097152\n");
        assert_eq!(
            w.r("a/hugetlb.2MB.numa_stat"),
            "total=2097152 N0=2097152 N1=0\n"
        );
        assert_eq!(w.r("a/hugetlb.1GB.events"), "max 0\n");
        w.write("a/hugetlb.2MB.max", b"max").unwrap();
        assert_eq!(w.r("a/hugetlb.2MB.max"), "max\n");
        assert_eq!(
            w.write("a/b/hugetlb.2MB.max", b"0"),
            Err(Error::EBUSY),
            "below the usage"
        );
    }
}
