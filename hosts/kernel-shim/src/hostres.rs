//! The exports of the `rdma` and `misc` controllers and of v2 device programs
//! (`include/gpc.h`, "RDMA, misc, device programs"; doc/rdma-misc.md, doc/v2-devices.md).
//!
//! * RDMA (kernel/cgroup/rdma.c): the IB core registers its devices
//!   (`rdmacg_register_device` → [`gpc_rdma_register_device`]), charges a task's group
//!   for each handle or object it creates (`rdmacg_try_charge` → [`gpc_rdma_charge`],
//!   `-EAGAIN` at a level's `rdma.max`) and gives it back to the group the charge
//!   reported (`rdmacg_uncharge` → [`gpc_rdma_uncharge`]).
//! * misc (kernel/cgroup/misc.c): the host sets each resource's capacity
//!   (`misc_cg_set_capacity` → [`gpc_misc_set_capacity`]); KVM charges a task's group
//!   (`misc_cg_try_charge` → [`gpc_misc_charge`], `-EBUSY` over `misc.max` or the
//!   capacity) and uncharges that group ([`gpc_misc_uncharge`]).
//! * device programs (kernel/bpf/cgroup.c, `BPF_CGROUP_DEVICE`): the kernel attaches a
//!   program of its own (a C function, which may run BPF) or a rule list to a v2 group
//!   ([`gpc_devprog_attach`], [`gpc_devprog_attach_rules`]), detaches it
//!   ([`gpc_devprog_detach`]), and asks before a device is opened or made
//!   ([`gpc_devprog_check`], then `gpc_device_access` for v1's lists, as
//!   `devcgroup_check_permission` does).
//!
//! A group is named by its container id (`gpc_stat`'s `id`), as the memory exports name
//! theirs; a charge reports the id it charged, and the kernel keeps it with the object.
//! gpc keeps no dying group: once a group is removed its id answers `-ENOENT`, and the
//! kernel gives the charge back at the parent's id instead (the parent's counters
//! include it).
//!
//! Locks: charges and the RDMA registry take the controllers' own spinlocks (atomic
//! context is fine, no allocation but an RDMA group's first pool for a device, which is
//! `GFP_ATOMIC`); the id lookups of the uncharges take gpc's hierarchy mutex (may
//! sleep); the device program table is a mutex, held while the programs run (a host
//! program may sleep, and must not call back into gpc).

use core::ffi::{c_char, c_int, c_uint, c_void};

use alloc::boxed::Box;

use gpc_core::host::alloc::{try_box, try_push, Gfp};
use gpc_core::{Css, CssRef, Error, SubsysId};
use gpc_subsystems::devprog::{self, DeviceProgram};
use gpc_subsystems::parse::{DevAccess, DevType};
use gpc_subsystems::{misc, rdma};

use crate::abi::{GpcTask, GPC_DEVCG_DEV_BLOCK, GPC_DEVCG_DEV_CHAR};
use crate::exports::{c_str, instance, Instance};
use crate::host;

type Result<T = (), E = Error> = core::result::Result<T, E>;

/// The root of a controller, for `group` arguments: `GPC_RES_ROOT`.
pub const GPC_RES_ROOT: u64 = 0;
/// `GPC_RDMA_HCA_HANDLE` (`RDMACG_RESOURCE_HCA_HANDLE`).
pub const GPC_RDMA_HCA_HANDLE: c_int = 0;
/// `GPC_RDMA_HCA_OBJECT` (`RDMACG_RESOURCE_HCA_OBJECT`).
pub const GPC_RDMA_HCA_OBJECT: c_int = 1;
/// `GPC_MISC_SEV` (`MISC_CG_RES_SEV`).
pub const GPC_MISC_SEV: c_int = 0;
/// `GPC_MISC_SEV_ES` (`MISC_CG_RES_SEV_ES`).
pub const GPC_MISC_SEV_ES: c_int = 1;
/// `GPC_MISC_TDX` (`MISC_CG_RES_TDX`).
pub const GPC_MISC_TDX: c_int = 2;
/// `GPC_DEVPROG_ALLOW_OVERRIDE` (`BPF_F_ALLOW_OVERRIDE`).
pub const GPC_DEVPROG_ALLOW_OVERRIDE: c_uint = devprog::ALLOW_OVERRIDE;
/// `GPC_DEVPROG_ALLOW_MULTI` (`BPF_F_ALLOW_MULTI`).
pub const GPC_DEVPROG_ALLOW_MULTI: c_uint = devprog::ALLOW_MULTI;

