//! The enforcement exports: what the controllers decide for one task, asked by the
//! kernel's scheduler, allocator, device and network code (`include/gpc.h`,
//! "Enforcement").
//!
//! Each entry point is a thin wrapper around the controller's own effect function in
//! `gpc-subsystems` (the same functions the simulated machine calls, see
//! `hosts/machine/src/effects.rs`), applied to the state that gpc's lock-free lookup
//! finds for the task: no controller logic lives here, only argument checks and the
//! C representation of the answer.
//!
//! Context (the fast path): every entry point enters its own, nested RCU read-side
//! section (so the caller may or may not be inside one), never sleeps and never
//! allocates. Most read or update atomics only; three take the controller's own state
//! spinlock briefly (`gpc_cpu_bandwidth`: the bandwidth settings, `gpc_cpuset_cpus` and
//! `gpc_cpuset_mems`: the cpuset's configuration, `gpc_device_access`: the exception
//! list). Those locks are the kernel's (`doc/lock-order.md`): the cpu and cpuset ones
//! irq-safe (`gpc_spin_lock_irqsave`), so those may be called with interrupts off or
//! from an interrupt; the devices one is a plain spinlock, so `gpc_device_access` must
//! not be called from hard interrupt context (the header says so).

use core::ffi::{c_int, c_long, c_uint, c_ulong};
use core::mem::size_of;

use gpc_core::{Css, Error, SubsysId, Subsystem};
use gpc_subsystems::{cpu, cpuacct, cpuset, devices, freezer, memory, net_cls};

use crate::abi::{
    GpcCpuBandwidth, GpcCpuWeight, GpcTask, GPC_DEVCG_ACC_MASK, GPC_DEVCG_ACC_MKNOD,
    GPC_DEVCG_ACC_READ, GPC_DEVCG_ACC_WRITE, GPC_DEVCG_DEV_BLOCK, GPC_DEVCG_DEV_CHAR,
};
use crate::exports::Instance;
use crate::host;

type Result<T = (), E = Error> = core::result::Result<T, E>;

/// The subsystem ids of the controllers the entry points ask, found once per instance
/// (`gpc_init`), so that the fast path does not compare names.
#[derive(Clone, Copy, Default)]
pub(crate) struct EnforceIds {
    cpu: Option<SubsysId>,
    cpuacct: Option<SubsysId>,
    cpuset: Option<SubsysId>,
    devices: Option<SubsysId>,
    freezer: Option<SubsysId>,
    memory: Option<SubsysId>,
    net_cls: Option<SubsysId>,
}

impl EnforceIds {
    /// The memory controller's id, if the instance has it.
    pub(crate) fn memory(&self) -> Option<SubsysId> {
        self.memory
    }

    /// Look the controllers up in `gpc`'s subsystem list.
    pub(crate) fn of(gpc: &gpc_core::Gpc<crate::host::KHost>) -> Self {
        EnforceIds {
            cpu: gpc.subsys_id(cpu::Cpu::NAME),
            cpuacct: gpc.subsys_id(cpuacct::Cpuacct::NAME),
            cpuset: gpc.subsys_id(cpuset::Cpuset::NAME),
            devices: gpc.subsys_id(devices::Devices::NAME),
            freezer: gpc.subsys_id(freezer::Freezer::NAME),
            memory: gpc.subsys_id(memory::Memory::NAME),
            net_cls: gpc.subsys_id(net_cls::NetCls::NAME),
        }
    }
}

fn neg(e: Error) -> c_int {
    e.to_errno().wrapping_neg()
}

fn status(r: Result) -> c_int {
    r.map_or_else(neg, |()| 0)
}

