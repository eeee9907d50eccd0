//! The deterministic scheduler behind `run MS`.
//!
//! The model follows the structure of Linux's CFS with group scheduling, reduced to what
//! a script can observe, and computed exactly in integers so that a script prints the
//! same numbers on every run and every platform:
//!
//! * Time advances in ticks of 1 ms. In each tick every CPU has 1 ms to give away.
//! * The runnable tasks of a tick are the busy ones that are not frozen and not in a
//!   throttled `cpu` group (the group itself or an ancestor). The caller filters busy and
//!   frozen; throttling is decided here.
//! * Placement (Linux: per-CPU runqueues and the load balancer): tasks are placed one by
//!   one, most constrained first (fewest allowed CPUs), then heaviest first (the share of
//!   the machine the group hierarchy entitles them to); each goes to the allowed CPU with
//!   the least load placed so far (lowest CPU on a tie). A task never runs outside its
//!   cpuset's effective CPUs. Among alike tasks (same CPU count and entitlement) the
//!   order rotates every tick, as migrations would even it out: three tasks of one group
//!   on two CPUs get exactly 2/3 of a CPU each over every three ticks.
//! * Per-CPU fair share (Linux `calc_group_shares`): on each CPU a group's entity weighs
//!   `shares * load_here / load_everywhere` (clamped to `[2, shares]`), where a group's
//!   load on a CPU is 1024 per task of its own there plus the weights of its child groups
//!   there. A CPU's 1 ms is split among the entities of the root by weight, each group's
//!   part among its own entities by weight, and so on down to the tasks (tasks of a group
//!   weigh 1024 each, as nice-0 tasks do). Shares are exact: two groups of 2048 and 1024
//!   shares with one task each on one CPU get 2/3 and 1/3 of it.
//! * Nanoseconds are split with the largest-remainder method, so a CPU with runnable
//!   tasks gives away exactly 1 ms per tick, no more and no less. The ticks of a stretch
//!   (below) that share a placement are split together, not tick by tick, so a share
//!   that is no whole number of nanoseconds per tick carries no rounding: 2/3 of
//!   `run 3000` is exactly 2000 ms. Ties go to alike tasks in turn.
//! * Bandwidth (Linux CFS bandwidth control): a group with a quota may run `quota` of CPU
//!   time (all CPUs together, its descendants included) per `period`. The tick that
//!   reaches the quota is cut short for the group's tasks (the rest of that tick is
//!   lost), and the group is throttled until its period ends. Periods start when the
//!   bandwidth is first seen (or changed) and follow each other back to back. A period
//!   in which the group had a runnable task counts in `nr_periods`; one in which it was
//!   throttled counts in `nr_throttled`, and every tick a group spends throttled with `n`
//!   runnable tasks on `c` usable CPUs adds `min(n, c)` ms to its throttled time.
//! * A period holds the ticks that begin in it (a tick that straddles a boundary counts
//!   in the period it began in). A group whose quota cannot bind in a period (the most
//!   its tasks can get in a tick under the placement of the moment, times the ticks of
//!   the period, stays below the quota; see below) is *free*: the end of such a period
//!   is no scheduling event but only counted (`nr_periods`), and the CPU time of the
//!   ticks of the current period that a stretch holds is split as a stretch of its own,
//!   to be charged to the group's quota. A period that may bind ends its stretch, as
//!   does a quota running out. (Where stretches end only moves the odd nanosecond of
//!   the splits: cutting them at every period boundary instead would give the same
//!   counters and CPU times within a few ns per stretch.)
//!
//! # Cost
//!
//! The placement repeats with a short period `p` (the least common multiple of the sizes
//! of the classes of alike tasks, at most [`MAX_ROTATION_PERIOD`]), so a run is computed
//! per *stretch*: the ticks between two scheduling events (the end of a bandwidth
//! period that may bind, a quota running out, the end of the run). A stretch of `k`
//! ticks needs the placements of `min(k, p)` rotations, each split once for all its
//! ticks (a group that may run out of quota within the stretch adds the placements up
//! to the tick where it does, a free group whose period began within it those of the
//! ticks since);
//! one placement costs `O(T + G + C)` for `T` runnable tasks, `G` groups and `C` CPUs
//! (two counting sorts, no comparison sort), after an `O(T log T)` sort into classes
//! once per set of runnable tasks. So `run MS` costs `O((T + G + C) x E)` where `E` is
//! the number of placements its stretches need, never more than `p` per stretch, and
//! independent of `MS` for a run without bandwidth periods.
//!
//! Nothing is kept per rotation or per tick: the memory of a run is `O(T x C + G + B x
//! min(p, P))` (`B` the groups with a quota, `P` the ticks of their period; the CPU
//! time per task and CPU is a dense table up to 16 CPUs, a list of the CPUs each task
//! ran on beyond), whatever `MS`. Every allocation is fallible: `ENOMEM` leaves the
//! bandwidth states and the clock as they were.
//!
//! Which periods may bind: the most a group's tasks get in a tick is at most a tick per
//! CPU they run on, and at most the most one tick of any rotation gives them plus 2 ns
//! per level of the group tree and CPU (each split on the way down rounds by less than
//! 1 ns, and a stretch's `c` ticks split at once give at most `c` times one tick's part
//! plus that); the latter costs `p` placements, once per phase. A period of `q` whole
//! ticks and `r` ns holds `q` or `q + 1` ticks; when only the longer ones may bind, the
//! next of them is found arithmetically (the distance from a period's start to the next
//! tick shrinks by `r` from one period to the next). So groups whose quota never binds
//! cost nothing per period, and one that binds in one period out of a thousand (a
//! period of 1.001 ms against a quota a little above what one tick gives) costs a few
//! stretches per thousand periods.
//!
//! With bandwidth periods that may bind, a run would otherwise cost at least one
//! stretch per period (10^8 of them for `run 100000000` under a 1 ms period that binds
//! every time). The state between stretches (every group's position in its period,
//! quota used, throttling, the rotation) is small, so the run watches it for a repeat (Brent's cycle finding, one saved state): once the
//! state at the start of a stretch equals one seen before, everything from there on
//! repeats with that cycle, so the run simulates the cycle once more to learn what it
//! adds (CPU time per task and CPU, closed periods) and then jumps over all the whole
//! cycles that fit before the end at once, arithmetically, before simulating the rest.
//! A steady state of `c` ticks is thus found within a few cycles, and the run costs
//! `O((T + G + C) x c)` however long it is.
//!
//! Groups whose periods may bind and do not repeat together (periods of 1.001, 1.003
//! and 1.007 ms whose quotas bind now and then: their combined state does not repeat
//! within 10^9 ms) leave a cost linear in the length of the run. That is why one run
//! does at most [`WORK_BUDGET`] units of work (some seconds of CPU time in a release
//! build at most): a run that needs more is refused with `E2BIG` before anything
//! changes, so that a command's time is bounded by its input, not by the simulated
//! duration, and a script splits such a run into shorter ones.

use alloc::vec::Vec;

use gpc_core::{Error, Result};

mod psi;
#[cfg(test)]
mod reference;

pub use psi::{PsiCpuState, PsiTree};

/// One tick, in nanoseconds.
pub const TICK_NS: u64 = 1_000_000;
/// The load weight of a nice-0 task (Linux `NICE_0_LOAD` without the fixed-point shift).
pub const NICE_0_WEIGHT: u64 = 1024;
/// The smallest weight a group entity gets on a CPU (Linux `MIN_SHARES`).
pub const MIN_SHARES: u64 = 2;
/// The most CPUs the scheduler handles (Linux `NR_CPUS` as gpc-core's masks have it).
pub const MAX_CPUS: usize = gpc_subsystems::parse::NR_CPUS;

/// A set of CPUs, as the cpuset controller gives it.
pub use gpc_subsystems::parse::CpuMask;

/// The mask of CPUs `0..n`.
pub fn all_cpus(n: usize) -> CpuMask {
    CpuMask::full(n.min(MAX_CPUS))
}

/// A `cpu` group (container of the hierarchy the `cpu` controller is bound to, or the
/// root state while it is not mounted). Index 0 of a group list is the root; a parent
/// always comes before its children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The parent's index (`None` for the root).
    pub parent: Option<usize>,
    /// `cpu.shares`.
    pub shares: u64,
    /// `(quota, period)` in nanoseconds, if the group has a quota.
    pub bandwidth: Option<(u64, u64)>,
}

/// The bandwidth bookkeeping of one group, kept by the machine between `run` commands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BwState {
    /// The `(quota, period)` this state was made for; other values start afresh.
    pub config: (u64, u64),
    /// When the current period began (simulated time, ns).
    pub period_start: u64,
    /// CPU time used in the current period, ns.
    pub used: u64,
    /// Throttled until the period ends.
    pub throttled: bool,
    /// The group had a runnable task in the current period.
    pub active: bool,
    /// The group was throttled in the current period.
    pub throttled_in_period: bool,
    /// Throttled time gathered in the current period, ns.
    pub throttled_ns: u64,
}

impl BwState {
    /// A fresh state for `config`, with a period starting at `now`.
    pub fn new(config: (u64, u64), now: u64) -> Self {
        BwState {
            config,
            period_start: now,
            ..BwState::default()
        }
    }
}

/// A closed bandwidth period, to report to the `cpu` controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PeriodRecord {
    /// The group's index.
    pub group: usize,
    /// The group was throttled in this period.
    pub throttled: bool,
    /// Throttled time in this period, ns.
    pub throttled_ns: u64,
}

/// A task that wants the CPU (busy and not frozen).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Runnable {
    /// Its pid, for deterministic tie-breaking.
    pub pid: u32,
    /// Index of its `cpu` group.
    pub group: usize,
    /// The CPUs it may run on (its cpuset's effective CPUs).
    pub allowed: CpuMask,
}

/// The CPU time one task got in a run: `(cpu, ns)`, in CPU order, only CPUs it ran on.
pub type CpuTimes = Vec<(usize, u64)>;

/// What a run gave each task: nanoseconds per CPU.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// `per_task[i]`: what task `i` of the input got, per CPU.
    pub per_task: Vec<CpuTimes>,
    /// The bandwidth periods that ended during the run, each with how many times it
    /// happened (in no particular order: each only adds to counters).
    pub periods: Vec<(PeriodRecord, u64)>,
    /// The units of work the run took (at most the budget it was given).
    pub work: u64,
    /// With a [`PsiTree`]: per pressure group and CPU (`[node * nr_cpus + cpu]`), the
    /// time its tasks were runnable there, waited there, and waited with none of them
    /// running (see `sched/psi.rs`); empty without.
    pub psi: Vec<PsiCpuState>,
}

impl Usage {
    /// The CPU time task `i` got on all CPUs together, ns.
    pub fn total(&self, i: usize) -> u64 {
        self.per_task.get(i).map_or(0, |times| {
            times
                .iter()
                .fold(0u64, |sum, &(_, ns)| sum.saturating_add(ns))
        })
    }
}

/// One tick's placement and split: for each runnable task (by index), its CPU and ns.
pub type Allocation = Vec<Option<(usize, u64)>>;

/// The longest cycle of rotations [`simulate`] goes through (the least common multiple of
/// the sizes of the classes of alike tasks, when that is smaller).
pub const MAX_ROTATION_PERIOD: usize = 5040;

/// Makes `v` hold `len` copies of `value`, reusing its buffer.
fn refill<T: Clone>(v: &mut Vec<T>, value: T, len: usize) -> Result {
    v.clear();
    v.try_reserve(len)?;
    v.resize(len, value);
    Ok(())
}

/// `Vec::push`, `ENOMEM` instead of aborting.
fn push<T>(v: &mut Vec<T>, value: T) -> Result {
    v.try_reserve(1)?;
    v.push(value);
    Ok(())
}

/// The parent of group `g`, if it is a valid one (an earlier index).
fn parent_of(groups: &[Group], g: usize) -> Option<usize> {
    groups.get(g).and_then(|x| x.parent).filter(|&p| p < g)
}

/// The weight of group `g` as an entity of its parent.
fn shares_of(groups: &[Group], g: usize) -> u64 {
    groups
        .get(g)
        .map_or(NICE_0_WEIGHT, |x| x.shares.max(MIN_SHARES))
}

/// The CPUs of `allowed` that exist; all of them if none does (a task always runs
/// somewhere).
fn usable(allowed: &CpuMask, full: &CpuMask) -> CpuMask {
    let m = allowed.and(full);
    if m.is_empty() {
        *full
    } else {
        m
    }
}

/// Whether group `g` is `anc` or below it.
fn is_under(groups: &[Group], mut g: usize, anc: usize) -> bool {
    loop {
        if g == anc {
            return true;
        }
        match parent_of(groups, g) {
            Some(p) => g = p,
            None => return false,
        }
    }
}

