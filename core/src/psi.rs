//! Pressure stall information: the arithmetic of Linux's kernel/sched/psi.c (6.18),
//! in integers, per group.
//!
//! A [`PsiGroup`] keeps, per CPU, the time spent in each stall state (`times`, as
//! Linux's `psi_group_cpu`), folds them into the group's totals weighted by each CPU's
//! non-idle time (`collect_percpu_times`), and feeds the running averages every
//! [`PSI_PERIOD_NS`] with the fixed-point `calc_load` of the load average
//! (`update_averages`, `calc_avgs`, `calc_load_n` for periods missed while idle).
//!
//! Time comes in two ways, for two kinds of host:
//!
//! * live task states ([`PsiGroup::change`], Linux `psi_group_change`): the host
//!   reports each change of a task's flags on a CPU; between changes the state of the
//!   CPU lasts (`state_mask` since `state_start`), as in Linux;
//! * stretches ([`PsiGroup::record`]): a host that computes time in stretches (the
//!   simulator) reports how long each CPU was in each state during a stretch; the time
//!   is spread evenly over the stretch, in whole pieces between the averaging work's
//!   runs (see [`PsiGroup::record`]).
//!
//! The averaging work (Linux `psi_avgs_work`, a delayed work item) is simulated: it
//! runs `PSI_FREQ` after the first activity of an idle group, then one jiffy after each
//! `avg_next_update` while the group's CPUs have non-idle time, and stops when a run
//! finds none, exactly as the kernel reschedules it (`nsecs_to_jiffies(next - now) +
//! 1`); catching up is lazy (when the group next gets time or is read). A long steady
//! stretch costs no more than the averages take to settle: once a run of the work
//! changes nothing but the totals, the rest of the stretch is added arithmetically.
//!
//! Nothing here allocates after [`PsiGroup::try_new`].

use alloc::vec::Vec;

use core::fmt::Write as _;

use crate::error::Result;

/// A `*.pressure` file's text (two lines of at most 97 bytes each).
pub type PsiText = arrayvec::ArrayString<256>;

/// `HZ` of the reference configuration: one jiffy in nanoseconds.
pub const JIFFY_NS: u64 = 1_000_000;
/// `psi_period = jiffies_to_nsecs(PSI_FREQ)`, `PSI_FREQ = 2*HZ+1`: 2.001 s.
pub const PSI_PERIOD_NS: u64 = (2 * 1000 + 1) * JIFFY_NS;

/// The states of `enum psi_states` (without `PSI_IRQ_FULL`: the reference kernel has
/// no `CONFIG_IRQ_TIME_ACCOUNTING`).
pub const PSI_IO_SOME: usize = 0;
/// See [`PSI_IO_SOME`].
pub const PSI_IO_FULL: usize = 1;
/// See [`PSI_IO_SOME`].
pub const PSI_MEM_SOME: usize = 2;
/// See [`PSI_IO_SOME`].
pub const PSI_MEM_FULL: usize = 3;
/// See [`PSI_IO_SOME`].
pub const PSI_CPU_SOME: usize = 4;
/// See [`PSI_IO_SOME`].
pub const PSI_CPU_FULL: usize = 5;
/// Some task of the group is not idle on the CPU (the weight of the CPU).
pub const PSI_NONIDLE: usize = 6;
/// `NR_PSI_STATES`.
pub const NR_PSI_STATES: usize = 7;
/// The states with a total and averages (all but `PSI_NONIDLE`).
const NR_STALLS: usize = NR_PSI_STATES - 1;

/// Task counts per CPU (`enum psi_task_count`, include/linux/psi_types.h) and the task
/// flags made of them (`TSK_*`), as [`PsiGroup::change`] takes them.
pub const NR_IOWAIT: usize = 0;
/// See [`NR_IOWAIT`].
pub const NR_MEMSTALL: usize = 1;
/// See [`NR_IOWAIT`].
pub const NR_RUNNING: usize = 2;
/// See [`NR_IOWAIT`].
pub const NR_MEMSTALL_RUNNING: usize = 3;
const NR_PSI_TASK_COUNTS: usize = 4;
/// `TSK_IOWAIT`: the task sleeps waiting for I/O.
pub const TSK_IOWAIT: u32 = 1 << NR_IOWAIT;
/// `TSK_MEMSTALL`: the task stalls on memory (reclaim, a refault, a throttle).
pub const TSK_MEMSTALL: u32 = 1 << NR_MEMSTALL;
/// `TSK_RUNNING`: the task is runnable (on a runqueue, throttled or not).
pub const TSK_RUNNING: u32 = 1 << NR_RUNNING;
/// `TSK_MEMSTALL_RUNNING`: runnable while stalling on memory (a reclaimer).
pub const TSK_MEMSTALL_RUNNING: u32 = 1 << NR_MEMSTALL_RUNNING;
/// `TSK_ONCPU`: the task is the one running on its CPU.
pub const TSK_ONCPU: u32 = 1 << NR_PSI_TASK_COUNTS;
/// Every valid flag.
pub const TSK_ALL: u32 = TSK_IOWAIT | TSK_MEMSTALL | TSK_RUNNING | TSK_MEMSTALL_RUNNING | TSK_ONCPU;

