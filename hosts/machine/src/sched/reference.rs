//! The scheduler as it was before stretches were computed without per-rotation caches:
//! the reference the new one must match bit for bit (`sched::tests::matches_the_reference`).
//! Infallible and memory-hungry on purpose: it is only ever run on small inputs in tests.
//!
//! It has the rule of free bandwidth groups (a period whose quota cannot bind is no
//! scheduling event), written the plain way: the next period that may bind is found by
//! looking at each period in turn, and the periods a stretch passes are closed one by
//! one. That rule moves where stretches end, and with it the odd nanosecond of their
//! splits, so the scheduler before it is no reference for it.

#![allow(dead_code, clippy::indexing_slicing)]

use super::{
    all_cpus, BwState, CpuMask, Group, PeriodRecord, Runnable, MAX_CPUS, MIN_SHARES, NICE_0_WEIGHT,
    TICK_NS,
};
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

/// What a run gave each task: nanoseconds per CPU.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// `per_task[i]` maps CPU to ns for task `i` of the input.
    pub per_task: Vec<BTreeMap<usize, u64>>,
    /// The bandwidth periods that ended during the run, each with how many times it
    /// happened (in no particular order: each only adds to counters).
    pub periods: Vec<(PeriodRecord, u64)>,
}

/// One tick's placement and split: for each runnable task (by index), its CPU and ns.
pub type Allocation = Vec<Option<(usize, u64)>>;

/// Splits `amount` among `weights` in proportion, exactly (largest remainder; ties go
/// to the earlier entry).
pub fn split(amount: u64, weights: &[u64]) -> Vec<u64> {
    let total: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if total == 0 {
        return vec![0; weights.len()];
    }
    let mut parts = Vec::with_capacity(weights.len());
    let mut rems = Vec::with_capacity(weights.len());
    let mut given: u64 = 0;
    for &w in weights {
        let num = u128::from(amount) * u128::from(w);
        let part = u64::try_from(num / total).unwrap_or(u64::MAX);
        given = given.saturating_add(part);
        parts.push(part);
        rems.push(num % total);
    }
    let mut left = amount.saturating_sub(given);
    if left > 0 {
        let mut order: Vec<usize> = (0..weights.len())
            .filter(|&i| weights.get(i).is_some_and(|&w| w > 0))
            .collect();
        order.sort_by(|&a, &b| rems.get(b).cmp(&rems.get(a)).then(a.cmp(&b)));
        for i in order {
            if left == 0 {
                break;
            }
            if let Some(p) = parts.get_mut(i) {
                *p += 1;
                left -= 1;
            }
        }
    }
    parts
}

/// The longest cycle of rotations [`simulate`] goes through (the least common multiple of
/// the sizes of the classes of alike tasks, when that is smaller).
pub const MAX_ROTATION_PERIOD: usize = 5040;

