//! # gpc-benches: gpc's fast paths against the hardware limit and Linux
//!
//! Shared by the criterion benchmarks (`cargo bench -p gpc-benches`, `benches/gpc.rs`)
//! and the short summary (`cargo run --release -p gpc-benches --bin bench-report`):
//!
//! - [`host`]: the benchmark host (a QSBR RCU whose read side touches no shared memory,
//!   as a kernel's does; per-thread CPU indices);
//! - [`tasks`]: a task table without a pid limit;
//! - [`world`]: the machines each benchmark runs on;
//! - [`baseline`]: the floors every figure is divided by (`Arc` clone+drop, two dependent
//!   loads, a hashbrown lookup, a spin lock);
//! - [`anchor`]: a NOP `pthread_create`+`pthread_join` on this machine's kernel;
//! - [`threads`]: two threads at once (fork+exit, and `Arc` ceilings);
//! - [`timing`]: warm-up and median-of-batches timing loops for the report;
//! - [`sim`]: the simulator (gpc-sim's machine) with a million tasks, for its resident
//!   memory;
//! - [`report`]: every figure of `bench-report`, in a full and a tiny configuration.
//!
//! Benchmarks are not kernel code: setup code here returns errors rather than panicking,
//! but allocates freely and uses std.

use core::fmt;

pub mod alloc;
pub mod anchor;
pub mod baseline;
pub mod host;
pub mod report;
pub mod sim;
pub mod tasks;
pub mod threads;
pub mod timing;
pub mod world;

/// An error of a benchmark's setup or run, with what was being done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchError(String);

impl BenchError {
    /// An error described by `what`.
    pub fn new(what: impl fmt::Display) -> Self {
        BenchError(what.to_string())
    }
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BenchError {}

impl From<std::io::Error> for BenchError {
    fn from(e: std::io::Error) -> Self {
        BenchError::new(e)
    }
}

/// Adds what was being done to a gpc error.
pub trait Ctx<T> {
    /// The error, prefixed by `what`.
    ///
    /// # Errors
    ///
    /// The original error, as a [`BenchError`].
    fn ctx(self, what: impl fmt::Display) -> Result<T, BenchError>;
}

impl<T> Ctx<T> for Result<T, gpc_core::Error> {
    #[inline]
    fn ctx(self, what: impl fmt::Display) -> Result<T, BenchError> {
        self.map_err(|e| BenchError::new(format_args!("{what}: {}", e.name())))
    }
}
