//! [`SimMachine`]: gpc-machine's [`Machine`] on the std test host.
//!
//! The machine model (VFS, `/proc`, tasks, scheduler, controller effects) lives in the
//! `no_std` crate gpc-machine, so that the hobby kernel runs the very same model; this
//! module only says what the simulator runs it on: gpc-core's [`TestHost`] (a sleeping
//! lock built on std's mutex and condition variable, and a real quiescent-state RCU).

use gpc_core::testing::TestHost;
use gpc_core::Result;

pub use gpc_machine::machine::{Machine, Platform, DEFAULT_CPUS, DEFAULT_MEMS, MAX_CPUS, MAX_MEMS};

/// The std platform: a [`TestHost`] per machine.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdPlatform;

impl Platform for StdPlatform {
    type Host = TestHost;

    fn host(nr_cpus: usize, nr_mems: usize) -> Result<TestHost> {
        Ok(TestHost::new(nr_cpus, nr_mems))
    }

    fn set_clock_ns(host: &TestHost, ns: u64) {
        host.set_clock_ns(ns);
    }
}

/// The simulated machine of the `gpc` command.
pub type SimMachine = Machine<StdPlatform>;
