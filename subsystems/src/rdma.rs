//! The `rdma` controller: limits on the RDMA/IB resources (HCA handles and HCA objects)
//! a subtree may hold, per RDMA device.
//!
//! Follows `kernel/cgroup/rdma.c` (torvalds/linux) as of Linux 6.18; the same files on v1
//! and v2 (`legacy_cftypes = dfl_cftypes = rdmacg_files`).
//!
//! # Files (both `CFTYPE_NOT_ON_ROOT`)
//!
//! | file | mode | read | write |
//! |---|---|---|---|
//! | `rdma.max` | 0644 | per registered device, in registration order: `DEV hca_handle=N hca_object=N \n` (the trailing blank is Linux's: `print_rpool_values` puts one after every resource); `max` for `S32_MAX` | [`parse_max_write`] |
//! | `rdma.current` | 0444 | the same lines with the usage (`0` for a device this group never charged) | |
//!
//! # Devices
//!
//! The IB core registers each device (`rdmacg_register_device`); here the host does, with
//! [`register_device`] on the subsystem's root state (a machine option in the
//! simulator, a C call in the kernel shim). The registry is the root state's, so that
//! every instance of gpc has its own; its lock is Linux's `rdmacg_mutex`: every charge,
//! uncharge, read and write takes it, and each group's pools under it.
//!
//! # Charging (`rdmacg_try_charge`)
//!
//! Level by level from the group up to **and including the root** (`for (p = cg; p; p =
//! parent_rdmacg(p))`), the new usage must not exceed the level's max; at the first level
//! whose max it would exceed the levels below are uncharged again and the charge fails with
//! `EAGAIN` (`ENOMEM` if a pool cannot be allocated). The root has no `rdma.max`: its max
//! is `S32_MAX`. Charges stay with the group they were made in (the caller keeps it, as
//! Linux's caller keeps the `rdma_cgroup` pointer); moving a task moves nothing.
//!
//! # Pools
//!
//! A group keeps a pool (limits and usage) only for the devices it has a limit on or a
//! charge of (`get_cg_rpool_locked` / `free_cg_rpool_locked`: a pool whose usage is 0 and
//! whose limits are all `max` is freed). A device's pools go when it is unregistered;
//! gpc drops them lazily (a pool names its device by a registration number that is never
//! given twice).

use alloc::vec::Vec;

use arrayvec::ArrayString;
use gpc_core::host::alloc::{try_reserve, Gfp};
use gpc_core::host::lock::SpinLock;
use gpc_core::parse::{cstr, simple_strtoull, strstrip};
use gpc_core::{CfFlags, CfType, Css, Error, FileCtxOf, Out, Result, Subsystem};

/// The `rdma` controller (Linux `rdma_cgrp_subsys`).
pub struct Rdma;

/// `S32_MAX`: "no limit", shown as `max`.
pub const RDMA_MAX: i32 = i32::MAX;

/// The longest device name (`IB_DEVICE_NAME_MAX` is 64 with the NUL).
pub const DEVICE_NAME_MAX: usize = 63;

/// The most devices one instance registers: bounds what a read prints and what a
/// registration may allocate (Linux has no bound; real hosts have a handful).
pub const MAX_DEVICES: usize = 64;

/// The resources of a device (`enum rdmacg_resource_type`), in Linux's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// `RDMACG_RESOURCE_HCA_HANDLE`: `hca_handle`.
    HcaHandle = 0,
    /// `RDMACG_RESOURCE_HCA_OBJECT`: `hca_object`.
    HcaObject = 1,
}

/// `RDMACG_RESOURCE_MAX`.
const NR_RES: usize = 2;

/// `rdmacg_resource_names`.
const RES_NAMES: [&str; NR_RES] = ["hca_handle", "hca_object"];

