//! Hand-rolled timing for the report: calibrate a batch size, warm up, then take the
//! median of N batches (robust against the other work of a shared machine).

use std::time::{Duration, Instant};

use crate::host::rcu;
use crate::BenchError;

/// How long to time.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Warm-up time per figure.
    pub warmup: Duration,
    /// Target duration of one batch.
    pub batch: Duration,
    /// Batches per figure (the median is reported).
    pub batches: usize,
}

impl Timing {
    /// The report's timing: 50 ms warm-up, 51 rounds of 2 ms batches (short batches
    /// keep the subjects of one round close in time).
    pub const REPORT: Timing = Timing {
        warmup: Duration::from_millis(50),
        batch: Duration::from_millis(2),
        batches: 51,
    };

    /// A test's: no warm-up, 3 batches of 20 us.
    pub const TINY: Timing = Timing {
        warmup: Duration::ZERO,
        batch: Duration::from_micros(20),
        batches: 3,
    };
}

/// The median of `v` (sorted in place); 0 for an empty slice.
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => v.get(n / 2).copied().unwrap_or(0.0),
        _ => {
            (v.get(n / 2 - 1).copied().unwrap_or(0.0) + v.get(n / 2).copied().unwrap_or(0.0)) / 2.0
        }
    }
}

/// One timed subject: runs the given number of iterations and returns how long they
/// took (so that per-batch setup can stay outside the timed part).
pub type Run<'a> = dyn FnMut(u64) -> Result<Duration, BenchError> + 'a;

/// The iteration count that makes one batch of `run` last about `t.batch`, after
/// warming it up for `t.warmup`.
///
/// # Errors
///
/// The first error of `run`.
pub fn calibrate(t: &Timing, run: &mut Run<'_>) -> Result<u64, BenchError> {
    let start = Instant::now();
    let mut iters = 1u64;
    loop {
        let d = run(iters)?;
        rcu::quiescent();
        if d >= t.batch / 4 || iters >= 1 << 40 {
            let per = d.as_secs_f64() / iters as f64;
            iters = ((t.batch.as_secs_f64() / per.max(1e-12)) as u64).max(1);
            break;
        }
        iters = iters.saturating_mul(if d < t.batch / 64 { 8 } else { 2 });
    }
    while start.elapsed() < t.warmup {
        run(iters)?;
        rcu::quiescent();
    }
    Ok(iters)
}

/// Time several subjects in interleaved rounds, so that each round's figures share the
/// machine's momentary load: every subject is calibrated and warmed up, then each of
/// `t.batches` rounds runs one batch of every subject in turn. Returns, per subject, its
/// nanoseconds per iteration in every round. A quiescent state is announced after each
/// batch, outside the timed part.
///
/// # Errors
///
/// The first error of a subject.
pub fn measure_rounds(t: &Timing, runs: &mut [&mut Run<'_>]) -> Result<Vec<Vec<f64>>, BenchError> {
    let mut iters = Vec::with_capacity(runs.len());
    for r in runs.iter_mut() {
        iters.push(calibrate(t, *r)?);
    }
    let mut out: Vec<Vec<f64>> = runs.iter().map(|_| Vec::with_capacity(t.batches)).collect();
    for _ in 0..t.batches.max(1) {
        for ((r, &n), v) in runs.iter_mut().zip(&iters).zip(out.iter_mut()) {
            let d = r(n)?;
            rcu::quiescent();
            v.push(d.as_nanos() as f64 / n as f64);
        }
    }
    Ok(out)
}

/// Median nanoseconds per iteration of one subject (see [`measure_rounds`]).
///
/// # Errors
///
/// The first error of `run`.
pub fn measure(
    t: &Timing,
    mut run: impl FnMut(u64) -> Result<Duration, BenchError>,
) -> Result<f64, BenchError> {
    let mut v = measure_rounds(t, &mut [&mut run])?;
    Ok(v.first_mut().map_or(0.0, |v| median(v)))
}

/// The median over rounds of `a[i] / b[i]`: a ratio of two subjects timed in the same
/// rounds, robust to load that comes and goes.
pub fn ratio_median(a: &[f64], b: &[f64]) -> f64 {
    let mut r: Vec<f64> = a
        .iter()
        .zip(b)
        .filter(|(_, y)| **y > 0.0)
        .map(|(x, y)| x / y)
        .collect();
    median(&mut r)
}

/// Time `iters` runs of `op`. With `qs`, a quiescent state is announced every
/// [`rcu::QS_EVERY`] runs inside the timed loop, so deferred frees are paid there.
///
/// # Errors
///
/// The first error of `op`.
#[inline]
pub fn timed(
    iters: u64,
    qs: bool,
    mut op: impl FnMut() -> Result<(), BenchError>,
) -> Result<Duration, BenchError> {
    let start = Instant::now();
    for i in 0..iters {
        op()?;
        if qs && i % rcu::QS_EVERY == rcu::QS_EVERY - 1 {
            rcu::quiescent();
        }
    }
    Ok(start.elapsed())
}

/// Time `iters` runs of an infallible `op` (baselines).
#[inline]
pub fn timed_plain(iters: u64, mut op: impl FnMut(u64)) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        op(i);
    }
    start.elapsed()
}
