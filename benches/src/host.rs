//! The benchmark host: what a kernel supplies to gpc, at kernel cost.
//!
//! - **RCU**: quiescent-state-based reclamation (QSBR, the model of Linux's RCU and of
//!   liburcu-qsbr). `rcu_read_lock`/`rcu_read_unlock` touch only a per-thread nesting
//!   counter (Linux `PREEMPT_RCU`'s `current->rcu_read_lock_nesting`); no atomic, no
//!   fence, no shared cache line. `call_rcu` pushes onto a lock-free list. Callbacks run
//!   once every online thread has announced a quiescent state ([`rcu::quiescent`], what a
//!   kernel CPU does at a context switch or tick) after the callback was queued; bench
//!   loops announce one every [`rcu::QS_EVERY`] operations, so frees are paid in the loop.
//!   gpc-core's `TestHost` instead counts readers in one shared atomic (two sequentially
//!   consistent read-modify-writes per read-side section), which no kernel pays and which
//!   alone would cap two-thread scaling; the report prints the fork+exit pair on it too.
//! - **CPUs**: each thread gets a CPU index on first use (round robin), or the one given
//!   by [`rcu::bind_cpu`]; `current_cpu` returns it modulo `nr_cpus`, so per-CPU data that
//!   core may add later is really spread over the threads of a multi-thread benchmark.
//! - **Locks**: the hierarchy lock is a spinning lock that yields after a while (a kernel
//!   mutex's uncontended cost is one acquiring and one releasing atomic, like this one;
//!   gpc-core's `StdMutex` makes a futex wake system call on every release), the table
//!   lock is gpc-core's `RawSpin`.

use core::ptr::{self, NonNull};

use gpc_core::host::cpu::Cpus;
use gpc_core::host::lock::{LockBackend, LockClass, LockKind, RawSpin};
use gpc_core::host::rcu::{Rcu, RcuHead};
use gpc_core::Host;
use std::sync::atomic::{AtomicBool, Ordering};

/// The benchmark host (see the module doc).
#[derive(Debug)]
pub struct BenchHost {
    cpus: usize,
    mems: usize,
}

impl BenchHost {
    /// A host with `cpus` CPUs and `mems` memory nodes (each at least 1).
    pub fn new(cpus: usize, mems: usize) -> Self {
        BenchHost {
            cpus: cpus.max(1),
            mems: mems.max(1),
        }
    }

    /// A host with as many CPUs as this machine runs threads on, and one memory node.
    pub fn machine() -> Self {
        Self::new(nproc(), 1)
    }
}

/// The number of CPUs this process may run on (`nproc`).
pub fn nproc() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

// SAFETY: forwards to the QSBR domain, whose callbacks run only after every online thread
// announced a quiescent state after the callback was queued; a thread never announces one
// inside a read-side section (the nesting counter is checked), and a thread that goes
// online does so under the reader-list lock (see `rcu`).
unsafe impl Rcu for BenchHost {
    #[inline]
    fn read_lock(&self) {
        rcu::read_lock();
    }

    #[inline]
    unsafe fn read_unlock(&self) {
        rcu::read_unlock();
    }

    unsafe fn call_rcu(&self, head: NonNull<RcuHead>) {
        // SAFETY: forwarded from the caller (valid until invoked, queued once).
        unsafe { rcu::call_rcu(head) }
    }

    fn synchronize(&self) {
        rcu::synchronize();
    }
}

impl Cpus for BenchHost {
    #[inline]
    fn current_cpu(&self) -> usize {
        // A kernel reads its CPU number from a per-CPU variable: no division here either
        // unless the thread's index is past the CPU count.
        let cpu = rcu::cpu_index();
        if cpu < self.cpus {
            cpu
        } else {
            cpu % self.cpus
        }
    }
    fn nr_cpus(&self) -> usize {
        self.cpus
    }
    fn nr_mem_nodes(&self) -> usize {
        self.mems
    }
}

