#[cfg(loom)]
use loom::sync::{Condvar, Mutex, MutexGuard};
use std::sync::PoisonError;
#[cfg(not(loom))]
use std::sync::{Condvar, Mutex, MutexGuard};

use core::ptr::NonNull;

use crate::host::cpu::Cpus;
use crate::host::lock::{LockBackend, LockClass, LockKind, RawSpin};
use crate::host::rcu::{Rcu, RcuHead};
use crate::host::Host;
use crate::primitive::{fence, AtomicUsize, Ordering};

/// A sleeping lock: a flag under a std mutex, waited on with a condvar. Taking it is a
/// "may sleep" point: [`context`](super::context) records a violation when the thread holds a spinning
/// lock, and a recursion when the thread already holds a lock of its class.
pub struct StdMutex;

/// [`StdMutex`]'s state.
pub struct StdMutexState {
    locked: Mutex<bool>,
    cv: Condvar,
    class: &'static LockClass,
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// SAFETY: `lock` returns only after setting `locked` from false to true under the std
// mutex; `unlock` clears it under the same mutex and wakes a waiter. The std mutex gives
// the acquire/release ordering.
unsafe impl LockBackend for StdMutex {
    type State = StdMutexState;
    const KIND: LockKind = LockKind::Sleeping;

    unsafe fn init(state: *mut StdMutexState, class: &'static LockClass) {
        // SAFETY: the caller gives valid, aligned, uninitialised storage.
        unsafe {
            state.write(StdMutexState {
                locked: Mutex::new(false),
                cv: Condvar::new(),
                class,
            });
        }
    }

    unsafe fn lock(state: &StdMutexState) {
        // SAFETY: forwarded.
        unsafe { Self::lock_nested(state, 0) }
    }

    unsafe fn lock_nested(state: &StdMutexState, subclass: u32) {
        lock_context::might_sleep();
        lock_context::acquire(state.class, subclass, false, false);
        let mut g = relock(&state.locked);
        while *g {
            g = state.cv.wait(g).unwrap_or_else(PoisonError::into_inner);
        }
        *g = true;
    }

    unsafe fn unlock(state: &StdMutexState) {
        *relock(&state.locked) = false;
        state.cv.notify_one();
        lock_context::release(state.class, false, false);
    }
}

/// A spinning lock that plays a kernel's: taking it raises this thread's preemption
/// count (and, for `IRQ`, its interrupts-off count) in [`context`](super::context) until the unlock.
pub struct TestSpin<const IRQ: bool>;

/// [`TestSpin`]'s state.
pub struct TestSpinState {
    raw: <RawSpin as LockBackend>::State,
    class: &'static LockClass,
}

// SAFETY: the lock is `RawSpin`'s (see there); the context counts do not affect
// exclusion.
unsafe impl<const IRQ: bool> LockBackend for TestSpin<IRQ> {
    type State = TestSpinState;
    const KIND: LockKind = if IRQ {
        LockKind::SpinningIrq
    } else {
        LockKind::Spinning
    };

    unsafe fn init(state: *mut TestSpinState, class: &'static LockClass) {
        // SAFETY: the caller gives valid, aligned, uninitialised storage; `raw` is the
        // first field, initialised next.
        unsafe {
            state.write(TestSpinState {
                raw: crate::primitive::AtomicBool::new(false),
                class,
            });
        }
    }

    unsafe fn lock(state: &TestSpinState) {
        // SAFETY: forwarded.
        unsafe { Self::lock_nested(state, 0) }
    }

    unsafe fn lock_nested(state: &TestSpinState, subclass: u32) {
        // Preemption (and interrupts) go off before spinning, as in a kernel.
        lock_context::acquire(state.class, subclass, true, IRQ);
        // SAFETY: initialised in `init`.
        unsafe { RawSpin::lock(&state.raw) };
    }