/// Run `f` on the state of controller `S` (id `ss`) for `task`, inside a nested RCU
/// read-side section. `-EINVAL` for a null or error instance or task, or a controller
/// this instance lacks (and, in debug builds, a task of another instance, as
/// `gpc_task_css` checks); `-ESRCH` for a task not attached (never forked, or exited).
///
/// # Safety
///
/// `g` is null, an error pointer, or a live instance; `task` is null or a live task
/// whose slot was initialised.
unsafe fn with_state<S: Subsystem, T>(
    g: *const Instance,
    task: *mut GpcTask,
    ss: impl FnOnce(&EnforceIds) -> Option<SubsysId>,
    f: impl FnOnce(&Instance, Css<'_, S>) -> Result<T>,
) -> Result<T> {
    // SAFETY: forwarded.
    let g = unsafe { crate::exports::instance(g) }?;
    let ss = ss(&g.enforce).ok_or(Error::EINVAL)?;
    // SAFETY: forwarded.
    let slot = unsafe { host::task_slot(task) }.ok_or(Error::EINVAL)?;
    let guard = g.gpc.rcu_read_lock();
    let css = g.gpc.task_css(&guard, slot, ss).ok_or(Error::ESRCH)?;
    // The check costs a cache line, so release builds leave it out (as gpc_task_css).
    if cfg!(debug_assertions) && !g.gpc.owns_task(&guard, slot) {
        return Err(Error::EINVAL);
    }
    let css = css.typed::<S>().ok_or(Error::EINVAL)?;
    f(g, css)
}

/// Write `value` through `out`, or `-EINVAL` for a null `out`.
///
/// # Safety
///
/// `out` is null or writable.
unsafe fn put<T>(out: *mut T, value: T) -> Result {
    if out.is_null() {
        return Err(Error::EINVAL);
    }
    // SAFETY: non-null and writable (caller).
    unsafe { out.write(value) };
    Ok(())
}

// ---------------------------------------------------------------------------------
// cpu
// ---------------------------------------------------------------------------------

/// The CPU weight of `task`'s `cpu` group (`cpu.shares`: 2 to 262144, 1024 by default,
/// 3 for an idle group; Linux `scale_load_down(tg->shares)`) into `*shares`. 0,
/// `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// `g` null, an error pointer or a live instance; `task` null or a live task;
/// `shares` null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_cpu_shares(
    g: *const Instance,
    task: *mut GpcTask,
    shares: *mut u64,
) -> c_int {
    // SAFETY: forwarded: `g`, `task` and the out-pointers are as the caller promised.
    status(unsafe {
        with_state::<cpu::Cpu, _>(g, task, |i| i.cpu, |_, css| put(shares, cpu::shares(css)))
    })
}

/// The bandwidth limit of the `cpu` group `level` steps above `task`'s (0: its own
/// group; Linux throttles each level's `cfs_rq`, so a kernel walks up until
/// `-ENOENT`) into `*out`. 0, `-ENOENT` (above the root), `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_cpu_shares`]; `out` null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_cpu_bandwidth(
    g: *const Instance,
    task: *mut GpcTask,
    level: c_uint,
    out: *mut GpcCpuBandwidth,
) -> c_int {
    // SAFETY: forwarded: `g`, `task` and the out-pointers are as the caller promised.
    status(unsafe {
        with_state::<cpu::Cpu, _>(
            g,
            task,
            |i| i.cpu,
            |_, css| {
                let css = cpu_level(css, level)?;
                let bw = match cpu::bandwidth(css) {
                    Some((quota_us, period_us)) => GpcCpuBandwidth {
                        quota_us: i64::try_from(quota_us).unwrap_or(i64::MAX),
                        period_us,
                        burst_us: cpu::burst(css),
                    },
                    None => GpcCpuBandwidth {
                        quota_us: -1,
                        period_us: 0,
                        burst_us: cpu::burst(css),
                    },
                };
                put(out, bw)
            },
        )
    })
}

