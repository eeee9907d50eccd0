//! The `cpu` controller: CFS group weight (`cpu.shares`), idle groups and CFS bandwidth
//! control (quota per period, burst) with their statistics.
//!
//! Follows `kernel/sched/core.c` (torvalds/linux) as of Linux 6.18: `cpu_legacy_files[]`,
//! `cpu_shares_write_u64`, `cpu_idle_write_s64`, `tg_set_bandwidth` (6.17 rework,
//! "sched/core: Reorganize cgroup bandwidth control interface file reads/writes"),
//! `tg_cfs_schedulable_down`/`__cfs_schedulable`, `cpu_cfs_stat_show`,
//! `cpu_cfs_local_stat_show`; and `kernel/sched/fair.c`: `sched_group_set_shares`,
//! `__sched_group_set_shares`, `sched_group_set_idle`.
//!
//! Assumed configuration: `CONFIG_FAIR_GROUP_SCHED` and `CONFIG_CFS_BANDWIDTH` on (every
//! distribution kernel), `CONFIG_RT_GROUP_SCHED` off (so no `cpu.rt_runtime_us` /
//! `cpu.rt_period_us`), `CONFIG_UCLAMP_TASK_GROUP` off (no `cpu.uclamp.min/max`),
//! schedstats off (so `cpu.stat` has no `wait_sum` line).
//!
//! # Files (no `CFTYPE_*` flag: all exist in the root too)
//!
//! | file | mode | read | write |
//! |---|---|---|---|
//! | `cpu.shares` | 0644 | `"%llu\n"`, default 1024 | `write_u64`; values above `ULONG_MAX >> 10` become `MAX_SHARES`, then the value is **clamped** to `2..=262144` (`MIN_SHARES`, `MAX_SHARES`): `0` reads back 2, `1000000` reads back 262144. `EINVAL` in the root (`!tg->se[0]`) and in an idle group (`tg_is_idle`). |
//! | `cpu.idle` | 0644 | `"%lld\n"` 0/1 | `write_s64`: `EINVAL` in the root or for a value other than 0/1. Setting it makes `cpu.shares` read 3 (`WEIGHT_IDLEPRIO`), clearing it resets `cpu.shares` to 1024 (`NICE_0_LOAD`). |
//! | `cpu.cfs_period_us` | 0644 | `"%llu\n"`, default 100000 | `write_u64`, then `tg_set_bandwidth` (below) |
//! | `cpu.cfs_quota_us` | 0644 | `"%lld\n"`, -1 = unlimited (default) | `write_s64`: **any** negative value means unlimited; then `tg_set_bandwidth` |
//! | `cpu.cfs_burst_us` | 0644 | `"%llu\n"`, default 0 | `write_u64`, then `tg_set_bandwidth` |
//! | `cpu.stat` | 0444 | `nr_periods %d`, `nr_throttled %d`, `throttled_time %llu` (ns), `nr_bursts %d`, `burst_time %llu` (ns) | |
//! | `cpu.stat.local` | 0444 | `throttled_time %llu`: ns this group's own run queues were throttled | |
//!
//! `tg_set_bandwidth(period_us, quota_us, burst_us)` checks, in this order, each failing
//! with `EINVAL`: the root group; a value that does not survive the conversion to ns
//! (`> U64_MAX / 1000`, the unlimited quota excepted); quota or period below 1000 µs;
//! period above 1000000 µs; quota above `MAX_BW` = 2^44 - 1 µs; burst above the quota or
//! burst + quota above `MAX_BW` (only with a quota). Then `__cfs_schedulable`: on cgroup v1
//! a group's normalized quota (`to_ratio(period, quota)`, `quota << 20 / period`) may not
//! exceed its nearest limited ancestor's, and a change may not leave any descendant with a
//! larger one (`tg_cfs_schedulable_down`: "On cgroup1, only inherit when no limit is set").
//! Unlimited groups inherit the ancestor's limit.
//!
//! # The unified hierarchy (`cpu_files[]`, all `CFTYPE_NOT_ON_ROOT`)
//!
//! | file | mode | read | write |
//! |---|---|---|---|
//! | `cpu.weight` | 0644 | `"%llu\n"`, `sched_weight_to_cgroup(shares)`: 100 by default | `write_u64`; outside `1..=10000` `ERANGE`; then `sched_group_set_shares(sched_weight_from_cgroup(w))` (`EINVAL` in an idle group) |
//! | `cpu.weight.nice` | 0644 | `"%lld\n"`: the nice value whose `sched_prio_to_weight` entry is nearest the weight (`cpu_weight_nice_read_s64`) | `write_s64`; outside `-20..=19` `ERANGE`; then the table's weight |
//! | `cpu.idle` | 0644 | as on v1 | as on v1 |
//! | `cpu.max` | 0644 | `"max %llu\n"` or `"%llu %llu\n"` (quota, period) | `cpu_period_quota_parse` ([`crate::parse::parse_cpu_max`]), then `tg_set_bandwidth` |
//! | `cpu.max.burst` | 0644 | `"%llu\n"` | `write_u64`, then `tg_set_bandwidth` |
//!
//! `tg_set_bandwidth` checks as on v1, but `__cfs_schedulable` refuses nothing on
//! cgroup2: a child's hierarchical quota is the smaller of its own and its parent's.
//! `cpu.stat` / `cpu.stat.local` are core files there; the controller appends
//! `nr_periods`, `nr_throttled`, `throttled_usec`, `nr_bursts`, `burst_usec` (and
//! `throttled_usec`) through [`Subsystem::extra_stat_show`] /
//! [`Subsystem::local_stat_show`].
//!
//! # The effects
//!
//! The simulator's scheduler reads [`shares`] (the group weight) and [`bandwidth`] (the
//! group's own quota and period; ancestors are limits too, as in Linux, where a throttled
//! ancestor throttles its whole subtree) and reports each enforcement period with
//! [`record_period`] (and a burst with [`record_burst`]), which feed `cpu.stat`. Linux
//! counts `nr_periods`, `nr_throttled` and `nr_bursts` in `int`s printed with `%d`; gpc
//! keeps the same 32-bit wrap-around.
//!
//! # The hierarchy check
//!
//! `__cfs_schedulable` must see every descendant of the group being changed. Only that
//! group and its subtree can change their hierarchical quotas, so only they are checked
//! (the rest was checked when it was set), under the hierarchy lock every file handler
//! runs under: the group's new ratio against its nearest limited ancestor's
//! ([`Css::ancestors_and_self`]), then each limited descendant
//! ([`FileCtxOf::descendants`]) against its parent's hierarchical quota, which is the
//! nearest limited ancestor's ratio, or the changed group's new hierarchical quota when
//! none lies in between (found by walking up; nothing is stored or allocated). Each group
//! keeps its settings under its own small lock, which is all [`bandwidth`] and the
//! scheduler take.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

