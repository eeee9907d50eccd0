//! The hugetlb exports (`include/gpc.h`, "hugetlb"): the charges Linux's
//! `mm/hugetlb.c` makes through `mm/hugetlb_cgroup.c`.
//!
//! - `gpc_hugetlb_charge`: `hugetlb_cgroup_charge_cgroup` (a faulted huge page,
//!   `alloc_hugetlb_folio`) or, with `GPC_HUGETLB_RSVD`, `hugetlb_cgroup_charge_cgroup_rsvd`
//!   (a reservation, `hugetlb_reserve_pages` at `mmap`), to the calling task's group and
//!   its ancestors; the group's id comes back for the uncharge (Linux keeps the group in
//!   the folio or the reservation map). Refused: `-ENOMEM`, the refusing level's
//!   `failcnt` and the group's `max` events count it.
//! - `gpc_hugetlb_uncharge`: `hugetlb_cgroup_uncharge_folio[_rsvd]` /
//!   `..._uncharge_counter` on the group with that id. A group that was removed is
//!   `-ENOENT`: Linux moved its faulted pages to the parent
//!   (`hugetlb_cgroup_move_parent`), and so does a kernel: it names the parent from then
//!   on (whose counters already hold the pages).
//!
//! Lock-free for the charge (an RCU read-side section); the uncharge looks the group up
//! under the hierarchy mutex (it may sleep).

use core::ffi::{c_int, c_uint};

use gpc_core::{Error, Subsystem};
use gpc_subsystems::hugetlb::{self, Hugetlb};

use crate::abi::GpcTask;
use crate::exports::{instance, Instance};
use crate::host;

type Result<T = (), E = Error> = core::result::Result<T, E>;

/// `flags` of [`gpc_hugetlb_charge`] and [`gpc_hugetlb_uncharge`]: the reservation
/// counter (`rsvd`) instead of the faulted pages'.
pub const GPC_HUGETLB_RSVD: c_uint = 1;

fn status(r: Result) -> c_int {
    r.map_or_else(|e| e.to_errno().wrapping_neg(), |()| 0)
}

/// The size index and whether the reservation counter is meant.
fn args(hstate: c_uint, flags: c_uint) -> Result<(usize, bool)> {
    let idx = usize::try_from(hstate).map_err(|_| Error::EINVAL)?;
    if idx >= hugetlb::NR_SIZES || flags & !GPC_HUGETLB_RSVD != 0 {
        return Err(Error::EINVAL);
    }
    Ok((idx, flags & GPC_HUGETLB_RSVD != 0))
}

/// Charge `nr` huge pages of size `hstate` (0: 2MB, 1: 1GB) to `task`'s hugetlb group;
/// its id into `*group`. Returns 0, `-ENOMEM` (a limit refused: nothing charged),
/// `-EINVAL` (null or error instance, task or `group`, an unknown size or flag, no
/// hugetlb controller), `-ESRCH` (task not attached).
///
/// # Safety
///
/// `g` null, an error pointer or a live instance; `task` null or a live task whose slot
/// was initialised; `group` null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_hugetlb_charge(
    g: *const Instance,
    task: *mut GpcTask,
    hstate: c_uint,
    nr: u64,
    flags: c_uint,
    group: *mut u64,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        let (idx, rsvd) = args(hstate, flags)?;
        if group.is_null() {
            return Err(Error::EINVAL);
        }
        let ss = g.gpc.subsys_id(Hugetlb::NAME).ok_or(Error::EINVAL)?;
        // SAFETY: forwarded.
        let slot = unsafe { host::task_slot(task) }.ok_or(Error::EINVAL)?;
        let guard = g.gpc.rcu_read_lock();
        let css = g
            .gpc
            .task_state::<Hugetlb>(&guard, slot, ss)
            .ok_or(Error::ESRCH)?;
        hugetlb::try_charge(css, idx, nr, rsvd)?;
        // SAFETY: not null, writable (the caller's contract).
        unsafe { group.write(css.container_id()) };
        Ok(())
    })())
}

/// Give back `nr` huge pages of size `hstate` charged to the group with id `group` (as
/// [`gpc_hugetlb_charge`] reported it), the reservation counter with
/// `GPC_HUGETLB_RSVD`. Counters stop at 0. Returns 0, `-ENOENT` (no such group: it was
/// removed), `-EINVAL`.
///
/// # Safety
///
/// `g` null, an error pointer or a live instance.
#[no_mangle]
pub unsafe extern "C" fn gpc_hugetlb_uncharge(
    g: *const Instance,
    group: u64,
    hstate: c_uint,
    nr: u64,
    flags: c_uint,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        let (idx, rsvd) = args(hstate, flags)?;
        let ss = g.gpc.subsys_id(Hugetlb::NAME).ok_or(Error::EINVAL)?;
        g.gpc
            .with_css_by_container_id(ss, group, |c| {
                c.typed::<Hugetlb>()
                    .map(|c| hugetlb::uncharge(c, idx, nr, rsvd))
            })
            .flatten()
            .ok_or(Error::ENOENT)
    })())
}
