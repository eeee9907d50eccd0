//! The `misc` controller: limits on scalar host resources that are too few to deserve a
//! controller of their own (AMD SEV and SEV-ES ASIDs, Intel TDX HKIDs).
//!
//! Follows `kernel/cgroup/misc.c` and `include/linux/misc_cgroup.h` (torvalds/linux) as of
//! Linux 6.18; the same files on v1 and v2 (`legacy_cftypes = dfl_cftypes =
//! misc_cg_files`). The resources are those of a kernel built with both
//! `CONFIG_KVM_AMD_SEV` and `CONFIG_INTEL_TDX_HOST`, in `enum misc_res_type` order:
//! `sev`, `sev_es`, `tdx`.
//!
//! # Files
//!
//! A resource is listed only while its capacity is non-zero (`current`, `peak`, `events`
//! and `events.local` also list one whose value is non-zero).
//!
//! | file | flags | read | write |
//! |---|---|---|---|
//! | `misc.max` | `NOT_ON_ROOT` | `RES max` or `RES N` per line | [`parse_max_write`]: `RES max` or `RES N` (`kstrtou64(.., 0)`); a resource of capacity 0 is `EINVAL` |
//! | `misc.current` | | `RES N`: the usage | |
//! | `misc.peak` | | `RES N`: the highest usage | |
//! | `misc.capacity` | `ONLY_ON_ROOT` | `RES N`: the host's capacity | |
//! | `misc.events` | `NOT_ON_ROOT` | `RES.max N`: charges refused at this group's or a descendant's limit | |
//! | `misc.events.local` | `NOT_ON_ROOT` | `RES.max N`: charges refused at this group's limit | |
//!
//! # Capacity and charging
//!
//! The host sets each resource's capacity (`misc_cg_set_capacity`, here
//! [`set_capacity`] on any state of the instance: the root state holds them). A charge
//! (`misc_cg_try_charge`) of a resource whose capacity is 0 is `EINVAL`; otherwise, level
//! by level from the group up to and including the root, the new usage must stay within
//! both the level's max and the capacity; at the first level where it would not, that
//! level counts an event (`events.local` there, `events` there and in every ancestor but
//! the root), every level up to it gives the charge back, and the charge fails with
//! `EBUSY`. A charge stays with the group it was made in.

use core::sync::atomic::{AtomicU64, Ordering};

use gpc_core::parse::{cstr, kstrtoull, strstrip};
use gpc_core::{CfFlags, CfType, Css, Error, FileCtxOf, Out, Result, Subsystem};

/// The `misc` controller (Linux `misc_cgrp_subsys`).
pub struct Misc;

/// `MAX_NUM`: no limit, shown as `max`.
pub const MISC_MAX: u64 = u64::MAX;

/// `enum misc_res_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// `MISC_CG_RES_SEV`: `sev`.
    Sev = 0,
    /// `MISC_CG_RES_SEV_ES`: `sev_es`.
    SevEs = 1,
    /// `MISC_CG_RES_TDX`: `tdx`.
    Tdx = 2,
}

/// `MISC_CG_RES_TYPES`.
pub const NR_RES: usize = 3;

/// `misc_res_name`.
const NAMES: [&str; NR_RES] = ["sev", "sev_es", "tdx"];

impl Resource {
    /// Every resource, in Linux's order.
    pub const ALL: [Resource; NR_RES] = [Resource::Sev, Resource::SevEs, Resource::Tdx];

    /// The resource named `name` (`sev`, `sev_es`, `tdx`).
    pub fn from_name(name: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The resource of index `i` (`enum misc_res_type`), as the C ABI passes it.
    pub fn from_index(i: u32) -> Option<Resource> {
        Resource::ALL.get(usize::try_from(i).ok()?).copied()
    }

    /// Its name in the files.
    pub fn name(self) -> &'static str {
        NAMES.get(self as usize).copied().unwrap_or("")
    }

    fn idx(self) -> usize {
        self as usize
    }
}

/// `struct misc_res`.
struct Res {
    max: AtomicU64,
    watermark: AtomicU64,
    usage: AtomicU64,
    events: AtomicU64,
    events_local: AtomicU64,
}

/// Per-container state (Linux `struct misc_cg`); the root's also holds the capacities
/// (`misc_res_capacity`).
pub struct State {
    res: [Res; NR_RES],
    capacity: [AtomicU64; NR_RES],
}

