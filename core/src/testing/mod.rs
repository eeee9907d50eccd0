//! A std test host for gpc-core and the crates above it (feature `testing`).
//!
//! - [`StdMutex`], [`TestSpin`]: a sleeping lock (std mutex + condvar) and spinning
//!   locks as [`LockBackend`](crate::host::lock::LockBackend)s that record, per thread,
//!   the context a kernel's would make ([`context`]: preemption count, sleeping calls
//!   under a spinning lock, recursion on a lock class);
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
pub use host::{QuiescentRcu, StdMutex, TestHost, TestSpin, TestSpinState};
pub use world::OneHierarchy;
