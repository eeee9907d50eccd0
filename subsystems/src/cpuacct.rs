//! The `cpuacct` controller: CPU time accounting per container, hierarchical and per CPU.
//!
//! Follows `kernel/sched/cpuacct.c` (torvalds/linux) as of Linux 6.18 (`files[]`, the
//! legacy cftypes; the controller has no v2 interface), plus `cputime_adjust()` from
//! `kernel/sched/cputime.c` and `nsec_to_clock_t()` from `kernel/time/time.c` for
//! `cpuacct.stat`.
//!
//! # Files (none has a `CFTYPE_*` flag: all exist in the root too)
//!
//! | file | mode | read | write |
//! |---|---|---|---|
//! | `cpuacct.usage` | 0644 | `"%llu\n"`: nanoseconds run, summed over the possible CPUs (`cpuusage_read`) | `write_u64` ([`write_u64_input`]): `0` resets the group, any other value is `EINVAL` (`cpuusage_write`); on the **root** `0` succeeds and changes nothing (`cpuacct_cpuusage_write`: "Don't allow to reset global kernel_cpustat") |
//! | `cpuacct.usage_user` | 0444 | `"%llu\n"`: user-mode nanoseconds | |
//! | `cpuacct.usage_sys` | 0444 | `"%llu\n"`: kernel-mode nanoseconds | |
//! | `cpuacct.usage_percpu` | 0444 | `"%llu "` per possible CPU, then `"\n"` (note the blank before the newline) | |
//! | `cpuacct.usage_percpu_user` | 0444 | the same, user mode | |
//! | `cpuacct.usage_percpu_sys` | 0444 | the same, kernel mode | |
//! | `cpuacct.usage_all` | 0444 | `"cpu user system\n"`, then `"%d %llu %llu\n"` per possible CPU | |
//! | `cpuacct.stat` | 0444 | `"user %llu\nsystem %llu\n"` in `USER_HZ` (100) ticks, after `cputime_adjust` | |
//!
//! # Two kinds of time, as in Linux
//!
//! Since Linux 5.17 `cpuacct.usage` is the precise run time (`cpuacct_charge`, called from
//! `update_curr` with the exact delta), while `usage_user`/`usage_sys` and `stat` come from
//! the per-CPU `kernel_cpustat` buckets (`cpuacct_account_field`: `CPUTIME_USER` +
//! `CPUTIME_NICE` are user, `CPUTIME_SYSTEM` + `IRQ` + `SOFTIRQ` are system). In gpc the
//! host's [`charge`] feeds both from one call: the run time and, depending on `user`,
//! the user or the system bucket. The simulator counts all run time as user time.
//!
//! `cpuacct.stat` scales the user/system split so that the two add up to the run time and
//! never go backwards (`cputime_adjust` with the container's `prev_cputime`), then converts
//! nanoseconds to clock ticks. The `prev_cputime` survives a reset of `cpuacct.usage`, so
//! after `echo 0 > cpuacct.usage` the file keeps showing the old totals until the new run
//! time exceeds them, exactly as in Linux.
//!
//! # Hierarchy
//!
//! A charge goes to the task's container and every ancestor up to the root (`for (ca =
//! task_ca(tsk); ca; ca = parent_ca(ca))`), so a group's numbers include its
//! descendants'. The root's numbers are the whole machine's.
//!
//! # Per-CPU storage
//!
//! Linux keeps one `u64` and one `kernel_cpustat` per possible CPU (`alloc_percpu`). gpc
//! keeps three atomics per CPU of the host per container (the host's
//! [`Cpus::nr_cpus`](gpc_core::host::cpu::Cpus::nr_cpus), at most [`NR_CPUS`]: 96 bytes
//! on a 4-CPU machine, on the heap, allocated fallibly at `mkdir`), so that [`charge`]
//! never allocates and never locks. The files show CPUs `0..nr_cpus` of the host (Linux:
//! the possible CPUs). A charge for a CPU the state has no counters for is dropped.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::parse::{write_u64_input, NR_CPUS};
use gpc_core::host::alloc::{try_reserve_exact, Gfp};
use gpc_core::host::lock::IrqSpinLock;
use gpc_core::{CfType, Css, Error, FileCtxOf, Out, Result, Subsystem};

