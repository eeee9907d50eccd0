//! The C types and constants of `include/gpc.h`, on the Rust side.
//!
//! Everything here has a twin in the header; the unit test `header_constants_match` and
//! the C harness (`tests/c/header_check.c`, `symbols_match_the_header`) check
//! that both sides agree (sizes, alignments, values, and the exported and imported
//! symbol lists).

use core::ffi::{c_char, c_int, c_uint, c_void};
use core::marker::{PhantomData, PhantomPinned};
use core::mem::{align_of, offset_of, size_of};
use core::ptr::NonNull;
use core::sync::atomic::AtomicPtr;

use gpc_core::host::rcu::RcuHead;
use gpc_core::{Creds, TaskSlot};

/// The kernel's task (`struct gpc_task`, the kernel's `struct task_struct` behind a cast).
/// gpc never looks inside: it asks the kernel through the `gpc_task_*` imports.
#[repr(C)]
pub struct GpcTask {
    _opaque: [u8; 0],
    _not_send_unpin: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `struct gpc_task_slot`: the per-task state the kernel embeds in its task struct, as
/// Linux embeds `task->cgroups` and `task->cg_list`. Only gpc writes it (through
/// `gpc_task_slot_init`, `gpc_init_task`, `gpc_fork`, `gpc_exit` and migrations).
///
/// It is core's [`TaskSlot`] (asserted below): the task's node in its css_group's task
/// list (two pointers) and the tagged css_group pointer, three pointers in all. The
/// task's ids are not in it: a task walk finds the task from its slot
/// (`gpc_slot_task`, Linux `container_of(..., struct task_struct, cg_list)`) and asks
/// the kernel (`gpc_task_pid`, `gpc_task_tgid`). Being an intrusive list node, an
/// attached slot must never be moved or copied by the kernel (Linux's `task_struct`
/// never moves); this is what lets the exports pin it.
#[repr(C)]
pub struct GpcTaskSlot {
    _opaque: [*mut c_void; 3],
}

#[cfg(test)]
impl GpcTaskSlot {
    /// A slot holding garbage, as a task struct copied by the kernel does.
    pub(crate) fn garbage() -> Self {
        GpcTaskSlot {
            _opaque: [core::ptr::dangling_mut(); 3],
        }
    }
}

/// `GPC_TASK_SLOT_SIZE`.
pub const GPC_TASK_SLOT_SIZE: usize = size_of::<TaskSlot>();
/// `GPC_TASK_SLOT_ALIGN`.
pub const GPC_TASK_SLOT_ALIGN: usize = align_of::<TaskSlot>();

// The C struct must be exactly a `TaskSlot`: the shim reads the kernel's slot as one.
const _: () = assert!(size_of::<GpcTaskSlot>() == GPC_TASK_SLOT_SIZE);
const _: () = assert!(align_of::<GpcTaskSlot>() == GPC_TASK_SLOT_ALIGN);
// Three pointers, as the header says (`GPC_TASK_SLOT_SIZE`).
const _: () = assert!(GPC_TASK_SLOT_SIZE == 3 * size_of::<*mut c_void>());
const _: () = assert!(GPC_TASK_SLOT_ALIGN == align_of::<*mut c_void>());
// What Linux spends per task (`task->cgroups` and `task->cg_list`): 24 bytes on 64-bit.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(GPC_TASK_SLOT_SIZE == 24 && GPC_TASK_SLOT_ALIGN == 8);

/// `GPC_LOCK_STORAGE_SIZE`: bytes of opaque storage allocated for each kernel lock (a
/// `spinlock_t` or `struct mutex`, lockdep included, fits: Linux 6.18's debug `struct
/// mutex` is about 180 bytes, see `include/gpc.h`).
pub const GPC_LOCK_STORAGE_SIZE: usize = 256;
/// `GPC_LOCK_STORAGE_ALIGN`: the storage's alignment.
pub const GPC_LOCK_STORAGE_ALIGN: usize = 16;
/// `GPC_LOCK_CLASS_KEY_SIZE`: bytes of a class's key storage (gpc-core's
/// `LockClassKey`; Linux's `struct lock_class_key` is 16 with lockdep).
pub const GPC_LOCK_CLASS_KEY_SIZE: usize =
    gpc_core::host::lock::LOCK_CLASS_KEY_WORDS * core::mem::size_of::<usize>();

const _: () =
    assert!(core::mem::size_of::<gpc_core::host::lock::LockClassKey>() == GPC_LOCK_CLASS_KEY_SIZE);

/// `GPC_GFP_KERNEL`: the allocation may sleep (Linux `GFP_KERNEL`).
pub const GPC_GFP_KERNEL: c_uint = 0;
/// `GPC_GFP_ATOMIC`: the caller holds a spinlock or is in an RCU read-side section; the
/// allocation must not sleep and may use the atomic reserves (Linux `GFP_ATOMIC`).
pub const GPC_GFP_ATOMIC: c_uint = 1;
/// `GPC_GFP_ZERO`: return zeroed memory (Linux `__GFP_ZERO`, `kzalloc`).
pub const GPC_GFP_ZERO: c_uint = 2;
/// `GPC_GFP_NOWAIT`: must not sleep, may simply fail (Linux `GFP_NOWAIT`).
pub const GPC_GFP_NOWAIT: c_uint = 4;

/// `GPC_STAT_DIR`: `gpc_stat` found a container.
pub const GPC_STAT_DIR: c_int = 1;
/// `GPC_STAT_FILE`: `gpc_stat` found a control file.
pub const GPC_STAT_FILE: c_int = 2;

/// `GPC_MAX_ERRNO`: `gpc_init` returns an error as a pointer in the last 4095 values of
/// the address space, as Linux's `ERR_PTR` does.
pub const GPC_MAX_ERRNO: usize = 4095;

/// `struct gpc_creds`: the credentials gpc checks (Linux `struct cred`'s subset).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpcCreds {
    /// Real user id.
    pub uid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Saved set-user-id.
    pub suid: u32,
    /// Effective group id.
    pub egid: u32,
    /// `CAP_SYS_ADMIN` in the initial user namespace.
    pub cap_sys_admin: bool,
    /// `CAP_DAC_OVERRIDE`.
    pub cap_dac_override: bool,
}