fn neg(e: Error) -> c_int {
    e.to_errno().wrapping_neg()
}

fn status(r: Result) -> c_int {
    r.map_or_else(neg, |()| 0)
}

fn ss_of(g: &Instance, name: &str) -> Result<SubsysId> {
    g.gpc.subsys_id(name).ok_or(Error::EINVAL)
}

/// `f` on the root state of `ss` (what holds the RDMA registry and misc capacities).
fn with_root<T>(g: &Instance, ss: SubsysId, f: impl FnOnce(CssRef<'_>) -> T) -> Result<T> {
    let id = g.gpc.root_css_id(ss).ok_or(Error::EINVAL)?;
    g.gpc
        .with_css_by_container_id(ss, id, f)
        .ok_or(Error::EINVAL)
}

/// `f` on group `id` of `ss` (`GPC_RES_ROOT`: the root), under the hierarchy mutex.
fn with_group<T>(
    g: &Instance,
    ss: SubsysId,
    id: u64,
    f: impl FnOnce(CssRef<'_>) -> T,
) -> Result<T> {
    let id = if id == GPC_RES_ROOT {
        g.gpc.root_css_id(ss).ok_or(Error::EINVAL)?
    } else {
        id
    };
    g.gpc
        .with_css_by_container_id(ss, id, f)
        .ok_or(Error::ENOENT)
}

/// `f` on `task`'s state of `ss` now, in an RCU read-side section.
///
/// # Safety
///
/// `task` is null or a live task whose slot was initialised.
unsafe fn with_task<T>(
    g: &Instance,
    ss: SubsysId,
    task: *mut GpcTask,
    f: impl FnOnce(CssRef<'_>) -> T,
) -> Result<T> {
    // SAFETY: forwarded.
    let slot = unsafe { host::task_slot(task) }.ok_or(Error::EINVAL)?;
    let guard = g.gpc.rcu_read_lock();
    let css = g.gpc.task_css(&guard, slot, ss).ok_or(Error::ESRCH)?;
    Ok(f(css))
}

fn typed<'a, S: gpc_core::Subsystem>(c: CssRef<'a>) -> Result<Css<'a, S>> {
    c.typed::<S>().ok_or(Error::EINVAL)
}

// ---------------------------------------------------------------------------------
// RDMA.
// ---------------------------------------------------------------------------------

/// `rdmacg_register_device`: device `name` joins `rdma.max`/`rdma.current`, listed last.
/// Returns 0, `-EINVAL` (no rdma controller; a name empty, longer than 63 bytes or with a
/// blank or control byte), `-EEXIST`, `-ENOSPC` (64 devices), `-ENOMEM`.
///
/// # Safety
///
/// `g` null, an error pointer or a live instance; `name` null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn gpc_rdma_register_device(
    g: *const Instance,
    name: *const c_char,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let name = unsafe { c_str(name) }?;
        let ss = ss_of(g, "rdma")?;
        with_root(g, ss, |c| rdma::register_device(typed(c)?, name))?
    })())
}

/// `rdmacg_unregister_device`: the device leaves the files and every group's limits and
/// charges on it are forgotten (give everything back first, as Linux requires). Returns
/// 0, `-ENODEV`, `-EINVAL`.
///
/// # Safety
///
/// As for [`gpc_rdma_register_device`].
#[no_mangle]
pub unsafe extern "C" fn gpc_rdma_unregister_device(
    g: *const Instance,
    name: *const c_char,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let name = unsafe { c_str(name) }?;
        let ss = ss_of(g, "rdma")?;
        with_root(g, ss, |c| rdma::unregister_device(typed(c)?, name))?
    })())
}

/// `rdmacg_try_charge`: one resource `res` (`GPC_RDMA_HCA_HANDLE`, `GPC_RDMA_HCA_OBJECT`)
/// of device `dev` charged to `task`'s rdma group and every ancestor; `*group` gets the
/// group's id for [`gpc_rdma_uncharge`]. Returns 0, `-EAGAIN` (a level's `rdma.max`;
/// nothing charged), `-ENODEV`, `-ENOMEM`, `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// `g` as above; `task` null or a live task; `dev` a NUL-terminated string; `group` null
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_rdma_charge(
    g: *const Instance,
    task: *mut GpcTask,
    dev: *const c_char,
    res: c_int,
    group: *mut u64,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let dev = unsafe { c_str(dev) }?;
        let res = u32::try_from(res)
            .ok()
            .and_then(rdma::Resource::from_index)
            .ok_or(Error::EINVAL)?;
        if group.is_null() || task.is_null() {
            return Err(Error::EINVAL);
        }
        let ss = ss_of(g, "rdma")?;
        // SAFETY: forwarded.
        let id = unsafe {
            with_task(g, ss, task, |c| {
                rdma::try_charge(typed(c)?, dev, res, 1).map(|()| c.container_id())
            })
        }??;
        // SAFETY: not null, writable (the caller's contract).
        unsafe { group.write(id) };
        Ok(())
    })())
}

