//! Parsing: a whole script into [`Script`], before anything runs.
//!
//! FORMAT.md gives a script that cannot be parsed exit status 2 and the line number, and
//! nothing of it runs: a walkthrough that stops half-way on a typo leaves a machine in a
//! state nobody meant to test. So the whole source is parsed up front, and the split
//! between "cannot be parsed" and "fails when it runs" is:
//!
//! * **Parse errors** ([`ParseError`]): everything about the *shape* of a line, which `sh`
//!   itself or the command's option parser would refuse before doing anything. Bytes that
//!   are not UTF-8 or a NUL byte, every lexical refusal of the lexer (unterminated quote,
//!   unsupported operator, ...), an unknown command, a command name with a variable in it,
//!   the wrong number of arguments, an unknown or repeated option, `mount` without `-t`,
//!   a `machine` word that is none of its options, a redirection without a target, more
//!   than one redirection, a redirection of anything but `echo`, and a variable to set
//!   (`spawn VAR`) that is not a plain name.
//! * **Run-time errors** (`error: ERRNO`, and the script goes on): everything about
//!   *values*, which are only known after `$VAR` expansion: an unknown variable
//!   (`EINVAL`), a number that is not one (`EINVAL`) or too large (`ERANGE`), a bad
//!   `chown` owner, device type, `MAJOR:MINOR` or access string (`EINVAL`), `machine`
//!   anywhere but as the first command (`EINVAL`), and of course every errno of the
//!   machine itself.
//!
//! Lines are split on `\n`; a `\r` right before it is dropped (a script saved with CRLF
//! line ends runs the same). Quotes never span lines. A line longer than [`MAX_LINE`]
//! bytes is a parse error (`E2BIG`), checked before anything else of it, so a host that
//! reads a line at a time never needs to hold more than that.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use gpc_core::Error;

use crate::lex::{is_blank, is_name, lex_line, Lexed, Seg, Token, Word};

/// The longest line a script may have, in bytes (without its newline): Linux's
/// `MAX_ARG_STRLEN` (32 pages, include/uapi/linux/binfmts.h), the longest single argument
/// `execve` takes before it fails with `E2BIG` (fs/exec.c `copy_strings`), so the longest
/// command line a walkthrough can hand to `sh -c`. It bounds what one line costs to read
/// and parse, in a file, a pipe or the shell; a longer line is a parse error
/// ([`ParseErrorKind::LineTooLong`]). Every write a cgroup file takes fits well within it
/// (kernfs takes at most a page in one write).
pub const MAX_LINE: usize = 32 * 4096;

/// Why a script cannot be parsed, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The line, counted from 1.
    pub line: usize,
    /// What is wrong with it.
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

/// What makes a line unparsable.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The line is longer than [`MAX_LINE`] bytes.
    LineTooLong,
    /// There was no memory to hold the parsed line.
    OutOfMemory,
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// The line has a NUL byte (no shell word, and no path, can hold one).
    NulByte,
    /// A `'` or `"` (the character) is not closed on its line.
    UnterminatedQuote(char),
    /// A backslash ends the line: line continuations are not supported.
    TrailingBackslash,
    /// A `${...}` that is not `${NAME}`.
    BadSubstitution,
    /// `$1`, `$?`, `$$`, `$'...'` and the like (the character after the `$`).
    UnsupportedParameter(char),
    /// `` `...` `` or `$(...)`.
    CommandSubstitution,
    /// A shell operator of no use here: `<`, `|`, `&`, `;`, `(` or `)`.
    UnsupportedOperator(char),
    /// A redirection with a file descriptor number, as in `echo 1>x`.
    FdRedirection,
    /// `>` or `>>` with no word after it.
    MissingRedirectTarget,
    /// More than one redirection on a line.
    MultipleRedirections,
    /// A redirection on a command other than `echo` (the command's name).
    RedirectNotEcho(&'static str),
    /// A line with a redirection but no command.
    MissingCommand,
    /// The command name is not one of the commands of FORMAT.md.
    UnknownCommand(String),
    /// The command name has a variable in it.
    CommandNameNotLiteral,
    /// Wrong arguments; the command's synopsis.
    Usage(&'static str),
    /// An option the command does not take.
    UnknownOption(String),
    /// An option given twice where that is meaningless.
    DuplicateOption(String),
    /// The variable a command sets is not a plain name (`[A-Za-z_][A-Za-z0-9_]*`).
    BadVariableName(String),
    /// A `# expect:` comment that does not name an errno (the word after `expect:`).
    BadExpectation(String),
    /// A `# expect:` comment on a line without a command: it must end the line of the
    /// command it is about.
    ExpectationWithoutCommand,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ParseErrorKind as K;
        match self {
            K::LineTooLong => write!(f, "E2BIG: line longer than {MAX_LINE} bytes"),
            K::OutOfMemory => f.write_str("ENOMEM: no memory for the line"),
            K::InvalidUtf8 => f.write_str("not valid UTF-8"),
            K::NulByte => f.write_str("NUL byte"),
            K::UnterminatedQuote(q) => write!(f, "unterminated quote {q}"),
            K::TrailingBackslash => f.write_str("backslash at the end of the line"),
            K::BadSubstitution => f.write_str("bad substitution: write ${NAME}"),
            K::UnsupportedParameter(c) => write!(f, "unsupported parameter ${c}"),
            K::CommandSubstitution => f.write_str("command substitution is not supported"),
            K::UnsupportedOperator(c) => write!(f, "unsupported shell operator {c}"),
            K::FdRedirection => {
                f.write_str("file descriptor redirection is not supported: write `echo 1 > PATH`")
            }
            K::MissingRedirectTarget => f.write_str("redirection without a file"),
            K::MultipleRedirections => f.write_str("more than one redirection"),
            K::RedirectNotEcho(c) => write!(f, "{c}: only echo can be redirected"),
            K::MissingCommand => f.write_str("redirection without a command"),
            K::UnknownCommand(c) => write!(f, "unknown command {c}"),
            K::CommandNameNotLiteral => f.write_str("the command name cannot hold a variable"),
            K::Usage(u) => write!(f, "usage: {u}"),
            K::UnknownOption(o) => write!(f, "unknown option {o}"),
            K::DuplicateOption(o) => write!(f, "option {o} given twice"),
            K::BadVariableName(v) => write!(f, "not a variable name: {v}"),
            K::BadExpectation(e) => {
                write!(
                    f,
                    "`# expect:` names no errno: {e:?} (write e.g. `# expect: EBUSY`)"
                )
            }
            K::ExpectationWithoutCommand => {
                f.write_str("`# expect:` must end the line of the command it is about")
            }
        }
    }
}