mod v2;

pub use v2::{weight, CGROUP_WEIGHT_DFL, CGROUP_WEIGHT_MAX, CGROUP_WEIGHT_MIN};

use crate::parse::{write_s64_input, write_u64_input};
use gpc_core::host::lock::IrqSpinLock;
use gpc_core::{CfType, Css, Error, FileCtxOf, Out, Result, Subsystem};

/// `MIN_SHARES` (`kernel/sched/sched.h`).
pub const MIN_SHARES: u64 = 2;
/// `MAX_SHARES` (`kernel/sched/sched.h`): `1 << 18`.
pub const MAX_SHARES: u64 = 1 << 18;
/// `NICE_0_LOAD` scaled down: the default `cpu.shares`.
pub const DEFAULT_SHARES: u64 = 1024;
/// `WEIGHT_IDLEPRIO` (`kernel/sched/sched.h`): the weight of an idle group.
pub const WEIGHT_IDLEPRIO: u64 = 3;
/// `SCHED_FIXEDPOINT_SHIFT`: `scale_load()` on 64-bit kernels.
const SCHED_FIXEDPOINT_SHIFT: u32 = 10;

/// `default_bw_period_us()`: 100 ms.
pub const DEFAULT_PERIOD_US: u64 = 100_000;
/// `min_bw_quota_period_us`: 1 ms.
pub const MIN_QUOTA_PERIOD_US: u64 = 1_000;
/// `max_bw_quota_period_us`: 1 s.
pub const MAX_PERIOD_US: u64 = 1_000_000;
/// `BW_SHIFT` (`kernel/sched/sched.h`).
const BW_SHIFT: u32 = 20;
/// `MAX_BW` = `(1 << (64 - BW_SHIFT)) - 1`: the largest quota and quota + burst, in µs.
pub const MAX_BW_US: u64 = (1 << (64 - BW_SHIFT)) - 1;
/// `RUNTIME_INF` (`(u64)~0ULL`): no quota.
const RUNTIME_INF: u64 = u64::MAX;
/// `NSEC_PER_USEC`.
const NSEC_PER_USEC: u64 = 1_000;

/// The `cpu` controller (Linux `cpu_cgrp_subsys`).
pub struct Cpu;

/// A group's bandwidth settings, in µs (`struct cfs_bandwidth` seen through
/// `tg_bandwidth()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bandwidth {
    period_us: u64,
    /// [`RUNTIME_INF`] is unlimited.
    quota_us: u64,
    burst_us: u64,
}

impl Bandwidth {
    const DEFAULT: Bandwidth = Bandwidth {
        period_us: DEFAULT_PERIOD_US,
        quota_us: RUNTIME_INF,
        burst_us: 0,
    };

    /// `normalize_cfs_quota`: the quota as a fraction of the period in `BW_SHIFT` fixed
    /// point, `None` when unlimited.
    fn ratio(self) -> Option<u64> {
        if self.quota_us == RUNTIME_INF {
            return None;
        }
        // to_ratio(): `div64_u64(runtime << BW_SHIFT, period)`; `period == 0` gives 0.
        // The quota is at most MAX_BW (2^44 - 1), so the shift cannot lose bits.
        Some(
            (self.quota_us << BW_SHIFT)
                .checked_div(self.period_us)
                .unwrap_or(0),
        )
    }
}

/// Per-container state (Linux `struct task_group` as far as cgroup v1 shows it).
pub struct State {
    /// `scale_load_down(tg->shares)`.
    shares: AtomicU64,
    /// `tg->idle`.
    idle: AtomicBool,
    /// The bandwidth settings.
    bw: IrqSpinLock<Bandwidth>,
    /// `cfs_b->nr_periods` (an `int` in Linux).
    nr_periods: AtomicU32,
    /// `cfs_b->nr_throttled`.
    nr_throttled: AtomicU32,
    /// `cfs_b->throttled_time`, ns.
    throttled_time: AtomicU64,
    /// `throttled_clock_self_time` summed over CPUs, ns (`cpu.stat.local`).
    throttled_self: AtomicU64,
    /// `cfs_b->nr_burst`.
    nr_bursts: AtomicU32,
    /// `cfs_b->burst_time`, ns.
    burst_time: AtomicU64,
}

impl State {
    /// # Errors
    ///
    /// `ENOMEM` for the lock.
    fn new() -> Result<Self> {
        Ok(State {
            shares: AtomicU64::new(DEFAULT_SHARES),
            idle: AtomicBool::new(false),
            // Irq-safe: the scheduler reads the bandwidth with interrupts off (Linux
            // `cfs_b->lock` is a raw spinlock taken under the runqueue lock).
            bw: gpc_core::new_irq_spinlock!(Bandwidth::DEFAULT, c"cpu_bandwidth")?,
            nr_periods: AtomicU32::new(0),
            nr_throttled: AtomicU32::new(0),
            throttled_time: AtomicU64::new(0),
            throttled_self: AtomicU64::new(0),
            nr_bursts: AtomicU32::new(0),
            burst_time: AtomicU64::new(0),
        })
    }
}