    unsafe fn unlock(state: &TestSpinState) {
        // SAFETY: forwarded: the caller holds it.
        unsafe { RawSpin::unlock(&state.raw) };
        lock_context::release(state.class, true, IRQ);
    }
}

/// The execution context the test host's locks simulate, per thread: a preemption
/// count raised by its spinning locks, an interrupts-off count raised by its irq-safe
/// ones, the classes held; and what went wrong: a sleeping call (mutex, may-sleep
/// allocation, `synchronize_rcu`) made with the preemption count non-zero, or a lock
/// taken while a lock of the same class is held (lockdep's "possible recursive
/// locking"). Not kept under loom (its threads share the OS thread).
pub mod lock_context {
    use super::LockClass;
    #[cfg(not(loom))]
    use core::cell::Cell;

    /// Classes tracked per thread (deeper nesting is not checked for recursion). A fixed
    /// array: the counts must not allocate (allocation-failure tests count allocations).
    #[cfg(not(loom))]
    const MAX_HELD: usize = 16;
    /// Classes whose acquisitions are counted per thread.
    #[cfg(not(loom))]
    const MAX_CLASSES: usize = 32;

    /// Acquisitions of locks of the class called `name` by this thread so far.
    pub fn taken(name: &core::ffi::CStr) -> usize {
        #[cfg(not(loom))]
        {
            TAKEN.with(|t| {
                t.get()
                    .iter()
                    .find(|(n, _)| *n == Some(name))
                    .map_or(0, |(_, c)| *c)
            })
        }
        #[cfg(loom)]
        {
            let _ = name;
            0
        }
    }

