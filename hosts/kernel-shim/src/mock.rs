//! A kernel in Rust for the unit tests: every import, on std.
//!
//! The C harness (`tests/c/`) is the real test of the ABI; this lets the Rust unit
//! tests call the exports too. Tasks live in one global table shared by the tests (pids
//! are unique across tests), and RCU callbacks run at `gpc_synchronize_rcu`. The unit
//! tests' global allocator (`WatchingAlloc`) can watch one block for its free.

use core::ffi::{c_char, c_int, c_uint, c_void};
use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize, Ordering};
use std::alloc::{GlobalAlloc, Layout, System};
use std::boxed::Box;
use std::cell::{Cell, RefCell};
use std::sync::{Mutex, PoisonError};
use std::vec::Vec;

use crate::abi::{GpcCreds, GpcRcuHead, GpcTask, GpcTaskFn, GpcTaskSlot, GPC_GFP_ZERO};

std::thread_local! {
    static CPU: Cell<Option<u32>> = const { Cell::new(None) };
    /// The flags of this thread's last `gpc_kmalloc`.
    pub(crate) static LAST_GFP: Cell<Option<c_uint>> = const { Cell::new(None) };
    /// Mutexes this thread initialised, and the last one's address.
    pub(crate) static MUTEX_INITS: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    /// Lock initialisations on this thread, and the class key of the last.
    pub(crate) static CLASS_INITS: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    /// Irq-safe spinlocks this thread holds.
    pub(crate) static IRQ_OFF: Cell<usize> = const { Cell::new(0) };
}

static NEXT_CPU: AtomicU32 = AtomicU32::new(0);

std::thread_local! {
    /// A broken RCU for this thread's `gpc_call_rcu`: the callback runs at once, without
    /// waiting for readers (what the deferral test must catch).
    pub(crate) static EAGER_CALL_RCU: Cell<bool> = const { Cell::new(false) };
}

/// The address `gpc_kfree` watches for (0: none), and whether it freed the block
/// holding it. One test at a time uses it (`WATCH_USER`).
pub(crate) static WATCHED: AtomicUsize = AtomicUsize::new(0);
pub(crate) static WATCHED_FREED: AtomicUsize = AtomicUsize::new(0);
pub(crate) static WATCH_USER: Mutex<()> = Mutex::new(());

/// The unit tests' global allocator: the system's, noting when the watched block goes.
/// (In the test build gpc allocates through Rust's global allocator, not `gpc_kmalloc`:
/// the kernel build alone makes `KAlloc` global.)
pub(crate) struct WatchingAlloc;

// SAFETY: every call is forwarded to `System` unchanged.
unsafe impl GlobalAlloc for WatchingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        let w = WATCHED.load(Ordering::SeqCst);
        let start = p as usize;
        if w != 0 && (start..start.saturating_add(layout.size().max(1))).contains(&w) {
            WATCHED_FREED.store(1, Ordering::SeqCst);
        }
        // SAFETY: forwarded.
        unsafe { System.dealloc(p, layout) }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded.
        unsafe { System.realloc(p, layout, new_size) }
    }
}

std::thread_local! {
    /// Each thread's allocation-scope word (a kernel: a field of the task).
    static SCOPE_WORD: Cell<c_uint> = const { Cell::new(0) };
}

#[no_mangle]
extern "C" fn gpc_alloc_scope_word() -> *mut c_uint {
    SCOPE_WORD.try_with(Cell::as_ptr).unwrap_or(ptr::null_mut())
}

#[no_mangle]
extern "C" fn gpc_kmalloc(size: usize, align: usize, flags: c_uint) -> *mut c_void {
    LAST_GFP.with(|f| f.set(Some(flags)));
    let Ok(layout) = Layout::from_size_align(size.max(1), align) else {
        return ptr::null_mut();
    };
    // SAFETY: non-zero size.
    let p = unsafe {
        if flags & GPC_GFP_ZERO != 0 {
            System.alloc_zeroed(layout)
        } else {
            System.alloc(layout)
        }
    };
    p.cast()
}