/// The group's weight as `cpu.shares` shows it (`scale_load_down(tg->shares)`): 2 to
/// 262144, 1024 by default, 3 for an idle group.
pub fn shares(css: Css<'_, Cpu>) -> u64 {
    css.state().shares.load(Ordering::Relaxed)
}

/// Whether the group is idle (`cpu.idle`, `SCHED_IDLE` group).
pub fn is_idle(css: Css<'_, Cpu>) -> bool {
    css.state().idle.load(Ordering::Relaxed)
}

/// The group's own bandwidth limit as `(quota_us, period_us)`, `None` when its quota is
/// unlimited. Ancestors' limits apply too (walk [`Css::ancestors_and_self`]).
pub fn bandwidth(css: Css<'_, Cpu>) -> Option<(u64, u64)> {
    let bw = *css.state().bw.lock();
    (bw.quota_us != RUNTIME_INF).then_some((bw.quota_us, bw.period_us))
}

/// The group's burst allowance in µs (`cpu.cfs_burst_us`).
pub fn burst(css: Css<'_, Cpu>) -> u64 {
    css.state().bw.lock().burst_us
}

/// One bandwidth enforcement period of the group ended (`sched_cfs_period_timer` →
/// `do_sched_cfs_period_timer`): count it in `nr_periods`, and if the group was throttled
/// in it, in `nr_throttled`, adding `throttled_ns` to `throttled_time` (and to the
/// group's own `cpu.stat.local` throttled time).
pub fn record_period(css: Css<'_, Cpu>, throttled: bool, throttled_ns: u64) {
    let st = css.state();
    st.nr_periods.fetch_add(1, Ordering::Relaxed);
    if throttled {
        st.nr_throttled.fetch_add(1, Ordering::Relaxed);
        st.throttled_time.fetch_add(throttled_ns, Ordering::Relaxed);
        st.throttled_self.fetch_add(throttled_ns, Ordering::Relaxed);
    }
}

/// `times` alike bandwidth periods of the group ended: [`record_period`] `times` times
/// at once (a long run's steady state closes millions of them). The counters wrap as
/// the one-by-one additions would (`nr_periods` and `nr_throttled` are `int`s in Linux).
pub fn record_periods(css: Css<'_, Cpu>, times: u64, throttled: bool, throttled_ns: u64) {
    let st = css.state();
    // Truncating is adding modulo 2^32, which is what `times` wrapping adds give.
    let count = times as u32;
    st.nr_periods.fetch_add(count, Ordering::Relaxed);
    if throttled {
        let ns = throttled_ns.wrapping_mul(times);
        st.nr_throttled.fetch_add(count, Ordering::Relaxed);
        st.throttled_time.fetch_add(ns, Ordering::Relaxed);
        st.throttled_self.fetch_add(ns, Ordering::Relaxed);
    }
}

/// The group ran `burst_ns` beyond its quota in a period, using its burst allowance
/// (`__refill_cfs_bandwidth_runtime`: `nr_burst`, `burst_time`).
pub fn record_burst(css: Css<'_, Cpu>, burst_ns: u64) {
    let st = css.state();
    st.nr_bursts.fetch_add(1, Ordering::Relaxed);
    st.burst_time.fetch_add(burst_ns, Ordering::Relaxed);
}

/// `__sched_group_set_shares`: clamp a `scale_load()`ed weight and store it scaled down.
fn set_shares_scaled(st: &State, scaled: u64) {
    let clamped = scaled.clamp(
        MIN_SHARES << SCHED_FIXEDPOINT_SHIFT,
        MAX_SHARES << SCHED_FIXEDPOINT_SHIFT,
    );
    st.shares
        .store(clamped >> SCHED_FIXEDPOINT_SHIFT, Ordering::Relaxed);
}

fn read_shares(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", shares(ctx.css()))
}

/// `cpu_shares_write_u64` → `sched_group_set_shares`.
fn write_shares(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, buf: &[u8]) -> Result {
    let mut val = write_u64_input(buf)?;
    // "if (shareval > scale_load_down(ULONG_MAX)) shareval = MAX_SHARES;"
    if val > u64::MAX >> SCHED_FIXEDPOINT_SHIFT {
        val = MAX_SHARES;
    }
    sched_group_set_shares(ctx.css(), val << SCHED_FIXEDPOINT_SHIFT)
}

/// `sched_group_set_shares` (`kernel/sched/fair.c`) of a `scale_load()`ed weight: an
/// idle group's weight is fixed, the root has no entity (`!tg->se[0]`), both `EINVAL`.
fn sched_group_set_shares(css: Css<'_, Cpu>, scaled: u64) -> Result {
    if is_idle(css) || css.is_root() {
        return Err(Error::EINVAL);
    }
    set_shares_scaled(css.state(), scaled);
    Ok(())
}

fn read_idle(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", u8::from(is_idle(ctx.css())))
}

/// `cpu_idle_write_s64` → `sched_group_set_idle`.
fn write_idle(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, buf: &[u8]) -> Result {
    let val = write_s64_input(buf)?;
    let css = ctx.css();
    if css.is_root() || !(0..=1).contains(&val) {
        return Err(Error::EINVAL);
    }
    let idle = val == 1;
    let st = css.state();
    if st.idle.swap(idle, Ordering::Relaxed) == idle {
        return Ok(());
    }
    // "Idle groups have minimum weight."
    let w = if idle {
        WEIGHT_IDLEPRIO
    } else {
        DEFAULT_SHARES
    };
    set_shares_scaled(st, w << SCHED_FIXEDPOINT_SHIFT);
    Ok(())
}

