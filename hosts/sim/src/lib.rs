#![forbid(unsafe_code)]
#![doc = include_str!("../README.md")]

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
