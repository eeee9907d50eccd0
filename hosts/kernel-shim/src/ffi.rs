//! The imports: what the kernel supplies (`include/gpc.h`, "Supplied by the kernel").
//!
//! `doc/kernel-shim.md` maps each to the Linux function and to the Rust-for-Linux API a
//! Rust-for-Linux build would call instead. Every import must be callable from any
//! context gpc calls it from (the doc says which), and none may call back into gpc.

use core::ffi::{c_char, c_int, c_uint, c_void};

use crate::abi::{GpcCreds, GpcRcuHead, GpcTask, GpcTaskFn, GpcTaskSlot};

extern "C" {
    /// Allocate `size` bytes aligned to `align` (a power of two) with `GPC_GFP_*`
    /// `flags`; null on failure. Never aborts.
    pub fn gpc_kmalloc(size: usize, align: usize, flags: c_uint) -> *mut c_void;
    /// Free what `gpc_kmalloc` returned (`size` and `align` as allocated).
    pub fn gpc_kfree(ptr: *mut c_void, size: usize, align: usize);
    /// A word of the calling task, initially 0, that only gpc reads and writes and only
    /// from that task (a field of `task_struct`); null if the caller is no task. gpc keeps
    /// the flags of the allocations it is making there.
    pub fn gpc_alloc_scope_word() -> *mut c_uint;

    /// Initialise a spinlock of class `name`/`key` in `GPC_LOCK_STORAGE_SIZE` bytes of
    /// storage, in place (it never moves). `key` is static storage of
    /// `GPC_LOCK_CLASS_KEY_SIZE` bytes, one per class (Linux `struct lock_class_key`).
    pub fn gpc_spin_init(lock: *mut c_void, name: *const c_char, key: *mut c_void);
    /// Take the spinlock (disables preemption: the CPU stays the same until unlock).
    pub fn gpc_spin_lock(lock: *mut c_void);
    /// Take the spinlock while holding another of its class, as nesting level
    /// `subclass` (Linux `spin_lock_nested`).
    pub fn gpc_spin_lock_nested(lock: *mut c_void, subclass: c_uint);
    /// Release the spinlock.
    pub fn gpc_spin_unlock(lock: *mut c_void);
    /// Take the spinlock with local interrupts off, keeping the flags in the lock
    /// (Linux `spin_lock_irqsave`).
    pub fn gpc_spin_lock_irqsave(lock: *mut c_void);
    /// Release it and restore the flags (Linux `spin_unlock_irqrestore`).
    pub fn gpc_spin_unlock_irqrestore(lock: *mut c_void);
    /// Destroy an initialised, unlocked spinlock.
    pub fn gpc_spin_destroy(lock: *mut c_void);
    /// Initialise a sleeping mutex of class `name`/`key` in place.
    pub fn gpc_mutex_init(lock: *mut c_void, name: *const c_char, key: *mut c_void);
    /// Take the mutex (may sleep).
    pub fn gpc_mutex_lock(lock: *mut c_void);
    /// Release the mutex.
    pub fn gpc_mutex_unlock(lock: *mut c_void);
    /// Destroy an initialised, unlocked mutex.
    pub fn gpc_mutex_destroy(lock: *mut c_void);

    /// Enter an RCU read-side critical section (nests; the CPU stays the same until the
    /// matching unlock).
    pub fn gpc_rcu_read_lock();
    /// Leave it.
    pub fn gpc_rcu_read_unlock();
    /// Call `gpc_rcu_invoke(head)` after a grace period. Must not allocate or fail.
    pub fn gpc_call_rcu(head: *mut GpcRcuHead);
    /// Wait for a grace period and for every callback queued before it to have run
    /// (Linux `synchronize_rcu()` then `rcu_barrier()`).
    pub fn gpc_synchronize_rcu();

    /// The CPU the caller runs on.
    pub fn gpc_current_cpu() -> c_uint;
    /// The number of possible CPUs.
    pub fn gpc_nr_cpus() -> c_uint;
    /// The number of memory nodes.
    pub fn gpc_nr_mem_nodes() -> c_uint;

    /// The gpc slot embedded in `task` (`&task->gpc`, Linux `task->cgroups`).
    pub fn gpc_task_slot(task: *mut GpcTask) -> *mut GpcTaskSlot;
    /// The task whose embedded slot `slot` is (`container_of`: the inverse of
    /// `gpc_task_slot`). Called by task walks under spinning locks, preemption off: it
    /// must not sleep or call gpc. `slot` is always one `gpc_task_slot` returned for a
    /// live task that was passed to `gpc_init_task` or `gpc_fork` and has not been
    /// through `gpc_exit`.
    pub fn gpc_slot_task(slot: *mut GpcTaskSlot) -> *mut GpcTask;
    /// The task's thread id.
    pub fn gpc_task_pid(task: *mut GpcTask) -> u32;
    /// The task's thread-group id.
    pub fn gpc_task_tgid(task: *mut GpcTask) -> u32;
    /// The task's credentials.
    pub fn gpc_task_creds(task: *mut GpcTask, out: *mut GpcCreds);
    /// Call `f(ctx, task)` for the live task with thread id `pid`; 1 if it exists, else 0.
    pub fn gpc_with_task(pid: u32, f: GpcTaskFn, ctx: *mut c_void) -> c_int;
    /// Hold thread group `tgid` stable and call `f(ctx, leader)` once; 1 if the group
    /// exists, else 0. `f` walks the group with `gpc_next_thread`.
    pub fn gpc_with_thread_group(tgid: u32, f: GpcTaskFn, ctx: *mut c_void) -> c_int;
    /// The live thread after `prev` in `leader`'s group (the first when `prev` is null),
    /// or null after the last.
    pub fn gpc_next_thread(leader: *mut GpcTask, prev: *mut GpcTask) -> *mut GpcTask;

    /// A release notification was queued: schedule work that calls
    /// `gpc_drain_releases` (from any context, maybe under a spinlock).
    pub fn gpc_release_notify(host_ctx: *mut c_void);

    /// A group's file changed by itself (`cgroup.events`): schedule work that calls
    /// `gpc_drain_notifications` and wakes the file's pollers (Linux `kernfs_notify`).
    /// From any context, maybe under a spinlock.
    pub fn gpc_files_changed(host_ctx: *mut c_void);

    /// May a task with `creds` write the `cgroup.procs` file of the v2 group with
    /// container id `id`? The kernel's VFS permission check on that file (Linux
    /// `cgroup_may_write`: `inode_permission(MAY_WRITE)`), which decides delegation: a
    /// v2 move needs it on the common ancestor of the source and destination groups.
    /// Called under the hierarchy mutex (it may sleep, must not call gpc).
    pub fn gpc_may_write_procs(creds: *const GpcCreds, id: u64) -> bool;

    /// The name of the kernel's network device `idx` (0, 1, ...: registration order,
    /// Linux `for_each_netdev`), NUL-terminated, or null past the last device. The
    /// names stay valid and unchanged for the life of the instance. Any context; must not
    /// sleep, allocate or call gpc.
    pub fn gpc_netdev_name(idx: c_uint) -> *const c_char;

    /// Job control (`JobControl`). Each is called under gpc's spinlocks: none may
    /// sleep, allocate or call gpc. `task` is attached to the instance calling.
    /// Whether the task is stopped for a freeze (Linux `task->frozen`).
    pub fn gpc_task_frozen(task: *mut GpcTask) -> bool;
    /// Record the stopped state (`task->frozen = frozen`).
    pub fn gpc_set_task_frozen(task: *mut GpcTask, frozen: bool);
    /// Ask the task to stop (`freeze`) or run again (Linux `cgroup_freeze_task`: set or
    /// clear `JOBCTL_TRAP_FREEZE`, wake it); it reports with `gpc_enter_frozen` and
    /// `gpc_leave_frozen` from its own context.
    pub fn gpc_freeze_task(task: *mut GpcTask, freeze: bool);
    /// Send `SIGKILL` to the task's process (Linux `send_sig(SIGKILL, task, 0)`): 0, or
    /// a negative errno (`-EOPNOTSUPP` for a kernel without job control).
    pub fn gpc_kill_task(task: *mut GpcTask) -> c_int;
    /// Whether the task's process has a fatal signal pending (Linux
    /// `fatal_signal_pending`).
    pub fn gpc_fatal_signal_pending(task: *mut GpcTask) -> bool;
    /// A monotonic clock in nanoseconds (Linux `ktime_get_ns`).
    pub fn gpc_clock_ns() -> u64;

    /// Page reclaim (`gpc_core::host::reclaim::PageReclaim`, Linux `shrink_lruvec` on one
    /// memcg's `lruvec`): free up to `nr` pages of list `lru` (`GPC_LRU_*`) charged to
    /// the memory group `group` of the instance whose `gpc_init` got `host_ctx`, least
    /// recently used first, and return how many were freed; dirty page cache met on the
    /// way starts writeback and is counted in `*writeback`. Called under gpc's hierarchy
    /// mutex, never under a spinlock: it may sleep, must not call gpc.
    pub fn gpc_reclaim_pages(
        host_ctx: *mut c_void,
        group: u64,
        lru: c_int,
        nr: u64,
        writeback: *mut u64,
    ) -> u64;
    /// How much memory the OOM killer would free by killing the task's process, in pages
    /// (Linux `oom_badness`: resident pages, swap entries and page tables of its `mm`), or
    /// `GPC_OOM_UNKILLABLE`. Called under gpc's spinlocks: must not sleep, allocate or
    /// call gpc.
    pub fn gpc_task_footprint(task: *mut GpcTask) -> u64;

    /// A bug in gpc (a Rust panic): report `msg` and stop (Linux `BUG()`/`panic()`).
    pub fn gpc_panic(msg: *const c_char, len: usize) -> !;
}