fn read_period(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, out: &mut Out<'_>) -> Result {
    let bw = *ctx.css().state().bw.lock();
    writeln!(out, "{}", bw.period_us)
}

fn read_quota(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, out: &mut Out<'_>) -> Result {
    let bw = *ctx.css().state().bw.lock();
    // "(s64)RUNTIME_INF becomes -1"
    writeln!(out, "{}", bw.quota_us as i64)
}

fn read_burst(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, out: &mut Out<'_>) -> Result {
    let bw = *ctx.css().state().bw.lock();
    writeln!(out, "{}", bw.burst_us)
}

/// The checks of `tg_set_bandwidth` that need nothing but the values.
fn check_values(bw: Bandwidth) -> Result {
    let max_usec = u64::MAX / NSEC_PER_USEC;
    let limited = bw.quota_us != RUNTIME_INF;
    // "Values should survive translation to nsec"
    if bw.period_us > max_usec || (limited && bw.quota_us > max_usec) || bw.burst_us > max_usec {
        return Err(Error::EINVAL);
    }
    // "Ensure we have some amount of bandwidth every period."
    if bw.quota_us < MIN_QUOTA_PERIOD_US || bw.period_us < MIN_QUOTA_PERIOD_US {
        return Err(Error::EINVAL);
    }
    // "bound things on the other side by preventing insane quota periods"
    if bw.period_us > MAX_PERIOD_US {
        return Err(Error::EINVAL);
    }
    // "Bound quota to defend quota against overflow during bandwidth shift."
    if limited && bw.quota_us > MAX_BW_US {
        return Err(Error::EINVAL);
    }
    if limited && (bw.burst_us > bw.quota_us || bw.burst_us + bw.quota_us > MAX_BW_US) {
        return Err(Error::EINVAL);
    }
    Ok(())
}

/// `tg_cfs_schedulable_down` on cgroup v1: a group's hierarchical quota from its own
/// ratio (`None`: unlimited) and its parent's hierarchical quota. "On cgroup1, only
/// inherit when no limit is set"; a limit above the parent's is `EINVAL`.
fn hierarchical_quota(ratio: Option<u64>, parent_hq: Option<u64>) -> Result<Option<u64>> {
    match (ratio, parent_hq) {
        (Some(r), Some(p)) if r > p => Err(Error::EINVAL),
        (Some(r), _) => Ok(Some(r)),
        (None, p) => Ok(p),
    }
}

/// The group's own ratio (`None`: unlimited).
fn ratio_of(css: Css<'_, Cpu>) -> Option<u64> {
    css.state().bw.lock().ratio()
}

/// `__cfs_schedulable` on cgroup v1: with the handler's group set to `bw`, every group's
/// ratio must stay within its nearest limited ancestor's. Only the group and its subtree
/// can change, so only they are checked (the rest was checked when it was set).
fn cfs_schedulable(ctx: &FileCtxOf<'_, Cpu>, bw: Bandwidth) -> Result {
    // tg_cfs_schedulable_down: "On cgroup2, always take the non-RUNTIME_INF min": a
    // child's hierarchical quota is capped by its parent's, nothing is refused. The
    // cap needs no bookkeeping: a throttled ancestor throttles its whole subtree, which
    // is how the scheduler ([`bandwidth`] of every level) enforces it on both versions.
    if ctx.on_dfl() {
        return Ok(());
    }
    let css = ctx.css();
    let parent = ctx.parent().ok_or(Error::EINVAL)?;
    // The parent's hierarchical quota: its own ratio, or its nearest limited ancestor's.
    let hp = parent.ancestors_and_self().find_map(ratio_of);
    let mine = hierarchical_quota(bw.ratio(), hp)?;
    // Each descendant, parents before children (as `walk_tg_tree_from`). Its parent's
    // hierarchical quota is that of its nearest limited ancestor below `css` (whose own
    // check comes first in the walk), or `mine` when there is none. Unlimited
    // descendants only inherit, so they cannot fail.
    for d in ctx.descendants() {
        let Some(r) = ratio_of(d) else { continue };
        let mut parent_hq = None;
        for a in d.ancestors_and_self().skip(1) {
            if a.same(css) {
                parent_hq = mine;
                break;
            }
            if let Some(ar) = ratio_of(a) {
                parent_hq = Some(ar);
                break;
            }
        }
        hierarchical_quota(Some(r), parent_hq)?;
    }
    Ok(())
}

/// `tg_set_bandwidth` (then `tg_set_cfs_bandwidth` → `__cfs_schedulable`).
fn set_bandwidth(ctx: &FileCtxOf<'_, Cpu>, change: impl FnOnce(&mut Bandwidth)) -> Result {
    let css = ctx.css();
    let st = css.state();
    let mut bw = *st.bw.lock();
    change(&mut bw);
    if css.is_root() {
        return Err(Error::EINVAL);
    }
    check_values(bw)?;
    cfs_schedulable(ctx, bw)?;
    *st.bw.lock() = bw;
    Ok(())
}

/// `cpu_period_write_u64`.
fn write_period(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, buf: &[u8]) -> Result {
    let period = write_u64_input(buf)?;
    set_bandwidth(ctx, |bw| bw.period_us = period)
}

/// `cpu_quota_write_s64`: a negative quota is `RUNTIME_INF`.
fn write_quota(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, buf: &[u8]) -> Result {
    let quota = write_s64_input(buf)?;
    let quota = u64::try_from(quota).unwrap_or(RUNTIME_INF);
    set_bandwidth(ctx, |bw| bw.quota_us = quota)
}