/// `USER_HZ` on every architecture Linux 6.18 builds for: the unit of `cpuacct.stat`.
pub const USER_HZ: u64 = 100;

/// `NSEC_PER_SEC`.
const NSEC_PER_SEC: u64 = 1_000_000_000;

/// The `cpuacct` controller (Linux `cpuacct_cgrp_subsys`).
pub struct Cpuacct;

/// `prev_cputime` (`include/linux/sched/types.h`): the last user/system split shown.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct PrevCputime {
    utime: u64,
    stime: u64,
}

/// Counters per CPU, in [`State::percpu`]: `[cpu * FIELDS + field]`.
const FIELDS: usize = 3;

/// Per-container state (Linux `struct cpuacct` plus the cgroup's `prev_cputime`).
pub struct State {
    /// For each CPU of the host, [`FIELDS`] counters in [`Index`] order: the
    /// `cpustat[CPUTIME_USER]` and `cpustat[CPUTIME_SYSTEM]` buckets and the run time
    /// (`cpuusage`), nanoseconds. On the heap, never on the stack.
    percpu: Vec<AtomicU64>,
    /// `cgroup->prev_cputime`, for `cpuacct.stat`.
    prev: IrqSpinLock<PrevCputime>,
}

impl State {
    /// All zero, with counters for CPUs `0..nr_cpus` (1 to [`NR_CPUS`]).
    ///
    /// # Errors
    ///
    /// `ENOMEM`.
    fn new(nr_cpus: usize) -> Result<Self> {
        let len = nr_cpus.clamp(1, NR_CPUS) * FIELDS;
        let mut percpu = Vec::new();
        try_reserve_exact(&mut percpu, len, Gfp::KERNEL)?;
        percpu.resize_with(len, || AtomicU64::new(0));
        Ok(State {
            percpu,
            // Linux kernel/sched/cputime.c `cputime_adjust`: `prev_cputime.lock` is taken
            // with `raw_spin_lock_irqsave`.
            prev: gpc_core::new_irq_spinlock!(PrevCputime::default(), c"cpuacct_prev_cputime")?,
        })
    }

    /// The CPUs it has counters for.
    fn nr_cpus(&self) -> usize {
        self.percpu.len() / FIELDS
    }

    /// The counter `index` of CPU `cpu` (`None` past its CPUs).
    fn counter(&self, cpu: usize, index: Index) -> Option<&AtomicU64> {
        let i = cpu.checked_mul(FIELDS)?.checked_add(index as usize)?;
        self.percpu.get(i)
    }
}

/// What a per-CPU read shows (`enum cpuacct_stat_index`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
enum Index {
    /// `CPUACCT_STAT_USER`.
    User,
    /// `CPUACCT_STAT_SYSTEM`.
    System,
    /// `CPUACCT_STAT_NSTATS`: the run time.
    Total,
}

/// `cpuacct_cpuusage_read`.
fn cpu_read(state: &State, cpu: usize, index: Index) -> u64 {
    state
        .counter(cpu, index)
        .map_or(0, |a| a.load(Ordering::Relaxed))
}

/// The CPUs the files show: `for_each_possible_cpu`.
fn possible_cpus(nr_cpus: usize) -> core::ops::Range<usize> {
    0..nr_cpus.min(NR_CPUS)
}

/// `__cpuusage_read`: the sum over the possible CPUs (wrapping, as `u64` in C).
fn total(state: &State, nr_cpus: usize, index: Index) -> u64 {
    possible_cpus(nr_cpus).fold(0u64, |acc, cpu| {
        acc.wrapping_add(cpu_read(state, cpu, index))
    })
}

