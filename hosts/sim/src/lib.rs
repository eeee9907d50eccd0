#![doc = include_str!("../README.md")]

pub mod lines;
pub mod machine;
pub mod output;
pub mod shell;

pub use gpc_machine::{effects, fs, sched, tasks};
pub use machine::SimMachine;