/// The `cpu` state `level` steps above `css` (0: `css`), `ENOENT` above the root.
fn cpu_level<'a>(css: Css<'a, cpu::Cpu>, level: c_uint) -> Result<Css<'a, cpu::Cpu>> {
    let level = usize::try_from(level).map_err(|_| Error::ENOENT)?;
    css.ancestors_and_self().nth(level).ok_or(Error::ENOENT)
}

/// The weight of the `cpu` group `level` steps above `task`'s into `*out`: the
/// scheduler weight (v1 `cpu.shares`, v2 `cpu.weight` converted by
/// `sched_weight_from_cgroup`), the v2 `cpu.weight` and whether the group is idle.
/// 0, `-ENOENT` (above the root), `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_cpu_shares`]; `out` null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_cpu_weight(
    g: *const Instance,
    task: *mut GpcTask,
    level: c_uint,
    out: *mut GpcCpuWeight,
) -> c_int {
    // SAFETY: forwarded: `g`, `task` and the out-pointers are as the caller promised.
    status(unsafe {
        with_state::<cpu::Cpu, _>(
            g,
            task,
            |i| i.cpu,
            |_, css| {
                let css = cpu_level(css, level)?;
                let w = GpcCpuWeight {
                    shares: cpu::shares(css),
                    // 1..=10000 always fits.
                    weight: u32::try_from(cpu::weight(css)).unwrap_or(u32::MAX),
                    idle: i32::from(cpu::is_idle(css)),
                };
                put(out, w)
            },
        )
    })
}

/// `times` bandwidth periods of the `cpu` group `level` steps above `task`'s ended,
/// each `throttled` or not with `throttled_ns` of throttled time (`cpu::record_periods`,
/// Linux `do_sched_cfs_period_timer`). 0, `-ENOENT`, `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_cpu_shares`].
#[no_mangle]
pub unsafe extern "C" fn gpc_cpu_periods(
    g: *const Instance,
    task: *mut GpcTask,
    level: c_uint,
    times: u64,
    throttled: bool,
    throttled_ns: u64,
) -> c_int {
    // SAFETY: forwarded: `g` and `task` are as the caller promised.
    status(unsafe {
        with_state::<cpu::Cpu, _>(
            g,
            task,
            |i| i.cpu,
            |_, css| {
                cpu::record_periods(cpu_level(css, level)?, times, throttled, throttled_ns);
                Ok(())
            },
        )
    })
}

/// The `cpu` group `level` steps above `task`'s ran `burst_ns` on its burst allowance
/// in a period (`cpu::record_burst`, Linux `__refill_cfs_bandwidth_runtime`). 0,
/// `-ENOENT`, `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_cpu_shares`].
#[no_mangle]
pub unsafe extern "C" fn gpc_cpu_burst(
    g: *const Instance,
    task: *mut GpcTask,
    level: c_uint,
    burst_ns: u64,
) -> c_int {
    // SAFETY: forwarded: `g` and `task` are as the caller promised.
    status(unsafe {
        with_state::<cpu::Cpu, _>(
            g,
            task,
            |i| i.cpu,
            |_, css| {
                cpu::record_burst(cpu_level(css, level)?, burst_ns);
                Ok(())
            },
        )
    })
}

// ---------------------------------------------------------------------------------
// cpuacct
// ---------------------------------------------------------------------------------

/// Charge `ns` nanoseconds that `task` ran on CPU `cpu` to its `cpuacct` group and every
/// ancestor (Linux `cpuacct_charge` + `cpuacct_account_field`; `user` picks the
/// `cpuacct.usage_user` or `_sys` bucket). 0, `-EINVAL` (also `cpu >=
/// gpc_nr_cpus()`), `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_cpu_shares`].
#[no_mangle]
pub unsafe extern "C" fn gpc_cpuacct_charge(
    g: *const Instance,
    task: *mut GpcTask,
    cpu: c_uint,
    ns: u64,
    user: bool,
) -> c_int {
    // SAFETY: forwarded: `g`, `task` and the out-pointers are as the caller promised.
    status(unsafe {
        with_state::<cpuacct::Cpuacct, _>(
            g,
            task,
            |i| i.cpuacct,
            |g, css| {
                use gpc_core::host::cpu::Cpus;
                let cpu = usize::try_from(cpu).map_err(|_| Error::EINVAL)?;
                if cpu >= g.gpc.host().nr_cpus() {
                    return Err(Error::EINVAL);
                }
                cpuacct::charge(css, cpu, ns, user);
                Ok(())
            },
        )
    })
}

