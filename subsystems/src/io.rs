//! The `io` controller (`blkio` on cgroup v1): block I/O limits, weights and statistics
//! per group and per disk.
//!
//! Follows Linux 6.18 (torvalds/linux) `block/blk-cgroup.c` (the controller, `io.stat`,
//! `blkio.reset_stats`, `blkg_conf_open_bdev`/`blkg_conf_prep`), `block/blk-throttle.c`
//! (`io.max`, `blkio.throttle.*`), `block/blk-iocost.c` (`io.weight`) and
//! `block/bfq-cgroup.c` (`io.bfq.weight`, `blkio.bfq.*`), for a Debian-like kernel
//! (`BLK_CGROUP`, `BLK_DEV_THROTTLING`, `BFQ_GROUP_IOSCHED`, `BLK_CGROUP_IOCOST`,
//! `BLK_CGROUP_IOLATENCY`, `BLK_CGROUP_IOPRIO`; no `BFQ_CGROUP_DEBUG`).
//!
//! The controller keeps, per group and per disk it has seen (Linux's `blkcg_gq`, "blkg",
//! made on a group's first I/O to the disk or first setting for it, with the blkgs of
//! every ancestor), the throttle limits, the weights and the I/O counted. The disks come
//! from the host ([`set_disks`] on the root state); a write that names another device is
//! `ENODEV`. The host applies the limits and the weights to its I/O ([`limits`],
//! [`weight`]) and counts what completed ([`account`]). doc/io.md describes the model.
//!
//! # Files
//!
//! v1 (`blkio.` prefix):
//!
//! | file | flags | Linux |
//! |---|---|---|
//! | `reset_stats` | write-only | `blkcg_reset_stats` (`write_u64`) |
//! | `throttle.read_bps_device`, `throttle.write_bps_device` | | `tg_print_conf_u64`/`tg_set_conf_u64` |
//! | `throttle.read_iops_device`, `throttle.write_iops_device` | | `tg_print_conf_uint`/`tg_set_conf_uint` |
//! | `throttle.io_service_bytes(_recursive)`, `throttle.io_serviced(_recursive)` | | `tg_print_rwstat(_recursive)` |
//! | `bfq.weight` | `NOT_ON_ROOT` | `bfq_io_show_weight_legacy`/`bfq_io_set_weight_legacy` |
//! | `bfq.weight_device` | `NOT_ON_ROOT` | `bfq_io_show_weight`/`bfq_io_set_weight` |
//! | `bfq.io_service_bytes(_recursive)`, `bfq.io_serviced(_recursive)` | | `bfqg_print_rwstat(_recursive)` |
//!
//! v2 (`io.` prefix): `stat` (`blkcg_print_stat`), `max` (`NOT_ON_ROOT`, `tg_print_limit`/
//! `tg_set_limit`), `weight` (`NOT_ON_ROOT`, `ioc_weight_show`/`ioc_weight_write`),
//! `bfq.weight` (`NOT_ON_ROOT`, `bfq_io_show_weight`/`bfq_io_set_weight`).
//!
//! Left out (no effect in the model): `io.latency` (blk-iolatency.c), `io.prio.class`
//! (blk-ioprio.c), `io.cost.qos` and `io.cost.model` (blk-iocost.c, root only).

use alloc::vec::Vec;
use arrayvec::ArrayVec;

use gpc_core::host::alloc::{try_reserve, Gfp};
use gpc_core::host::lock::SpinLock;
use gpc_core::parse::{cstr, is_space, parse_integer, simple_strtoull, write_u64_input};
use gpc_core::{CfFlags, CfType, Css, Error, FileCtxOf, Out, Result, Subsystem};

/// The `io` controller (Linux `io_cgrp_subsys`, `legacy_name = "blkio"`).
pub struct Io;

/// The most disks a machine may register ([`set_disks`]).
pub const MAX_DISKS: usize = 16;
/// Most blkgs (disks seen) one group keeps; never more than the disks there are.
const MAX_BLKGS: usize = MAX_DISKS;

/// `CGROUP_WEIGHT_MIN`, `CGROUP_WEIGHT_DFL`, `CGROUP_WEIGHT_MAX` (iocost's range).
pub const WEIGHT_MIN: u32 = 1;
/// See [`WEIGHT_MIN`].
pub const WEIGHT_DFL: u32 = 100;
/// See [`WEIGHT_MIN`].
pub const WEIGHT_MAX: u32 = 10_000;
/// `BFQ_MIN_WEIGHT`, `BFQ_DEFAULT_GRP_WEIGHT`, `BFQ_MAX_WEIGHT` (bfq-iosched.h).
pub const BFQ_MIN_WEIGHT: u32 = 1;
/// See [`BFQ_MIN_WEIGHT`].
pub const BFQ_DEFAULT_WEIGHT: u32 = 100;
/// See [`BFQ_MIN_WEIGHT`].
pub const BFQ_MAX_WEIGHT: u32 = 1000;

/// `MINORBITS` (include/linux/kdev_t.h).
const MINORBITS: u32 = 20;

/// `MKDEV(ma, mi)`: `ma << 20 | mi` in 32-bit arithmetic, wrapping as C's does (so
/// `4104:0` names the same device as `8:0`, as in Linux).
pub const fn mkdev(major: u32, minor: u32) -> u32 {
    major.wrapping_mul(1 << MINORBITS) | minor
}