/// What the placement orders tasks by: the number of CPUs they may use (fewest first)
/// and their entitlement, the fraction of the machine the group hierarchy gives them
/// (largest first). Tasks with equal keys are alike: which of them goes first only
/// changes who shares a CPU with whom.
fn placement_keys(groups: &[Group], tasks: &[Runnable], nr_cpus: usize) -> Vec<(usize, u128)> {
    let ng = groups.len();
    let parent_of = |g: usize| groups.get(g).and_then(|x| x.parent).filter(|&p| p < g);
    let shares_of = |g: usize| {
        groups
            .get(g)
            .map_or(NICE_0_WEIGHT, |x| x.shares.max(MIN_SHARES))
    };

    // Which groups have runnable tasks below them, and how many tasks each holds itself.
    let mut active = vec![false; ng];
    let mut own_tasks = vec![0u64; ng];
    for t in tasks {
        if let Some(n) = own_tasks.get_mut(t.group) {
            *n += 1;
        }
        let mut g = Some(t.group);
        while let Some(x) = g {
            match active.get_mut(x) {
                Some(a) if !*a => *a = true,
                _ => break,
            }
            g = parent_of(x);
        }
    }
    // Entitlement (fixed point) of each group: its weight over the weights of its active
    // siblings (child groups by shares, tasks of the parent at 1024 each).
    const ONE: u128 = 1 << 40;
    let mut level_weight: Vec<u128> = own_tasks
        .iter()
        .map(|&n| u128::from(n) * u128::from(NICE_0_WEIGHT))
        .collect();
    for g in 1..ng {
        if active.get(g).copied().unwrap_or(false) {
            if let Some(w) = parent_of(g).and_then(|p| level_weight.get_mut(p)) {
                *w += u128::from(shares_of(g));
            }
        }
    }
    let mut entitled = vec![0u128; ng];
    if let Some(e) = entitled.get_mut(0) {
        *e = ONE;
    }
    for g in 1..ng {
        let Some(p) = parent_of(g) else { continue };
        if !active.get(g).copied().unwrap_or(false) {
            continue;
        }
        let pw = level_weight.get(p).copied().unwrap_or(0).max(1);
        let pe = entitled.get(p).copied().unwrap_or(0);
        if let Some(e) = entitled.get_mut(g) {
            *e = pe * u128::from(shares_of(g)) / pw;
        }
    }
    let full = all_cpus(nr_cpus);
    tasks
        .iter()
        .map(|t| {
            let pw = level_weight.get(t.group).copied().unwrap_or(0).max(1);
            let e = entitled.get(t.group).copied().unwrap_or(0) * u128::from(NICE_0_WEIGHT) / pw;
            (usable(&t.allowed, &full).weight(), e)
        })
        .collect()
}

