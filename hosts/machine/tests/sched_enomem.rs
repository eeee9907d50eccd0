//! Every allocation of the scheduler is fallible (issue 10, item 7): failing each one in
//! turn makes `simulate` return `ENOMEM` with the bandwidth states and the clock as they
//! were, and never aborts (an infallible allocation that failed would abort the test).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use gpc_core::Error;
use gpc_machine::sched::{simulate, BwState, CpuMask, Group, Runnable, TICK_NS};

/// The system allocator; this thread's `FAIL_IN`-th allocation from now fails.
struct Failing;

thread_local! {
    /// Allocations left before one fails (`usize::MAX`: none fails).
    static FAIL_IN: Cell<usize> = const { Cell::new(usize::MAX) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

/// Whether this allocation is the one to fail.
fn fails() -> bool {
    let _ = COUNT.try_with(|c| c.set(c.get() + 1));
    FAIL_IN
        .try_with(|f| match f.get() {
            usize::MAX => false,
            0 => {
                f.set(usize::MAX);
                true
            }
            n => {
                f.set(n - 1);
                false
            }
        })
        .unwrap_or(false)
}

// SAFETY: every call is forwarded to `System` unchanged, or returns null, which
// `GlobalAlloc` allows for a failed allocation; the thread-locals are const-initialised
// and never allocate.
unsafe impl GlobalAlloc for Failing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if fails() {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if fails() {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `dealloc`, and `new_size` is the caller's valid new size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Failing = Failing;

fn group(parent: Option<usize>, bandwidth: Option<(u64, u64)>) -> Group {
    Group {
        parent,
        shares: 1024,
        bandwidth,
    }
}

fn task(pid: u32, group: usize, mask: u64) -> Runnable {
    Runnable {
        pid,
        group,
        allowed: CpuMask::from_words([mask, 0, 0, 0]),
    }
}

#[test]
fn every_failed_allocation_is_enomem_and_changes_nothing() -> Result<(), Error> {
    // Nested quotas (cut ticks, throttling), pinned and free tasks, a steady state to
    // jump over, on 3 CPUs (a dense time table) and on 20 (a list per task).
    let groups = [
        group(None, None),
        group(Some(0), Some((3 * TICK_NS / 2, 2 * TICK_NS))),
        group(Some(1), Some((TICK_NS, 3 * TICK_NS))),
        group(Some(0), None),
    ];
    let tasks = [
        task(2, 1, 0b1),
        task(3, 2, u64::MAX),
        task(4, 2, u64::MAX),
        task(5, 3, 0b110),
        task(6, 0, u64::MAX),
    ];
    for nr_cpus in [3, 20] {
        let fresh: Vec<Option<BwState>> = groups
            .iter()
            .map(|g| g.bandwidth.map(|cfg| BwState::new(cfg, 5 * TICK_NS)))
            .collect();
        // How many allocations a successful run makes, and what it gives.
        let mut bw = fresh.clone();
        let mut now = 5 * TICK_NS;
        COUNT.with(|c| c.set(0));
        let good = simulate(&groups, &mut bw, &tasks, nr_cpus, &mut now, 10_000)?;
        let made = COUNT.with(Cell::get);
        assert!(made > 20, "{made} allocations");
        for n in 0..made {
            let mut bw = fresh.clone();
            let mut now = 5 * TICK_NS;
            FAIL_IN.with(|f| f.set(n));
            let got = simulate(&groups, &mut bw, &tasks, nr_cpus, &mut now, 10_000);
            FAIL_IN.with(|f| f.set(usize::MAX));
            assert_eq!(got, Err(Error::ENOMEM), "allocation {n} of {made}");
            assert_eq!((&bw, now), (&fresh, 5 * TICK_NS), "allocation {n}");
        }
        // And a run after all that still gives the same.
        let mut bw = fresh.clone();
        let mut now = 5 * TICK_NS;
        assert_eq!(
            simulate(&groups, &mut bw, &tasks, nr_cpus, &mut now, 10_000)?,
            good
        );
    }
    Ok(())
}
