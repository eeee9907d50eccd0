//! The machine's task table: gpc-core's reference task table (no_std, fallible growth),
//! whose fork and exit drive gpc's hooks.

pub use gpc_core::tasklist::*;