/// `PSI_ONCPU` in a state mask: the CPU runs a task of the group.
const PSI_ONCPU: u32 = 1 << NR_PSI_STATES;

/// include/linux/sched/loadavg.h: `FSHIFT`, `FIXED_1`, and psi.c's decay factors
/// (`1/exp(2s/10s)` etc. in that fixed point).
const FSHIFT: u32 = 11;
const FIXED_1: u64 = 1 << FSHIFT;
const EXP: [u64; 3] = [1677, 1981, 2034];

/// `calc_load` (include/linux/sched/loadavg.h): one step of the exponential average,
/// rounding up while it grows.
pub fn calc_load(load: u64, exp: u64, active: u64) -> u64 {
    let mut newload = load
        .wrapping_mul(exp)
        .wrapping_add(active.wrapping_mul(FIXED_1 - exp));
    if active >= load {
        newload = newload.wrapping_add(FIXED_1 - 1);
    }
    newload / FIXED_1
}

/// `fixed_power_int` (include/linux/sched/loadavg.h... kernel/sched/loadavg.c): `x^n`
/// in fixed point with `frac_bits`, rounding at each step.
fn fixed_power_int(mut x: u64, frac_bits: u32, mut n: u64) -> u64 {
    let mut result = 1u64 << frac_bits;
    let half = 1u64 << (frac_bits - 1);
    if n != 0 {
        loop {
            if n & 1 != 0 {
                result = result.wrapping_mul(x).wrapping_add(half) >> frac_bits;
            }
            n >>= 1;
            if n == 0 {
                break;
            }
            x = x.wrapping_mul(x).wrapping_add(half) >> frac_bits;
        }
    }
    result
}

/// `calc_load_n` (kernel/sched/loadavg.c): `n` steps of [`calc_load`] towards `active`
/// at once.
pub fn calc_load_n(load: u64, exp: u64, active: u64, n: u64) -> u64 {
    calc_load(load, fixed_power_int(exp, FSHIFT, n), active)
}

/// `LOAD_INT` and `LOAD_FRAC`: an average as `%lu.%02lu`.
fn load_int_frac(x: u64) -> (u64, u64) {
    (x >> FSHIFT, ((x & (FIXED_1 - 1)) * 100) >> FSHIFT)
}

/// Linux `test_state`: whether the counts (and the running task's being of the group)
/// put the CPU in `state`.
fn test_state(tasks: &[u32; NR_PSI_TASK_COUNTS], state: usize, oncpu: bool) -> bool {
    let [iowait, memstall, running, memstall_running] = *tasks;
    match state {
        PSI_IO_SOME => iowait != 0,
        PSI_IO_FULL => iowait != 0 && running == 0,
        PSI_MEM_SOME => memstall != 0,
        PSI_MEM_FULL => memstall != 0 && running == memstall_running,
        PSI_CPU_SOME => running > u32::from(oncpu),
        PSI_CPU_FULL => running != 0 && !oncpu,
        PSI_NONIDLE => iowait != 0 || memstall != 0 || running != 0,
        _ => false,
    }
}

/// One CPU of a group (Linux `struct psi_group_cpu`), with the one aggregator the
/// averages use (`PSI_AVGS`; the `PSI_POLL` one serves the real-time triggers, which
/// the simulator does not run).
#[derive(Clone, Debug, Default)]
struct PsiCpu {
    tasks: [u32; NR_PSI_TASK_COUNTS],
    state_mask: u32,
    state_start: u64,
    /// Time in each state, ns (Linux keeps `u32` that wrap between samples; whole
    /// `u64` here give the same deltas).
    times: [u64; NR_PSI_STATES],
    times_prev: [u64; NR_PSI_STATES],
}

