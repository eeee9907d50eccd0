//! Pressure stall information exports (`include/gpc.h`, "Pressure"): the scheduler's
//! accounting call and the system's figures (`/proc/pressure/*`).
//!
//! A C kernel reports each change of a task's pressure flags on its CPU, as Linux's
//! scheduler calls `psi_task_change` / `psi_task_switch` (kernel/sched/stats.h
//! `psi_enqueue`, `psi_dequeue`, `psi_sched_switch`) and the memory code
//! `psi_memstall_enter` / `psi_memstall_leave`. gpc keeps the per-CPU states and the
//! averages of the task's v2 group, its ancestors and the system
//! (`gpc_core::psi`); the groups' `*.pressure` files read them through `gpc_read`.
//!
//! Context: `gpc_psi_task_change` takes gpc's psi spinlock (a leaf) inside an RCU
//! read-side section, and nothing else: callable with the runqueue lock held and
//! interrupts off, as `psi_task_change` is. The kernel serialises the changes of one
//! task (its runqueue lock) and gives one monotonic clock.

use core::ffi::{c_char, c_int, c_long, c_uint};

use gpc_core::psi::PsiRes;
use gpc_core::Error;

use crate::exports::{attached, instance, OutBuf};

/// `TSK_IOWAIT` (include/linux/psi_types.h): waiting for I/O.
pub const GPC_PSI_IOWAIT: c_uint = gpc_core::psi::TSK_IOWAIT;
/// `TSK_MEMSTALL`: stalled on memory.
pub const GPC_PSI_MEMSTALL: c_uint = gpc_core::psi::TSK_MEMSTALL;
/// `TSK_RUNNING`: runnable (throttled or not).
pub const GPC_PSI_RUNNING: c_uint = gpc_core::psi::TSK_RUNNING;
/// `TSK_MEMSTALL_RUNNING`: runnable while stalled on memory (reclaiming).
pub const GPC_PSI_MEMSTALL_RUNNING: c_uint = gpc_core::psi::TSK_MEMSTALL_RUNNING;
/// `TSK_ONCPU`: the task is its CPU's current task.
pub const GPC_PSI_ONCPU: c_uint = gpc_core::psi::TSK_ONCPU;

/// `gpc_psi_show` resources (`enum psi_res`).
pub const GPC_PSI_IO: c_int = 0;
/// See [`GPC_PSI_IO`].
pub const GPC_PSI_MEM: c_int = 1;
/// See [`GPC_PSI_IO`].
pub const GPC_PSI_CPU: c_int = 2;

fn neg(e: Error) -> c_int {
    e.to_errno().wrapping_neg()
}

/// `task`'s pressure flags changed on `cpu` at `now_ns` (Linux `psi_task_change`):
/// `clear` then `set`, `GPC_PSI_*` flags, applied to its v2 group, every ancestor and
/// the system. The kernel keeps the task's flags: it clears them before moving the
/// task to another group (`gpc_attach`) and sets them again after (Linux
/// `cgroup_move_task`), and clears them at exit. Returns 0, `-EINVAL` (an unknown flag,
/// a CPU at or beyond `gpc_nr_cpus`, a bad instance or task), `-ESRCH` (not attached).
///
/// # Safety
///
/// `g` null, an error pointer or a live instance; `task` null or a live task whose own
/// hooks do not run meanwhile.
#[no_mangle]
pub unsafe extern "C" fn gpc_psi_task_change(
    g: *const crate::exports::Instance,
    task: *mut crate::abi::GpcTask,
    cpu: c_uint,
    clear: c_uint,
    set: c_uint,
    now_ns: u64,
) -> c_int {
    let r = (|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let slot = unsafe { attached(g, task, cfg!(debug_assertions)) }?;
        let cpu = usize::try_from(cpu).map_err(|_| Error::EINVAL)?;
        g.gpc.psi_task_change(slot, cpu, clear, set, now_ns)
    })();
    r.map_or_else(neg, |()| 0)
}

/// `/proc/pressure/{io,memory,cpu}` (`GPC_PSI_IO`, `_MEM`, `_CPU`; Linux `psi_show` of
/// `psi_system`) at `gpc_clock_ns()` into `buf`. Returns the bytes written (or needed,
/// for `buf == NULL, len == 0`), `-EOVERFLOW`, `-EINVAL`.
///
/// # Safety
///
/// `g` as for `gpc_psi_task_change`; `buf` null or `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn gpc_psi_show(
    g: *const crate::exports::Instance,
    res: c_int,
    buf: *mut c_char,
    len: usize,
) -> c_long {
    let r = (|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        let res = match res {
            GPC_PSI_IO => PsiRes::Io,
            GPC_PSI_MEM => PsiRes::Memory,
            GPC_PSI_CPU => PsiRes::Cpu,
            _ => return Err(Error::EINVAL),
        };
        // SAFETY: forwarded.
        let out = unsafe { OutBuf::new(buf, len) }?;
        let mut data = alloc::vec::Vec::new();
        g.gpc
            .psi_show_system(res, &mut gpc_core::Out::new(&mut data))?;
        out.put(&data)
    })();
    match r.and_then(|n| c_long::try_from(n).map_err(|_| Error::EOVERFLOW)) {
        Ok(n) => n,
        Err(e) => c_long::from(neg(e)),
    }
}
