//! Running a parsed [`Script`] against a [`Machine`], one command at a time.
//!
//! The interpreter owns only the script's variables (name -> task id); everything else
//! lives in the machine. Output goes to an [`Output`] sink as soon as a command has run,
//! so a kernel can print a transcript over a serial port while the script is still
//! running, and [`Interpreter::step`] runs exactly one command so a host can interleave
//! scripts with other work.
//!
//! Values are checked here, after `$VAR` expansion (see the `parse` module for what is
//! refused earlier):
//! * numbers (`run MS`, `as UID`, `chown UID[:GID]`, `machine cpus=N mems=M`, pids,
//!   `MAJOR:MINOR`) are unsigned decimal, without sign or blanks: anything else is
//!   `EINVAL`, a number that does not fit is `ERANGE`;
//! * `BYTES` of `alloc` / `free` is a decimal number with an optional suffix `K`, `M`,
//!   `G` or `T` in either case, each a factor of 1024 (the suffixes of Linux's
//!   `memparse()`, which `memory.limit_in_bytes` takes too, so `alloc A 4M` and
//!   `echo 4M > memory.limit_in_bytes` mean the same amount);
//! * a task operand is a plain name (the variable of that name, `EINVAL` if unset) or
//!   any other word, expanded and read as a pid (`$A`, `"${A}"`, `1`);
//! * `chown UID:` gives the group `UID` (as chown(1) gives the owner's login group, and
//!   a script user's gid is its uid); `chown :GID` (group only) is `EINVAL`;
//! * `open`'s `ACCESS` is a non-empty string of `r`, `w` and `m` (repeats allowed), handed
//!   to the machine in the canonical order `rwm`;
//! * a path operand is expanded as a pattern if it has an unquoted `*`, `?` or `[`
//!   ([`crate::glob`]), and a relative one is joined to the working directory of `cd`
//!   (kept here, in the [`Session`]) before the machine sees it.
//!
//! Allocation is fallible here as in the machine (the hobby kernel's allocator returns
//! null): the variables, the expanded words and the text printed all grow with
//! `try_reserve`, and a command that runs out of memory fails with `ENOMEM`, printed as
//! any other failure. What a command needs for its own bookkeeping (the variable a
//! `spawn` sets, the line it prints) is reserved before the machine acts, so `ENOMEM`
//! never follows a change the machine made. Text that is only printed falls back to
//! smaller pieces without memory for a whole line.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write as _};

use gpc_core::Error;

use crate::cgtools::{self, Tool};
use crate::lex::{is_name, Piece, Word};
use crate::machine::{HostCommand, Machine, MachineConfig, Pid};
use crate::parse::{
    parse_line, HostOp, Line, Op, ParseError, ParseErrorKind, Script, Words, MACHINE_OPTIONS,
};

/// Where the transcript goes.
///
/// Writing cannot fail from the interpreter's point of view: a sink that can fail
/// (stdout closed) remembers the failure itself and the host checks it afterwards.
pub trait Output {
    /// Appends bytes to the transcript. The interpreter hands over whole lines where it
    /// can (a command line, `error: EBUSY`, `A=5`, one `ls` entry); the contents of a
    /// `cat` come in one piece, exactly as read.
    fn write_bytes(&mut self, bytes: &[u8]);

    /// One diagnostic line (no newline) of plain mode: a failed command. By default it
    /// goes into the transcript; a std host may send it to stderr instead.
    fn diagnostic(&mut self, line: &str) {
        self.write_bytes(line.as_bytes());
        self.write_bytes(b"\n");
    }

    /// A command is about to run: its line number and its text as written (what
    /// `--echo` prints after `$ `). Called in every mode, before anything the command
    /// prints, so a host can lay a transcript out its own way (`gpc run --narrate`,
    /// `--csv`); by default nothing.
    fn command_start(&mut self, line: usize, text: &str) {
        let _ = (line, text);
    }

    /// The command [`Output::command_start`] announced has run, and this is how it
    /// ended, after everything it printed; by default nothing.
    fn command_end(&mut self, end: &CommandEnd<'_>) {
        let _ = end;
    }
}

/// How a command ended, beside what the script said it would do: told to
/// [`Output::command_end`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandEnd<'a> {
    /// The line number, from 1.
    pub line: usize,
    /// The command's name (`mount`, `echo`, ...; the command after any `as UID`).
    pub name: &'static str,
    /// Its errno, if it failed.
    pub error: Option<Error>,
    /// The errno its `# expect: ERRNO` comment names, if it has one.
    pub expected: Option<Error>,
    /// Why it failed, where the interpreter knows more than the errno says.
    pub why: Option<&'a str>,
}

impl CommandEnd<'_> {
    /// Whether it ended as the script said: it failed with the errno its `# expect:`
    /// names, or it succeeded and has no `# expect:`.
    pub fn as_expected(&self) -> bool {
        self.error == self.expected
    }
}

/// What a diagnostic adds about the script's expectation: ` [expected]` after an error
/// the script expects, ` [expected ERRNO]` after another outcome than the one it
/// expects, nothing for an error it does not expect.
struct ExpectationNote {
    error: Option<Error>,
    expected: Option<Error>,
}

impl fmt::Display for ExpectationNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expected {
            None => Ok(()),
            Some(e) if Some(e) == self.error => f.write_str(" [expected]"),
            Some(e) => write!(f, " [expected {}]", e.name()),
        }
    }
}

impl Output for Vec<u8> {
    fn write_bytes(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// An [`Output`] over any [`core::fmt::Write`] (a kernel console, a `String`).
///
/// File contents that are not UTF-8 are written with `U+FFFD` for each bad sequence.
/// The first write error is remembered ([`FmtOutput::failed`]); later writes are skipped.
#[derive(Debug, Default)]
pub struct FmtOutput<W> {
    inner: W,
    failed: bool,
}

impl<W: fmt::Write> FmtOutput<W> {
    /// Wraps a writer.
    pub fn new(inner: W) -> Self {
        FmtOutput {
            inner,
            failed: false,
        }
    }

    /// Whether a write failed.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: fmt::Write> Output for FmtOutput<W> {
    fn write_bytes(&mut self, bytes: &[u8]) {
        // As `String::from_utf8_lossy`, without the copy it makes of text that is not
        // UTF-8.
        for chunk in bytes.utf8_chunks() {
            if self.failed {
                return;
            }
            self.failed = self.inner.write_str(chunk.valid()).is_err();
            if !chunk.invalid().is_empty() && !self.failed {
                self.failed = self.inner.write_str("\u{fffd}").is_err();
            }
        }
    }
}

/// How the transcript looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `--echo`, FORMAT.md's transcript: `$ COMMAND` before each command, and a failure
    /// as the single line `error: ERRNO` in the transcript.
    Echo,
    /// The same output without the `$ ` lines; a failure is one [`Output::diagnostic`]
    /// such as `line 7: echo: EBUSY (Device or resource busy)`.
    Plain,
}

/// What a run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Commands run.
    pub commands: usize,
    /// Commands that failed (printed an error).
    pub failed: usize,
    /// Commands that did not end as the script said: failed without a
    /// `# expect: ERRNO` comment, failed with another errno than it names, or
    /// succeeded in spite of it.
    pub unexpected: usize,
}

/// A failed command: the errno, and for the friendly form why, if the machine is not
/// the one who said so.
pub(crate) struct Fail {
    pub(crate) errno: Error,
    why: Option<String>,
}

