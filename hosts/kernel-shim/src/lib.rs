#![no_std]
//! gpc-kshim (being written).
