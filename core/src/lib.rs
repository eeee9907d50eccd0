#![no_std]
#![doc = include_str!("../README.md")]

extern crate alloc;
#[cfg(any(test, feature = "testing"))]
extern crate std;

mod container;
pub mod counter;
mod cssgroup;
pub mod debug;
pub mod error;
pub mod files;
mod gpc;
pub mod host;
mod list;
pub mod options;
pub mod parse;
mod primitive;
pub mod psi;
pub mod release;
pub mod rules;
pub mod subsys;
pub mod tasklist;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use cssgroup::MAX_HIERARCHIES;
pub use error::{Error, Result};
pub use files::{CfFlags, CfType, FileCtxOf, Out, Peer};
pub use gpc::{
    CgroupNs, CssHandle, Entry, Gpc, HierarchyId, Limits, Node, PidsReader, SubtreeTasks, TaskId,
    TaskIter, PIDS_PER_PASS, PSI_SYSTEM,
};
pub use host::cred::{CapSet, Creds};
pub use host::jobctl::JobControl;
pub use host::task::{
    Caller, EmbedsTaskSlot, NetDevices, Pid, TaskIds, TaskRef, TaskSlot, TaskTable,
};
pub use host::Host;
pub use release::Release;
pub use subsys::{Css, CssRef, DynSubsystem, Hooks, SubsysId, Subsystem, TaskInfo, MAX_SUBSYS};

#[cfg(test)]
mod tests;