/// `rdmacg_uncharge`: give one `res` of `dev` back to group `group` (as
/// [`gpc_rdma_charge`] reported it; `GPC_RES_ROOT` the root) and its ancestors. Returns
/// 0, `-ENOENT` (the group was removed: use its parent's id), `-EINVAL`.
///
/// # Safety
///
/// As for [`gpc_rdma_register_device`]; `dev` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn gpc_rdma_uncharge(
    g: *const Instance,
    group: u64,
    dev: *const c_char,
    res: c_int,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let dev = unsafe { c_str(dev) }?;
        let res = u32::try_from(res)
            .ok()
            .and_then(rdma::Resource::from_index)
            .ok_or(Error::EINVAL)?;
        let ss = ss_of(g, "rdma")?;
        with_group(g, ss, group, |c| {
            typed::<rdma::Rdma>(c).map(|c| rdma::uncharge(c, dev, res, 1))
        })?
    })())
}

// ---------------------------------------------------------------------------------
// misc.
// ---------------------------------------------------------------------------------

fn misc_res(res: c_int) -> Result<misc::Resource> {
    u32::try_from(res)
        .ok()
        .and_then(misc::Resource::from_index)
        .ok_or(Error::EINVAL)
}

/// `misc_cg_set_capacity`: the host has `capacity` of `res` (`GPC_MISC_SEV`,
/// `GPC_MISC_SEV_ES`, `GPC_MISC_TDX`; 0: none). Returns 0, `-EINVAL`.
///
/// # Safety
///
/// `g` null, an error pointer or a live instance.
#[no_mangle]
pub unsafe extern "C" fn gpc_misc_set_capacity(
    g: *const Instance,
    res: c_int,
    capacity: u64,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        let res = misc_res(res)?;
        let ss = ss_of(g, "misc")?;
        with_root(g, ss, |c| {
            typed::<misc::Misc>(c).map(|c| misc::set_capacity(c, res, capacity))
        })?
    })())
}

/// `misc_cg_try_charge`: `amount` of `res` charged to `task`'s misc group and every
/// ancestor; `*group` gets the group's id for [`gpc_misc_uncharge`]. Returns 0, `-EBUSY`
/// (a level's `misc.max` or the capacity; nothing charged, an event counted),
/// `-EINVAL` (also capacity 0), `-ESRCH`. Lock-free: any context.
///
/// # Safety
///
/// `g` as above; `task` null or a live task; `group` null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_misc_charge(
    g: *const Instance,
    task: *mut GpcTask,
    res: c_int,
    amount: u64,
    group: *mut u64,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        let res = misc_res(res)?;
        if group.is_null() || task.is_null() {
            return Err(Error::EINVAL);
        }
        let ss = ss_of(g, "misc")?;
        // SAFETY: forwarded.
        let id = unsafe {
            with_task(g, ss, task, |c| {
                misc::try_charge(typed(c)?, res, amount).map(|()| c.container_id())
            })
        }??;
        // SAFETY: not null, writable (the caller's contract).
        unsafe { group.write(id) };
        Ok(())
    })())
}

/// `misc_cg_uncharge`: give `amount` of `res` back to group `group` (as
/// [`gpc_misc_charge`] reported it; `GPC_RES_ROOT` the root) and its ancestors (the
/// counters stop at 0). Returns 0, `-ENOENT` (removed: use the parent's id), `-EINVAL`.
///
/// # Safety
///
/// `g` null, an error pointer or a live instance.
#[no_mangle]
pub unsafe extern "C" fn gpc_misc_uncharge(
    g: *const Instance,
    group: u64,
    res: c_int,
    amount: u64,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        let res = misc_res(res)?;
        let ss = ss_of(g, "misc")?;
        with_group(g, ss, group, |c| {
            typed::<misc::Misc>(c).map(|c| misc::uncharge(c, res, amount))
        })?
    })())
}

