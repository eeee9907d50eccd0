#[cfg(loom)]
use loom::sync::{Condvar, Mutex, MutexGuard};
use std::sync::PoisonError;
#[cfg(not(loom))]
use std::sync::{Condvar, Mutex, MutexGuard};

use core::ptr::NonNull;

use crate::host::cpu::Cpus;
use crate::host::lock::{LockBackend, RawSpin};
use crate::host::rcu::{Rcu, RcuHead};
use crate::host::Host;
use crate::primitive::{fence, AtomicUsize, Ordering};

/// A sleeping lock: a flag under a std mutex, waited on with a condvar.
pub struct StdMutex;

/// [`StdMutex`]'s state.
pub struct StdMutexState {
    locked: Mutex<bool>,
    cv: Condvar,
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// SAFETY: `lock` returns only after setting `locked` from false to true under the std
// mutex; `unlock` clears it under the same mutex and wakes a waiter. The std mutex gives
// the acquire/release ordering.
unsafe impl LockBackend for StdMutex {
    type State = StdMutexState;

    fn new() -> StdMutexState {
        StdMutexState {
            locked: Mutex::new(false),
            cv: Condvar::new(),
        }
    }

    unsafe fn lock(state: &StdMutexState) {
        let mut g = relock(&state.locked);
        while *g {
            g = state.cv.wait(g).unwrap_or_else(PoisonError::into_inner);
        }
        *g = true;
    }

    unsafe fn unlock(state: &StdMutexState) {
        *relock(&state.locked) = false;
        state.cv.notify_one();
    }
}

/// A real RCU for tests and the simulator: a count of readers inside a read-side
/// section, and a list of deferred callbacks.
///
/// A callback queued at time t runs the first time the reader count is seen at zero
/// after t: every reader that was inside at t has left by then, and readers that entered
/// later cannot reach the object (it was unlinked before `call_rcu`). Callbacks run
/// outside the list's lock, from `read_unlock`, `call_rcu` or `synchronize`.
pub struct QuiescentRcu {
    readers: AtomicUsize,
    /// Pending heads, linked through `RcuHead::next` (no allocation, as in a kernel).
    pending: Mutex<(usize, usize)>,
    freed: AtomicUsize,
}

impl QuiescentRcu {
    /// No readers, nothing pending.
    pub fn new() -> Self {
        QuiescentRcu {
            readers: AtomicUsize::new(0),
            pending: Mutex::new((0, 0)),
            freed: AtomicUsize::new(0),
        }
    }

    /// Callbacks run so far.
    pub fn freed(&self) -> usize {
        self.freed.load(Ordering::Relaxed)
    }

    /// Callbacks waiting for a grace period.
    pub fn pending(&self) -> usize {
        relock(&self.pending).1
    }