impl From<Error> for Fail {
    fn from(errno: Error) -> Self {
        Fail { errno, why: None }
    }
}

/// The explanation is left out without memory for it: the errno is what counts.
pub(crate) fn fail(errno: Error, why: fmt::Arguments<'_>) -> Fail {
    Fail {
        errno,
        why: try_format(why).ok(),
    }
}

type Outcome<T = ()> = Result<T, Fail>;

/// A `String` that `write!` grows fallibly: a reservation that fails is a `fmt::Error`.
#[derive(Default)]
pub(crate) struct TextBuf(pub(crate) String);

impl fmt::Write for TextBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.try_reserve(s.len()).map_err(|_| fmt::Error)?;
        self.0.push_str(s);
        Ok(())
    }
}

impl TextBuf {
    /// Appends `s`, or `ENOMEM`.
    pub(crate) fn push_str(&mut self, s: &str) -> Result<(), Error> {
        fmt::Write::write_str(self, s).map_err(|_| Error::ENOMEM)
    }
}

/// `format!` that is `ENOMEM` instead of an abort. (Only the buffer can fail: the
/// values formatted here are numbers, strings and errnos.)
pub(crate) fn try_format(args: fmt::Arguments<'_>) -> Result<String, Error> {
    let mut text = TextBuf::default();
    text.write_fmt(args).map_err(|_| Error::ENOMEM)?;
    Ok(text.0)
}

/// Writes `parts` as one piece where memory allows, else one after the other (the same
/// bytes).
fn write_joined(out: &mut dyn Output, parts: &[&[u8]]) {
    let len = parts.iter().fold(0usize, |n, p| n.saturating_add(p.len()));
    let mut line: Vec<u8> = Vec::new();
    if line.try_reserve_exact(len).is_ok() {
        for part in parts {
            line.extend_from_slice(part);
        }
        out.write_bytes(&line);
    } else {
        for part in parts {
            out.write_bytes(part);
        }
    }
}

/// Writes `entry` as one line (`ls`, `releases`).
fn write_entry(out: &mut dyn Output, mut entry: String) {
    if entry.try_reserve_exact(1).is_ok() {
        entry.push('\n');
        out.write_bytes(entry.as_bytes());
    } else {
        write_joined(out, &[entry.as_bytes(), b"\n"]);
    }
}

/// A line of at most `N` bytes on the stack, cut short if longer: a diagnostic when
/// there is no memory for it.
struct StackLine<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> StackLine<N> {
    fn new() -> Self {
        StackLine {
            bytes: [0; N],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..self.len).unwrap_or_default();
        match core::str::from_utf8(bytes) {
            Ok(s) => s,
            // Cut inside a character: up to it.
            Err(e) => core::str::from_utf8(bytes.get(..e.valid_up_to()).unwrap_or_default())
                .unwrap_or_default(),
        }
    }
}

impl<const N: usize> fmt::Write for StackLine<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = N.saturating_sub(self.len);
        let take = s.len().min(room);
        if let (Some(dst), Some(src)) = (
            self.bytes.get_mut(self.len..self.len + take),
            s.as_bytes().get(..take),
        ) {
            dst.copy_from_slice(src);
            self.len += take;
        }
        Ok(())
    }
}

/// A word's text if it has no variable in it (borrowed when it is one piece); `ENOMEM`
/// without memory to join its pieces.
fn literal<'a>(word: Word<'a>) -> Result<Option<Cow<'a, str>>, Error> {
    let mut pieces = word.pieces();
    let first = match pieces.next() {
        None => return Ok(Some(Cow::Borrowed(""))),
        Some(Piece::Var(_)) => return Ok(None),
        Some(Piece::Lit(s)) => s,
    };
    let mut joined: Option<TextBuf> = None;
    for piece in pieces {
        let Piece::Lit(s) = piece else {
            return Ok(None);
        };
        let text = match &mut joined {
            Some(text) => text,
            None => {
                let mut text = TextBuf::default();
                text.push_str(first)?;
                joined.insert(text)
            }
        };
        text.push_str(s)?;
    }
    Ok(Some(match joined {
        Some(text) => Cow::Owned(text.0),
        None => Cow::Borrowed(first),
    }))
}

/// The diagnostic line of a command that failed or had an expectation:
/// `line 7: rmdir: EBUSY (Device or resource busy)`, with the interpreter's explanation
/// after a colon where it has one, and an [`ExpectationNote`] after it; `succeeded` in
/// place of the errno for a command that was expected to fail and did not.
fn diagnose(out: &mut dyn Output, line: &Line, error: Option<Error>, why: Option<&str>) {
    let (number, name) = (line.number, line.op.name());
    let note = ExpectationNote {
        error,
        expected: line.expect,
    };
    let text = match (error, why) {
        (Some(errno), Some(why)) => {
            try_format(format_args!("line {number}: {name}: {errno}: {why}{note}"))
        }
        (Some(errno), None) => try_format(format_args!("line {number}: {name}: {errno}{note}")),
        (None, _) => try_format(format_args!("line {number}: {name}: succeeded{note}")),
    };
    match text {
        Ok(text) => out.diagnostic(&text),
        Err(_) => {
            // No memory for the line: the same without the explanation, which never
            // needs more than this.
            let mut short = StackLine::<160>::new();
            let _ = match error {
                Some(errno) => write!(short, "line {number}: {name}: {errno}{note}"),
                None => write!(short, "line {number}: {name}: succeeded{note}"),
            };
            out.diagnostic(short.as_str());
        }
    }
}

/// The variables of a script: a hash table whose buckets are vectors sorted by name, so
/// a lookup costs about the same with 20 variables or 20,000 (the shell sets one per
/// `spawn` the user types), names made to collide (the hash is not secret) still cost
/// no more than a binary search, and every insert can be reserved first (an ordered
/// map cannot say it would need a node). Adding a name to a bucket of k names moves k
/// entries: only names made to collide ever make k large.
#[derive(Debug, Default)]
struct Vars {
    buckets: Vec<Vec<(String, Pid)>>,
    len: usize,
}

/// Where [`Vars::prepare`] made room for a name: [`Vars::commit`] then cannot fail.
#[derive(Debug)]
struct VarSlot {
    bucket: usize,
    /// The name's index in its bucket, or where it goes with its text.
    at: Result<usize, (usize, String)>,
}

impl Vars {
    /// FNV-1a: cheap, and good enough for names a script chooses.
    fn hash(name: &str) -> usize {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        h as usize
    }

    fn bucket_of(&self, name: &str) -> Option<usize> {
        let mask = self.buckets.len().checked_sub(1)?;
        Some(Self::hash(name) & mask)
    }

    fn get(&self, name: &str) -> Option<Pid> {
        let bucket = self.buckets.get(self.bucket_of(name)?)?;
        let i = bucket
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()?;
        bucket.get(i).map(|&(_, pid)| pid)
    }

