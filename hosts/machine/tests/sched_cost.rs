//! What `run MS` costs (issue 10, item 7): memory independent of `MS` and far below the
//! old scheduler's per-rotation caches, and time linear in tasks and in scheduling
//! events (ratios measured in the same run, the least of a few repetitions).
//!
//! Allocations are counted per thread by a wrapping global allocator, so that tests
//! running side by side do not see each other's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gpc_core::Error;
use gpc_machine::sched::{
    rotation_period, simulate, BwState, CpuMask, Group, Runnable, MAX_ROTATION_PERIOD, TICK_NS,
};

/// The system allocator, counting this thread's live and peak bytes.
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn note_alloc(size: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add(size);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn note_free(size: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(size)));
}

// SAFETY: every call is forwarded to `System` with the caller's arguments unchanged; the
// counting only touches const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_free(layout.size());
        // SAFETY: `ptr` was allocated by `System` with `layout` (through `alloc` above).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_free(layout.size());
        note_alloc(new_size);
        // SAFETY: as for `dealloc`, and `new_size` is the caller's valid new size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

type R = Result<(), Error>;

/// One test at a time: timings of tests running side by side on a small machine say
/// little.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The most bytes this thread held at once while `f` ran, above what it held before.
fn peak_bytes<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(Cell::get) - base)
}

fn group(parent: Option<usize>, shares: u64) -> Group {
    Group {
        parent,
        shares,
        bandwidth: None,
    }
}

fn task(pid: u32, group: usize) -> Runnable {
    Runnable {
        pid,
        group,
        allowed: CpuMask::full(4),
    }
}

/// Classes of alike tasks whose sizes have a least common multiple of 5040, the longest
/// rotation period (the old scheduler kept an allocation per rotation: 5040 x tasks),
/// and `extra` more classes of 8 tasks; the last group has a quota when `quota` is set.
fn worst_case(extra: usize, quota: Option<(u64, u64)>) -> (Vec<Group>, Vec<Runnable>) {
    let mut groups = vec![group(None, 1024)];
    let mut tasks = Vec::new();
    let mut pid = 2;
    let sizes = [16usize, 9, 5, 7].into_iter().chain((0..extra).map(|_| 8));
    for (x, size) in sizes.enumerate() {
        groups.push(group(Some(0), 100 + 37 * x as u64));
        for _ in 0..size {
            tasks.push(task(pid, x + 1));
            pid += 1;
        }
    }
    if let Some(last) = groups.last_mut() {
        last.bandwidth = quota;
    }
    (groups, tasks)
}

fn fresh_bw(groups: &[Group]) -> Vec<Option<BwState>> {
    groups
        .iter()
        .map(|g| g.bandwidth.map(|cfg| BwState::new(cfg, 0)))
        .collect()
}

/// Peak bytes of one `run ms` of `groups`/`tasks` on 4 CPUs.
fn run_peak(groups: &[Group], tasks: &[Runnable], ms: u64) -> Result<usize, Error> {
    let mut bw = fresh_bw(groups);
    let mut now = 0;
    let (usage, peak) = peak_bytes(|| simulate(groups, &mut bw, tasks, 4, &mut now, ms));
    let usage = usage?;
    assert_eq!(now, ms * TICK_NS);
    let all: u64 = (0..tasks.len()).map(|i| usage.total(i)).sum();
    assert!(all > 0);
    Ok(peak)
}

#[test]
fn memory_is_flat_in_ms_and_far_below_a_rotation_of_allocations() -> R {
    let _serial = serial();
    let (groups, tasks) = worst_case(12, None);
    assert_eq!(rotation_period(&groups, &tasks, 4)?, MAX_ROTATION_PERIOD);
    // What the old scheduler cached: an allocation (24 bytes a task) per rotation.
    let old = MAX_ROTATION_PERIOD * tasks.len() * 24;
    let short = run_peak(&groups, &tasks, 5040)?;
    let long = run_peak(&groups, &tasks, 50400)?;
    assert_eq!(short, long, "peak bytes of run 5040 and run 50400");
    assert!(short * 100 < old, "{short} bytes against {old}");
    // With a quota (100 ms periods, some throttled), memory stays flat too: what a
    // stretch keeps per rotation is one number per bandwidth group.
    let (groups, tasks) = worst_case(12, Some((20 * TICK_NS, 100 * TICK_NS)));
    let short = run_peak(&groups, &tasks, 5040)?;
    let long = run_peak(&groups, &tasks, 50400)?;
    assert!(long <= short + short / 10, "{short} then {long} bytes");
    assert!(short * 100 < old, "{short} bytes against {old}");
    Ok(())
}