/// `MAJOR(dev)`.
pub const fn dev_major(dev: u32) -> u32 {
    dev >> MINORBITS
}

/// `MINOR(dev)`.
pub const fn dev_minor(dev: u32) -> u32 {
    dev & ((1 << MINORBITS) - 1)
}

/// The index of a direction in the limits and counters.
pub const READ: usize = 0;
/// See [`READ`].
pub const WRITE: usize = 1;
/// `BLKG_RWSTAT_SYNC` / `_ASYNC` in [`Stat`]'s arrays.
const SYNC: usize = 2;
const ASYNC: usize = 3;

/// I/O counted in one blkg (`blkg_rwstat`: Read, Write, Sync, Async; Discard is always 0
/// in the model).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// Bytes: read, write, sync, async.
    pub bytes: [u64; 4],
    /// Requests: read, write, sync, async.
    pub ios: [u64; 4],
}

impl Stat {
    fn add(&mut self, o: &Stat) {
        for i in 0..4 {
            self.bytes[i] = self.bytes[i].wrapping_add(o.bytes[i]);
            self.ios[i] = self.ios[i].wrapping_add(o.ios[i]);
        }
    }
}

/// A group's state for one disk (Linux `blkcg_gq` with its policies' data).
#[derive(Clone, Copy, Debug)]
struct Blkg {
    dev: u32,
    /// `tg->bps[READ/WRITE]`; `u64::MAX`: no limit.
    bps: [u64; 2],
    /// `tg->iops[READ/WRITE]`; `u32::MAX`: no limit.
    iops: [u32; 2],
    /// iocost's `cfg_weight` (0: the group's default).
    weight: u32,
    /// bfq's `entity.dev_weight` (0: the group's default).
    bfq_weight: u32,
    /// The group's own I/O.
    own: Stat,
    /// I/O of removed descendants (Linux hands it to the parent when a blkg goes), counted
    /// in recursive figures only.
    dead: Stat,
    /// What blk-throttle counted (`tg->stat_bytes`/`stat_ios`, the v1
    /// `blkio.throttle.io_service*` files): only I/O issued after throttling was first
    /// configured on the disk (`blk_should_throtl` returns early before
    /// `blk_throtl_init`), with removed descendants' in `thr_dead`.
    thr: Stat,
    thr_dead: Stat,
    /// [`throttle`]'s clocks: when the bytes and the requests dispatched so far have
    /// used up the `bps` and `iops` limits, per direction (ns of the host's clock).
    until: [[u64; 2]; 2],
}

impl Blkg {
    const fn new(dev: u32) -> Self {
        Blkg {
            dev,
            bps: [u64::MAX; 2],
            iops: [u32::MAX; 2],
            weight: 0,
            bfq_weight: 0,
            own: Stat {
                bytes: [0; 4],
                ios: [0; 4],
            },
            dead: Stat {
                bytes: [0; 4],
                ios: [0; 4],
            },
            thr: Stat {
                bytes: [0; 4],
                ios: [0; 4],
            },
            thr_dead: Stat {
                bytes: [0; 4],
                ios: [0; 4],
            },
            until: [[0; 2]; 2],
        }
    }
}

struct Inner {
    /// iocost's `dfl_weight` (io.weight's `default`).
    dfl_weight: u32,
    /// bfq's `bfqgd->weight`.
    bfq_weight: u32,
    /// blk-ioprio's `prio_policy`: an index into [`PRIO_POLICIES`].
    prio_policy: usize,
    /// The blkgs, oldest first (Linux lists them newest first: `hlist_add_head_rcu`).
    blkgs: Vec<Blkg>,
    /// The machine's disks (meaningful in the root state only).
    disks: ArrayVec<u32, MAX_DISKS>,
    /// The disks blk-throttle was set up on (`blk_throtl_init` at the first throttle
    /// configuration of the disk: `tg_set_conf`, `tg_set_limit`; root state only).
    /// Until then the throttle policy is not enabled on the disk's queue, so the v1
    /// throttle statistics count nothing there and list no row for it
    /// (`blkcg_print_blkgs` skips a blkg whose queue lacks the policy).
    throttled: ArrayVec<u32, MAX_DISKS>,
}

/// Per-group state (Linux `struct blkcg` with its policies' per-cgroup data).
pub struct State {
    inner: SpinLock<Inner>,
}

impl Inner {
    fn find(&self, dev: u32) -> Option<&Blkg> {
        self.blkgs.iter().find(|b| b.dev == dev)
    }
    fn find_mut(&mut self, dev: u32) -> Option<&mut Blkg> {
        self.blkgs.iter_mut().find(|b| b.dev == dev)
    }
}