// ---------------------------------------------------------------------------------
// cpuset
// ---------------------------------------------------------------------------------

/// Copy the bits `0..nr` of `bits` (a set's members, ascending) into a Linux bitmap of
/// `nbits` bits at `mask` (`unsigned long` words, bit `i` in word `i / BITS_PER_LONG`),
/// clearing the rest: the number of bits set, or `nr` for a size query (`mask == NULL &&
/// nbits == 0`), `-EOVERFLOW` if `nbits < nr`, `-EINVAL` for a null `mask` otherwise.
///
/// # Safety
///
/// `mask` is null or `BITS_TO_LONGS(nbits)` writable words.
unsafe fn put_bitmap(
    bits: impl Iterator<Item = usize>,
    nr: usize,
    mask: *mut c_ulong,
    nbits: usize,
) -> Result<c_long> {
    let count = |n: usize| c_long::try_from(n).map_err(|_| Error::EOVERFLOW);
    if mask.is_null() {
        return if nbits == 0 {
            count(nr)
        } else {
            Err(Error::EINVAL)
        };
    }
    if nbits < nr {
        return Err(Error::EOVERFLOW);
    }
    const WORD_BITS: usize = c_ulong::BITS as usize;
    let words = nbits.div_ceil(WORD_BITS);
    if isize::try_from(words.saturating_mul(size_of::<c_ulong>())).is_err() {
        return Err(Error::EINVAL);
    }
    // SAFETY: `words` writable words (caller), at most isize::MAX bytes (checked).
    let out = unsafe { core::slice::from_raw_parts_mut(mask, words) };
    out.fill(0);
    let mut set = 0usize;
    for bit in bits.take_while(|&b| b < nr) {
        if let Some(w) = out.get_mut(bit.wrapping_div(WORD_BITS)) {
            *w |= c_ulong::from(1u8).wrapping_shl((bit % WORD_BITS) as u32);
            set = set.saturating_add(1);
        }
    }
    count(set)
}

/// The CPUs `task` may run on (its cpuset's `cpuset.effective_cpus`; on v1 equal to
/// `cpuset.cpus`) as a bitmap of `nbits` bits. Returns the number of CPUs set, or
/// `gpc_nr_cpus()` for a size query (`mask == NULL && nbits == 0`); `-EOVERFLOW` (`nbits <
/// gpc_nr_cpus()`, nothing written), `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_cpu_shares`]; `mask` null or `BITS_TO_LONGS(nbits)` writable words.
#[no_mangle]
pub unsafe extern "C" fn gpc_cpuset_cpus(
    g: *const Instance,
    task: *mut GpcTask,
    mask: *mut c_ulong,
    nbits: usize,
) -> c_long {
    // SAFETY: forwarded: `g`, `task` and the out-pointers are as the caller promised.
    unsafe { cpuset_bitmap(g, task, mask, nbits, false) }
}

/// The memory nodes `task` may allocate from (`cpuset.effective_mems`) as a bitmap of
/// `nbits` bits; as [`gpc_cpuset_cpus`] with `gpc_nr_mem_nodes()`.
///
/// # Safety
///
/// As for [`gpc_cpuset_cpus`].
#[no_mangle]
pub unsafe extern "C" fn gpc_cpuset_mems(
    g: *const Instance,
    task: *mut GpcTask,
    mask: *mut c_ulong,
    nbits: usize,
) -> c_long {
    // SAFETY: forwarded: `g`, `task` and the out-pointers are as the caller promised.
    unsafe { cpuset_bitmap(g, task, mask, nbits, true) }
}

