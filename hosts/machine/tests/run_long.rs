//! `run MS` over very long spans (issue 10, items 7 and 12): a 1 ms CFS period over
//! 10^8 ms completes (the scheduler jumps over the steady state) with exact `cpu.stat`
//! and `cpuacct` figures, and a run the clock cannot hold is an error that leaves the
//! clock where it was.

use gpc_core::testing::TestHost;
use gpc_core::{Error, Result};
use gpc_machine::{Machine, Platform};
use gpc_script::Machine as _;

struct Std;

impl Platform for Std {
    type Host = TestHost;
    fn host(nr_cpus: usize, nr_mems: usize) -> Result<TestHost> {
        Ok(TestHost::new(nr_cpus, nr_mems))
    }
}

type R = std::result::Result<(), Error>;

fn text(m: &mut Machine<Std>, path: &str) -> std::result::Result<String, Error> {
    Ok(String::from_utf8_lossy(&m.read(path)?).into_owned())
}

/// A group `name` of `/c` with `quota_us` per `period_us` and `tasks` busy tasks.
fn limited(m: &mut Machine<Std>, name: &str, quota_us: u64, period_us: u64, tasks: u32) -> R {
    let dir = format!("/c/{name}");
    m.mkdir(&dir, false)?;
    m.write(
        &format!("{dir}/cpu.cfs_period_us"),
        format!("{period_us}\n").as_bytes(),
    )?;
    m.write(
        &format!("{dir}/cpu.cfs_quota_us"),
        format!("{quota_us}\n").as_bytes(),
    )?;
    for _ in 0..tasks {
        let pid = m.spawn()?;
        m.write(&format!("{dir}/tasks"), format!("{pid}\n").as_bytes())?;
    }
    Ok(())
}

#[test]
fn a_one_ms_period_over_ten_to_the_eight_ms_is_exact() -> R {
    // Three CPUs for three tasks: each runs on a CPU of its own whatever is throttled.
    let mut m = Machine::<Std>::with_config(3, 1)?;
    m.mount("cgroup", "cpu,cpuacct", "cgroup", "/c")?;
    // Linux kernel/sched/core.c tg_set_cfs_bandwidth: 1000 us is the shortest period
    // and the smallest quota.
    // a: 1 ms per 1 ms for two tasks that want 2 ms a tick. Each period's only tick is
    //    cut at the quota (0.5 ms each; the rest of the tick is lost, nothing is left
    //    of the period to wait out): throttled, 0 ns.
    limited(&mut m, "a", 1000, 1000, 2)?;
    // b: 1 ms per 3 ms, one task. The first tick of a period uses the quota; the task
    //    then waits the other two: throttled, 2 ms.
    limited(&mut m, "b", 1000, 3000, 1)?;
    m.run(100_000_000)?;
    assert_eq!(m.clock_ns(), 100_000_000 * 1_000_000);
    // a: periods end at 1, 2, ... 10^8 - 1 ms within the run (the one ending with the
    // run closes at the next one); it ran 1 ms in each of the 10^8 ticks.
    assert_eq!(
        text(&mut m, "/c/a/cpu.stat")?,
        "nr_periods 99999999\nnr_throttled 99999999\nthrottled_time 0\nnr_bursts 0\nburst_time 0\n"
    );
    assert_eq!(text(&mut m, "/c/a/cpuacct.usage")?, "100000000000000\n");
    // b: periods end at 3, 6, ... 99,999,999 ms: 33,333,333 of them, each throttled for
    // 2 ms; it ran 1 ms in each of them and in the last, unfinished one (started at
    // 99,999,999 ms): 33,333,334 ms.
    assert_eq!(
        text(&mut m, "/c/b/cpu.stat")?,
        "nr_periods 33333333\nnr_throttled 33333333\nthrottled_time 66666666000000\nnr_bursts 0\nburst_time 0\n"
    );
    assert_eq!(text(&mut m, "/c/b/cpuacct.usage")?, "33333334000000\n");
    assert_eq!(text(&mut m, "/c/cpuacct.usage")?, "133333334000000\n");
    // One more millisecond closes a's 10^8-th period.
    m.run(1)?;
    let a = text(&mut m, "/c/a/cpu.stat")?;
    assert!(
        a.starts_with("nr_periods 100000000\nnr_throttled 100000000\n"),
        "{a}"
    );
    Ok(())
}

#[test]
fn runs_the_clock_cannot_hold_change_nothing() -> R {
    let mut m = Machine::<Std>::new()?;
    m.mount("cgroup", "cpu,cpuacct", "cgroup", "/c")?;
    limited(&mut m, "a", 1000, 1000, 2)?;
    m.run(5)?;
    let (clock, stat) = (m.clock_ns(), text(&mut m, "/c/a/cpu.stat")?);
    // MS milliseconds that are no u64 of nanoseconds: EINVAL, as Linux refuses a time
    // value out of range (kernel/time/time.c, timespec64_valid and its callers).
    assert_eq!(m.run(u64::MAX), Err(Error::EINVAL));
    assert_eq!(m.run(u64::MAX / 1_000_000 + 1), Err(Error::EINVAL));
    // A valid length that would take the clock past its end: EOVERFLOW.
    assert_eq!(m.run(u64::MAX / 1_000_000), Err(Error::EOVERFLOW));
    assert_eq!(m.clock_ns(), clock);
    assert_eq!(text(&mut m, "/c/a/cpu.stat")?, stat);
    // The clock is not pinned: runs go on as before.
    m.run(1)?;
    assert_eq!(m.clock_ns(), clock + 1_000_000);
    Ok(())
}