#[no_mangle]
extern "C" fn gpc_kfree(p: *mut c_void, size: usize, align: usize) {
    if let Ok(layout) = Layout::from_size_align(size.max(1), align) {
        // SAFETY: allocated by `gpc_kmalloc` with this layout.
        unsafe { System.dealloc(p.cast(), layout) };
    }
}

/// Spinlocks and mutexes alike: a word at the start of the storage.
fn word<'a>(lock: *mut c_void) -> &'a AtomicU32 {
    // SAFETY: the storage is 16-aligned, at least 4 bytes, and lives as long as the
    // lock (the shim's contract with the kernel).
    unsafe { &*lock.cast::<AtomicU32>() }
}

#[no_mangle]
extern "C" fn gpc_spin_init(lock: *mut c_void, _name: *const c_char, key: *mut c_void) {
    CLASS_INITS.with(|n| n.set((n.get().0.wrapping_add(1), key as usize)));
    // SAFETY: as in `word`; not yet shared.
    unsafe { lock.cast::<AtomicU32>().write(AtomicU32::new(0)) };
}
#[no_mangle]
extern "C" fn gpc_spin_lock(lock: *mut c_void) {
    let w = word(lock);
    while w
        .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        std::thread::yield_now();
    }
}
#[no_mangle]
extern "C" fn gpc_spin_lock_nested(lock: *mut c_void, _subclass: c_uint) {
    gpc_spin_lock(lock);
}
#[no_mangle]
extern "C" fn gpc_spin_unlock(lock: *mut c_void) {
    word(lock).store(0, Ordering::Release);
}
#[no_mangle]
extern "C" fn gpc_spin_lock_irqsave(lock: *mut c_void) {
    IRQ_OFF.with(|n| n.set(n.get().wrapping_add(1)));
    gpc_spin_lock(lock);
}
#[no_mangle]
extern "C" fn gpc_spin_unlock_irqrestore(lock: *mut c_void) {
    gpc_spin_unlock(lock);
    IRQ_OFF.with(|n| n.set(n.get().saturating_sub(1)));
}
#[no_mangle]
extern "C" fn gpc_spin_destroy(_lock: *mut c_void) {}
#[no_mangle]
extern "C" fn gpc_mutex_init(lock: *mut c_void, name: *const c_char, key: *mut c_void) {
    MUTEX_INITS.with(|n| n.set((n.get().0.wrapping_add(1), lock as usize)));
    gpc_spin_init(lock, name, key);
}
#[no_mangle]
extern "C" fn gpc_mutex_lock(lock: *mut c_void) {
    gpc_spin_lock(lock);
}
#[no_mangle]
extern "C" fn gpc_mutex_unlock(lock: *mut c_void) {
    gpc_spin_unlock(lock);
}
#[no_mangle]
extern "C" fn gpc_mutex_destroy(_lock: *mut c_void) {}

static READERS: AtomicUsize = AtomicUsize::new(0);
static PENDING: Mutex<Vec<usize>> = Mutex::new(Vec::new());
static SYNC: Mutex<()> = Mutex::new(());

#[no_mangle]
extern "C" fn gpc_rcu_read_lock() {
    READERS.fetch_add(1, Ordering::SeqCst);
}
#[no_mangle]
extern "C" fn gpc_rcu_read_unlock() {
    READERS.fetch_sub(1, Ordering::SeqCst);
}
#[no_mangle]
extern "C" fn gpc_call_rcu(head: *mut GpcRcuHead) {
    if EAGER_CALL_RCU.with(Cell::get) {
        // SAFETY: the bug under test: no grace period (the test never reads the object
        // after this).
        unsafe { crate::gpc_rcu_invoke(head) };
        return;
    }
    PENDING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(head as usize);
}
#[no_mangle]
extern "C" fn gpc_synchronize_rcu() {
    // One at a time: a batch another thread took before us has run once we get here, so
    // every callback queued before this call has run when it returns (rcu_barrier).
    let _one = SYNC.lock().unwrap_or_else(PoisonError::into_inner);
    // Callbacks queued before now; readers that could see their objects began before
    // now, so waiting for a moment with no reader at all is a grace period.
    let batch = core::mem::take(&mut *PENDING.lock().unwrap_or_else(PoisonError::into_inner));
    while READERS.load(Ordering::SeqCst) != 0 {
        std::thread::yield_now();
    }
    for h in batch {
        // SAFETY: queued by `gpc_call_rcu`, a grace period has passed, once.
        unsafe { crate::gpc_rcu_invoke(h as *mut GpcRcuHead) };
    }
}

