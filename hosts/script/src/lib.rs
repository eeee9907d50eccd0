#![no_std]
#![forbid(unsafe_code)]
//! The interpreter of gpc's `.cgsh` simulation scripts.
//!
//! A `.cgsh` script is a cgroup walkthrough written in a small subset of POSIX shell
//! (`mount -t cgroup -o cpuset cpuset /cs`, `echo $A > /cs/a/tasks`, `cat ...`) plus a few
//! simulation commands (`spawn A`, `run 100`, `alloc A 4M`). The contract is
//! `shared/sim-scripts/FORMAT.md`; its conformance cases were recorded on a real Linux
//! kernel, and the same script must print the same transcript on the std simulator
//! (`gpc-sim`) and on a hobby kernel. That is why this crate is `no_std` + `alloc`, knows
//! nothing of how a machine works ([`Machine`] is the whole interface), never panics on
//! any input, and writes its output incrementally through [`Output`].
//!
//! Running a script has two phases:
//!
//! 1. [`Script::parse`] reads the whole source first. A script that cannot be parsed is
//!    refused with a [`ParseError`] naming the line, and nothing of it runs; a host exits
//!    with [`PARSE_ERROR_EXIT_STATUS`]. The lexical rules are in [`lex`], the
//!    parse-versus-run-time split in [`parse`] (in short: the shape of a line is checked
//!    up front, values after `$VAR` expansion, see [`interp`]). A line is at most
//!    [`MAX_LINE`] bytes.
//! 2. An [`Interpreter`] runs the commands in order against a [`Machine`]; a command that
//!    fails prints one error and the script goes on, as a shell would.
//!
//! A host that cannot or need not hold a whole script streams it instead: a
//! [`Session`] parses and runs one line at a time and keeps only the variables, so a
//! script read from a pipe runs in memory that does not grow with its length (a line
//! that cannot be parsed is then an error of that line, after the lines before it ran).
//! [`check_line`] lets such a host still refuse a bad file before running any of it, in
//! a first pass that keeps nothing. The interactive shell is a [`Session`] too, so a
//! line means the same typed as written in a script.
//!
//! A parsed command keeps its text as written and each operand as byte ranges of that
//! text (quote removal only ever drops characters), about 80 bytes a command.
//!
//! [`run_script`] does both. In [`Mode::Echo`] the transcript is FORMAT.md's:
//!
//! ```text
//! $ spawn A
//! A=2
//! $ echo $A > /cs/a/tasks
//! error: ENOSPC
//! ```
//!
//! * `$ ` and the command as written (comment and surrounding blanks removed) before each
//!   command;
//! * `VAR=PID` after `spawn`, `fork`, `thread`, `cgexec`;
//! * `cat` and `ps`: the bytes exactly as read (an empty file prints nothing, a file that
//!   does not end in a newline lets the next line continue it, as in a terminal);
//! * `ls`: the entries sorted bytewise, one per line; `releases`: one path per line;
//! * `echo` without a redirection prints its line to the transcript, as `sh` would;
//!   `echo -n` (only as the first word) leaves out the newline, with or without a file;
//! * `mount` alone, libcgroup's tools (`cgcreate`, `cgexec`, `cgclassify`, `cgget`,
//!   `cgset`, `lscgroup`, `lssubsys`, `cgdelete`) and `sample`: as [`cgtools`] describes;
//! * a failure: the single line `error: ENAME`.
//!
//! [`Mode::Plain`] prints the same without the `$ ` lines, and a failure as a
//! [`Output::diagnostic`] like `line 7: echo: EBUSY (Device or resource busy)`; its
//! `ps` has a header line and each task's groups after FORMAT.md's columns.
//!
//! Besides FORMAT.md's commands the interpreter has a shell's: `cd`/`pwd` (a working
//! directory that relative paths start from), pathname expansion of path operands
//! ([`glob`]), `cat` of several files, and the views `tree` and `top` ([`views`]); they
//! are specified in the repository's `doc/script-language.md`.
//!
//! A command that fails on purpose says so in a comment that ends its line,
//! `rmdir /cg/a   # expect: EBUSY`: a comment to `sh` and to every FORMAT.md runner (the
//! echo transcript is unchanged), and to this interpreter the errno the command is
//! expected to fail with (parsed without allocating). Whatever the mode, the host's
//! [`Output`] is told where each command starts and how it ended beside that
//! expectation ([`Output::command_start`], [`Output::command_end`], [`CommandEnd`]),
//! which is all a host needs to lay a run out its own way (`gpc run --narrate`,
//! `--csv`, `--strict`); a missed expectation is also a diagnostic in both modes
//! (`line 7: rmdir: succeeded [expected EBUSY]`), and an expected failure in plain mode
//! is marked `[expected]`.
//!
//! Input is bytes: a line that is not UTF-8 (or has a NUL) is a parse error of that line,
//! never a panic and never a lossy guess at a path.

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
pub use machine::{Machine, Pid};
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