impl PsiCpu {
    /// `record_times`: the time since `state_start` to the states of the mask.
    fn record_times(&mut self, now: u64) {
        let delta = now.saturating_sub(self.state_start);
        self.state_start = now;
        for (s, t) in self.times.iter_mut().enumerate() {
            if self.state_mask & (1 << s) != 0 {
                *t = t.saturating_add(delta);
            }
        }
    }

    /// The times as `get_recent_times` sees them at `now`: the live state included.
    fn times_at(&self, now: u64, s: usize) -> u64 {
        let t = self.times.get(s).copied().unwrap_or(0);
        if self.state_mask & (1 << s) != 0 {
            t.saturating_add(now.saturating_sub(self.state_start))
        } else {
            t
        }
    }
}

/// How long one CPU was in each state during a stretch (see [`PsiGroup::record`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PsiCpuTimes {
    /// The CPU.
    pub cpu: usize,
    /// Nanoseconds per state, indexed by `PSI_IO_SOME` .. `PSI_NONIDLE`.
    pub times: [u64; NR_PSI_STATES],
}

/// The resources of the `*.pressure` files (`enum psi_res`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PsiRes {
    /// `io.pressure`, `/proc/pressure/io`.
    Io,
    /// `memory.pressure`, `/proc/pressure/memory`.
    Memory,
    /// `cpu.pressure`, `/proc/pressure/cpu`.
    Cpu,
}

impl PsiRes {
    fn index(self) -> usize {
        match self {
            PsiRes::Io => 0,
            PsiRes::Memory => 1,
            PsiRes::Cpu => 2,
        }
    }
}

/// One group's pressure state (Linux `struct psi_group`, the averaging half).
#[derive(Debug)]
pub struct PsiGroup {
    /// `cgroup.pressure`: accounting on (Linux `psi_group->enabled`).
    enabled: bool,
    cpus: Vec<PsiCpu>,
    /// `total[PSI_AVGS]`: stall time per state, ns.
    total: [u64; NR_STALLS],
    avg_total: [u64; NR_STALLS],
    /// `avg[state][10s, 60s, 300s]` in `FIXED_1` fixed point, percent.
    avg: [[u64; 3]; NR_STALLS],
    avg_next_update: u64,
    avg_last_update: u64,
    /// When the averaging work runs next (`None`: not pending).
    work_at: Option<u64>,
}

impl PsiGroup {
    /// A group of `nr_cpus` CPUs made at `now` (Linux `group_init`: the first average
    /// is due a period later).
    ///
    /// # Errors
    ///
    /// `ENOMEM`.
    pub fn try_new(nr_cpus: usize, now: u64) -> Result<Self> {
        let mut cpus = Vec::new();
        crate::host::alloc::try_reserve_exact(
            &mut cpus,
            nr_cpus.max(1),
            crate::host::alloc::Gfp::KERNEL,
        )?;
        cpus.resize(nr_cpus.max(1), PsiCpu::default());
        Ok(PsiGroup {
            enabled: true,
            cpus,
            total: [0; NR_STALLS],
            avg_total: [0; NR_STALLS],
            avg: [[0; 3]; NR_STALLS],
            avg_next_update: now.saturating_add(PSI_PERIOD_NS),
            avg_last_update: now,
            work_at: None,
        })
    }

    /// Whether accounting is on (`cgroup.pressure`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// `cgroup.pressure` (Linux `cgroup_pressure_write`): off, the CPUs' states stop
    /// counting (the task counts are still kept); on again, each CPU's state is
    /// re-derived and counts from `now` (`psi_cgroup_restart`).
    pub fn set_enabled(&mut self, on: bool, now: u64) {
        if self.enabled == on {
            return;
        }
        self.advance(now, None);
        if on {
            self.enabled = true;
            for c in self.cpus.iter_mut() {
                let oncpu = c.state_mask & PSI_ONCPU != 0;
                let mut mask = c.state_mask & PSI_ONCPU;
                for s in 0..NR_PSI_STATES {
                    if test_state(&c.tasks, s, oncpu) {
                        mask |= 1 << s;
                    }
                }
                c.state_mask = mask;
                c.state_start = now;
            }
            self.wake_clock(now);
        } else {
            for c in self.cpus.iter_mut() {
                if c.state_mask & (1 << PSI_NONIDLE) != 0 {
                    c.record_times(now);
                }
                c.state_mask &= PSI_ONCPU;
            }
            self.enabled = false;
        }
    }