impl GpcCreds {
    /// What the shim assumes until the kernel fills the struct in: nobody, without
    /// capabilities (a kernel that forgets to answer gets refusals, not privileges).
    pub const NOBODY: GpcCreds = GpcCreds {
        uid: u32::MAX,
        euid: u32::MAX,
        suid: u32::MAX,
        egid: u32::MAX,
        cap_sys_admin: false,
        cap_dac_override: false,
    };
}

impl From<GpcCreds> for Creds {
    fn from(c: GpcCreds) -> Creds {
        Creds {
            uid: c.uid,
            euid: c.euid,
            suid: c.suid,
            egid: c.egid,
            cap_sys_admin: c.cap_sys_admin,
            cap_dac_override: c.cap_dac_override,
            // No permitted set crosses the C ABI yet: none, so cpuset's setscheduler
            // check (empty sets are subsets of each other) refuses nothing.
            cap_sys_nice: false,
            cap_permitted: gpc_core::CapSet::EMPTY,
        }
    }
}

impl From<Creds> for GpcCreds {
    /// What the kernel's permission checks see of gpc's credentials (the fields the
    /// C struct has).
    fn from(c: Creds) -> GpcCreds {
        GpcCreds {
            uid: c.uid,
            euid: c.euid,
            suid: c.suid,
            egid: c.egid,
            cap_sys_admin: c.cap_sys_admin,
            cap_dac_override: c.cap_dac_override,
        }
    }
}

// The header asserts the same sizes for its structs.
const _: () = assert!(size_of::<GpcCreds>() == 20 && align_of::<GpcCreds>() == 4);

/// `struct gpc_stat`: what `gpc_stat` reports.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpcStat {
    /// [`GPC_STAT_DIR`] or [`GPC_STAT_FILE`].
    pub kind: c_int,
    /// A file's permission bits (0 for a directory).
    pub mode: c_uint,
    /// A directory's container id, unique for the life of the instance (0 for a file).
    pub id: u64,
}

const _: () = assert!(size_of::<GpcStat>() == 16 && align_of::<GpcStat>() == 8);

/// `struct gpc_cpu_bandwidth`: one `cpu` group's bandwidth limit (`gpc_cpu_bandwidth`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpcCpuBandwidth {
    /// `cpu.cfs_quota_us`: run time allowed per period, or -1 for no limit.
    pub quota_us: i64,
    /// `cpu.cfs_period_us` when there is a quota (0 without one: nothing to enforce).
    pub period_us: u64,
    /// `cpu.cfs_burst_us`: run time a period may borrow from earlier unused quota.
    pub burst_us: u64,
}

const _: () = assert!(size_of::<GpcCpuBandwidth>() == 24 && align_of::<GpcCpuBandwidth>() == 8);

/// `struct gpc_cpu_weight`: one `cpu` group's weight (`gpc_cpu_weight`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpcCpuWeight {
    /// The scheduler weight (`scale_load_down(tg->shares)`): `cpu.shares` on v1,
    /// `cpu.weight` 1..10000 as 10..102400 on v2; 3 for an idle group.
    pub shares: u64,
    /// The same as v2's `cpu.weight` shows it (1..10000, 100 by default).
    pub weight: u32,
    /// 1 for an idle group (`cpu.idle`, a `SCHED_IDLE` entity), else 0.
    pub idle: i32,
}

