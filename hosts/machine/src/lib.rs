#![no_std]
#![forbid(unsafe_code)]
//! # gpc-machine: the machine that `.cgsh` scripts drive, on any host
//!
//! [`Machine`] is a small Linux machine with gpc as its cgroup v1 core: gpc-core and
//! every gpc-subsystems controller on the host a [`Platform`] supplies, a small VFS with
//! Linux's path and permission rules ([`fs`]), a task table that drives gpc's fork and
//! exit hooks ([`tasks`]), and a deterministic scheduler in simulated time ([`sched`])
//! through which the controllers' limits bite ([`effects`]). It implements gpc-script's
//! [`gpc_script::Machine`], so the same script prints the same transcript wherever it
//! runs: on the std simulator (`gpc-sim`, the `gpc` command) and on the hobby kernel
//! (`gpc-hobby`, under qemu).
//!
//! The crate is `no_std` + `alloc` and needs nothing from its host but what gpc-core's
//! [`gpc_core::Host`] asks for (locks, RCU, CPU counts) and a global allocator.

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod effects;
pub mod fs;
pub mod machine;
pub mod release_log;
pub mod sched;
pub mod tasks;

pub use machine::{Machine, Platform};

/// The unit tests fail allocations on demand (`machine::enomem_tests`): an allocation
/// made infallibly that gets null aborts the test binary.
#[cfg(test)]
#[global_allocator]
static ALLOC: gpc_core::testing::FailingAlloc = gpc_core::testing::FailingAlloc::new();
