//! Shared by the integration tests of gpc-sim (not a test target itself).

pub mod model;