impl Resource {
    /// The resource named `name` as `rdma.max` spells it.
    pub fn from_name(name: &str) -> Option<Resource> {
        match name {
            "hca_handle" => Some(Resource::HcaHandle),
            "hca_object" => Some(Resource::HcaObject),
            _ => None,
        }
    }

    /// The resource of index `i` (`enum rdmacg_resource_type`), as the C ABI passes it.
    pub fn from_index(i: u32) -> Option<Resource> {
        match i {
            0 => Some(Resource::HcaHandle),
            1 => Some(Resource::HcaObject),
            _ => None,
        }
    }

    fn idx(self) -> usize {
        self as usize
    }
}

/// A registered device (`struct rdmacg_device`).
struct Device {
    /// Registration number, never given twice: what pools name the device by.
    id: u64,
    name: ArrayString<DEVICE_NAME_MAX>,
}

/// `struct rdmacg_resource_pool`: one group's limits and usage on one device.
#[derive(Clone, Copy, Debug)]
struct Pool {
    dev: u64,
    max: [i32; NR_RES],
    usage: [i32; NR_RES],
    /// `usage_sum`.
    usage_sum: u64,
}

impl Pool {
    fn new(dev: u64) -> Pool {
        Pool {
            dev,
            max: [RDMA_MAX; NR_RES],
            usage: [0; NR_RES],
            usage_sum: 0,
        }
    }

    /// The condition under which Linux frees a pool.
    fn is_idle(&self) -> bool {
        self.usage_sum == 0 && self.max.iter().all(|&m| m == RDMA_MAX)
    }
}

/// What a group's lock guards.
#[derive(Default)]
struct Inner {
    /// The registered devices (root state only), in registration order.
    devices: Vec<Device>,
    /// The next registration number (root state only).
    next_dev: u64,
    /// This group's pools.
    pools: Vec<Pool>,
}

impl Inner {
    fn device(&self, name: &str) -> Option<u64> {
        self.devices
            .iter()
            .find(|d| d.name.as_str() == name)
            .map(|d| d.id)
    }
}

/// Per-container state (Linux `struct rdma_cgroup`).
pub struct State {
    inner: SpinLock<Inner>,
}

fn root<'a>(css: Css<'a, Rdma>) -> Css<'a, Rdma> {
    css.ancestors_and_self().last().unwrap_or(css)
}

/// Drop the pools of devices no longer registered (`rdmacg_unregister_device` frees them
/// at once; gpc when it next touches the group).
fn purge(pools: &mut Vec<Pool>, devices: &[Device]) {
    pools.retain(|p| devices.iter().any(|d| d.id == p.dev));
}

/// `find_cg_rpool_locked` / `get_cg_rpool_locked`: the index of `dev`'s pool, made if
/// missing.
fn get_pool(pools: &mut Vec<Pool>, dev: u64) -> Result<usize> {
    if let Some(i) = pools.iter().position(|p| p.dev == dev) {
        return Ok(i);
    }
    // Bounded: at most one pool per registered device.
    try_reserve(pools, 1, Gfp::ATOMIC)?;
    pools.push(Pool::new(dev));
    Ok(pools.len() - 1)
}

/// Register device `name` (`rdmacg_register_device`), on any state of the instance (its
/// root holds the registry); it is listed last.
///
/// # Errors
///
/// `EINVAL` for an empty name, one longer than [`DEVICE_NAME_MAX`] or one with a blank
/// or a control byte (it could not be named in `rdma.max`); `EEXIST` for a name already
/// registered; `ENOSPC` past [`MAX_DEVICES`]; `ENOMEM`.
pub fn register_device(css: Css<'_, Rdma>, name: &str) -> Result {
    if name.is_empty() || name.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(Error::EINVAL);
    }
    let name = ArrayString::from(name).map_err(|_| Error::EINVAL)?;
    let mut g = root(css).state().inner.lock();
    if g.device(&name).is_some() {
        return Err(Error::EEXIST);
    }
    if g.devices.len() >= MAX_DEVICES {
        return Err(Error::ENOSPC);
    }
    try_reserve(&mut g.devices, 1, Gfp::ATOMIC)?;
    let id = g.next_dev;
    g.next_dev += 1;
    g.devices.push(Device { id, name });
    Ok(())
}