    /// Makes room for setting `name`: the table's growth, the bucket's entry and the
    /// name's copy. The table changes only by growing (which nothing can observe).
    fn prepare(&mut self, name: &str) -> Result<VarSlot, Error> {
        if self.len >= self.buckets.len() {
            // Without memory for more buckets, fuller ones do.
            let _ = self.grow();
        }
        let index = self.bucket_of(name).ok_or(Error::ENOMEM)?;
        let bucket = self.buckets.get_mut(index).ok_or(Error::ENOMEM)?;
        let at = match bucket.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
            Ok(i) => Ok(i),
            Err(i) => {
                let mut text = TextBuf::default();
                text.push_str(name)?;
                bucket.try_reserve(1)?;
                Err((i, text.0))
            }
        };
        Ok(VarSlot { bucket: index, at })
    }

    /// Sets the variable [`Vars::prepare`] made room for (nothing changed in between).
    fn commit(&mut self, slot: VarSlot, pid: Pid) {
        let Some(bucket) = self.buckets.get_mut(slot.bucket) else {
            return;
        };
        match slot.at {
            Ok(i) => {
                if let Some(entry) = bucket.get_mut(i) {
                    entry.1 = pid;
                }
            }
            Err((i, name)) => {
                bucket.insert(i.min(bucket.len()), (name, pid));
                self.len = self.len.saturating_add(1);
            }
        }
    }

    /// Every (pid, variable name) pair, sorted by pid then name: the names `tree`
    /// shows next to tasks.
    fn by_pid(&self) -> Result<Vec<(Pid, &str)>, Error> {
        let mut pairs = Vec::new();
        pairs.try_reserve_exact(self.len)?;
        for (name, pid) in self.buckets.iter().flatten() {
            pairs.push((*pid, name.as_str()));
        }
        pairs.sort_unstable();
        Ok(pairs)
    }

    #[cfg(test)]
    fn set(&mut self, name: &str, pid: Pid) -> Result<(), Error> {
        let slot = self.prepare(name)?;
        self.commit(slot, pid);
        Ok(())
    }

    /// Doubles the buckets (a power of two, at least 8); `ENOMEM` leaves the table as it
    /// was. Every allocation comes before the first entry moves.
    fn grow(&mut self) -> Result<(), Error> {
        let want = self.buckets.len().saturating_mul(2).max(8);
        let mask = want - 1;
        let mut sizes: Vec<usize> = Vec::new();
        sizes.try_reserve_exact(want)?;
        sizes.resize(want, 0);
        for (name, _) in self.buckets.iter().flatten() {
            if let Some(n) = sizes.get_mut(Self::hash(name) & mask) {
                *n += 1;
            }
        }
        let mut buckets: Vec<Vec<(String, Pid)>> = Vec::new();
        buckets.try_reserve_exact(want)?;
        for &size in &sizes {
            let mut bucket = Vec::new();
            bucket.try_reserve_exact(size)?;
            buckets.push(bucket);
        }
        for old in core::mem::take(&mut self.buckets) {
            for (name, pid) in old {
                if let Some(b) = buckets.get_mut(Self::hash(&name) & mask) {
                    b.push((name, pid));
                }
            }
        }
        // A new bucket takes the names of one old bucket, in their order; sorting
        // keeps that true whatever the old table looked like.
        for bucket in &mut buckets {
            bucket.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
        self.buckets = buckets;
        Ok(())
    }
}

/// The state a script carries from one command to the next: its variables, whether a
/// command has run yet (`machine` must be the first), and what has run.
///
/// A [`Session`] runs lines as they come, so a host can stream a script of any length
/// (`gpc run -` reading a pipe, the shell reading a terminal) in memory that does not
/// grow with it: only the variables stay, one entry per name.
#[derive(Debug)]
pub struct Session {
    mode: Mode,
    vars: Vars,
    summary: RunSummary,
    /// Lines read so far (the number of the last one), blank ones included.
    lines_read: usize,
    /// The working directory `cd` set: an absolute path without `.`, `..` or empty
    /// components (`/` at first).
    cwd: String,
    /// The host is a person at a shell: see [`Session::set_interactive`].
    interactive: bool,
    /// `tree` draws with ASCII instead of box-drawing characters.
    ascii: bool,
}

impl Session {
    /// A session with no variables set, before its first line.
    pub fn new(mode: Mode) -> Self {
        Session {
            mode,
            vars: Vars::default(),
            summary: RunSummary::default(),
            lines_read: 0,
            cwd: String::new(),
            interactive: false,
            ascii: false,
        }
    }

    /// Marks the session as typed by a person (`gpc shell` without `--echo`): `cat` of
    /// several files then prints `PATH:LINE` for each non-empty line, as `grep . FILES`
    /// does, instead of concatenating them as cat(1) (what a script gets, so that it
    /// reads as on Linux).
    pub fn set_interactive(&mut self, interactive: bool) {
        self.interactive = interactive;
    }

    /// Makes `tree` draw with ASCII (`|-`, `` `- ``) instead of box-drawing characters,
    /// for a terminal that is not UTF-8.
    pub fn set_ascii(&mut self, ascii: bool) {
        self.ascii = ascii;
    }

    /// The working directory (`cd`, `pwd`).
    pub fn cwd(&self) -> &str {
        if self.cwd.is_empty() {
            "/"
        } else {
            &self.cwd
        }
    }

    /// Parses the next line of the script (`raw`, without its `\n`) and runs it if it
    /// is a command. A line that cannot be parsed runs nothing and is the error; the
    /// session can go on with the next line (the shell) or stop (`gpc run`).
    pub fn run_line<M: Machine + ?Sized>(
        &mut self,
        raw: &[u8],
        machine: &mut M,
        out: &mut dyn Output,
    ) -> Result<(), ParseError> {
        self.lines_read = self.lines_read.saturating_add(1);
        if let Some(line) = parse_line(self.lines_read, raw)? {
            self.run_parsed(&line, machine, out);
        }
        Ok(())
    }

    /// Counts a line the host could not read whole because it is longer than
    /// [`MAX_LINE`](crate::MAX_LINE), and gives the parse error it is.
    pub fn line_too_long(&mut self) -> ParseError {
        self.lines_read = self.lines_read.saturating_add(1);
        ParseError {
            line: self.lines_read,
            kind: ParseErrorKind::LineTooLong,
        }
    }

    /// What has run so far.
    pub fn summary(&self) -> RunSummary {
        self.summary
    }

    /// The value of a script variable (a task id), if set.
    pub fn variable(&self, name: &str) -> Option<Pid> {
        self.vars.get(name)
    }

    /// Runs one parsed command and writes what it prints.
    pub(crate) fn run_parsed<M: Machine + ?Sized>(
        &mut self,
        line: &Line,
        machine: &mut M,
        out: &mut dyn Output,
    ) {
        let first = self.summary.commands == 0;
        self.summary.commands = self.summary.commands.saturating_add(1);
        out.command_start(line.number, &line.text);
        machine.begin_command();
        if self.mode == Mode::Echo {
            write_joined(out, &[b"$ ", line.text.as_bytes(), b"\n"]);
        }
        let result = self.run_line_as(line, first, machine, out);
        let error = result.as_ref().err().map(|f| f.errno);
        let why = result.as_ref().err().and_then(|f| f.why.as_deref());
        if error.is_some() {
            self.summary.failed = self.summary.failed.saturating_add(1);
        }
        if error != line.expect {
            self.summary.unexpected = self.summary.unexpected.saturating_add(1);
        }
        if let (Some(errno), Mode::Echo) = (error, self.mode) {
            write_joined(out, &[b"error: ", errno.name().as_bytes(), b"\n"]);
        }
        // Plain mode says how every failure and every missed expectation went; the echo
        // transcript stays FORMAT.md's, so there only a missed expectation is a
        // diagnostic (which a std host sends to stderr).
        let missed = line.expect.is_some() && error != line.expect;
        if self.mode == Mode::Plain && (error.is_some() || line.expect.is_some()) || missed {
            diagnose(out, line, error, why);
        }
        out.command_end(&CommandEnd {
            line: line.number,
            name: line.op.name(),
            error,
            expected: line.expect,
            why,
        });
    }