// ---------------------------------------------------------------------------------
// Device programs.
// ---------------------------------------------------------------------------------

/// A kernel's device program: returns non-zero to allow (`BPF_PROG_TYPE_CGROUP_DEVICE`'s
/// 1), 0 to deny. `dev_type` and `access` are `GPC_DEVCG_*`.
pub type GpcDevprogFn = unsafe extern "C" fn(
    ctx: *mut c_void,
    dev_type: c_int,
    major: u32,
    minor: u32,
    access: c_uint,
) -> c_int;

/// A program the kernel attached: its function and context.
struct HostProgram {
    f: GpcDevprogFn,
    ctx: *mut c_void,
}

// SAFETY: the header's contract for gpc_devprog_attach: `f` may be called from any
// thread with `ctx` until the program is detached or its group removed.
unsafe impl Send for HostProgram {}
// SAFETY: as above: concurrent calls are allowed by the same contract.
unsafe impl Sync for HostProgram {}

fn devcg_bits(kind: DevType, access: DevAccess) -> (c_int, c_uint) {
    let t = match kind {
        DevType::Block => GPC_DEVCG_DEV_BLOCK,
        _ => GPC_DEVCG_DEV_CHAR,
    };
    let mut a = 0;
    for (bit, acc) in crate::enforce::DEVCG_ACCESS_BITS {
        if access.contains(acc) {
            a |= bit;
        }
    }
    (t, a)
}

impl DeviceProgram for HostProgram {
    fn check(&self, kind: DevType, major: u32, minor: u32, access: DevAccess) -> bool {
        let (t, a) = devcg_bits(kind, access);
        // SAFETY: the attach contract: `f` is callable with `ctx` while attached.
        unsafe { (self.f)(self.ctx, t, major, minor, a) != 0 }
    }
}

/// The v2 group `path` of hierarchy handle `hier`: its container id and its ancestors'.
/// The container ids of the v2 group `path` and its ancestors, the group first, handed
/// to `then` while the hierarchy map's lock is held: `gpc_rmdir` forgets a group's
/// programs under the same lock, so an attach cannot store a program under a group
/// that an rmdir removed in between (Linux's `cgroup_bpf_attach` holds `cgroup_mutex`).
fn with_v2_chain<T>(
    g: &Instance,
    hier: c_int,
    path: &str,
    then: impl FnOnce(&[u64]) -> Result<T>,
) -> Result<T> {
    g.with_hier(hier, |h| {
        if !g.gpc.is_unified(h) {
            return Err(Error::EBADF);
        }
        let mut node = g.gpc.lookup(h, path)?;
        if !node.is_dir() {
            return Err(Error::ENOTDIR);
        }
        let mut chain = alloc::vec::Vec::new();
        loop {
            try_push(&mut chain, node.container_id(), Gfp::KERNEL)?;
            match g.gpc.parent(&node) {
                Ok(p) if p.container_id() != node.container_id() => node = p,
                _ => break,
            }
        }
        then(&chain)
    })
}

fn attach(
    g: &Instance,
    hier: c_int,
    path: &str,
    prog: Box<dyn DeviceProgram>,
    flags: c_uint,
    id: *mut u32,
) -> Result {
    if id.is_null() {
        return Err(Error::EINVAL);
    }
    let n = with_v2_chain(g, hier, path, |chain| {
        g.devprogs.lock().attach(chain, prog, flags)
    })?;
    // SAFETY: not null, writable (the caller's contract).
    unsafe { id.write(n) };
    Ok(())
}

/// `BPF_PROG_ATTACH` of a device program: `f(ctx, ...)` to the v2 group `path` of
/// hierarchy `hier`, with `flags` `GPC_DEVPROG_ALLOW_OVERRIDE` or
/// `GPC_DEVPROG_ALLOW_MULTI` (or 0); `*id` gets its id. Returns 0, `-EINVAL` (bad flags),
/// `-EPERM` (an ancestor's program forbids it, or the group's programs have other flags),
/// `-E2BIG` (64 programs), `-EBADF` (not the v2 hierarchy), `-ENOENT`, `-ENOTDIR`,
/// `-ENOMEM`. `f` runs under gpc's program mutex, from [`gpc_devprog_check`]'s caller,
/// until the program is detached or its group removed.
///
/// # Safety
///
/// `g` as above; `path` a NUL-terminated string; `f` callable from any thread with `ctx`
/// while attached; `id` null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_devprog_attach(
    g: *const Instance,
    hier: c_int,
    path: *const c_char,
    f: Option<GpcDevprogFn>,
    ctx: *mut c_void,
    flags: c_uint,
    id: *mut u32,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let path = unsafe { c_str(path) }?;
        let f = f.ok_or(Error::EINVAL)?;
        let prog: Box<dyn DeviceProgram> = try_box(HostProgram { f, ctx }, Gfp::KERNEL)?;
        attach(g, hier, path, prog, flags, id)
    })())
}