fn root_of(css: Css<'_, Io>) -> Css<'_, Io> {
    css.ancestors_and_self().last().unwrap_or(css)
}

/// Register the machine's disks (whole disks, `MKDEV` numbers) in the root state `root`
/// (any state: its root is used). Each gets a root blkg, as Linux's `blkcg_init_disk`
/// makes one.
///
/// # Errors
///
/// `EINVAL` for more than [`MAX_DISKS`] disks or one named twice, `ENOMEM` (nothing
/// changed).
pub fn set_disks(root: Css<'_, Io>, disks: &[u32]) -> Result {
    let root = root_of(root);
    if disks.len() > MAX_DISKS {
        return Err(Error::EINVAL);
    }
    for (i, d) in disks.iter().enumerate() {
        if disks.iter().skip(i + 1).any(|e| e == d) {
            return Err(Error::EINVAL);
        }
    }
    let mut g = root.state().inner.lock();
    let missing = disks.iter().filter(|&&d| g.find(d).is_none()).count();
    try_reserve(&mut g.blkgs, missing, Gfp::ATOMIC)?;
    g.disks.clear();
    for &d in disks {
        g.disks.push(d);
        if g.find(d).is_none() {
            g.blkgs.push(Blkg::new(d));
        }
    }
    Ok(())
}

/// Whether blk-throttle was set up on `dev` (see `Inner::throttled`).
fn throtl_activated(css: Css<'_, Io>, dev: u32) -> bool {
    root_of(css).state().inner.lock().throttled.contains(&dev)
}

/// `blk_throtl_init` on `dev`, a registered disk (at most [`MAX_DISKS`] of them, so the
/// list has room).
fn throtl_activate(css: Css<'_, Io>, dev: u32) {
    let mut g = root_of(css).state().inner.lock();
    if !g.throttled.contains(&dev) {
        let _ = g.throttled.try_push(dev);
    }
}

/// The disks the machine registered ([`set_disks`]).
pub fn disks(css: Css<'_, Io>) -> ArrayVec<u32, MAX_DISKS> {
    root_of(css).state().inner.lock().disks.clone()
}

/// Linux `blkg_lookup_create`: the blkgs of `css` and of every ancestor for `dev`, made
/// where missing, from the root down. Room is reserved in every level first, so `ENOMEM`
/// leaves every list as it was.
fn blkg_lookup_create(css: Css<'_, Io>, dev: u32) -> Result {
    for c in css.ancestors_and_self() {
        let mut g = c.state().inner.lock();
        if g.find(dev).is_none() {
            if g.blkgs.len() >= MAX_BLKGS {
                return Err(Error::ENOSPC);
            }
            try_reserve(&mut g.blkgs, 1, Gfp::ATOMIC)?;
        }
    }
    for c in css.ancestors_and_self() {
        let mut g = c.state().inner.lock();
        if g.find(dev).is_none() {
            g.blkgs.push(Blkg::new(dev));
        }
    }
    Ok(())
}

/// Make sure `css` has a blkg for `dev`, so that [`account`] can count there without
/// allocating (the host calls it when a task issues I/O).
///
/// # Errors
///
/// `ENODEV` for a device that is not a registered disk, `ENOMEM`.
pub fn prepare(css: Css<'_, Io>, dev: u32) -> Result {
    if !disks(css).contains(&dev) {
        return Err(Error::ENODEV);
    }
    blkg_lookup_create(css, dev)
}

/// Whether `css` has a blkg for `dev` (so that [`account`] counts there).
pub fn has_blkg(css: Css<'_, Io>, dev: u32) -> bool {
    css.state().inner.lock().find(dev).is_some()
}

/// Count completed I/O of `css` on `dev`: `bytes` in `ios` requests, `write` or read,
/// `sync` (a read, a direct write) or not (writeback). Nothing is counted where the group
/// has no blkg for the disk ([`prepare`] makes it).
pub fn account(css: Css<'_, Io>, dev: u32, write: bool, sync: bool, bytes: u64, ios: u64) {
    let throttled = throtl_activated(css, dev);
    let mut g = css.state().inner.lock();
    if let Some(b) = g.find_mut(dev) {
        let dir = if write { WRITE } else { READ };
        let kind = if sync { SYNC } else { ASYNC };
        for i in [dir, kind] {
            b.own.bytes[i] = b.own.bytes[i].wrapping_add(bytes);
            b.own.ios[i] = b.own.ios[i].wrapping_add(ios);
            if throttled {
                b.thr.bytes[i] = b.thr.bytes[i].wrapping_add(bytes);
                b.thr.ios[i] = b.thr.ios[i].wrapping_add(ios);
            }
        }
    }
}

/// The throttle limits of `css` itself on `dev`: bytes per second `[read, write]`
/// (`u64::MAX`: none) and requests per second `[read, write]` (`u32::MAX`: none). Linux's
/// blk-throttle applies every ancestor's as well (the host walks them).
pub fn limits(css: Css<'_, Io>, dev: u32) -> ([u64; 2], [u32; 2]) {
    let g = css.state().inner.lock();
    g.find(dev)
        .map_or(([u64::MAX; 2], [u32::MAX; 2]), |b| (b.bps, b.iops))
}

/// `n` units at `per_sec` a second, in ns (`u64::MAX` for a rate of 0: never).
fn ns_for(n: u64, per_sec: u64) -> u64 {
    if per_sec == 0 {
        return u64::MAX;
    }
    let ns = u128::from(n) * 1_000_000_000 / u128::from(per_sec);
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// blk-throttle for a host's block layer (`blk_throtl_bio`): a bio of `bytes` of
/// `css`'s tasks to `dev` at `now_ns` may be dispatched after the returned ns. Every
/// level (the group and each ancestor) with a limit for the direction keeps a clock of
/// when what it dispatched used its budget up (`bytes / bps` and `1 / iops` a bio); the
/// bio waits for the latest, and then every level's clock moves on by the bio's share.
/// Levels without a blkg for the disk have no limit there. No burst is allowed beyond
/// the limit (Linux's slices give some).
pub fn throttle(css: Css<'_, Io>, dev: u32, write: bool, bytes: u64, now_ns: u64) -> u64 {
    let dir = usize::from(write);
    let mut at = now_ns;
    for c in css.ancestors_and_self() {
        if let Some(b) = c.state().inner.lock().find(dev) {
            if b.bps[dir] != u64::MAX {
                at = at.max(b.until[0][dir]);
            }
            if b.iops[dir] != u32::MAX {
                at = at.max(b.until[1][dir]);
            }
        }
    }
    for c in css.ancestors_and_self() {
        if let Some(b) = c.state().inner.lock().find_mut(dev) {
            if b.bps[dir] != u64::MAX {
                b.until[0][dir] = at.saturating_add(ns_for(bytes, b.bps[dir]));
            }
            if b.iops[dir] != u32::MAX {
                b.until[1][dir] = at.saturating_add(ns_for(1, u64::from(b.iops[dir])));
            }
        }
    }
    at.saturating_sub(now_ns)
}

/// The weight of `css` on `dev` for the disk's scheduler: on v2 (`on_dfl`) iocost's
/// (`io.weight`: the device's, else the default), on v1 bfq's (`blkio.bfq.weight_device`,
/// else `blkio.bfq.weight`).
pub fn weight(css: Css<'_, Io>, dev: u32, on_dfl: bool) -> u32 {
    let g = css.state().inner.lock();
    let b = g.find(dev);
    if on_dfl {
        b.map(|b| b.weight)
            .filter(|&w| w != 0)
            .unwrap_or(g.dfl_weight)
    } else {
        b.map(|b| b.bfq_weight)
            .filter(|&w| w != 0)
            .unwrap_or(g.bfq_weight)
    }
}

/// The I/O `css` and its descendants did on `dev` (what `io.stat` shows), given the
/// descendants' states.
fn recursive<'a>(
    css: Css<'a, Io>,
    descendants: impl Iterator<Item = Css<'a, Io>>,
    dev: u32,
    throttle: bool,
) -> Stat {
    let mut s = Stat::default();
    for c in core::iter::once(css).chain(descendants) {
        if let Some(b) = c.state().inner.lock().find(dev) {
            if throttle {
                s.add(&b.thr);
                s.add(&b.thr_dead);
            } else {
                s.add(&b.own);
                s.add(&b.dead);
            }
        }
    }
    s
}

/// The devices of `css`'s blkgs, newest first (Linux's `blkcg->blkg_list` order).
fn devs(css: Css<'_, Io>) -> ArrayVec<u32, MAX_BLKGS> {
    let g = css.state().inner.lock();
    g.blkgs
        .iter()
        .rev()
        .map(|b| b.dev)
        .take(MAX_BLKGS)
        .collect()
}

/// `blkg_dev_name`: the disk's `MAJ:MIN` (the bdi's name).
struct DevName(u32);

impl core::fmt::Display for DevName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}", dev_major(self.0), dev_minor(self.0))
    }
}