/// The tasks in placement order, as classes of alike tasks (each in pid order).
fn placement_classes(groups: &[Group], tasks: &[Runnable], nr_cpus: usize) -> Vec<Vec<usize>> {
    let keys = placement_keys(groups, tasks, nr_cpus);
    let key = |i: usize| keys.get(i).copied().unwrap_or((0, 0));
    let mut order: Vec<usize> = (0..tasks.len()).collect();
    order.sort_by(|&a, &b| {
        let ((wa, ea), (wb, eb)) = (key(a), key(b));
        wa.cmp(&wb)
            .then(eb.cmp(&ea))
            .then(
                tasks
                    .get(a)
                    .map(|t| t.pid)
                    .cmp(&tasks.get(b).map(|t| t.pid)),
            )
            .then(a.cmp(&b))
    });
    let mut classes: Vec<Vec<usize>> = Vec::new();
    for i in order {
        match classes.last_mut() {
            Some(c) if c.first().is_some_and(|&f| key(f) == key(i)) => c.push(i),
            _ => classes.push(vec![i]),
        }
    }
    classes
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// After how many rotations the placement of `tasks` repeats: the least common multiple
/// of the sizes of the classes of alike tasks, at most [`MAX_ROTATION_PERIOD`].
pub fn rotation_period(groups: &[Group], tasks: &[Runnable], nr_cpus: usize) -> usize {
    let mut l = 1usize;
    for c in placement_classes(groups, tasks, nr_cpus) {
        let n = c.len().max(1);
        l = l / gcd(l, n) * n;
        if l > MAX_ROTATION_PERIOD {
            return MAX_ROTATION_PERIOD;
        }
    }
    l
}

/// The placement and split of one tick among `tasks` (all runnable) on `nr_cpus` CPUs.
/// `rotation` turns each class of alike tasks (the load balancer moving tasks around):
/// with rotation `r`, a class of `s` tasks starts at its `(r mod s)`-th task, so over `s`
/// rotations each of them is placed last once and shares a CPU as often as the others.
pub fn allocate(groups: &[Group], tasks: &[Runnable], nr_cpus: usize, rotation: u64) -> Allocation {
    allocate_amount(groups, tasks, nr_cpus, rotation, TICK_NS)
}

/// [`allocate`] for `per_cpu_ns` ns per CPU instead of one tick: what `per_cpu_ns / TICK_NS`
/// ticks of rotation `rotation` give together, split once, so that shares that do not
/// divide a tick (2/3 and 1/3 of 1 ms) add up exactly over a stretch instead of carrying
/// a per-tick rounding. Ties of the split go to the entities in an order that turns with
/// `rotation`, so that alike tasks take the odd nanosecond in turn.
pub fn allocate_amount(
    groups: &[Group],
    tasks: &[Runnable],
    nr_cpus: usize,
    rotation: u64,
    per_cpu_ns: u64,
) -> Allocation {
    let nr_cpus = nr_cpus.clamp(1, MAX_CPUS);
    let ng = groups.len();
    let mut result: Allocation = vec![None; tasks.len()];
    if ng == 0 || tasks.is_empty() {
        return result;
    }
    let parent_of = |g: usize| groups.get(g).and_then(|x| x.parent).filter(|&p| p < g);
    let shares_of = |g: usize| {
        groups
            .get(g)
            .map_or(NICE_0_WEIGHT, |x| x.shares.max(MIN_SHARES))
    };

    // Placement: each task, in turn, on its allowed CPU with the least entitlement placed
    // so far (the lowest CPU on a tie).
    let keys = placement_keys(groups, tasks, nr_cpus);
    let full = all_cpus(nr_cpus);
    let mut order: Vec<usize> = Vec::with_capacity(tasks.len());
    for class in placement_classes(groups, tasks, nr_cpus) {
        let s = class.len().max(1);
        let r = usize::try_from(rotation % s as u64).unwrap_or(0);
        order.extend(class.iter().skip(r).chain(class.iter().take(r)));
    }
    let mut cpu_load = vec![0u128; nr_cpus];
    let mut cpu_of = vec![0usize; tasks.len()];
    for &i in &order {
        let Some(t) = tasks.get(i) else { continue };
        let m = usable(&t.allowed, &full);
        let mut best: Option<(u128, usize)> = None;
        for c in 0..nr_cpus {
            if !m.test(c) {
                continue;
            }
            let l = cpu_load.get(c).copied().unwrap_or(0);
            let better = match best {
                None => true,
                Some((bl, _)) => l < bl,
            };
            if better {
                best = Some((l, c));
            }
        }
        let c = best.map_or(0, |(_, c)| c);
        if let Some(l) = cpu_load.get_mut(c) {
            *l += keys.get(i).map_or(0, |k| k.1);
        }
        if let Some(slot) = cpu_of.get_mut(i) {
            *slot = c;
        }
    }

    // Per-CPU loads and group weights, children before parents.
    let mut load = vec![vec![0u64; nr_cpus]; ng];
    for (i, t) in tasks.iter().enumerate() {
        let c = cpu_of.get(i).copied().unwrap_or(0);
        if let Some(l) = load.get_mut(t.group).and_then(|v| v.get_mut(c)) {
            *l += NICE_0_WEIGHT;
        }
    }
    let mut weight = vec![vec![0u64; nr_cpus]; ng];
    for g in (1..ng).rev() {
        let Some(p) = parent_of(g) else { continue };
        let row = load.get(g).cloned().unwrap_or_default();
        let total: u128 = row.iter().map(|&x| u128::from(x)).sum();
        if total == 0 {
            continue;
        }
        let shares = shares_of(g);
        for (c, &l) in row.iter().enumerate() {
            if l == 0 {
                continue;
            }
            let w = u128::from(shares) * u128::from(l) / total;
            let w = u64::try_from(w)
                .unwrap_or(u64::MAX)
                .clamp(MIN_SHARES, shares);
            if let Some(x) = weight.get_mut(g).and_then(|v| v.get_mut(c)) {
                *x = w;
            }
            if let Some(x) = load.get_mut(p).and_then(|v| v.get_mut(c)) {
                *x = x.saturating_add(w);
            }
        }
    }

    // Split each CPU's tick top-down.
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); ng];
    for g in 1..ng {
        if let Some(p) = parent_of(g) {
            if let Some(v) = children.get_mut(p) {
                v.push(g);
            }
        }
    }
    let mut tasks_of: Vec<Vec<usize>> = vec![Vec::new(); ng];
    for (i, t) in tasks.iter().enumerate() {
        if let Some(v) = tasks_of.get_mut(t.group) {
            v.push(i);
        }
    }
    for c in 0..nr_cpus {
        let mut budget = vec![0u64; ng];
        if load.first().and_then(|v| v.get(c)).copied().unwrap_or(0) == 0 {
            continue;
        }
        if let Some(b) = budget.get_mut(0) {
            *b = per_cpu_ns;
        }
        for g in 0..ng {
            let amount = budget.get(g).copied().unwrap_or(0);
            if amount == 0 {
                continue;
            }
            // Entities of g on c: its tasks there, then its child groups there.
            let mut ents: Vec<(bool, usize)> = Vec::new();
            let mut ws: Vec<u64> = Vec::new();
            for &i in tasks_of.get(g).map_or(&[][..], |v| v.as_slice()) {
                if cpu_of.get(i) == Some(&c) {
                    ents.push((true, i));
                    ws.push(NICE_0_WEIGHT);
                }
            }
            for &h in children.get(g).map_or(&[][..], |v| v.as_slice()) {
                let w = weight.get(h).and_then(|v| v.get(c)).copied().unwrap_or(0);
                if w > 0 {
                    ents.push((false, h));
                    ws.push(w);
                }
            }
            let turn = usize::try_from(rotation % (ents.len().max(1) as u64)).unwrap_or(0);
            ents.rotate_left(turn);
            ws.rotate_left(turn);
            for ((is_task, idx), part) in ents.into_iter().zip(split(amount, &ws)) {
                if is_task {
                    if let Some(r) = result.get_mut(idx) {
                        *r = Some((c, part));
                    }
                } else if let Some(b) = budget.get_mut(idx) {
                    *b = part;
                }
            }
        }
    }
    result
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
        match groups.get(g).and_then(|x| x.parent) {
            Some(p) if p < g => g = p,
            _ => return false,
        }
    }
}

