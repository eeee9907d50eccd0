#![no_std]
#![forbid(unsafe_code)]
#![doc = include_str!("../README.md")]

extern crate alloc;

pub mod parse;

#[cfg(feature = "cpu")]
pub mod cpu;
#[cfg(feature = "cpuacct")]
pub mod cpuacct;
#[cfg(feature = "cpuset")]
pub mod cpuset;
#[cfg(feature = "debug")]
pub mod debug;
#[cfg(feature = "devices")]
pub mod devices;
#[cfg(feature = "devices")]
pub mod devprog;
#[cfg(feature = "freezer")]
pub mod freezer;
#[cfg(feature = "hugetlb")]
pub mod hugetlb;
#[cfg(feature = "io")]
pub mod io;
#[cfg(feature = "memory")]
pub mod memory;
#[cfg(feature = "misc")]
pub mod misc;
#[cfg(feature = "net_cls")]
pub mod net_cls;
#[cfg(feature = "net_prio")]
pub mod net_prio;
#[cfg(feature = "ns")]
pub mod ns;
#[cfg(feature = "perf_event")]
pub mod perf_event;
#[cfg(feature = "pids")]
pub mod pids;
#[cfg(feature = "rdma")]
pub mod rdma;

use gpc_core::DynSubsystem;

/// Every compiled-in controller, in Linux's subsystem order (cpuset, cpu, cpuacct,
/// io, memory, devices, freezer, net_cls, perf_event, net_prio, hugetlb, pids, rdma,
/// misc, then ns and debug).
pub fn all() -> arrayvec::ArrayVec<&'static dyn DynSubsystem, { gpc_core::MAX_SUBSYS }> {
    let mut v: arrayvec::ArrayVec<&'static dyn DynSubsystem, { gpc_core::MAX_SUBSYS }> =
        arrayvec::ArrayVec::new();
    #[cfg(feature = "cpuset")]
    v.push(&cpuset::Cpuset);
    #[cfg(feature = "cpu")]
    v.push(&cpu::Cpu);
    #[cfg(feature = "cpuacct")]
    v.push(&cpuacct::Cpuacct);
    #[cfg(feature = "io")]
    v.push(&io::Io);
    #[cfg(feature = "memory")]
    v.push(&memory::Memory);
    #[cfg(feature = "devices")]
    v.push(&devices::Devices);
    #[cfg(feature = "freezer")]
    v.push(&freezer::Freezer);
    #[cfg(feature = "net_cls")]
    v.push(&net_cls::NetCls);
    #[cfg(feature = "perf_event")]
    v.push(&perf_event::PerfEvent);
    #[cfg(feature = "net_prio")]
    v.push(&net_prio::NetPrio);
    #[cfg(feature = "hugetlb")]
    v.push(&hugetlb::Hugetlb);
    #[cfg(feature = "pids")]
    v.push(&pids::Pids);
    #[cfg(feature = "rdma")]
    v.push(&rdma::Rdma);
    #[cfg(feature = "misc")]
    v.push(&misc::Misc);
    #[cfg(feature = "ns")]
    v.push(&ns::Ns);
    #[cfg(feature = "debug")]
    v.push(&debug::Debug);
    v
}
