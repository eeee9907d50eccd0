//! A std test host for gpc-core and the crates above it (feature `testing`).
//!
//! - [`StdMutex`]: a sleeping lock (std mutex + condvar) as a [`LockBackend`](crate::host::lock::LockBackend);
//! - [`QuiescentRcu`]: a real, simple RCU: readers count themselves in and out, deferred
//!   callbacks run once no reader that could have seen the object remains;
//! - [`TestHost`]: a [`Host`](crate::Host) built from them;
//! - [`TaskList`]: a task table with fork/thread/exit helpers that drive the hooks;
//! - [`FailingAlloc`]: a global allocator that fails on demand and counts live
//!   allocations, to prove that every allocation failure is an `ENOMEM` that changes
//!   nothing and leaks nothing.

mod alloc_fail;
pub mod context;
mod host;
pub mod probe;
mod world;

pub use crate::tasklist::{Task, TaskList};
pub use alloc_fail::{AllocStats, FailingAlloc};
pub use host::{AtomicSpin, QuiescentRcu, StdMutex, TestHost};
pub use world::OneHierarchy;