/// What a command line does. The operands are the line's words, in the order given
/// here, after the `as UID` words; options are already taken apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// The value of each option given, in [`MACHINE_OPTIONS`]'s order: bit `i` of
    /// `options` says whether `MACHINE_OPTIONS[i]` was given.
    Machine { options: u16 },
    /// `FSTYPE SOURCE DIR OPTIONS...` (each `-o` value, joined with commas when run).
    Mount,
    /// `DIR`.
    Umount,
    /// `PATH`.
    Mkdir { parents: bool },
    /// `PATH`.
    Rmdir,
    /// `[TARGET] WORDS...`: the redirection target first if `redirect`.
    Echo { newline: bool, redirect: bool },
    /// `PATH...` (at least one).
    Cat,
    /// `[PATH]`.
    Cd,
    /// Nothing.
    Pwd,
    /// `[PATH]`.
    Tree,
    /// `[DELAY] [ITERATIONS]`: the value of `-d` if `delay`, then of `-n` if
    /// `iterations`.
    Top { delay: bool, iterations: bool },
    /// `PATH`.
    Ls,
    /// `VAR`.
    Spawn,
    /// `PARENT VAR`.
    Fork,
    /// `PARENT VAR`.
    Thread,
    /// `TASK`.
    Exit,
    /// `OWNER PATH`.
    Chown,
    /// Nothing.
    Releases,
    /// `PATH`.
    Watch,
    /// Nothing.
    Events,
    /// `MS`.
    Run,
    /// `TASK`.
    SetBusy { busy: bool },
    /// `TASK BYTES`.
    Memory { charge: bool },
    /// `readfile`/`writefile`: `TASK FILE BYTES`.
    FileIo { write: bool },
    /// `io`: `TASK MAJ:MIN read|write BYTES`.
    BlockIo,
    /// `TASK TYPE MAJOR:MINOR ACCESS`.
    Open,
    /// `TASK`.
    Unshare,
    /// `unshare -C TASK`: `TASK`.
    UnshareCgroup,
    /// `PARENT VAR DIR`.
    Clone,
    /// `hugealloc`/`hugefree`: `TASK SIZE COUNT`.
    Huge { alloc: bool },
    /// `TASK`.
    Netprio,
    /// `PATH`.
    Perf,
    /// Nothing.
    Ps,
    /// `mount` without arguments: nothing.
    MountTable,
    /// A libcgroup tool: its arguments as written (options included).
    CgTool(crate::cgtools::Tool),
    /// `EVERY_MS FOR_MS FILE...`.
    Sample,
    /// `rdma`, `misc`, `devprog`: the subcommand and its operands as written.
    Host(HostOp),
}

/// The commands on host resources ([`crate::machine::HostCommand`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostOp {
    /// `rdma charge|uncharge TASK DEV RES [N]`.
    Rdma,
    /// `misc charge|uncharge TASK RES N`.
    Misc,
    /// `devprog attach|detach|list PATH ...`.
    Devprog,
}

impl Op {
    /// The command's name, as written.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Machine { .. } => "machine",
            Op::Mount => "mount",
            Op::Umount => "umount",
            Op::Mkdir { .. } => "mkdir",
            Op::Rmdir => "rmdir",
            Op::Echo { .. } => "echo",
            Op::Cat => "cat",
            Op::Cd => "cd",
            Op::Pwd => "pwd",
            Op::Tree => "tree",
            Op::Top { .. } => "top",
            Op::Ls => "ls",
            Op::Spawn => "spawn",
            Op::Fork => "fork",
            Op::Thread => "thread",
            Op::Exit => "exit",
            Op::Chown => "chown",
            Op::Releases => "releases",
            Op::Watch => "watch",
            Op::Events => "events",
            Op::Run => "run",
            Op::SetBusy { busy: true } => "busy",
            Op::SetBusy { busy: false } => "idle",
            Op::Memory { charge: true } => "alloc",
            Op::Memory { charge: false } => "free",
            Op::FileIo { write: false } => "readfile",
            Op::FileIo { write: true } => "writefile",
            Op::Open => "open",
            Op::BlockIo => "io",
            Op::Unshare | Op::UnshareCgroup => "unshare",
            Op::Clone => "clone",
            Op::Huge { alloc: true } => "hugealloc",
            Op::Huge { alloc: false } => "hugefree",
            Op::Netprio => "netprio",
            Op::Perf => "perf",
            Op::Ps => "ps",
            Op::MountTable => "mount",
            Op::CgTool(tool) => tool.name(),
            Op::Sample => "sample",
            Op::Host(HostOp::Rdma) => "rdma",
            Op::Host(HostOp::Misc) => "misc",
            Op::Host(HostOp::Devprog) => "devprog",
        }
    }
}

/// One command line of a script, compact: the command as written, and every operand as
/// pieces of that text (see [`Seg`]), so a parsed line costs its text, eight bytes per
/// piece and this header, whatever its quoting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    /// The line number, from 1.
    pub(crate) number: usize,
    /// The command as written (comment and surrounding blanks removed), for `--echo`.
    pub(crate) text: Box<str>,
    /// The pieces of the `as UID` words (outermost first), the `in VAR` word, then of
    /// the operands.
    segs: Box<[Seg]>,
    /// How many `as UID` prefixes there are (a line of [`MAX_LINE`] bytes has room for
    /// at most 26,214 `as 0 `; 16 bits keep the header at 48 bytes with `expect`).
    pub(crate) users: u16,
    /// An `in VAR` prefix (after the `as` ones): its word follows theirs.
    pub(crate) in_task: bool,
    /// The command.
    pub(crate) op: Op,
    /// The errno its `# expect: ERRNO` comment says it fails with.
    pub(crate) expect: Option<Error>,
}

impl Line {
    /// The words: the `as UID` words, then the operands in [`Op`]'s order.
    pub(crate) fn words(&self) -> Words<'_> {
        Words {
            src: &self.text,
            segs: &self.segs,
        }
    }
}

/// The words of a [`Line`], in order.
#[derive(Clone, Debug)]
pub(crate) struct Words<'a> {
    src: &'a str,
    segs: &'a [Seg],
}

impl<'a> Iterator for Words<'a> {
    type Item = Word<'a>;

    fn next(&mut self) -> Option<Word<'a>> {
        if self.segs.is_empty() {
            return None;
        }
        let len = self
            .segs
            .iter()
            .position(|s| s.ends_word())
            .map_or(self.segs.len(), |i| i.saturating_add(1));
        let (word, rest) = self.segs.split_at(len.min(self.segs.len()));
        self.segs = rest;
        Some(Word {
            src: self.src,
            segs: word,
        })
    }
}

/// A parsed script: its command lines, in order (blank and comment lines dropped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    pub(crate) lines: Vec<Line>,
}

impl Script {
    /// Parses a whole script; see the module documentation for what is refused.
    pub fn parse(source: &[u8]) -> Result<Script, ParseError> {
        let mut lines = Vec::new();
        for (index, raw) in source.split(|&b| b == b'\n').enumerate() {
            let number = index.saturating_add(1);
            if let Some(line) = parse_line(number, raw)? {
                lines.try_reserve(1).map_err(|_| ParseError {
                    line: number,
                    kind: ParseErrorKind::OutOfMemory,
                })?;
                lines.push(line);
            }
        }
        Ok(Script { lines })
    }

    /// The number of commands.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether the script has no command at all.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The commands as `(line number, text as written)`, in order.
    pub fn commands(&self) -> impl Iterator<Item = (usize, &str)> + '_ {
        self.lines.iter().map(|l| (l.number, &*l.text))
    }
}

/// Checks one line (`raw`, without its `\n`) as [`Script::parse`] would, keeping
/// nothing: how a host that streams a file validates it before running any of it.
pub fn check_line(number: usize, raw: &[u8]) -> Result<(), ParseError> {
    parse_line(number, raw).map(drop)
}

/// Parses one line (without its `\n`; a `\r` before it is dropped): `None` for a blank
/// or comment-only line.
pub(crate) fn parse_line(number: usize, raw: &[u8]) -> Result<Option<Line>, ParseError> {
    let err = |kind| ParseError { line: number, kind };
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    if raw.len() > MAX_LINE {
        return Err(err(ParseErrorKind::LineTooLong));
    }
    if raw.contains(&0) {
        return Err(err(ParseErrorKind::NulByte));
    }
    let line = core::str::from_utf8(raw).map_err(|_| err(ParseErrorKind::InvalidUtf8))?;
    let lexed = lex_line(line).map_err(err)?;
    let expect = expectation(lexed.comment()).map_err(err)?;
    if lexed.tokens.is_empty() {
        if expect.is_some() {
            return Err(err(ParseErrorKind::ExpectationWithoutCommand));
        }
        return Ok(None);
    }
    let mut line = build_line(number, &lexed).map_err(err)?;
    line.expect = expect;
    Ok(Some(line))
}