    fn run_line_as<M: Machine + ?Sized>(
        &mut self,
        line: &Line,
        first: bool,
        machine: &mut M,
        out: &mut dyn Output,
    ) -> Outcome {
        let mut words = line.words();
        let mut user = None;
        for _ in 0..line.users {
            user = Some(self.number_u32(operand(&mut words)?)?);
        }
        let task = if line.in_task {
            Some(self.task(operand(&mut words)?)?)
        } else {
            None
        };
        if let Some(uid) = user {
            machine.set_user(Some(uid));
        }
        let result = match task {
            None => self.run_command(line.op, words, first, machine, out),
            Some(task) => match machine.set_task(Some(task)) {
                Ok(()) => {
                    let result = self.run_command(line.op, words, first, machine, out);
                    // Cannot fail for None.
                    let _ = machine.set_task(None);
                    result
                }
                Err(e) => Err(Fail::from(e)),
            },
        };
        if user.is_some() {
            machine.set_user(None);
        }
        result
    }

    fn run_command<M: Machine + ?Sized>(
        &mut self,
        op: Op,
        mut words: Words<'_>,
        first: bool,
        machine: &mut M,
        out: &mut dyn Output,
    ) -> Outcome {
        let w = &mut words;
        match op {
            Op::Machine { options } => {
                if !first {
                    return Err(fail(
                        Error::EINVAL,
                        format_args!("machine is allowed only as the first command"),
                    ));
                }
                // The values are in MACHINE_OPTIONS's order, each only where given.
                let given = |name: &str| {
                    MACHINE_OPTIONS
                        .iter()
                        .position(|o| *o == name)
                        .is_some_and(|bit| options & 1u16.checked_shl(bit as u32).unwrap_or(0) != 0)
                };
                let mut cfg = MachineConfig::default();
                if given("cpus=") {
                    cfg.cpus = Some(self.number_u32(operand(w)?)?);
                }
                if given("mems=") {
                    cfg.mems = Some(self.number_u32(operand(w)?)?);
                }
                if given("mem=") {
                    cfg.mem = Some(parse_bytes(&self.expand(operand(w)?)?)?);
                }
                if given("swap=") {
                    cfg.swap = Some(parse_bytes(&self.expand(operand(w)?)?)?);
                }
                let v2 = if given("v2=") {
                    Some(self.expand(operand(w)?)?)
                } else {
                    None
                };
                cfg.v2 = v2.as_deref();
                let hugepages = if given("hugepages=") {
                    Some(self.expand(operand(w)?)?)
                } else {
                    None
                };
                cfg.hugepages = hugepages.as_deref();
                let netdevs = if given("netdevs=") {
                    Some(self.expand(operand(w)?)?)
                } else {
                    None
                };
                cfg.netdevs = netdevs.as_deref();
                let rdma = if given("rdma=") {
                    Some(self.expand(operand(w)?)?)
                } else {
                    None
                };
                cfg.rdma = rdma.as_deref();
                let misc = if given("misc=") {
                    Some(self.expand(operand(w)?)?)
                } else {
                    None
                };
                cfg.misc = misc.as_deref();
                let disks = if given("disks=") {
                    Some(self.expand(operand(w)?)?)
                } else {
                    None
                };
                cfg.disks = disks.as_deref();
                machine.configure(&cfg)?;
            }
            Op::Mount => {
                let fstype = self.expand(operand(w)?)?;
                let source = self.expand(operand(w)?)?;
                let dir = self.single_path(machine, operand(w)?)?;
                let mut joined = TextBuf::default();
                for (i, o) in w.enumerate() {
                    if i > 0 {
                        joined.push_str(",")?;
                    }
                    joined.push_str(&self.expand(o)?)?;
                }
                machine
                    .mount(&fstype, &joined.0, &source, &dir)
                    .map_err(|e| match e {
                        // The one limit of gpc that Linux does not have: say which.
                        Error::ENOSPC => fail(
                            e,
                            format_args!(
                                "gpc has at most {} hierarchies mounted at once",
                                gpc_core::MAX_HIERARCHIES
                            ),
                        ),
                        e => Fail::from(e),
                    })?;
            }
            Op::Umount => {
                let dir = self.single_path(machine, operand(w)?)?;
                machine.umount(&dir)?
            }
            Op::Mkdir { parents } => {
                let path = self.single_path(machine, operand(w)?)?;
                machine.mkdir(&path, parents)?
            }
            Op::Rmdir => {
                let path = self.single_path(machine, operand(w)?)?;
                machine.rmdir(&path)?
            }
            Op::Echo { newline, redirect } => {
                let target = if redirect { Some(operand(w)?) } else { None };
                let mut data = TextBuf::default();
                for (i, word) in w.enumerate() {
                    if i > 0 {
                        data.push_str(" ")?;
                    }
                    data.push_str(&self.expand(word)?)?;
                }
                if newline {
                    data.push_str("\n")?;
                }
                match target {
                    Some(path) => {
                        let path = self.single_path(machine, path)?;
                        machine.write(&path, data.0.as_bytes())?
                    }
                    None => out.write_bytes(data.0.as_bytes()),
                }
            }
            Op::Cat => self.cat(w, machine, out)?,
            Op::Cd => {
                // `cd` alone goes to `/` (a script has no home directory).
                let target = match w.next() {
                    Some(word) => self.single_path(machine, word)?,
                    None => try_format(format_args!("/"))?,
                };
                self.change_dir(&target, machine)?;
            }
            Op::Pwd => write_joined(out, &[self.cwd().as_bytes(), b"\n"]),
            Op::Tree => {
                let path = match w.next() {
                    Some(word) => Some(self.single_path(machine, word)?),
                    None => None,
                };
                self.tree(path, machine, out)?;
            }
            Op::Top { delay, iterations } => {
                let delay = if delay {
                    parse_u64(&self.expand(operand(w)?)?)?
                } else {
                    crate::views::TOP_DEFAULT_DELAY_MS
                };
                let iterations = if iterations {
                    parse_u64(&self.expand(operand(w)?)?)?
                } else {
                    1
                };
                self.top(delay, iterations, machine, out)?;
            }
            Op::Ls => {
                let path = self.single_path(machine, operand(w)?)?;
                let mut entries = machine.list(&path)?;
                entries.sort_unstable();
                for entry in entries {
                    write_entry(out, entry);
                }
            }
            Op::Spawn => {
                let var = self.prepare_var(operand(w)?)?;
                let pid = machine.spawn()?;
                self.set_var(var, pid, out);
            }
            Op::Fork | Op::Thread => {
                let parent = self.task(operand(w)?)?;
                let var = self.prepare_var(operand(w)?)?;
                let pid = if op == Op::Fork {
                    machine.fork(parent)?
                } else {
                    machine.thread(parent)?
                };
                self.set_var(var, pid, out);
            }
            Op::Exit => machine.exit(self.task(operand(w)?)?)?,
            Op::Chown => {
                let owner = self.expand(operand(w)?)?;
                let (uid, gid) = match owner.split_once(':') {
                    None => (parse_u32(&owner)?, None),
                    Some((uid, "")) => {
                        let uid = parse_u32(uid)?;
                        (uid, Some(uid))
                    }
                    Some((uid, gid)) => (parse_u32(uid)?, Some(parse_u32(gid)?)),
                };
                let path = self.single_path(machine, operand(w)?)?;
                machine.chown(uid, gid, &path)?;
            }
            Op::Releases => {
                for path in machine.take_releases()? {
                    write_entry(out, path);
                }
            }
            Op::Watch => {
                let path = self.single_path(machine, operand(w)?)?;
                machine.watch(&path)?
            }
            Op::Events => {
                for path in machine.take_events()? {
                    write_entry(out, path);
                }
            }
            Op::Run => machine
                .run(parse_u64(&self.expand(operand(w)?)?)?)
                .map_err(|e| match e {
                    Error::E2BIG => fail(
                        e,
                        format_args!("the run needs more work than one command may do; split it"),
                    ),
                    Error::EOVERFLOW => {
                        fail(e, format_args!("the simulated clock cannot go that far"))
                    }
                    e => Fail::from(e),
                })?,
            Op::SetBusy { busy } => machine.set_busy(self.task(operand(w)?)?, busy)?,
            Op::Memory { charge } => {
                let task = self.task(operand(w)?)?;
                let bytes = parse_bytes(&self.expand(operand(w)?)?)?;
                machine.memory(task, bytes, charge)?;
            }
            Op::FileIo { write } => {
                let task = self.task(operand(w)?)?;
                let file = self.expand(operand(w)?)?;
                let bytes = parse_bytes(&self.expand(operand(w)?)?)?;
                if write {
                    machine.write_file(task, &file, bytes)?;
                } else {
                    machine.read_file(task, &file, bytes)?;
                }
            }
            Op::BlockIo => {
                let task = self.task(operand(w)?)?;
                let device = self.expand(operand(w)?)?;
                let Some((major, minor)) = device.split_once(':') else {
                    return Err(fail(
                        Error::EINVAL,
                        format_args!("{device:?} is not MAJ:MIN"),
                    ));
                };
                let (major, minor) = (parse_u32(major)?, parse_u32(minor)?);
                let write = match self.expand(operand(w)?)?.as_str() {
                    "read" => false,
                    "write" => true,
                    other => {
                        return Err(fail(
                            Error::EINVAL,
                            format_args!("{other:?} is neither read nor write"),
                        ))
                    }
                };
                let bytes = parse_bytes(&self.expand(operand(w)?)?)?;
                machine.block_io(task, major, minor, write, bytes)?;
            }
            Op::Open => {
                let task = self.task(operand(w)?)?;
                let dev_type = match self.expand(operand(w)?)?.as_str() {
                    "c" => b'c',
                    "b" => b'b',
                    other => {
                        return Err(fail(
                            Error::EINVAL,
                            format_args!("device type {other:?} is neither c nor b"),
                        ))
                    }
                };
                let device = self.expand(operand(w)?)?;
                let Some((major, minor)) = device.split_once(':') else {
                    return Err(fail(
                        Error::EINVAL,
                        format_args!("{device:?} is not MAJOR:MINOR"),
                    ));
                };
                let (major, minor) = (parse_u32(major)?, parse_u32(minor)?);
                let access = parse_access(&self.expand(operand(w)?)?)?;
                machine.open_device(task, dev_type, major, minor, access)?;
            }
            Op::Host(host) => {
                let sub = self.expand(operand(w)?)?;
                let text = match host {
                    HostOp::Rdma | HostOp::Misc => {
                        let charge = match sub.as_str() {
                            "charge" => true,
                            "uncharge" => false,
                            other => {
                                return Err(fail(
                                    Error::EINVAL,
                                    format_args!("{other:?} is neither charge nor uncharge"),
                                ))
                            }
                        };
                        let task = self.task(operand(w)?)?;
                        if host == HostOp::Rdma {
                            let dev = self.expand(operand(w)?)?;
                            let res = self.expand(operand(w)?)?;
                            let n = match w.next() {
                                Some(word) => parse_u64(&self.expand(word)?)?,
                                None => 1,
                            };
                            machine.host_command(&HostCommand::Rdma {
                                task,
                                dev: &dev,
                                res: &res,
                                n,
                                charge,
                            })?
                        } else {
                            let res = self.expand(operand(w)?)?;
                            let n = parse_u64(&self.expand(operand(w)?)?)?;
                            machine.host_command(&HostCommand::Misc {
                                task,
                                res: &res,
                                n,
                                charge,
                            })?
                        }
                    }
                    HostOp::Devprog => {
                        let path = self.single_path(machine, operand(w)?)?;
                        match sub.as_str() {
                            "attach" => {
                                let mut words = Vec::new();
                                for word in w.by_ref() {
                                    let text = self.expand(word)?;
                                    words
                                        .try_reserve(1)
                                        .map_err(|_| Fail::from(Error::ENOMEM))?;
                                    words.push(text);
                                }
                                let flags = match words.first().map(String::as_str) {
                                    Some("multi") => 2,
                                    Some("override") => 1,
                                    _ => 0,
                                };
                                let skip = usize::from(flags != 0);
                                let mut rules: Vec<&str> = Vec::new();
                                rules
                                    .try_reserve(words.len())
                                    .map_err(|_| Fail::from(Error::ENOMEM))?;
                                rules.extend(words.iter().skip(skip).map(String::as_str));
                                machine.host_command(&HostCommand::DevprogAttach {
                                    path: &path,
                                    flags,
                                    rules: &rules,
                                })?
                            }
                            "detach" => {
                                let id = match w.next() {
                                    Some(word) => Some(self.number_u32(word)?),
                                    None => None,
                                };
                                machine
                                    .host_command(&HostCommand::DevprogDetach { path: &path, id })?
                            }
                            "list" => {
                                machine.host_command(&HostCommand::DevprogList { path: &path })?
                            }
                            other => {
                                return Err(fail(
                                    Error::EINVAL,
                                    format_args!("{other:?} is not attach, detach or list"),
                                ))
                            }
                        }
                    }
                };
                out.write_bytes(&text);
            }
            Op::Unshare => machine.unshare(self.task(operand(w)?)?)?,
            Op::UnshareCgroup => machine.unshare_cgroup(self.task(operand(w)?)?)?,
            Op::Clone => {
                let parent = self.task(operand(w)?)?;
                let var = self.prepare_var(operand(w)?)?;
                let dir = self.single_path(machine, operand(w)?)?;
                let pid = machine.clone_into(parent, &dir)?;
                self.set_var(var, pid, out);
            }
            Op::Huge { alloc } => {
                let task = self.task(operand(w)?)?;
                let size = self.expand(operand(w)?)?;
                let count = parse_u64(&self.expand(operand(w)?)?)?;
                machine.huge_pages(task, &size, count, alloc)?;
            }
            Op::Netprio => {
                let text = machine.netprio(self.task(operand(w)?)?)?;
                out.write_bytes(&text);
            }
            Op::Perf => {
                let path = self.single_path(machine, operand(w)?)?;
                let text = machine.perf(&path)?;
                out.write_bytes(&text);
            }
            Op::Ps => {
                let text = machine.ps()?;
                match self.mode {
                    // FORMAT.md's columns exactly, as the recorded transcripts have them.
                    Mode::Echo => out.write_bytes(&text),
                    Mode::Plain => self.ps_with_groups(&text, machine, out)?,
                }
            }
            Op::MountTable => {
                let mut text = TextBuf::default();
                cgtools::mount_table(machine, &mut text)?;
                out.write_bytes(text.0.as_bytes());
            }
            Op::Sample => {
                let every = parse_u64(&self.expand(operand(w)?)?)?;
                let total = parse_u64(&self.expand(operand(w)?)?)?;
                // Relative files are the working directory's, as for `cat`.
                let mut files = self.expand_all(w)?;
                for f in &mut files {
                    *f = self.absolute(f)?;
                }
                let refs = str_refs(&files)?;
                cgtools::sample(every, total, &refs, machine, out)?;
            }
            Op::CgTool(Tool::Exec) => {
                let mut all: Vec<Word<'_>> = Vec::new();
                for word in w.clone() {
                    all.try_reserve(1).map_err(|_| Error::ENOMEM)?;
                    all.push(word);
                }
                let args = self.expand_all(w)?;
                let refs = str_refs(&args)?;
                let (_, files) = cgtools::exec_targets(&refs, machine)?;
                let var = self.prepare_var(*all.last().ok_or(Error::EINVAL)?)?;
                let mut pid_text = String::new();
                pid_text.try_reserve_exact(10).map_err(|_| Error::ENOMEM)?;
                let pid = machine.spawn()?;
                // Within the reserved capacity: a u32 has at most 10 digits.
                let _ = write!(pid_text, "{pid}");
                for file in &files {
                    if let Err(e) = machine.write(file, pid_text.as_bytes()) {
                        // A task that did not reach every group is not left behind.
                        let _ = machine.exit(pid);
                        return Err(e.into());
                    }
                }
                self.set_var(var, pid, out);
            }
            Op::CgTool(tool) => {
                let args = self.expand_all(w)?;
                let refs = str_refs(&args)?;
                let mut text = TextBuf::default();
                let this = &*self;
                let task = |s: &str| -> Outcome<Pid> {
                    if is_name(s) {
                        this.lookup(s)
                    } else {
                        parse_u32(s)
                    }
                };
                cgtools::run(tool, &refs, &task, machine, &mut text)?;
                out.write_bytes(text.0.as_bytes());
            }
        }
        Ok(())
    }