/// Unregister device `name` (`rdmacg_unregister_device`): it leaves the files, and every
/// group's limits and charges on it are forgotten (Linux requires the IB core to have
/// released every resource first).
///
/// # Errors
///
/// `ENODEV` if no such device is registered.
pub fn unregister_device(css: Css<'_, Rdma>, name: &str) -> Result {
    let r = root(css);
    let mut g = r.state().inner.lock();
    let i = g
        .devices
        .iter()
        .position(|d| d.name.as_str() == name)
        .ok_or(Error::ENODEV)?;
    g.devices.remove(i);
    let Inner { devices, pools, .. } = &mut *g;
    purge(pools, devices);
    Ok(())
}

/// The registered devices' names, in registration order, to `f`.
pub fn for_each_device(css: Css<'_, Rdma>, f: &mut dyn FnMut(&str)) {
    let g = root(css).state().inner.lock();
    for d in &g.devices {
        f(d.name.as_str());
    }
}

/// Run `f` on each level's pool list from `css` up to the root, under the registry lock
/// (Linux holds `rdmacg_mutex` across the walk). `f` gets a level's pools and the
/// device's number and returns `false` to stop. Returns the device's registration number.
fn walk(
    css: Css<'_, Rdma>,
    dev: &str,
    f: &mut dyn FnMut(&mut Vec<Pool>, u64) -> bool,
) -> Result<u64> {
    let r = root(css);
    let mut rg = r.state().inner.lock();
    let id = rg.device(dev).ok_or(Error::ENODEV)?;
    for level in css.ancestors_and_self() {
        let go_on = if level.is_root() {
            let Inner { devices, pools, .. } = &mut *rg;
            purge(pools, devices);
            f(pools, id)
        } else {
            // Nested under the root's lock: a level below the root, never the root.
            let mut g = level.state().inner.lock_nested(1);
            purge(&mut g.pools, &rg.devices);
            f(&mut g.pools, id)
        };
        if !go_on {
            break;
        }
    }
    Ok(id)
}

/// `uncharge_cg_locked`: take `n` back from one level.
fn uncharge_locked(pools: &mut Vec<Pool>, dev: u64, res: Resource, n: i32) {
    let Some(i) = pools.iter().position(|p| p.dev == dev) else {
        // Linux: pr_warn "Invalid device" and carry on.
        return;
    };
    let Some(p) = pools.get_mut(i) else {
        return;
    };
    let u = &mut p.usage[res.idx()];
    // Linux WARNs on a negative count; gpc does not let it go below 0.
    *u = u.saturating_sub(n).max(0);
    p.usage_sum = p.usage_sum.saturating_sub(u64::from(n.unsigned_abs()));
    if p.is_idle() {
        pools.swap_remove(i);
    }
}