/// Charge `ns` nanoseconds run on CPU `cpu` to `css` and every ancestor (Linux
/// `cpuacct_charge` for the run time, `cpuacct_account_field` for the user or system
/// bucket). Lock-free and allocation-free; a CPU past the host's is ignored.
pub fn charge(css: Css<'_, Cpuacct>, cpu: usize, ns: u64, user: bool) {
    for level in css.ancestors_and_self() {
        let st = level.state();
        if let Some(u) = st.counter(cpu, Index::Total) {
            u.fetch_add(ns, Ordering::Relaxed);
        }
        let bucket = if user { Index::User } else { Index::System };
        if let Some(b) = st.counter(cpu, bucket) {
            b.fetch_add(ns, Ordering::Relaxed);
        }
    }
}

/// The run time charged to `css` (and its descendants) on CPUs `0..nr_cpus`, in
/// nanoseconds: what `cpuacct.usage` shows.
pub fn usage(css: Css<'_, Cpuacct>, nr_cpus: usize) -> u64 {
    total(css.state(), nr_cpus, Index::Total)
}

/// `mul_u64_u64_div_u64(a, b, c)`: `a * b / c` with a 128-bit product (`c > 0`).
fn mul_div(a: u64, b: u64, c: u128) -> u64 {
    let q = (u128::from(a) * u128::from(b)).checked_div(c).unwrap_or(0);
    u64::try_from(q).unwrap_or(u64::MAX)
}

/// `cputime_adjust()` (`kernel/sched/cputime.c`): split `rtime` in the ratio of the
/// sampled `utime`/`stime`, keeping both monotonic through `prev`. Returns `(utime,
/// stime)`.
fn cputime_adjust(rtime: u64, utime: u64, stime: u64, prev: &mut PrevCputime) -> (u64, u64) {
    // "This is possible under two circumstances: rtime isn't monotonic after all (a bug);
    // we got reordered by the lock." (and, in gpc and Linux alike, after a usage reset).
    if prev.stime.wrapping_add(prev.utime) >= rtime {
        return (prev.utime, prev.stime);
    }
    let mut stime = if stime == 0 {
        // "If either stime or utime are 0, assume all runtime is userspace."
        0
    } else if utime == 0 {
        rtime
    } else {
        let s = mul_div(stime, rtime, u128::from(stime) + u128::from(utime));
        s.min(rtime)
    };
    // Make sure stime doesn't go backwards; this preserves monotonicity for utime.
    if stime < prev.stime {
        stime = prev.stime;
    }
    let mut utime = rtime.saturating_sub(stime);
    // Make sure utime doesn't go backwards; this still preserves monotonicity for stime.
    if utime < prev.utime {
        utime = prev.utime;
        stime = rtime.saturating_sub(utime);
    }
    prev.stime = stime;
    prev.utime = utime;
    (utime, stime)
}

/// `nsec_to_clock_t()` (`kernel/time/time.c`) for `USER_HZ` = 100: `NSEC_PER_SEC` is a
/// multiple of `USER_HZ`, so it is a plain division.
pub const fn nsec_to_clock_t(ns: u64) -> u64 {
    ns / (NSEC_PER_SEC / USER_HZ)
}

fn read_usage(_: &Cpuacct, ctx: &FileCtxOf<'_, Cpuacct>, out: &mut Out<'_>) -> Result {
    writeln!(
        out,
        "{}",
        total(ctx.css().state(), ctx.nr_cpus(), Index::Total)
    )
}

fn read_usage_user(_: &Cpuacct, ctx: &FileCtxOf<'_, Cpuacct>, out: &mut Out<'_>) -> Result {
    writeln!(
        out,
        "{}",
        total(ctx.css().state(), ctx.nr_cpus(), Index::User)
    )
}

fn read_usage_sys(_: &Cpuacct, ctx: &FileCtxOf<'_, Cpuacct>, out: &mut Out<'_>) -> Result {
    writeln!(
        out,
        "{}",
        total(ctx.css().state(), ctx.nr_cpus(), Index::System)
    )
}