    /// Every remaining word, expanded.
    fn expand_all(&self, words: &mut Words<'_>) -> Outcome<Vec<String>> {
        let mut all = Vec::new();
        for word in words {
            let text = self.expand(word)?;
            all.try_reserve(1).map_err(|_| Error::ENOMEM)?;
            all.push(text);
        }
        Ok(all)
    }

    /// The paths one operand stands for, as written (a relative one stays relative):
    /// the matches of its pattern if it has unquoted `*`, `?` or `[`, else (or when
    /// nothing matches) the word itself. See [`crate::glob`].
    fn operand_paths<M: Machine + ?Sized>(
        &self,
        machine: &mut M,
        word: Word<'_>,
        paths: &mut Vec<String>,
    ) -> Outcome {
        let text = self.expand(word)?;
        if let Some(pattern) = self.pattern(word)? {
            let mut dirs = MachineDirs {
                machine,
                session: self,
            };
            let matches = crate::glob::expand(&mut dirs, &pattern).map_err(|e| match e {
                Error::E2BIG => fail(
                    e,
                    format_args!(
                        "{text} looks at more than {} entries or matches more than {} bytes",
                        crate::glob::MAX_GLOB_ENTRIES,
                        crate::glob::MAX_GLOB_BYTES
                    ),
                ),
                e => Fail::from(e),
            })?;
            if !matches.is_empty() {
                paths
                    .try_reserve(matches.len())
                    .map_err(|_| Error::ENOMEM)?;
                paths.extend(matches);
                return Ok(());
            }
        }
        paths.try_reserve(1).map_err(|_| Error::ENOMEM)?;
        paths.push(text);
        Ok(())
    }