/// [`gpc_cpuset_cpus`] (`mems` false) or [`gpc_cpuset_mems`] (`mems` true).
///
/// # Safety
///
/// As for [`gpc_cpuset_cpus`].
unsafe fn cpuset_bitmap(
    g: *const Instance,
    task: *mut GpcTask,
    mask: *mut c_ulong,
    nbits: usize,
    mems: bool,
) -> c_long {
    // SAFETY: forwarded: `g`, `task` and the out-pointers are as the caller promised.
    let r = unsafe {
        with_state::<cpuset::Cpuset, _>(
            g,
            task,
            |i| i.cpuset,
            |g, css| {
                use gpc_core::host::cpu::Cpus;
                if mems {
                    let nr = g.gpc.host().nr_mem_nodes();
                    put_bitmap(cpuset::effective_mems(css, nr).iter(), nr, mask, nbits)
                } else {
                    let nr = g.gpc.host().nr_cpus();
                    put_bitmap(cpuset::effective_cpus(css, nr).iter(), nr, mask, nbits)
                }
            },
        )
    };
    r.unwrap_or_else(|e| c_long::from(neg(e)))
}

// ---------------------------------------------------------------------------------
// devices
// ---------------------------------------------------------------------------------

/// A device request of the C ABI (`GPC_DEVCG_DEV_*`, `GPC_DEVCG_ACC_*` bits) as the
/// devices controller and the v2 device programs take it: `EINVAL` for another type, no
/// access bit or an unknown one.
pub(crate) fn device_request(
    dev_type: c_int,
    access: c_uint,
) -> Result<
    (
        gpc_subsystems::parse::DevType,
        gpc_subsystems::parse::DevAccess,
    ),
    Error,
> {
    use gpc_subsystems::parse::{DevAccess, DevType};
    let kind = match dev_type {
        GPC_DEVCG_DEV_BLOCK => DevType::Block,
        GPC_DEVCG_DEV_CHAR => DevType::Char,
        _ => return Err(Error::EINVAL),
    };
    if access == 0 || access & !GPC_DEVCG_ACC_MASK != 0 {
        return Err(Error::EINVAL);
    }
    let access = DEVCG_ACCESS_BITS
        .iter()
        .filter(|(bit, _)| access & bit != 0)
        .fold(DevAccess::EMPTY, |acc, (_, a)| acc.union(*a));
    Ok((kind, access))
}

/// The C ABI's `GPC_DEVCG_ACC_*` bits and the access each stands for.
pub(crate) const DEVCG_ACCESS_BITS: [(c_uint, gpc_subsystems::parse::DevAccess); 3] = [
    (GPC_DEVCG_ACC_MKNOD, gpc_subsystems::parse::DevAccess::MKNOD),
    (GPC_DEVCG_ACC_READ, gpc_subsystems::parse::DevAccess::READ),
    (GPC_DEVCG_ACC_WRITE, gpc_subsystems::parse::DevAccess::WRITE),
];

/// May `task` access device `type` (`GPC_DEVCG_DEV_BLOCK` or `_CHAR`) `major:minor` with
/// `access` (`GPC_DEVCG_ACC_*` bits)? 0 or `-EPERM`, as Linux's
/// `devcgroup_check_permission`; `-EINVAL` for another type, no access bit or an unknown
/// one, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_cpu_shares`].
#[no_mangle]
pub unsafe extern "C" fn gpc_device_access(
    g: *const Instance,
    task: *mut GpcTask,
    dev_type: c_int,
    major: u32,
    minor: u32,
    access: c_uint,
) -> c_int {
    let (kind, access) = match device_request(dev_type, access) {
        Ok(req) => req,
        Err(e) => return neg(e),
    };
    // SAFETY: forwarded: `g`, `task` and the out-pointers are as the caller promised.
    status(unsafe {
        with_state::<devices::Devices, _>(
            g,
            task,
            |i| i.devices,
            |_, css| {
                if devices::may_access(css, kind, major, minor, access) {
                    Ok(())
                } else {
                    Err(Error::EPERM)
                }
            },
        )
    })
}