    #[cfg(not(loom))]
    std::thread_local! {
        static PREEMPT: Cell<usize> = const { Cell::new(0) };
        static IRQ_OFF: Cell<usize> = const { Cell::new(0) };
        static SPINS_TAKEN: Cell<usize> = const { Cell::new(0) };
        static SLEEPS_IN_ATOMIC: Cell<usize> = const { Cell::new(0) };
        static RECURSIONS: Cell<usize> = const { Cell::new(0) };
        static HELD: Cell<([usize; MAX_HELD], usize)> = const { Cell::new(([0; MAX_HELD], 0)) };
        static TAKEN: Cell<[(Option<&'static core::ffi::CStr>, usize); MAX_CLASSES]> =
            const { Cell::new([(None, 0); MAX_CLASSES]) };
    }

    /// A call that may sleep is being made on this thread.
    pub fn might_sleep() {
        #[cfg(not(loom))]
        if PREEMPT.with(Cell::get) != 0 {
            SLEEPS_IN_ATOMIC.with(|c| c.set(c.get() + 1));
        }
    }

    pub(super) fn acquire(class: &'static LockClass, subclass: u32, spin: bool, irq: bool) {
        #[cfg(not(loom))]
        {
            // A nested acquisition is its own class (lockdep's subclass).
            let key = (class.key() as usize).wrapping_add(subclass as usize);
            HELD.with(|h| {
                let (mut keys, n) = h.get();
                if keys.iter().take(n).any(|k| *k == key) {
                    RECURSIONS.with(|c| c.set(c.get() + 1));
                }
                if let Some(slot) = keys.get_mut(n) {
                    *slot = key;
                }
                h.set((keys, n + 1));
            });
            TAKEN.with(|t| {
                let mut all = t.get();
                let name = class.name();
                if let Some(e) = all
                    .iter_mut()
                    .find(|(n, _)| n.is_none() || *n == Some(name))
                {
                    *e = (Some(name), e.1 + 1);
                }
                t.set(all);
            });
            if spin {
                PREEMPT.with(|c| c.set(c.get() + 1));
                SPINS_TAKEN.with(|c| c.set(c.get() + 1));
                // The allocation checks' view of the same preemption count.
                crate::testing::context::atomic_enter();
            }
            if irq {
                IRQ_OFF.with(|c| c.set(c.get() + 1));
            }
        }
        #[cfg(loom)]
        let _ = (class, subclass, spin, irq);
    }

    pub(super) fn release(class: &'static LockClass, spin: bool, irq: bool) {
        #[cfg(not(loom))]
        {
            // Any subclass of the class (subclasses stay inside the key's storage).
            let key = class.key() as usize;
            HELD.with(|h| {
                let (mut keys, n) = h.get();
                let tracked = n.min(MAX_HELD);
                if let Some(i) = keys
                    .iter()
                    .take(tracked)
                    .rposition(|k| k.wrapping_sub(key) < 8)
                {
                    keys.copy_within(i + 1..tracked, i);
                }
                h.set((keys, n.saturating_sub(1)));
            });
            if spin {
                PREEMPT.with(|c| c.set(c.get().saturating_sub(1)));
                crate::testing::context::atomic_exit();
            }
            if irq {
                IRQ_OFF.with(|c| c.set(c.get().saturating_sub(1)));
            }
        }
        #[cfg(loom)]
        let _ = (class, spin, irq);
    }

    /// This thread's counts, read together.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Counts {
        /// Spinning locks held now (the preemption count).
        pub preempt: usize,
        /// Irq-safe spinning locks held now.
        pub irq_off: usize,
        /// Spinning lock acquisitions so far.
        pub spins_taken: usize,
        /// Sleeping calls made with a spinning lock held, so far.
        pub sleeps_in_atomic: usize,
        /// Locks taken with a lock of the same class held, so far.
        pub recursions: usize,
    }

    /// This thread's counts.
    pub fn counts() -> Counts {
        #[cfg(not(loom))]
        {
            Counts {
                preempt: PREEMPT.with(Cell::get),
                irq_off: IRQ_OFF.with(Cell::get),
                spins_taken: SPINS_TAKEN.with(Cell::get),
                sleeps_in_atomic: SLEEPS_IN_ATOMIC.with(Cell::get),
                recursions: RECURSIONS.with(Cell::get),
            }
        }
        #[cfg(loom)]
        Counts::default()
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
        lock_context::might_sleep();
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

/// A host for tests: [`StdMutex`], [`TestSpin`], [`QuiescentRcu`], a fixed CPU count.
pub struct TestHost {
    /// The RCU.
    pub rcu: QuiescentRcu,
    /// CPUs reported.
    pub cpus: usize,
    /// Memory nodes reported.
    pub mems: usize,
    /// The clock [`crate::JobControl::clock_ns`] reports, in nanoseconds: a simulation
    /// sets it ([`TestHost::set_clock_ns`]).
    pub clock_ns: crate::primitive::AtomicU64,
}

impl TestHost {
    /// A host with `cpus` CPUs and `mems` memory nodes.
    pub fn new(cpus: usize, mems: usize) -> Self {
        TestHost {
            rcu: QuiescentRcu::new(),
            cpus: cpus.max(1),
            mems: mems.max(1),
            clock_ns: crate::primitive::AtomicU64::new(0),
        }
    }

    /// Set the clock a simulation runs on.
    pub fn set_clock_ns(&self, ns: u64) {
        self.clock_ns.store(ns, crate::primitive::Ordering::Relaxed);
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

/// Every task of a test host is a [`crate::tasklist::Task`] (in a `TaskList`, or made by
/// `Task::boxed`): tests never link a free-standing slot.
impl crate::TaskIds for TestHost {
    fn task_ids(&self, slot: &crate::TaskSlot) -> crate::TaskId {
        // SAFETY: gpc passes only slots this host's tasks linked, and each is the slot
        // of a `tasklist::Task`, handed to gpc from that task (above).
        unsafe { crate::tasklist::Task::of_slot(slot) }.id()
    }
}

crate::task_job_control!(TestHost, |h| h
    .clock_ns
    .load(crate::primitive::Ordering::Relaxed));

impl Host for TestHost {
    type Mutex = StdMutex;
    type Spin = TestSpin<false>;
    type IrqSpin = TestSpin<true>;
}