/// How many of the `k` ticks from tick `start` fall on each residue modulo `n`.
fn residue_counts(start: u64, k: u64, n: usize) -> Vec<u64> {
    let n64 = n.max(1) as u64;
    let (base, extra) = (k / n64, k % n64);
    (0..n64)
        .map(|j| {
            let offset = (j + n64 - start % n64) % n64;
            base + u64::from(offset < extra)
        })
        .collect()
}

/// The most whole ticks from tick `start` whose per-tick consumption (`per_residue`,
/// periodic modulo its length) adds up to at most `left`.
fn ticks_within(per_residue: &[u64], start: u64, left: u64) -> u64 {
    let n = per_residue.len().max(1) as u64;
    let cycle: u64 = per_residue.iter().fold(0u64, |a, &c| a.saturating_add(c));
    let Some(cycles) = left.checked_div(cycle) else {
        return u64::MAX;
    };
    let mut rem = left - cycles * cycle;
    let mut m = cycles.saturating_mul(n);
    for i in 0..n {
        let c = per_residue
            .get(usize::try_from((start + i) % n).unwrap_or(0))
            .copied()
            .unwrap_or(0);
        if c > rem {
            break;
        }
        rem -= c;
        m = m.saturating_add(1);
    }
    m
}

/// What [`simulate`] knows about one set of runnable tasks (one combination of
/// throttled groups): the tasks, their rotation period, the allocation of each
/// rotation and what each bandwidth group consumes in each rotation, all made on first
/// use.
struct Phase {
    eligible: Vec<usize>,
    sub: Vec<Runnable>,
    n: usize,
    allocs: Vec<Option<Allocation>>,
    /// Per bandwidth group (index into the bandwidth group list), ns per tick by rotation.
    cons: Vec<Option<Vec<u64>>>,
    /// [`allocate_amount`] of `count` ticks of rotation `j`, by `(j, count)`.
    bulk: BTreeMap<(usize, u64), Allocation>,
}

