//! The net_prio export (`include/gpc.h`, "net_prio"): the priority a task's packets get
//! on a network device (Linux `skb_update_prio` → `netprio_prio`), and the network
//! devices a kernel tells gpc through the `gpc_netdev_name` import, which
//! `net_prio.ifpriomap` lists and its writes name.

use core::ffi::{c_int, c_uint};

use gpc_core::{Error, Subsystem};
use gpc_subsystems::net_prio::{self, NetPrio};

use crate::abi::GpcTask;
use crate::exports::{instance, Instance};
use crate::host;

/// The priority of device `dev` (the kernel's index, as `gpc_netdev_name` numbers
/// devices) for `task`'s packets into `*prio`: its `net_prio` group's `ifpriomap` entry,
/// 0 when none was written. Returns 0, `-EINVAL` (null or error arguments, no net_prio
/// controller), `-ESRCH`. Any context (the transmit path): lock-free but for the
/// group's own map lock.
///
/// # Safety
///
/// `g` null, an error pointer or a live instance; `task` null or a live task whose slot
/// was initialised; `prio` null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_net_prio_prio(
    g: *const Instance,
    task: *mut GpcTask,
    dev: c_uint,
    prio: *mut u32,
) -> c_int {
    let r = (|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        if prio.is_null() {
            return Err(Error::EINVAL);
        }
        let ss = g.gpc.subsys_id(NetPrio::NAME).ok_or(Error::EINVAL)?;
        // SAFETY: forwarded.
        let slot = unsafe { host::task_slot(task) }.ok_or(Error::EINVAL)?;
        let guard = g.gpc.rcu_read_lock();
        let css = g
            .gpc
            .task_state::<NetPrio>(&guard, slot, ss)
            .ok_or(Error::ESRCH)?;
        let dev = usize::try_from(dev).map_err(|_| Error::EINVAL)?;
        // SAFETY: not null, writable (the caller's contract).
        unsafe { prio.write(net_prio::prio(css, dev)) };
        Ok(())
    })();
    r.map_or_else(|e| e.to_errno().wrapping_neg(), |()| 0)
}