// ---------------------------------------------------------------------------------------
// The kernel's sscanf, as far as these files use it.
// ---------------------------------------------------------------------------------------

/// `%u`/`%llu` of the kernel's `vsscanf` (lib/vsprintf.c): blanks skipped, then at least
/// one decimal digit (no sign), the value wrapping modulo 2^64 (`simple_strntoull`).
/// Returns the value and the rest.
fn scan_u64(s: &[u8]) -> Option<(u64, &[u8])> {
    let start = s.iter().position(|&c| !is_space(c)).unwrap_or(s.len());
    let s = s.get(start..).unwrap_or(&[]);
    if !s.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let p = parse_integer(s, 10);
    Some((p.value, s.get(p.len..).unwrap_or(&[])))
}

/// `%u`: [`scan_u64`] stored in an `unsigned int` (truncated).
fn scan_u32(s: &[u8]) -> Option<(u32, &[u8])> {
    scan_u64(s).map(|(v, r)| (v as u32, r))
}

/// `sscanf(s, "WORD %u")`: `word` matched exactly, blanks skipped, `%u`.
fn scan_word_u64<'a>(s: &'a [u8], word: &[u8]) -> Option<(u64, &'a [u8])> {
    scan_u64(s.strip_prefix(word)?)
}

/// `blkg_conf_open_bdev` (blk-cgroup.c): `sscanf(input, "%u:%u%n")`, a blank after it,
/// the blanks skipped; the device must be a registered whole disk. Returns the device
/// and the body after it.
///
/// # Errors
///
/// `EINVAL` for a malformed key or no blank after it, `ENODEV` for another device.
fn conf_open_bdev<'a>(css: Css<'_, Io>, input: &'a [u8]) -> Result<(u32, &'a [u8])> {
    let (major, rest) = scan_u32(input).ok_or(Error::EINVAL)?;
    let rest = rest.strip_prefix(b":").ok_or(Error::EINVAL)?;
    let (minor, rest) = scan_u32(rest).ok_or(Error::EINVAL)?;
    if !rest.first().is_some_and(|&c| is_space(c)) {
        return Err(Error::EINVAL);
    }
    let skip = rest
        .iter()
        .position(|&c| !is_space(c))
        .unwrap_or(rest.len());
    let body = rest.get(skip..).unwrap_or(&[]);
    let dev = mkdev(major, minor);
    if !disks(css).contains(&dev) {
        return Err(Error::ENODEV);
    }
    Ok((dev, body))
}