/// `rdmacg_try_charge` for `n` resources at once (Linux charges one per call; `n`
/// succeeds exactly when `n` calls in a row would, and fails changing nothing): at every
/// level from `css` up to the root, the usage plus `n` must not exceed the level's max.
///
/// # Errors
///
/// `EAGAIN` at a level's limit (every level below is uncharged again); `ENODEV` for an
/// unregistered device; `EINVAL` for `n` above `S32_MAX`; `ENOMEM` for a pool that
/// cannot be allocated (also undone).
pub fn try_charge(css: Css<'_, Rdma>, dev: &str, res: Resource, n: u32) -> Result {
    let n = i32::try_from(n).map_err(|_| Error::EINVAL)?;
    if n == 0 {
        return Ok(());
    }
    let mut charged = 0usize;
    let mut failed = None;
    let id = walk(css, dev, &mut |pools, id| {
        let r = get_pool(pools, id).and_then(|i| {
            let p = pools.get_mut(i).ok_or(Error::EINVAL)?;
            let new = i64::from(p.usage[res.idx()]) + i64::from(n);
            if new > i64::from(p.max[res.idx()]) {
                if p.is_idle() {
                    pools.swap_remove(i);
                }
                return Err(Error::EAGAIN);
            }
            p.usage[res.idx()] = i32::try_from(new).map_err(|_| Error::EAGAIN)?;
            p.usage_sum += u64::from(n.unsigned_abs());
            Ok(())
        });
        match r {
            Ok(()) => {
                charged += 1;
                true
            }
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    })?;
    let Some(err) = failed else {
        return Ok(());
    };
    // rdmacg_uncharge_hierarchy(cg, device, p, index): every level below the one that
    // refused.
    let _ = walk(css, dev, &mut |pools, _| {
        if charged == 0 {
            return false;
        }
        charged -= 1;
        uncharge_locked(pools, id, res, n);
        true
    });
    Err(err)
}

/// `rdmacg_uncharge` of `n` resources charged to `css` with [`try_charge`]: every level
/// up to the root. Nothing happens for a device no longer registered.
pub fn uncharge(css: Css<'_, Rdma>, dev: &str, res: Resource, n: u32) {
    let Ok(n) = i32::try_from(n) else {
        return;
    };
    let _ = walk(css, dev, &mut |pools, id| {
        uncharge_locked(pools, id, res, n);
        true
    });
}

/// The usage of `res` on device `dev` in `css` (what `rdma.current` shows); `None` for
/// an unregistered device.
pub fn usage(css: Css<'_, Rdma>, dev: &str, res: Resource) -> Option<i32> {
    let mut out = None;
    walk(css, dev, &mut |pools, id| {
        out = Some(
            pools
                .iter()
                .find(|p| p.dev == id)
                .map_or(0, |p| p.usage[res.idx()]),
        );
        false
    })
    .ok()?;
    out
}

/// A parsed `rdma.max` write: the device and, per resource, the new limit if given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxWrite<'a> {
    /// The device name (the first blank-separated field; may be empty).
    pub dev: &'a [u8],
    /// `new_limits` where `enables` has the bit.
    pub limits: [Option<i32>; NR_RES],
}

/// `match_int` on a value (`match_number(s, result, 0)`): `simple_strtol` base 0, which
/// needs one digit (or a lone `-`) but ignores what follows, and a value within `int`.
fn match_int(v: &[u8]) -> Result<i32> {
    let (neg, digits) = match v.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, v),
    };
    let (value, rest) = simple_strtoull(digits, 0);
    // endp == buf: no digit consumed (a lone "-" consumed the sign).
    if !neg && rest.len() == digits.len() {
        return Err(Error::EINVAL);
    }
    // `simple_strtol` returns the unsigned value as a long, negated for a '-'.
    let long = if neg {
        (value as i64).wrapping_neg()
    } else {
        value as i64
    };
    i32::try_from(long).map_err(|_| Error::ERANGE)
}

/// `parse_resource`: `NAME=VALUE` with NAME `hca_handle` or `hca_object` and VALUE a
/// non-negative `int` or any prefix of `max` (`strncmp(value, "max", strlen(value))`, so
/// `=`, `=m` and `=ma` mean `max` too, as in Linux).
fn parse_resource(c: &[u8]) -> Result<(usize, i32)> {
    let eq = c.iter().position(|&b| b == b'=').ok_or(Error::EINVAL)?;
    let (name, value) = (c.get(..eq).unwrap_or(&[]), c.get(eq + 1..).unwrap_or(&[]));
    let i = RES_NAMES
        .iter()
        .position(|n| n.as_bytes() == name)
        .ok_or(Error::EINVAL)?;
    match match_int(value) {
        Ok(v) if v < 0 => Err(Error::EINVAL),
        Ok(v) => Ok((i, v)),
        Err(_) if value.len() <= 3 && b"max".starts_with(value) => Ok((i, RDMA_MAX)),
        Err(_) => Err(Error::EINVAL),
    }
}

