#![doc = include_str!("../README.md")]

use core::fmt;

pub mod alloc;
pub mod anchor;
pub mod baseline;
pub mod host;
pub mod lattice;
pub mod memcg;
pub mod report;
pub mod sim;
pub mod tasks;
pub mod threads;
pub mod timing;
pub mod v2;
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