/// `cpu_burst_write_u64`.
fn write_burst(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, buf: &[u8]) -> Result {
    let burst = write_u64_input(buf)?;
    set_bandwidth(ctx, |bw| bw.burst_us = burst)
}

/// `cpu_cfs_stat_show` (schedstats off: no `wait_sum`).
fn read_stat(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, out: &mut Out<'_>) -> Result {
    let st = ctx.css().state();
    writeln!(
        out,
        "nr_periods {}\nnr_throttled {}\nthrottled_time {}\nnr_bursts {}\nburst_time {}",
        st.nr_periods.load(Ordering::Relaxed) as i32,
        st.nr_throttled.load(Ordering::Relaxed) as i32,
        st.throttled_time.load(Ordering::Relaxed),
        st.nr_bursts.load(Ordering::Relaxed) as i32,
        st.burst_time.load(Ordering::Relaxed),
    )
}

/// `cpu_cfs_local_stat_show`.
fn read_stat_local(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, out: &mut Out<'_>) -> Result {
    writeln!(
        out,
        "throttled_time {}",
        ctx.css().state().throttled_self.load(Ordering::Relaxed)
    )
}

/// The files, in Linux's order: `cpu_legacy_files[]` (v1 only), then `cpu_files[]`
/// (v2 only, all `CFTYPE_NOT_ON_ROOT`; `cpu.stat` and `cpu.stat.local` are the core's
/// there, which append [`Cpu`]'s `extra_stat_show` / `local_stat_show`).
static FILES: [CfType<Cpu>; 12] = [
    CfType::rw("shares", read_shares, write_shares),
    CfType::rw("idle", read_idle, write_idle),
    CfType::rw("cfs_period_us", read_period, write_period),
    CfType::rw("cfs_quota_us", read_quota, write_quota),
    CfType::rw("cfs_burst_us", read_burst, write_burst),
    CfType::ro("stat", read_stat),
    CfType::ro("stat.local", read_stat_local),
    // cpu_files[]
    CfType::rw("weight", v2::read_weight, v2::write_weight).with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::rw("weight.nice", v2::read_weight_nice, v2::write_weight_nice)
        .with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::rw("idle", read_idle, write_idle).with_flags(v2::DFL_NOT_ON_ROOT),
    CfType::rw("max", v2::read_max, v2::write_max).with_flags(v2::DFL_NOT_ON_ROOT),
    // cpu_burst_read_u64 / cpu_burst_write_u64, as cpu.cfs_burst_us.
    CfType::rw("max.burst", read_burst, write_burst).with_flags(v2::DFL_NOT_ON_ROOT),
];

impl Subsystem for Cpu {
    type State = State;
    const NAME: &'static str = "cpu";