    /// A task's flags changed on `cpu` at `now` (Linux `psi_group_change`): `clear` and
    /// `set` are `TSK_*` flags. Counts that would go below zero stay at zero (Linux
    /// logs "psi: task underflow!" once and does the same).
    pub fn change(&mut self, cpu: usize, clear: u32, set: u32, now: u64) {
        self.advance(now, None);
        let enabled = self.enabled;
        let Some(c) = self.cpus.get_mut(cpu) else {
            return;
        };
        let mut mask = if clear & TSK_ONCPU != 0 {
            0
        } else if set & TSK_ONCPU != 0 {
            PSI_ONCPU
        } else {
            c.state_mask & PSI_ONCPU
        };
        for (t, n) in c.tasks.iter_mut().enumerate() {
            if clear & (1 << t) != 0 {
                *n = n.saturating_sub(1);
            }
            if set & (1 << t) != 0 {
                *n = n.saturating_add(1);
            }
        }
        if !enabled {
            if c.state_mask & (1 << PSI_NONIDLE) != 0 {
                c.record_times(now);
            }
            c.state_mask = mask;
            return;
        }
        let oncpu = mask & PSI_ONCPU != 0;
        for s in 0..NR_PSI_STATES {
            if test_state(&c.tasks, s, oncpu) {
                mask |= 1 << s;
            }
        }
        c.record_times(now);
        c.state_mask = mask;
        self.wake_clock(now);
    }

    /// Adds a stretch of `duration` ns that ended at `end`, in which each listed CPU
    /// spent `times` in the states (the others nothing; `times` is used up: it holds
    /// zeros afterwards). The stretches of a group must
    /// come in the order of time and not overlap; between them the group was idle
    /// (unless live states say otherwise).
    ///
    /// The time is spread over the stretch evenly: each piece between two runs of the
    /// averaging work gets its share of what is left, rounded down, the last piece all
    /// that is left. Hosts whose stretches hold a pattern that repeats faster than the
    /// averaging period (the simulator's rotations and bandwidth periods) get averages
    /// within that pattern's granularity of an exact replay, and exact totals.
    pub fn record(&mut self, end: u64, duration: u64, times: &mut [PsiCpuTimes]) {
        let start = end.saturating_sub(duration);
        self.advance(start, None);
        if !self.enabled || duration == 0 {
            return;
        }
        if times
            .iter()
            .any(|t| t.times.iter().any(|&x| x != 0) && t.cpu < self.cpus.len())
        {
            self.wake_clock(start);
        }
        let mut stretch = Stretch {
            left: end - start,
            times,
        };
        self.advance(end, Some(&mut stretch));
    }

    /// The averaging work is woken by a change at `now` (Linux: `schedule_delayed_work(
    /// &group->avgs_work, PSI_FREQ)` unless pending).
    fn wake_clock(&mut self, now: u64) {
        if self.work_at.is_none() {
            self.work_at = Some(now.saturating_add(PSI_PERIOD_NS));
        }
    }

    /// Adds the next `len` ns of the stretch: each CPU's share of what is left of its
    /// times, rounded down (the last piece gets all that is left, so nothing is lost).
    fn add_piece(&mut self, stretch: &mut Stretch<'_>, len: u64) {
        let len = len.min(stretch.left);
        for t in stretch.times.iter_mut() {
            let Some(c) = self.cpus.get_mut(t.cpu) else {
                continue;
            };
            for (x, left) in c.times.iter_mut().zip(t.times.iter_mut()) {
                let part = portion(*left, len, stretch.left);
                *left -= part;
                *x = x.saturating_add(part);
            }
        }
        stretch.left -= len;
    }