/// `blkg_conf_open_bdev` then `blkg_conf_prep`: the device and the body, the blkgs made.
fn conf_prep<'a>(css: Css<'_, Io>, input: &'a [u8]) -> Result<(u32, &'a [u8])> {
    let (dev, body) = conf_open_bdev(css, input)?;
    blkg_lookup_create(css, dev)?;
    Ok((dev, body))
}

/// Change `css`'s blkg for `dev` (made by [`conf_prep`]).
fn with_blkg(css: Css<'_, Io>, dev: u32, f: impl FnOnce(&mut Blkg)) {
    if let Some(b) = css.state().inner.lock().find_mut(dev) {
        f(b);
    }
}

// ---------------------------------------------------------------------------------------
// Files.
// ---------------------------------------------------------------------------------------

/// `blkcg_print_stat` (`io.stat`): per blkg `MAJ:MIN `, the figures when any is not 0
/// (`rbytes= wbytes= rios= wios= dbytes= dios=`, recursive: rstat propagates them up),
/// and a newline.
fn read_stat(_: &Io, ctx: &FileCtxOf<'_, Io>, out: &mut Out<'_>) -> Result {
    let css = ctx.css();
    for dev in devs(css) {
        let s = recursive(css, ctx.descendants(), dev, false);
        write!(out, "{} ", DevName(dev))?;
        let (rb, wb, ri, wi) = (s.bytes[READ], s.bytes[WRITE], s.ios[READ], s.ios[WRITE]);
        if rb != 0 || wb != 0 || ri != 0 || wi != 0 {
            write!(
                out,
                "rbytes={rb} wbytes={wb} rios={ri} wios={wi} dbytes=0 dios=0"
            )?;
        }
        out.bytes(b"\n")?;
    }
    Ok(())
}

/// `blkcg_reset_stats` (`blkio.reset_stats`, `write_u64`): any value; the group's own
/// counters of every blkg go to 0.
fn write_reset_stats(_: &Io, ctx: &FileCtxOf<'_, Io>, data: &[u8]) -> Result {
    write_u64_input(data)?;
    let mut g = ctx.css().state().inner.lock();
    for b in g.blkgs.iter_mut() {
        b.own = Stat::default();
        b.dead = Stat::default();
        b.thr = Stat::default();
        b.thr_dead = Stat::default();
    }
    Ok(())
}

/// Which throttle value a v1 file shows.
#[derive(Clone, Copy)]
enum Conf {
    Bps(usize),
    Iops(usize),
}

/// `tg_print_conf_u64`/`_uint`: `MAJ:MIN VALUE` for each blkg with a limit.
fn print_conf(ctx: &FileCtxOf<'_, Io>, out: &mut Out<'_>, which: Conf) -> Result {
    let css = ctx.css();
    for dev in devs(css) {
        let (bps, iops) = limits(css, dev);
        match which {
            Conf::Bps(d) if bps[d] != u64::MAX => writeln!(out, "{} {}", DevName(dev), bps[d])?,
            Conf::Iops(d) if iops[d] != u32::MAX => writeln!(out, "{} {}", DevName(dev), iops[d])?,
            _ => {}
        }
    }
    Ok(())
}

/// `tg_set_conf` (blk-throttle.c): `MAJ:MIN VALUE`, `sscanf("%llu")` (garbage after the
/// number ignored), 0 meaning no limit; an iops value is stored in an `unsigned int`
/// (truncated).
fn set_conf(ctx: &FileCtxOf<'_, Io>, data: &[u8], which: Conf) -> Result {
    let css = ctx.css();
    let (dev, body) = conf_prep(css, cstr(data))?;
    // `blk_throtl_init` once the device is known, before the value is parsed.
    throtl_activate(css, dev);
    let (mut v, _) = scan_u64(body).ok_or(Error::EINVAL)?;
    if v == 0 {
        v = u64::MAX;
    }
    with_blkg(css, dev, |b| match which {
        Conf::Bps(d) => b.bps[d] = v,
        Conf::Iops(d) => b.iops[d] = v as u32,
    });
    Ok(())
}

macro_rules! conf_files {
    ($($read:ident $write:ident $which:expr;)*) => {$(
        fn $read(_: &Io, ctx: &FileCtxOf<'_, Io>, out: &mut Out<'_>) -> Result {
            print_conf(ctx, out, $which)
        }
        fn $write(_: &Io, ctx: &FileCtxOf<'_, Io>, data: &[u8]) -> Result {
            set_conf(ctx, data, $which)
        }
    )*};
}

conf_files! {
    read_rbps write_rbps Conf::Bps(READ);
    read_wbps write_wbps Conf::Bps(WRITE);
    read_riops write_riops Conf::Iops(READ);
    read_wiops write_wiops Conf::Iops(WRITE);
}