    fn files(&self) -> &'static [CfType<Self>] {
        &FILES
    }

    /// `sched_create_group` + `alloc_fair_sched_group` + `init_cfs_bandwidth`: weight
    /// 1024, not idle, unlimited with a 100 ms period, no burst.
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        State::new()
    }

    /// `cpu_extra_stat_show`: the bandwidth lines of the unified `cpu.stat`.
    fn extra_stat_show(&self, css: Css<'_, Self>, out: &mut Out<'_>) -> Result {
        v2::extra_stat_show(css, out)
    }

    /// `cpu_local_stat_show`: the line of the unified `cpu.stat.local`.
    fn local_stat_show(&self, css: Css<'_, Self>, out: &mut Out<'_>) -> Result {
        v2::local_stat_show(css, out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use std::string::String;
    use std::vec::Vec;

    use gpc_core::testing::OneHierarchy;

    use super::*;

    gpc_core::one_hierarchy_harness!(World);

    impl World {
        fn new() -> World {
            World(OneHierarchy::new(&[&Cpu], "cpu", 2, 1).unwrap())
        }

        fn with<R>(&self, path: &str, f: impl FnOnce(Css<'_, Cpu>) -> R) -> R {
            let ss = self.gpc.subsys_id("cpu").unwrap();
            self.gpc
                .with_container_css(self.h, path, ss, |c| f(c.typed::<Cpu>().unwrap()))
                .unwrap()
        }
    }

    const CPU_FILES: [&str; 7] = [
        "cpu.cfs_burst_us",
        "cpu.cfs_period_us",
        "cpu.cfs_quota_us",
        "cpu.idle",
        "cpu.shares",
        "cpu.stat",
        "cpu.stat.local",
    ];

    #[test]
    fn files_modes_and_defaults() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        for dir in ["", "a"] {
            let names = w.ls(dir);
            for f in CPU_FILES {
                assert!(names.iter().any(|n| n == f), "{dir}: {f}");
            }
        }
        let modes: Vec<u16> = FILES[..7]
            .iter()
            .map(|f| gpc_core::files::file_mode(f.read.is_some(), f.write.is_some()))
            .collect();
        assert_eq!(modes, [0o644, 0o644, 0o644, 0o644, 0o644, 0o444, 0o444]);
        for dir in ["", "a/"] {
            assert_eq!(w.read(&std::format!("{dir}cpu.shares")).unwrap(), "1024\n");
            assert_eq!(w.read(&std::format!("{dir}cpu.idle")).unwrap(), "0\n");
            assert_eq!(
                w.read(&std::format!("{dir}cpu.cfs_period_us")).unwrap(),
                "100000\n"
            );
            assert_eq!(
                w.read(&std::format!("{dir}cpu.cfs_quota_us")).unwrap(),
                "-1\n"
            );
            assert_eq!(
                w.read(&std::format!("{dir}cpu.cfs_burst_us")).unwrap(),
                "0\n"
            );
            assert_eq!(
                w.read(&std::format!("{dir}cpu.stat")).unwrap(),
                "nr_periods 0\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\nburst_time 0\n"
            );
            assert_eq!(
                w.read(&std::format!("{dir}cpu.stat.local")).unwrap(),
                "throttled_time 0\n"
            );
        }
        w.with("a", |c| {
            assert_eq!(shares(c), 1024);
            assert_eq!(bandwidth(c), None);
            assert_eq!(burst(c), 0);
            assert!(!is_idle(c));
        });
    }

    #[test]
    fn shares_clamp_and_parse() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        for (input, expect) in [
            (&b"512\n"[..], "512"),
            (b"0", "2"),
            (b"1", "2"),
            (b"2", "2"),
            (b"3", "3"),
            (b"262144", "262144"),
            (b"262145", "262144"),
            (b"1000000", "262144"),
            (b"18014398509481983", "262144"),
            (b"18014398509481984", "262144"),
            (b"18446744073709551615", "262144"),
            (b"0x400", "1024"),
            (b"010", "8"),
            (b"+100", "100"),
            (b"7\0garbage", "7"),
        ] {
            w.write("a/cpu.shares", input).unwrap();
            assert_eq!(
                w.read("a/cpu.shares").unwrap(),
                std::format!("{expect}\n"),
                "{input:?}"
            );
        }
        for bad in [
            &b"\n"[..],
            b" 5",
            b"5 ",
            b"5\n\n",
            b"-1",
            b"1 2",
            b"abc",
            b"0x",
            b"1e3",
        ] {
            assert_eq!(w.write("a/cpu.shares", bad), Err(Error::EINVAL), "{bad:?}");
        }
        assert_eq!(
            w.write("a/cpu.shares", b"18446744073709551616"),
            Err(Error::ERANGE)
        );
        assert_eq!(w.read("a/cpu.shares").unwrap(), "7\n");
        // The root's weight cannot change.
        assert_eq!(w.write("cpu.shares", b"512"), Err(Error::EINVAL));
        assert_eq!(w.read("cpu.shares").unwrap(), "1024\n");
    }

    #[test]
    fn idle_groups() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.write("a/cpu.shares", b"100").unwrap();
        for bad in [&b"2"[..], b"-1", b"9223372036854775807", b" 1", b"\n"] {
            assert_eq!(w.write("a/cpu.idle", bad), Err(Error::EINVAL), "{bad:?}");
        }
        assert_eq!(
            w.write("a/cpu.idle", b"9223372036854775808"),
            Err(Error::ERANGE)
        );
        assert_eq!(
            w.write("a/cpu.idle", b"-9223372036854775809"),
            Err(Error::ERANGE)
        );
        assert_eq!(w.write("cpu.idle", b"1"), Err(Error::EINVAL));
        assert_eq!(w.write("cpu.idle", b"0"), Err(Error::EINVAL));
        // Writing the current value changes nothing (the weight stays 100).
        w.write("a/cpu.idle", b"0").unwrap();
        assert_eq!(w.read("a/cpu.shares").unwrap(), "100\n");
        w.write("a/cpu.idle", b"1\n").unwrap();
        assert_eq!(w.read("a/cpu.idle").unwrap(), "1\n");
        assert_eq!(w.read("a/cpu.shares").unwrap(), "3\n");
        assert_eq!(w.write("a/cpu.shares", b"100"), Err(Error::EINVAL));
        w.with("a", |c| assert!(is_idle(c) && shares(c) == 3));
        w.write("a/cpu.idle", b"0x0").unwrap();
        assert_eq!(w.read("a/cpu.shares").unwrap(), "1024\n");
        w.write("a/cpu.shares", b"100").unwrap();
    }

    #[test]
    fn quota_period_burst_rules() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        // Root: always EINVAL (after parsing).
        assert_eq!(w.write("cpu.cfs_quota_us", b"50000"), Err(Error::EINVAL));
        assert_eq!(w.write("cpu.cfs_quota_us", b"-1"), Err(Error::EINVAL));
        assert_eq!(w.write("cpu.cfs_period_us", b"100000"), Err(Error::EINVAL));
        assert_eq!(w.write("cpu.cfs_burst_us", b"0"), Err(Error::EINVAL));
        assert_eq!(w.write("cpu.cfs_quota_us", b"x"), Err(Error::EINVAL));
        // Quota.
        w.write("a/cpu.cfs_quota_us", b"50000\n").unwrap();
        assert_eq!(w.read("a/cpu.cfs_quota_us").unwrap(), "50000\n");
        w.with("a", |c| assert_eq!(bandwidth(c), Some((50_000, 100_000))));
        assert_eq!(w.write("a/cpu.cfs_quota_us", b"999"), Err(Error::EINVAL));
        assert_eq!(w.write("a/cpu.cfs_quota_us", b"0"), Err(Error::EINVAL));
        w.write("a/cpu.cfs_quota_us", b"1000").unwrap();
        w.write("a/cpu.cfs_quota_us", b"17592186044415").unwrap();
        assert_eq!(
            w.write("a/cpu.cfs_quota_us", b"17592186044416"),
            Err(Error::EINVAL)
        );
        assert_eq!(
            w.write("a/cpu.cfs_quota_us", b"9223372036854775807"),
            Err(Error::EINVAL)
        );
        assert_eq!(
            w.write("a/cpu.cfs_quota_us", b"9223372036854775808"),
            Err(Error::ERANGE)
        );
        assert_eq!(w.write("a/cpu.cfs_quota_us", b" 5000"), Err(Error::EINVAL));
        assert_eq!(w.read("a/cpu.cfs_quota_us").unwrap(), "17592186044415\n");
        // Any negative value is unlimited.
        w.write("a/cpu.cfs_quota_us", b"-5").unwrap();
        assert_eq!(w.read("a/cpu.cfs_quota_us").unwrap(), "-1\n");
        w.write("a/cpu.cfs_quota_us", b"-9223372036854775808")
            .unwrap();
        assert_eq!(w.read("a/cpu.cfs_quota_us").unwrap(), "-1\n");
        w.with("a", |c| assert_eq!(bandwidth(c), None));
        // Period.
        assert_eq!(w.write("a/cpu.cfs_period_us", b"999"), Err(Error::EINVAL));
        assert_eq!(
            w.write("a/cpu.cfs_period_us", b"1000001"),
            Err(Error::EINVAL)
        );
        assert_eq!(
            w.write("a/cpu.cfs_period_us", b"18446744073709551615"),
            Err(Error::EINVAL)
        );
        assert_eq!(w.write("a/cpu.cfs_period_us", b"-1"), Err(Error::EINVAL));
        w.write("a/cpu.cfs_period_us", b"1000").unwrap();
        w.write("a/cpu.cfs_period_us", b"1000000").unwrap();
        assert_eq!(w.read("a/cpu.cfs_period_us").unwrap(), "1000000\n");
        // Burst: up to the quota, and quota + burst up to MAX_BW; anything with no quota.
        w.write("a/cpu.cfs_burst_us", b"5000000").unwrap();
        assert_eq!(w.read("a/cpu.cfs_burst_us").unwrap(), "5000000\n");
        assert_eq!(
            w.write("a/cpu.cfs_quota_us", b"4000000"),
            Err(Error::EINVAL)
        );
        w.write("a/cpu.cfs_quota_us", b"5000000").unwrap();
        assert_eq!(
            w.write("a/cpu.cfs_burst_us", b"5000001"),
            Err(Error::EINVAL)
        );
        w.write("a/cpu.cfs_burst_us", b"0").unwrap();
        w.write("a/cpu.cfs_quota_us", b"17592186044415").unwrap();
        assert_eq!(w.write("a/cpu.cfs_burst_us", b"1"), Err(Error::EINVAL));
        w.write("a/cpu.cfs_quota_us", b"-1").unwrap();
        assert_eq!(w.write("a/cpu.cfs_burst_us", b"18446744073709551"), Ok(()));
        assert_eq!(
            w.write("a/cpu.cfs_burst_us", b"18446744073709552"),
            Err(Error::EINVAL)
        );
        assert_eq!(
            w.write("a/cpu.cfs_burst_us", b"18446744073709551616"),
            Err(Error::ERANGE)
        );
        w.with("a", |c| assert_eq!(burst(c), 18_446_744_073_709_551));
    }

    #[test]
    fn hostile_writes_change_nothing() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.write("a/cpu.cfs_quota_us", b"50000").unwrap();
        let files = [
            "shares",
            "idle",
            "cfs_period_us",
            "cfs_quota_us",
            "cfs_burst_us",
        ];
        let before: Vec<String> = files
            .iter()
            .map(|f| w.read(&std::format!("a/cpu.{f}")).unwrap())
            .collect();
        for f in files {
            let path = std::format!("a/cpu.{f}");
            for bad in [
                &b"\n"[..],
                b" ",
                b"1 2",
                b"1\n2",
                b"1\n\n",
                b"5000x",
                b"--1",
                b"+-1",
                b"0x",
                b"\t1000",
                b"1000 ",
            ] {
                assert_eq!(w.write(&path, bad), Err(Error::EINVAL), "{f} {bad:?}");
            }
            for huge in [
                &b"18446744073709551616"[..],
                b"99999999999999999999999999999",
            ] {
                assert_eq!(w.write(&path, huge), Err(Error::ERANGE), "{f} {huge:?}");
            }
            // The empty write is the core's no-op.
            assert_eq!(w.write(&path, b""), Ok(()));
        }
        let after: Vec<String> = files
            .iter()
            .map(|f| w.read(&std::format!("a/cpu.{f}")).unwrap())
            .collect();
        assert_eq!(before, after);
    }

    #[test]
    fn hierarchy_of_quotas() {
        let w = World::new();
        w.gpc.mkdir(w.h, "p").unwrap();
        w.gpc.mkdir(w.h, "p/c").unwrap();
        w.gpc.mkdir(w.h, "p/c/g").unwrap();
        w.write("p/cpu.cfs_quota_us", b"50000").unwrap(); // 0.5 CPU
                                                          // A child may not get more than the parent...
        assert_eq!(
            w.write("p/c/cpu.cfs_quota_us", b"60000"),
            Err(Error::EINVAL)
        );
        // ... nor may an unlimited child's child.
        assert_eq!(
            w.write("p/c/g/cpu.cfs_quota_us", b"60000"),
            Err(Error::EINVAL)
        );
        w.write("p/c/g/cpu.cfs_quota_us", b"50000").unwrap();
        // The ratio counts, not the quota: 25000/50000 = 0.5 is fine, 25001 is not.
        w.write("p/c/cpu.cfs_period_us", b"50000").unwrap();
        w.write("p/c/cpu.cfs_quota_us", b"25000").unwrap();
        assert_eq!(
            w.write("p/c/cpu.cfs_quota_us", b"25001"),
            Err(Error::EINVAL)
        );
        // g (0.5) is now within c (0.5); shrinking c below g fails.
        assert_eq!(
            w.write("p/c/cpu.cfs_quota_us", b"20000"),
            Err(Error::EINVAL)
        );
        assert_eq!(
            w.write("p/c/cpu.cfs_period_us", b"60000"),
            Err(Error::EINVAL)
        );
        // Shrinking p below c (or below g through an unlimited c) fails too.
        assert_eq!(w.write("p/cpu.cfs_quota_us", b"40000"), Err(Error::EINVAL));
        w.write("p/c/cpu.cfs_quota_us", b"-1").unwrap();
        assert_eq!(w.write("p/cpu.cfs_quota_us", b"40000"), Err(Error::EINVAL));
        w.write("p/c/g/cpu.cfs_quota_us", b"-1").unwrap();
        w.write("p/cpu.cfs_quota_us", b"40000").unwrap();
        assert_eq!(w.read("p/cpu.cfs_quota_us").unwrap(), "40000\n");
        // Unlimited parent: anything goes below.
        w.write("p/cpu.cfs_quota_us", b"-1").unwrap();
        w.write("p/c/cpu.cfs_quota_us", b"1000000").unwrap();
        // Removing and re-making groups keeps the tree consistent.
        w.gpc.rmdir(w.h, "p/c/g").unwrap();
        w.gpc.rmdir(w.h, "p/c").unwrap();
        w.write("p/cpu.cfs_quota_us", b"1000").unwrap();
        w.gpc.mkdir(w.h, "p/c").unwrap();
        assert_eq!(w.read("p/c/cpu.cfs_quota_us").unwrap(), "-1\n");
        assert_eq!(w.write("p/c/cpu.cfs_quota_us", b"2000"), Err(Error::EINVAL));
        w.write("p/c/cpu.cfs_quota_us", b"1000").unwrap();
    }

    #[test]
    fn stats_from_the_scheduler() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.with("a", |c| {
            record_period(c, false, 0);
            record_period(c, true, 1500);
            record_period(c, true, 500);
            record_burst(c, 77);
        });
        assert_eq!(
            w.read("a/cpu.stat").unwrap(),
            "nr_periods 3\nnr_throttled 2\nthrottled_time 2000\nnr_bursts 1\nburst_time 77\n"
        );
        assert_eq!(w.read("a/cpu.stat.local").unwrap(), "throttled_time 2000\n");
        assert_eq!(w.write("a/cpu.stat", b"0"), Err(Error::EINVAL));
        // `int` counters wrap like Linux's.
        w.with("a", |c| {
            c.state()
                .nr_periods
                .store(i32::MAX as u32, Ordering::Relaxed)
        });
        w.with("a", |c| record_period(c, false, 0));
        assert!(w
            .read("a/cpu.stat")
            .unwrap()
            .starts_with("nr_periods -2147483648\n"));
    }

    #[test]
    fn periods_in_bulk_count_as_one_by_one() {
        let w = World::new();
        for d in ["one", "bulk"] {
            w.gpc.mkdir(w.h, d).unwrap();
        }
        w.with("one", |c| {
            for _ in 0..3 {
                record_period(c, true, 1500);
            }
            record_period(c, false, 0);
        });
        w.with("bulk", |c| {
            record_periods(c, 3, true, 1500);
            record_periods(c, 1, false, 0);
            record_periods(c, 0, true, 99);
        });
        assert_eq!(
            w.read("bulk/cpu.stat").unwrap(),
            w.read("one/cpu.stat").unwrap()
        );
        assert_eq!(
            w.read("bulk/cpu.stat.local").unwrap(),
            w.read("one/cpu.stat.local").unwrap()
        );
        // 2^32 + 1 periods wrap the `int` counters as 2^32 + 1 additions would.
        w.with("bulk", |c| record_periods(c, (1 << 32) + 1, true, 1));
        assert!(w
            .read("bulk/cpu.stat")
            .unwrap()
            .starts_with("nr_periods 5\nnr_throttled 4\nthrottled_time 4294971797\n"));
    }

    #[test]
    fn tree_walk_and_removal() {
        // The shape the old private tree's test used: root -> a -> b -> d, root -> c.
        let w = World::new();
        for d in ["a", "a/b", "a/b/d", "c"] {
            w.gpc.mkdir(w.h, d).unwrap();
        }
        w.write("a/b/d/cpu.cfs_quota_us", b"50000").unwrap();
        // The walk from a reaches the grandchild d through the unlimited b...
        assert_eq!(w.write("a/cpu.cfs_quota_us", b"40000"), Err(Error::EINVAL));
        // ... and the walk from b (a leaf's parent) too.
        assert_eq!(
            w.write("a/b/cpu.cfs_quota_us", b"40000"),
            Err(Error::EINVAL)
        );
        // A sibling branch is not part of the walk.
        w.write("c/cpu.cfs_quota_us", b"1000").unwrap();
        // A walk from a leaf has nothing below it.
        w.write("a/b/d/cpu.cfs_quota_us", b"1000000").unwrap();
        w.write("a/b/d/cpu.cfs_quota_us", b"50000").unwrap();
        w.write("a/cpu.cfs_quota_us", b"60000").unwrap();
        // b is held by a above it and by d below it.
        assert_eq!(
            w.write("a/b/cpu.cfs_quota_us", b"70000"),
            Err(Error::EINVAL)
        );
        w.write("a/b/cpu.cfs_quota_us", b"55000").unwrap();
        assert_eq!(
            w.write("a/b/cpu.cfs_quota_us", b"45000"),
            Err(Error::EINVAL)
        );
        // The nearest limit counts: with b at 0.55, a may not go below b, even though d
        // (0.5) would fit.
        assert_eq!(w.write("a/cpu.cfs_quota_us", b"52000"), Err(Error::EINVAL));
        w.write("a/cpu.cfs_quota_us", b"55000").unwrap();
        // Removing the subtree forgets its limits.
        w.gpc.rmdir(w.h, "a/b/d").unwrap();
        w.gpc.rmdir(w.h, "a/b").unwrap();
        w.write("a/cpu.cfs_quota_us", b"1000").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        assert_eq!(w.read("a/b/cpu.cfs_quota_us").unwrap(), "-1\n");
        assert_eq!(w.write("a/b/cpu.cfs_quota_us", b"2000"), Err(Error::EINVAL));
        w.write("a/b/cpu.cfs_quota_us", b"1000").unwrap();
        w.with("a/b", |g| assert_eq!(bandwidth(g), Some((1_000, 100_000))));
        w.with("c", |g| assert_eq!(bandwidth(g), Some((1_000, 100_000))));
    }
}