fn root<'a>(css: Css<'a, Misc>) -> Css<'a, Misc> {
    css.ancestors_and_self().last().unwrap_or(css)
}

fn res(css: Css<'_, Misc>, r: Resource) -> &Res {
    &css.state().res[r.idx()]
}

/// The capacity of `r` on the instance `css` belongs to.
pub fn capacity(css: Css<'_, Misc>, r: Resource) -> u64 {
    root(css).state().capacity[r.idx()].load(Ordering::Relaxed)
}

/// `misc_cg_set_capacity`: the host has `capacity` of `r` (0: none; charges of it fail
/// and the files leave it out).
pub fn set_capacity(css: Css<'_, Misc>, r: Resource, capacity: u64) {
    root(css).state().capacity[r.idx()].store(capacity, Ordering::Relaxed);
}

/// The usage of `r` in `css` (`misc.current`; the root's is `misc_cg_res_total_usage`).
pub fn usage(css: Css<'_, Misc>, r: Resource) -> u64 {
    res(css, r).usage.load(Ordering::Relaxed)
}

/// `misc_cg_cancel_charge` (Linux WARNs when the usage would go below 0; gpc stops at 0).
fn cancel(css: Css<'_, Misc>, r: Resource, amount: u64) {
    let u = &res(css, r).usage;
    let _ = u.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |v| {
        Some(v.saturating_sub(amount))
    });
}

/// `misc_cg_event`: the refusing level counts a local event, it and its ancestors but
/// the root an event.
fn event(css: Css<'_, Misc>, r: Resource) {
    res(css, r).events_local.fetch_add(1, Ordering::Relaxed);
    for c in css.ancestors_and_self().take_while(|c| !c.is_root()) {
        res(c, r).events.fetch_add(1, Ordering::Relaxed);
    }
}

/// `misc_cg_try_charge`: charge `amount` of `r` to `css` and every ancestor.
///
/// # Errors
///
/// `EINVAL` if `r`'s capacity is 0; `EBUSY` when a level's usage would exceed its max or
/// the capacity (nothing stays charged).
pub fn try_charge(css: Css<'_, Misc>, r: Resource, amount: u64) -> Result {
    let cap = &root(css).state().capacity[r.idx()];
    if cap.load(Ordering::Relaxed) == 0 {
        return Err(Error::EINVAL);
    }
    if amount == 0 {
        return Ok(());
    }
    for i in css.ancestors_and_self() {
        let x = res(i, r);
        let new = x
            .usage
            .fetch_add(amount, Ordering::AcqRel)
            .wrapping_add(amount);
        // A sum that wraps is over any limit (Linux's u64 would wrap to a small value;
        // no host charges 2^64).
        let wrapped = new < amount;
        if wrapped || new > x.max.load(Ordering::Relaxed) || new > cap.load(Ordering::Relaxed) {
            event(i, r);
            for j in css.ancestors_and_self() {
                let last = j.same(i);
                x_sub(j, r, amount);
                if last {
                    break;
                }
            }
            return Err(Error::EBUSY);
        }
        x.watermark.fetch_max(new, Ordering::Relaxed);
    }
    Ok(())
}

/// Undo an `atomic64_add_return` exactly (the failing level's add may have wrapped).
fn x_sub(css: Css<'_, Misc>, r: Resource, amount: u64) {
    res(css, r).usage.fetch_sub(amount, Ordering::AcqRel);
}

/// `misc_cg_uncharge`: give back `amount` of `r` charged to `css`, at every level.
pub fn uncharge(css: Css<'_, Misc>, r: Resource, amount: u64) {
    if amount == 0 {
        return;
    }
    for i in css.ancestors_and_self() {
        cancel(i, r, amount);
    }
}

/// A parsed `misc.max` write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxWrite {
    /// The resource.
    pub res: Resource,
    /// The new max ([`MISC_MAX`] for `max`).
    pub max: u64,
}