/// `__blkg_prfill_rwstat` for each blkg, then `Total N` (`show_total`). `throttle`:
/// blk-throttle's figures, only for disks throttling was set up on (bfq's otherwise:
/// every disk runs bfq in the model).
fn print_rwstat(
    ctx: &FileCtxOf<'_, Io>,
    out: &mut Out<'_>,
    ios: bool,
    rec: bool,
    throttle: bool,
) -> Result {
    let css = ctx.css();
    let mut total: u64 = 0;
    for dev in devs(css) {
        if throttle && !throtl_activated(css, dev) {
            continue;
        }
        let s = if rec {
            recursive(css, ctx.descendants(), dev, throttle)
        } else {
            css.state()
                .inner
                .lock()
                .find(dev)
                .map(|b| if throttle { b.thr } else { b.own })
                .unwrap_or_default()
        };
        let c = if ios { s.ios } else { s.bytes };
        let d = DevName(dev);
        for (name, v) in [
            ("Read", c[READ]),
            ("Write", c[WRITE]),
            ("Sync", c[SYNC]),
            ("Async", c[ASYNC]),
            ("Discard", 0),
        ] {
            writeln!(out, "{d} {name} {v}")?;
        }
        let v = c[READ].wrapping_add(c[WRITE]);
        writeln!(out, "{d} Total {v}")?;
        total = total.wrapping_add(v);
    }
    writeln!(out, "Total {total}")
}

macro_rules! rwstat_files {
    ($($read:ident $ios:literal $rec:literal $throttle:literal;)*) => {$(
        fn $read(_: &Io, ctx: &FileCtxOf<'_, Io>, out: &mut Out<'_>) -> Result {
            print_rwstat(ctx, out, $ios, $rec, $throttle)
        }
    )*};
}

rwstat_files! {
    read_service_bytes false false true;
    read_service_bytes_rec false true true;
    read_serviced true false true;
    read_serviced_rec true true true;
    read_bfq_service_bytes false false false;
    read_bfq_service_bytes_rec false true false;
    read_bfq_serviced true false false;
    read_bfq_serviced_rec true true false;
}

/// `tg_print_limit` (`io.max`): a line per blkg with any limit, `max` for none.
fn read_max(_: &Io, ctx: &FileCtxOf<'_, Io>, out: &mut Out<'_>) -> Result {
    let css = ctx.css();
    for dev in devs(css) {
        let (bps, iops) = limits(css, dev);
        if bps == [u64::MAX; 2] && iops == [u32::MAX; 2] {
            continue;
        }
        write!(out, "{}", DevName(dev))?;
        for (name, v) in [("rbps", bps[READ]), ("wbps", bps[WRITE])] {
            if v == u64::MAX {
                write!(out, " {name}=max")?;
            } else {
                write!(out, " {name}={v}")?;
            }
        }
        for (name, v) in [("riops", iops[READ]), ("wiops", iops[WRITE])] {
            if v == u32::MAX {
                write!(out, " {name}=max")?;
            } else {
                write!(out, " {name}={v}")?;
            }
        }
        out.bytes(b"\n")?;
    }
    Ok(())
}

/// `tg_set_limit` (`io.max`): `MAJ:MIN` and `KEY=VALUE` tokens (`%26s`: a longer token is
/// cut in two), VALUE a number (`%llu`, garbage after it ignored) or `max`; 0 is
/// `ERANGE`; an unknown key or a token without `=` `EINVAL`; iops values capped at
/// `UINT_MAX`. Nothing changes unless every token is good.
fn write_max(_: &Io, ctx: &FileCtxOf<'_, Io>, data: &[u8]) -> Result {
    let css = ctx.css();
    let (dev, mut body) = conf_prep(css, cstr(data))?;
    throtl_activate(css, dev);
    let (bps, iops) = limits(css, dev);
    let mut v = [
        bps[READ],
        bps[WRITE],
        u64::from(iops[READ]),
        u64::from(iops[WRITE]),
    ];
    loop {
        // sscanf("%26s%n"): blanks skipped, then up to 26 non-blank bytes.
        let skip = body
            .iter()
            .position(|&c| !is_space(c))
            .unwrap_or(body.len());
        body = body.get(skip..).unwrap_or(&[]);
        if body.is_empty() {
            break;
        }
        let len = body
            .iter()
            .take(26)
            .position(|&c| is_space(c))
            .unwrap_or(body.len().min(26));
        let (tok, rest) = body.split_at(len);
        body = rest;
        let eq = tok.iter().position(|&c| c == b'=').ok_or(Error::EINVAL)?;
        let (key, val) = (&tok[..eq], &tok[eq + 1..]);
        let val = match scan_u64(val) {
            Some((n, _)) => n,
            None if val == b"max" => u64::MAX,
            None => return Err(Error::EINVAL),
        };
        if val == 0 {
            return Err(Error::ERANGE);
        }
        match key {
            b"rbps" => v[0] = val,
            b"wbps" => v[1] = val,
            b"riops" => v[2] = val.min(u64::from(u32::MAX)),
            b"wiops" => v[3] = val.min(u64::from(u32::MAX)),
            _ => return Err(Error::EINVAL),
        }
    }
    with_blkg(css, dev, |b| {
        b.bps = [v[0], v[1]];
        b.iops = [v[2] as u32, v[3] as u32];
    });
    Ok(())
}

