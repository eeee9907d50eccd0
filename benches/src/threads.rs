//! Threads running at once: fork+exit in one or two containers, and the two `Arc`
//! baselines that bound what two threads can reach on this machine right now (private
//! counters: the ceiling; one shared counter: what a single refcount costs).

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use gpc_core::{Pid, TaskSlot};

use crate::baseline::arc_clone_drop;
use crate::host::rcu;
use crate::timing::{timed, timed_plain};
use crate::world::{fork_exit, fork_world, Child, Controllers, World};
use crate::BenchError;

/// Run `op(i, iters)` on `threads` threads at once (thread `i` reports CPU `i`), after a
/// common start; returns the wall time from the first start to the last finish. The
/// calling thread is offline meanwhile (it holds up no grace period).
///
/// # Errors
///
/// The first error of a thread.
pub fn parallel(
    threads: usize,
    iters: u64,
    op: &(dyn Fn(usize, u64) -> Result<(), BenchError> + Sync),
) -> Result<Duration, BenchError> {
    let barrier = Barrier::new(threads);
    let results: Vec<Result<(Instant, Instant), BenchError>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|i| {
                let barrier = &barrier;
                s.spawn(move || {
                    rcu::bind_cpu(i);
                    barrier.wait();
                    let t0 = Instant::now();
                    let r = op(i, iters);
                    let t1 = Instant::now();
                    r.map(|()| (t0, t1))
                })
            })
            .collect();
        rcu::offline(|| {
            hs.into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(BenchError::new("thread panicked")))
                })
                .collect()
        })
    });
    let mut start: Option<Instant> = None;
    let mut end: Option<Instant> = None;
    for r in results {
        let (a, b) = r?;
        start = Some(start.map_or(a, |s| s.min(a)));
        end = Some(end.map_or(b, |e| e.max(b)));
    }
    match (start, end) {
        (Some(a), Some(b)) => Ok(b.duration_since(a)),
        _ => Err(BenchError::new("no threads")),
    }
}

/// One thread per parent, each forking and exiting children of its parent `iters` times
/// (a quiescent state every [`rcu::QS_EVERY`]); the wall time of [`parallel`].
///
/// # Errors
///
/// The first fork error of a thread.
pub fn fork_exit_threads(
    w: &World,
    parents: &[&TaskSlot],
    iters: u64,
) -> Result<Duration, BenchError> {
    parallel(parents.len(), iters, &|i, n| {
        let parent = parents
            .get(i)
            .ok_or(BenchError::new("no parent for thread"))?;
        let child = Child::new(3_000_000 + i as u32);
        timed(n, true, || fork_exit(&w.gpc, parent, &child)).map(|_| ())
    })
}

/// The machine of the thread benchmarks: parent 0 in container `c0` of every hierarchy,
/// parent 1 in the same containers (the same css_group), parent 2 in `c1` (another
/// css_group). Parent `i` takes its reference while the thread reports CPU `min(i, 1)`,
/// the CPU of the benchmark thread that uses it: a per-CPU reference count then finds
/// that CPU's share already held, as on a machine where the container has tasks on every
/// CPU (otherwise each fork and exit moves the share between zero and one).
///
/// # Errors
///
/// Setup errors.
pub fn threads_world() -> Result<(World, [Pid; 3]), BenchError> {
    let me = rcu::cpu_index();
    let res = (|| {
        rcu::bind_cpu(0);
        let (mut w, p0) = fork_world(Controllers::NoForkHooks, 0)?;
        rcu::bind_cpu(1);
        let p1 = w.tasks.fork(&w.gpc, p0)?;
        let p2 = w.task_in("c1", true)?;
        Ok((w, [p0, p1, p2]))
    })();
    rcu::bind_cpu(me);
    res
}

/// A counter on its own cache lines.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct Padded(pub u64);

/// `Arc`s for the two-thread baselines: one per thread, and one shared.
#[derive(Debug)]
pub struct PrivateArcs {
    private: [Arc<Padded>; 2],
    shared: Arc<Padded>,
}

impl PrivateArcs {
    /// Three separately allocated, padded `Arc`s.
    pub fn new() -> Self {
        PrivateArcs {
            private: Default::default(),
            shared: Arc::default(),
        }
    }

    /// `threads` threads (1 or 2) each doing `iters` clone+drop pairs, on their own `Arc`
    /// or (`shared`) all on one; the wall time of [`parallel`].
    ///
    /// # Errors
    ///
    /// None in practice (thread spawn failures).
    pub fn run(&self, threads: usize, shared: bool, iters: u64) -> Result<Duration, BenchError> {
        parallel(threads, iters, &|i, n| {
            let a = if shared {
                &self.shared
            } else {
                self.private
                    .get(i)
                    .ok_or(BenchError::new("too many threads"))?
            };
            timed_plain(n, |_| arc_clone_drop(a));
            Ok(())
        })
    }
}

impl Default for PrivateArcs {
    fn default() -> Self {
        Self::new()
    }
}