    /// The word as a glob pattern (quoted specials `\`-escaped), if it has an unquoted
    /// special character.
    fn pattern(&self, word: Word<'_>) -> Outcome<Option<String>> {
        let special = |c: char| matches!(c, '*' | '?' | '[');
        let active = word
            .pieces_quoted()
            .any(|(p, quoted)| !quoted && matches!(p, Piece::Lit(s) if s.contains(special)));
        if !active {
            return Ok(None);
        }
        let mut pattern = TextBuf::default();
        for (piece, quoted) in word.pieces_quoted() {
            match piece {
                Piece::Lit(s) if !quoted => pattern.push_str(s)?,
                Piece::Lit(s) => {
                    for c in s.chars() {
                        if special(c) || c == '\\' || c == ']' {
                            pattern.push_str("\\")?;
                        }
                        let mut buf = [0u8; 4];
                        pattern.push_str(c.encode_utf8(&mut buf))?;
                    }
                }
                Piece::Var(name) => {
                    let pid = self.lookup(name)?;
                    write!(pattern, "{pid}").map_err(|_| Error::ENOMEM)?;
                }
            }
        }
        Ok(Some(pattern.0))
    }

    /// `path` as the machine takes it: a relative path is joined to the working
    /// directory (textually: the machine resolves `.` and `..` with its mount rules, as
    /// Linux's path walk from the working directory does). In `/`, paths go as they are
    /// (the machine starts relative paths there itself).
    fn absolute(&self, path: &str) -> Result<String, Error> {
        let mut full = TextBuf::default();
        if path.starts_with('/') || path.is_empty() || self.cwd.is_empty() {
            full.push_str(path)?;
        } else {
            full.push_str(&self.cwd)?;
            full.push_str("/")?;
            full.push_str(path)?;
        }
        Ok(full.0)
    }

    /// The one path an operand of a one-path command names, made absolute: a pattern
    /// that matches several paths is `EINVAL` (`sh` would hand them all to a command
    /// that takes one).
    fn single_path<M: Machine + ?Sized>(&self, machine: &mut M, word: Word<'_>) -> Outcome<String> {
        let mut paths = Vec::new();
        self.operand_paths(machine, word, &mut paths)?;
        match paths.as_slice() {
            [one] => Ok(self.absolute(one)?),
            many => Err(fail(
                Error::EINVAL,
                format_args!("{word} matches {} paths; give one", many.len()),
            )),
        }
    }

    /// `cd`: the machine checks the directory (chdir(2)'s errors), then the working
    /// directory becomes its path without `.` and `..` (there are no symbolic links, so
    /// that is the directory the machine found).
    fn change_dir<M: Machine + ?Sized>(&mut self, target: &str, machine: &mut M) -> Outcome {
        machine.chdir(target)?;
        let mut parts: Vec<&str> = Vec::new();
        for comp in target.split('/') {
            match comp {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                name => {
                    parts.try_reserve(1).map_err(|_| Error::ENOMEM)?;
                    parts.push(name);
                }
            }
        }
        let mut cwd = TextBuf::default();
        for part in &parts {
            cwd.push_str("/")?;
            cwd.push_str(part)?;
        }
        // `/` is kept as the empty string.
        self.cwd = cwd.0;
        Ok(())
    }

