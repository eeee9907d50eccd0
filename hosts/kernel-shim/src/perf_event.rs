//! The perf_event export (`include/gpc.h`, "perf_event"): the cgroup a perf event of a
//! task counts in (Linux `perf_cgroup_from_task`, `perf_cgroup_match`), and the time
//! its tasks ran there (`update_cgrp_time_from_cpuctx`).

use core::ffi::c_int;

use gpc_core::{Error, Subsystem};
use gpc_subsystems::perf_event::{self, PerfEvent};

use crate::abi::GpcTask;
use crate::exports::{instance, Instance};
use crate::host;

/// `task`'s perf_event group: its id into `*group` (what a cgroup event opened on that
/// group's directory matches, with every descendant), and, when `ns` is not 0, charge
/// `ns` nanoseconds the task ran to it and its ancestors first; the group's time so far
/// into `*time_ns` when not null. Returns 0, `-EINVAL` (null or error instance, task or
/// `group`, no perf_event controller), `-ESRCH`. Lock-free: any context (the scheduler's
/// switch path).
///
/// # Safety
///
/// `g` null, an error pointer or a live instance; `task` null or a live task whose slot
/// was initialised; `group` null or writable; `time_ns` null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_perf_cgroup(
    g: *const Instance,
    task: *mut GpcTask,
    ns: u64,
    group: *mut u64,
    time_ns: *mut u64,
) -> c_int {
    let r = (|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        if group.is_null() {
            return Err(Error::EINVAL);
        }
        let ss = g.gpc.subsys_id(PerfEvent::NAME).ok_or(Error::EINVAL)?;
        // SAFETY: forwarded.
        let slot = unsafe { host::task_slot(task) }.ok_or(Error::EINVAL)?;
        let guard = g.gpc.rcu_read_lock();
        let css = g
            .gpc
            .task_state::<PerfEvent>(&guard, slot, ss)
            .ok_or(Error::ESRCH)?;
        if ns != 0 {
            perf_event::account(css, ns);
        }
        // SAFETY: not null, writable (the caller's contract).
        unsafe { group.write(css.container_id()) };
        if !time_ns.is_null() {
            // SAFETY: not null, writable (the caller's contract).
            unsafe { time_ns.write(perf_event::time(css)) };
        }
        Ok(())
    })();
    r.map_or_else(|e| e.to_errno().wrapping_neg(), |()| 0)
}