const _: () = assert!(size_of::<GpcCpuWeight>() == 16 && align_of::<GpcCpuWeight>() == 8);

// Device types and access bits of `gpc_device_access`: Linux's own values
// (include/linux/device_cgroup.h: `DEVCG_DEV_BLOCK`, `DEVCG_DEV_CHAR`, `DEVCG_ACC_*`), so a
// kernel passes its own constants through.

/// `GPC_DEVCG_DEV_BLOCK`: a block device.
pub const GPC_DEVCG_DEV_BLOCK: i32 = 1;
/// `GPC_DEVCG_DEV_CHAR`: a character device.
pub const GPC_DEVCG_DEV_CHAR: i32 = 2;
/// `GPC_DEVCG_ACC_MKNOD`: create the device node.
pub const GPC_DEVCG_ACC_MKNOD: c_uint = 1;
/// `GPC_DEVCG_ACC_READ`: open for reading.
pub const GPC_DEVCG_ACC_READ: c_uint = 2;
/// `GPC_DEVCG_ACC_WRITE`: open for writing.
pub const GPC_DEVCG_ACC_WRITE: c_uint = 4;
/// Every access bit.
pub const GPC_DEVCG_ACC_MASK: c_uint = 7;

/// `struct gpc_rcu_head`: the two host words at the start of the `RcuHead` gpc embeds in
/// every object it frees after a grace period (core's `RcuHead` is `#[repr(C)]` with
/// `next` and `host_word` first, and never reads them). The kernel may use both while
/// the head is queued between `gpc_call_rcu` and `gpc_rcu_invoke`: as a queue link, or
/// as a Linux `struct callback_head` (`next`, `func`) handed to `call_rcu`.
#[repr(C)]
pub struct GpcRcuHead {
    /// The kernel's link while the head is queued (`callback_head::next`).
    pub next: *mut GpcRcuHead,
    /// A second word for the kernel (`callback_head::func`).
    pub data: *mut c_void,
}

// The C head is the first two words of core's head, in this order.
const _: () = assert!(offset_of!(RcuHead, next) == offset_of!(GpcRcuHead, next));
const _: () = assert!(offset_of!(RcuHead, host_word) == offset_of!(GpcRcuHead, data));
const _: () = assert!(size_of::<AtomicPtr<RcuHead>>() == size_of::<*mut GpcRcuHead>());
const _: () = assert!(size_of::<AtomicPtr<()>>() == size_of::<*mut c_void>());
const _: () = assert!(size_of::<GpcRcuHead>() == 2 * size_of::<*mut c_void>());
const _: () = assert!(align_of::<RcuHead>() == align_of::<GpcRcuHead>());

/// The C head of a core head (its first two words).
pub(crate) fn rcu_link(head: NonNull<RcuHead>) -> *mut GpcRcuHead {
    head.as_ptr().cast()
}

/// The core head that starts with `link`.
pub(crate) fn rcu_head_of(link: *mut GpcRcuHead) -> Option<NonNull<RcuHead>> {
    NonNull::new(link.cast())
}

/// `struct gpc_pids_reader`: a streaming reader of a `tasks` or `cgroup.procs` file
/// (`gpc_pids_open`), opaque to C; see `crate::exports::PidsFile`.
pub type GpcPidsReader = crate::exports::PidsFile;

/// `gpc_task_fn`: the kernel calls it for each task of a walk.
pub type GpcTaskFn = unsafe extern "C" fn(ctx: *mut c_void, task: *mut GpcTask);

/// `gpc_release_fn`: `gpc_drain_releases` calls it for each container to release, with
/// the hierarchy's `release_agent` and the container's path (neither NUL-terminated).
pub type GpcReleaseFn = unsafe extern "C" fn(
    ctx: *mut c_void,
    agent: *const c_char,
    agent_len: usize,
    path: *const c_char,
    path_len: usize,
);

/// `gpc_notify_fn`: `gpc_drain_notifications` calls it for each changed file, with the
/// hierarchy handle, the container's id (as `gpc_stat` reports it) and the file's name
/// (NUL-terminated, valid during the call).
pub type GpcNotifyFn =
    unsafe extern "C" fn(ctx: *mut c_void, hier: c_int, id: u64, file: *const c_char);

/// `struct gpc_cgroup_ns`: a cgroup namespace (`gpc_cgroup_ns_new`), opaque to C; see
/// `crate::exports::NsHandle`.
pub type GpcCgroupNs = crate::exports::NsHandle;

// Memory: the page allocator's charges, reclaim and the OOM killer (`crate::mem`).

