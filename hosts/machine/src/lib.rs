#![no_std]
#![forbid(unsafe_code)]
#![doc = include_str!("../README.md")]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod blk;
pub mod effects;
pub mod fs;
pub mod machine;
pub mod mm;
pub mod release_log;
pub mod sched;
pub mod tasks;

pub use machine::{Machine, Platform};

/// The unit tests fail allocations on demand (`machine::enomem_tests`): an allocation
/// made infallibly that gets null aborts the test binary.
#[cfg(test)]
#[global_allocator]
static ALLOC: gpc_core::testing::FailingAlloc = gpc_core::testing::FailingAlloc::new();