#[no_mangle]
extern "C" fn gpc_current_cpu() -> c_uint {
    CPU.with(|c| match c.get() {
        Some(cpu) => cpu,
        None => {
            let cpu = NEXT_CPU.fetch_add(1, Ordering::Relaxed);
            c.set(Some(cpu));
            cpu
        }
    })
}
#[no_mangle]
extern "C" fn gpc_nr_cpus() -> c_uint {
    4
}
#[no_mangle]
extern "C" fn gpc_nr_mem_nodes() -> c_uint {
    1
}

/// A task of the mock kernel.
#[repr(C)]
pub(crate) struct MockTask {
    pub(crate) pid: u32,
    pub(crate) tgid: u32,
    /// Not first (Linux's `cg_list` is not), so `gpc_slot_task` really steps back.
    pub(crate) slot: GpcTaskSlot,
    pub(crate) creds: GpcCreds,
}

static NEXT_PID: AtomicU32 = AtomicU32::new(100);
/// Live tasks, as addresses of leaked boxes.
static TASKS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn tasks() -> std::sync::MutexGuard<'static, Vec<usize>> {
    TASKS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A new task (slot initialised, not yet visible), with a fresh pid; `tgid` 0 means a
/// group of its own.
pub(crate) fn new_task(tgid: u32, creds: GpcCreds) -> *mut GpcTask {
    let pid = NEXT_PID.fetch_add(1, Ordering::Relaxed);
    let t = Box::into_raw(Box::new(MockTask {
        pid,
        tgid: if tgid == 0 { pid } else { tgid },
        // Not what `gpc_task_slot_init` writes: it must be called.
        slot: GpcTaskSlot::garbage(),
        creds,
    }));
    // SAFETY: just made.
    unsafe { crate::gpc_task_slot_init(ptr::addr_of_mut!((*t).slot)) };
    t.cast()
}

/// Make `t` visible to the walks.
pub(crate) fn publish(t: *mut GpcTask) {
    tasks().push(t as usize);
}

/// Remove `t` from the walks and free it (after `gpc_exit`).
pub(crate) fn reap(t: *mut GpcTask) {
    tasks().retain(|&x| x != t as usize);
    // SAFETY: made by `new_task`, no longer reachable.
    drop(unsafe { Box::from_raw(t.cast::<MockTask>()) });
}

/// The pid of a mock task.
pub(crate) fn pid_of(t: *mut GpcTask) -> u32 {
    task(t).pid
}

fn task<'a>(t: *mut GpcTask) -> &'a MockTask {
    // SAFETY: every task the shim sees is a live `MockTask`.
    unsafe { &*t.cast::<MockTask>() }
}

#[no_mangle]
extern "C" fn gpc_task_slot(t: *mut GpcTask) -> *mut GpcTaskSlot {
    // SAFETY: a live `MockTask`.
    unsafe { ptr::addr_of_mut!((*t.cast::<MockTask>()).slot) }
}
#[no_mangle]
extern "C" fn gpc_slot_task(slot: *mut GpcTaskSlot) -> *mut GpcTask {
    // container_of: the slot is a `MockTask`'s `slot` field (the import's contract).
    slot.wrapping_byte_sub(core::mem::offset_of!(MockTask, slot))
        .cast()
}
#[no_mangle]
extern "C" fn gpc_task_pid(t: *mut GpcTask) -> u32 {
    task(t).pid
}
#[no_mangle]
extern "C" fn gpc_task_tgid(t: *mut GpcTask) -> u32 {
    task(t).tgid
}
#[no_mangle]
extern "C" fn gpc_task_creds(t: *mut GpcTask, out: *mut GpcCreds) {
    // SAFETY: a valid out-pointer (the shim's).
    unsafe { out.write(task(t).creds) };
}

