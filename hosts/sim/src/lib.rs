//! # gpc-sim: a simulated machine with a Linux-exact cgroup v1 file system
//!
//! The `gpc` command runs `.cgsh` scripts (see `shared/sim-scripts/FORMAT.md` and the
//! `gpc-script` crate) against [`SimMachine`]: gpc-core and every gpc-subsystems
//! controller on a std host, a small VFS with Linux's path and permission rules
//! ([`fs`]), simulated tasks, and a deterministic scheduler ([`sched`]) through which
//! the controllers' limits bite ([`effects`]).

pub mod effects;
pub mod fs;
pub mod machine;
pub mod output;
pub mod sched;
pub mod shell;

pub use machine::SimMachine;