/// The errno of a `# expect: ERRNO` comment (`None` for any other comment).
///
/// To `sh` and to every runner of FORMAT.md it is a comment like any other, so a script
/// that says which of its commands fail on purpose still runs everywhere, and `--echo`
/// prints the same (the comment is not part of the `$ ` line). After the name, a blank
/// and any text may follow (`# expect: EBUSY, the group has tasks`). A comment that
/// starts with `expect:` but names no errno is refused: a misspelt expectation must not
/// pass for an unannotated command.
fn expectation(comment: Option<&str>) -> Result<Option<Error>, ParseErrorKind> {
    let Some(rest) = comment.and_then(|c| c.trim_start_matches(is_blank).strip_prefix("expect:"))
    else {
        return Ok(None);
    };
    let rest = rest.trim_start_matches(is_blank);
    let name = rest
        .split(|c: char| is_blank(c) || c == ',' || c == ':' || c == ';' || c == '.')
        .next()
        .unwrap_or("");
    match Error::from_name(name) {
        Some(e) => Ok(Some(e)),
        None => Err(ParseErrorKind::BadExpectation(owned(format_args!(
            "{name}"
        ))?)),
    }
}

/// The operands of a line, in [`Op`]'s order, as pieces of the command text.
struct Operands {
    /// Where the command text starts in the line: pieces are kept relative to it.
    offset: u32,
    segs: Vec<Seg>,
}

/// A word to keep, maybe without a literal prefix (`-oOPTS`, `cpus=N`).
#[derive(Clone, Copy)]
struct Operand<'a> {
    word: Word<'a>,
    strip: &'static str,
}

impl<'a> From<Word<'a>> for Operand<'a> {
    fn from(word: Word<'a>) -> Self {
        Operand { word, strip: "" }
    }
}

impl Operands {
    fn push<'a>(&mut self, operand: impl Into<Operand<'a>>) -> Result<(), ParseErrorKind> {
        let Operand { word, strip } = operand.into();
        let (first, rest) = word.split_prefix(strip).unwrap_or((None, word.segs));
        let count = rest.len().saturating_add(1);
        self.segs
            .try_reserve(count)
            .map_err(|_| ParseErrorKind::OutOfMemory)?;
        let offset = self.offset;
        self.segs
            .extend(first.iter().chain(rest).map(|s| s.shifted_back(offset)));
        if first.is_none() && rest.is_empty() {
            // The prefix was the whole word: what is left is the empty word.
            self.segs.push(Seg::empty_word());
        }
        Ok(())
    }
}

/// The words and the redirection of a line, then the `as` prefixes and the command.
fn build_line(number: usize, lexed: &Lexed<'_>) -> Result<Line, ParseErrorKind> {
    let mut words = Vec::new();
    words
        .try_reserve_exact(lexed.tokens.len())
        .map_err(|_| ParseErrorKind::OutOfMemory)?;
    let mut target = None;
    let mut tokens = lexed.tokens.iter();
    while let Some(token) = tokens.next() {
        match token {
            Token::Word(w) => words.push(lexed.word(w)),
            Token::Redirect { .. } => {
                let Some(Token::Word(w)) = tokens.next() else {
                    return Err(ParseErrorKind::MissingRedirectTarget);
                };
                if target.is_some() {
                    return Err(ParseErrorKind::MultipleRedirections);
                }
                target = Some(lexed.word(w));
            }
        }
    }
    let mut operands = Operands {
        offset: u32::try_from(lexed.text.start).map_err(|_| ParseErrorKind::LineTooLong)?,
        segs: Vec::new(),
    };
    let mut users = 0u16;
    let mut in_task = false;
    let mut rest = words.as_slice();
    let op = loop {
        let Some((name, args)) = rest.split_first() else {
            return Err(ParseErrorKind::MissingCommand);
        };
        let name = name
            .try_literal()
            .map_err(|_| ParseErrorKind::OutOfMemory)?
            .ok_or(ParseErrorKind::CommandNameNotLiteral)?;
        if name == "in" {
            // `in VAR cat PATH...` / `in VAR mount ...` (FORMAT.md): the command as VAR
            // runs it; only those two.
            let (Some((var, inner)), true) = (args.split_first(), !in_task) else {
                return Err(ParseErrorKind::Usage(USAGE_IN));
            };
            let cmd = match inner.first().map(|w| w.try_literal()) {
                Some(Ok(Some(cmd))) if cmd == "cat" || cmd == "mount" => cmd,
                Some(Err(_)) => return Err(ParseErrorKind::OutOfMemory),
                _ => return Err(ParseErrorKind::Usage(USAGE_IN)),
            };
            operands.push(*var)?;
            in_task = true;
            let op = parse_command(&cmd, inner.get(1..).unwrap_or(&[]), target, &mut operands)?;
            if op == Op::MountTable {
                return Err(ParseErrorKind::Usage(USAGE_IN));
            }
            break op;
        }
        if name != "as" {
            break parse_command(&name, args, target, &mut operands)?;
        }
        match args.split_first() {
            Some((uid, inner)) if !inner.is_empty() => {
                operands.push(*uid)?;
                users = users.checked_add(1).ok_or(ParseErrorKind::LineTooLong)?;
                rest = inner;
            }
            _ => return Err(ParseErrorKind::Usage("as UID COMMAND...")),
        }
    };
    let text = lexed.text();
    let mut owned = String::new();
    owned
        .try_reserve_exact(text.len())
        .map_err(|_| ParseErrorKind::OutOfMemory)?;
    owned.push_str(text);
    let segs = operands.segs;
    // `into_boxed_slice` reallocates to the exact size unless it already is.
    let segs = if segs.len() == segs.capacity() {
        segs.into_boxed_slice()
    } else {
        let mut exact = Vec::new();
        exact
            .try_reserve_exact(segs.len())
            .map_err(|_| ParseErrorKind::OutOfMemory)?;
        exact.extend_from_slice(&segs);
        exact.into_boxed_slice()
    };
    Ok(Line {
        number,
        text: owned.into_boxed_str(),
        segs,
        users,
        in_task,
        op,
        expect: None,
    })
}

pub(crate) const USAGE_MACHINE: &str =
    "machine [cpus=N] [mems=M] [mem=BYTES] [swap=BYTES] [v2=LIST] \
     [hugepages=SIZE:COUNT,...] [netdevs=NAME,...] [rdma=DEVS] [misc=RES:N,...] [disks=LIST]";

/// The options of `machine`, in the order [`Op::Machine`] keeps their values.
pub(crate) const MACHINE_OPTIONS: [&str; 10] = [
    "cpus=",
    "mems=",
    "mem=",
    "swap=",
    "v2=",
    "hugepages=",
    "netdevs=",
    "rdma=",
    "misc=",
    "disks=",
];
const USAGE_RDMA: &str = "rdma charge|uncharge TASK DEV hca_handle|hca_object [N]";
const USAGE_MISC: &str = "misc charge|uncharge TASK sev|sev_es|tdx N";
const USAGE_DEVPROG: &str =
    "devprog attach PATH [multi|override] RULE... | devprog detach PATH [ID] | devprog list PATH";