#[no_mangle]
extern "C" fn gpc_with_task(pid: u32, f: GpcTaskFn, ctx: *mut c_void) -> c_int {
    let all = tasks();
    let Some(&t) = all.iter().find(|&&t| task(t as *mut GpcTask).pid == pid) else {
        return 0;
    };
    // SAFETY: the shim's callback and context; the task stays alive (table locked).
    unsafe { f(ctx, t as *mut GpcTask) };
    1
}

std::thread_local! {
    /// The group `gpc_with_thread_group` holds stable for `gpc_next_thread`.
    static GROUP: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

#[no_mangle]
extern "C" fn gpc_with_thread_group(tgid: u32, f: GpcTaskFn, ctx: *mut c_void) -> c_int {
    let all = tasks();
    let group: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&t| task(t as *mut GpcTask).tgid == tgid)
        .collect();
    let Some(&leader) = group.iter().find(|&&t| task(t as *mut GpcTask).pid == tgid) else {
        return 0;
    };
    GROUP.with(|g| *g.borrow_mut() = group);
    // SAFETY: as above; the table stays locked, so the group is stable.
    unsafe { f(ctx, leader as *mut GpcTask) };
    GROUP.with(|g| g.borrow_mut().clear());
    drop(all);
    1
}

#[no_mangle]
extern "C" fn gpc_next_thread(_leader: *mut GpcTask, prev: *mut GpcTask) -> *mut GpcTask {
    GROUP.with(|g| {
        let group = g.borrow();
        let next = if prev.is_null() {
            group.first()
        } else {
            group
                .iter()
                .position(|&t| t == prev as usize)
                .and_then(|i| group.get(i.wrapping_add(1)))
        };
        next.map_or(ptr::null_mut(), |&t| t as *mut GpcTask)
    })
}

/// Release notifications seen, by host context value.
pub(crate) static NOTIFIED: AtomicUsize = AtomicUsize::new(0);

#[no_mangle]
extern "C" fn gpc_release_notify(_ctx: *mut c_void) {
    NOTIFIED.fetch_add(1, Ordering::Relaxed);
}

pub(crate) static FILES_CHANGED: AtomicUsize = AtomicUsize::new(0);

#[no_mangle]
extern "C" fn gpc_files_changed(_ctx: *mut c_void) {
    FILES_CHANGED.fetch_add(1, Ordering::Relaxed);
}

/// The mock kernel's network devices: `lo` and `eth0`.
#[no_mangle]
extern "C" fn gpc_netdev_name(idx: core::ffi::c_uint) -> *const core::ffi::c_char {
    match idx {
        0 => c"lo".as_ptr(),
        1 => c"eth0".as_ptr(),
        _ => core::ptr::null(),
    }
}

/// Nothing chowned: `cgroup.procs` files are root's, mode 0644.
///
/// # Safety
///
/// `creds` is a valid pointer (the shim passes its own).
#[no_mangle]
unsafe extern "C" fn gpc_may_write_procs(creds: *const GpcCreds, _id: u64) -> bool {
    // SAFETY: valid for the call (the shim's own value).
    let c = unsafe { &*creds };
    c.euid == 0 || c.cap_dac_override
}

// The unit tests' kernel has no job control (the C harness has): the defaults.

#[no_mangle]
extern "C" fn gpc_task_frozen(_task: *mut GpcTask) -> bool {
    false
}

#[no_mangle]
extern "C" fn gpc_set_task_frozen(_task: *mut GpcTask, _frozen: bool) {}

#[no_mangle]
extern "C" fn gpc_freeze_task(_task: *mut GpcTask, _freeze: bool) {}

/// What `gpc_kill_task` answers: -EOPNOTSUPP (no job control) unless a test sets it.
pub(crate) static KILL_RESULT: AtomicI32 = AtomicI32::new(-95);

#[no_mangle]
extern "C" fn gpc_kill_task(_task: *mut GpcTask) -> c_int {
    KILL_RESULT.load(Ordering::Relaxed)
}

#[no_mangle]
extern "C" fn gpc_fatal_signal_pending(_task: *mut GpcTask) -> bool {
    false
}