/// `cpuusage_write`: only `0`, which resets the group's run time and buckets on every CPU.
fn write_usage(_: &Cpuacct, ctx: &FileCtxOf<'_, Cpuacct>, buf: &[u8]) -> Result {
    if write_u64_input(buf)? != 0 {
        return Err(Error::EINVAL);
    }
    let css = ctx.css();
    // cpuacct_cpuusage_write: "Don't allow to reset global kernel_cpustat" returns before
    // touching anything, so the root's write succeeds and does nothing.
    if css.is_root() {
        return Ok(());
    }
    let st = css.state();
    for a in &st.percpu {
        a.store(0, Ordering::Relaxed);
    }
    Ok(())
}

/// `__cpuacct_percpu_seq_show`.
fn percpu(ctx: &FileCtxOf<'_, Cpuacct>, out: &mut Out<'_>, index: Index) -> Result {
    let st = ctx.css().state();
    for cpu in possible_cpus(ctx.nr_cpus()) {
        write!(out, "{} ", cpu_read(st, cpu, index))?;
    }
    out.bytes(b"\n")
}

fn read_percpu(_: &Cpuacct, ctx: &FileCtxOf<'_, Cpuacct>, out: &mut Out<'_>) -> Result {
    percpu(ctx, out, Index::Total)
}

fn read_percpu_user(_: &Cpuacct, ctx: &FileCtxOf<'_, Cpuacct>, out: &mut Out<'_>) -> Result {
    percpu(ctx, out, Index::User)
}

fn read_percpu_sys(_: &Cpuacct, ctx: &FileCtxOf<'_, Cpuacct>, out: &mut Out<'_>) -> Result {
    percpu(ctx, out, Index::System)
}

/// `cpuacct_all_seq_show`.
fn read_all(_: &Cpuacct, ctx: &FileCtxOf<'_, Cpuacct>, out: &mut Out<'_>) -> Result {
    let st = ctx.css().state();
    out.bytes(b"cpu user system\n")?;
    for cpu in possible_cpus(ctx.nr_cpus()) {
        writeln!(
            out,
            "{} {} {}",
            cpu,
            cpu_read(st, cpu, Index::User),
            cpu_read(st, cpu, Index::System)
        )?;
    }
    Ok(())
}

/// `cpuacct_stats_show`.
fn read_stat(_: &Cpuacct, ctx: &FileCtxOf<'_, Cpuacct>, out: &mut Out<'_>) -> Result {
    let st = ctx.css().state();
    let nr = ctx.nr_cpus();
    let utime = total(st, nr, Index::User);
    let stime = total(st, nr, Index::System);
    let rtime = total(st, nr, Index::Total);
    let (u, s) = {
        let mut prev = st.prev.lock();
        cputime_adjust(rtime, utime, stime, &mut prev)
    };
    writeln!(
        out,
        "user {}\nsystem {}",
        nsec_to_clock_t(u),
        nsec_to_clock_t(s)
    )
}

/// The files, in Linux's order (`files[]` in `kernel/sched/cpuacct.c`).
static FILES: [CfType<Cpuacct>; 8] = [
    CfType::rw("usage", read_usage, write_usage),
    CfType::ro("usage_user", read_usage_user),
    CfType::ro("usage_sys", read_usage_sys),
    CfType::ro("usage_percpu", read_percpu),
    CfType::ro("usage_percpu_user", read_percpu_user),
    CfType::ro("usage_percpu_sys", read_percpu_sys),
    CfType::ro("usage_all", read_all),
    CfType::ro("stat", read_stat),
];

impl Subsystem for Cpuacct {
    type State = State;
    const NAME: &'static str = "cpuacct";