    /// `cat PATH...`: every operand expanded, then each file in turn. A file that cannot
    /// be read is skipped and the command fails with the first such errno after the
    /// others printed, as cat(1) goes on and exits 1. In a script the contents are
    /// concatenated (cat(1)); in an interactive session several files print as
    /// `grep . FILES` does: `PATH:LINE` for each non-empty line.
    fn cat<M: Machine + ?Sized>(
        &self,
        words: &mut Words<'_>,
        machine: &mut M,
        out: &mut dyn Output,
    ) -> Outcome {
        let mut paths = Vec::new();
        for word in words {
            self.operand_paths(machine, word, &mut paths)?;
        }
        let labelled = self.interactive && paths.len() > 1;
        // Everything is read before anything is printed: `ENOMEM` prints only itself.
        let mut text: Vec<u8> = Vec::new();
        let mut first_error: Option<Fail> = None;
        for path in &paths {
            let contents = match machine.read(&self.absolute(path)?) {
                Ok(c) => c,
                Err(Error::ENOMEM) => return Err(Fail::from(Error::ENOMEM)),
                Err(e) => {
                    if first_error.is_none() {
                        first_error = Some(fail(e, format_args!("{path}")));
                    }
                    continue;
                }
            };
            if !labelled {
                if paths.len() == 1 {
                    // The common case: no copy.
                    text = contents;
                    break;
                }
                text.try_reserve(contents.len())
                    .map_err(|_| Error::ENOMEM)?;
                text.extend_from_slice(&contents);
                continue;
            }
            for line in contents.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let len = path.len().saturating_add(line.len()).saturating_add(2);
                text.try_reserve(len).map_err(|_| Error::ENOMEM)?;
                text.extend_from_slice(path.as_bytes());
                text.push(b':');
                text.extend_from_slice(line);
                text.push(b'\n');
            }
        }
        out.write_bytes(&text);
        match first_error {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }

    /// `ps` of plain mode: a header, and after the machine's columns each task's groups
    /// (`/proc/PID/cgroup` joined with `,`, as procps' `cgroup` column; `-` for none).
    fn ps_with_groups<M: Machine + ?Sized>(
        &self,
        text: &[u8],
        machine: &mut M,
        out: &mut dyn Output,
    ) -> Outcome {
        let mut table: Vec<u8> = Vec::new();
        let header: &[u8] = b"PID TGID UID STATE CPU_MS MEM RSS SWAP CGROUP\n";
        table.try_reserve(header.len()).map_err(|_| Error::ENOMEM)?;
        table.extend_from_slice(header);
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let pid = line.split(|&b| b == b' ').next().unwrap_or_default();
            let pid = core::str::from_utf8(pid).unwrap_or("");
            let path = try_format(format_args!("/proc/{pid}/cgroup"))?;
            let groups = match machine.read(&path) {
                Ok(g) => g,
                Err(Error::ENOMEM) => return Err(Fail::from(Error::ENOMEM)),
                // Gone meanwhile, or no /proc: no groups to show.
                Err(_) => Vec::new(),
            };
            let len = line.len().saturating_add(groups.len()).saturating_add(3);
            table.try_reserve(len).map_err(|_| Error::ENOMEM)?;
            table.extend_from_slice(line);
            table.push(b' ');
            let mut any = false;
            for g in groups.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                if any {
                    table.push(b',');
                }
                table.extend_from_slice(g);
                any = true;
            }
            if !any {
                table.push(b'-');
            }
            table.push(b'\n');
        }
        out.write_bytes(&table);
        Ok(())
    }

    /// `tree [PATH]`: see [`crate::views`]. Without a path, every visible cgroup mount.
    fn tree<M: Machine + ?Sized>(
        &self,
        path: Option<String>,
        machine: &mut M,
        out: &mut dyn Output,
    ) -> Outcome {
        let roots = match path {
            Some(p) => {
                let mut v = Vec::new();
                v.try_reserve_exact(1).map_err(|_| Error::ENOMEM)?;
                v.push(p);
                v
            }
            None => machine.cgroup_mounts()?,
        };
        let names = self.vars.by_pid()?;
        crate::views::tree(machine, &roots, &names, self.ascii, out)?;
        Ok(())
    }

    /// `top`: see [`crate::views`].
    fn top<M: Machine + ?Sized>(
        &self,
        delay_ms: u64,
        iterations: u64,
        machine: &mut M,
        out: &mut dyn Output,
    ) -> Outcome {
        if delay_ms == 0 {
            return Err(fail(
                Error::EINVAL,
                format_args!("the delay must be at least 1 ms"),
            ));
        }
        if iterations == 0 || iterations > crate::views::MAX_TOP_ITERATIONS {
            return Err(fail(
                Error::EINVAL,
                format_args!(
                    "iterations go from 1 to {}",
                    crate::views::MAX_TOP_ITERATIONS
                ),
            ));
        }
        crate::views::top(machine, delay_ms, iterations, out)?;
        Ok(())
    }

    /// Makes room to set the variable named by `var` (checked to be a name when parsed)
    /// and to print it, before the machine makes the task: a task made is never left
    /// without its variable for want of memory.
    fn prepare_var(&mut self, var: Word<'_>) -> Outcome<(VarSlot, String)> {
        let name = literal(var)?.unwrap_or_default();
        let mut line = String::new();
        // `NAME=` and a pid's at most 10 digits and `\n`.
        line.try_reserve_exact(name.len().saturating_add(12))
            .map_err(|_| Error::ENOMEM)?;
        line.push_str(&name);
        line.push('=');
        let slot = self.vars.prepare(&name)?;
        Ok((slot, line))
    }

    /// Sets the variable [`Session::prepare_var`] made room for and prints it.
    fn set_var(&mut self, (slot, mut line): (VarSlot, String), pid: Pid, out: &mut dyn Output) {
        self.vars.commit(slot, pid);
        // Within the reserved capacity: no allocation.
        let _ = writeln!(line, "{pid}");
        out.write_bytes(line.as_bytes());
    }

    fn lookup(&self, name: &str) -> Outcome<Pid> {
        self.variable(name)
            .ok_or_else(|| fail(Error::EINVAL, format_args!("unknown variable {name}")))
    }

    /// The word's text with its variables expanded.
    fn expand(&self, word: Word<'_>) -> Outcome<String> {
        let mut text = TextBuf::default();
        for piece in word.pieces() {
            match piece {
                Piece::Lit(s) => text.push_str(s)?,
                Piece::Var(name) => {
                    let pid = self.lookup(name)?;
                    write!(text, "{pid}").map_err(|_| Error::ENOMEM)?;
                }
            }
        }
        Ok(text.0)
    }

    fn number_u32(&self, word: Word<'_>) -> Outcome<u32> {
        parse_u32(&self.expand(word)?)
    }

    /// A task operand: a plain name is that variable; anything else (`$A`, `"${A}"`,
    /// `7`) is expanded and read as a pid.
    fn task(&self, word: Word<'_>) -> Outcome<Pid> {
        match literal(word)? {
            Some(name) if is_name(&name) => self.lookup(&name),
            _ => self.number_u32(word),
        }
    }
}

/// The machine as pathname expansion sees it: paths resolved against the session's
/// working directory.
struct MachineDirs<'a, M: Machine + ?Sized> {
    machine: &'a mut M,
    session: &'a Session,
}

impl<M: Machine + ?Sized> crate::glob::Dirs for MachineDirs<'_, M> {
    fn list(&mut self, path: &str) -> Result<Vec<String>, Error> {
        let path = self.session.absolute(path)?;
        self.machine.list(&path)
    }

    fn is_dir(&mut self, path: &str) -> Result<bool, Error> {
        let path = self.session.absolute(path)?;
        self.machine.is_dir(&path)
    }
}

/// The next operand of a parsed line; the parser put every one there, so a missing one
/// is a bug reported as `EINVAL`, not a panic.
fn operand<'a>(words: &mut Words<'a>) -> Outcome<Word<'a>> {
    words
        .next()
        .ok_or_else(|| fail(Error::EINVAL, format_args!("missing operand")))
}