// ---------------------------------------------------------------------------------
// freezer
// ---------------------------------------------------------------------------------

/// Must `task` stay frozen (its freezer group or an ancestor has `FROZEN` written to
/// `freezer.state`; Linux `cgroup_freezing`)? 1 or 0, or `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_cpu_shares`].
#[no_mangle]
pub unsafe extern "C" fn gpc_freezer_frozen(g: *const Instance, task: *mut GpcTask) -> c_int {
    // SAFETY: forwarded: `g`, `task` and the out-pointers are as the caller promised.
    let r = unsafe {
        with_state::<freezer::Freezer, _>(
            g,
            task,
            |i| i.freezer,
            |_, css| Ok(c_int::from(freezer::is_frozen(css))),
        )
    };
    r.unwrap_or_else(neg)
}

// ---------------------------------------------------------------------------------
// memory
// ---------------------------------------------------------------------------------

/// Charge `bytes` (rounded up to pages) of anonymous memory to `task`'s memory group and
/// its ancestors without reclaim: [`crate::gpc_mem_charge`] with `GPC_MEM_NOWAIT` on
/// `GPC_LRU_INACTIVE_ANON` (the first ABI's call, kept for kernels that have no reclaim).
/// 0; `-ENOMEM` if a level would exceed its limit (that level's `memory.failcnt` grows,
/// nothing else changes); `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_cpu_shares`].
#[no_mangle]
pub unsafe extern "C" fn gpc_memory_charge(
    g: *const Instance,
    task: *mut GpcTask,
    bytes: u64,
) -> c_int {
    let mut out = crate::abi::GpcMemCharge::default();
    // SAFETY: forwarded; `out` is a valid out-pointer.
    unsafe {
        crate::mem::gpc_mem_charge(
            g,
            task,
            memory::bytes_to_pages(bytes),
            crate::abi::GPC_LRU_INACTIVE_ANON,
            crate::abi::GPC_MEM_NOWAIT,
            &mut out,
        )
    }
}

/// Give back `bytes` (rounded up to pages) charged by [`gpc_memory_charge`] to `task`'s
/// memory group: [`crate::gpc_mem_uncharge`] of `task` on `GPC_LRU_INACTIVE_ANON`;
/// counters stop at 0. 0, `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_cpu_shares`].
#[no_mangle]
pub unsafe extern "C" fn gpc_memory_uncharge(
    g: *const Instance,
    task: *mut GpcTask,
    bytes: u64,
) -> c_int {
    if task.is_null() {
        // gpc_mem_uncharge would take a null task as "the group by id".
        return neg(Error::EINVAL);
    }
    // SAFETY: forwarded.
    unsafe {
        crate::mem::gpc_mem_uncharge(
            g,
            task,
            0,
            memory::bytes_to_pages(bytes),
            crate::abi::GPC_LRU_INACTIVE_ANON,
        )
    }
}

// ---------------------------------------------------------------------------------
// net_cls
// ---------------------------------------------------------------------------------

/// The class id `task`'s packets carry (`net_cls.classid`; Linux
/// `task_get_classid`) into `*classid`. 0, `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_cpu_shares`]; `classid` null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_net_cls_classid(
    g: *const Instance,
    task: *mut GpcTask,
    classid: *mut u32,
) -> c_int {
    // SAFETY: forwarded: `g`, `task` and the out-pointers are as the caller promised.
    status(unsafe {
        with_state::<net_cls::NetCls, _>(
            g,
            task,
            |i| i.net_cls,
            |_, css| put(classid, net_cls::classid(css)),
        )
    })
}