/// `ioc_weight_show` (`io.weight`): `default N`, then `MAJ:MIN N` per device weight.
fn read_weight(_: &Io, ctx: &FileCtxOf<'_, Io>, out: &mut Out<'_>) -> Result {
    let g = ctx.css().state().inner.lock();
    writeln!(out, "default {}", g.dfl_weight)?;
    for b in g.blkgs.iter().rev().filter(|b| b.weight != 0) {
        writeln!(out, "{} {}", DevName(b.dev), b.weight)?;
    }
    Ok(())
}

/// `ioc_weight_write` (`io.weight`): without a `:`, `default N` or `N` sets the default;
/// else `MAJ:MIN N` or `MAJ:MIN default` (back to the default). N in 1..=10000.
fn write_weight(_: &Io, ctx: &FileCtxOf<'_, Io>, data: &[u8]) -> Result {
    let css = ctx.css();
    let buf = cstr(data);
    let in_range = |v: u32| (WEIGHT_MIN..=WEIGHT_MAX).contains(&v);
    if !buf.contains(&b':') {
        let v = scan_word_u64(buf, b"default")
            .or_else(|| scan_u64(buf))
            .map(|(v, _)| v as u32)
            .ok_or(Error::EINVAL)?;
        if !in_range(v) {
            return Err(Error::EINVAL);
        }
        css.state().inner.lock().dfl_weight = v;
        return Ok(());
    }
    let (dev, body) = conf_prep(css, buf)?;
    let v = if body.starts_with(b"default") {
        0
    } else {
        let (v, _) = scan_u32(body).ok_or(Error::EINVAL)?;
        if !in_range(v) {
            return Err(Error::EINVAL);
        }
        v
    };
    with_blkg(css, dev, |b| b.weight = v);
    Ok(())
}

/// `bfq_io_show_weight_legacy` (`blkio.bfq.weight`).
fn read_bfq_weight_legacy(_: &Io, ctx: &FileCtxOf<'_, Io>, out: &mut Out<'_>) -> Result {
    let w = ctx.css().state().inner.lock().bfq_weight;
    writeln!(out, "{w}")
}

/// `bfq_io_set_weight_legacy`: 1..=1000, else `ERANGE`.
fn set_bfq_default(css: Css<'_, Io>, v: u64) -> Result {
    if !(u64::from(BFQ_MIN_WEIGHT)..=u64::from(BFQ_MAX_WEIGHT)).contains(&v) {
        return Err(Error::ERANGE);
    }
    css.state().inner.lock().bfq_weight = v as u32;
    Ok(())
}

/// `blkio.bfq.weight` (`write_u64`).
fn write_bfq_weight_legacy(_: &Io, ctx: &FileCtxOf<'_, Io>, data: &[u8]) -> Result {
    set_bfq_default(ctx.css(), write_u64_input(data)?)
}

/// `bfq_io_show_weight` (`io.bfq.weight`, `blkio.bfq.weight_device`): `default N`, then
/// `MAJ:MIN N` per device weight.
fn read_bfq_weight(_: &Io, ctx: &FileCtxOf<'_, Io>, out: &mut Out<'_>) -> Result {
    let g = ctx.css().state().inner.lock();
    writeln!(out, "default {}", g.bfq_weight)?;
    for b in g.blkgs.iter().rev().filter(|b| b.bfq_weight != 0) {
        writeln!(out, "{} {}", DevName(b.dev), b.bfq_weight)?;
    }
    Ok(())
}

/// `bfq_io_set_weight`: `strim`, then a whole number (`simple_strtoull(buf, 0)`, any
/// base) or `default N` sets the default (`ERANGE` out of 1..=1000, an empty write too:
/// it reads as 0); else `bfq_io_set_device_weight`: `MAJ:MIN N` (0 is `ERANGE`) or
/// `MAJ:MIN default`, anything else `EINVAL`.
fn write_bfq_weight(_: &Io, ctx: &FileCtxOf<'_, Io>, data: &[u8]) -> Result {
    let css = ctx.css();
    let buf = gpc_core::parse::strstrip(data);
    let (v, end) = simple_strtoull(buf, 0);
    if end.is_empty() {
        return set_bfq_default(css, v);
    }
    if let Some((v, _)) = scan_word_u64(buf, b"default") {
        return set_bfq_default(css, v);
    }
    let (dev, body) = conf_prep(css, buf)?;
    let v = match scan_u64(body) {
        Some((0, _)) => return Err(Error::ERANGE),
        Some((v, _)) => v,
        None if gpc_core::parse::strstrip(body) == b"default" => 0,
        None => return Err(Error::EINVAL),
    };
    if v != 0 && !(u64::from(BFQ_MIN_WEIGHT)..=u64::from(BFQ_MAX_WEIGHT)).contains(&v) {
        return Err(Error::ERANGE);
    }
    with_blkg(css, dev, |b| b.bfq_weight = v as u32);
    Ok(())
}

/// blk-ioprio's `policy_name[]` (block/blk-ioprio.c), `POLICY_NO_CHANGE` first.
const PRIO_POLICIES: [&str; 5] = [
    "no-change",
    "promote-to-rt",
    "restrict-to-be",
    "idle",
    "none-to-rt",
];

