#![forbid(unsafe_code)]
//! # gpc-sim: a simulated machine with a Linux-exact cgroup v1 file system
//!
//! The `gpc` command runs `.cgsh` scripts (see `doc/script-language.md` and the
//! `gpc-script` crate) against [`SimMachine`]: the `no_std` machine model of gpc-machine
//! (gpc-core and every gpc-subsystems controller, a small VFS with Linux's path and
//! permission rules ([`fs`]), simulated tasks, and a deterministic scheduler ([`sched`])
//! through which the controllers' limits bite ([`effects`])) on a std host. This crate
//! adds the std host, the command line and the interactive shell.

pub mod cmdline;
pub mod history;
pub mod layout;
pub mod lines;
pub mod machine;
pub mod output;
pub mod report;
pub mod shell;

pub use gpc_machine::{effects, fs, sched, tasks};
pub use machine::SimMachine;