/// The buffers of [`split_into`].
#[derive(Default)]
struct SplitScratch {
    rems: Vec<u128>,
    order: Vec<usize>,
}

/// Splits `amount` among `weights` in proportion, exactly (largest remainder; ties go
/// to the earlier entry).
///
/// # Errors
///
/// `ENOMEM`.
pub fn split(amount: u64, weights: &[u64]) -> Result<Vec<u64>> {
    let mut parts = Vec::new();
    split_into(amount, weights, &mut parts, &mut SplitScratch::default())?;
    Ok(parts)
}

/// [`split`] into `parts`, with reused buffers.
fn split_into(
    amount: u64,
    weights: &[u64],
    parts: &mut Vec<u64>,
    scratch: &mut SplitScratch,
) -> Result {
    let total: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if total == 0 {
        return refill(parts, 0, weights.len());
    }
    parts.clear();
    parts.try_reserve(weights.len())?;
    let rems = &mut scratch.rems;
    rems.clear();
    rems.try_reserve(weights.len())?;
    let mut given: u64 = 0;
    // 64-bit division where everything fits (the usual case: it is much cheaper).
    let small = u64::try_from(total).ok().filter(|_| {
        let most = weights.iter().copied().max().unwrap_or(0);
        amount.checked_mul(most).is_some()
    });
    for &w in weights {
        let (part, rem) = match small {
            Some(total64) => {
                let num = amount * w;
                (num / total64, u128::from(num % total64))
            }
            None => {
                let num = u128::from(amount) * u128::from(w);
                (u64::try_from(num / total).unwrap_or(u64::MAX), num % total)
            }
        };
        given = given.saturating_add(part);
        parts.push(part);
        rems.push(rem);
    }
    let left = amount.saturating_sub(given);
    if left > 0 {
        let order = &mut scratch.order;
        order.clear();
        order.try_reserve(weights.len())?;
        order.extend((0..weights.len()).filter(|&i| weights.get(i).is_some_and(|&w| w > 0)));
        // The `left` first entries by (remainder descending, index) take one more each.
        // Which ones they are is all that counts, and the order is total (the index
        // breaks ties), so a selection (linear, no allocation) finds them as a sort would.
        let by_rem = |a: &usize, b: &usize| rems.get(*b).cmp(&rems.get(*a)).then(a.cmp(b));
        let take = usize::try_from(left).unwrap_or(usize::MAX).min(order.len());
        if take > 0 && take < order.len() {
            order.select_nth_unstable_by(take - 1, by_rem);
        }
        for &i in order.iter().take(take) {
            if let Some(p) = parts.get_mut(i) {
                *p += 1;
            }
        }
    }
    Ok(())
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// What does not change while the same tasks are runnable: the tasks of one phase (one
/// combination of throttled groups), their placement keys and classes.
struct Layout {
    /// Indexes (into the run's tasks) of the runnable tasks.
    eligible: Vec<usize>,
    /// Their groups.
    group: Vec<usize>,
    /// The CPUs they may use, by index into `masks` (tasks mostly share a few).
    mask_of: Vec<u32>,
    masks: Vec<CpuMask>,
    /// Their entitlement (fixed point), the load placement adds for them.
    entitled: Vec<u128>,
    /// Positions into `eligible` in placement order: the classes of alike tasks one after
    /// the other, fewest CPUs first, then largest entitlement, each class in pid order.
    order: Vec<usize>,
    /// Where each class of `order` ends.
    class_ends: Vec<usize>,
    /// After how many rotations the placement repeats.
    period: usize,
    /// How many of the runnable tasks each group has, its descendants' included.
    below: Vec<u64>,
}

impl Layout {
    /// The layout of the tasks of `tasks` that `runnable` keeps.
    fn new(
        groups: &[Group],
        tasks: &[Runnable],
        runnable: impl Fn(&Runnable) -> bool,
        nr_cpus: usize,
    ) -> Result<Self> {
        let ng = groups.len();
        let full = all_cpus(nr_cpus);
        let mut eligible = Vec::new();
        let mut group = Vec::new();
        let mut mask_of = Vec::new();
        let mut masks = Vec::new();
        let mut mask_index: hashbrown::HashMap<CpuMask, u32> = hashbrown::HashMap::new();
        for (i, t) in tasks.iter().enumerate() {
            if runnable(t) {
                push(&mut eligible, i)?;
                push(&mut group, t.group)?;
                let mask = usable(&t.allowed, &full);
                let at = match mask_index.get(&mask) {
                    Some(&at) => at,
                    None => {
                        let at = u32::try_from(masks.len()).map_err(|_| Error::ENOMEM)?;
                        mask_index.try_reserve(1)?;
                        push(&mut masks, mask)?;
                        mask_index.insert(mask, at);
                        at
                    }
                };
                push(&mut mask_of, at)?;
            }
        }
        drop(mask_index);
        let m = eligible.len();
        let mask = |j: usize| {
            mask_of
                .get(j)
                .and_then(|&at| masks.get(at as usize))
                .copied()
                .unwrap_or_default()
        };

        // Which groups have runnable tasks below them, and how many tasks each holds.
        let mut active = Vec::new();
        refill(&mut active, false, ng)?;
        let mut own = Vec::new();
        refill(&mut own, 0u64, ng)?;
        for &g0 in &group {
            if let Some(n) = own.get_mut(g0) {
                *n += 1;
            }
            let mut g = Some(g0);
            while let Some(x) = g {
                match active.get_mut(x) {
                    Some(a) if !*a => *a = true,
                    _ => break,
                }
                g = parent_of(groups, x);
            }
        }
        // Entitlement (fixed point) of each group: its weight over the weights of its
        // active siblings (child groups by shares, tasks of the parent at 1024 each).
        const ONE: u128 = 1 << 40;
        let mut level_weight = Vec::new();
        level_weight.try_reserve(ng)?;
        level_weight.extend(
            own.iter()
                .map(|&n| u128::from(n) * u128::from(NICE_0_WEIGHT)),
        );
        for g in 1..ng {
            if active.get(g).copied().unwrap_or(false) {
                if let Some(w) = parent_of(groups, g).and_then(|p| level_weight.get_mut(p)) {
                    *w += u128::from(shares_of(groups, g));
                }
            }
        }
        let mut entitled_group = Vec::new();
        refill(&mut entitled_group, 0u128, ng)?;
        if let Some(e) = entitled_group.get_mut(0) {
            *e = ONE;
        }
        for g in 1..ng {
            let Some(p) = parent_of(groups, g) else {
                continue;
            };
            if !active.get(g).copied().unwrap_or(false) {
                continue;
            }
            let pw = level_weight.get(p).copied().unwrap_or(0).max(1);
            let pe = entitled_group.get(p).copied().unwrap_or(0);
            if let Some(e) = entitled_group.get_mut(g) {
                *e = pe * u128::from(shares_of(groups, g)) / pw;
            }
        }
        let mut entitled = Vec::new();
        entitled.try_reserve(m)?;
        entitled.extend(group.iter().map(|&g| {
            let pw = level_weight.get(g).copied().unwrap_or(0).max(1);
            entitled_group.get(g).copied().unwrap_or(0) * u128::from(NICE_0_WEIGHT) / pw
        }));

        // Placement order and classes: sorted on keys made once (a comparison that
        // recomputed them would cost more than the placements of a short run).
        let mut keyed: Vec<(usize, core::cmp::Reverse<u128>, u32, usize)> = Vec::new();
        keyed.try_reserve_exact(m)?;
        for (j, &e) in entitled.iter().enumerate() {
            let pid = eligible
                .get(j)
                .and_then(|&i| tasks.get(i))
                .map_or(0, |t| t.pid);
            keyed.push((mask(j).weight(), core::cmp::Reverse(e), pid, j));
        }
        // A total order (the position breaks ties): unstable sorting allocates nothing.
        keyed.sort_unstable();
        let mut order = Vec::new();
        order.try_reserve_exact(m)?;
        order.extend(keyed.iter().map(|&(_, _, _, j)| j));
        let mut class_ends = Vec::new();
        let mut period = 1u64;
        let mut class_start = 0;
        for x in 1..=m {
            let same = x < m
                && matches!(
                    (keyed.get(x), keyed.get(class_start)),
                    (Some(a), Some(b)) if (a.0, a.1) == (b.0, b.1)
                );
            if !same {
                push(&mut class_ends, x)?;
                let size = (x - class_start) as u64;
                if period <= MAX_ROTATION_PERIOD as u64 {
                    period = period / gcd(period, size) * size;
                }
                class_start = x;
            }
        }
        drop(keyed);
        let period = usize::try_from(period)
            .unwrap_or(MAX_ROTATION_PERIOD)
            .min(MAX_ROTATION_PERIOD);

        let mut below = Vec::new();
        refill(&mut below, 0u64, ng)?;
        for &g in &group {
            if let Some(b) = below.get_mut(g) {
                *b += 1;
            }
        }
        for g in (1..ng).rev() {
            if let Some(p) = parent_of(groups, g) {
                let n = below.get(g).copied().unwrap_or(0);
                if let Some(b) = below.get_mut(p) {
                    *b += n;
                }
            }
        }
        Ok(Layout {
            eligible,
            group,
            mask_of,
            masks,
            entitled,
            order,
            class_ends,
            period,
            below,
        })
    }
}

/// After how many rotations the placement of `tasks` repeats: the least common multiple
/// of the sizes of the classes of alike tasks, at most [`MAX_ROTATION_PERIOD`].
///
/// # Errors
///
/// `ENOMEM`.
pub fn rotation_period(groups: &[Group], tasks: &[Runnable], nr_cpus: usize) -> Result<usize> {
    let nr_cpus = nr_cpus.clamp(1, MAX_CPUS);
    Ok(Layout::new(groups, tasks, |_| true, nr_cpus)?.period)
}

/// An entity of a group on a CPU, for the top-down split.
#[derive(Clone, Copy, Debug, Default)]
struct Entity {
    cpu: u32,
    /// The group it belongs to.
    owner: u32,
    index: u32,
    /// A task (by position in the layout) rather than a child group (by index).
    task: bool,
    weight: u64,
}

/// The buffers of [`allocate_into`], kept between placements so that a run allocates
/// them once.
#[derive(Default)]
struct Scratch {
    cpu_load: Vec<u128>,
    cpu_of: Vec<usize>,
    /// Per group, the first of its load contributions (a list through `links`).
    head: Vec<usize>,
    /// `(cpu, load, next)`: one contribution to a group's load on a CPU.
    links: Vec<(usize, u64, usize)>,
    /// One group's load per CPU, while it is summed.
    acc: Vec<u64>,
    touched: Vec<usize>,
    entities: Vec<Entity>,
    sorted: Vec<Entity>,
    children: Vec<Entity>,
    counts: Vec<usize>,
    /// Per group, `(cpu, ns)` its parent gave it on that CPU.
    budget: Vec<(usize, u64)>,
    weights: Vec<u64>,
    parts: Vec<u64>,
    split: SplitScratch,
    /// Per group, what its runnable tasks got (descendants included).
    sums: Vec<u64>,
}

const NONE: usize = usize::MAX;

/// Sorts `src` into `dst` by `key` (below `buckets`), keeping the order of equal keys.
fn counting_sort(
    src: &[Entity],
    dst: &mut Vec<Entity>,
    counts: &mut Vec<usize>,
    buckets: usize,
    key: impl Fn(&Entity) -> usize,
) -> Result {
    refill(counts, 0, buckets.saturating_add(1))?;
    for e in src {
        if let Some(c) = counts.get_mut(key(e).saturating_add(1)) {
            *c += 1;
        }
    }
    let mut sum = 0;
    for c in counts.iter_mut() {
        sum += *c;
        *c = sum;
    }
    refill(dst, Entity::default(), src.len())?;
    for e in src {
        if let Some(c) = counts.get_mut(key(e)) {
            if let Some(slot) = dst.get_mut(*c) {
                *slot = *e;
            }
            *c += 1;
        }
    }
    Ok(())
}

/// The placement and split of `per_cpu_ns` ns per CPU among the tasks of `layout` (the
/// ticks of rotation `rotation`, all at once) into `out`, by position in the layout.
fn allocate_into(
    groups: &[Group],
    layout: &Layout,
    nr_cpus: usize,
    rotation: u64,
    per_cpu_ns: u64,
    s: &mut Scratch,
    out: &mut Allocation,
) -> Result {
    let m = layout.eligible.len();
    let ng = groups.len();
    refill(out, None, m)?;
    if ng == 0 || m == 0 {
        return Ok(());
    }
    // Entities keep their CPU, group and position in 32 bits (a smaller working set):
    // more tasks or groups than that could not be allocated anyway.
    if u32::try_from(m.max(ng).max(nr_cpus)).is_err() {
        return Err(Error::ENOMEM);
    }

    // Placement: each task, in turn, on its allowed CPU with the least entitlement placed
    // so far (the lowest CPU on a tie); each class of alike tasks starts at its
    // `(rotation mod size)`-th task.
    refill(&mut s.cpu_load, 0u128, nr_cpus)?;
    refill(&mut s.cpu_of, 0usize, m)?;
    let mut start = 0;
    for &end in &layout.class_ends {
        let class = layout.order.get(start..end).unwrap_or(&[]);
        let r = usize::try_from(rotation % (class.len().max(1) as u64)).unwrap_or(0);
        for &j in class.iter().skip(r).chain(class.iter().take(r)) {
            let mut best: Option<(u128, usize)> = None;
            let mask = layout
                .mask_of
                .get(j)
                .and_then(|&at| layout.masks.get(at as usize));
            if let Some(mask) = mask {
                // The set bits word by word: this loop is most of a placement's time.
                for (w, &word) in mask.words().iter().enumerate() {
                    let mut bits = word;
                    while bits != 0 {
                        let c = w * 64 + bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        let Some(&l) = s.cpu_load.get(c) else {
                            continue;
                        };
                        if best.is_none() || best.is_some_and(|(bl, _)| l < bl) {
                            best = Some((l, c));
                        }
                    }
                }
            }
            let c = best.map_or(0, |(_, c)| c);
            if let Some(l) = s.cpu_load.get_mut(c) {
                *l = l.saturating_add(layout.entitled.get(j).copied().unwrap_or(0));
            }
            if let Some(slot) = s.cpu_of.get_mut(j) {
                *slot = c;
            }
        }
        start = end;
    }

    // Per-CPU group weights, children before parents: a group's load on a CPU is 1024
    // per task of its own there plus its children's weights there (a list of
    // contributions per group, so that only the CPUs where it has load cost anything).
    refill(&mut s.head, NONE, ng)?;
    s.links.clear();
    s.entities.clear();
    s.entities.try_reserve(m)?;
    for (j, &g) in layout.group.iter().enumerate() {
        if g >= ng {
            continue;
        }
        let c = s.cpu_of.get(j).copied().unwrap_or(0);
        let Some(h) = s.head.get_mut(g) else { continue };
        push(&mut s.links, (c, NICE_0_WEIGHT, *h))?;
        *h = s.links.len() - 1;
        s.entities.push(Entity {
            cpu: c as u32,
            owner: g as u32,
            task: true,
            index: j as u32,
            weight: NICE_0_WEIGHT,
        });
    }
    refill(&mut s.acc, 0u64, nr_cpus)?;
    s.children.clear();
    for g in (1..ng).rev() {
        let Some(p) = parent_of(groups, g) else {
            continue;
        };
        s.touched.clear();
        let mut link = s.head.get(g).copied().unwrap_or(NONE);
        while let Some(&(c, load, next)) = s.links.get(link) {
            if let Some(a) = s.acc.get_mut(c) {
                if *a == 0 {
                    push(&mut s.touched, c)?;
                }
                *a = a.saturating_add(load);
            }
            link = next;
        }
        if s.touched.is_empty() {
            continue;
        }
        s.touched.sort_unstable();
        let total: u128 = s
            .touched
            .iter()
            .map(|&c| u128::from(s.acc.get(c).copied().unwrap_or(0)))
            .sum();
        let shares = shares_of(groups, g);
        for &c in &s.touched {
            let Some(a) = s.acc.get_mut(c) else { continue };
            let l = core::mem::take(a);
            if l == 0 || total == 0 {
                continue;
            }
            let w = u64::try_from(u128::from(shares) * u128::from(l) / total)
                .unwrap_or(u64::MAX)
                .clamp(MIN_SHARES, shares);
            push(
                &mut s.children,
                Entity {
                    cpu: c as u32,
                    owner: p as u32,
                    task: false,
                    index: g as u32,
                    weight: w,
                },
            )?;
            let Some(h) = s.head.get_mut(p) else { continue };
            push(&mut s.links, (c, w, *h))?;
            *h = s.links.len() - 1;
        }
    }

    // The entities of each group on each CPU in the order the split gives them: tasks by
    // position, then child groups by index (the children were found from the last).
    s.entities.try_reserve(s.children.len())?;
    s.entities.extend(s.children.iter().rev());
    counting_sort(&s.entities, &mut s.sorted, &mut s.counts, ng, |e| {
        e.owner as usize
    })?;
    counting_sort(&s.sorted, &mut s.entities, &mut s.counts, nr_cpus, |e| {
        e.cpu as usize
    })?;

    // Split each CPU's time top-down: parents come before their children (lower index).
    refill(&mut s.budget, (NONE, 0u64), ng)?;
    let mut at = 0;
    while at < s.entities.len() {
        let Some(&first) = s.entities.get(at) else {
            break;
        };
        let mut end = at;
        while s
            .entities
            .get(end)
            .is_some_and(|e| e.cpu == first.cpu && e.owner == first.owner)
        {
            end += 1;
        }
        let run = s.entities.get_mut(at..end).unwrap_or(&mut []);
        at = end;
        let amount = if first.owner == 0 {
            per_cpu_ns
        } else {
            match s.budget.get(first.owner as usize) {
                Some(&(c, ns)) if c == first.cpu as usize => ns,
                _ => 0,
            }
        };
        if amount == 0 {
            continue;
        }
        let turn = usize::try_from(rotation % (run.len().max(1) as u64)).unwrap_or(0);
        run.rotate_left(turn);
        s.weights.clear();
        s.weights.try_reserve(run.len())?;
        s.weights.extend(run.iter().map(|e| e.weight));
        split_into(amount, &s.weights, &mut s.parts, &mut s.split)?;
        for (e, &part) in run.iter().zip(s.parts.iter()) {
            if e.task {
                if let Some(r) = out.get_mut(e.index as usize) {
                    *r = Some((e.cpu as usize, part));
                }
            } else if let Some(b) = s.budget.get_mut(e.index as usize) {
                *b = (e.cpu as usize, part);
            }
        }
    }
    Ok(())
}

/// What the runnable tasks of each group got in `alloc` (descendants included) into
/// `sums`, by group.
fn group_sums(
    groups: &[Group],
    layout: &Layout,
    alloc: &Allocation,
    sums: &mut Vec<u64>,
) -> Result {
    refill(sums, 0, groups.len())?;
    for (slot, &g) in alloc.iter().zip(&layout.group) {
        if let (Some((_, ns)), Some(sum)) = (slot, sums.get_mut(g)) {
            *sum = sum.saturating_add(*ns);
        }
    }
    for g in (1..groups.len()).rev() {
        if let Some(p) = parent_of(groups, g) {
            let n = sums.get(g).copied().unwrap_or(0);
            if let Some(sum) = sums.get_mut(p) {
                *sum = sum.saturating_add(n);
            }
        }
    }
    Ok(())
}

/// The placement and split of one tick among `tasks` (all runnable) on `nr_cpus` CPUs.
/// `rotation` turns each class of alike tasks (the load balancer moving tasks around):
/// with rotation `r`, a class of `s` tasks starts at its `(r mod s)`-th task, so over `s`
/// rotations each of them is placed last once and shares a CPU as often as the others.
///
/// # Errors
///
/// `ENOMEM`.
pub fn allocate(
    groups: &[Group],
    tasks: &[Runnable],
    nr_cpus: usize,
    rotation: u64,
) -> Result<Allocation> {
    allocate_amount(groups, tasks, nr_cpus, rotation, TICK_NS)
}

/// [`allocate`] for `per_cpu_ns` ns per CPU instead of one tick: what `per_cpu_ns / TICK_NS`
/// ticks of rotation `rotation` give together, split once, so that shares that do not
/// divide a tick (2/3 and 1/3 of 1 ms) add up exactly over a stretch instead of carrying
/// a per-tick rounding. Ties of the split go to the entities in an order that turns with
/// `rotation`, so that alike tasks take the odd nanosecond in turn.
///
/// # Errors
///
/// `ENOMEM`.
pub fn allocate_amount(
    groups: &[Group],
    tasks: &[Runnable],
    nr_cpus: usize,
    rotation: u64,
    per_cpu_ns: u64,
) -> Result<Allocation> {
    let nr_cpus = nr_cpus.clamp(1, MAX_CPUS);
    let layout = Layout::new(groups, tasks, |_| true, nr_cpus)?;
    let mut out = Vec::new();
    allocate_into(
        groups,
        &layout,
        nr_cpus,
        rotation,
        per_cpu_ns,
        &mut Scratch::default(),
        &mut out,
    )?;
    Ok(out)
}

/// Adds `ns` on `cpu` to a task's times.
fn add_time(times: &mut CpuTimes, cpu: usize, ns: u64) -> Result {
    add_sorted(times, cpu, ns)
}

/// Adds `n` to the count of `key` in a vector of `(key, count)` sorted by key (a small
/// map that grows fallibly).
fn add_sorted<K: Ord + Copy>(map: &mut Vec<(K, u64)>, key: K, n: u64) -> Result {
    match map.binary_search_by_key(&key, |&(k, _)| k) {
        Ok(at) => {
            if let Some(slot) = map.get_mut(at) {
                slot.1 = slot.1.saturating_add(n);
            }
        }
        Err(at) => {
            map.try_reserve(1)?;
            map.insert(at, (key, n));
        }
    }
    Ok(())
}

/// The most entries of a dense [`Times`] table.
const DENSE_TIMES: usize = 1 << 22;

/// The CPU time the tasks of a run got so far. A dense table (task x CPU) where that is
/// small, so that a placement's additions go to one contiguous array rather than a
/// small list per task (the list is what a machine of many CPUs gets).
enum Times {
    Dense { cpus: usize, ns: Vec<u64> },
    Sparse(Vec<CpuTimes>),
}

impl Times {
    fn new(tasks: usize, cpus: usize) -> Result<Self> {
        match tasks
            .checked_mul(cpus)
            .filter(|&n| cpus <= 16 && n <= DENSE_TIMES)
        {
            Some(n) => {
                let mut ns = Vec::new();
                refill(&mut ns, 0u64, n)?;
                Ok(Times::Dense { cpus, ns })
            }
            None => {
                let mut per_task = Vec::new();
                per_task.try_reserve_exact(tasks)?;
                per_task.resize_with(tasks, Vec::new);
                Ok(Times::Sparse(per_task))
            }
        }
    }

    fn add(&mut self, task: usize, cpu: usize, ns: u64) -> Result {
        match self {
            Times::Dense { cpus, ns: table } => {
                if cpu < *cpus {
                    if let Some(slot) = table.get_mut(task * *cpus + cpu) {
                        *slot = slot.saturating_add(ns);
                    }
                }
                Ok(())
            }
            Times::Sparse(per_task) => match per_task.get_mut(task) {
                Some(times) => add_time(times, cpu, ns),
                None => Ok(()),
            },
        }
    }

    fn get(&self, task: usize, cpu: usize) -> u64 {
        match self {
            Times::Dense { cpus, ns } => {
                if cpu < *cpus {
                    ns.get(task * *cpus + cpu).copied().unwrap_or(0)
                } else {
                    0
                }
            }
            Times::Sparse(per_task) => per_task.get(task).map_or(0, |times| {
                times
                    .binary_search_by_key(&cpu, |&(c, _)| c)
                    .ok()
                    .and_then(|at| times.get(at))
                    .map_or(0, |&(_, ns)| ns)
            }),
        }
    }

    /// Calls `f` with every `(task, cpu, ns)` with some time, in task and CPU order.
    fn each(&self, f: &mut dyn FnMut(usize, usize, u64) -> Result) -> Result {
        match self {
            Times::Dense { cpus, ns } => {
                for (at, &n) in ns.iter().enumerate() {
                    if n > 0 {
                        f(at / *cpus, at % *cpus, n)?;
                    }
                }
            }
            Times::Sparse(per_task) => {
                for (task, times) in per_task.iter().enumerate() {
                    for &(cpu, n) in times {
                        f(task, cpu, n)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn try_clone(&self) -> Result<Self> {
        Ok(match self {
            Times::Dense { cpus, ns } => {
                let mut copy = Vec::new();
                copy.try_reserve_exact(ns.len())?;
                copy.extend_from_slice(ns);
                Times::Dense {
                    cpus: *cpus,
                    ns: copy,
                }
            }
            Times::Sparse(per_task) => {
                let mut copy = Vec::new();
                copy.try_reserve_exact(per_task.len())?;
                for times in per_task {
                    let mut one = Vec::new();
                    one.try_reserve_exact(times.len())?;
                    one.extend_from_slice(times);
                    copy.push(one);
                }
                Times::Sparse(copy)
            }
        })
    }

    /// Per task, its `(cpu, ns)` list.
    fn into_lists(self, tasks: usize) -> Result<Vec<CpuTimes>> {
        match self {
            Times::Sparse(per_task) => Ok(per_task),
            Times::Dense { cpus, ns } => {
                let mut per_task: Vec<CpuTimes> = Vec::new();
                per_task.try_reserve_exact(tasks)?;
                for row in ns.chunks(cpus.max(1)) {
                    let mut times = Vec::new();
                    times.try_reserve_exact(row.iter().filter(|&&n| n > 0).count())?;
                    times.extend(
                        row.iter()
                            .enumerate()
                            .filter(|&(_, &n)| n > 0)
                            .map(|(cpu, &n)| (cpu, n)),
                    );
                    per_task.push(times);
                }
                per_task.resize_with(tasks, Vec::new);
                Ok(per_task)
            }
        }
    }
}

/// Counts `times` more of `rec`.
fn add_period(periods: &mut Vec<(PeriodRecord, u64)>, rec: PeriodRecord, times: u64) -> Result {
    add_sorted(periods, rec, times)
}

/// Runs `ticks` ticks from `*now` (ns), updating the bandwidth states `bw` (one per group,
/// `None` for a group without quota) and advancing `*now`. `tasks` are the runnable
/// tasks (busy, not frozen) for the whole run.
///
/// Tick `t` (counted from boot) uses rotation `t mod p` of [`allocate`], `p` being the
/// [`rotation_period`] of the runnable tasks: the allocations repeat every `p` ticks,
/// which lets runs of ticks without a period boundary or throttling be added up per
/// rotation instead of tick by tick, and a bandwidth steady state be jumped over (see
/// the module documentation for the cost).
///
/// # Errors
///
/// `EINVAL` when `ticks` ms do not fit in a `u64` of nanoseconds, `EOVERFLOW` when the
/// clock cannot reach the end of the run (`*now` plus the run overflows), `E2BIG` when
/// the run needs more than [`WORK_BUDGET`] units of work, `ENOMEM`; on every error `bw`
/// and `*now` are left as they were.
pub fn simulate(
    groups: &[Group],
    bw: &mut [Option<BwState>],
    tasks: &[Runnable],
    nr_cpus: usize,
    now: &mut u64,
    ticks: u64,
) -> Result<Usage> {
    simulate_with_progress(groups, bw, tasks, nr_cpus, now, ticks, &mut |_| {})
}

/// [`simulate`], calling `progress` now and then (between stretches, and between the
/// rotations of a long one) with the number of ticks done so far, for a caller that
/// shows how far a long run is. The result does not depend on `progress`.
///
/// # Errors
///
/// As [`simulate`].
pub fn simulate_with_progress(
    groups: &[Group],
    bw: &mut [Option<BwState>],
    tasks: &[Runnable],
    nr_cpus: usize,
    now: &mut u64,
    ticks: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<Usage> {
    simulate_within(
        groups,
        bw,
        tasks,
        nr_cpus,
        now,
        ticks,
        WORK_BUDGET,
        progress,
    )
}

/// [`simulate_with_progress`] with at most `budget` units of work instead of
/// [`WORK_BUDGET`] (a test of the refusal need not spend a whole budget).
///
/// # Errors
///
/// As [`simulate`], `E2BIG` past `budget`.
#[allow(clippy::too_many_arguments)]
pub fn simulate_within(
    groups: &[Group],
    bw: &mut [Option<BwState>],
    tasks: &[Runnable],
    nr_cpus: usize,
    now: &mut u64,
    ticks: u64,
    budget: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<Usage> {
    simulate_psi(
        groups, bw, tasks, None, nr_cpus, now, ticks, budget, progress,
    )
}

/// [`simulate_within`] that also sums the CPU pressure of `psi`'s groups
/// ([`Usage::psi`]), per placement.
///
/// # Errors
///
/// As [`simulate_within`].
#[allow(clippy::too_many_arguments)]
pub fn simulate_psi(
    groups: &[Group],
    bw: &mut [Option<BwState>],
    tasks: &[Runnable],
    psi: Option<&PsiTree>,
    nr_cpus: usize,
    now: &mut u64,
    ticks: u64,
    budget: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<Usage> {
    let span = ticks.checked_mul(TICK_NS).ok_or(Error::EINVAL)?;
    let end = now.checked_add(span).ok_or(Error::EOVERFLOW)?;
    let mut states: Vec<Option<BwState>> = Vec::new();
    states.try_reserve_exact(bw.len())?;
    states.extend(bw.iter().cloned());
    let mut clock = *now;
    let usage = Run::new(
        groups,
        tasks,
        psi,
        nr_cpus.clamp(1, MAX_CPUS),
        &states,
        budget,
    )?
    .go(&mut states, &mut clock, end, progress)?;
    for (old, new) in bw.iter_mut().zip(states) {
        *old = new;
    }
    *now = clock;
    Ok(usage)
}

/// The most work one [`simulate`] may do, in units of one group or CPU handled by one
/// placement (a task counts 4 and more on machines of many CPUs, a placement or a
/// stretch 32 more; also counted: the layout of a set of runnable tasks, the
/// bookkeeping of the bandwidth groups): one to three seconds of CPU time in a release
/// build at 2^27 (measured: 1.6 s for 6 tasks, 2.2 s for 2000 tasks on 4 CPUs, 2.9 s
/// on 64); the budget is 2^30 so that the heaviest runs a script is known to ask for
/// exactly, 30,000 alike tasks through a whole 5040-tick rotation, still fit.
/// A run that needs more is refused with `E2BIG` and changes nothing, so that the cost
/// of a command is bounded by its input whatever the simulated duration; the same time
/// split into shorter runs works. Runs that reach a steady state, or whose quotas do
/// not bind, need a bounded amount of work however long they are; what the budget
/// refuses is a run of many stretches that never repeat (coprime periods that bind
/// over 10^9 ms), or of very many tasks through many rotations. A host may set less
/// (`Machine::set_run_budget`).
pub const WORK_BUDGET: u64 = 1 << 30;

/// Counts `units` of work, `E2BIG` past `budget`.
fn charge(work: &mut u64, budget: u64, units: u64) -> Result {
    *work = work.saturating_add(units);
    if *work > budget {
        return Err(Error::E2BIG);
    }
    Ok(())
}

/// The work of one placement and split of `layout`.
fn placement_cost(groups: &[Group], layout: &Layout, nr_cpus: usize) -> u64 {
    // A task costs more than a group or a CPU: it is placed (a look at each CPU it may
    // use), sorted twice and split.
    let per_task = 4 + nr_cpus as u64 / 16;
    (layout.eligible.len() as u64)
        .saturating_mul(per_task)
        .saturating_add(groups.len() as u64)
        .saturating_add(nr_cpus as u64)
        .saturating_add(FIXED_COST)
}

/// The work a placement or a stretch costs whatever its size (buffers to fill, a
/// split to set up), in the units of [`WORK_BUDGET`].
const FIXED_COST: u64 = 32;

/// Whether a bandwidth period can reach its quota (`left` ns of it, over at most
/// `ticks` ticks at `bound` ns a tick).
fn may_bind(left: u64, ticks: u64, bound: u64) -> bool {
    u128::from(ticks) * u128::from(bound) >= u128::from(left)
}

/// How many layouts (phases) a run keeps: a run with bandwidth goes back and forth
/// between a few combinations of throttled groups.
const PHASES_KEPT: usize = 8;

/// The bound on the least common multiple of the rotation periods of the phases a
/// steady state may span (beyond it, the run is simulated stretch by stretch).
const MAX_CYCLE_ROTATIONS: u64 = 1 << 32;

/// One run of [`simulate`].
struct Run<'a> {
    groups: &'a [Group],
    tasks: &'a [Runnable],
    nr_cpus: usize,
    /// The groups with a quota.
    bw_groups: Vec<usize>,
    /// Per bandwidth group: how many of the run's tasks are below it, and on how many
    /// CPUs they may run.
    under_tasks: Vec<u64>,
    under_cpus: Vec<u64>,
    /// Per bandwidth group, its depth in the group tree (how many splits round its
    /// share), for [`Run::rate_bounds`].
    depth: Vec<u64>,
    /// The layouts met, by throttled groups, each with the most a tick of any of its
    /// rotations gives each bandwidth group (made when first needed).
    phases: Vec<(Vec<usize>, Layout, Option<Vec<u64>>)>,
    scratch: Scratch,
    /// Per bandwidth group in this stretch: whether its quota cannot bind (see
    /// [`Run::step`]).
    free: Vec<bool>,
    /// `(tail ticks, bandwidth group)` of the free groups whose period began within
    /// the stretch.
    tails: Vec<(u64, usize)>,
    /// The work done so far, and the most allowed ([`WORK_BUDGET`]).
    work: u64,
    budget: u64,
    alloc: Allocation,
    times: Times,
    periods: Vec<(PeriodRecord, u64)>,
    /// Per bandwidth group, scratch: ns used in a stretch, and the prefix sums of what
    /// it would use tick by tick.
    used: Vec<u64>,
    prefix: Vec<Vec<u64>>,
    cut: Vec<usize>,
    mine: Vec<usize>,
    wants: Vec<u64>,
    parts: Vec<u64>,
    /// The pressure sums, if asked for.
    psi: Option<psi::Acc<'a>>,
}

impl<'a> Run<'a> {
    fn new(
        groups: &'a [Group],
        tasks: &'a [Runnable],
        psi: Option<&'a PsiTree>,
        nr_cpus: usize,
        bw: &[Option<BwState>],
        budget: u64,
    ) -> Result<Self> {
        let ng = groups.len();
        let mut bw_groups = Vec::new();
        for g in 0..ng {
            if matches!(bw.get(g), Some(Some(_))) {
                push(&mut bw_groups, g)?;
            }
        }
        // Tasks and usable CPUs below each group, summed up the tree.
        let full = all_cpus(nr_cpus);
        let mut count = Vec::new();
        refill(&mut count, 0u64, ng)?;
        let mut cpus = Vec::new();
        refill(&mut cpus, CpuMask::new(), ng)?;
        for t in tasks {
            if let (Some(n), Some(m)) = (count.get_mut(t.group), cpus.get_mut(t.group)) {
                *n += 1;
                *m = m.or(&usable(&t.allowed, &full));
            }
        }
        for g in (1..ng).rev() {
            if let Some(p) = parent_of(groups, g) {
                let (n, m) = (
                    count.get(g).copied().unwrap_or(0),
                    cpus.get(g).copied().unwrap_or_default(),
                );
                if let (Some(pn), Some(pm)) = (count.get_mut(p), cpus.get_mut(p)) {
                    *pn += n;
                    *pm = pm.or(&m);
                }
            }
        }
        let mut under_tasks = Vec::new();
        under_tasks.try_reserve(bw_groups.len())?;
        under_tasks.extend(
            bw_groups
                .iter()
                .map(|&g| count.get(g).copied().unwrap_or(0)),
        );
        let mut under_cpus = Vec::new();
        under_cpus.try_reserve(bw_groups.len())?;
        under_cpus.extend(
            bw_groups
                .iter()
                .map(|&g| cpus.get(g).map_or(0, |m| m.weight() as u64)),
        );
        let times = Times::new(tasks.len(), nr_cpus)?;
        let mut prefix = Vec::new();
        prefix.try_reserve(bw_groups.len())?;
        prefix.resize_with(bw_groups.len(), Vec::new);
        let mut used = Vec::new();
        refill(&mut used, 0u64, bw_groups.len())?;
        let mut depth = Vec::new();
        depth.try_reserve_exact(bw_groups.len())?;
        for &g in &bw_groups {
            let mut d = 0u64;
            let mut x = g;
            while let Some(p) = parent_of(groups, x) {
                d += 1;
                x = p;
            }
            depth.push(d);
        }
        Ok(Run {
            groups,
            tasks,
            nr_cpus,
            bw_groups,
            under_tasks,
            under_cpus,
            depth,
            phases: Vec::new(),
            scratch: Scratch::default(),
            free: Vec::new(),
            tails: Vec::new(),
            work: 0,
            budget,
            alloc: Vec::new(),
            times,
            periods: Vec::new(),
            used,
            prefix,
            cut: Vec::new(),
            mine: Vec::new(),
            wants: Vec::new(),
            parts: Vec::new(),
            psi: match psi {
                Some(tree) => Some(psi::Acc::new(tree, nr_cpus, tasks.len())?),
                None => None,
            },
        })
    }

    /// Adds the placement in `self.alloc` (over `layout`), held `count` ticks, to the
    /// pressure sums.
    fn add_psi(
        psi: &mut Option<psi::Acc<'_>>,
        work: &mut u64,
        budget: u64,
        layout: &Layout,
        alloc: &Allocation,
        count: u64,
    ) -> Result {
        if let Some(acc) = psi.as_mut() {
            charge(work, budget, acc.cost())?;
            acc.add(layout, alloc, count)?;
        }
        Ok(())
    }

    /// The index in `self.phases` of the layout of the tasks not below a group of
    /// `throttled`, made if needed.
    fn phase(&mut self, throttled: &[usize]) -> Result<usize> {
        if let Some(at) = self.phases.iter().position(|(t, _, _)| t == throttled) {
            return Ok(at);
        }
        let groups = self.groups;
        let mut blocked = Vec::new();
        refill(&mut blocked, false, groups.len())?;
        for g in 0..groups.len() {
            let b = throttled.contains(&g)
                || parent_of(groups, g).is_some_and(|p| blocked.get(p).copied().unwrap_or(false));
            if let Some(slot) = blocked.get_mut(g) {
                *slot = b;
            }
        }
        charge(
            &mut self.work,
            self.budget,
            (self.tasks.len() as u64).saturating_add(groups.len() as u64),
        )?;
        let layout = Layout::new(
            groups,
            self.tasks,
            |t| !blocked.get(t.group).copied().unwrap_or(false),
            self.nr_cpus,
        )?;
        let mut key = Vec::new();
        key.try_reserve_exact(throttled.len())?;
        key.extend_from_slice(throttled);
        if self.phases.len() >= PHASES_KEPT {
            self.phases.remove(0);
        }
        push(&mut self.phases, (key, layout, None))?;
        Ok(self.phases.len() - 1)
    }

    /// Makes the rate bounds of phase `at`: per bandwidth group, the most one tick of
    /// any rotation gives its tasks, plus what rounding can add (see [`Run::step`]).
    fn rate_bounds(&mut self, at: usize) -> Result {
        let groups = self.groups;
        let Some((_, layout, bounds @ None)) = self.phases.get_mut(at) else {
            return Ok(());
        };
        let mut most = Vec::new();
        refill(&mut most, 0u64, self.bw_groups.len())?;
        for rotation in 0..layout.period.max(1) as u64 {
            charge(
                &mut self.work,
                self.budget,
                placement_cost(groups, layout, self.nr_cpus),
            )?;
            allocate_into(
                groups,
                layout,
                self.nr_cpus,
                rotation,
                TICK_NS,
                &mut self.scratch,
                &mut self.alloc,
            )?;
            group_sums(groups, layout, &self.alloc, &mut self.scratch.sums)?;
            for (m, &g) in most.iter_mut().zip(&self.bw_groups) {
                *m = (*m).max(self.scratch.sums.get(g).copied().unwrap_or(0));
            }
        }
        // Each split on the way down from the root rounds a group's part on a CPU by
        // less than 1 ns: `c` ticks split at once give at most `c` times one tick's part
        // plus 2 ns per split level and CPU per tick.
        for (m, &d) in most.iter_mut().zip(&self.depth) {
            *m = m.saturating_add(2u64.saturating_mul(d).saturating_mul(self.nr_cpus as u64));
        }
        *bounds = Some(most);
        Ok(())
    }

    /// Adds `self.alloc` (over the tasks of `layout`) to the tasks' times.
    fn add_usage(times: &mut Times, layout: &Layout, alloc: &Allocation) -> Result {
        for (slot, &i) in alloc.iter().zip(&layout.eligible) {
            let Some((cpu, ns)) = *slot else { continue };
            if ns > 0 {
                times.add(i, cpu, ns)?;
            }
        }
        Ok(())
    }

    fn go(
        mut self,
        bw: &mut [Option<BwState>],
        now: &mut u64,
        end: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Usage> {
        let start = *now;
        let mut steady = Steady::new(&self.bw_groups, bw, end)?;
        while *now < end {
            progress((*now - start) / TICK_NS);
            steady.watch(&mut self, bw, now, end)?;
            if *now >= end {
                break;
            }
            self.step(bw, now, end, &mut steady, &mut |at| {
                progress(at.saturating_sub(start) / TICK_NS)
            })?;
        }
        Ok(Usage {
            per_task: self.times.into_lists(self.tasks.len())?,
            periods: self.periods,
            work: self.work,
            psi: self.psi.map(|p| p.sums).unwrap_or_default(),
        })
    }

    /// One stretch.
    fn step(
        &mut self,
        bw: &mut [Option<BwState>],
        now: &mut u64,
        end: u64,
        steady: &mut Steady,
        progress: &mut dyn FnMut(u64),
    ) -> Result {
        let groups = self.groups;
        // Close the periods that ended: the current one, and any that passed without a
        // tick of this group (inactive, nothing to record).
        for &g in &self.bw_groups {
            let Some(Some(st)) = bw.get_mut(g) else {
                continue;
            };
            let period = st.config.1.max(1);
            if *now >= st.period_start.saturating_add(period) {
                if st.active {
                    let rec = PeriodRecord {
                        group: g,
                        throttled: st.throttled_in_period,
                        throttled_ns: st.throttled_ns,
                    };
                    add_period(&mut self.periods, rec, 1)?;
                }
                let passed = (*now - st.period_start) / period;
                let start = st
                    .period_start
                    .saturating_add(passed.saturating_mul(period));
                *st = BwState::new(st.config, start);
            }
        }
        // Who may run: the tasks not below a throttled group.
        let mut throttled = core::mem::take(&mut self.cut);
        throttled.clear();
        for &g in &self.bw_groups {
            if matches!(bw.get(g), Some(Some(st)) if st.throttled) {
                push(&mut throttled, g)?;
            }
        }
        let at = self.phase(&throttled)?;
        self.cut = throttled;
        self.cut.clear();
        charge(
            &mut self.work,
            self.budget,
            FIXED_COST.saturating_add(8u64.saturating_mul(self.bw_groups.len() as u64)),
        )?;

        // Which groups are free: their quota cannot bind in their current period (what
        // they used plus the most their tasks can get in the ticks left of it stays below
        // the quota), so that their period boundaries are no scheduling events, only
        // counted, up to the first later period that may bind. The most a group's tasks
        // get in a tick is bounded by a tick per CPU they run on, and by the most one
        // tick of any rotation gives them (plus rounding): the latter costs a rotation
        // period of placements, once per phase, so it is made only when the former does
        // not free the group for good.
        let Some((_, layout, _)) = self.phases.get(at) else {
            return Err(Error::ENOMEM);
        };
        let mut precise = false;
        for (bi, &g) in self.bw_groups.iter().enumerate() {
            if let Some(Some(st)) = bw.get(g) {
                let cheap = cheap_bound(layout, g, self.under_cpus.get(bi).copied());
                precise |= free_until(st, *now, cheap) != Some(None);
            }
        }
        if precise {
            self.rate_bounds(at)?;
        }
        let Some((_, layout, bounds)) = self.phases.get(at) else {
            return Err(Error::ENOMEM);
        };
        let n = layout.period.max(1) as u64;
        steady.met_period(n);
        let tick = *now / TICK_NS;

        // How many ticks can run before a period that may bind ends or a quota runs out.
        let mut k = (end - *now).div_ceil(TICK_NS);
        self.free.clear();
        self.free.try_reserve(self.bw_groups.len())?;
        for (bi, &g) in self.bw_groups.iter().enumerate() {
            let Some(Some(st)) = bw.get(g) else {
                self.free.push(false);
                continue;
            };
            let mut bound = cheap_bound(layout, g, self.under_cpus.get(bi).copied());
            if let Some(b) = bounds.as_ref().and_then(|b| b.get(bi)) {
                bound = bound.min(*b);
            }
            let boundary = st.period_start.saturating_add(st.config.1.max(1));
            let cut = match free_until(st, *now, bound) {
                None => {
                    self.free.push(false);
                    Some(boundary)
                }
                Some(cut) => {
                    self.free.push(true);
                    cut
                }
            };
            if let Some(cut) = cut {
                k = k.min(cut.saturating_sub(*now).div_ceil(TICK_NS).max(1));
            }
        }
        // The groups that might run out of quota within k ticks: each of their ticks
        // uses at most a tick per runnable task below them and per CPU they may use.
        let mut hard = false;
        for (bi, &g) in self.bw_groups.iter().enumerate() {
            let Some(prefix) = self.prefix.get_mut(bi) else {
                continue;
            };
            prefix.clear();
            let Some(Some(st)) = bw.get(g) else { continue };
            let below = layout.below.get(g).copied().unwrap_or(0);
            if st.throttled || below == 0 || self.free.get(bi).copied().unwrap_or(false) {
                continue;
            }
            let most = below.min(self.under_cpus.get(bi).copied().unwrap_or(0));
            let left = st.config.0.saturating_sub(st.used);
            if u128::from(most) * u128::from(TICK_NS) * u128::from(k) <= u128::from(left) {
                continue;
            }
            push(prefix, 0)?;
            hard = true;
        }
        if hard {
            // What they would use tick by tick (one placement per tick, up to a whole
            // rotation period), until each has run out.
            let span = k.min(n);
            for i in 0..span {
                charge(
                    &mut self.work,
                    self.budget,
                    placement_cost(groups, layout, self.nr_cpus),
                )?;
                allocate_into(
                    groups,
                    layout,
                    self.nr_cpus,
                    (tick + i) % n,
                    TICK_NS,
                    &mut self.scratch,
                    &mut self.alloc,
                )?;
                group_sums(groups, layout, &self.alloc, &mut self.scratch.sums)?;
                let mut open = false;
                for (bi, &g) in self.bw_groups.iter().enumerate() {
                    let Some(prefix) = self.prefix.get_mut(bi) else {
                        continue;
                    };
                    let Some(&last) = prefix.last() else { continue };
                    let left = match bw.get(g) {
                        Some(Some(st)) => st.config.0.saturating_sub(st.used),
                        _ => 0,
                    };
                    if last > left {
                        continue;
                    }
                    let used = self.scratch.sums.get(g).copied().unwrap_or(0);
                    push(prefix, last.saturating_add(used))?;
                    open |= last.saturating_add(used) <= left;
                }
                if !open {
                    break;
                }
            }
            for (bi, &g) in self.bw_groups.iter().enumerate() {
                let Some(prefix) = self.prefix.get(bi) else {
                    continue;
                };
                let Some(&last) = prefix.last() else { continue };
                let left = match bw.get(g) {
                    Some(Some(st)) => st.config.0.saturating_sub(st.used),
                    _ => 0,
                };
                // prefix[m] is what the first m ticks use.
                let fit = prefix.len() as u64 - 1;
                let within = if last > left {
                    fit - 1
                } else if fit < n {
                    // Known up to `span` = k ticks, all within the quota.
                    fit
                } else {
                    // A whole rotation period fits: whole cycles, then the longest
                    // prefix of one within what is left (no end if a cycle uses none).
                    match left.checked_div(last) {
                        None => u64::MAX,
                        Some(cycles) => {
                            let rem = left - cycles * last;
                            let part = prefix.partition_point(|&p| p <= rem) as u64 - 1;
                            cycles.saturating_mul(n).saturating_add(part)
                        }
                    }
                };
                k = k.min(within);
            }
        }

        let k = if k == 0 {
            // One tick in which some group reaches its quota: its tasks get exactly what
            // is left of it, split by what they would have run; the deepest groups first.
            charge(
                &mut self.work,
                self.budget,
                placement_cost(groups, layout, self.nr_cpus),
            )?;
            allocate_into(
                groups,
                layout,
                self.nr_cpus,
                tick % n,
                TICK_NS,
                &mut self.scratch,
                &mut self.alloc,
            )?;
            group_sums(groups, layout, &self.alloc, &mut self.scratch.sums)?;
            for (bi, &g) in self.bw_groups.iter().enumerate().rev() {
                let Some(Some(st)) = bw.get(g) else { continue };
                if st.throttled {
                    continue;
                }
                let left = st.config.0.saturating_sub(st.used);
                if self.scratch.sums.get(g).copied().unwrap_or(0) > left {
                    self.mine.clear();
                    self.wants.clear();
                    for (j, &tg) in layout.group.iter().enumerate() {
                        if is_under(groups, tg, g) {
                            push(&mut self.mine, j)?;
                            let ns = self.alloc.get(j).copied().flatten().map_or(0, |(_, ns)| ns);
                            push(&mut self.wants, ns)?;
                        }
                    }
                    split_into(left, &self.wants, &mut self.parts, &mut self.scratch.split)?;
                    for (&j, &part) in self.mine.iter().zip(self.parts.iter()) {
                        if let Some(Some((_, ns))) = self.alloc.get_mut(j) {
                            *ns = part;
                        }
                    }
                    push(&mut self.cut, g)?;
                    group_sums(groups, layout, &self.alloc, &mut self.scratch.sums)?;
                }
                if let Some(u) = self.used.get_mut(bi) {
                    *u = self.scratch.sums.get(g).copied().unwrap_or(0);
                }
            }
            Self::add_usage(&mut self.times, layout, &self.alloc)?;
            Self::add_psi(
                &mut self.psi,
                &mut self.work,
                self.budget,
                layout,
                &self.alloc,
                1,
            )?;
            1
        } else {
            // Each rotation's ticks of the stretch are split at once (exact shares); the
            // bandwidth groups are charged what their tasks got.
            let span = k.min(n);
            for i in 0..span {
                if i > 0 {
                    // A stretch of many rotations is a long computation of its own.
                    progress(
                        now.saturating_add(i.saturating_mul(k / span).saturating_mul(TICK_NS)),
                    );
                }
                let count = k / n + u64::from(i < k % n);
                charge(
                    &mut self.work,
                    self.budget,
                    placement_cost(groups, layout, self.nr_cpus),
                )?;
                allocate_into(
                    groups,
                    layout,
                    self.nr_cpus,
                    (tick + i) % n,
                    count.saturating_mul(TICK_NS),
                    &mut self.scratch,
                    &mut self.alloc,
                )?;
                Self::add_usage(&mut self.times, layout, &self.alloc)?;
                Self::add_psi(
                    &mut self.psi,
                    &mut self.work,
                    self.budget,
                    layout,
                    &self.alloc,
                    count,
                )?;
                if self.bw_groups.is_empty() {
                    continue;
                }
                group_sums(groups, layout, &self.alloc, &mut self.scratch.sums)?;
                for (bi, &g) in self.bw_groups.iter().enumerate() {
                    if let Some(u) = self.used.get_mut(bi) {
                        *u = u.saturating_add(self.scratch.sums.get(g).copied().unwrap_or(0));
                    }
                }
            }
            k
        };

        // Bookkeeping of the bandwidth groups for these k ticks.
        self.tails.clear();
        for (bi, &g) in self.bw_groups.iter().enumerate() {
            let used = self.used.get_mut(bi).map_or(0, core::mem::take);
            let Some(Some(st)) = bw.get_mut(g) else {
                continue;
            };
            st.used = st.used.saturating_add(used);
            let tasks_below = self.under_tasks.get(bi).copied().unwrap_or(0);
            if tasks_below > 0 {
                st.active = true;
            }
            if self.free.get(bi).copied().unwrap_or(false) {
                // The periods that ended before the stretch's last tick began, each
                // closed as the first tick after its end would have: the first with
                // what it had before, the others never throttled. The current one
                // holds the ticks of the stretch from its start on (what they use is
                // charged below, split as a stretch of its own).
                let period = st.config.1.max(1);
                let last = now.saturating_add((k - 1).saturating_mul(TICK_NS));
                if last >= st.period_start.saturating_add(period) {
                    let closed = (last - st.period_start) / period;
                    let rec = PeriodRecord {
                        group: g,
                        throttled: st.throttled_in_period,
                        throttled_ns: st.throttled_ns,
                    };
                    if st.active {
                        add_period(&mut self.periods, rec, 1)?;
                    }
                    if closed > 1 && tasks_below > 0 {
                        let rec = PeriodRecord {
                            group: g,
                            throttled: false,
                            throttled_ns: 0,
                        };
                        add_period(&mut self.periods, rec, closed - 1)?;
                    }
                    let start = st
                        .period_start
                        .saturating_add(closed.saturating_mul(period));
                    *st = BwState::new(st.config, start);
                    st.active = tasks_below > 0;
                    let skip = start.saturating_sub(*now).div_ceil(TICK_NS);
                    push(&mut self.tails, (k.saturating_sub(skip), bi))?;
                }
                continue;
            }
            if st.throttled {
                let blocked = tasks_below.min(self.under_cpus.get(bi).copied().unwrap_or(0));
                st.throttled_ns = st
                    .throttled_ns
                    .saturating_add(k.saturating_mul(TICK_NS).saturating_mul(blocked));
            } else if st.used >= st.config.0 || self.cut.contains(&g) {
                st.throttled = true;
                st.throttled_in_period = true;
            }
        }
        // What the tail of the stretch gives each free group whose period began within
        // it (tails of one length split once for all of them).
        self.tails.sort_unstable();
        let mut at = 0;
        while let Some(&(m, _)) = self.tails.get(at) {
            let rest = self.tails.get(at..).unwrap_or(&[]);
            let same = rest
                .get(..rest.iter().take_while(|&&(x, _)| x == m).count())
                .unwrap_or(&[]);
            let first = tick.saturating_add(k - m);
            for i in 0..m.min(n) {
                let count = m / n + u64::from(i < m % n);
                charge(
                    &mut self.work,
                    self.budget,
                    placement_cost(groups, layout, self.nr_cpus),
                )?;
                allocate_into(
                    groups,
                    layout,
                    self.nr_cpus,
                    (first + i) % n,
                    count.saturating_mul(TICK_NS),
                    &mut self.scratch,
                    &mut self.alloc,
                )?;
                group_sums(groups, layout, &self.alloc, &mut self.scratch.sums)?;
                for &(_, bi) in same {
                    let g = self.bw_groups.get(bi).copied().unwrap_or(0);
                    if let Some(Some(st)) = bw.get_mut(g) {
                        st.used = st
                            .used
                            .saturating_add(self.scratch.sums.get(g).copied().unwrap_or(0));
                    }
                }
            }
            at += same.len();
        }
        *now = now.saturating_add(k.saturating_mul(TICK_NS)).min(end);
        Ok(())
    }
}

/// The most a tick gives the tasks of group `g` by their number: a tick per CPU they
/// can run on (`cpus` of them).
fn cheap_bound(layout: &Layout, g: usize, cpus: Option<u64>) -> u64 {
    let below = layout.below.get(g).copied().unwrap_or(0);
    below.min(cpus.unwrap_or(0)).saturating_mul(TICK_NS)
}

/// Whether the bandwidth group of state `st`, whose tasks get at most `bound` ns a tick,
/// is free at `now`: `None` if it may reach its quota in its current period (it is
/// throttled, its period is shorter than a tick, or the ticks left of its period could
/// give it what is left of its quota), else the end of the last period before the first
/// that may bind (`None` inside if no period may). A period holds the ticks that begin
/// in it: `q` or `q + 1` of them for a period of `q` ticks and `r` ns, the latter when
/// a tick begins less than `r` ns after the period does; from one period to the next
/// that distance shrinks by `r` (modulo a tick), so the next such period comes after
/// `d / r` more periods, `d` the distance for the next one.
fn free_until(st: &BwState, now: u64, bound: u64) -> Option<Option<u64>> {
    let (quota, period) = st.config;
    if st.throttled || period < TICK_NS {
        return None;
    }
    let boundary = st.period_start.checked_add(period)?;
    let left = boundary.saturating_sub(now).div_ceil(TICK_NS);
    if may_bind(quota.saturating_sub(st.used), left, bound) {
        return None;
    }
    let (q, r) = (period / TICK_NS, period % TICK_NS);
    if !may_bind(quota, q + u64::from(r > 0), bound) {
        return Some(None);
    }
    if may_bind(quota, q, bound) {
        return Some(Some(boundary));
    }
    let d = (TICK_NS - boundary.saturating_sub(now) % TICK_NS) % TICK_NS;
    let first = 1 + u128::from(d / r);
    let at = u128::from(st.period_start) + first * u128::from(period);
    Some(u64::try_from(at).ok())
}

/// The fast-forward over a bandwidth steady state (Brent's cycle finding on the state
/// between stretches).
///
/// The state is what the next stretches depend on: the tick modulo the least common
/// multiple of the rotation periods of the phases met (which rotation comes next, for
/// each of them), and each bandwidth group's state relative to now. Two equal states
/// are followed by equal stretches, shifted in time, as long as only phases of those
/// rotation periods are met (a new period starts the search afresh).
struct Steady {
    /// Searching (not done, not given up).
    on: bool,
    lcm: u64,
    current: Vec<u64>,
    saved: Vec<u64>,
    /// When `saved` was taken.
    saved_at: Option<u64>,
    power: u64,
    steps: u64,
    /// A cycle is being measured: where it ends, and the usage at its start.
    measure: Option<Measure>,
}

struct Measure {
    until: u64,
    length: u64,
    times: Times,
    periods: Vec<(PeriodRecord, u64)>,
    /// The pressure sums at the start (empty without).
    psi: Vec<PsiCpuState>,
}

impl Steady {
    fn new(bw_groups: &[usize], bw: &[Option<BwState>], end: u64) -> Result<Self> {
        // Translation in time is exact only while no period boundary saturates.
        let longest = bw_groups
            .iter()
            .filter_map(|&g| bw.get(g).and_then(Option::as_ref))
            .map(|st| st.config.1)
            .max()
            .unwrap_or(0);
        // Period boundaries stay below the end plus a period.
        let fits = end.checked_add(longest).is_some();
        let mut current = Vec::new();
        let mut saved = Vec::new();
        let width = 2 + 7 * bw_groups.len();
        current.try_reserve_exact(width)?;
        saved.try_reserve_exact(width)?;
        Ok(Steady {
            on: fits && !bw_groups.is_empty(),
            lcm: 1,
            current,
            saved,
            saved_at: None,
            power: 1,
            steps: 0,
            measure: None,
        })
    }

    /// A stretch runs in a phase of rotation period `n`.
    fn met_period(&mut self, n: u64) {
        if !self.on || self.lcm % n == 0 {
            return;
        }
        self.lcm = self.lcm / gcd(self.lcm, n) * n;
        self.saved_at = None;
        if self.measure.is_some() || self.lcm > MAX_CYCLE_ROTATIONS {
            // Cannot happen within a true cycle; give up rather than guess.
            self.measure = None;
            self.on = false;
        }
    }

    fn key(&mut self, bw_groups: &[usize], bw: &[Option<BwState>], now: u64) {
        self.current.clear();
        self.current.push((now / TICK_NS) % self.lcm);
        self.current.push(now % TICK_NS);
        for &g in bw_groups {
            if let Some(Some(st)) = bw.get(g) {
                self.current.extend_from_slice(&[
                    st.config.0,
                    st.config.1,
                    now.wrapping_sub(st.period_start),
                    st.used,
                    st.throttled_ns,
                    u64::from(st.throttled) | u64::from(st.active) << 1,
                    u64::from(st.throttled_in_period),
                ]);
            }
        }
    }

    /// Called before each stretch: looks for a repeat, and jumps over whole cycles once
    /// one is measured.
    fn watch(
        &mut self,
        run: &mut Run<'_>,
        bw: &mut [Option<BwState>],
        now: &mut u64,
        end: u64,
    ) -> Result {
        if !self.on {
            return Ok(());
        }
        self.key(&run.bw_groups, bw, *now);
        if let Some(m) = self.measure.take() {
            if *now < m.until {
                self.measure = Some(m);
                return Ok(());
            }
            self.on = false;
            if *now == m.until && self.current == self.saved {
                self.jump(run, bw, now, end, m)?;
            }
            return Ok(());
        }
        match self.saved_at {
            Some(at) if self.current == self.saved => {
                // A repeat: measure one more cycle of the same length.
                let length = *now - at;
                let until = now.saturating_add(length);
                if until > end || length == 0 {
                    self.on = false;
                    return Ok(());
                }
                let times = run.times.try_clone()?;
                let mut periods = Vec::new();
                periods.try_reserve_exact(run.periods.len())?;
                periods.extend_from_slice(&run.periods);
                let mut psi = Vec::new();
                if let Some(acc) = run.psi.as_ref() {
                    psi.try_reserve_exact(acc.sums.len())?;
                    psi.extend_from_slice(&acc.sums);
                }
                self.measure = Some(Measure {
                    until,
                    length,
                    times,
                    periods,
                    psi,
                });
            }
            Some(_) => {
                self.steps += 1;
                if self.steps == self.power {
                    self.save(*now);
                    self.power = self.power.saturating_mul(2);
                }
            }
            None => {
                self.power = 1;
                self.save(*now);
            }
        }
        Ok(())
    }

    fn save(&mut self, now: u64) {
        core::mem::swap(&mut self.saved, &mut self.current);
        self.saved_at = Some(now);
        self.steps = 0;
    }

    /// The cycle from `m`'s start to now repeats: add it as many more times as fit.
    fn jump(
        &mut self,
        run: &mut Run<'_>,
        bw: &mut [Option<BwState>],
        now: &mut u64,
        end: u64,
        m: Measure,
    ) -> Result {
        let length = m.length;
        let cycles = (end - *now) / length;
        if cycles == 0 {
            return Ok(());
        }
        // What one cycle adds: now minus the measured start. Adding it `cycles` times at
        // once is what the saturating additions one by one would give.
        let mut extra: Vec<(usize, usize, u64)> = Vec::new();
        run.times.each(&mut |i, cpu, ns| {
            let old = m.times.get(i, cpu);
            let delta = ns - old.min(ns);
            if delta > 0 {
                push(&mut extra, (i, cpu, delta.saturating_mul(cycles)))?;
            }
            Ok(())
        })?;
        let mut more: Vec<(PeriodRecord, u64)> = Vec::new();
        for &(rec, times) in &run.periods {
            let old = m
                .periods
                .binary_search_by_key(&rec, |&(r, _)| r)
                .ok()
                .and_then(|at| m.periods.get(at))
                .map_or(0, |&(_, t)| t);
            let delta = times - old.min(times);
            if delta > 0 {
                push(&mut more, (rec, delta.saturating_mul(cycles)))?;
            }
        }
        // Nothing below allocates: the entries exist already.
        for (i, cpu, ns) in extra {
            run.times.add(i, cpu, ns)?;
        }
        for (rec, times) in more {
            add_period(&mut run.periods, rec, times)?;
        }
        if let Some(acc) = run.psi.as_mut() {
            for (sum, old) in acc.sums.iter_mut().zip(&m.psi) {
                for (x, o) in sum.iter_mut().zip(old) {
                    let delta = *x - (*o).min(*x);
                    *x = x.saturating_add(delta.saturating_mul(cycles));
                }
            }
        }
        let shift = cycles * length;
        *now += shift;
        for &g in &run.bw_groups {
            if let Some(Some(st)) = bw.get_mut(g) {
                st.period_start = st.period_start.wrapping_add(shift);
            }
        }
        Ok(())
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;

    fn g(parent: Option<usize>, shares: u64) -> Group {
        Group {
            parent,
            shares,
            bandwidth: None,
        }
    }

    fn t(pid: u32, group: usize, allowed: u64) -> Runnable {
        Runnable {
            pid,
            group,
            allowed: CpuMask::from_words([allowed, 0, 0, 0]),
        }
    }

    fn total(u: &Usage, i: usize) -> u64 {
        u.total(i)
    }

    type R = core::result::Result<(), Error>;

    #[test]
    fn split_is_exact() -> R {
        assert_eq!(split(10, &[1, 1, 1])?, vec![4, 3, 3]);
        assert_eq!(split(TICK_NS, &[2048, 1024])?, vec![666_667, 333_333]);
        assert_eq!(split(5, &[0, 0])?, vec![0, 0]);
        assert_eq!(split(7, &[0, 3])?, vec![0, 7]);
        assert_eq!(split(0, &[1, 2])?, vec![0, 0]);
        Ok(())
    }

    #[test]
    fn shares_two_to_one_on_one_cpu() -> R {
        let groups = [g(None, 1024), g(Some(0), 2048), g(Some(0), 1024)];
        let tasks = [t(2, 1, 1), t(3, 2, 1)];
        let mut now = 0;
        let u = simulate(&groups, &mut [None, None, None], &tasks, 4, &mut now, 3000)?;
        assert_eq!(now, 3000 * TICK_NS);
        let (a, b) = (total(&u, 0), total(&u, 1));
        assert_eq!(a + b, 3000 * TICK_NS);
        assert!((a as f64 / b as f64 - 2.0).abs() < 0.01, "{a} {b}");
        assert_eq!(
            u.per_task
                .first()
                .map(|m| m.iter().map(|&(c, _)| c).collect::<Vec<_>>()),
            Some(vec![0])
        );
        Ok(())
    }

    #[test]
    fn stretches_split_exactly_without_per_tick_rounding() -> R {
        // 2/3 and 1/3 of a 1 ms tick are not whole nanoseconds: over a stretch the
        // shares still come out exact (not 666_667 ns per tick for the first).
        let groups = [g(None, 1024), g(Some(0), 2048), g(Some(0), 1024)];
        let tasks = [t(2, 1, 1), t(3, 2, 1)];
        let mut now = 0;
        let u = simulate(&groups, &mut [None, None, None], &tasks, 1, &mut now, 3000)?;
        assert_eq!(
            (total(&u, 0), total(&u, 1)),
            (2000 * TICK_NS, 1000 * TICK_NS)
        );
        // Three alike tasks on one CPU take the odd nanosecond in turn: equal shares,
        // also over a stretch that does not start at rotation 0.
        let groups = [g(None, 1024)];
        let tasks = [t(2, 0, 1), t(3, 0, 1), t(4, 0, 1)];
        let mut now = 0;
        let u = simulate(&groups, &mut [None], &tasks, 1, &mut now, 3000)?;
        for i in 0..3 {
            assert_eq!(total(&u, i), 1000 * TICK_NS);
        }
        let u = simulate(&groups, &mut [None], &tasks, 1, &mut now, 301)?;
        let mut got: Vec<u64> = (0..3).map(|i| total(&u, i)).collect();
        got.sort_unstable();
        assert_eq!(got, vec![100_333_333, 100_333_333, 100_333_334]);
        Ok(())
    }

    #[test]
    fn underloaded_machine_gives_each_task_a_cpu() -> R {
        let groups = [g(None, 1024), g(Some(0), 2048), g(Some(0), 1024)];
        let tasks = [t(2, 1, u64::MAX), t(3, 2, u64::MAX)];
        let mut now = 0;
        let u = simulate(&groups, &mut [None, None, None], &tasks, 4, &mut now, 100)?;
        assert_eq!(total(&u, 0), 100 * TICK_NS);
        assert_eq!(total(&u, 1), 100 * TICK_NS);
        Ok(())
    }

    #[test]
    fn tasks_in_a_group_share_equally_and_groups_by_shares() -> R {
        // Group A (1024) has two tasks, group B (1024) one, all on CPU 0.
        let groups = [g(None, 1024), g(Some(0), 1024), g(Some(0), 1024)];
        let tasks = [t(2, 1, 1), t(3, 1, 1), t(4, 2, 1)];
        let a = allocate(&groups, &tasks, 2, 0)?;
        assert_eq!(
            a,
            vec![Some((0, 250_000)), Some((0, 250_000)), Some((0, 500_000))]
        );
        Ok(())
    }

    #[test]
    fn cpuset_is_respected_and_placement_prefers_free_cpus() -> R {
        let groups = [g(None, 1024)];
        // Task 2 may use any CPU, task 3 only CPU 0: 3 is placed first.
        let tasks = [t(2, 0, 0b11), t(3, 0, 0b01)];
        let a = allocate(&groups, &tasks, 2, 0)?;
        assert_eq!(a, vec![Some((1, TICK_NS)), Some((0, TICK_NS))]);
        Ok(())
    }

    #[test]
    fn quota_throttles_and_counts_periods() -> R {
        let groups = [g(None, 1024), g(Some(0), 1024)];
        let q = 50 * TICK_NS;
        let p = 100 * TICK_NS;
        let mut bw = [None, Some(BwState::new((q, p), 0))];
        let tasks = [t(2, 1, u64::MAX)];
        let mut now = 0;
        let u = simulate(&groups, &mut bw, &tasks, 2, &mut now, 1000)?;
        assert_eq!(total(&u, 0), 500 * TICK_NS);
        // Ten periods ended at 100, 200, ... 1000 ms; the last one closes at the next run.
        let rec = PeriodRecord {
            group: 1,
            throttled: true,
            throttled_ns: 50 * TICK_NS,
        };
        assert_eq!(u.periods, vec![(rec, 9)]);
        let u2 = simulate(&groups, &mut bw, &tasks, 2, &mut now, 1)?;
        assert_eq!(u2.periods, vec![(rec, 1)]);
        Ok(())
    }

    #[test]
    fn partial_tick_cuts_exactly_at_the_quota() -> R {
        // Quota 2.5 ms per 10 ms, two tasks on two CPUs: 2 ms/tick, quota reached mid-tick.
        let groups = [g(None, 1024), g(Some(0), 1024)];
        let mut bw = [None, Some(BwState::new((2_500_000, 10 * TICK_NS), 0))];
        let tasks = [t(2, 1, u64::MAX), t(3, 1, u64::MAX)];
        let mut now = 0;
        let u = simulate(&groups, &mut bw, &tasks, 2, &mut now, 10)?;
        assert_eq!(total(&u, 0) + total(&u, 1), 2_500_000);
        Ok(())
    }

    #[test]
    fn quota_reached_mid_tick_counts_as_throttled() -> R {
        // 1.2 ms per tick against a 50 ms quota: the 42nd tick is cut short.
        let groups = [g(None, 1024), g(Some(0), 2048), g(Some(0), 1024)];
        let mut bw = [
            None,
            None,
            Some(BwState::new((50 * TICK_NS, 100 * TICK_NS), 0)),
        ];
        let tasks = [t(2, 1, 0b10), t(3, 2, 0b10), t(4, 2, 0b11)];
        let mut now = 0;
        let u = simulate(&groups, &mut bw, &tasks, 2, &mut now, 1000)?;
        assert_eq!(total(&u, 1) + total(&u, 2), 500 * TICK_NS);
        assert_eq!(u.periods.iter().map(|(_, n)| n).sum::<u64>(), 9);
        assert!(u.periods.iter().all(|(r, _)| r.throttled));
        Ok(())
    }

    #[test]
    fn nested_quota_applies_to_descendants() -> R {
        let groups = [g(None, 1024), g(Some(0), 1024), g(Some(1), 1024)];
        let mut bw = [
            None,
            Some(BwState::new((10 * TICK_NS, 100 * TICK_NS), 0)),
            None,
        ];
        let tasks = [t(2, 2, u64::MAX)];
        let mut now = 0;
        let u = simulate(&groups, &mut bw, &tasks, 1, &mut now, 100)?;
        assert_eq!(total(&u, 0), 10 * TICK_NS);
        Ok(())
    }

    #[test]
    fn rotation_shares_a_doubled_cpu_fairly() -> R {
        // Three tasks of one group on two CPUs: each gets 2/3 of a CPU over 3 ticks.
        let groups = [g(None, 1024)];
        let tasks = [t(2, 0, 0b11), t(3, 0, 0b11), t(4, 0, 0b11)];
        let mut now = 0;
        let u = simulate(&groups, &mut [None], &tasks, 2, &mut now, 3000)?;
        for i in 0..3 {
            assert_eq!(total(&u, i), 2000 * TICK_NS);
        }
        // Five tasks on four CPUs, two groups with a quota on one: the group's tasks
        // share its quota equally.
        let groups = [g(None, 1024), g(Some(0), 1024), g(Some(0), 1024)];
        let mut bw = [None, Some(BwState::new((TICK_NS, TICK_NS), 0)), None];
        let tasks = [
            t(2, 1, 0xf),
            t(3, 1, 0xf),
            t(4, 2, 0xf),
            t(5, 2, 0xf),
            t(6, 0, 0xf),
        ];
        let mut now = 0;
        let u = simulate(&groups, &mut bw, &tasks, 4, &mut now, 1000)?;
        assert_eq!(total(&u, 0) + total(&u, 1), 1000 * TICK_NS);
        assert!(
            total(&u, 0).abs_diff(total(&u, 1)) <= 2 * TICK_NS,
            "{} {}",
            total(&u, 0),
            total(&u, 1)
        );
        Ok(())
    }

    #[test]
    fn rotation_period_is_the_lcm_of_alike_classes() -> R {
        let groups = [g(None, 1024), g(Some(0), 1024), g(Some(0), 1024)];
        // Root task (entitled 1/3) alone; four group tasks (1/6 each) alike.
        let tasks = [
            t(2, 1, 0xf),
            t(3, 1, 0xf),
            t(4, 2, 0xf),
            t(5, 2, 0xf),
            t(6, 0, 0xf),
        ];
        assert_eq!(rotation_period(&groups, &tasks, 4)?, 4);
        // A pinned task is a class of its own.
        let tasks = [t(2, 0, 0b1), t(3, 0, 0b11), t(4, 0, 0b11), t(5, 0, 0b11)];
        assert_eq!(rotation_period(&groups, &tasks, 2)?, 3);
        assert_eq!(rotation_period(&groups, &[], 2)?, 1);
        Ok(())
    }

    #[test]
    fn a_long_idle_gap_closes_one_active_period() -> R {
        let groups = [g(None, 1024), g(Some(0), 1024)];
        let mut bw = [None, Some(BwState::new((TICK_NS, 2 * TICK_NS), 0))];
        let tasks = [t(2, 1, 0b1)];
        let mut now = 0;
        let _ = simulate(&groups, &mut bw, &tasks, 1, &mut now, 1)?;
        // The group sat out 10^12 ms (another run without it), then runs again.
        now += 1_000_000_000_000 * TICK_NS;
        let u = simulate(&groups, &mut bw, &tasks, 1, &mut now, 2)?;
        // The first period closes with a record; the 5 * 10^11 idle ones without; the
        // run's first tick ends the quota of the current period, its second starts the
        // next one (closing the current one: a second record).
        assert_eq!(u.periods.iter().map(|(_, n)| n).sum::<u64>(), 2);
        assert_eq!(total(&u, 0), 2 * TICK_NS);
        Ok(())
    }

    #[test]
    fn idle_machine_advances_time() -> R {
        let mut now = 5;
        let u = simulate(&[g(None, 1024)], &mut [None], &[], 4, &mut now, 7)?;
        assert_eq!(now, 5 + 7 * TICK_NS);
        assert!(u.per_task.is_empty());
        Ok(())
    }

    /// A small deterministic generator (xorshift64*), so that the cases are the same on
    /// every run.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    /// A random machine: groups (some with a quota), tasks, CPUs.
    fn random_case(r: &mut Gen) -> (Vec<Group>, Vec<Runnable>, usize) {
        let nr_cpus = 1 + r.below(4) as usize;
        let ng = 1 + r.below(5) as usize;
        let mut groups = vec![g(None, 1024)];
        for x in 1..ng {
            let shares = [2, 512, 1024, 1024, 2048, 3000][r.below(6) as usize];
            let mut group = g(Some(r.below(x as u64) as usize), shares);
            if r.below(3) == 0 {
                let period = match r.below(3) {
                    0 | 1 => (1 + r.below(5)) * TICK_NS / [1, 1, 2][r.below(3) as usize],
                    // Periods of no whole number of ticks, coprime with each other: the
                    // state of several never repeats.
                    _ => {
                        (1 + r.below(3)) * TICK_NS
                            + [1_000, 3_000, 7_000, 250_000, 333_333, 999_999][r.below(6) as usize]
                    }
                };
                let quota = match r.below(3) {
                    0 | 1 => (1 + r.below(2 * period / 100_000)) * 100_000,
                    // Quotas that rarely or never bind.
                    _ => (1 + r.below(4)) * period / 2 + r.below(TICK_NS),
                };
                group.bandwidth = Some((quota, period.max(TICK_NS)));
            }
            groups.push(group);
        }
        let nt = r.below(8) as usize;
        let tasks = (0..nt)
            .map(|i| {
                let mask = match r.below(4) {
                    0 => u64::MAX,
                    1 => 0,
                    _ => r.next() & 0x1f,
                };
                t(
                    100 - i as u32 * (1 + r.below(2) as u32),
                    r.below(ng as u64) as usize,
                    mask,
                )
            })
            .collect();
        (groups, tasks, nr_cpus)
    }

    fn reference_times(u: &reference::Usage) -> Vec<CpuTimes> {
        u.per_task
            .iter()
            .map(|m| m.iter().map(|(&c, &ns)| (c, ns)).collect())
            .collect()
    }

    /// Runs of random machines, one after another, give exactly what the scheduler gave
    /// before it dropped its per-rotation caches and learnt to jump over steady states:
    /// CPU time per task and CPU, period records, bandwidth states, clock.
    #[test]
    fn matches_the_reference() -> R {
        let mut r = Gen(0x9e37_79b9_7f4a_7c15);
        let (mut jumps, mut counted) = (0, 0);
        for case in 0..400 {
            let (groups, tasks, nr_cpus) = random_case(&mut r);
            let fresh: Vec<Option<BwState>> = groups
                .iter()
                .map(|x| x.bandwidth.map(|cfg| BwState::new(cfg, 0)))
                .collect();
            let (mut bw, mut bw_ref) = (fresh.clone(), fresh);
            let (mut now, mut now_ref) = (0u64, 0u64);
            for _ in 0..4 {
                let ticks = match r.below(4) {
                    0 => 1 + r.below(3),
                    1 => 1 + r.below(40),
                    2 => 100 + r.below(400),
                    _ => 1000 + r.below(3000),
                };
                let mut stretches = 0u64;
                let u = simulate_with_progress(
                    &groups,
                    &mut bw,
                    &tasks,
                    nr_cpus,
                    &mut now,
                    ticks,
                    &mut |_| stretches += 1,
                )?;
                let v =
                    reference::simulate(&groups, &mut bw_ref, &tasks, nr_cpus, &mut now_ref, ticks);
                let what =
                    format!("case {case}: {groups:?} {tasks:?} on {nr_cpus} CPUs, run {ticks}");
                assert_eq!(u.per_task, reference_times(&v), "{what}");
                assert_eq!(u.periods, v.periods, "{what}");
                assert_eq!(bw, bw_ref, "{what}");
                assert_eq!(now, now_ref, "{what}");
                if stretches < ticks / 20 && bw.iter().any(Option::is_some) {
                    jumps += 1;
                }
                // More periods closed than there were stretches: free groups' periods
                // were counted, not simulated.
                if u.periods.iter().map(|(_, n)| n).sum::<u64>() > stretches {
                    counted += 1;
                }
            }
            for rotation in 0..6 {
                let amount = TICK_NS * (1 + r.below(7));
                assert_eq!(
                    allocate_amount(&groups, &tasks, nr_cpus, rotation, amount)?,
                    reference::allocate_amount(&groups, &tasks, nr_cpus, rotation, amount),
                    "case {case}"
                );
            }
        }
        // The cases exercise the fast-forward, not only plain stretches.
        assert!(jumps > 50, "{jumps} runs jumped");
        assert!(counted > 50, "{counted} runs counted periods");
        Ok(())
    }

    /// Distinct classes of alike tasks whose sizes have a least common multiple of 5040,
    /// the longest rotation period: the old scheduler's worst case.
    fn rotation_worst_case(extra: usize) -> (Vec<Group>, Vec<Runnable>) {
        let mut groups = vec![g(None, 1024)];
        let mut tasks = Vec::new();
        let mut pid = 2;
        for (x, size) in [16usize, 9, 5, 7].into_iter().enumerate() {
            groups.push(g(Some(0), 512 * (x as u64 + 1)));
            for _ in 0..size {
                tasks.push(t(pid, x + 1, u64::MAX));
                pid += 1;
            }
        }
        // More tasks in classes whose sizes divide 5040.
        for x in 0..extra {
            groups.push(g(Some(0), 3000 + x as u64));
            for _ in 0..8 {
                tasks.push(t(pid, groups.len() - 1, u64::MAX));
                pid += 1;
            }
        }
        (groups, tasks)
    }

    #[test]
    fn the_worst_rotation_period_is_reached_and_runs_add_up() -> R {
        let (groups, tasks) = rotation_worst_case(2);
        assert_eq!(rotation_period(&groups, &tasks, 4)?, MAX_ROTATION_PERIOD);
        // Whole rotation periods, and a run that ends within one, as before.
        for ticks in [5040, 50400, 7777] {
            let mut bw = vec![None; groups.len()];
            let (mut a, mut b) = (0, 0);
            let u = simulate(&groups, &mut bw, &tasks, 4, &mut a, ticks)?;
            let v = reference::simulate(&groups, &mut bw, &tasks, 4, &mut b, ticks);
            assert_eq!(u.per_task, reference_times(&v));
            let all: u64 = (0..tasks.len()).map(|i| u.total(i)).sum();
            assert_eq!(all, 4 * ticks * TICK_NS);
        }
        Ok(())
    }

    #[test]
    fn a_one_ms_period_over_ten_to_the_eight_ms_jumps() -> R {
        // Quota 0.5 ms per 1 ms period, one task: each tick is cut at the quota.
        let groups = [g(None, 1024), g(Some(0), 1024)];
        let mut bw = [None, Some(BwState::new((TICK_NS / 2, TICK_NS), 0))];
        let tasks = [t(2, 1, 1)];
        let mut now = 0;
        let mut stretches = 0u64;
        let u = simulate_with_progress(
            &groups,
            &mut bw,
            &tasks,
            1,
            &mut now,
            100_000_000,
            &mut |_| stretches += 1,
        )?;
        assert_eq!(now, 100_000_000 * TICK_NS);
        assert_eq!(u.total(0), 100_000_000 * TICK_NS / 2);
        // The period ending with the run closes at the next one.
        let rec = PeriodRecord {
            group: 1,
            throttled: true,
            throttled_ns: 0,
        };
        assert_eq!(u.periods, vec![(rec, 99_999_999)]);
        assert!(stretches < 100, "{stretches} stretches");
        Ok(())
    }

    #[test]
    fn a_run_past_its_budget_is_e2big_and_changes_nothing() -> R {
        // Binding groups with coprime periods (1.001, 1.003, 1.007 ms; 2/3 ms a tick
        // each against 1 ms quotas): the state never repeats, a run costs a few
        // stretches per thousand ms.
        let mut groups = vec![g(None, 1024)];
        for period in [1_001_000, 1_003_000, 1_007_000] {
            let mut x = g(Some(0), 1024);
            x.bandwidth = Some((TICK_NS, period));
            groups.push(x);
        }
        let tasks: Vec<Runnable> = (0..6).map(|i| t(2 + i, 1 + i as usize % 3, 0b11)).collect();
        let fresh: Vec<Option<BwState>> = groups
            .iter()
            .map(|x| x.bandwidth.map(|cfg| BwState::new(cfg, 0)))
            .collect();
        let budget = 1 << 20;
        let (mut bw, mut now) = (fresh.clone(), 0);
        let first = simulate_within(
            &groups,
            &mut bw,
            &tasks,
            2,
            &mut now,
            5000,
            budget,
            &mut |_| {},
        )?;
        let (bw0, now0) = (bw.clone(), now);
        assert_eq!(
            simulate_within(
                &groups,
                &mut bw,
                &tasks,
                2,
                &mut now,
                1 << 30,
                budget,
                &mut |_| {}
            ),
            Err(Error::E2BIG)
        );
        assert_eq!((&bw, now), (&bw0, now0));
        // The same time in pieces within the budget works; the refusal left no trace: a
        // piece gives what it gives to states that never tried, as the reference does.
        let (mut bw_ref, mut now_ref) = (fresh, 0);
        let v = reference::simulate(&groups, &mut bw_ref, &tasks, 2, &mut now_ref, 5000);
        assert_eq!(first.per_task, reference_times(&v));
        for _ in 0..3 {
            let u = simulate_within(
                &groups,
                &mut bw,
                &tasks,
                2,
                &mut now,
                4000,
                budget,
                &mut |_| {},
            )?;
            let v = reference::simulate(&groups, &mut bw_ref, &tasks, 2, &mut now_ref, 4000);
            assert_eq!(u.per_task, reference_times(&v));
            assert_eq!(u.periods, v.periods);
            assert_eq!((&bw, now), (&bw_ref, now_ref));
        }
        // And the full budget is far more than these pieces.
        let mut work = 0;
        let u = simulate_with_progress(&groups, &mut bw, &tasks, 2, &mut now, 4000, &mut |_| {
            work += 1
        })?;
        assert!(
            u.periods.iter().any(|(r, _)| r.throttled),
            "{:?}",
            u.periods
        );
        assert!(work > 0);
        Ok(())
    }

    #[test]
    fn runs_past_the_clock_fail_and_change_nothing() -> R {
        let groups = [g(None, 1024), g(Some(0), 1024)];
        let fresh = BwState::new((TICK_NS / 2, TICK_NS), 0);
        let mut bw = [None, Some(fresh.clone())];
        let tasks = [t(2, 1, 1)];
        let mut now = 0;
        // u64::MAX ms is no u64 of nanoseconds.
        assert_eq!(
            simulate(&groups, &mut bw, &tasks, 1, &mut now, u64::MAX),
            Err(Error::EINVAL)
        );
        assert_eq!(
            simulate(
                &groups,
                &mut bw,
                &tasks,
                1,
                &mut now,
                u64::MAX / TICK_NS + 1
            ),
            Err(Error::EINVAL)
        );
        // The last whole millisecond the clock can hold fits from boot, not one more.
        let last = u64::MAX / TICK_NS;
        let mut late = TICK_NS;
        assert_eq!(
            simulate(&groups, &mut bw, &tasks, 1, &mut late, last),
            Err(Error::EOVERFLOW)
        );
        assert_eq!((late, &bw[1]), (TICK_NS, &Some(fresh)));
        // Without a quota that is one stretch; with one, a steady state to jump over
        // (to a period short of the end, where no boundary can pass the clock's end).
        let u = simulate(&groups[..1], &mut [None], &[t(2, 0, 1)], 1, &mut now, last)?;
        assert_eq!((now, u.total(0)), (last * TICK_NS, last * TICK_NS));
        assert_eq!(
            simulate(&groups, &mut bw, &tasks, 1, &mut now, 1),
            Err(Error::EOVERFLOW)
        );
        assert_eq!(now, last * TICK_NS);
        let mut now = 0;
        let u = simulate(&groups, &mut bw, &tasks, 1, &mut now, last - 1)?;
        assert_eq!(u.total(0), (last - 1) * TICK_NS / 2);
        Ok(())
    }
}