    fn files(&self) -> &'static [CfType<Self>] {
        &FILES
    }

    /// `cpuacct_css_alloc`: everything starts at zero (the root's numbers are the
    /// machine's, which in gpc also start at zero). Without the host's CPU count (gpc
    /// calls [`Subsystem::create_on`]), as many CPUs as the parent has, or [`NR_CPUS`].
    fn create(&self, parent: Option<Css<'_, Self>>) -> Result<State> {
        State::new(parent.map_or(NR_CPUS, |p| p.state().nr_cpus()))
    }

    /// `cpuacct_css_alloc` with `alloc_percpu`: counters for the host's CPUs only.
    fn create_on(&self, _parent: Option<Css<'_, Self>>, nr_cpus: usize) -> Result<State> {
        State::new(nr_cpus)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use std::vec::Vec;

    use gpc_core::testing::OneHierarchy;

    use super::*;

    gpc_core::one_hierarchy_harness!(World);

    impl World {
        fn new(cpus: usize) -> World {
            World(OneHierarchy::new(&[&Cpuacct], "cpuacct", cpus, 1).unwrap())
        }

        fn charge(&self, path: &str, cpu: usize, ns: u64, user: bool) {
            let ss = self.gpc.subsys_id("cpuacct").unwrap();
            self.gpc
                .with_container_css(self.h, path, ss, |c| {
                    charge(c.typed::<Cpuacct>().unwrap(), cpu, ns, user)
                })
                .unwrap();
        }
    }

    #[test]
    fn files_and_modes() {
        let w = World::new(2);
        w.gpc.mkdir(w.h, "a").unwrap();
        for dir in ["", "a"] {
            let names = w.ls(dir);
            for f in [
                "cpuacct.stat",
                "cpuacct.usage",
                "cpuacct.usage_all",
                "cpuacct.usage_percpu",
                "cpuacct.usage_percpu_sys",
                "cpuacct.usage_percpu_user",
                "cpuacct.usage_sys",
                "cpuacct.usage_user",
            ] {
                assert!(names.iter().any(|n| n == f), "{dir}: {f}");
            }
        }
        let modes: Vec<u16> = FILES
            .iter()
            .map(|f| gpc_core::files::file_mode(f.read.is_some(), f.write.is_some()))
            .collect();
        assert_eq!(
            modes,
            [0o644, 0o444, 0o444, 0o444, 0o444, 0o444, 0o444, 0o444]
        );
    }

    #[test]
    fn fresh_group_reads_zero() {
        let w = World::new(2);
        w.gpc.mkdir(w.h, "a").unwrap();
        assert_eq!(w.read("a/cpuacct.usage").unwrap(), "0\n");
        assert_eq!(w.read("a/cpuacct.usage_user").unwrap(), "0\n");
        assert_eq!(w.read("a/cpuacct.usage_sys").unwrap(), "0\n");
        assert_eq!(w.read("a/cpuacct.usage_percpu").unwrap(), "0 0 \n");
        assert_eq!(w.read("a/cpuacct.usage_percpu_user").unwrap(), "0 0 \n");
        assert_eq!(w.read("a/cpuacct.usage_percpu_sys").unwrap(), "0 0 \n");
        assert_eq!(
            w.read("a/cpuacct.usage_all").unwrap(),
            "cpu user system\n0 0 0\n1 0 0\n"
        );
        assert_eq!(w.read("a/cpuacct.stat").unwrap(), "user 0\nsystem 0\n");
    }

    #[test]
    fn charges_are_hierarchical_and_per_cpu() {
        let w = World::new(4);
        w.gpc.mkdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        w.gpc.mkdir(w.h, "c").unwrap();
        w.charge("a/b", 1, 30_000_000, true);
        w.charge("a", 3, 20_000_000, false);
        w.charge("c", 0, 5, true);
        assert_eq!(w.read("a/b/cpuacct.usage").unwrap(), "30000000\n");
        assert_eq!(w.read("a/cpuacct.usage").unwrap(), "50000000\n");
        assert_eq!(w.read("cpuacct.usage").unwrap(), "50000005\n");
        assert_eq!(
            w.read("a/cpuacct.usage_percpu").unwrap(),
            "0 30000000 0 20000000 \n"
        );
        assert_eq!(w.read("a/cpuacct.usage_user").unwrap(), "30000000\n");
        assert_eq!(w.read("a/cpuacct.usage_sys").unwrap(), "20000000\n");
        assert_eq!(
            w.read("a/cpuacct.usage_percpu_user").unwrap(),
            "0 30000000 0 0 \n"
        );
        assert_eq!(
            w.read("a/cpuacct.usage_percpu_sys").unwrap(),
            "0 0 0 20000000 \n"
        );
        assert_eq!(
            w.read("a/cpuacct.usage_all").unwrap(),
            "cpu user system\n0 0 0\n1 30000000 0\n2 0 0\n3 0 20000000\n"
        );
        assert_eq!(w.read("a/cpuacct.stat").unwrap(), "user 3\nsystem 2\n");
        assert_eq!(w.read("c/cpuacct.usage").unwrap(), "5\n");
        // Out-of-range CPUs are dropped, never panic.
        w.charge("c", NR_CPUS, 7, true);
        w.charge("c", usize::MAX, 7, true);
        assert_eq!(w.read("c/cpuacct.usage").unwrap(), "5\n");
    }

    #[test]
    fn usage_write_parsing() {
        let w = World::new(2);
        w.gpc.mkdir(w.h, "a").unwrap();
        w.charge("a", 0, 100, true);
        for bad in [
            &b"1\n"[..],
            b"-1",
            b"18446744073709551615",
            b"0x1",
            b"01",
            b"1 ",
        ] {
            assert_eq!(
                w.write("a/cpuacct.usage", bad),
                Err(Error::EINVAL),
                "{bad:?}"
            );
        }
        for bad in [
            &b""[..],
            b"\n",
            b" 0",
            b"0 ",
            b"0\n\n",
            b"0 0",
            b"zero",
            b"0x",
            b"+-0",
        ] {
            // (the empty write is the core's no-op; every other one is a parse error)
            if bad.is_empty() {
                assert_eq!(w.write("a/cpuacct.usage", bad), Ok(()));
            } else {
                assert_eq!(
                    w.write("a/cpuacct.usage", bad),
                    Err(Error::EINVAL),
                    "{bad:?}"
                );
            }
        }
        assert_eq!(
            w.write("a/cpuacct.usage", b"18446744073709551616"),
            Err(Error::ERANGE)
        );
        assert_eq!(
            w.write("a/cpuacct.usage", b"99999999999999999999999x"),
            Err(Error::ERANGE)
        );
        assert_eq!(w.read("a/cpuacct.usage").unwrap(), "100\n");
        for ok in [&b"0"[..], b"0\n", b"+0", b"00", b"0x0", b"0\0junk"] {
            w.charge("a", 1, 100, false);
            assert_eq!(w.write("a/cpuacct.usage", ok), Ok(()), "{ok:?}");
            assert_eq!(w.read("a/cpuacct.usage").unwrap(), "0\n");
            assert_eq!(w.read("a/cpuacct.usage_percpu_sys").unwrap(), "0 0 \n");
        }
        // The parent keeps what it was charged through the child.
        assert_eq!(w.read("cpuacct.usage").unwrap(), "700\n");
        // Writing 0 to the root succeeds and resets nothing.
        assert_eq!(w.write("cpuacct.usage", b"0\n"), Ok(()));
        assert_eq!(w.read("cpuacct.usage").unwrap(), "700\n");
        assert_eq!(w.write("cpuacct.usage", b"5\n"), Err(Error::EINVAL));
        // Read-only files refuse writes.
        assert_eq!(w.write("a/cpuacct.stat", b"0\n"), Err(Error::EINVAL));
        assert_eq!(w.write("a/cpuacct.usage_all", b"0\n"), Err(Error::EINVAL));
    }

    #[test]
    fn stat_is_adjusted_and_monotonic() {
        let w = World::new(1);
        w.gpc.mkdir(w.h, "a").unwrap();
        // Only user time: all of it is user.
        w.charge("a", 0, 250_000_000, true);
        assert_eq!(w.read("a/cpuacct.stat").unwrap(), "user 25\nsystem 0\n");
        w.charge("a", 0, 250_000_000, false);
        // 50/50 split of 500 ms.
        assert_eq!(w.read("a/cpuacct.stat").unwrap(), "user 25\nsystem 25\n");
        // After a reset the old split stays until the run time passes it (prev_cputime).
        w.write("a/cpuacct.usage", b"0").unwrap();
        assert_eq!(w.read("a/cpuacct.usage").unwrap(), "0\n");
        assert_eq!(w.read("a/cpuacct.stat").unwrap(), "user 25\nsystem 25\n");
        w.charge("a", 0, 100_000_000, true);
        assert_eq!(w.read("a/cpuacct.stat").unwrap(), "user 25\nsystem 25\n");
    }

    #[test]
    fn cputime_adjust_cases() {
        let mut p = PrevCputime::default();
        assert_eq!(cputime_adjust(100, 0, 0, &mut p), (100, 0));
        assert_eq!(cputime_adjust(200, 0, 50, &mut p), (100, 100));
        // rtime going backwards: the previous values.
        assert_eq!(cputime_adjust(150, 10, 10, &mut p), (100, 100));
        let mut p = PrevCputime::default();
        assert_eq!(cputime_adjust(300, 1, 2, &mut p), (100, 200));
        // Huge values do not overflow.
        let mut p = PrevCputime::default();
        let (u, s) = cputime_adjust(u64::MAX, u64::MAX, u64::MAX, &mut p);
        assert_eq!(u.wrapping_add(s), u64::MAX);
        assert_eq!(nsec_to_clock_t(9_999_999), 0);
        assert_eq!(nsec_to_clock_t(10_000_000), 1);
        assert_eq!(nsec_to_clock_t(u64::MAX), u64::MAX / 10_000_000);
    }

    #[test]
    fn counters_wrap_like_u64() {
        let w = World::new(1);
        w.gpc.mkdir(w.h, "a").unwrap();
        w.charge("a", 0, u64::MAX, true);
        w.charge("a", 0, 2, true);
        assert_eq!(w.read("a/cpuacct.usage").unwrap(), "1\n");
    }

    /// Per-CPU state is sized by the host's CPUs (Linux `alloc_percpu` in
    /// `cpuacct_css_alloc`, kernel/sched/cpuacct.c: one counter per possible CPU), not by
    /// the most any host may have: 2 CPUs are 6 counters (48 bytes) a container, where
    /// [`NR_CPUS`] were 768 (6 KiB).
    #[test]
    fn per_cpu_state_is_sized_by_the_host() {
        let w = World::new(2);
        w.gpc.mkdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        let ss = w.gpc.subsys_id("cpuacct").unwrap();
        for path in ["", "a", "a/b"] {
            let len = w
                .gpc
                .with_container_css(w.h, path, ss, |c| {
                    c.typed::<Cpuacct>().unwrap().state().percpu.len()
                })
                .unwrap();
            assert_eq!(len, 2 * FIELDS, "{path:?}");
        }
        // A charge on a CPU the host does not have goes nowhere; the host's CPUs count.
        w.charge("a/b", 7, 1000, true);
        w.charge("a/b", 1, 5, true);
        assert_eq!(w.read("a/cpuacct.usage_percpu").unwrap(), "0 5 \n");
        assert_eq!(w.read("a/cpuacct.usage").unwrap(), "5\n");
        // Without the host's count, a child has as many CPUs as its parent.
        w.gpc
            .with_container_css(w.h, "a", ss, |c| {
                let parent = c.typed::<Cpuacct>().unwrap();
                assert_eq!(Cpuacct.create(Some(parent)).unwrap().nr_cpus(), 2);
            })
            .unwrap();
        assert_eq!(Cpuacct.create(None).unwrap().nr_cpus(), NR_CPUS);
    }
}