/// Runs a parsed script's commands in order, one per [`Interpreter::step`].
#[derive(Debug)]
pub struct Interpreter<'s> {
    script: &'s Script,
    next: usize,
    session: Session,
}

impl<'s> Interpreter<'s> {
    /// An interpreter at the first command of `script`, with no variables set.
    pub fn new(script: &'s Script, mode: Mode) -> Self {
        Interpreter {
            script,
            next: 0,
            session: Session::new(mode),
        }
    }

    /// Runs the next command and writes what it prints. Returns `false`, doing nothing,
    /// once every command has run.
    pub fn step<M: Machine + ?Sized>(&mut self, machine: &mut M, out: &mut dyn Output) -> bool {
        let script = self.script;
        let Some(line) = script.lines.get(self.next) else {
            return false;
        };
        self.next = self.next.saturating_add(1);
        self.session.run_parsed(line, machine, out);
        true
    }

    /// Runs every command left.
    pub fn run_to_end<M: Machine + ?Sized>(&mut self, machine: &mut M, out: &mut dyn Output) {
        while self.step(machine, out) {}
    }

    /// What has run so far.
    pub fn summary(&self) -> RunSummary {
        self.session.summary()
    }

    /// Whether every command has run.
    pub fn finished(&self) -> bool {
        self.next >= self.script.lines.len()
    }

    /// The value of a script variable (a task id), if set.
    pub fn variable(&self, name: &str) -> Option<Pid> {
        self.session.variable(name)
    }
}

/// The words as `&str`s.
fn str_refs(words: &[String]) -> Outcome<Vec<&str>> {
    let mut refs = Vec::new();
    refs.try_reserve_exact(words.len())
        .map_err(|_| Error::ENOMEM)?;
    refs.extend(words.iter().map(String::as_str));
    Ok(refs)
}

/// An unsigned decimal number: `EINVAL` if it is not one, `ERANGE` if it does not fit.
fn parse_u64(text: &str) -> Outcome<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail(
            Error::EINVAL,
            format_args!("{text:?} is not a number"),
        ));
    }
    text.bytes()
        .try_fold(0u64, |n, b| {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        })
        .ok_or_else(|| fail(Error::ERANGE, format_args!("{text} is too large")))
}

fn parse_u32(text: &str) -> Outcome<u32> {
    u32::try_from(parse_u64(text)?)
        .map_err(|_| fail(Error::ERANGE, format_args!("{text} is too large")))
}

/// `BYTES`: a decimal number with an optional `K`/`M`/`G`/`T` suffix (either case, 1024).
fn parse_bytes(text: &str) -> Outcome<u64> {
    let (digits, shift) = match text.as_bytes().last() {
        Some(b'k' | b'K') => (text.get(..text.len() - 1), 10),
        Some(b'm' | b'M') => (text.get(..text.len() - 1), 20),
        Some(b'g' | b'G') => (text.get(..text.len() - 1), 30),
        Some(b't' | b'T') => (text.get(..text.len() - 1), 40),
        _ => (Some(text), 0),
    };
    let n = parse_u64(digits.unwrap_or(""))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| fail(Error::ERANGE, format_args!("{text} is too large")))
}

/// `ACCESS` of `open`: a non-empty string of `r`, `w`, `m`, as the canonical subset.
fn parse_access(text: &str) -> Outcome<&'static str> {
    let mut bits = 0usize;
    for c in text.chars() {
        bits |= match c {
            'r' => 1,
            'w' => 2,
            'm' => 4,
            _ => 0x100,
        };
    }
    const SUBSETS: [&str; 8] = ["", "r", "w", "rw", "m", "rm", "wm", "rwm"];
    match SUBSETS.get(bits) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(fail(
            Error::EINVAL,
            format_args!("access {text:?} is not a subset of rwm"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("0").ok(), Some(0));
        assert_eq!(parse_u64("0012").ok(), Some(12));
        assert_eq!(parse_u64("18446744073709551615").ok(), Some(u64::MAX));
        assert_eq!(
            parse_u64("18446744073709551616").err().map(|f| f.errno),
            Some(Error::ERANGE)
        );
        for bad in ["", "-1", "+1", " 1", "1 ", "0x10", "1e3", "١"] {
            assert_eq!(
                parse_u64(bad).err().map(|f| f.errno),
                Some(Error::EINVAL),
                "{bad}"
            );
        }
        assert_eq!(parse_u32("4294967295").ok(), Some(u32::MAX));
        assert_eq!(
            parse_u32("4294967296").err().map(|f| f.errno),
            Some(Error::ERANGE)
        );
    }

    #[test]
    fn bytes() {
        assert_eq!(parse_bytes("4096").ok(), Some(4096));
        assert_eq!(parse_bytes("4k").ok(), Some(4096));
        assert_eq!(parse_bytes("4K").ok(), Some(4096));
        assert_eq!(parse_bytes("3M").ok(), Some(3 << 20));
        assert_eq!(parse_bytes("1g").ok(), Some(1 << 30));
        assert_eq!(parse_bytes("2T").ok(), Some(2 << 40));
        assert_eq!(
            parse_bytes("16777216T").err().map(|f| f.errno),
            Some(Error::ERANGE)
        );
        for bad in ["", "K", "1KB", "1KiB", "1.5M", "-1K", "1 K", "é"] {
            assert_eq!(
                parse_bytes(bad).err().map(|f| f.errno),
                Some(Error::EINVAL),
                "{bad}"
            );
        }
    }

    #[test]
    fn access() {
        assert_eq!(parse_access("r").ok(), Some("r"));
        assert_eq!(parse_access("mwr").ok(), Some("rwm"));
        assert_eq!(parse_access("rr").ok(), Some("r"));
        assert_eq!(parse_access("wm").ok(), Some("wm"));
        for bad in ["", "x", "rwx", "R"] {
            assert_eq!(
                parse_access(bad).err().map(|f| f.errno),
                Some(Error::EINVAL),
                "{bad}"
            );
        }
    }

    #[test]
    fn variables_grow_and_keep_every_value() -> Result<(), Error> {
        let mut vars = Vars::default();
        assert_eq!(vars.get("A"), None);
        for i in 0..10_000u32 {
            vars.set(&alloc::format!("V{i}"), i)?;
        }
        vars.set("V7", 70)?;
        assert_eq!(vars.len, 10_000);
        assert_eq!(vars.buckets.len(), 16_384);
        assert_eq!(vars.get("V7"), Some(70));
        assert_eq!(vars.get("V9999"), Some(9_999));
        assert_eq!(vars.get("V10000"), None);
        assert!((0..10_000u32)
            .filter(|&i| i != 7)
            .all(|i| vars.get(&alloc::format!("V{i}")) == Some(i)));
        assert!(vars.buckets.iter().all(|b| b
            .windows(2)
            .all(|w| w.first().map(|e| &e.0) < w.get(1).map(|e| &e.0))));
        Ok(())
    }

    #[test]
    fn fmt_output_is_lossy_and_remembers_failure() {
        let mut o = FmtOutput::new(String::new());
        o.write_bytes(b"a\xffb\n");
        assert!(!o.failed());
        assert_eq!(o.into_inner(), "a\u{fffd}b\n");

        struct Broken;
        impl fmt::Write for Broken {
            fn write_str(&mut self, _: &str) -> fmt::Result {
                Err(fmt::Error)
            }
        }
        let mut o = FmtOutput::new(Broken);
        o.write_bytes(b"x");
        o.diagnostic("y");
        assert!(o.failed());
    }
}