/// Parse an `rdma.max` write as `rdmacg_resource_set_max` does: `strstrip`, the device
/// name up to the first blank (`strsep(&options, " ")`), then blank-separated
/// `NAME=VALUE` fields (`parse_resource`; an empty field, as two blanks in a row make,
/// is `EINVAL`; a later field for the same resource wins). No field at all is a valid
/// write that changes nothing.
///
/// # Errors
///
/// `EINVAL` for any bad field.
pub fn parse_max_write(buf: &[u8]) -> Result<MaxWrite<'_>> {
    let b = strstrip(cstr(buf));
    let (dev, options) = match b.iter().position(|&c| c == b' ') {
        Some(i) => (b.get(..i).unwrap_or(&[]), b.get(i + 1..)),
        None => (b, None),
    };
    let mut limits = [None; NR_RES];
    if let Some(options) = options {
        for field in options.split(|&c| c == b' ') {
            let (i, v) = parse_resource(field)?;
            if let Some(slot) = limits.get_mut(i) {
                *slot = Some(v);
            }
        }
    }
    Ok(MaxWrite { dev, limits })
}

/// `rdmacg_resource_set_max`.
fn write_max(_: &Rdma, ctx: &FileCtxOf<'_, Rdma>, data: &[u8]) -> Result {
    let w = parse_max_write(data)?;
    let dev = core::str::from_utf8(w.dev).map_err(|_| Error::ENODEV)?;
    let css = ctx.css();
    let r = root(css);
    let rg = r.state().inner.lock();
    let id = rg.device(dev).ok_or(Error::ENODEV)?;
    // CFTYPE_NOT_ON_ROOT: `css` is never the root, so its lock nests under the root's.
    let mut g = css.state().inner.lock_nested(1);
    purge(&mut g.pools, &rg.devices);
    let i = get_pool(&mut g.pools, id)?;
    if let Some(p) = g.pools.get_mut(i) {
        for (m, new) in p.max.iter_mut().zip(w.limits) {
            if let Some(v) = new {
                *m = v;
            }
        }
        if p.is_idle() {
            g.pools.swap_remove(i);
        }
    }
    Ok(())
}

/// `rdmacg_resource_read`: one line per registered device.
fn show(ctx: &FileCtxOf<'_, Rdma>, out: &mut Out<'_>, max: bool) -> Result {
    let css = ctx.css();
    let r = root(css);
    let rg = r.state().inner.lock();
    // Written under the registry's spinning lock: the buffer grows atomically.
    let out = &mut out.nosleep();
    let print = |pools: &[Pool], out: &mut Out<'_>| -> Result {
        for d in &rg.devices {
            write!(out, "{} ", d.name)?;
            let pool = pools.iter().find(|p| p.dev == d.id);
            for (i, name) in RES_NAMES.iter().enumerate() {
                let value = match (pool, max) {
                    (Some(p), true) => p.max.get(i).copied().unwrap_or(RDMA_MAX),
                    (None, true) => RDMA_MAX,
                    (Some(p), false) => p.usage.get(i).copied().unwrap_or(0),
                    (None, false) => 0,
                };
                if value == RDMA_MAX {
                    write!(out, "{name}=max ")?;
                } else {
                    write!(out, "{name}={value} ")?;
                }
            }
            out.bytes(b"\n")?;
        }
        Ok(())
    };
    if css.is_root() {
        print(&rg.pools, out)
    } else {
        let g = css.state().inner.lock_nested(1);
        print(&g.pools, out)
    }
}

fn read_max(_: &Rdma, ctx: &FileCtxOf<'_, Rdma>, out: &mut Out<'_>) -> Result {
    show(ctx, out, true)
}