const USAGE_MOUNT: &str = "mount -t TYPE [-o OPTIONS] SOURCE DIR";
const USAGE_OPEN: &str = "open TASK c|b MAJOR:MINOR ACCESS";
const USAGE_IN: &str = "in VAR cat PATH... | in VAR mount -t TYPE [-o OPTIONS] SOURCE DIR";

fn parse_command(
    name: &str,
    args: &[Word<'_>],
    target: Option<Word<'_>>,
    out: &mut Operands,
) -> Result<Op, ParseErrorKind> {
    if name == "echo" {
        let (newline, words) = match args.split_first() {
            Some((first, rest)) if first.is("-n") => (false, rest),
            _ => (true, args),
        };
        if let Some(t) = target {
            out.push(t)?;
        }
        for w in words {
            out.push(*w)?;
        }
        return Ok(Op::Echo {
            newline,
            redirect: target.is_some(),
        });
    }
    if let Some(tool) = crate::cgtools::Tool::from_name(name) {
        if target.is_some() {
            return Err(ParseErrorKind::RedirectNotEcho(tool.name()));
        }
        return parse_cgtool(tool, args, out);
    }
    let op = match name {
        "machine" => parse_machine(args, out)?,
        "mount" if args.is_empty() => Op::MountTable,
        "mount" => parse_mount(args, out)?,
        "sample" => match args {
            [_, _, _, ..] => {
                for w in args {
                    out.push(*w)?;
                }
                Op::Sample
            }
            _ => {
                return Err(ParseErrorKind::Usage(
                    "sample EVERY_MS FOR_MS FILE[:KEY]...",
                ))
            }
        },
        "umount" => one_path(args, "umount DIR", Op::Umount, out)?,
        "mkdir" => {
            let (flags, paths) = split_options(args, &["-p"])?;
            match paths.as_slice() {
                [path] => {
                    out.push(*path)?;
                    Op::Mkdir {
                        parents: flags != 0,
                    }
                }
                _ => return Err(ParseErrorKind::Usage("mkdir [-p] PATH")),
            }
        }
        "rmdir" => one_path(args, "rmdir PATH", Op::Rmdir, out)?,
        "cat" => {
            let (_, paths) = split_options(args, &[])?;
            if paths.is_empty() {
                return Err(ParseErrorKind::Usage("cat PATH..."));
            }
            for path in paths {
                out.push(path)?;
            }
            Op::Cat
        }
        "cd" => optional_path(args, "cd [DIR]", Op::Cd, out)?,
        "pwd" => no_args(args, Op::Pwd, "pwd")?,
        "tree" => optional_path(args, "tree [PATH]", Op::Tree, out)?,
        "top" => parse_top(args, out)?,
        "ls" => one_path(args, "ls PATH", Op::Ls, out)?,
        "spawn" => match args {
            [var] => {
                var_name(*var)?;
                out.push(*var)?;
                Op::Spawn
            }
            _ => return Err(ParseErrorKind::Usage("spawn VAR")),
        },
        "fork" | "thread" => match args {
            [parent, var] => {
                var_name(*var)?;
                out.push(*parent)?;
                out.push(*var)?;
                if name == "fork" {
                    Op::Fork
                } else {
                    Op::Thread
                }
            }
            _ if name == "fork" => return Err(ParseErrorKind::Usage("fork PARENT VAR")),
            _ => return Err(ParseErrorKind::Usage("thread PARENT VAR")),
        },
        "exit" => one_task(args, "exit TASK", Op::Exit, out)?,
        "chown" => {
            let (_, operands) = split_options(args, &[])?;
            match operands.as_slice() {
                [owner, path] => {
                    out.push(*owner)?;
                    out.push(*path)?;
                    Op::Chown
                }
                _ => return Err(ParseErrorKind::Usage("chown UID[:GID] PATH")),
            }
        }
        "releases" => no_args(args, Op::Releases, "releases")?,
        "watch" => one_path(args, "watch PATH", Op::Watch, out)?,
        "events" => no_args(args, Op::Events, "events")?,
        "run" => match args {
            [ms] => {
                out.push(*ms)?;
                Op::Run
            }
            _ => return Err(ParseErrorKind::Usage("run MS")),
        },
        "busy" => one_task(args, "busy TASK", Op::SetBusy { busy: true }, out)?,
        "idle" => one_task(args, "idle TASK", Op::SetBusy { busy: false }, out)?,
        "alloc" | "free" => match args {
            [task, bytes] => {
                out.push(*task)?;
                out.push(*bytes)?;
                Op::Memory {
                    charge: name == "alloc",
                }
            }
            _ if name == "alloc" => return Err(ParseErrorKind::Usage("alloc TASK BYTES")),
            _ => return Err(ParseErrorKind::Usage("free TASK BYTES")),
        },
        "readfile" | "writefile" => match args {
            [task, file, bytes] => {
                for w in [task, file, bytes] {
                    out.push(*w)?;
                }
                Op::FileIo {
                    write: name == "writefile",
                }
            }
            _ if name == "readfile" => {
                return Err(ParseErrorKind::Usage("readfile TASK FILE BYTES"))
            }
            _ => return Err(ParseErrorKind::Usage("writefile TASK FILE BYTES")),
        },
        "io" => match args {
            [task, device, dir, bytes] => {
                for w in [task, device, dir, bytes] {
                    out.push(*w)?;
                }
                Op::BlockIo
            }
            _ => return Err(ParseErrorKind::Usage("io TASK MAJ:MIN read|write BYTES")),
        },
        "open" => match args {
            [task, dev_type, device, access] => {
                for w in [task, dev_type, device, access] {
                    out.push(*w)?;
                }
                Op::Open
            }
            _ => return Err(ParseErrorKind::Usage(USAGE_OPEN)),
        },
        "rdma" | "misc" | "devprog" => {
            let (op, usage, ok) = match name {
                "rdma" => (
                    HostOp::Rdma,
                    USAGE_RDMA,
                    matches!(args, [s, _, _, _] | [s, _, _, _, _] if s.is("charge") || s.is("uncharge")),
                ),
                "misc" => (
                    HostOp::Misc,
                    USAGE_MISC,
                    matches!(args, [s, _, _, _] if s.is("charge") || s.is("uncharge")),
                ),
                _ => (
                    HostOp::Devprog,
                    USAGE_DEVPROG,
                    match args {
                        [s, _, ..] if s.is("attach") => true,
                        [s, _] | [s, _, _] if s.is("detach") => true,
                        [s, _] if s.is("list") => true,
                        _ => false,
                    },
                ),
            };
            if !ok {
                return Err(ParseErrorKind::Usage(usage));
            }
            for w in args {
                out.push(*w)?;
            }
            Op::Host(op)
        }
        "unshare" => match args {
            [flag, task] if flag.is("-C") => {
                out.push(*task)?;
                Op::UnshareCgroup
            }
            _ => one_task(args, "unshare [-C] TASK", Op::Unshare, out)?,
        },
        "clone" => match args {
            [parent, var, dir] => {
                var_name(*var)?;
                out.push(*parent)?;
                out.push(*var)?;
                out.push(*dir)?;
                Op::Clone
            }
            _ => return Err(ParseErrorKind::Usage("clone PARENT VAR DIR")),
        },
        "ps" => no_args(args, Op::Ps, "ps")?,
        "hugealloc" | "hugefree" => match args {
            [task, size, count] => {
                for w in [task, size, count] {
                    out.push(*w)?;
                }
                Op::Huge {
                    alloc: name == "hugealloc",
                }
            }
            _ if name == "hugealloc" => {
                return Err(ParseErrorKind::Usage("hugealloc TASK SIZE COUNT"))
            }
            _ => return Err(ParseErrorKind::Usage("hugefree TASK SIZE COUNT")),
        },
        "netprio" => one_task(args, "netprio TASK", Op::Netprio, out)?,
        "perf" => one_path(args, "perf PATH", Op::Perf, out)?,
        _ => {
            return Err(ParseErrorKind::UnknownCommand(owned(format_args!(
                "{name}"
            ))?))
        }
    };
    if target.is_some() {
        return Err(ParseErrorKind::RedirectNotEcho(op.name()));
    }
    Ok(op)
}

/// A libcgroup tool: its options checked as its `getopt_long` would (words with a
/// variable are operands or values), every word kept for the run.
fn parse_cgtool(
    tool: crate::cgtools::Tool,
    args: &[Word<'_>],
    out: &mut Operands,
) -> Result<Op, ParseErrorKind> {
    let oom = |_| ParseErrorKind::OutOfMemory;
    let mut literals = Vec::new();
    literals.try_reserve_exact(args.len()).map_err(oom)?;
    for w in args {
        literals.push(w.try_literal().map_err(oom)?);
    }
    let mut texts: Vec<Option<&str>> = Vec::new();
    texts.try_reserve_exact(args.len()).map_err(oom)?;
    texts.extend(literals.iter().map(|l| l.as_deref()));
    crate::cgtools::check(tool, &texts)?;
    if tool == crate::cgtools::Tool::Exec {
        if let Some(var) = args.last() {
            var_name(*var)?;
        }
    }
    for w in args {
        out.push(*w)?;
    }
    Ok(Op::CgTool(tool))
}

fn no_args(args: &[Word<'_>], op: Op, usage: &'static str) -> Result<Op, ParseErrorKind> {
    if args.is_empty() {
        Ok(op)
    } else {
        Err(ParseErrorKind::Usage(usage))
    }
}

fn one_path(
    args: &[Word<'_>],
    usage: &'static str,
    op: Op,
    out: &mut Operands,
) -> Result<Op, ParseErrorKind> {
    let (_, operands) = split_options(args, &[])?;
    match operands.as_slice() {
        [path] => {
            out.push(*path)?;
            Ok(op)
        }
        _ => Err(ParseErrorKind::Usage(usage)),
    }
}

fn optional_path(
    args: &[Word<'_>],
    usage: &'static str,
    op: Op,
    out: &mut Operands,
) -> Result<Op, ParseErrorKind> {
    let (_, operands) = split_options(args, &[])?;
    match operands.as_slice() {
        [] => Ok(op),
        [path] => {
            out.push(*path)?;
            Ok(op)
        }
        _ => Err(ParseErrorKind::Usage(usage)),
    }
}

const USAGE_TOP: &str = "top [-b] [-d MS] [-n N]";

/// `top`: `-b` (batch: accepted, the interpreter always is), `-d MS` / `-dMS`, `-n N` /
/// `-nN`, anywhere; no operands.
fn parse_top(args: &[Word<'_>], out: &mut Operands) -> Result<Op, ParseErrorKind> {
    let mut delay = None;
    let mut iterations = None;
    let mut iter = args.iter().copied();
    while let Some(arg) = iter.next() {
        let (is_delay, value) = if arg.is("-b") || arg.is("--batch") {
            continue;
        } else if arg.is("-d") {
            (true, iter.next().map(Operand::from))
        } else if arg.is("-n") {
            (false, iter.next().map(Operand::from))
        } else if arg.starts_with("-d") || arg.starts_with("-n") {
            let is_delay = arg.starts_with("-d");
            let strip = if is_delay { "-d" } else { "-n" };
            (is_delay, Some(Operand { word: arg, strip }))
        } else if is_option(arg) {
            return Err(ParseErrorKind::UnknownOption(owned(format_args!("{arg}"))?));
        } else {
            return Err(ParseErrorKind::Usage(USAGE_TOP));
        };
        let value = value.ok_or(ParseErrorKind::Usage(USAGE_TOP))?;
        let (slot, name) = if is_delay {
            (&mut delay, "-d")
        } else {
            (&mut iterations, "-n")
        };
        if slot.replace(value).is_some() {
            return Err(ParseErrorKind::DuplicateOption(owned(format_args!(
                "{name}"
            ))?));
        }
    }
    if let Some(d) = delay {
        out.push(d)?;
    }
    if let Some(n) = iterations {
        out.push(n)?;
    }
    Ok(Op::Top {
        delay: delay.is_some(),
        iterations: iterations.is_some(),
    })
}

fn one_task(
    args: &[Word<'_>],
    usage: &'static str,
    op: Op,
    out: &mut Operands,
) -> Result<Op, ParseErrorKind> {
    match args {
        [task] => {
            out.push(*task)?;
            Ok(op)
        }
        _ => Err(ParseErrorKind::Usage(usage)),
    }
}

/// The text of a parse error, or [`ParseErrorKind::OutOfMemory`] (never an abort).
fn owned(args: core::fmt::Arguments<'_>) -> Result<String, ParseErrorKind> {
    crate::interp::try_format(args).map_err(|_| ParseErrorKind::OutOfMemory)
}

/// Refuses a variable to set that is not a plain name.
fn var_name(word: Word<'_>) -> Result<(), ParseErrorKind> {
    match word
        .try_literal()
        .map_err(|_| ParseErrorKind::OutOfMemory)?
    {
        Some(name) if is_name(&name) => Ok(()),
        _ => Err(ParseErrorKind::BadVariableName(owned(format_args!(
            "{word}"
        ))?)),
    }
}

/// Whether a word is an option (`-x...`, not `-` alone) to a command that takes paths.
fn is_option(word: Word<'_>) -> bool {
    word.starts_with("-") && !word.is("-")
}

/// getopt-style: flags anywhere (each of `allowed`, which returns a bit mask of those
/// seen), `--` ends the options, any other `-x` is refused; the rest are operands.
fn split_options<'w>(
    args: &[Word<'w>],
    allowed: &[&str],
) -> Result<(u32, Vec<Word<'w>>), ParseErrorKind> {
    let mut flags = 0u32;
    let mut operands = Vec::new();
    let mut options_done = false;
    for &arg in args {
        if !options_done && is_option(arg) {
            if arg.is("--") {
                options_done = true;
                continue;
            }
            let flag = allowed.iter().position(|f| arg.is(f));
            match flag {
                Some(bit) => flags |= 1u32.checked_shl(bit as u32).unwrap_or(0),
                None => return Err(ParseErrorKind::UnknownOption(owned(format_args!("{arg}"))?)),
            }
        } else {
            operands
                .try_reserve(1)
                .map_err(|_| ParseErrorKind::OutOfMemory)?;
            operands.push(arg);
        }
    }
    Ok((flags, operands))
}

/// `machine [cpus=N] [mems=M] [mem=BYTES] [swap=BYTES] [v2=LIST] [rdma=DEVS]
/// [misc=RES:N,...] [disks=LIST]`: any of the options,
/// in any order, each at most once.
fn parse_machine(args: &[Word<'_>], out: &mut Operands) -> Result<Op, ParseErrorKind> {
    let mut given: [Option<Operand<'_>>; MACHINE_OPTIONS.len()] = [None; MACHINE_OPTIONS.len()];
    for &word in args {
        let Some((slot, &strip)) = given
            .iter_mut()
            .zip(MACHINE_OPTIONS.iter())
            .find(|(_, option)| word.starts_with(option))
        else {
            return Err(ParseErrorKind::Usage(USAGE_MACHINE));
        };
        if slot.replace(Operand { word, strip }).is_some() {
            return Err(ParseErrorKind::DuplicateOption(owned(format_args!(
                "{strip}"
            ))?));
        }
    }
    let mut options = 0u16;
    for (bit, value) in given.into_iter().enumerate() {
        if let Some(value) = value {
            out.push(value)?;
            options |= 1u16.checked_shl(bit as u32).unwrap_or(0);
        }
    }
    Ok(Op::Machine { options })
}

/// `mount`: `-t TYPE`, `-tTYPE`, `-o OPTS`, `-oOPTS` anywhere before `--`; several `-o`
/// are joined with commas (as util-linux does); exactly two operands.
fn parse_mount(args: &[Word<'_>], out: &mut Operands) -> Result<Op, ParseErrorKind> {
    let mut fstype = None;
    let mut options = Vec::new();
    let mut operands = Vec::new();
    let mut options_done = false;
    let mut iter = args.iter().copied();
    while let Some(arg) = iter.next() {
        if options_done || !is_option(arg) {
            operands
                .try_reserve(1)
                .map_err(|_| ParseErrorKind::OutOfMemory)?;
            operands.push(arg);
            continue;
        }
        let (is_type, value) = if arg.is("--") {
            options_done = true;
            continue;
        } else if arg.is("-t") {
            (true, iter.next().map(Operand::from))
        } else if arg.is("-o") {
            (false, iter.next().map(Operand::from))
        } else if arg.starts_with("-t") {
            (
                true,
                Some(Operand {
                    word: arg,
                    strip: "-t",
                }),
            )
        } else if arg.starts_with("-o") {
            (
                false,
                Some(Operand {
                    word: arg,
                    strip: "-o",
                }),
            )
        } else {
            return Err(ParseErrorKind::UnknownOption(owned(format_args!("{arg}"))?));
        };
        let value = value.ok_or(ParseErrorKind::Usage(USAGE_MOUNT))?;
        if !is_type {
            options
                .try_reserve(1)
                .map_err(|_| ParseErrorKind::OutOfMemory)?;
            options.push(value);
        } else if fstype.replace(value).is_some() {
            return Err(ParseErrorKind::DuplicateOption(owned(format_args!("-t"))?));
        }
    }
    match (fstype, operands.as_slice()) {
        (Some(fstype), [source, dir]) => {
            out.push(fstype)?;
            out.push(*source)?;
            out.push(*dir)?;
            for o in options {
                out.push(o)?;
            }
            Ok(Op::Mount)
        }
        _ => Err(ParseErrorKind::Usage(USAGE_MOUNT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use ParseErrorKind as K;

    fn one(line: &str) -> Result<Line, ParseError> {
        let script = Script::parse(line.as_bytes())?;
        Ok(script.lines.into_iter().next().unwrap_or(Line {
            number: 0,
            text: Box::from(""),
            segs: Box::from([]),
            users: 0,
            in_task: false,
            op: Op::Ps,
            expect: None,
        }))
    }

    /// The operation and its operands in [`Op`]'s order, `|`-separated.
    fn cmd(line: &str) -> Result<(Op, String), ParseErrorKind> {
        let line = one(line).map_err(|e| e.kind)?;
        let words: Vec<String> = line.words().map(|w| w.to_string()).collect();
        Ok((line.op, words.join("|")))
    }

    fn ok(op: Op, words: &str) -> Result<(Op, String), ParseErrorKind> {
        Ok((op, String::from(words)))
    }

    #[test]
    fn mount_forms() {
        let expect = ok(Op::Mount, "cgroup|cs|/cs|cpuset");
        assert_eq!(cmd("mount -t cgroup -o cpuset cs /cs"), expect);
        assert_eq!(cmd("mount -o cpuset -t cgroup cs /cs"), expect);
        assert_eq!(cmd("mount -tcgroup -ocpuset cs /cs"), expect);
        assert_eq!(cmd("mount cs -o cpuset /cs -t cgroup"), expect);
        assert_eq!(cmd("mount -t cgroup -o cpuset -- cs /cs"), expect);
        assert_eq!(
            cmd("mount -t cgroup2 none /v2"),
            ok(Op::Mount, "cgroup2|none|/v2")
        );
        assert_eq!(
            cmd("mount -t cgroup -o a -o'b,c' x /y"),
            ok(Op::Mount, "cgroup|x|/y|a|b,c")
        );
        assert_eq!(
            cmd("mount -t cgroup -o '' x /y"),
            ok(Op::Mount, "cgroup|x|/y|")
        );
        assert_eq!(cmd("mount -t cgroup -o x /y"), Err(K::Usage(USAGE_MOUNT)));
        assert_eq!(cmd("mount -o cpuset cs /cs"), Err(K::Usage(USAGE_MOUNT)));
        assert_eq!(cmd("mount -t cgroup /cs"), Err(K::Usage(USAGE_MOUNT)));
        assert_eq!(cmd("mount -t cgroup a b c"), Err(K::Usage(USAGE_MOUNT)));
        assert_eq!(cmd("mount -t"), Err(K::Usage(USAGE_MOUNT)));
        assert_eq!(
            cmd("mount -t a -t b x /y"),
            Err(K::DuplicateOption("-t".into()))
        );
        assert_eq!(
            cmd("mount --bind a b"),
            Err(K::UnknownOption("--bind".into()))
        );
        assert_eq!(
            cmd("mount -r -t cgroup a b"),
            Err(K::UnknownOption("-r".into()))
        );
    }

    #[test]
    fn commands_and_arity() {
        let mkdir = |parents| Op::Mkdir { parents };
        assert_eq!(cmd("mkdir -p /a"), ok(mkdir(true), "/a"));
        assert_eq!(cmd("mkdir /a -p"), ok(mkdir(true), "/a"));
        assert_eq!(cmd("mkdir /a"), ok(mkdir(false), "/a"));
        assert_eq!(cmd("mkdir -- -p"), ok(mkdir(false), "-p"));
        assert_eq!(cmd("mkdir /a /b"), Err(K::Usage("mkdir [-p] PATH")));
        assert_eq!(cmd("mkdir -m 755 /a"), Err(K::UnknownOption("-m".into())));
        assert_eq!(cmd("ls -l /a"), Err(K::UnknownOption("-l".into())));
        assert_eq!(cmd("ls"), Err(K::Usage("ls PATH")));
        assert_eq!(cmd("cat - "), ok(Op::Cat, "-"));
        assert_eq!(cmd("spawn A"), ok(Op::Spawn, "A"));
        assert_eq!(cmd("spawn \"B\""), ok(Op::Spawn, "B"));
        assert_eq!(cmd("spawn $A"), Err(K::BadVariableName("${A}".into())));
        assert_eq!(cmd("spawn 1A"), Err(K::BadVariableName("1A".into())));
        assert_eq!(cmd("fork A B"), ok(Op::Fork, "A|B"));
        assert_eq!(cmd("fork A 'B'"), ok(Op::Fork, "A|B"));
        assert_eq!(cmd("fork A B-"), Err(K::BadVariableName("B-".into())));
        assert_eq!(cmd("thread $A T"), ok(Op::Thread, "${A}|T"));
        assert_eq!(cmd("exit 1"), ok(Op::Exit, "1"));
        assert_eq!(cmd("releases now"), Err(K::Usage("releases")));
        assert_eq!(cmd("ps"), ok(Op::Ps, ""));
        assert_eq!(cmd("run"), Err(K::Usage("run MS")));
        assert_eq!(cmd("open A c 1:3"), Err(K::Usage(USAGE_OPEN)));
        assert_eq!(cmd("open A c 1:3 rw"), ok(Op::Open, "A|c|1:3|rw"));
        let host = Op::Host;
        assert_eq!(
            cmd("rdma charge A mlx4_0 hca_handle"),
            ok(host(HostOp::Rdma), "charge|A|mlx4_0|hca_handle")
        );
        assert_eq!(
            cmd("rdma uncharge A d hca_object 2"),
            ok(host(HostOp::Rdma), "uncharge|A|d|hca_object|2")
        );
        for bad in [
            "rdma",
            "rdma charge A",
            "rdma take A d hca_handle",
            "rdma charge A d r 1 2",
        ] {
            assert_eq!(cmd(bad), Err(K::Usage(USAGE_RDMA)), "{bad}");
        }
        assert_eq!(
            cmd("misc charge A sev 2"),
            ok(host(HostOp::Misc), "charge|A|sev|2")
        );
        for bad in [
            "misc",
            "misc charge A sev",
            "misc give A sev 1",
            "misc charge A sev 1 2",
        ] {
            assert_eq!(cmd(bad), Err(K::Usage(USAGE_MISC)), "{bad}");
        }
        assert_eq!(
            cmd("devprog attach /cg multi 'allow c 1:3 r'"),
            ok(host(HostOp::Devprog), "attach|/cg|multi|allow c 1:3 r")
        );
        assert_eq!(
            cmd("devprog detach /cg"),
            ok(host(HostOp::Devprog), "detach|/cg")
        );
        assert_eq!(
            cmd("devprog list /cg"),
            ok(host(HostOp::Devprog), "list|/cg")
        );
        for bad in [
            "devprog",
            "devprog attach",
            "devprog detach /cg 1 2",
            "devprog list",
            "devprog list /a /b",
            "devprog show /cg",
        ] {
            assert_eq!(cmd(bad), Err(K::Usage(USAGE_DEVPROG)), "{bad}");
        }
        assert_eq!(cmd("free A"), Err(K::Usage("free TASK BYTES")));
        assert_eq!(cmd("alloc A 4M"), ok(Op::Memory { charge: true }, "A|4M"));
        assert_eq!(
            cmd("hugealloc A 2MB 3"),
            ok(Op::Huge { alloc: true }, "A|2MB|3")
        );
        assert_eq!(
            cmd("hugefree A 1GB"),
            Err(K::Usage("hugefree TASK SIZE COUNT"))
        );
        assert_eq!(cmd("netprio A"), ok(Op::Netprio, "A"));
        assert_eq!(cmd("perf /cg/a"), ok(Op::Perf, "/cg/a"));
        assert_eq!(
            cmd("machine netdevs=lo,eth1 hugepages=2MB:4"),
            ok(
                Op::Machine {
                    options: 0b110_0000
                },
                "2MB:4|lo,eth1"
            )
        );
        let file = |write| Op::FileIo { write };
        assert_eq!(cmd("readfile A f 4M"), ok(file(false), "A|f|4M"));
        assert_eq!(
            cmd("writefile $A 'a b' $B"),
            ok(file(true), "${A}|a b|${B}")
        );
        assert_eq!(
            cmd("readfile A f"),
            Err(K::Usage("readfile TASK FILE BYTES"))
        );
        assert_eq!(
            cmd("writefile A f 1 2"),
            Err(K::Usage("writefile TASK FILE BYTES"))
        );
        assert_eq!(
            cmd("readfile A f 1 > /x"),
            Err(K::RedirectNotEcho("readfile"))
        );
        assert_eq!(
            cmd("frobnicate"),
            Err(K::UnknownCommand("frobnicate".into()))
        );
        assert_eq!(cmd("A=1"), Err(K::UnknownCommand("A=1".into())));
        assert_eq!(cmd("$CMD x"), Err(K::CommandNameNotLiteral));
        assert_eq!(cmd("'ls' /x"), ok(Op::Ls, "/x"));
        assert_eq!(cmd("l\"s\" /x"), ok(Op::Ls, "/x"));
        let machine = |options| Op::Machine { options };
        assert_eq!(cmd("machine mems=1 cpus=2"), ok(machine(0b11), "2|1"));
        assert_eq!(cmd("machine cpus=$A mems=\"\""), ok(machine(0b11), "${A}|"));
        assert_eq!(cmd("machine cpus=2"), ok(machine(0b1), "2"));
        assert_eq!(cmd("machine"), ok(machine(0), ""));
        // Kept in MACHINE_OPTIONS's order, whatever the order written; `mem=` is not
        // taken for `mems=` nor the other way round.
        assert_eq!(
            cmd("machine v2=memory,pids swap=1G mem=4G mems=1 cpus=2"),
            ok(machine(0b11111), "2|1|4G|1G|memory,pids")
        );
        assert_eq!(cmd("machine mem=1M"), ok(machine(0b100), "1M"));
        assert_eq!(cmd("machine swap= v2=all"), ok(machine(0b11000), "|all"));
        assert_eq!(cmd("machine mem=$A"), ok(machine(0b100), "${A}"));
        for dup in ["mem=", "mems=", "swap=", "v2="] {
            assert_eq!(
                cmd(&alloc::format!("machine {dup}1 cpus=1 {dup}2")),
                Err(K::DuplicateOption(dup.into())),
                "{dup}"
            );
        }
        for bad in [
            "machine mem",
            "machine memory=1",
            "machine v2",
            "machine 1",
            "machine -x",
        ] {
            assert_eq!(cmd(bad), Err(K::Usage(USAGE_MACHINE)), "{bad}");
        }
        assert_eq!(
            cmd("machine cpus=2 cpus=3"),
            Err(K::DuplicateOption("cpus=".into()))
        );
        assert_eq!(
            cmd("machine cpus=2 mems=1 x=1"),
            Err(K::Usage(USAGE_MACHINE))
        );
        assert_eq!(cmd("chown -R 1 /x"), Err(K::UnknownOption("-R".into())));
        assert_eq!(cmd("chown 1:2 /x"), ok(Op::Chown, "1:2|/x"));
    }

    #[test]
    fn shell_commands() {
        let top = |delay, iterations| Op::Top { delay, iterations };
        assert_eq!(cmd("cat /a b 'c d'"), ok(Op::Cat, "/a|b|c d"));
        assert_eq!(cmd("cat"), Err(K::Usage("cat PATH...")));
        assert_eq!(cmd("cat -n x"), Err(K::UnknownOption("-n".into())));
        assert_eq!(cmd("cd"), ok(Op::Cd, ""));
        assert_eq!(cmd("cd .."), ok(Op::Cd, ".."));
        assert_eq!(cmd("cd a b"), Err(K::Usage("cd [DIR]")));
        assert_eq!(cmd("pwd"), ok(Op::Pwd, ""));
        assert_eq!(cmd("pwd x"), Err(K::Usage("pwd")));
        assert_eq!(cmd("tree"), ok(Op::Tree, ""));
        assert_eq!(cmd("tree /cg"), ok(Op::Tree, "/cg"));
        assert_eq!(cmd("tree /a /b"), Err(K::Usage("tree [PATH]")));
        assert_eq!(cmd("top"), ok(top(false, false), ""));
        assert_eq!(cmd("top -b -n 3 -d 500"), ok(top(true, true), "500|3"));
        assert_eq!(cmd("top -n3 -d$A"), ok(top(true, true), "${A}|3"));
        assert_eq!(cmd("top -n"), Err(K::Usage(USAGE_TOP)));
        assert_eq!(cmd("top x"), Err(K::Usage(USAGE_TOP)));
        assert_eq!(cmd("top -q"), Err(K::UnknownOption("-q".into())));
        assert_eq!(cmd("top -n 1 -n 2"), Err(K::DuplicateOption("-n".into())));
        assert_eq!(cmd("as 1000 cd /cg"), ok(Op::Cd, "1000|/cg"));
    }

    #[test]
    fn echo_and_redirections() {
        let echo = |newline, redirect| Op::Echo { newline, redirect };
        assert_eq!(
            cmd("echo $A > /cg/tasks"),
            ok(echo(true, true), "/cg/tasks|${A}")
        );
        assert_eq!(cmd("echo > /x a b"), ok(echo(true, true), "/x|a|b"));
        assert_eq!(cmd("echo -n 5 >> /x"), ok(echo(false, true), "/x|5"));
        assert_eq!(cmd("echo hello"), ok(echo(true, false), "hello"));
        assert_eq!(cmd("echo"), ok(echo(true, false), ""));
        assert_eq!(cmd("echo '' \"\""), ok(echo(true, false), "|"));
        assert_eq!(cmd("echo 1 >"), Err(K::MissingRedirectTarget));
        assert_eq!(cmd("echo 1 > > x"), Err(K::MissingRedirectTarget));
        assert_eq!(cmd("echo 1 > x > y"), Err(K::MultipleRedirections));
        assert_eq!(cmd("cat x > y"), Err(K::RedirectNotEcho("cat")));
        assert_eq!(cmd("> y"), Err(K::MissingCommand));
    }

    #[test]
    fn clone_unshare_and_in() {
        assert_eq!(cmd("clone A B /cg/a"), ok(Op::Clone, "A|B|/cg/a"));
        assert_eq!(cmd("clone $A B /cg/a/"), ok(Op::Clone, "${A}|B|/cg/a/"));
        assert_eq!(cmd("clone A B"), Err(K::Usage("clone PARENT VAR DIR")));
        assert_eq!(cmd("clone A $B /x"), Err(K::BadVariableName("${B}".into())));
        assert_eq!(cmd("unshare -C A"), ok(Op::UnshareCgroup, "A"));
        assert_eq!(cmd("unshare A"), ok(Op::Unshare, "A"));
        assert_eq!(cmd("unshare -C"), ok(Op::Unshare, "-C"));
        assert_eq!(cmd("unshare -C A B"), Err(K::Usage("unshare [-C] TASK")));
        let Ok(line) = one("as 1000 in A cat /proc/self/cgroup /x") else {
            unreachable!("parses")
        };
        assert!(line.in_task);
        assert_eq!(line.users, 1);
        let words: Vec<String> = line.words().map(|w| w.to_string()).collect();
        assert_eq!(words, vec!["1000", "A", "/proc/self/cgroup", "/x"]);
        assert_eq!(line.op, Op::Cat);
        assert_eq!(
            cmd("in A mount -t cgroup2 none /n"),
            ok(Op::Mount, "A|cgroup2|none|/n")
        );
        assert_eq!(cmd("in A ls /"), Err(K::Usage(USAGE_IN)));
        assert_eq!(cmd("in A mount"), Err(K::Usage(USAGE_IN)));
        assert_eq!(cmd("in A"), Err(K::Usage(USAGE_IN)));
        assert_eq!(cmd("in A in B cat /x"), Err(K::Usage(USAGE_IN)));
        assert_eq!(cmd("in A as 1 cat /x"), Err(K::Usage(USAGE_IN)));
        assert_eq!(cmd("in A cat /x > y"), Err(K::RedirectNotEcho("cat")));
    }

    #[test]
    fn as_prefixes() {
        let Ok(line) = one("  as 1000 as $U echo 1 > /x # c") else {
            unreachable!("parses")
        };
        assert_eq!(line.users, 2);
        let words: Vec<String> = line.words().map(|w| w.to_string()).collect();
        assert_eq!(words, vec!["1000", "${U}", "/x", "1"]);
        assert_eq!(line.op.name(), "echo");
        assert_eq!(&*line.text, "as 1000 as $U echo 1 > /x");
        assert_eq!(cmd("as 1000"), Err(K::Usage("as UID COMMAND...")));
        assert_eq!(cmd("as"), Err(K::Usage("as UID COMMAND...")));
        assert_eq!(cmd("as 1 cat x > y"), Err(K::RedirectNotEcho("cat")));
        assert_eq!(cmd("as 1 as 2 nope"), Err(K::UnknownCommand("nope".into())));
    }

    #[test]
    fn line_numbers_and_bytes() {
        let src = b"# header\n\nmkdir /a\r\n  ls /a # x\n\necho 'oops\nls /\n";
        let e = Script::parse(src);
        assert_eq!(
            e,
            Err(ParseError {
                line: 6,
                kind: K::UnterminatedQuote('\'')
            })
        );
        let Err(e) = Script::parse(b"ls /\nfrob\n") else {
            unreachable!("refused")
        };
        assert_eq!(alloc::format!("{e}"), "line 2: unknown command frob");
        assert_eq!(
            Script::parse(b"ls /\nls /\xff\n"),
            Err(ParseError {
                line: 2,
                kind: K::InvalidUtf8
            })
        );
        assert_eq!(
            Script::parse(b"ls /a\0b"),
            Err(ParseError {
                line: 1,
                kind: K::NulByte
            })
        );
        let Ok(s) = Script::parse(b"# header\n\nmkdir /a\r\n  ls /a # x\n") else {
            unreachable!("parses")
        };
        let cmds: Vec<(usize, &str)> = s.commands().collect();
        assert_eq!(cmds, vec![(3, "mkdir /a"), (4, "ls /a")]);
        assert_eq!(s.len(), 2);
        assert!(!s.is_empty());
        assert!(Script::parse(b"").is_ok_and(|s| s.is_empty()));
        assert!(Script::parse("echo 'é' > /x".as_bytes()).is_ok());
        assert_eq!(check_line(7, b"ls /x"), Ok(()));
        assert_eq!(
            check_line(7, b"ls 'x"),
            Err(ParseError {
                line: 7,
                kind: K::UnterminatedQuote('\'')
            })
        );
    }

    #[test]
    fn lines_are_capped_at_max_arg_strlen() {
        // Linux include/uapi/linux/binfmts.h: MAX_ARG_STRLEN is 32 pages; a longer
        // argument is E2BIG from execve.
        assert_eq!(MAX_LINE, 131_072);
        let fits = alloc::format!("echo {} > /x", "a".repeat(MAX_LINE - 10));
        assert_eq!(fits.len(), MAX_LINE);
        assert!(Script::parse(fits.as_bytes()).is_ok());
        // A CRLF line end is not part of the line.
        assert!(Script::parse(alloc::format!("{fits}\r\n").as_bytes()).is_ok());
        let long = alloc::format!("{fits}a");
        let src = alloc::format!("ls /\n{long}\nls /\n");
        assert_eq!(
            Script::parse(src.as_bytes()),
            Err(ParseError {
                line: 2,
                kind: K::LineTooLong
            })
        );
        let text = K::LineTooLong.to_string();
        assert!(text.contains("E2BIG") && text.contains("131072"), "{text}");
    }
}