impl Phase {
    fn new(
        groups: &[Group],
        tasks: &[Runnable],
        throttled: &[usize],
        nr_cpus: usize,
        nr_bw: usize,
    ) -> Self {
        let eligible: Vec<usize> = (0..tasks.len())
            .filter(|&i| {
                tasks
                    .get(i)
                    .is_some_and(|t| !throttled.iter().any(|&g| is_under(groups, t.group, g)))
            })
            .collect();
        let sub: Vec<Runnable> = eligible
            .iter()
            .filter_map(|&i| tasks.get(i).copied())
            .collect();
        let n = rotation_period(groups, &sub, nr_cpus);
        Phase {
            eligible,
            sub,
            n,
            allocs: vec![None; n],
            cons: vec![None; nr_bw],
            bulk: BTreeMap::new(),
        }
    }

    /// What `count` ticks of rotation `j` give together, split exactly.
    fn bulk_alloc(
        &mut self,
        groups: &[Group],
        nr_cpus: usize,
        j: usize,
        count: u64,
    ) -> &Allocation {
        if self.bulk.len() > 4 * self.n + 64 {
            self.bulk.clear();
        }
        let sub = &self.sub;
        self.bulk.entry((j, count)).or_insert_with(|| {
            allocate_amount(
                groups,
                sub,
                nr_cpus,
                j as u64,
                count.saturating_mul(TICK_NS),
            )
        })
    }

    fn alloc(&mut self, groups: &[Group], nr_cpus: usize, j: usize) -> &Allocation {
        if !matches!(self.allocs.get(j), Some(Some(_))) {
            let a = allocate(groups, &self.sub, nr_cpus, j as u64);
            if let Some(slot) = self.allocs.get_mut(j) {
                *slot = Some(a);
            }
        }
        match self.allocs.get(j) {
            Some(Some(a)) => a,
            _ => &EMPTY,
        }
    }

    /// ns per tick, by rotation, of the runnable tasks among `mine` (bandwidth group `bi`).
    fn consumption(
        &mut self,
        groups: &[Group],
        nr_cpus: usize,
        bi: usize,
        mine: &[usize],
    ) -> Vec<u64> {
        if let Some(Some(c)) = self.cons.get(bi) {
            return c.clone();
        }
        let picks: Vec<usize> = (0..self.eligible.len())
            .filter(|&x| self.eligible.get(x).is_some_and(|i| mine.contains(i)))
            .collect();
        let per: Vec<u64> = (0..self.n)
            .map(|j| {
                let a = self.alloc(groups, nr_cpus, j);
                picks
                    .iter()
                    .map(|&x| a.get(x).copied().flatten().map_or(0, |(_, ns)| ns))
                    .sum()
            })
            .collect();
        if let Some(slot) = self.cons.get_mut(bi) {
            *slot = Some(per.clone());
        }
        per
    }
}

static EMPTY: Allocation = Vec::new();

