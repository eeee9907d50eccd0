//! Where the simulated machine asks the controllers (gpc-subsystems) what to do: one
//! small function per effect, so each controller is wired in exactly one place.
//!
//! | effect | controller function | used by |
//! |---|---|---|
//! | CPUs a task may run on (v1: `cpus`; v2: the effective CPUs, less those partitions took) | `cpuset::effective_cpus` | `run` |
//! | a task is frozen | `freezer::is_frozen` | `run`, `ps` |
//! | group weight | `cpu::shares` | `run` |
//! | group quota and period | `cpu::bandwidth` | `run` |
//! | bandwidth periods ended | `cpu::record_periods` | `run` |
//! | CPU time used | `cpuacct::charge` | `run` |
//! | memory charge, reclaim, OOM | `memory::reclaim` (`try_charge_pages`, `commit`, `reclaim`, `oom_victim`, ...), in `machine/memory.rs` | `alloc`, `free`, `readfile`, `writefile`, `exit`, `run` |
//! | device access | `devices::may_access` | `open` |
//! | packet class | `net_cls::classid` | (no command shows it yet) |
//! | CPU time of perf cgroup events | `perf_event::account` | `run` (`perf` reads it) |
//! | huge page charges | `hugetlb::try_charge`, `uncharge`, `fault_headroom`, in `machine/small.rs` | `hugealloc`, `hugefree`, `exit` |
//! | packet priority per device | `net_prio::prio`, in `machine/small.rs` | `netprio` |
//!
//! The `ns` controller needs no effect here: `unshare` goes through gpc-core's
//! `Gpc::container_clone`, and `pids` acts through core's fork hooks.

use gpc_core::Css;
use gpc_subsystems::{cpu, cpuacct, cpuset, devices, freezer, net_cls};

use crate::sched::CpuMask;

/// The CPUs the tasks of `css` may run on, on a machine with `nr_cpus` CPUs.
pub fn effective_cpus(css: Css<'_, cpuset::Cpuset>, nr_cpus: usize) -> CpuMask {
    cpuset::effective_cpus(css, nr_cpus)
}

/// Whether the tasks of `css` are frozen.
pub fn is_frozen(css: Css<'_, freezer::Freezer>) -> bool {
    freezer::is_frozen(css)
}

/// The weight (`cpu.shares`) of a `cpu` group.
pub fn cpu_shares(css: Css<'_, cpu::Cpu>) -> u64 {
    cpu::shares(css)
}

/// The group's own `(quota_us, period_us)`, if it has a quota.
pub fn cpu_bandwidth(css: Css<'_, cpu::Cpu>) -> Option<(u64, u64)> {
    cpu::bandwidth(css)
}

/// One bandwidth period of the group ended.
pub fn cpu_record_period(css: Css<'_, cpu::Cpu>, throttled: bool, throttled_ns: u64) {
    cpu::record_period(css, throttled, throttled_ns);
}

/// `times` alike bandwidth periods of the group ended.
pub fn cpu_record_periods(css: Css<'_, cpu::Cpu>, times: u64, throttled: bool, throttled_ns: u64) {
    cpu::record_periods(css, times, throttled, throttled_ns);
}

/// `ns` nanoseconds of user time ran on `cpu` for a task of `css` (the controller charges
/// the ancestors too).
pub fn cpuacct_charge(css: Css<'_, cpuacct::Cpuacct>, cpu: usize, ns: u64) {
    cpuacct::charge(css, cpu, ns, true);
}

/// May a task of `css` open device `dev_type` (`b'c'` or `b'b'`) `major:minor` for
/// `access` (a subset of `"rwm"`)?
pub fn device_may_access(
    css: Css<'_, devices::Devices>,
    dev_type: u8,
    major: u32,
    minor: u32,
    access: &str,
) -> bool {
    let kind = match dev_type {
        b'b' => gpc_subsystems::parse::DevType::Block,
        _ => gpc_subsystems::parse::DevType::Char,
    };
    devices::may_access(css, kind, major, minor, dev_access(access))
}

/// `"rwm"` subset → [`gpc_subsystems::parse::DevAccess`].
pub fn dev_access(access: &str) -> gpc_subsystems::parse::DevAccess {
    use gpc_subsystems::parse::DevAccess;
    access.bytes().fold(DevAccess::EMPTY, |acc, b| {
        acc.union(match b {
            b'r' => DevAccess::READ,
            b'w' => DevAccess::WRITE,
            b'm' => DevAccess::MKNOD,
            _ => DevAccess::EMPTY,
        })
    })
}

/// `ns` nanoseconds of CPU time ran for a task of `css` (its ancestors count them too).
pub fn perf_event_account(css: Css<'_, gpc_subsystems::perf_event::PerfEvent>, ns: u64) {
    gpc_subsystems::perf_event::account(css, ns);
}

/// The class id packets of a task of `css` carry.
pub fn net_classid(css: Css<'_, net_cls::NetCls>) -> u32 {
    net_cls::classid(css)
}