/// Parse a `misc.max` write as `misc_cg_max_write` does: `strstrip`, the resource name
/// up to the first blank, then everything after that blank as the value: exactly `max`,
/// or `kstrtou64(buf, 0)` (one trailing newline allowed, nothing else: `sev  1` with two
/// blanks is `EINVAL`).
///
/// # Errors
///
/// `EINVAL` for no blank, an unknown resource or a bad number; `ERANGE` for a number
/// past `u64`.
pub fn parse_max_write(buf: &[u8]) -> Result<MaxWrite> {
    let b = strstrip(cstr(buf));
    let sp = b.iter().position(|&c| c == b' ').ok_or(Error::EINVAL)?;
    let (name, value) = (b.get(..sp).unwrap_or(&[]), b.get(sp + 1..).unwrap_or(&[]));
    let res = Resource::ALL
        .into_iter()
        .find(|r| r.name().as_bytes() == name)
        .ok_or(Error::EINVAL)?;
    let max = if value == b"max" {
        MISC_MAX
    } else {
        kstrtoull(value, 0)?
    };
    Ok(MaxWrite { res, max })
}

/// `misc_cg_max_write`.
fn write_max(_: &Misc, ctx: &FileCtxOf<'_, Misc>, data: &[u8]) -> Result {
    let w = parse_max_write(data)?;
    let css = ctx.css();
    if capacity(css, w.res) == 0 {
        return Err(Error::EINVAL);
    }
    res(css, w.res).max.store(w.max, Ordering::Relaxed);
    Ok(())
}

/// `misc_cg_max_show`.
fn read_max(_: &Misc, ctx: &FileCtxOf<'_, Misc>, out: &mut Out<'_>) -> Result {
    let css = ctx.css();
    for r in Resource::ALL {
        if capacity(css, r) != 0 {
            match res(css, r).max.load(Ordering::Relaxed) {
                MISC_MAX => writeln!(out, "{} max", r.name())?,
                m => writeln!(out, "{} {m}", r.name())?,
            }
        }
    }
    Ok(())
}

/// The files that list a resource when its capacity or its value is non-zero.
fn show_each(
    ctx: &FileCtxOf<'_, Misc>,
    out: &mut Out<'_>,
    suffix: &str,
    value: fn(&Res) -> u64,
) -> Result {
    let css = ctx.css();
    for r in Resource::ALL {
        let v = value(res(css, r));
        if capacity(css, r) != 0 || v != 0 {
            writeln!(out, "{}{suffix} {v}", r.name())?;
        }
    }
    Ok(())
}

/// `misc_cg_current_show`.
fn read_current(_: &Misc, ctx: &FileCtxOf<'_, Misc>, out: &mut Out<'_>) -> Result {
    show_each(ctx, out, "", |x| x.usage.load(Ordering::Relaxed))
}

/// `misc_cg_peak_show`.
fn read_peak(_: &Misc, ctx: &FileCtxOf<'_, Misc>, out: &mut Out<'_>) -> Result {
    show_each(ctx, out, "", |x| x.watermark.load(Ordering::Relaxed))
}

/// `misc_events_show`.
fn read_events(_: &Misc, ctx: &FileCtxOf<'_, Misc>, out: &mut Out<'_>) -> Result {
    show_each(ctx, out, ".max", |x| x.events.load(Ordering::Relaxed))
}

/// `misc_events_local_show`.
fn read_events_local(_: &Misc, ctx: &FileCtxOf<'_, Misc>, out: &mut Out<'_>) -> Result {
    show_each(ctx, out, ".max", |x| x.events_local.load(Ordering::Relaxed))
}

/// `misc_cg_capacity_show`.
fn read_capacity(_: &Misc, ctx: &FileCtxOf<'_, Misc>, out: &mut Out<'_>) -> Result {
    let css = ctx.css();
    for r in Resource::ALL {
        let cap = capacity(css, r);
        if cap != 0 {
            writeln!(out, "{} {cap}", r.name())?;
        }
    }
    Ok(())
}

const DFL: CfFlags = CfFlags::ON_DFL;

/// `misc_cg_files`, in Linux's order, on both hierarchies.
static FILES: [CfType<Misc>; 6] = [
    CfType::rw("max", read_max, write_max).with_flags(CfFlags::NOT_ON_ROOT.union(DFL)),
    CfType::ro("current", read_current).with_flags(DFL),
    CfType::ro("peak", read_peak).with_flags(DFL),
    CfType::ro("capacity", read_capacity).with_flags(CfFlags::ONLY_ON_ROOT.union(DFL)),
    CfType::ro("events", read_events).with_flags(CfFlags::NOT_ON_ROOT.union(DFL)),
    CfType::ro("events.local", read_events_local).with_flags(CfFlags::NOT_ON_ROOT.union(DFL)),
];