fn read_current(_: &Rdma, ctx: &FileCtxOf<'_, Rdma>, out: &mut Out<'_>) -> Result {
    show(ctx, out, false)
}

/// `rdmacg_files`: the same on both hierarchies.
static FILES: [CfType<Rdma>; 2] = [
    CfType::rw("max", read_max, write_max).with_flags(CfFlags::NOT_ON_ROOT.union(CfFlags::ON_DFL)),
    CfType::ro("current", read_current).with_flags(CfFlags::NOT_ON_ROOT.union(CfFlags::ON_DFL)),
];

impl Subsystem for Rdma {
    type State = State;
    const NAME: &'static str = "rdma";

    fn files(&self) -> &'static [CfType<Self>] {
        &FILES
    }

    /// `rdmacg_css_alloc`: no pools.
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(State {
            inner: gpc_core::new_spinlock!(Inner::default(), c"rdma_cgroup")?,
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
            let w = World(OneHierarchy::new(&[&Rdma], "rdma", 2, 1).unwrap());
            w.at("", |c| register_device(c, "mlx4_0")).unwrap();
            w.at("", |c| register_device(c, "mlx5_1")).unwrap();
            w.gpc.mkdir(w.h, "p").unwrap();
            w.gpc.mkdir(w.h, "p/c").unwrap();
            w
        }

        fn at<R>(&self, path: &str, f: impl FnOnce(Css<'_, Rdma>) -> R) -> R {
            let ss = self.gpc.subsys_id("rdma").unwrap();
            self.gpc
                .with_container_css(self.h, path, ss, |c| f(c.typed::<Rdma>().unwrap()))
                .unwrap()
        }

        fn charge(&self, path: &str, dev: &str, res: Resource, n: u32) -> Result {
            self.at(path, |c| try_charge(c, dev, res, n))
        }

        fn pools(&self, path: &str) -> usize {
            self.at(path, |c| c.state().inner.lock().pools.len())
        }
    }

    #[test]
    fn files_and_format() {
        let w = World::new();
        assert!(
            !w.ls("").iter().any(|f| f.starts_with("rdma.")),
            "not on root"
        );
        assert!(w.ls("p").contains(&std::string::String::from("rdma.max")));
        assert_eq!(
            w.read("p/rdma.max").unwrap(),
            "mlx4_0 hca_handle=max hca_object=max \nmlx5_1 hca_handle=max hca_object=max \n"
        );
        assert_eq!(
            w.read("p/rdma.current").unwrap(),
            "mlx4_0 hca_handle=0 hca_object=0 \nmlx5_1 hca_handle=0 hca_object=0 \n"
        );
        w.write("p/rdma.max", b"mlx5_1 hca_handle=2\n").unwrap();
        w.write("p/rdma.max", b"mlx5_1 hca_object=7").unwrap();
        assert_eq!(
            w.read("p/rdma.max").unwrap(),
            "mlx4_0 hca_handle=max hca_object=max \nmlx5_1 hca_handle=2 hca_object=7 \n",
            "a write changes only the resources it names"
        );
        w.write("p/rdma.max", b"mlx5_1 hca_object=max hca_handle=2147483647")
            .unwrap();
        assert_eq!(
            w.pools("p"),
            0,
            "all max, nothing charged: the pool is freed"
        );
        assert_eq!(w.write("p/rdma.current", b"x"), Err(Error::EINVAL));
    }

    #[test]
    fn hostile_max_writes() {
        let w = World::new();
        let f = "p/rdma.max";
        for (input, shown) in [
            (&b"mlx4_0 hca_handle=5"[..], "5 hca_object=max"),
            (b"  mlx4_0 hca_handle=0x10 \n", "16 hca_object=max"),
            (b"mlx4_0 hca_handle=010", "8 hca_object=max"),
            (b"mlx4_0 hca_handle=7abc", "7 hca_object=max"),
            (b"mlx4_0 hca_handle=-", "0 hca_object=max"),
            (b"mlx4_0 hca_handle=", "max hca_object=max"),
            (b"mlx4_0 hca_handle=ma", "max hca_object=max"),
            (b"mlx4_0 hca_handle=1 hca_handle=3", "3 hca_object=max"),
            (
                b"mlx4_0 hca_handle=18446744073709551617",
                "1 hca_object=max",
            ),
            (b"mlx4_0 hca_handle=4\0 hca_object=1", "4 hca_object=max"),
            (b"mlx4_0", "4 hca_object=max"),
        ] {
            w.write(f, input).unwrap();
            let text = w.read(f).unwrap();
            let line = text.lines().next().unwrap();
            assert_eq!(
                line,
                std::format!("mlx4_0 hca_handle={shown} "),
                "{input:?}"
            );
        }
        for bad in [
            &b"mlx4_0 hca_handle"[..],
            b"mlx4_0 hca_handle=-1",
            b"mlx4_0 hca_handle=2147483648",
            b"mlx4_0 hca_handle=99999999999999999999",
            b"mlx4_0 hca_handle=maxx",
            b"mlx4_0 hca_handle=mx",
            b"mlx4_0 hca_handle=+1",
            b"mlx4_0  hca_handle=1",
            b"mlx4_0 hca_handle=1  hca_object=1",
            b"mlx4_0 HCA_HANDLE=1",
            b"mlx4_0 foo=1",
            b"mlx4_0\thca_handle=1 x",
            b"nodev hca_handle=x",
        ] {
            assert_eq!(w.write(f, bad), Err(Error::EINVAL), "{bad:?}");
        }
        for nodev in [
            &b"\n"[..],
            b"   ",
            b"nodev",
            b"nodev hca_handle=1",
            b"mlx4_0\thca_handle=1",
            b"\xff hca_handle=1",
        ] {
            assert_eq!(w.write(f, nodev), Err(Error::ENODEV), "{nodev:?}");
        }
        assert!(
            w.read(f).unwrap().starts_with("mlx4_0 hca_handle=4 "),
            "failed writes change nothing"
        );
        assert_eq!(
            w.write("rdma.max", b"mlx4_0 hca_handle=1"),
            Err(Error::ENOENT)
        );
    }

    #[test]
    fn hierarchical_charge_refused_at_a_parent() {
        let w = World::new();
        w.write("p/rdma.max", b"mlx4_0 hca_handle=2").unwrap();
        w.charge("p/c", "mlx4_0", Resource::HcaHandle, 1).unwrap();
        w.charge("p/c", "mlx4_0", Resource::HcaHandle, 1).unwrap();
        assert_eq!(
            w.charge("p/c", "mlx4_0", Resource::HcaHandle, 1),
            Err(Error::EAGAIN),
            "the parent's limit"
        );
        assert_eq!(
            w.charge("p", "mlx4_0", Resource::HcaHandle, 1),
            Err(Error::EAGAIN)
        );
        w.charge("p/c", "mlx4_0", Resource::HcaObject, 5).unwrap();
        w.charge("p/c", "mlx5_1", Resource::HcaHandle, 9).unwrap();
        assert!(w
            .read("p/c/rdma.current")
            .unwrap()
            .starts_with("mlx4_0 hca_handle=2 hca_object=5 \n"));
        assert!(w
            .read("p/rdma.current")
            .unwrap()
            .starts_with("mlx4_0 hca_handle=2 hca_object=5 \n"));
        assert_eq!(
            w.at("", |c| usage(c, "mlx4_0", Resource::HcaHandle)),
            Some(2),
            "the root is charged"
        );
        // All or nothing: 3 more would pass c but not p.
        w.write("p/rdma.max", b"mlx4_0 hca_object=6").unwrap();
        assert_eq!(
            w.charge("p/c", "mlx4_0", Resource::HcaObject, 3),
            Err(Error::EAGAIN)
        );
        assert_eq!(
            w.at("p/c", |c| usage(c, "mlx4_0", Resource::HcaObject)),
            Some(5)
        );
        // The child's own limit below the usage: further charges refused there.
        w.write("p/c/rdma.max", b"mlx5_1 hca_handle=0").unwrap();
        assert_eq!(
            w.charge("p/c", "mlx5_1", Resource::HcaHandle, 1),
            Err(Error::EAGAIN)
        );
        assert!(w
            .read("p/c/rdma.max")
            .unwrap()
            .ends_with("mlx5_1 hca_handle=0 hca_object=max \n"));
        w.at("p/c", |c| uncharge(c, "mlx4_0", Resource::HcaHandle, 2));
        w.at("p/c", |c| uncharge(c, "mlx4_0", Resource::HcaObject, 5));
        assert_eq!(
            w.at("", |c| usage(c, "mlx4_0", Resource::HcaHandle)),
            Some(0)
        );
        assert_eq!(w.pools("p/c"), 1, "mlx5_1 still charged and limited");
        w.at("p/c", |c| uncharge(c, "mlx5_1", Resource::HcaHandle, 9));
        w.write("p/c/rdma.max", b"mlx5_1 hca_handle=max").unwrap();
        assert_eq!(w.pools("p/c"), 0);
        assert_eq!(
            w.charge("p", "nodev", Resource::HcaHandle, 1),
            Err(Error::ENODEV)
        );
        assert_eq!(
            w.charge("p", "mlx4_0", Resource::HcaHandle, u32::MAX),
            Err(Error::EINVAL)
        );
        assert_eq!(
            w.charge("", "mlx4_0", Resource::HcaHandle, i32::MAX as u32),
            Ok(())
        );
        assert_eq!(
            w.charge("", "mlx4_0", Resource::HcaHandle, 1),
            Err(Error::EAGAIN),
            "S32_MAX at the root"
        );
        w.at("", |c| {
            uncharge(c, "mlx4_0", Resource::HcaHandle, i32::MAX as u32)
        });
    }

    #[test]
    fn registration() {
        let w = World::new();
        assert_eq!(
            w.at("", |c| register_device(c, "mlx4_0")),
            Err(Error::EEXIST)
        );
        for bad in ["", "a b", "a\tb", "x\n", &"d".repeat(64)] {
            assert_eq!(
                w.at("", |c| register_device(c, bad)),
                Err(Error::EINVAL),
                "{bad:?}"
            );
        }
        w.at("p", |c| register_device(c, &"d".repeat(63))).unwrap();
        w.write("p/rdma.max", b"mlx4_0 hca_handle=3").unwrap();
        w.charge("p", "mlx4_0", Resource::HcaHandle, 1).unwrap();
        w.at("", |c| unregister_device(c, "mlx4_0")).unwrap();
        assert_eq!(
            w.at("", |c| unregister_device(c, "mlx4_0")),
            Err(Error::ENODEV)
        );
        assert!(w.read("p/rdma.max").unwrap().starts_with("mlx5_1 "));
        w.at("", |c| register_device(c, "mlx4_0")).unwrap();
        assert!(
            w.read("p/rdma.max")
                .unwrap()
                .ends_with("mlx4_0 hca_handle=max hca_object=max \n"),
            "a new registration starts afresh"
        );
        let mut names = std::vec::Vec::new();
        w.at("p/c", |c| {
            for_each_device(c, &mut |n| names.push(std::string::String::from(n)))
        });
        assert_eq!(names.len(), 3);
        for i in names.len()..MAX_DEVICES {
            w.at("", |c| register_device(c, &std::format!("d{i}")))
                .unwrap();
        }
        assert_eq!(
            w.at("", |c| register_device(c, "one_more")),
            Err(Error::ENOSPC)
        );
    }
}