    /// Runs the averaging work that is due up to `until`, with `stretch` (if any, ending
    /// at `until`) supplying the CPUs' times as it goes.
    fn advance(&mut self, until: u64, mut stretch: Option<&mut Stretch<'_>>) {
        let mut at = stretch
            .as_ref()
            .map_or(until, |s| until.saturating_sub(s.left));
        while let Some(w) = self.work_at.filter(|&w| w <= until) {
            let piece = w.saturating_sub(at);
            if let Some(s) = stretch.as_deref_mut() {
                self.add_piece(s, piece);
            }
            at = w;
            let avg_before = self.avg;
            let total_before = self.total;
            self.avgs_work(w);
            // Steady: a whole period whose run changed nothing but the totals (no
            // backlog, averages settled). The later whole periods up to `until` would
            // do the same, so all but the last are added at once.
            let steady = piece == PSI_PERIOD_NS
                && self.work_at == Some(w.saturating_add(PSI_PERIOD_NS))
                && self.avg == avg_before
                && self.avg_total == self.total;
            if !steady {
                continue;
            }
            let k = (until.saturating_sub(w) / PSI_PERIOD_NS).saturating_sub(1);
            if k == 0 {
                continue;
            }
            let span = k.saturating_mul(PSI_PERIOD_NS);
            for ((tot, avg_tot), before) in self
                .total
                .iter_mut()
                .zip(self.avg_total.iter_mut())
                .zip(total_before)
            {
                let inc = tot.saturating_sub(before);
                *tot = tot.saturating_add(inc.saturating_mul(k));
                *avg_tot = *tot;
            }
            if let Some(s) = stretch.as_deref_mut() {
                self.add_piece(s, span);
            }
            // The live states ran on; each CPU's last sample is now at the end.
            let end = w.saturating_add(span);
            for c in self.cpus.iter_mut() {
                for s in 0..NR_PSI_STATES {
                    c.times_prev[s] = c.times_at(end, s);
                }
            }
            self.avg_next_update = self.avg_next_update.saturating_add(span);
            self.avg_last_update = self.avg_last_update.saturating_add(span);
            self.work_at = Some(end.saturating_add(PSI_PERIOD_NS));
            at = end;
        }
        if let Some(s) = stretch {
            let rest = s.left;
            self.add_piece(s, rest);
        }
    }

    /// `psi_avgs_work` at `now`.
    fn avgs_work(&mut self, now: u64) {
        let changed = self.collect(now);
        if now >= self.avg_next_update {
            self.avg_next_update = self.update_averages(now);
        }
        self.work_at = if changed {
            let wait = self.avg_next_update.saturating_sub(now) / JIFFY_NS + 1;
            Some(now.saturating_add(wait.saturating_mul(JIFFY_NS)))
        } else {
            None
        };
    }

    /// `collect_percpu_times(group, PSI_AVGS)`: folds each CPU's new time into the
    /// totals, weighted by its non-idle jiffies. Whether some CPU had non-idle time
    /// (the work's reason to run again).
    fn collect(&mut self, now: u64) -> bool {
        let (adds, changed) = self.recent(now);
        for (tot, add) in self.total.iter_mut().zip(adds) {
            *tot = tot.saturating_add(add);
        }
        changed
    }

    /// What [`PsiGroup::collect`] adds to the totals at `now` (`get_recent_times` on
    /// every CPU, which moves each CPU's last sample to `now`), and whether some CPU had
    /// non-idle time.
    fn recent(&mut self, now: u64) -> ([u64; NR_STALLS], bool) {
        let mut deltas = [0u128; NR_STALLS];
        let mut nonidle_total = 0u128;
        let mut changed = false;
        for c in self.cpus.iter_mut() {
            let mut times = [0u64; NR_PSI_STATES];
            for (s, t) in times.iter_mut().enumerate() {
                let now_t = c.times_at(now, s);
                *t = now_t.saturating_sub(c.times_prev[s]);
                c.times_prev[s] = now_t;
            }
            changed |= times[PSI_NONIDLE] != 0;
            let nonidle = u128::from(times[PSI_NONIDLE] / JIFFY_NS);
            nonidle_total += nonidle;
            for (d, &t) in deltas.iter_mut().zip(times.iter()) {
                *d += u128::from(t) * nonidle;
            }
        }
        let mut adds = [0u64; NR_STALLS];
        for (a, d) in adds.iter_mut().zip(deltas) {
            *a = u64::try_from(d / nonidle_total.max(1)).unwrap_or(u64::MAX);
        }
        (adds, changed)
    }

