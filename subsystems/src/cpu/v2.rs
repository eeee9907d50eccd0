//! The `cpu` controller on the unified hierarchy: `cpu_files[]` of
//! `kernel/sched/core.c` (Linux 6.18) and the lines it adds to the core's `cpu.stat`
//! and `cpu.stat.local` (`cpu_extra_stat_show`, `cpu_local_stat_show`).
//!
//! The weight files are another view of the group's `cpu.shares` value
//! (`tg->shares`): `cpu.weight` converts with `sched_weight_from_cgroup` /
//! `sched_weight_to_cgroup` (`kernel/sched/sched.h`), `cpu.weight.nice` with the
//! `sched_prio_to_weight` table. `cpu.max` and `cpu.max.burst` set the same
//! bandwidth as `cpu.cfs_*_us` do on v1, so the scheduler reads both versions alike.

use core::sync::atomic::Ordering;

use gpc_core::{CfFlags, Css, Error, FileCtxOf, Out, Result};

use super::{
    sched_group_set_shares, set_bandwidth, shares, Cpu, RUNTIME_INF, SCHED_FIXEDPOINT_SHIFT,
};
use crate::parse::{parse_cpu_max, write_s64_input, write_u64_input};

/// `CFTYPE_NOT_ON_ROOT` on the unified hierarchy (every file of `cpu_files[]`).
pub(super) const DFL_NOT_ON_ROOT: CfFlags = CfFlags::ONLY_ON_DFL.union(CfFlags::NOT_ON_ROOT);

/// `CGROUP_WEIGHT_MIN` (`include/linux/cgroup.h`).
pub const CGROUP_WEIGHT_MIN: u64 = 1;
/// `CGROUP_WEIGHT_DFL`.
pub const CGROUP_WEIGHT_DFL: u64 = 100;
/// `CGROUP_WEIGHT_MAX`.
pub const CGROUP_WEIGHT_MAX: u64 = 10_000;

/// `MIN_NICE` (`include/linux/sched/prio.h`).
const MIN_NICE: i64 = -20;
/// `MAX_NICE`.
const MAX_NICE: i64 = 19;

/// `sched_prio_to_weight[]` (`kernel/sched/core.c`): the weight of nice -20 to 19.
const SCHED_PRIO_TO_WEIGHT: [u64; 40] = [
    /* -20 */ 88761, 71755, 56483, 46273, 36291, /* -15 */ 29154, 23254, 18705, 14949,
    11916, /* -10 */ 9548, 7620, 6100, 4904, 3906, /*  -5 */ 3121, 2501, 1991, 1586,
    1277, /*   0 */ 1024, 820, 655, 526, 423, /*   5 */ 335, 272, 215, 172, 137,
    /*  10 */ 110, 87, 70, 56, 45, /*  15 */ 36, 29, 23, 18, 15,
];

/// `DIV_ROUND_CLOSEST_ULL(x, d)` for the small values the weights are.
const fn div_round_closest(x: u64, d: u64) -> u64 {
    x.saturating_add(d / 2) / d
}

/// `sched_weight_from_cgroup`: a `cpu.weight` (1..=10000) as a scheduler weight
/// (`cpu.shares` units): 100 is 1024.
pub const fn sched_weight_from_cgroup(cgrp_weight: u64) -> u64 {
    div_round_closest(cgrp_weight.saturating_mul(1024), CGROUP_WEIGHT_DFL)
}

/// `sched_weight_to_cgroup`: a scheduler weight (2..=262144) as a `cpu.weight`,
/// clamped to `1..=10000`.
pub fn sched_weight_to_cgroup(weight: u64) -> u64 {
    div_round_closest(weight.saturating_mul(CGROUP_WEIGHT_DFL), 1024)
        .clamp(CGROUP_WEIGHT_MIN, CGROUP_WEIGHT_MAX)
}

/// The group's weight as `cpu.weight` shows it (`cpu_weight_read_u64`).
pub fn weight(css: Css<'_, Cpu>) -> u64 {
    sched_weight_to_cgroup(shares(css))
}

/// `cpu_weight_read_u64`.
pub(super) fn read_weight(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", weight(ctx.css()))
}