/// The CPU time this thread has used: unlike the wall clock, it does not count the
/// time other processes of a busy machine take, which weighs on a long run more than
/// on a short one.
fn thread_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// How long `f` takes, in thread CPU time (wall time where that is not available).
fn time(f: &impl Fn() -> R) -> Result<Duration, Error> {
    let (cpu, wall) = (thread_time(), Instant::now());
    f()?;
    let spent = thread_time().saturating_sub(cpu);
    Ok(if spent.is_zero() {
        wall.elapsed()
    } else {
        spent
    })
}

/// The least times of seven runs of `small` and of `large`, taken in turn.
fn least_times(
    small: impl Fn() -> R,
    large: impl Fn() -> R,
) -> Result<(Duration, Duration), Error> {
    let (mut a, mut b) = (Duration::MAX, Duration::MAX);
    for _ in 0..7 {
        a = a.min(time(&small)?);
        b = b.min(time(&large)?);
    }
    Ok((a, b))
}

/// The least time of ten runs of `small` one after another, and of one run of `large`
/// (ten times the input): measurements of about the same length, so that what a
/// measurement costs weighs alike on both. `large` may take at most 1.2 times the ten.
fn ten_times_the_input_at_most_twelve_times_the_time(
    what: &str,
    small: impl Fn() -> R,
    large: impl Fn() -> R,
) -> R {
    let (ten_small, one_large) = least_times(
        || {
            for _ in 0..10 {
                small()?;
            }
            Ok(())
        },
        large,
    )?;
    assert!(
        one_large * 10 <= ten_small * 12,
        "{what}: one run of ten times the input {one_large:?}, ten runs {ten_small:?}"
    );
    Ok(())
}

/// `n` alike tasks of the root group: one class, rotation period `min(n, 5040)`.
fn alike(n: u32) -> (Vec<Group>, Vec<Runnable>) {
    (
        vec![group(None, 1024)],
        (0..n).map(|i| task(i + 2, 0)).collect(),
    )
}

fn run(groups: &[Group], tasks: &[Runnable], ms: u64) -> R {
    let mut bw = fresh_bw(groups);
    let mut now = 0;
    simulate(groups, &mut bw, tasks, 4, &mut now, ms).map(|_| ())
}

#[test]
fn ten_times_the_tasks_cost_at_most_twelve_times_the_time() -> R {
    let _serial = serial();
    // 32 placements either way (the run is shorter than the rotation period). Both
    // sizes are past the first-level cache, so that the ratio is the algorithm's.
    let (g1, t1) = alike(600);
    let (g10, t10) = alike(6000);
    ten_times_the_input_at_most_twelve_times_the_time(
        "600 and 6000 tasks",
        || run(&g1, &t1, 32),
        || run(&g10, &t10, 32),
    )
}

#[test]
fn ten_times_the_scheduling_events_cost_at_most_twelve_times_the_time() -> R {
    let _serial = serial();
    // Placements: a run of 100 and one of 1000 ms, both within the rotation period of
    // 1000 alike tasks, so each tick is a placement of its own.
    let (groups, tasks) = alike(1000);
    ten_times_the_input_at_most_twelve_times_the_time(
        "100 and 1000 placements",
        || run(&groups, &tasks, 100),
        || run(&groups, &tasks, 1000),
    )?;
    // Bandwidth periods: 20 and 200 periods of 7 ms with two throttling groups whose
    // periods (7 and 11 ms) and rotation (60 alike tasks) keep the state from repeating
    // within the longer run (4620 ms).
    let limited = |quota_ms: u64, period_ms: u64| Group {
        parent: Some(0),
        shares: 1024,
        bandwidth: Some((quota_ms * TICK_NS, period_ms * TICK_NS)),
    };
    let groups = vec![group(None, 1024), limited(3, 7), limited(5, 11)];
    let tasks: Vec<Runnable> = (0..60).map(|i| task(i + 2, 1 + (i as usize % 2))).collect();
    ten_times_the_input_at_most_twelve_times_the_time(
        "20 and 200 bandwidth periods",
        || run(&groups, &tasks, 140),
        || run(&groups, &tasks, 1400),
    )
}

#[test]
fn a_steady_state_costs_the_same_however_long_the_run() -> R {
    let _serial = serial();
    // A 1 ms period, quota 0.5 ms: 10^4 and 10^8 ms cost about the same (the steady
    // state is found within a few periods, then jumped over).
    let groups = vec![
        group(None, 1024),
        Group {
            parent: Some(0),
            shares: 1024,
            bandwidth: Some((TICK_NS / 2, TICK_NS)),
        },
    ];
    let tasks: Vec<Runnable> = (0..50).map(|i| task(i + 2, 1)).collect();
    let (short, long) = least_times(
        || run(&groups, &tasks, 10_000),
        || run(&groups, &tasks, 100_000_000),
    )?;
    assert!(long <= short * 2, "10^4 ms: {short:?}, 10^8 ms: {long:?}");
    Ok(())
}