    /// `update_averages`: the running averages at `now`; returns the next due time.
    fn update_averages(&mut self, now: u64) -> u64 {
        let expires = self.avg_next_update;
        let mut missed = 0u64;
        if now.saturating_sub(expires) >= PSI_PERIOD_NS {
            missed = (now - expires) / PSI_PERIOD_NS;
        }
        let next = expires.saturating_add(missed.saturating_add(1).saturating_mul(PSI_PERIOD_NS));
        let period = now.saturating_sub(
            self.avg_last_update
                .saturating_add(missed.saturating_mul(PSI_PERIOD_NS)),
        );
        self.avg_last_update = now;
        for s in 0..NR_STALLS {
            let sample = self.total[s].saturating_sub(self.avg_total[s]).min(period);
            self.avg_total[s] = self.avg_total[s].saturating_add(sample);
            let avg = &mut self.avg[s];
            // calc_avgs
            if missed != 0 {
                for (a, &e) in avg.iter_mut().zip(EXP.iter()) {
                    *a = calc_load_n(*a, e, 0, missed);
                }
            }
            let pct = (u128::from(sample) * 100)
                .checked_div(u128::from(period))
                .map_or(0, |p| u64::try_from(p).unwrap_or(u64::MAX))
                .saturating_mul(FIXED_1);
            for (a, &e) in avg.iter_mut().zip(EXP.iter()) {
                *a = calc_load(*a, e, pct);
            }
        }
        next
    }

    /// `psi_show` at `now`: the text of the `some` and `full` lines of `res`, with the
    /// averages brought up to date; `system` leaves the CPU `full` line at zero ("CPU FULL is undefined at the
    /// system level"). Made in a buffer of its own, so that a caller holding a spinning
    /// lock need not allocate.
    pub fn show(&mut self, res: PsiRes, system: bool, now: u64) -> PsiText {
        // As psi_show: the averaging work that was due, then its own collect and
        // update. A read changes the figures to come, as in Linux: it folds the time
        // so far into the totals and may take a sample (and start the next) early.
        self.advance(now, None);
        self.collect(now);
        if now >= self.avg_next_update {
            self.avg_next_update = self.update_averages(now);
        }
        let (shown_avg, shown_total) = (self.avg, self.total);
        let mut text = PsiText::new();
        for full in 0..2usize {
            let s = res.index() * 2 + full;
            let (avg, total) = if system && res == PsiRes::Cpu && full == 1 {
                ([0; 3], 0)
            } else {
                (
                    shown_avg.get(s).copied().unwrap_or([0; 3]),
                    shown_total.get(s).copied().unwrap_or(0) / 1000,
                )
            };
            let [a, b, c] = avg.map(load_int_frac);
            // At most 2 * 97 bytes (u64 figures): the text always fits.
            let _ = writeln!(
                text,
                "{} avg10={}.{:02} avg60={}.{:02} avg300={}.{:02} total={}",
                if full == 1 { "full" } else { "some" },
                a.0,
                a.1,
                b.0,
                b.1,
                c.0,
                c.1,
                total
            );
        }
        text
    }

    /// The total stall time of `state` in ns (`PSI_IO_SOME` .. `PSI_CPU_FULL`), as the
    /// last update left it.
    pub fn total_ns(&self, state: usize) -> u64 {
        self.total.get(state).copied().unwrap_or(0)
    }

    /// The averages of `state` (10 s, 60 s, 300 s) in `FIXED_1` fixed point.
    pub fn averages(&self, state: usize) -> [u64; 3] {
        self.avg.get(state).copied().unwrap_or([0; 3])
    }
}

/// A stretch being added (see [`PsiGroup::record`]).
struct Stretch<'a> {
    /// The time of the stretch not yet added.
    left: u64,
    /// What is left to add per CPU.
    times: &'a mut [PsiCpuTimes],
}