/// `cpu_weight_write_u64`: the range first (`ERANGE`), then `sched_group_set_shares`.
pub(super) fn write_weight(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, buf: &[u8]) -> Result {
    let w = write_u64_input(buf)?;
    if !(CGROUP_WEIGHT_MIN..=CGROUP_WEIGHT_MAX).contains(&w) {
        return Err(Error::ERANGE);
    }
    sched_group_set_shares(
        ctx.css(),
        sched_weight_from_cgroup(w) << SCHED_FIXEDPOINT_SHIFT,
    )
}

/// `cpu_weight_nice_read_s64`: the first nice value, from -20 up, past which the
/// distance of its table weight to the group's weight stops shrinking (a tie goes to
/// the lower nice value; a weight below the last entry is 19).
fn nice_of(weight: u64) -> i64 {
    let mut last_delta = u64::MAX;
    let mut prio = 0;
    while let Some(&w) = SCHED_PRIO_TO_WEIGHT.get(prio) {
        let delta = w.abs_diff(weight);
        if delta >= last_delta {
            break;
        }
        last_delta = delta;
        prio += 1;
    }
    // PRIO_TO_NICE(prio - 1 + MAX_RT_PRIO); prio is at least 1 here.
    prio as i64 - 1 + MIN_NICE
}

pub(super) fn read_weight_nice(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", nice_of(shares(ctx.css())))
}

/// `cpu_weight_nice_write_s64`: the range first (`ERANGE`), then the table's weight.
pub(super) fn write_weight_nice(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, buf: &[u8]) -> Result {
    let nice = write_s64_input(buf)?;
    if !(MIN_NICE..=MAX_NICE).contains(&nice) {
        return Err(Error::ERANGE);
    }
    let idx = usize::try_from(nice - MIN_NICE).map_err(|_| Error::ERANGE)?;
    let w = SCHED_PRIO_TO_WEIGHT.get(idx).ok_or(Error::ERANGE)?;
    sched_group_set_shares(ctx.css(), w << SCHED_FIXEDPOINT_SHIFT)
}

/// `cpu_max_show` → `cpu_period_quota_print`.
pub(super) fn read_max(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, out: &mut Out<'_>) -> Result {
    let bw = *ctx.css().state().bw.lock();
    if bw.quota_us == RUNTIME_INF {
        writeln!(out, "max {}", bw.period_us)
    } else {
        writeln!(out, "{} {}", bw.quota_us, bw.period_us)
    }
}

/// `cpu_max_write`: the current period and burst, the parsed quota (and period), then
/// `tg_set_bandwidth`.
pub(super) fn write_max(_: &Cpu, ctx: &FileCtxOf<'_, Cpu>, buf: &[u8]) -> Result {
    let current = ctx.css().state().bw.lock().period_us;
    let (period, quota) = parse_cpu_max(buf, current)?;
    set_bandwidth(ctx, |bw| {
        bw.period_us = period;
        bw.quota_us = quota;
    })
}

/// `cpu_extra_stat_show` (`CONFIG_CFS_BANDWIDTH`): the bandwidth statistics in µs.
pub(super) fn extra_stat_show(css: Css<'_, Cpu>, out: &mut Out<'_>) -> Result {
    let st = css.state();
    writeln!(
        out,
        "nr_periods {}\nnr_throttled {}\nthrottled_usec {}\nnr_bursts {}\nburst_usec {}",
        st.nr_periods.load(Ordering::Relaxed) as i32,
        st.nr_throttled.load(Ordering::Relaxed) as i32,
        st.throttled_time.load(Ordering::Relaxed) / 1000,
        st.nr_bursts.load(Ordering::Relaxed) as i32,
        st.burst_time.load(Ordering::Relaxed) / 1000,
    )
}