/// `GPC_LRU_INACTIVE_ANON`: Linux's `enum lru_list` values (`LRU_INACTIVE_ANON` ...
/// `LRU_ACTIVE_FILE`), gpc-core's [`gpc_core::host::reclaim::Lru`] in the same order.
pub const GPC_LRU_INACTIVE_ANON: c_int = 0;
/// `GPC_LRU_ACTIVE_ANON`.
pub const GPC_LRU_ACTIVE_ANON: c_int = 1;
/// `GPC_LRU_INACTIVE_FILE`.
pub const GPC_LRU_INACTIVE_FILE: c_int = 2;
/// `GPC_LRU_ACTIVE_FILE`.
pub const GPC_LRU_ACTIVE_FILE: c_int = 3;

const _: () = assert!(gpc_core::host::reclaim::Lru::InactiveAnon as c_int == GPC_LRU_INACTIVE_ANON);
const _: () = assert!(gpc_core::host::reclaim::Lru::ActiveAnon as c_int == GPC_LRU_ACTIVE_ANON);
const _: () = assert!(gpc_core::host::reclaim::Lru::InactiveFile as c_int == GPC_LRU_INACTIVE_FILE);
const _: () = assert!(gpc_core::host::reclaim::Lru::ActiveFile as c_int == GPC_LRU_ACTIVE_FILE);

/// `GPC_MEM_NOWAIT`: the caller may not sleep (Linux: `!gfpflags_allow_blocking`):
/// the charge is tried once, without reclaim or OOM killer.
pub const GPC_MEM_NOWAIT: c_uint = 1;
/// `GPC_MEM_NO_OOM`: reclaim, but never the OOM killer (`__GFP_RETRY_MAYFAIL`).
pub const GPC_MEM_NO_OOM: c_uint = 2;
/// `GPC_MEM_USER_FAULT`: a user page fault (`current->in_user_fault`): in a group whose
/// OOM killer is disabled (v1 `oom_kill_disable`) the task may wait for memory.
pub const GPC_MEM_USER_FAULT: c_uint = 4;
/// Every charge flag.
pub const GPC_MEM_FLAGS: c_uint = GPC_MEM_NOWAIT | GPC_MEM_NO_OOM | GPC_MEM_USER_FAULT;

/// `GPC_MEM_WAIT_VICTIM`: with `-EAGAIN`, an OOM victim was asked to die (or one
/// already was): retry once it has exited.
pub const GPC_MEM_WAIT_VICTIM: c_int = 1;
/// `GPC_MEM_WAIT_OOM`: with `-EAGAIN`, the group's OOM killer is disabled (v1
/// `memory.oom_control`): the task waits until memory is freed there, then retries;
/// `gpc_mem_oom_wait_done` ends the wait.
pub const GPC_MEM_WAIT_OOM: c_int = 2;

/// `GPC_MEM_ROOT`: the memory controller's root group, wherever it is mounted (the
/// whole machine for `gpc_mem_reclaim` and `gpc_mem_oom`). Container ids start at 1.
pub const GPC_MEM_ROOT: u64 = 0;

/// `GPC_OOM_UNKILLABLE`: what `gpc_task_footprint` answers for a task the OOM killer
/// must never choose (init, kernel threads, Linux's `oom_score_adj` -1000).
pub const GPC_OOM_UNKILLABLE: u64 = u64::MAX;

/// `struct gpc_mem_charge`: what `gpc_mem_charge` (and `gpc_mem_oom`) report besides
/// the result.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpcMemCharge {
    /// On success the memory group the pages were charged to (the id the kernel keeps
    /// with them, as Linux's `folio->memcg_data`); on failure the group whose limit
    /// refused them (the OOM domain).
    pub group: u64,
    /// `memory.high`: how long the task should sleep (killable) before it returns to
    /// user space, in milliseconds (`mem_cgroup_handle_over_high`); 0 for none.
    pub high_delay_ms: u64,
    /// With `GPC_MEM_NOWAIT`: pages charged above `memory.high` whose reclaim was not
    /// done; the kernel hands them to `gpc_mem_handle_over_high` from process context
    /// (Linux `current->memcg_nr_pages_over_high` and `set_notify_resume`).
    pub over_high: u64,
    /// Pages that reclaim freed during the call.
    pub reclaimed: u64,
    /// Processes the call asked to die (`gpc_kill_task`).
    pub killed: u32,
    /// With `-EAGAIN`: `GPC_MEM_WAIT_VICTIM` or `GPC_MEM_WAIT_OOM`; else 0.
    pub wait: c_int,
}

const _: () = assert!(size_of::<GpcMemCharge>() == 40 && align_of::<GpcMemCharge>() == 8);
