#![no_std]
//! # gpc-core: Generic Process Containers
//!
//! A `#![no_std]` (+ `alloc`) implementation of Paul Menage's Generic Process Containers,
//! which became Linux control groups, with Linux's v1 behaviour as the reference:
//!
//! - a **hierarchy** partitions all tasks into **containers** (directories); every task is
//!   in exactly one container of each hierarchy;
//! - **subsystems** ([`Subsystem`]) bind to at most one hierarchy and keep per-container
//!   state through callbacks;
//! - a **css_group** (Linux `css_set`) is the shared, refcounted set of subsystem states
//!   of all tasks with the same memberships; a task holds one pointer to it
//!   ([`host::task::TaskSlot`]), so lookups are two dependent loads and fork/exit cost a
//!   reference count.
//!
//! A host (kernel, simulator) supplies locks, RCU, CPUs and its task table through the
//! small traits in [`host`], owns a [`Gpc`], and calls its fork/exit hooks and file
//! operations. Every failure is an [`Error`] wrapping a Linux errno; allocation failure
//! is `ENOMEM` and leaves every structure as it was.
//!
//! Design notes: `doc/host-boundary.md`, `doc/lock-order.md`, `doc/fast-path.md`.

extern crate alloc;
#[cfg(any(test, feature = "testing"))]
extern crate std;

mod container;
mod cssgroup;
pub mod debug;
pub mod error;
pub mod files;
mod gpc;
pub mod host;
pub mod options;
pub mod parse;
mod primitive;
pub mod release;
pub mod rules;
pub mod subsys;
pub mod tasklist;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use cssgroup::MAX_HIERARCHIES;
pub use error::{Error, Result};
pub use files::{CfFlags, CfType, FileCtxOf, Out};
pub use gpc::{CssHandle, Entry, Gpc, HierarchyId, Limits, Node};
pub use host::cred::{CapSet, Creds};
pub use host::task::{Caller, Pid, TaskRef, TaskSlot, TaskTable};
pub use host::Host;
pub use release::Release;
pub use subsys::{Css, CssRef, DynSubsystem, Hooks, SubsysId, Subsystem, TaskInfo, MAX_SUBSYS};

#[cfg(test)]
mod tests;