    fn run_if_quiescent(&self) {
        // Take the batch first, then look for readers: a reader seen at zero after the
        // batch was taken cannot have entered before any callback in it was queued
        // (looking first would let a reader slip in between and keep a pointer to an
        // object queued just after the look).
        let (mut head, n) = core::mem::take(&mut *relock(&self.pending));
        if head == 0 {
            return;
        }
        // Pairs with the fence in `read_lock` (store buffering): either this load sees
        // the reader, or the reader's loads see every unlink made before this point.
        // loom found the interleaving that frees under a reader without the two fences.
        fence(Ordering::SeqCst);
        if self.readers.load(Ordering::SeqCst) != 0 {
            self.requeue(head, n);
            return;
        }
        while let Some(h) = NonNull::new(head as *mut RcuHead) {
            // SAFETY: queued by `call_rcu` and not yet invoked.
            head = unsafe { h.as_ref() }.next.load(Ordering::Relaxed) as usize;
            // SAFETY: queued by `call_rcu`, and no reader from before the queuing
            // remains (the count was zero after the batch was taken).
            unsafe { RcuHead::invoke(h) };
            self.freed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Put a taken batch back in front of whatever was queued meanwhile.
    fn requeue(&self, head: usize, n: usize) {
        let mut tail = head as *mut RcuHead;
        // SAFETY: every head in the batch is queued and valid until invoked.
        while let Some(next) = NonNull::new(unsafe { &*tail }.next.load(Ordering::Relaxed)) {
            tail = next.as_ptr();
        }
        let mut p = relock(&self.pending);
        // SAFETY: as above.
        unsafe { &*tail }
            .next
            .store(p.0 as *mut RcuHead, Ordering::Relaxed);
        p.0 = head;
        p.1 += n;
    }
}

impl Default for QuiescentRcu {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: a callback runs only when the reader count is zero after it was queued (see
// the type's doc), which is after every reader that could have seen the object left.
unsafe impl Rcu for QuiescentRcu {
    fn read_lock(&self) {
        // A non-preemptible kernel's rcu_read_lock disables preemption.
        super::context::atomic_enter();
        self.readers.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    unsafe fn read_unlock(&self) {
        super::context::atomic_exit();
        if self.readers.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.run_if_quiescent();
        }
    }

    unsafe fn call_rcu(&self, head: NonNull<RcuHead>) {
        let mut p = relock(&self.pending);
        // SAFETY: the head is valid until invoked (caller's contract).
        unsafe { head.as_ref() }
            .next
            .store(p.0 as *mut RcuHead, Ordering::Relaxed);
        p.0 = head.as_ptr() as usize;
        p.1 += 1;
        drop(p);
        self.run_if_quiescent();
    }

    fn synchronize(&self) {
        loop {
            while self.readers.load(Ordering::SeqCst) != 0 {
                crate::primitive::spin_loop();
            }
            self.run_if_quiescent();
            if self.pending() == 0 {
                return;
            }
        }
    }
}

/// A host for tests: [`StdMutex`], [`RawSpin`], [`QuiescentRcu`], a fixed CPU count.
pub struct TestHost {
    /// The RCU.
    pub rcu: QuiescentRcu,
    /// CPUs reported.
    pub cpus: usize,
    /// Memory nodes reported.
    pub mems: usize,
}

impl TestHost {
    /// A host with `cpus` CPUs and `mems` memory nodes.
    pub fn new(cpus: usize, mems: usize) -> Self {
        TestHost {
            rcu: QuiescentRcu::new(),
            cpus: cpus.max(1),
            mems: mems.max(1),
        }
    }
}

impl Default for TestHost {
    fn default() -> Self {
        Self::new(4, 2)
    }
}

// SAFETY: forwards to QuiescentRcu.
unsafe impl Rcu for TestHost {
    fn read_lock(&self) {
        self.rcu.read_lock();
    }
    unsafe fn read_unlock(&self) {
        // SAFETY: forwarded.
        unsafe { self.rcu.read_unlock() }
    }
    unsafe fn call_rcu(&self, head: NonNull<RcuHead>) {
        // SAFETY: forwarded.
        unsafe { self.rcu.call_rcu(head) }
    }
    fn synchronize(&self) {
        self.rcu.synchronize();
    }
}

std::thread_local! {
    /// This thread's simulated CPU, once assigned (or set by `TestHost::run_on_cpu`).
    static CPU: core::cell::Cell<Option<usize>> = const { core::cell::Cell::new(None) };
}

/// Hands each new thread the next CPU number.
static NEXT_CPU: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

impl TestHost {
    /// Make the calling thread run on `cpu` (modulo the CPU count) from now on, to drive
    /// per-CPU paths deterministically from one thread.
    pub fn run_on_cpu(cpu: usize) {
        CPU.with(|c| c.set(Some(cpu)));
    }
}

impl Cpus for TestHost {
    /// Each thread is a CPU of its own (threads are numbered in order of first use),
    /// unless it chose one with [`TestHost::run_on_cpu`].
    fn current_cpu(&self) -> usize {
        let cpu = CPU
            .try_with(|c| match c.get() {
                Some(cpu) => cpu,
                None => {
                    let cpu = NEXT_CPU.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
                    c.set(Some(cpu));
                    cpu
                }
            })
            .unwrap_or(0);
        cpu % self.cpus
    }
    fn nr_cpus(&self) -> usize {
        self.cpus
    }
    fn nr_mem_nodes(&self) -> usize {
        self.mems
    }
}

impl Host for TestHost {
    type Mutex = StdMutex;
    type Spin = AtomicSpin;
}

/// [`RawSpin`] that counts itself as atomic context ([`super::context`]), as a kernel
/// spinlock disables preemption.
pub struct AtomicSpin;

// SAFETY: `RawSpin`'s exclusion, unchanged; the counting is per thread and outside it.
unsafe impl LockBackend for AtomicSpin {
    type State = <RawSpin as LockBackend>::State;

    fn new() -> Self::State {
        RawSpin::new()
    }

    unsafe fn lock(state: &Self::State) {
        // SAFETY: forwarded.
        unsafe { RawSpin::lock(state) };
        super::context::atomic_enter();
    }

    unsafe fn unlock(state: &Self::State) {
        super::context::atomic_exit();
        // SAFETY: forwarded.
        unsafe { RawSpin::unlock(state) };
    }
}
