//! The block layer's io controller exports (`include/gpc.h`, "Block I/O"): the disks,
//! blk-throttle's dispatch decision, the scheduler's weight, and the statistics of
//! completed I/O (Linux block/blk-throttle.c `blk_throtl_bio`, block/blk-cgroup.c
//! `blk_cgroup_bio_start`, iocost's and bfq's weights). gpc-subsystems' io controller
//! keeps the limits, weights and counters; the kernel queues and dispatches the bios.
//!
//! A device is named by its kernel-internal number, `MKDEV(major, minor)` = `major <<
//! 20 | minor`. A task's group is its io group now (a bio of a task that moved is
//! charged to the new group, as Linux's `bio_associate_blkg` at submission).
//!
//! Locks: every export takes the io states' spinlocks only, inside an RCU read-side
//! section; `gpc_io_set_disks` and `gpc_io_throttle` may allocate (`GFP_ATOMIC`) and so
//! are callable in atomic context. No import is called.

use core::ffi::{c_int, c_uint};

use gpc_core::{Css, Error, SubsysId};
use gpc_subsystems::io::{self as blkcg, Io};

use crate::abi::GpcTask;
use crate::exports::{instance, Instance};
use crate::host;

type Result<T = (), E = Error> = core::result::Result<T, E>;

fn neg(e: Error) -> c_int {
    e.to_errno().wrapping_neg()
}

fn status(r: Result) -> c_int {
    r.map_or_else(neg, |()| 0)
}

fn io_ss(g: &Instance) -> Result<SubsysId> {
    g.gpc.subsys_id(Io::NAME).ok_or(Error::EINVAL)
}

/// `f` on `task`'s io group now, inside an RCU read-side section: `-EINVAL` for a null
/// task (and, in debug builds, one of another instance), `-ESRCH` for one not attached.
///
/// # Safety
///
/// `task` is null or a live task whose slot was initialised.
unsafe fn with_task_blkcg<T>(
    g: &Instance,
    task: *mut GpcTask,
    f: impl FnOnce(Css<'_, Io>) -> Result<T>,
) -> Result<T> {
    let ss = io_ss(g)?;
    // SAFETY: forwarded.
    let slot = unsafe { host::task_slot(task) }.ok_or(Error::EINVAL)?;
    let guard = g.gpc.rcu_read_lock();
    let css = g.gpc.task_css(&guard, slot, ss).ok_or(Error::ESRCH)?;
    if cfg!(debug_assertions) && !g.gpc.owns_task(&guard, slot) {
        return Err(Error::EINVAL);
    }
    f(css.typed::<Io>().ok_or(Error::EINVAL)?)
}

use gpc_core::Subsystem as _;

/// Register the kernel's disks (whole disks, `MKDEV` numbers; `n` of them at `devs`),
/// replacing the list: writes naming other devices are `-ENODEV`, and the root group
/// gets a blkg per disk (its `io.stat` lists them). Returns 0, `-EINVAL` (more than
/// 16 disks, one named twice, `devs` null with `n` > 0, no io controller), `-ENOMEM`.
///
/// # Safety
///
/// `g` null, an error pointer or a live instance; `devs` null or `n` readable words.
#[no_mangle]
pub unsafe extern "C" fn gpc_io_set_disks(g: *const Instance, devs: *const u32, n: usize) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        if n > blkcg::MAX_DISKS || (devs.is_null() && n > 0) {
            return Err(Error::EINVAL);
        }
        let list: &[u32] = if n == 0 {
            &[]
        } else {
            // SAFETY: not null, `n` readable words (the caller's contract).
            unsafe { core::slice::from_raw_parts(devs, n) }
        };
        let ss = io_ss(g)?;
        let root = g.gpc.root_css_id(ss).ok_or(Error::EINVAL)?;
        let init = g.gpc.with_css_by_container_id(ss, root, |c| {
            c.typed::<Io>().map(|c| blkcg::set_disks(c, list))
        });
        init.flatten().unwrap_or(Err(Error::EINVAL))
    })())
}

/// blk-throttle (`blk_throtl_bio`): may a bio of `bytes` of `task` to disk `dev`
/// (`is_write`) be dispatched at `now_ns` (the kernel's monotonic clock)? `*wait_ns`:
/// how long to hold it first (0: now); the time is taken from the budgets of the task's
/// group and every ancestor (their `io.max` / `blkio.throttle.*` limits), so the
/// kernel must dispatch it then. The group's blkgs for the disk are made on the way
/// (without memory for them, the nearest ancestor's that exist apply). Returns 0,
/// `-ENODEV` (not a registered disk), `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// `g` null, an error pointer or a live instance; `task` null or a live task; `wait_ns`
/// null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_io_throttle(
    g: *const Instance,
    task: *mut GpcTask,
    dev: u32,
    bytes: u64,
    is_write: c_int,
    now_ns: u64,
    wait_ns: *mut u64,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        if wait_ns.is_null() {
            return Err(Error::EINVAL);
        }
        // SAFETY: forwarded.
        let wait = unsafe {
            with_task_blkcg(g, task, |c| {
                // Without memory for the blkgs, the levels that have one throttle.
                if let Err(Error::ENODEV) = blkcg::prepare(c, dev) {
                    return Err(Error::ENODEV);
                }
                Ok(blkcg::throttle(c, dev, is_write != 0, bytes, now_ns))
            })
        }?;
        // SAFETY: not null, writable (the caller's contract).
        unsafe { wait_ns.write(wait) };
        Ok(())
    })())
}

/// A bio of `task` completed (`blk_cgroup_bio_start`'s counting): `bytes` in `ios`
/// requests to `dev`, `is_write`, `is_sync` (`op_is_sync`: reads, `REQ_SYNC` writes;
/// writeback is not). Counted in the task's group's blkg (`io.stat`, `blkio.*`
/// statistics); a group without one for the disk (made by `gpc_io_throttle`) counts
/// nothing. Returns 0, `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_io_throttle`].
#[no_mangle]
pub unsafe extern "C" fn gpc_io_done(
    g: *const Instance,
    task: *mut GpcTask,
    dev: u32,
    bytes: u64,
    ios: u64,
    is_write: c_int,
    is_sync: c_int,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        unsafe {
            with_task_blkcg(g, task, |c| {
                blkcg::account(c, dev, is_write != 0, is_sync != 0, bytes, ios);
                Ok(())
            })
        }
    })())
}

/// The weight of `task`'s group on disk `dev` for a proportional scheduler into
/// `*weight`: with `on_dfl` iocost's (`io.weight`, 1..10000, the device's else the
/// default), else bfq's (`blkio.bfq.weight_device` else `blkio.bfq.weight`, 1..1000).
/// Returns 0, `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_io_throttle`]; `weight` null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_io_weight(
    g: *const Instance,
    task: *mut GpcTask,
    dev: u32,
    on_dfl: c_int,
    weight: *mut c_uint,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        if weight.is_null() {
            return Err(Error::EINVAL);
        }
        // SAFETY: forwarded.
        let w = unsafe { with_task_blkcg(g, task, |c| Ok(blkcg::weight(c, dev, on_dfl != 0))) }?;
        // SAFETY: not null, writable (the caller's contract).
        unsafe { weight.write(w) };
        Ok(())
    })())
}