impl Subsystem for Misc {
    type State = State;
    const NAME: &'static str = "misc";

    fn files(&self) -> &'static [CfType<Self>] {
        &FILES
    }

    /// `misc_cg_alloc`: every max `max`, nothing charged, no capacity.
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        let res = || Res {
            max: AtomicU64::new(MISC_MAX),
            watermark: AtomicU64::new(0),
            usage: AtomicU64::new(0),
            events: AtomicU64::new(0),
            events_local: AtomicU64::new(0),
        };
        Ok(State {
            res: [res(), res(), res()],
            capacity: [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)],
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use gpc_core::testing::OneHierarchy;

    use super::*;

    gpc_core::one_hierarchy_harness!(World);

    impl World {
        fn new() -> World {
            let w = World(OneHierarchy::new(&[&Misc], "misc", 2, 1).unwrap());
            w.gpc.mkdir(w.h, "p").unwrap();
            w.gpc.mkdir(w.h, "p/c").unwrap();
            w
        }

        fn at<R>(&self, path: &str, f: impl FnOnce(Css<'_, Misc>) -> R) -> R {
            let ss = self.gpc.subsys_id("misc").unwrap();
            self.gpc
                .with_container_css(self.h, path, ss, |c| f(c.typed::<Misc>().unwrap()))
                .unwrap()
        }
    }

    #[test]
    fn files_without_capacity() {
        let w = World::new();
        let root: std::vec::Vec<_> = w
            .ls("")
            .into_iter()
            .filter(|f| f.starts_with("misc."))
            .collect();
        assert_eq!(root, ["misc.capacity", "misc.current", "misc.peak"]);
        let p: std::vec::Vec<_> = w
            .ls("p")
            .into_iter()
            .filter(|f| f.starts_with("misc."))
            .collect();
        assert_eq!(
            p,
            [
                "misc.current",
                "misc.events",
                "misc.events.local",
                "misc.max",
                "misc.peak"
            ]
        );
        for f in ["misc.capacity", "misc.current", "misc.peak"] {
            assert_eq!(w.read(f).unwrap(), "", "{f}");
        }
        for f in [
            "misc.max",
            "misc.events",
            "misc.events.local",
            "misc.current",
        ] {
            assert_eq!(w.read(&std::format!("p/{f}")).unwrap(), "", "{f}");
        }
        assert_eq!(
            w.write("p/misc.max", b"sev 1"),
            Err(Error::EINVAL),
            "capacity 0"
        );
        assert_eq!(
            w.at("p", |c| try_charge(c, Resource::Sev, 1)),
            Err(Error::EINVAL)
        );
    }

    #[test]
    fn capacity_max_events() {
        let w = World::new();
        w.at("", |c| set_capacity(c, Resource::Sev, 16));
        w.at("p/c", |c| set_capacity(c, Resource::Tdx, 4));
        assert_eq!(w.read("misc.capacity").unwrap(), "sev 16\ntdx 4\n");
        assert_eq!(w.read("p/misc.max").unwrap(), "sev max\ntdx max\n");
        assert_eq!(w.read("p/misc.current").unwrap(), "sev 0\ntdx 0\n");
        assert_eq!(w.read("p/misc.events").unwrap(), "sev.max 0\ntdx.max 0\n");
        w.write("p/misc.max", b"sev 3\n").unwrap();
        w.at("p/c", |c| try_charge(c, Resource::Sev, 2)).unwrap();
        assert_eq!(
            w.at("p/c", |c| try_charge(c, Resource::Sev, 2)),
            Err(Error::EBUSY)
        );
        assert_eq!(
            w.read("p/misc.events.local").unwrap(),
            "sev.max 1\ntdx.max 0\n"
        );
        assert_eq!(w.read("p/misc.events").unwrap(), "sev.max 1\ntdx.max 0\n");
        assert_eq!(
            w.read("p/c/misc.events").unwrap(),
            "sev.max 0\ntdx.max 0\n",
            "counted at the refusing level and above"
        );
        assert_eq!(w.read("p/c/misc.current").unwrap(), "sev 2\ntdx 0\n");
        assert_eq!(w.read("misc.current").unwrap(), "sev 2\ntdx 0\n");
        // The capacity bounds every level, the root included; the event is the
        // refusing level's (the root's counts nowhere a file shows).
        w.at("", |c| try_charge(c, Resource::Tdx, 2)).unwrap();
        assert_eq!(
            w.at("p", |c| try_charge(c, Resource::Tdx, 3)),
            Err(Error::EBUSY)
        );
        assert_eq!(
            w.read("p/misc.events.local").unwrap(),
            "sev.max 1\ntdx.max 0\n"
        );
        assert_eq!(
            w.at("p", |c| try_charge(c, Resource::Tdx, 5)),
            Err(Error::EBUSY)
        );
        assert_eq!(
            w.read("p/misc.events.local").unwrap(),
            "sev.max 1\ntdx.max 1\n"
        );
        w.at("p", |c| try_charge(c, Resource::Tdx, 2)).unwrap();
        assert_eq!(w.read("misc.peak").unwrap(), "sev 2\ntdx 4\n");
        w.at("", |c| uncharge(c, Resource::Tdx, 2));
        w.at("p", |c| uncharge(c, Resource::Tdx, 2));
        w.at("p/c", |c| uncharge(c, Resource::Sev, 2));
        assert_eq!(w.read("p/misc.current").unwrap(), "sev 0\ntdx 0\n");
        assert_eq!(
            w.read("p/c/misc.peak").unwrap(),
            "sev 4\ntdx 0\n",
            "Linux keeps the watermark raised below the refusing level"
        );
        // A resource whose capacity drops to 0 stays listed where a value is non-zero.
        w.at("", |c| set_capacity(c, Resource::Tdx, 0));
        assert_eq!(w.read("misc.peak").unwrap(), "sev 2\ntdx 4\n");
        assert_eq!(w.read("p/misc.max").unwrap(), "sev 3\n");
        assert_eq!(w.read("p/misc.events").unwrap(), "sev.max 1\ntdx.max 1\n");
        assert_eq!(w.at("p", |c| try_charge(c, Resource::Sev, 0)), Ok(()));
        assert_eq!(
            w.at("p", |c| try_charge(c, Resource::Sev, u64::MAX)),
            Err(Error::EBUSY)
        );
        assert_eq!(w.read("p/misc.current").unwrap(), "sev 0\n");
    }

    #[test]
    fn hostile_max_writes() {
        let w = World::new();
        w.at("", |c| set_capacity(c, Resource::SevEs, 1));
        let f = "p/misc.max";
        for (input, shown) in [
            (&b"sev_es 5"[..], "sev_es 5\n"),
            (b"  sev_es 0x10\n", "sev_es 16\n"),
            (b"sev_es 18446744073709551615", "sev_es max\n"),
            (b"sev_es 0", "sev_es 0\n"),
            (b"sev_es max", "sev_es max\n"),
            (b"sev_es 7\0junk", "sev_es 7\n"),
        ] {
            w.write(f, input).unwrap();
            assert_eq!(w.read(f).unwrap(), shown, "{input:?}");
        }
        for bad in [
            &b"\n"[..],
            b"sev_es",
            b"sev_es ",
            b"sev_es  1",
            b"sev_es 1 2",
            b"sev_es -1",
            b"sev_es Max",
            b"sev_es maxx",
            b"sev_es\t1",
            b"SEV_ES 1",
            b"foo 1",
            b"sev 1",
            b"tdx max",
        ] {
            assert_eq!(w.write(f, bad), Err(Error::EINVAL), "{bad:?}");
        }
        assert_eq!(
            w.write(f, b"sev_es 18446744073709551616"),
            Err(Error::ERANGE)
        );
        assert_eq!(
            w.read(f).unwrap(),
            "sev_es 7\n",
            "failed writes change nothing"
        );
        for ro in [
            "p/misc.current",
            "p/misc.peak",
            "p/misc.events",
            "p/misc.events.local",
            "misc.capacity",
        ] {
            assert_eq!(w.write(ro, b"sev_es 1"), Err(Error::EINVAL), "{ro}");
        }
        assert_eq!(
            w.write("misc.max", b"sev_es 1"),
            Err(Error::ENOENT),
            "not on root"
        );
        assert_eq!(
            w.read("p/misc.capacity"),
            Err(Error::ENOENT),
            "only on root"
        );
        assert_eq!(Resource::from_index(3), None);
        assert_eq!(Resource::from_index(2), Some(Resource::Tdx));
        assert_eq!(Resource::from_name("sev_es"), Some(Resource::SevEs));
    }
}
