//! `run MS` costs what its input asks, not what the simulated duration is (issue 10,
//! items 7 and 18):
//!
//! * bandwidth groups whose quota cannot bind have their periods counted, not
//!   simulated, even when the periods of several never line up again (1, 1.001 and
//!   1.003 ms): a group that never binds costs the same at 10^6 ms as at 10^9 ms, and
//!   with groups that bind now and then 10^9 ms costs a bounded multiple of 10^6;
//! * a run whose exact simulation still needs more than `sched::WORK_BUDGET` units of
//!   work (binding groups of coprime periods over 10^9 ms) is `E2BIG` and changes
//!   nothing, while the same time in shorter runs works.

use std::time::{Duration, Instant};

use gpc_core::testing::TestHost;
use gpc_core::{Error, Result};
use gpc_machine::sched::{simulate_with_progress, BwState, CpuMask, Group, Runnable, TICK_NS};
use gpc_machine::{Machine, Platform};
use gpc_script::Machine as _;

type R = std::result::Result<(), Error>;

/// Groups of the root with `(quota, period)` in µs, `tasks` busy tasks each, on
/// `cpus` CPUs (the scheduler's input, as the machine makes it).
fn sched_case(limits: &[(u64, u64)], tasks: u32) -> (Vec<Group>, Vec<Runnable>) {
    let mut groups = vec![Group {
        parent: None,
        shares: 1024,
        bandwidth: None,
    }];
    let mut runnable = Vec::new();
    for &(quota, period) in limits {
        groups.push(Group {
            parent: Some(0),
            shares: 1024,
            bandwidth: Some((quota * 1000, period * 1000)),
        });
    }
    // Interleaved, as a script spawning one task per group in turn makes them.
    for i in 0..tasks {
        for g in 1..groups.len() {
            runnable.push(Runnable {
                pid: 2 + runnable.len() as u32 + i,
                group: g,
                allowed: CpuMask::full(2),
            });
        }
    }
    (groups, runnable)
}

/// The three groups of the example: 1.5, 1.2 and 1.1 ms per 1, 1.001 and 1.003
/// ms, two busy tasks each, two CPUs. Each group gets 2/3 ms a tick: the first never
/// reaches its quota, the others only in the one period in a thousand (three in a
/// thousand) that holds two ticks.
const COPRIME: [(u64, u64); 3] = [(1500, 1000), (1200, 1001), (1100, 1003)];

/// How many stretches (progress reports) and how much thread CPU time a run of `ms`
/// takes, the least time of `reps` runs.
fn cost(limits: &[(u64, u64)], ms: u64, reps: usize) -> Result<(u64, Duration)> {
    let (groups, tasks) = sched_case(limits, 2);
    let mut best = Duration::MAX;
    let mut reports = 0;
    for _ in 0..reps {
        let mut bw: Vec<Option<BwState>> = groups
            .iter()
            .map(|g| g.bandwidth.map(|cfg| BwState::new(cfg, 0)))
            .collect();
        let mut now = 0;
        reports = 0;
        let start = Instant::now();
        simulate_with_progress(&groups, &mut bw, &tasks, 2, &mut now, ms, &mut |_| {
            reports += 1
        })?;
        best = best.min(start.elapsed());
        assert_eq!(now, ms * TICK_NS);
    }
    Ok((reports, best))
}

#[test]
fn quotas_that_cannot_bind_cost_nothing_per_period() -> R {
    // Only the first group of the example: it never binds, so a run is a few stretches
    // (a first one, its current period's, then the rest) whatever its length; it was
    // one per period: 10^9 for `run 1000000000`.
    let (short, _) = cost(&COPRIME[..1], 1_000_000, 1)?;
    let (long, _) = cost(&COPRIME[..1], 1_000_000_000, 1)?;
    assert!(short == long && long <= 10, "{short} and {long} reports");
    Ok(())
}