/// `cpu_local_stat_show`: `throttled_time_self()` in µs.
pub(super) fn local_stat_show(css: Css<'_, Cpu>, out: &mut Out<'_>) -> Result {
    writeln!(
        out,
        "throttled_usec {}",
        css.state().throttled_self.load(Ordering::Relaxed) / 1000
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use std::string::String;
    use std::vec::Vec;

    use gpc_core::testing::{OneHierarchy, TaskList, TestHost};
    use gpc_core::{Creds, Gpc};

    use super::super::{bandwidth, burst, record_burst, record_period, FILES};
    use super::*;

    gpc_core::one_hierarchy_harness!(World);

    impl World {
        /// The unified hierarchy with cpu enabled below the root.
        fn new() -> World {
            let gpc = Gpc::new(TestHost::new(2, 1), &[&Cpu]).unwrap();
            let mut tasks = TaskList::new();
            tasks.add_init(&gpc).unwrap();
            let h = gpc.mount_v2("", &tasks.caller(Creds::ROOT, None)).unwrap();
            let w = World(OneHierarchy { tasks, gpc, h });
            w.write("cgroup.subtree_control", b"+cpu").unwrap();
            w
        }

        fn with<R>(&self, path: &str, f: impl FnOnce(Css<'_, Cpu>) -> R) -> R {
            let ss = self.gpc.subsys_id("cpu").unwrap();
            self.gpc
                .with_container_css(self.h, path, ss, |c| f(c.typed::<Cpu>().unwrap()))
                .unwrap()
        }

        fn cpu_files(&self, dir: &str) -> Vec<String> {
            self.ls(dir)
                .into_iter()
                .filter(|n| n.starts_with("cpu."))
                .collect()
        }
    }

    #[test]
    fn files_flags_and_defaults() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        // The root: only the core's cpu.stat, cpu.stat.local (and cpu.pressure).
        assert_eq!(
            w.cpu_files(""),
            ["cpu.pressure", "cpu.stat", "cpu.stat.local"]
        );
        assert_eq!(
            w.cpu_files("a"),
            [
                "cpu.idle",
                "cpu.max",
                "cpu.max.burst",
                "cpu.pressure",
                "cpu.stat",
                "cpu.stat.local",
                "cpu.weight",
                "cpu.weight.nice"
            ]
        );
        let modes: Vec<(&str, u16)> = FILES[7..]
            .iter()
            .map(|f| {
                (
                    f.name,
                    gpc_core::files::file_mode(f.read.is_some(), f.write.is_some()),
                )
            })
            .collect();
        assert_eq!(
            modes,
            [
                ("weight", 0o644),
                ("weight.nice", 0o644),
                ("idle", 0o644),
                ("max", 0o644),
                ("max.burst", 0o644)
            ]
        );
        assert_eq!(w.read("a/cpu.weight").unwrap(), "100\n");
        assert_eq!(w.read("a/cpu.weight.nice").unwrap(), "0\n");
        assert_eq!(w.read("a/cpu.idle").unwrap(), "0\n");
        assert_eq!(w.read("a/cpu.max").unwrap(), "max 100000\n");
        assert_eq!(w.read("a/cpu.max.burst").unwrap(), "0\n");
        // The v1 files are not there.
        for f in ["shares", "cfs_quota_us", "cfs_period_us", "cfs_burst_us"] {
            assert_eq!(
                w.read(&std::format!("a/cpu.{f}")),
                Err(Error::ENOENT),
                "{f}"
            );
        }
        // Nor the v2 ones at the root.
        for f in ["weight", "weight.nice", "idle", "max", "max.burst"] {
            assert_eq!(
                w.write(&std::format!("cpu.{f}"), b"1"),
                Err(Error::ENOENT),
                "{f}"
            );
        }
    }

    #[test]
    fn weight_reads_writes_and_hostile_values() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        for (input, weight, shares_, nice) in [
            (&b"200\n"[..], "200", 2048, "-3"),
            (b"1", "1", 10, "19"),
            (b"10000", "10000", 102_400, "-20"),
            (b"0x64", "100", 1024, "0"),
            (b"+50", "50", 512, "3"),
            (b"7\0junk", "7", 72, "12"),
        ] {
            w.write("a/cpu.weight", input).unwrap();
            assert_eq!(
                w.read("a/cpu.weight").unwrap(),
                std::format!("{weight}\n"),
                "{input:?}"
            );
            assert_eq!(
                w.read("a/cpu.weight.nice").unwrap(),
                std::format!("{nice}\n"),
                "{input:?}"
            );
            w.with("a", |c| assert_eq!(shares(c), shares_, "{input:?}"));
        }
        for (bad, err) in [
            (&b"0"[..], Error::ERANGE),
            (b"10001", Error::ERANGE),
            (b"18446744073709551615", Error::ERANGE),
            (b"18446744073709551616", Error::ERANGE),
            (b"-1", Error::EINVAL),
            (b" 5", Error::EINVAL),
            (b"5 ", Error::EINVAL),
            (b"5 6", Error::EINVAL),
            (b"\n", Error::EINVAL),
            (b"abc", Error::EINVAL),
            (b"100\n\n", Error::EINVAL),
        ] {
            assert_eq!(w.write("a/cpu.weight", bad), Err(err), "{bad:?}");
        }
        assert_eq!(w.write("a/cpu.weight", b""), Ok(()), "the core's no-op");
        assert_eq!(w.read("a/cpu.weight").unwrap(), "7\n");
    }

    #[test]
    fn weight_nice_reads_writes_and_hostile_values() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        for (nice, table) in (-20..=19).zip(SCHED_PRIO_TO_WEIGHT) {
            w.write("a/cpu.weight.nice", std::format!("{nice}\n").as_bytes())
                .unwrap();
            assert_eq!(
                w.read("a/cpu.weight.nice").unwrap(),
                std::format!("{nice}\n")
            );
            w.with("a", |c| assert_eq!(shares(c), table));
            assert_eq!(
                w.read("a/cpu.weight").unwrap(),
                std::format!("{}\n", sched_weight_to_cgroup(table))
            );
        }
        // nice 10: 110 → weight 11.
        w.write("a/cpu.weight.nice", b"10").unwrap();
        assert_eq!(w.read("a/cpu.weight").unwrap(), "11\n");
        for (bad, err) in [
            (&b"-21"[..], Error::ERANGE),
            (b"20", Error::ERANGE),
            (b"9223372036854775807", Error::ERANGE),
            (b"-9223372036854775808", Error::ERANGE),
            (b"9223372036854775808", Error::ERANGE),
            (b"x", Error::EINVAL),
            (b" 1", Error::EINVAL),
            (b"1 2", Error::EINVAL),
            (b"--1", Error::EINVAL),
        ] {
            assert_eq!(w.write("a/cpu.weight.nice", bad), Err(err), "{bad:?}");
        }
        assert_eq!(w.read("a/cpu.weight.nice").unwrap(), "10\n");
    }

    #[test]
    fn idle_groups_fix_the_weight() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.write("a/cpu.weight", b"300").unwrap();
        w.write("a/cpu.idle", b"1").unwrap();
        assert_eq!(w.read("a/cpu.idle").unwrap(), "1\n");
        // WEIGHT_IDLEPRIO (3) shows as the smallest cgroup weight and nice 19.
        assert_eq!(w.read("a/cpu.weight").unwrap(), "1\n");
        assert_eq!(w.read("a/cpu.weight.nice").unwrap(), "19\n");
        // The range is checked before the idle state.
        assert_eq!(w.write("a/cpu.weight", b"0"), Err(Error::ERANGE));
        assert_eq!(w.write("a/cpu.weight", b"100"), Err(Error::EINVAL));
        assert_eq!(w.write("a/cpu.weight.nice", b"20"), Err(Error::ERANGE));
        assert_eq!(w.write("a/cpu.weight.nice", b"0"), Err(Error::EINVAL));
        for bad in [&b"2"[..], b"-1", b" 1"] {
            assert_eq!(w.write("a/cpu.idle", bad), Err(Error::EINVAL), "{bad:?}");
        }
        w.write("a/cpu.idle", b"0").unwrap();
        assert_eq!(w.read("a/cpu.weight").unwrap(), "100\n");
    }

    #[test]
    fn max_reads_writes_and_hostile_values() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.write("a/cpu.max", b"50000 100000\n").unwrap();
        assert_eq!(w.read("a/cpu.max").unwrap(), "50000 100000\n");
        w.with("a", |c| assert_eq!(bandwidth(c), Some((50_000, 100_000))));
        // One field: the quota, the period stays.
        w.write("a/cpu.max", b"20000").unwrap();
        assert_eq!(w.read("a/cpu.max").unwrap(), "20000 100000\n");
        w.write("a/cpu.max", b"max 200000").unwrap();
        assert_eq!(w.read("a/cpu.max").unwrap(), "max 200000\n");
        w.with("a", |c| assert_eq!(bandwidth(c), None));
        w.write("a/cpu.max", b"30000 50000 extra fields").unwrap();
        assert_eq!(w.read("a/cpu.max").unwrap(), "30000 50000\n");
        w.write("a/cpu.max", b"max").unwrap();
        assert_eq!(w.read("a/cpu.max").unwrap(), "max 50000\n");
        // U64_MAX is RUNTIME_INF.
        w.write("a/cpu.max", b"1000 100000").unwrap();
        w.write("a/cpu.max", b"18446744073709551615").unwrap();
        assert_eq!(w.read("a/cpu.max").unwrap(), "max 100000\n");
        w.write("a/cpu.max", b"17592186044415 1000000").unwrap();
        assert_eq!(w.read("a/cpu.max").unwrap(), "17592186044415 1000000\n");
        w.write("a/cpu.max", b"max 100000").unwrap();
        for bad in [
            &b"\n"[..],
            b"   ",
            b"maximum",
            b"-1",
            b"-1 100000",
            b"0",
            b"999",
            b"max 0",
            b"max 999",
            b"max 1000001",
            b"50000 0",
            b"17592186044416",
            b"18446744073709551614",
            b"99999999999999999999",
            b"1000 18446744073709551615",
            b"abc 100000",
        ] {
            assert_eq!(w.write("a/cpu.max", bad), Err(Error::EINVAL), "{bad:?}");
        }
        assert_eq!(w.read("a/cpu.max").unwrap(), "max 100000\n");
        // A quota below the burst fails (tg_set_bandwidth).
        w.write("a/cpu.max", b"50000").unwrap();
        w.write("a/cpu.max.burst", b"50000").unwrap();
        assert_eq!(w.write("a/cpu.max", b"40000"), Err(Error::EINVAL));
        assert_eq!(w.read("a/cpu.max").unwrap(), "50000 100000\n");
    }

    #[test]
    fn max_burst_reads_writes_and_hostile_values() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        // No quota: any burst that survives the conversion to ns.
        w.write("a/cpu.max.burst", b"5000000").unwrap();
        assert_eq!(w.read("a/cpu.max.burst").unwrap(), "5000000\n");
        assert_eq!(w.write("a/cpu.max", b"4000000 1000000"), Err(Error::EINVAL));
        w.write("a/cpu.max", b"5000000 1000000").unwrap();
        assert_eq!(w.write("a/cpu.max.burst", b"5000001"), Err(Error::EINVAL));
        w.write("a/cpu.max.burst", b"1000\n").unwrap();
        w.with("a", |c| assert_eq!(burst(c), 1000));
        for (bad, err) in [
            (&b"-1"[..], Error::EINVAL),
            (b" 1", Error::EINVAL),
            (b"1 2", Error::EINVAL),
            (b"x", Error::EINVAL),
            (b"18446744073709551616", Error::ERANGE),
        ] {
            assert_eq!(w.write("a/cpu.max.burst", bad), Err(err), "{bad:?}");
        }
        assert_eq!(w.read("a/cpu.max.burst").unwrap(), "1000\n");
    }

    #[test]
    fn v2_children_may_exceed_the_parent() {
        // tg_cfs_schedulable_down on cgroup2: no EINVAL, the hierarchical quota is the
        // smaller one; each level keeps what was written.
        let w = World::new();
        w.gpc.mkdir(w.h, "p").unwrap();
        w.write("p/cgroup.subtree_control", b"+cpu").unwrap();
        w.gpc.mkdir(w.h, "p/c").unwrap();
        w.write("p/cpu.max", b"50000").unwrap();
        w.write("p/c/cpu.max", b"80000").unwrap();
        w.write("p/cpu.max", b"10000").unwrap();
        w.write("p/c/cpu.max", b"90000 50000").unwrap();
        assert_eq!(w.read("p/cpu.max").unwrap(), "10000 100000\n");
        assert_eq!(w.read("p/c/cpu.max").unwrap(), "90000 50000\n");
        w.with("p/c", |c| {
            assert_eq!(bandwidth(c), Some((90_000, 50_000)));
            assert_eq!(bandwidth(c.parent().unwrap()), Some((10_000, 100_000)));
        });
    }

    #[test]
    fn stat_lines_in_the_core_files() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        let base = "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnice_usec 0\n";
        let zero = "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n";
        // The root has the controller's state: its lines too.
        assert_eq!(w.read("cpu.stat").unwrap(), std::format!("{base}{zero}"));
        assert_eq!(w.read("cpu.stat.local").unwrap(), "throttled_usec 0\n");
        w.with("a", |c| {
            record_period(c, false, 0);
            record_period(c, true, 1_500_999);
            record_period(c, true, 500_000);
            record_burst(c, 7_999);
        });
        assert_eq!(
            w.read("a/cpu.stat").unwrap(),
            std::format!(
                "{base}nr_periods 3\nnr_throttled 2\nthrottled_usec 2000\nnr_bursts 1\nburst_usec 7\n"
            )
        );
        assert_eq!(w.read("a/cpu.stat.local").unwrap(), "throttled_usec 2000\n");
        // b: cpu not enabled in a, so no cpu state of its own: only the core's lines.
        assert_eq!(w.read("a/b/cpu.stat").unwrap(), base);
        assert_eq!(w.read("a/b/cpu.stat.local").unwrap(), "");
        w.write("a/cgroup.subtree_control", b"+cpu").unwrap();
        assert_eq!(
            w.read("a/b/cpu.stat").unwrap(),
            std::format!("{base}{zero}")
        );
        w.write("a/cgroup.subtree_control", b"-cpu").unwrap();
        assert_eq!(w.read("a/b/cpu.stat").unwrap(), base);
        // Without cpu on the unified hierarchy the root has none either.
        w.write("cgroup.subtree_control", b"-cpu").unwrap();
        assert_eq!(w.read("a/cpu.stat").unwrap(), base);
    }

    #[test]
    fn unified_stat_without_the_controller_bound() {
        // cpu held by a v1 hierarchy: the unified root's cpu.stat has no cpu lines.
        let gpc = Gpc::new(TestHost::new(2, 1), &[&Cpu]).unwrap();
        let mut tasks = TaskList::new();
        tasks.add_init(&gpc).unwrap();
        let root = tasks.caller(Creds::ROOT, None);
        gpc.mount("cpu", &root).unwrap();
        let h = gpc.mount_v2("", &root).unwrap();
        let w = World(OneHierarchy { tasks, gpc, h });
        assert_eq!(
            w.read("cpu.stat").unwrap(),
            "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnice_usec 0\n"
        );
        assert_eq!(w.read("cpu.stat.local").unwrap(), "");
    }

    #[test]
    fn weight_conversions() {
        assert_eq!(sched_weight_from_cgroup(1), 10);
        assert_eq!(sched_weight_from_cgroup(100), 1024);
        assert_eq!(sched_weight_from_cgroup(200), 2048);
        assert_eq!(sched_weight_from_cgroup(10_000), 102_400);
        // Every cgroup weight survives the round trip.
        for w in CGROUP_WEIGHT_MIN..=CGROUP_WEIGHT_MAX {
            assert_eq!(sched_weight_to_cgroup(sched_weight_from_cgroup(w)), w);
        }
        assert_eq!(sched_weight_to_cgroup(2), 1);
        assert_eq!(sched_weight_to_cgroup(3), 1);
        assert_eq!(sched_weight_to_cgroup(262_144), 10_000);
        assert_eq!(sched_weight_to_cgroup(u64::MAX), 10_000);
    }

    #[test]
    fn nice_of_every_table_weight_and_between() {
        for (i, &w) in SCHED_PRIO_TO_WEIGHT.iter().enumerate() {
            assert_eq!(nice_of(w), i as i64 - 20, "{w}");
        }
        assert_eq!(nice_of(262_144), -20);
        assert_eq!(nice_of(2), 19);
        assert_eq!(nice_of(3), 19);
        assert_eq!(nice_of(2048), -3); // 1991 is nearer than 2501
        assert_eq!(nice_of(10), 19);
        // A tie (1024 and 820 are 204 apart) goes to the lower nice value.
        assert_eq!(nice_of(922), 0);
        assert_eq!(nice_of(921), 1);
    }
}