/// [`gpc_devprog_attach`] of gpc's rule-list program: `rules` is one rule a line,
/// `allow|deny a|b|c MAJOR:MINOR ACCESS` (numbers or `*`), first match wins, no match
/// denies (runc's generated program). Returns those of `gpc_devprog_attach`, `-EINVAL`
/// for a bad rule, `-E2BIG` past 256 rules.
///
/// # Safety
///
/// As for [`gpc_devprog_attach`]; `rules` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn gpc_devprog_attach_rules(
    g: *const Instance,
    hier: c_int,
    path: *const c_char,
    rules: *const c_char,
    flags: c_uint,
    id: *mut u32,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let path = unsafe { c_str(path) }?;
        // SAFETY: forwarded.
        let rules = unsafe { c_str(rules) }?;
        let mut prog = devprog::RuleProgram::new();
        for line in rules.split('\n').filter(|l| !l.trim().is_empty()) {
            prog.push(devprog::Rule::parse(line)?)?;
        }
        let prog: Box<dyn DeviceProgram> = try_box(prog, Gfp::KERNEL)?;
        attach(g, hier, path, prog, flags, id)
    })())
}

/// `BPF_PROG_DETACH`: program `id` of group `path` (0: its only program, not on an
/// `ALLOW_MULTI` group). Returns 0, `-ENOENT` (no such program), `-EINVAL`, `-EBADF`,
/// `-ENOTDIR`.
///
/// # Safety
///
/// As for [`gpc_devprog_attach`].
#[no_mangle]
pub unsafe extern "C" fn gpc_devprog_detach(
    g: *const Instance,
    hier: c_int,
    path: *const c_char,
    id: u32,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        let path = unsafe { c_str(path) }?;
        with_v2_chain(g, hier, path, |chain| {
            let me = chain.first().copied().ok_or(Error::EINVAL)?;
            g.devprogs.lock().detach(me, (id != 0).then_some(id))
        })
    })())
}

/// `BPF_CGROUP_RUN_PROG_DEVICE_CGROUP`: may `task` have `access` (`GPC_DEVCG_ACC_*`) to
/// device `dev_type` `major:minor`? Every effective program of its v2 group must allow
/// (none: allowed). Returns 0, `-EPERM`, `-EINVAL`, `-ESRCH`, `-ENOMEM` (a tree deeper
/// than 64 levels and no memory for the walk). Call `gpc_device_access` after it for
/// v1's lists, as `devcgroup_check_permission` does. Process context (the mutex).
///
/// # Safety
///
/// `g` as above; `task` null or a live task.
#[no_mangle]
pub unsafe extern "C" fn gpc_devprog_check(
    g: *const Instance,
    task: *mut GpcTask,
    dev_type: c_int,
    major: u32,
    minor: u32,
    access: c_uint,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        let (kind, acc) = crate::enforce::device_request(dev_type, access)?;
        // SAFETY: forwarded.
        let slot = unsafe { host::task_slot(task) }.ok_or(Error::EINVAL)?;
        let mut buf = [0u64; 64];
        let mut len = 0usize;
        let mut deep = false;
        g.gpc
            .task_dfl_ancestors(slot, &mut |id| match buf.get_mut(len) {
                Some(x) => {
                    *x = id;
                    len = len.saturating_add(1);
                }
                None => deep = true,
            })?;
        if !deep {
            let chain = buf.get(..len).unwrap_or(&[]);
            return g.devprogs.lock().check(chain, kind, major, minor, acc);
        }
        let mut all = alloc::vec::Vec::new();
        let mut oom = false;
        g.gpc.task_dfl_ancestors(slot, &mut |id| {
            oom |= try_push(&mut all, id, Gfp::KERNEL).is_err();
        })?;
        if oom {
            return Err(Error::ENOMEM);
        }
        g.devprogs.lock().check(&all, kind, major, minor, acc)
    })())
}