/// `total * len / duration`, rounded down.
fn portion(total: u64, len: u64, duration: u64) -> u64 {
    if len >= duration {
        return total;
    }
    let p = u128::from(total) * u128::from(len) / u128::from(duration.max(1));
    u64::try_from(p).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use alloc::string::String;

    const S: u64 = 1_000_000_000;

    fn show(g: &mut PsiGroup, res: PsiRes, system: bool, now: u64) -> String {
        String::from(g.show(res, system, now).as_str())
    }

    fn cpu(cpu: usize, pairs: &[(usize, u64)]) -> PsiCpuTimes {
        let mut t = PsiCpuTimes {
            cpu,
            times: [0; NR_PSI_STATES],
        };
        for &(s, ns) in pairs {
            t.times[s] = ns;
        }
        t
    }

    #[test]
    fn psi_fixed_point_matches_linux() {
        // Five samples at 100% (pct = 100 * FIXED_1) from zero, computed by hand with
        // include/linux/sched/loadavg.h's calc_load: 129406, 31380, 6907, i.e.
        // 63.18 / 15.32 / 3.37 (100 * (1 - e^-1) = 63.2 for the 10 s average).
        let mut a = [0u64; 3];
        for _ in 0..5 {
            for (x, &e) in a.iter_mut().zip(EXP.iter()) {
                *x = calc_load(*x, e, 100 * FIXED_1);
            }
        }
        assert_eq!(a, [129406, 31380, 6907]);
        assert_eq!(load_int_frac(129406), (63, 18));
        // calc_load_n over one period is calc_load; over none it changes nothing.
        for e in EXP {
            assert_eq!(calc_load_n(129406, e, 0, 1), calc_load(129406, e, 0));
            assert_eq!(calc_load_n(129406, e, 0, 0), 129406);
        }
        // (1677/2048)^2 in fixed point with rounding: 1677*1677 = 2812329,
        // (2812329 + 1024) >> 11 = 1373.
        assert_eq!(fixed_power_int(1677, FSHIFT, 2), 1373);
    }

    #[test]
    fn psi_live_two_tasks_one_cpu() {
        // Two runnable tasks on one CPU from t = 0, one of them running: CPU some
        // all the time, full never. The averaging work runs at 2.001 s, then a jiffy
        // after each due time (4.003, 6.004, 8.005, 10.006 s): five samples of 100%.
        let mut g = PsiGroup::try_new(2, 0).unwrap();
        g.change(0, 0, TSK_RUNNING | TSK_ONCPU, 0);
        g.change(0, 0, TSK_RUNNING, 0);
        assert_eq!(
            show(&mut g, PsiRes::Cpu, false, 12 * S),
            "some avg10=63.18 avg60=15.32 avg300=3.37 total=12000000\n\
             full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
        );
        assert_eq!(
            show(&mut g, PsiRes::Memory, false, 12 * S),
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n\
             full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
        );
        // At the system level the CPU full line is always zero.
        let mut sys = PsiGroup::try_new(1, 0).unwrap();
        sys.change(0, 0, TSK_RUNNING, 0);
        let out = show(&mut sys, PsiRes::Cpu, true, 12 * S);
        assert!(out.starts_with("some avg10=63.18 "), "{out}");
        assert!(
            out.ends_with("full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
            "{out}"
        );
        let mut cg = PsiGroup::try_new(1, 0).unwrap();
        cg.change(0, 0, TSK_RUNNING, 0);
        let out = show(&mut cg, PsiRes::Cpu, false, 12 * S);
        assert!(
            out.ends_with("full avg10=63.18 avg60=15.32 avg300=3.37 total=12000000\n"),
            "{out}"
        );
    }

    #[test]
    fn psi_stretch_equals_live() {
        let mut g = PsiGroup::try_new(2, 0).unwrap();
        let mut t = [cpu(0, &[(PSI_CPU_SOME, 12 * S), (PSI_NONIDLE, 12 * S)])];
        g.record(12 * S, 12 * S, &mut t);
        assert_eq!(t[0].times, [0; NR_PSI_STATES]);
        assert_eq!(
            show(&mut g, PsiRes::Cpu, false, 12 * S),
            "some avg10=63.18 avg60=15.32 avg300=3.37 total=12000000\n\
             full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
        );
        // In pieces: the same.
        let mut h = PsiGroup::try_new(2, 0).unwrap();
        for i in 0..12 {
            let mut t = [cpu(0, &[(PSI_CPU_SOME, S), (PSI_NONIDLE, S)])];
            h.record((i + 1) * S, S, &mut t);
        }
        assert_eq!(
            show(&mut h, PsiRes::Cpu, false, 12 * S),
            show(&mut g, PsiRes::Cpu, false, 12 * S)
        );
    }

    #[test]
    fn psi_weighted_by_nonidle() {
        // CPU 0 stalls all the time, CPU 1 runs without a stall: half of the
        // potential is lost (psi.c's tSOME = sum(tSOME[i] * tNONIDLE[i]) / tNONIDLE).
        let mut g = PsiGroup::try_new(2, 0).unwrap();
        let mut t = [
            cpu(0, &[(PSI_MEM_SOME, 12 * S), (PSI_NONIDLE, 12 * S)]),
            cpu(1, &[(PSI_NONIDLE, 12 * S)]),
        ];
        g.record(12 * S, 12 * S, &mut t);
        let out = show(&mut g, PsiRes::Memory, false, 12 * S);
        assert!(out.starts_with("some avg10="), "{out}");
        assert!(out.contains(" total=6000000\n"), "{out}");
        // An idle CPU weighs nothing.
        let mut h = PsiGroup::try_new(2, 0).unwrap();
        let mut t = [cpu(0, &[(PSI_MEM_SOME, 12 * S), (PSI_NONIDLE, 12 * S)])];
        h.record(12 * S, 12 * S, &mut t);
        let out = show(&mut h, PsiRes::Memory, false, 12 * S);
        assert!(out.starts_with("some avg10=63.18 avg60=15.32 avg300=3.37 total=12000000\n"));
    }

    #[test]
    fn psi_long_stretch_settles_and_decays() {
        // 10^6 s at 100%: the averages settle at 100.00 (calc_load's fixed point from
        // below is the sample itself); computed in a few thousand periods, not 10^6/2.
        let mut g = PsiGroup::try_new(1, 0).unwrap();
        let long = 1_000_000 * S;
        let mut t = [cpu(0, &[(PSI_CPU_SOME, long), (PSI_NONIDLE, long)])];
        g.record(long, long, &mut t);
        assert_eq!(
            show(&mut g, PsiRes::Cpu, false, long),
            "some avg10=100.00 avg60=100.00 avg300=100.00 total=1000000000000\n\
             full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
        );
        // Idle 10 s later: the 10 s average has decayed by about e^-1 (five periods
        // of 2 s: 100 * (1677/2048)^5, rounded as calc_load_n does).
        let out = show(&mut g, PsiRes::Cpu, false, long + 10 * S);
        let avg10: f64 = out["some avg10=".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((30.0..45.0).contains(&avg10), "{out}");
        assert!(out.contains("total=1000000000000\n"), "{out}");
        // And a day later, nothing is left of the 10 s and 60 s averages.
        let out = show(&mut g, PsiRes::Cpu, false, long + 86_400 * S);
        assert!(out.starts_with("some avg10=0.00 avg60=0.00 "), "{out}");
    }

    #[test]
    fn psi_read_takes_a_due_sample_as_psi_show_does() {
        // A group made at 0 that stalls from 4 s to 5 s. Read at 4 s, the first sample
        // (due since 2.001 s, no work ran: the group was idle) is taken then, with
        // nothing in it, so the next read's sample is the 1 s of stall in 1 s: 100%,
        // avg10 18.11. Not read at 4 s, the 5 s read takes one sample over 2.999 s
        // (one period missed): 33%, avg10 5.97.
        let mut a = PsiGroup::try_new(1, 0).unwrap();
        let mut b = PsiGroup::try_new(1, 0).unwrap();
        let _ = show(&mut a, PsiRes::Cpu, false, 4 * S);
        for g in [&mut a, &mut b] {
            let mut t = [cpu(0, &[(PSI_CPU_SOME, S), (PSI_NONIDLE, S)])];
            g.record(5 * S, S, &mut t);
        }
        assert!(show(&mut a, PsiRes::Cpu, false, 5 * S).starts_with("some avg10=18.11 "));
        assert!(show(&mut b, PsiRes::Cpu, false, 5 * S).starts_with("some avg10=5.97 "));
    }

    #[test]
    fn psi_disabled_stops_accounting() {
        let mut g = PsiGroup::try_new(1, 0).unwrap();
        g.change(0, 0, TSK_RUNNING, 0);
        g.set_enabled(false, 3 * S);
        assert!(!g.enabled());
        let out = show(&mut g, PsiRes::Cpu, false, 20 * S);
        assert!(out.contains("total=3000000\n"), "{out}");
        let mut t = [cpu(0, &[(PSI_CPU_SOME, S), (PSI_NONIDLE, S)])];
        g.record(21 * S, S, &mut t);
        // On again: the task still counted starts stalling from now.
        g.set_enabled(true, 21 * S);
        let out = show(&mut g, PsiRes::Cpu, false, 22 * S);
        assert!(
            out.contains("some") && out.contains("total=4000000\n"),
            "{out}"
        );
    }

    #[test]
    fn psi_underflow_and_bad_cpu_are_harmless() {
        let mut g = PsiGroup::try_new(1, 0).unwrap();
        g.change(0, TSK_RUNNING, 0, S);
        g.change(7, 0, TSK_RUNNING, S);
        let mut t = [cpu(9, &[(PSI_CPU_SOME, S)])];
        g.record(2 * S, S, &mut t);
        let out = show(&mut g, PsiRes::Cpu, false, 5 * S);
        assert!(out.starts_with("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"));
    }
}
