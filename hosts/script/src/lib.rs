#![no_std]
#![forbid(unsafe_code)]
#![doc = include_str!("../README.md")]

extern crate alloc;

pub mod cgtools;
pub mod glob;
pub mod interp;
pub mod lex;
pub mod machine;
pub mod parse;
pub mod views;

#[cfg(test)]
mod tests;

pub use interp::{CommandEnd, FmtOutput, Interpreter, Mode, Output, RunSummary, Session};
pub use lex::literal_words;
pub use machine::{HostCommand, Machine, MachineConfig, Pid};
pub use parse::{check_line, ParseError, ParseErrorKind, Script, MAX_LINE};

/// The exit status of a host whose script cannot be parsed (FORMAT.md).
pub const PARSE_ERROR_EXIT_STATUS: i32 = 2;

impl Script {
    /// Runs every command against `machine`, writing the transcript to `out`.
    pub fn run<M: Machine + ?Sized>(
        &self,
        machine: &mut M,
        mode: Mode,
        out: &mut dyn Output,
    ) -> RunSummary {
        let mut interpreter = Interpreter::new(self, mode);
        interpreter.run_to_end(machine, out);
        interpreter.summary()
    }
}

/// Parses `source` and, if it parses, runs it: [`Script::parse`] then [`Script::run`].
pub fn run_script<M: Machine + ?Sized>(
    machine: &mut M,
    source: &[u8],
    mode: Mode,
    out: &mut dyn Output,
) -> Result<RunSummary, ParseError> {
    let script = Script::parse(source)?;
    Ok(script.run(machine, mode, out))
}
