use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

// The allocator is not part of what loom models: plain std atomics.
use core::sync::atomic::{AtomicUsize, Ordering};

std::thread_local! {
    static COUNTDOWN: Cell<usize> = const { Cell::new(0) };
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static FAILED: Cell<usize> = const { Cell::new(0) };
    static LOCAL_LIVE: Cell<isize> = const { Cell::new(0) };
}

fn local_live_add(d: isize) {
    let _ = LOCAL_LIVE.try_with(|l| l.set(l.get() + d));
}

/// A global allocator (wrapping the system's) that fails the Nth allocation of the
/// current thread once armed, and counts live allocations.
///
/// Install it in a test binary with
/// `#[global_allocator] static A: FailingAlloc = FailingAlloc::new();`.
pub struct FailingAlloc {
    live: AtomicUsize,
    total: AtomicUsize,
    live_bytes: AtomicUsize,
}

/// Counters of a [`FailingAlloc`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocStats {
    /// Allocations not yet freed.
    pub live: usize,
    /// Allocations made since start.
    pub total: usize,
    /// Bytes of the allocations not yet freed (what a test of memory use compares).
    pub live_bytes: usize,
}

impl FailingAlloc {
    /// A new allocator.
    pub const fn new() -> Self {
        FailingAlloc {
            live: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
            live_bytes: AtomicUsize::new(0),
        }
    }

    /// Live and total allocation counts (all threads).
    pub fn stats(&self) -> AllocStats {
        AllocStats {
            live: self.live.load(Ordering::SeqCst),
            total: self.total.load(Ordering::SeqCst),
            live_bytes: self.live_bytes.load(Ordering::SeqCst),
        }
    }

    /// Fail the `n`th allocation (0: the next one) made by this thread from now on.
    pub fn fail_after(n: usize) {
        COUNTDOWN.with(|c| c.set(n));
        ARMED.with(|a| a.set(true));
    }

    /// Allocations minus frees made by the current thread since it started (a leak
    /// check for single-threaded scenarios that other test threads cannot disturb).
    pub fn thread_live() -> isize {
        LOCAL_LIVE.try_with(Cell::get).unwrap_or(0)
    }

    /// Stop failing; returns how many allocations were failed since the last call.
    pub fn disarm() -> usize {
        ARMED.with(|a| a.set(false));
        FAILED.with(|f| f.replace(0))
    }

    fn should_fail() -> bool {
        // `try_with`: during thread teardown the TLS may be gone; never fail then.
        ARMED
            .try_with(|armed| {
                if !armed.get() {
                    return false;
                }
                COUNTDOWN.with(|c| {
                    let n = c.get();
                    if n == 0 {
                        armed.set(false);
                        FAILED.with(|f| f.set(f.get() + 1));
                        true
                    } else {
                        c.set(n - 1);
                        false
                    }
                })
            })
            .unwrap_or(false)
    }
}

impl Default for FailingAlloc {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: forwards to the system allocator, or returns null (a valid failure).
unsafe impl GlobalAlloc for FailingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        super::context::note_allocation();
        if Self::should_fail() {
            return core::ptr::null_mut();
        }
        // SAFETY: forwarded from the caller.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            self.live.fetch_add(1, Ordering::Relaxed);
            self.total.fetch_add(1, Ordering::Relaxed);
            self.live_bytes.fetch_add(layout.size(), Ordering::Relaxed);
            local_live_add(1);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.live.fetch_sub(1, Ordering::Relaxed);
        self.live_bytes.fetch_sub(layout.size(), Ordering::Relaxed);
        local_live_add(-1);
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        super::context::note_allocation();
        if Self::should_fail() {
            return core::ptr::null_mut();
        }
        // SAFETY: forwarded from the caller.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            self.total.fetch_add(1, Ordering::Relaxed);
            self.live_bytes.fetch_add(new_size, Ordering::Relaxed);
            self.live_bytes.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}