/// Every task of the bench host is a [`crate::tasks::BenchTask`] (in the bench task
/// table, or a fork+exit loop's [`crate::world::Child`]).
/// The benchmarks neither freeze nor kill: the defaults (no job control, no clock).
impl gpc_core::JobControl for BenchHost {}

impl gpc_core::TaskIds for BenchHost {
    #[inline]
    fn task_ids(&self, slot: &gpc_core::TaskSlot) -> gpc_core::TaskId {
        use gpc_core::EmbedsTaskSlot;
        // SAFETY: gpc passes only slots this host linked, each the slot of a `BenchTask`
        // handed to gpc from that task.
        let t = unsafe { crate::tasks::BenchTask::from_slot(slot) };
        gpc_core::TaskId {
            pid: t.pid,
            tgid: t.tgid,
        }
    }
}

impl Host for BenchHost {
    type Mutex = YieldingSpin;
    type Spin = RawSpin;
    type IrqSpin = RawSpin;
}

/// A test-and-test-and-set lock that yields the CPU while it waits (the hierarchy lock
/// of the bench host: uncontended it costs what a kernel mutex costs).
#[derive(Debug)]
pub struct YieldingSpin;

// SAFETY: `lock` returns only after an acquiring CAS from false to true; `unlock` stores
// false with release ordering.
unsafe impl LockBackend for YieldingSpin {
    type State = AtomicBool;
    const KIND: LockKind = LockKind::Sleeping;

    unsafe fn init(state: *mut AtomicBool, _class: &'static LockClass) {
        // SAFETY: the caller gives valid, aligned, uninitialised storage.
        unsafe { state.write(AtomicBool::new(false)) };
    }