#[test]
fn coprime_periods_at_ten_to_the_nine_ms_cost_a_bounded_multiple_of_ten_to_the_six() -> R {
    // The two groups that bind now and then end a few stretches per thousand periods;
    // their state repeats within 10^8 ms, after which the rest is jumped over. So 1000
    // times the run costs a bounded multiple of it (the time to find the repeat), not
    // 1000 times: it was 1.6 s for 10^6 ms and 19 s for 10^7 in a release build, and
    // 10^9 was out of reach. Counted in stretches (progress reports), each of which
    // costs at most a rotation period of placements: a measure that a busy machine does
    // not blur.
    let (s6, t6) = cost(&COPRIME, 1_000_000, 1)?;
    let (s9, t9) = cost(&COPRIME, 1_000_000_000, 1)?;
    eprintln!("10^6 ms: {s6} reports, {t6:?}; 10^9: {s9}, {t9:?}");
    assert!(s6 < 40_000, "{s6} stretches for 10^6 ms");
    assert!(s9 <= s6 * 30, "{s6} and {s9} stretches");
    Ok(())
}

struct Std;

impl Platform for Std {
    type Host = TestHost;
    fn host(nr_cpus: usize, nr_mems: usize) -> Result<TestHost> {
        Ok(TestHost::new(nr_cpus, nr_mems))
    }
}

fn text(m: &mut Machine<Std>, path: &str) -> std::result::Result<String, Error> {
    Ok(String::from_utf8_lossy(&m.read(path)?).into_owned())
}

/// Three groups that bind in one period out of a thousand or so, with coprime periods
/// of 1.001, 1.003 and 1.007 ms: their combined state never repeats within 10^9 ms.
fn binding_machine() -> std::result::Result<Machine<Std>, Error> {
    let mut m = Machine::<Std>::with_config(2, 1)?;
    m.mount("cgroup", "cpu,cpuacct", "cgroup", "/c")?;
    for (name, period) in [("a", 1001), ("b", 1003), ("d", 1007)] {
        let dir = format!("/c/{name}");
        m.mkdir(&dir, false)?;
        m.write(
            &format!("{dir}/cpu.cfs_period_us"),
            format!("{period}\n").as_bytes(),
        )?;
        m.write(&format!("{dir}/cpu.cfs_quota_us"), b"1000\n")?;
    }
    // Many tasks: the work is then mostly placements, which a debug build slows down
    // least, so that spending the budget stays cheap there too.
    for _ in 0..100 {
        for name in ["a", "b", "d"] {
            let pid = m.spawn()?;
            m.write(&format!("/c/{name}/tasks"), format!("{pid}\n").as_bytes())?;
        }
    }
    Ok(m)
}

/// What a script can see of the scheduler's work: the clock, every group's `cpu.stat`
/// and CPU time.
fn observe(m: &mut Machine<Std>) -> std::result::Result<String, Error> {
    let mut seen = format!("{}\n", m.clock_ns());
    for name in ["a", "b", "d"] {
        seen += &text(m, &format!("/c/{name}/cpu.stat"))?;
        seen += &text(m, &format!("/c/{name}/cpuacct.usage_percpu"))?;
    }
    Ok(seen)
}

#[test]
fn a_run_past_the_work_budget_is_e2big_and_changes_nothing() -> R {
    let mut m = binding_machine()?;
    // A 64th of the default budget (2^30, some seconds in a release build, minutes in
    // a debug one): the refusal is the same, only sooner.
    m.set_run_budget(1 << 24);
    m.run(1000)?;
    let before = observe(&mut m)?;
    // E2BIG, "argument list too long": the run asks for more work than one command may
    // do; split it. It is refused once the budget is spent, a bounded time, before
    // anything is committed.
    let start = Instant::now();
    assert_eq!(m.run(1_000_000_000), Err(Error::E2BIG));
    let refused_in = start.elapsed();
    assert_eq!(observe(&mut m)?, before);
    // The same time in pieces within the budget works, and the refused run left no
    // trace: the pieces give what they give on a machine that never tried.
    let mut fresh = binding_machine()?;
    fresh.run(1000)?;
    for _ in 0..2 {
        m.run(2000)?;
        fresh.run(2000)?;
        assert_eq!(observe(&mut m)?, observe(&mut fresh)?);
    }
    assert_eq!(m.clock_ns(), 5000 * TICK_NS);
    // The bound is on work, not a timeout: the pieces above ran within the same budget
    // the refusal exceeded. Their times are printed, not asserted (a timed assertion
    // fails on a busy machine and proves nothing on an idle one).
    let start = Instant::now();
    m.run(2000)?;
    let piece = start.elapsed();
    eprintln!("refused in {refused_in:?}, a piece of 2000 ms in {piece:?}");
    let stat = text(&mut m, "/c/a/cpu.stat")?;
    assert!(!stat.contains("nr_throttled 0\n"), "{stat}");
    Ok(())
}