std::thread_local! {
    /// The clock `gpc_clock_ns` reads on this thread (each test runs on its own):
    /// 0 unless a test sets it ([`set_clock_ns`]).
    static CLOCK_NS: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
}

/// Sets this thread's `gpc_clock_ns`.
pub(crate) fn set_clock_ns(ns: u64) {
    CLOCK_NS.with(|c| c.set(ns));
}

#[no_mangle]
extern "C" fn gpc_clock_ns() -> u64 {
    CLOCK_NS.with(core::cell::Cell::get)
}

/// One list of one group in the mock page store.
pub(crate) struct MockList {
    /// `(host_ctx, group, lru)`: each test's instance has its own `host_ctx`, so group
    /// ids of different instances do not mix.
    key: (usize, u64, c_int),
    pages: u64,
    dirty: u64,
    writeback: u64,
}

/// The mock kernel's pages, which `gpc_reclaim_pages` frees from: clean ones are
/// dropped, dirty ones start writeback (and stay), those under writeback are skipped.
pub(crate) static PAGES: Mutex<Vec<MockList>> = Mutex::new(Vec::new());

fn with_list<R>(key: (usize, u64, c_int), f: impl FnOnce(&mut MockList) -> R) -> R {
    let mut p = PAGES.lock().unwrap_or_else(PoisonError::into_inner);
    if !p.iter().any(|e| e.key == key) {
        p.push(MockList {
            key,
            pages: 0,
            dirty: 0,
            writeback: 0,
        });
    }
    let mut none = MockList {
        key,
        pages: 0,
        dirty: 0,
        writeback: 0,
    };
    f(p.iter_mut().find(|e| e.key == key).unwrap_or(&mut none))
}

/// Put `n` pages (`dirty` of them dirty) of `lru` of `group` in the mock page store.
pub(crate) fn add_pages(ctx: usize, group: u64, lru: c_int, n: u64, dirty: u64) {
    with_list((ctx, group, lru), |e| {
        e.pages = e.pages.saturating_add(n);
        e.dirty = e.dirty.saturating_add(dirty);
    });
}

/// The flusher finished `n` pages' writeback: they are clean.
pub(crate) fn end_writeback(ctx: usize, group: u64, lru: c_int, n: u64) {
    with_list((ctx, group, lru), |e| {
        e.writeback = e.writeback.saturating_sub(n);
    });
}

/// The pages of `lru` of `group` in the mock page store.
pub(crate) fn pages(ctx: usize, group: u64, lru: c_int) -> u64 {
    with_list((ctx, group, lru), |e| e.pages)
}

/// # Safety
///
/// `writeback` is a valid out-pointer (the shim's).
#[no_mangle]
unsafe extern "C" fn gpc_reclaim_pages(
    ctx: *mut c_void,
    group: u64,
    lru: c_int,
    nr: u64,
    writeback: *mut u64,
) -> u64 {
    let (freed, wb) = with_list((ctx as usize, group, lru), |e| {
        let clean = e.pages.saturating_sub(e.dirty).saturating_sub(e.writeback);
        let freed = clean.min(nr);
        e.pages = e.pages.saturating_sub(freed);
        let wb = e.dirty.min(nr.saturating_sub(freed));
        e.dirty = e.dirty.saturating_sub(wb);
        e.writeback = e.writeback.saturating_add(wb);
        (freed, wb)
    });
    // SAFETY: valid for the call (the shim's own).
    unsafe { writeback.write(wb) };
    freed
}

/// Every process weighs its pid in pages (the OOM killer takes the newest).
#[no_mangle]
extern "C" fn gpc_task_footprint(t: *mut GpcTask) -> u64 {
    u64::from(task(t).pid)
}

#[no_mangle]
extern "C" fn gpc_panic(msg: *const c_char, len: usize) -> ! {
    // SAFETY: `len` bytes from the shim's panic handler.
    let msg = unsafe { core::slice::from_raw_parts(msg.cast::<u8>(), len) };
    std::eprintln!("{}", std::string::String::from_utf8_lossy(msg));
    std::process::abort()
}