    unsafe fn lock(state: &AtomicBool) {
        let mut spins = 0u32;
        loop {
            if state
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
            while state.load(Ordering::Relaxed) {
                spins += 1;
                if spins < 128 {
                    core::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
    }

    unsafe fn unlock(state: &AtomicBool) {
        state.store(false, Ordering::Release);
    }
}

/// The process-wide QSBR domain behind [`BenchHost`] (one per process, like a kernel's).
pub mod rcu {
    use super::*;
    use std::cell::Cell;
    use std::sync::atomic::{fence, AtomicPtr, AtomicU64, AtomicUsize};
    use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

    /// Bench loops announce a quiescent state every this many operations.
    pub const QS_EVERY: u64 = 256;

    /// A reader's `seen` while it is offline (not reading, not counted).
    const OFFLINE: u64 = 0;

    /// One thread's announcement, on its own cache lines.
    #[repr(align(128))]
    struct Reader {
        /// The global epoch this thread last saw at a quiescent state; `OFFLINE` if off.
        seen: AtomicU64,
        /// The thread's CPU index.
        cpu: AtomicUsize,
    }

    /// A cut batch of callbacks and the epoch every online reader must reach first.
    struct Batch {
        head: usize,
        target: u64,
    }

    struct Domain {
        epoch: AtomicU64,
        /// Callbacks queued since the last cut (a Treiber stack through `RcuHead::next`).
        pending: AtomicPtr<RcuHead>,
        /// The batch waiting for its grace period (at most one).
        waiting: Mutex<Option<Batch>>,
        readers: Mutex<Vec<Arc<Reader>>>,
        next_cpu: AtomicUsize,
        /// Callbacks queued and not yet run.
        queued: AtomicUsize,
        /// Calls of `synchronize` (waits for a grace period).
        syncs: AtomicUsize,
    }

    static DOMAIN: Domain = Domain {
        epoch: AtomicU64::new(1),
        pending: AtomicPtr::new(ptr::null_mut()),
        waiting: Mutex::new(None),
        readers: Mutex::new(Vec::new()),
        next_cpu: AtomicUsize::new(0),
        queued: AtomicUsize::new(0),
        syncs: AtomicUsize::new(0),
    };

    fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// This thread's registration; dropping it (thread exit) takes the thread offline.
    struct Local {
        reader: Arc<Reader>,
        depth: Cell<u32>,
    }

    impl Local {
        fn register() -> Local {
            let cpu = DOMAIN.next_cpu.fetch_add(1, Ordering::Relaxed);
            let reader = Arc::new(Reader {
                seen: AtomicU64::new(OFFLINE),
                cpu: AtomicUsize::new(cpu),
            });
            let mut readers = relock(&DOMAIN.readers);
            // Online under the reader-list lock: see `go_online`.
            reader
                .seen
                .store(DOMAIN.epoch.load(Ordering::SeqCst), Ordering::SeqCst);
            readers.push(Arc::clone(&reader));
            drop(readers);
            Local {
                reader,
                depth: Cell::new(0),
            }
        }
    }

    impl Drop for Local {
        fn drop(&mut self) {
            self.reader.seen.store(OFFLINE, Ordering::SeqCst);
        }
    }

    std::thread_local! {
        static LOCAL: Local = Local::register();
    }

    /// Enter a read-side section (a per-thread counter; nothing shared).
    #[inline]
    pub fn read_lock() {
        // A thread whose thread-locals are already destroyed cannot read (it is
        // exiting); gpc is never called from a thread-local destructor here.
        let _ = LOCAL.try_with(|l| l.depth.set(l.depth.get() + 1));
    }

    /// Leave a read-side section.
    #[inline]
    pub fn read_unlock() {
        let _ = LOCAL.try_with(|l| l.depth.set(l.depth.get().saturating_sub(1)));
    }

    /// The calling thread's CPU index (not reduced modulo any CPU count).
    #[inline]
    pub fn cpu_index() -> usize {
        LOCAL
            .try_with(|l| l.reader.cpu.load(Ordering::Relaxed))
            .unwrap_or(0)
    }

    /// Make the calling thread report CPU `cpu` from now on.
    pub fn bind_cpu(cpu: usize) {
        let _ = LOCAL.try_with(|l| l.reader.cpu.store(cpu, Ordering::Relaxed));
    }

    /// Queue `head` for after a grace period (lock-free; never runs it here, so it is
    /// safe to call under gpc's locks).
    ///
    /// # Safety
    ///
    /// `head` stays valid until invoked and is queued at most once at a time.
    pub unsafe fn call_rcu(head: NonNull<RcuHead>) {
        // SAFETY: valid until invoked (caller's contract).
        let h = unsafe { head.as_ref() };
        DOMAIN.queued.fetch_add(1, Ordering::Relaxed);
        let mut cur = DOMAIN.pending.load(Ordering::Relaxed);
        loop {
            h.next.store(cur, Ordering::Relaxed);
            match DOMAIN.pending.compare_exchange_weak(
                cur,
                head.as_ptr(),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => cur = now,
            }
        }
    }

    /// Announce a quiescent state of the calling thread (it holds no RCU-protected
    /// pointer), and run or start a grace period. Does nothing inside a read-side
    /// section.
    pub fn quiescent() {
        let me = LOCAL.try_with(|l| {
            if l.depth.get() != 0 {
                return None;
            }
            // Every access of the read-side sections before this point happens before a
            // reclaimer that sees the new value (release), and a value read from a cut
            // synchronises with it (acquire), so later sections see its unlinks.
            fence(Ordering::SeqCst);
            l.reader
                .seen
                .store(DOMAIN.epoch.load(Ordering::SeqCst), Ordering::SeqCst);
            Some(Arc::clone(&l.reader))
        });
        if let Ok(Some(me)) = me {
            try_reclaim(&me);
        }
    }

    /// Whether every online reader has seen `target`; drops exited threads' entries.
    fn all_seen(target: u64) -> bool {
        let mut readers = relock(&DOMAIN.readers);
        readers.retain(|r| Arc::strong_count(r) > 1);
        readers.iter().all(|r| {
            let s = r.seen.load(Ordering::Acquire);
            s == OFFLINE || s >= target
        })
    }

    /// Run the callbacks of a batch whose grace period has elapsed.
    fn invoke_all(mut head: usize) {
        while let Some(h) = NonNull::new(head as *mut RcuHead) {
            // SAFETY: queued by `call_rcu` and not yet invoked.
            head = unsafe { h.as_ref() }.next.load(Ordering::Relaxed) as usize;
            // SAFETY: a grace period elapsed since it was queued (every online reader
            // announced a quiescent state after the batch was cut), and it is invoked
            // once (the batch was taken out of the domain).
            unsafe { RcuHead::invoke(h) };
            DOMAIN.queued.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Calls of [`synchronize`] so far (by gpc or anyone): a write path that waited for
    /// a grace period would show here.
    pub fn synchronize_calls() -> usize {
        DOMAIN.syncs.load(Ordering::Relaxed)
    }

    /// Callbacks queued (by any gpc instance of this process) and not yet run.
    pub fn pending() -> usize {
        DOMAIN.queued.load(Ordering::Relaxed)
    }

    /// Cut the pending callbacks into a batch; returns it with its target epoch.
    fn cut() -> Option<Batch> {
        let head = DOMAIN.pending.swap(ptr::null_mut(), Ordering::AcqRel);
        if head.is_null() {
            return None;
        }
        let target = DOMAIN.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        Some(Batch {
            head: head as usize,
            target,
        })
    }

    /// Non-blocking: finish the waiting batch if its grace period elapsed, cut the next.
    /// The caller (`me`) is in a quiescent state.
    fn try_reclaim(me: &Reader) {
        let Ok(mut waiting) = DOMAIN.waiting.try_lock() else {
            return;
        };
        loop {
            if let Some(b) = waiting.as_ref() {
                if !all_seen(b.target) {
                    return;
                }
                let head = b.head;
                *waiting = None;
                invoke_all(head);
            }
            let Some(b) = cut() else { return };
            // We are quiescent now, after the cut.
            me.seen.store(b.target, Ordering::SeqCst);
            *waiting = Some(b);
        }
    }

    fn go_offline() {
        let _ = LOCAL.try_with(|l| l.reader.seen.store(OFFLINE, Ordering::SeqCst));
    }

    /// Back online. Under the reader-list lock: a reclaimer that checked the list while
    /// we were offline released the lock after its cut, so our later reads see what it
    /// unlinked; one that checks after us sees our epoch and waits for us if needed.
    fn go_online() {
        let _ = LOCAL.try_with(|l| {
            let readers = relock(&DOMAIN.readers);
            l.reader
                .seen
                .store(DOMAIN.epoch.load(Ordering::SeqCst), Ordering::SeqCst);
            drop(readers);
        });
    }

    /// Run `f` with the calling thread offline (it must not read under RCU meanwhile),
    /// so that a long wait (joining benchmark threads) holds up no grace period.
    pub fn offline<R>(f: impl FnOnce() -> R) -> R {
        let inside = LOCAL.try_with(|l| l.depth.get() != 0).unwrap_or(false);
        if inside {
            return f();
        }
        go_offline();
        let r = f();
        go_online();
        r
    }

    /// Wait for a grace period and run every callback queued before the call. The
    /// caller must not be inside a read-side section (it would wait for itself).
    pub fn synchronize() {
        DOMAIN.syncs.fetch_add(1, Ordering::Relaxed);
        offline(|| {
            let mut waiting = relock(&DOMAIN.waiting);
            loop {
                let batch = match waiting.take() {
                    Some(b) => b,
                    None => match cut() {
                        Some(b) => b,
                        None => return,
                    },
                };
                while !all_seen(batch.target) {
                    std::thread::yield_now();
                }
                invoke_all(batch.head);
            }
        });
    }
}