/// Runs `ticks` ticks from `*now` (ns), updating the bandwidth states `bw` (one per group,
/// `None` for a group without quota) and advancing `*now`. `tasks` are the runnable
/// tasks (busy, not frozen) for the whole run.
///
/// Tick `t` (counted from boot) uses rotation `t mod p` of [`allocate`], `p` being the
/// [`rotation_period`] of the runnable tasks: the allocations repeat every `p` ticks,
/// which lets runs of ticks without a period boundary or throttling be added up per
/// rotation instead of tick by tick. The cost of a run is therefore proportional to the
/// number of bandwidth periods in it, not to its length.
pub fn simulate(
    groups: &[Group],
    bw: &mut [Option<BwState>],
    tasks: &[Runnable],
    nr_cpus: usize,
    now: &mut u64,
    ticks: u64,
) -> Usage {
    let nr_cpus = nr_cpus.clamp(1, MAX_CPUS);
    let mut per_task = vec![BTreeMap::new(); tasks.len()];
    let mut periods: BTreeMap<PeriodRecord, u64> = BTreeMap::new();
    let end = now.saturating_add(ticks.saturating_mul(TICK_NS));
    let bw_groups: Vec<usize> = (0..groups.len())
        .filter(|&g| matches!(bw.get(g), Some(Some(_))))
        .collect();
    // For each bandwidth group, the tasks below it, and the CPUs they may use.
    let under: Vec<Vec<usize>> = bw_groups
        .iter()
        .map(|&g| {
            (0..tasks.len())
                .filter(|&i| tasks.get(i).is_some_and(|t| is_under(groups, t.group, g)))
                .collect()
        })
        .collect();
    let full = all_cpus(nr_cpus);
    let under_cpus: Vec<u64> = under
        .iter()
        .map(|mine| {
            mine.iter()
                .filter_map(|&i| tasks.get(i))
                .fold(CpuMask::new(), |m, t| m.or(&usable(&t.allowed, &full)))
                .weight() as u64
        })
        .collect();
    let mut phases: BTreeMap<Vec<usize>, Phase> = BTreeMap::new();

    while *now < end {
        // Close the periods that ended: the current one, and any that passed without a
        // tick of this group (inactive, nothing to record).
        for &g in &bw_groups {
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
                    *periods.entry(rec).or_insert(0) += 1;
                }
                let passed = (*now - st.period_start) / period;
                let start = st
                    .period_start
                    .saturating_add(passed.saturating_mul(period));
                *st = BwState::new(st.config, start);
            }
        }
        // Who may run: the tasks not below a throttled group.
        let throttled: Vec<usize> = bw_groups
            .iter()
            .copied()
            .filter(|&g| matches!(bw.get(g), Some(Some(st)) if st.throttled))
            .collect();
        if phases.len() > 256 {
            phases.clear();
        }
        let phase = phases
            .entry(throttled.clone())
            .or_insert_with(|| Phase::new(groups, tasks, &throttled, nr_cpus, bw_groups.len()));
        let n = phase.n;
        let tick = *now / TICK_NS;
        let residue = usize::try_from(tick % n as u64).unwrap_or(0);

        // How many ticks can run before a period ends or a quota runs out.
        let mut k = (end - *now).div_ceil(TICK_NS);
        let mut cons: Vec<Option<Vec<u64>>> = vec![None; bw_groups.len()];
        let mut free = vec![false; bw_groups.len()];
        for (bi, &g) in bw_groups.iter().enumerate() {
            let Some(Some(st)) = bw.get(g) else { continue };
            let boundary = st.period_start.saturating_add(st.config.1.max(1));
            let mine = under.get(bi).map_or(&[][..], |v| v.as_slice());
            let below = phase.eligible.iter().filter(|i| mine.contains(i)).count() as u64;
            // The most a tick gives the group: a tick per CPU its tasks may use, and the
            // most of one tick of any rotation plus 2 ns per split level and CPU.
            let cheap = below.min(under_cpus.get(bi).copied().unwrap_or(0)) * TICK_NS;
            let per = if below > 0 {
                phase.consumption(groups, nr_cpus, bi, mine)
            } else {
                Vec::new()
            };
            let depth = {
                let (mut d, mut x) = (0u64, g);
                while let Some(p) = groups.get(x).and_then(|y| y.parent).filter(|&p| p < x) {
                    d += 1;
                    x = p;
                }
                d
            };
            let precise = per.iter().copied().max().unwrap_or(0) + 2 * depth * nr_cpus as u64;
            let bound = u128::from(cheap.min(precise));
            let (quota, period) = st.config;
            // Free: neither what is left of the current period nor any later period up
            // to the first that may bind can reach the quota; its boundaries before that
            // one are no scheduling events.
            let ticks_from = |from: u128, to: u128| -> u128 {
                // Ticks of the run (from `now`, one per TICK_NS) that begin in [from, to).
                let first = u128::from(*now)
                    + (from.saturating_sub(u128::from(*now))).div_ceil(u128::from(TICK_NS))
                        * u128::from(TICK_NS);
                if first >= to {
                    0
                } else {
                    (to - first).div_ceil(u128::from(TICK_NS))
                }
            };
            let ps = u128::from(st.period_start);
            let p = u128::from(period);
            let current_free = !st.throttled
                && period >= TICK_NS
                && ps + p <= u128::from(u64::MAX)
                && ticks_from(u128::from(*now), ps + p) * bound
                    < u128::from(quota.saturating_sub(st.used));
            if current_free {
                free[bi] = true;
                let mut j = 1u128;
                loop {
                    let s = ps + j * p;
                    if s >= u128::from(end) {
                        break;
                    }
                    if ticks_from(s, s + p) * bound >= u128::from(quota) {
                        let s = u64::try_from(s).unwrap_or(u64::MAX);
                        k = k.min(s.saturating_sub(*now).div_ceil(TICK_NS).max(1));
                        break;
                    }
                    j += 1;
                }
                if below > 0 {
                    if let Some(c) = cons.get_mut(bi) {
                        *c = Some(per);
                    }
                }
                continue;
            }
            k = k.min(boundary.saturating_sub(*now).div_ceil(TICK_NS).max(1));
            if st.throttled || below == 0 {
                continue;
            }
            k = k.min(ticks_within(
                &per,
                tick,
                st.config.0.saturating_sub(st.used),
            ));
            if let Some(c) = cons.get_mut(bi) {
                *c = Some(per);
            }
        }

        // Groups whose quota runs out within this tick.
        let mut cut: Vec<usize> = Vec::new();
        let k = if k == 0 {
            // One tick in which some group reaches its quota: its tasks get exactly what
            // is left of it, split by what they would have run; the deepest groups first.
            let mut alloc = phase.alloc(groups, nr_cpus, residue).clone();
            let mut used_now = vec![0u64; bw_groups.len()];
            for (bi, &g) in bw_groups.iter().enumerate().rev() {
                let Some(Some(st)) = bw.get(g) else { continue };
                if st.throttled {
                    continue;
                }
                let left = st.config.0.saturating_sub(st.used);
                let mine: Vec<usize> = (0..phase.eligible.len())
                    .filter(|&j| {
                        phase
                            .eligible
                            .get(j)
                            .is_some_and(|i| under.get(bi).is_some_and(|u| u.contains(i)))
                    })
                    .collect();
                let wants: Vec<u64> = mine
                    .iter()
                    .map(|&j| alloc.get(j).copied().flatten().map_or(0, |(_, ns)| ns))
                    .collect();
                if wants.iter().sum::<u64>() > left {
                    for (&j, part) in mine.iter().zip(split(left, &wants)) {
                        if let Some(Some((_, ns))) = alloc.get_mut(j) {
                            *ns = part;
                        }
                    }
                    cut.push(g);
                }
                if let Some(u) = used_now.get_mut(bi) {
                    *u = mine
                        .iter()
                        .map(|&j| alloc.get(j).copied().flatten().map_or(0, |(_, ns)| ns))
                        .sum();
                }
            }
            add_usage(&mut per_task, &phase.eligible, &alloc, 1);
            for (bi, &g) in bw_groups.iter().enumerate() {
                if let Some(Some(st)) = bw.get_mut(g) {
                    st.used = st
                        .used
                        .saturating_add(used_now.get(bi).copied().unwrap_or(0));
                }
            }
            1
        } else {
            // Each rotation's ticks of the stretch are split at once (exact shares); the
            // bandwidth groups are charged what their tasks got.
            let counts = residue_counts(tick, k, n);
            let mut used = vec![0u64; bw_groups.len()];
            let eligible = phase.eligible.clone();
            for (j, &c) in counts.iter().enumerate() {
                if c == 0 {
                    continue;
                }
                let a = phase.bulk_alloc(groups, nr_cpus, j, c);
                add_usage(&mut per_task, &eligible, a, 1);
                for (bi, u) in used.iter_mut().enumerate() {
                    let mine = under.get(bi).map_or(&[][..], |v| v.as_slice());
                    for (x, slot) in a.iter().enumerate() {
                        if let (Some(i), Some((_, ns))) = (eligible.get(x), slot) {
                            if mine.contains(i) {
                                *u = u.saturating_add(*ns);
                            }
                        }
                    }
                }
            }
            for (bi, &g) in bw_groups.iter().enumerate() {
                if let (Some(Some(st)), Some(Some(_))) = (bw.get_mut(g), cons.get(bi)) {
                    st.used = st.used.saturating_add(used.get(bi).copied().unwrap_or(0));
                }
            }
            k
        };

        // Bookkeeping of the bandwidth groups for these k ticks.
        for (bi, &g) in bw_groups.iter().enumerate() {
            let Some(Some(st)) = bw.get_mut(g) else {
                continue;
            };
            let mine = under.get(bi).map_or(&[][..], |v| v.as_slice());
            if !mine.is_empty() {
                st.active = true;
            }
            if free.get(bi).copied().unwrap_or(false) {
                // Close, one by one, the periods that ended before the last tick of the
                // stretch began; the current one gets the ticks of the stretch that
                // began in it, split as a stretch of their own.
                let period = st.config.1;
                let last = *now + (k - 1) * TICK_NS;
                let mut closed = false;
                while st.period_start + period <= last {
                    if st.active {
                        *periods
                            .entry(PeriodRecord {
                                group: g,
                                throttled: st.throttled_in_period,
                                throttled_ns: st.throttled_ns,
                            })
                            .or_insert(0) += 1;
                    }
                    *st = BwState::new(st.config, st.period_start + period);
                    st.active = !mine.is_empty();
                    closed = true;
                }
                if closed {
                    let skip = (st.period_start - *now).div_ceil(TICK_NS);
                    let m = k - skip;
                    let counts = residue_counts(tick + skip, m, n);
                    let mut used = 0u64;
                    let eligible = phase.eligible.clone();
                    for (j, &c) in counts.iter().enumerate() {
                        if c == 0 {
                            continue;
                        }
                        let a = phase.bulk_alloc(groups, nr_cpus, j, c);
                        for (x, slot) in a.iter().enumerate() {
                            if let (Some(i), Some((_, ns))) = (eligible.get(x), slot) {
                                if mine.contains(i) {
                                    used = used.saturating_add(*ns);
                                }
                            }
                        }
                    }
                    st.used = used;
                }
                continue;
            }
            if st.throttled {
                let blocked = (mine.len() as u64).min(under_cpus.get(bi).copied().unwrap_or(0));
                st.throttled_ns = st
                    .throttled_ns
                    .saturating_add(k.saturating_mul(TICK_NS).saturating_mul(blocked));
            } else if st.used >= st.config.0 || cut.contains(&g) {
                st.throttled = true;
                st.throttled_in_period = true;
            }
        }
        *now = now.saturating_add(k.saturating_mul(TICK_NS)).min(end);
    }
    Usage {
        per_task,
        periods: periods.into_iter().collect(),
    }
}

/// Adds `ticks` ticks of `alloc` (over the runnable tasks `eligible`) to `per_task`.
fn add_usage(
    per_task: &mut [BTreeMap<usize, u64>],
    eligible: &[usize],
    alloc: &Allocation,
    ticks: u64,
) {
    for (j, a) in alloc.iter().enumerate() {
        let (Some(&i), Some((cpu, ns))) = (eligible.get(j), a) else {
            continue;
        };
        if *ns == 0 {
            continue;
        }
        if let Some(m) = per_task.get_mut(i) {
            let e = m.entry(*cpu).or_insert(0);
            *e = e.saturating_add(ns.saturating_mul(ticks));
        }
    }
}