/// `ioprio_show_prio_policy` (`blkio.prio.class`, `io.prio.class`).
fn read_prio_class(_: &Io, ctx: &FileCtxOf<'_, Io>, out: &mut Out<'_>) -> Result {
    let policy = ctx.css().state().inner.lock().prio_policy;
    let name = PRIO_POLICIES.get(policy).copied().unwrap_or("no-change");
    writeln!(out, "{name}")
}

/// `ioprio_set_prio_policy`: `sysfs_match_string(policy_name, buf)`, a name as a whole
/// (`sysfs_streq`: one trailing newline ignored), else `EINVAL`. The policy is kept; the
/// model's disks do not order requests by priority, so it changes nothing there.
fn write_prio_class(_: &Io, ctx: &FileCtxOf<'_, Io>, data: &[u8]) -> Result {
    let text = cstr(data);
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    let policy = PRIO_POLICIES
        .iter()
        .position(|p| p.as_bytes() == text)
        .ok_or(Error::EINVAL)?;
    ctx.css().state().inner.lock().prio_policy = policy;
    Ok(())
}

const V2: CfFlags = CfFlags::ONLY_ON_DFL;

static FILES: [CfType<Io>; 20] = [
    // blkcg_legacy_files
    CfType::wo("reset_stats", write_reset_stats),
    // ioprio_legacy_files and ioprio_files: the same file on both versions
    CfType::rw("prio.class", read_prio_class, write_prio_class).with_flags(CfFlags::ON_DFL),
    // throtl_legacy_files
    CfType::rw("throttle.read_bps_device", read_rbps, write_rbps),
    CfType::rw("throttle.write_bps_device", read_wbps, write_wbps),
    CfType::rw("throttle.read_iops_device", read_riops, write_riops),
    CfType::rw("throttle.write_iops_device", read_wiops, write_wiops),
    CfType::ro("throttle.io_service_bytes", read_service_bytes),
    CfType::ro(
        "throttle.io_service_bytes_recursive",
        read_service_bytes_rec,
    ),
    CfType::ro("throttle.io_serviced", read_serviced),
    CfType::ro("throttle.io_serviced_recursive", read_serviced_rec),
    // bfq_blkcg_legacy_files
    CfType::rw(
        "bfq.weight",
        read_bfq_weight_legacy,
        write_bfq_weight_legacy,
    )
    .with_flags(CfFlags::NOT_ON_ROOT),
    CfType::rw("bfq.weight_device", read_bfq_weight, write_bfq_weight)
        .with_flags(CfFlags::NOT_ON_ROOT),
    CfType::ro("bfq.io_service_bytes", read_bfq_service_bytes),
    CfType::ro("bfq.io_serviced", read_bfq_serviced),
    CfType::ro("bfq.io_service_bytes_recursive", read_bfq_service_bytes_rec),
    CfType::ro("bfq.io_serviced_recursive", read_bfq_serviced_rec),
    // blkcg_files, throtl_files, ioc_files, bfq_blkg_files
    CfType::ro("stat", read_stat).with_flags(V2),
    CfType::rw("max", read_max, write_max).with_flags(V2.union(CfFlags::NOT_ON_ROOT)),
    CfType::rw("weight", read_weight, write_weight).with_flags(V2.union(CfFlags::NOT_ON_ROOT)),
    CfType::rw("bfq.weight", read_bfq_weight, write_bfq_weight)
        .with_flags(V2.union(CfFlags::NOT_ON_ROOT)),
];

impl Subsystem for Io {
    type State = State;
    const NAME: &'static str = "io";
    const LEGACY_NAME: &'static str = "blkio";
    // Nothing per task: a bio is charged to the group of the task that issues it.
    const NO_TASK_STATE: bool = true;

    fn files(&self) -> &'static [CfType<Self>] {
        &FILES
    }

    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        let inner = Inner {
            dfl_weight: WEIGHT_DFL,
            bfq_weight: BFQ_DEFAULT_WEIGHT,
            prio_policy: 0,
            blkgs: Vec::new(),
            disks: ArrayVec::new(),
            throttled: ArrayVec::new(),
        };
        Ok(State {
            inner: gpc_core::new_spinlock!(inner, c"io_blkcg")?,
        })
    }

    /// `blkg_destroy`: the group's I/O goes to the parent's blkgs, so that the parent's
    /// recursive figures keep it.
    fn destroy(&self, css: Css<'_, Self>) {
        let Some(parent) = css.parent() else { return };
        let mine: ArrayVec<(u32, Stat, Stat), MAX_BLKGS> = {
            let g = css.state().inner.lock();
            g.blkgs
                .iter()
                .take(MAX_BLKGS)
                .map(|b| {
                    let mut s = b.own;
                    s.add(&b.dead);
                    let mut t = b.thr;
                    t.add(&b.thr_dead);
                    (b.dev, s, t)
                })
                .collect()
        };
        let mut p = parent.state().inner.lock();
        for (dev, s, t) in mine {
            // The parent's blkg exists: a child's is made with its ancestors'.
            if let Some(b) = p.find_mut(dev) {
                b.dead.add(&s);
                b.thr_dead.add(&t);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests;
