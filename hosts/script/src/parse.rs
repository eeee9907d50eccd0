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
//!   `machine` without exactly `cpus=` and `mems=`, a redirection without a target, more
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
//! line ends runs the same). Quotes never span lines.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::lex::{is_name, lex_line, Token, Word};

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
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ParseErrorKind as K;
        match self {
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
        }
    }
}

/// A task operand (`fork PARENT VAR`, `exit VAR`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TaskRef {
    /// A plain name: the variable of that name.
    Var(String),
    /// Anything else (`$A`, `${A}`, `7`): expanded, then read as a number.
    Value(Word),
}

/// One command, its operands still unexpanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Machine {
        cpus: Word,
        mems: Word,
    },
    Mount {
        fstype: Word,
        options: Vec<Word>,
        source: Word,
        dir: Word,
    },
    Umount {
        dir: Word,
    },
    Mkdir {
        path: Word,
        parents: bool,
    },
    Rmdir {
        path: Word,
    },
    Echo {
        words: Vec<Word>,
        newline: bool,
        target: Option<Word>,
    },
    Cat {
        path: Word,
    },
    Ls {
        path: Word,
    },
    Spawn {
        var: String,
    },
    Fork {
        parent: TaskRef,
        var: String,
    },
    Thread {
        parent: TaskRef,
        var: String,
    },
    Exit {
        task: TaskRef,
    },
    Chown {
        owner: Word,
        path: Word,
    },
    Releases,
    Run {
        ms: Word,
    },
    SetBusy {
        task: TaskRef,
        busy: bool,
    },
    Memory {
        task: TaskRef,
        bytes: Word,
        charge: bool,
    },
    Open {
        task: TaskRef,
        dev_type: Word,
        device: Word,
        access: Word,
    },
    Unshare {
        task: TaskRef,
    },
    Ps,
}

impl Command {
    /// The command's name, as written.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Command::Machine { .. } => "machine",
            Command::Mount { .. } => "mount",
            Command::Umount { .. } => "umount",
            Command::Mkdir { .. } => "mkdir",
            Command::Rmdir { .. } => "rmdir",
            Command::Echo { .. } => "echo",
            Command::Cat { .. } => "cat",
            Command::Ls { .. } => "ls",
            Command::Spawn { .. } => "spawn",
            Command::Fork { .. } => "fork",
            Command::Thread { .. } => "thread",
            Command::Exit { .. } => "exit",
            Command::Chown { .. } => "chown",
            Command::Releases => "releases",
            Command::Run { .. } => "run",
            Command::SetBusy { busy: true, .. } => "busy",
            Command::SetBusy { busy: false, .. } => "idle",
            Command::Memory { charge: true, .. } => "alloc",
            Command::Memory { charge: false, .. } => "free",
            Command::Open { .. } => "open",
            Command::Unshare { .. } => "unshare",
            Command::Ps => "ps",
        }
    }
}

/// One command line of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    /// The line number, from 1.
    pub(crate) number: usize,
    /// The command as written (comment and surrounding blanks removed), for `--echo`.
    pub(crate) text: String,
    /// The `as UID` prefixes, outermost first (the innermost one is in force).
    pub(crate) users: Vec<Word>,
    /// The command.
    pub(crate) command: Command,
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
            let err = |kind| ParseError { line: number, kind };
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.contains(&0) {
                return Err(err(ParseErrorKind::NulByte));
            }
            let line = core::str::from_utf8(raw).map_err(|_| err(ParseErrorKind::InvalidUtf8))?;
            let lexed = lex_line(line).map_err(err)?;
            if lexed.tokens.is_empty() {
                continue;
            }
            let (users, command) = parse_tokens(lexed.tokens).map_err(err)?;
            lines.push(Line {
                number,
                text: String::from(lexed.text),
                users,
                command,
            });
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
        self.lines.iter().map(|l| (l.number, l.text.as_str()))
    }
}

/// The words and the redirection of a line, then the `as` prefixes and the command.
fn parse_tokens(tokens: Vec<Token>) -> Result<(Vec<Word>, Command), ParseErrorKind> {
    let mut words = Vec::new();
    let mut target = None;
    let mut iter = tokens.into_iter();
    while let Some(token) = iter.next() {
        match token {
            Token::Word(w) => words.push(w),
            Token::Redirect { .. } => {
                let Some(Token::Word(w)) = iter.next() else {
                    return Err(ParseErrorKind::MissingRedirectTarget);
                };
                if target.is_some() {
                    return Err(ParseErrorKind::MultipleRedirections);
                }
                target = Some(w);
            }
        }
    }
    let mut users = Vec::new();
    let mut rest = words.as_slice();
    loop {
        let Some((name, args)) = rest.split_first() else {
            return Err(ParseErrorKind::MissingCommand);
        };
        let name = name
            .literal()
            .ok_or(ParseErrorKind::CommandNameNotLiteral)?;
        if name != "as" {
            return Ok((users, parse_command(name, args, target)?));
        }
        match args.split_first() {
            Some((uid, inner)) if !inner.is_empty() => {
                users.push(uid.clone());
                rest = inner;
            }
            _ => return Err(ParseErrorKind::Usage("as UID COMMAND...")),
        }
    }
}

const USAGE_MACHINE: &str = "machine cpus=N mems=M";
const USAGE_MOUNT: &str = "mount -t TYPE [-o OPTIONS] SOURCE DIR";
const USAGE_OPEN: &str = "open TASK c|b MAJOR:MINOR ACCESS";

fn parse_command(
    name: &str,
    args: &[Word],
    target: Option<Word>,
) -> Result<Command, ParseErrorKind> {
    use Command as C;
    if name == "echo" {
        let (newline, words) = match args.split_first() {
            Some((first, rest)) if first.literal() == Some("-n") => (false, rest),
            _ => (true, args),
        };
        return Ok(C::Echo {
            words: words.to_vec(),
            newline,
            target,
        });
    }
    let command = match name {
        "machine" => parse_machine(args)?,
        "mount" => parse_mount(args)?,
        "umount" => C::Umount {
            dir: one_path(args, "umount DIR")?,
        },
        "mkdir" => {
            let (flags, paths) = split_options(args, &["-p"])?;
            match paths.as_slice() {
                [path] => C::Mkdir {
                    path: (*path).clone(),
                    parents: flags != 0,
                },
                _ => return Err(ParseErrorKind::Usage("mkdir [-p] PATH")),
            }
        }
        "rmdir" => C::Rmdir {
            path: one_path(args, "rmdir PATH")?,
        },
        "cat" => C::Cat {
            path: one_path(args, "cat PATH")?,
        },
        "ls" => C::Ls {
            path: one_path(args, "ls PATH")?,
        },
        "spawn" => match args {
            [var] => C::Spawn {
                var: var_name(var)?,
            },
            _ => return Err(ParseErrorKind::Usage("spawn VAR")),
        },
        "fork" => match args {
            [parent, var] => C::Fork {
                parent: task_ref(parent),
                var: var_name(var)?,
            },
            _ => return Err(ParseErrorKind::Usage("fork PARENT VAR")),
        },
        "thread" => match args {
            [parent, var] => C::Thread {
                parent: task_ref(parent),
                var: var_name(var)?,
            },
            _ => return Err(ParseErrorKind::Usage("thread PARENT VAR")),
        },
        "exit" => C::Exit {
            task: one_task(args, "exit TASK")?,
        },
        "chown" => {
            let (_, operands) = split_options(args, &[])?;
            match operands.as_slice() {
                [owner, path] => C::Chown {
                    owner: (*owner).clone(),
                    path: (*path).clone(),
                },
                _ => return Err(ParseErrorKind::Usage("chown UID[:GID] PATH")),
            }
        }
        "releases" => no_args(args, C::Releases, "releases")?,
        "run" => match args {
            [ms] => C::Run { ms: ms.clone() },
            _ => return Err(ParseErrorKind::Usage("run MS")),
        },
        "busy" => C::SetBusy {
            task: one_task(args, "busy TASK")?,
            busy: true,
        },
        "idle" => C::SetBusy {
            task: one_task(args, "idle TASK")?,
            busy: false,
        },
        "alloc" | "free" => match args {
            [task, bytes] => C::Memory {
                task: task_ref(task),
                bytes: bytes.clone(),
                charge: name == "alloc",
            },
            _ if name == "alloc" => return Err(ParseErrorKind::Usage("alloc TASK BYTES")),
            _ => return Err(ParseErrorKind::Usage("free TASK BYTES")),
        },
        "open" => match args {
            [task, dev_type, device, access] => C::Open {
                task: task_ref(task),
                dev_type: dev_type.clone(),
                device: device.clone(),
                access: access.clone(),
            },
            _ => return Err(ParseErrorKind::Usage(USAGE_OPEN)),
        },
        "unshare" => C::Unshare {
            task: one_task(args, "unshare TASK")?,
        },
        "ps" => no_args(args, C::Ps, "ps")?,
        _ => return Err(ParseErrorKind::UnknownCommand(String::from(name))),
    };
    if target.is_some() {
        return Err(ParseErrorKind::RedirectNotEcho(command.name()));
    }
    Ok(command)
}

fn no_args(
    args: &[Word],
    command: Command,
    usage: &'static str,
) -> Result<Command, ParseErrorKind> {
    if args.is_empty() {
        Ok(command)
    } else {
        Err(ParseErrorKind::Usage(usage))
    }
}

fn one_path(args: &[Word], usage: &'static str) -> Result<Word, ParseErrorKind> {
    let (_, operands) = split_options(args, &[])?;
    match operands.as_slice() {
        [path] => Ok((*path).clone()),
        _ => Err(ParseErrorKind::Usage(usage)),
    }
}

fn one_task(args: &[Word], usage: &'static str) -> Result<TaskRef, ParseErrorKind> {
    match args {
        [task] => Ok(task_ref(task)),
        _ => Err(ParseErrorKind::Usage(usage)),
    }
}

fn task_ref(word: &Word) -> TaskRef {
    match word.literal() {
        Some(name) if is_name(name) => TaskRef::Var(String::from(name)),
        _ => TaskRef::Value(word.clone()),
    }
}

fn var_name(word: &Word) -> Result<String, ParseErrorKind> {
    match word.literal() {
        Some(name) if is_name(name) => Ok(String::from(name)),
        _ => Err(ParseErrorKind::BadVariableName(alloc::format!("{word}"))),
    }
}

/// Whether a word is an option (`-x...`, not `-` alone) to a command that takes paths.
fn is_option(word: &Word) -> bool {
    word.starts_with("-") && word.literal() != Some("-")
}

/// getopt-style: flags anywhere (each of `allowed`, which returns a bit mask of those
/// seen), `--` ends the options, any other `-x` is refused; the rest are operands.
fn split_options<'w>(
    args: &'w [Word],
    allowed: &[&str],
) -> Result<(u32, Vec<&'w Word>), ParseErrorKind> {
    let mut flags = 0u32;
    let mut operands = Vec::new();
    let mut options_done = false;
    for arg in args {
        if !options_done && is_option(arg) {
            if arg.literal() == Some("--") {
                options_done = true;
                continue;
            }
            let flag = arg
                .literal()
                .and_then(|a| allowed.iter().position(|f| *f == a));
            match flag {
                Some(bit) => flags |= 1u32.checked_shl(bit as u32).unwrap_or(0),
                None => return Err(ParseErrorKind::UnknownOption(alloc::format!("{arg}"))),
            }
        } else {
            operands.push(arg);
        }
    }
    Ok((flags, operands))
}

/// `machine cpus=N mems=M` (either order).
fn parse_machine(args: &[Word]) -> Result<Command, ParseErrorKind> {
    let mut cpus = None;
    let mut mems = None;
    for arg in args {
        let (slot, value, key) = if let Some(v) = arg.strip_prefix("cpus=") {
            (&mut cpus, v, "cpus=")
        } else if let Some(v) = arg.strip_prefix("mems=") {
            (&mut mems, v, "mems=")
        } else {
            return Err(ParseErrorKind::Usage(USAGE_MACHINE));
        };
        if slot.replace(value).is_some() {
            return Err(ParseErrorKind::DuplicateOption(String::from(key)));
        }
    }
    match (cpus, mems) {
        (Some(cpus), Some(mems)) => Ok(Command::Machine { cpus, mems }),
        _ => Err(ParseErrorKind::Usage(USAGE_MACHINE)),
    }
}

/// `mount`: `-t TYPE`, `-tTYPE`, `-o OPTS`, `-oOPTS` anywhere before `--`; several `-o`
/// are joined with commas (as util-linux does); exactly two operands.
fn parse_mount(args: &[Word]) -> Result<Command, ParseErrorKind> {
    let mut fstype = None;
    let mut options = Vec::new();
    let mut operands = Vec::new();
    let mut options_done = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if options_done || !is_option(arg) {
            operands.push(arg.clone());
            continue;
        }
        let (is_type, value) = match arg.literal() {
            Some("--") => {
                options_done = true;
                continue;
            }
            Some("-t") => (true, iter.next().cloned()),
            Some("-o") => (false, iter.next().cloned()),
            _ => {
                if let Some(v) = arg.strip_prefix("-t") {
                    (true, Some(v))
                } else if let Some(v) = arg.strip_prefix("-o") {
                    (false, Some(v))
                } else {
                    return Err(ParseErrorKind::UnknownOption(alloc::format!("{arg}")));
                }
            }
        };
        let value = value.ok_or(ParseErrorKind::Usage(USAGE_MOUNT))?;
        if !is_type {
            options.push(value);
        } else if fstype.replace(value).is_some() {
            return Err(ParseErrorKind::DuplicateOption(String::from("-t")));
        }
    }
    match (fstype, operands.as_mut_slice()) {
        (Some(fstype), [source, dir]) => Ok(Command::Mount {
            fstype,
            options,
            source: core::mem::take(source),
            dir: core::mem::take(dir),
        }),
        _ => Err(ParseErrorKind::Usage(USAGE_MOUNT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use ParseErrorKind as K;

    fn one(line: &str) -> Result<Line, ParseError> {
        let script = Script::parse(line.as_bytes())?;
        Ok(script.lines.into_iter().next().unwrap_or(Line {
            number: 0,
            text: String::new(),
            users: Vec::new(),
            command: Command::Ps,
        }))
    }

    fn cmd(line: &str) -> Result<Command, ParseErrorKind> {
        one(line).map(|l| l.command).map_err(|e| e.kind)
    }

    fn w(s: &str) -> Word {
        Word::lit(s)
    }

    #[test]
    fn mount_forms() {
        let expect = Ok(Command::Mount {
            fstype: w("cgroup"),
            options: vec![w("cpuset")],
            source: w("cs"),
            dir: w("/cs"),
        });
        assert_eq!(cmd("mount -t cgroup -o cpuset cs /cs"), expect);
        assert_eq!(cmd("mount -o cpuset -t cgroup cs /cs"), expect);
        assert_eq!(cmd("mount -tcgroup -ocpuset cs /cs"), expect);
        assert_eq!(cmd("mount cs -o cpuset /cs -t cgroup"), expect);
        assert_eq!(cmd("mount -t cgroup -o cpuset -- cs /cs"), expect);
        assert_eq!(
            cmd("mount -t cgroup2 none /v2"),
            Ok(Command::Mount {
                fstype: w("cgroup2"),
                options: vec![],
                source: w("none"),
                dir: w("/v2"),
            })
        );
        let Ok(Command::Mount { options, .. }) = cmd("mount -t cgroup -o a -o'b,c' x /y") else {
            unreachable!("parses")
        };
        assert_eq!(options, vec![w("a"), w("b,c")]);
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
        assert_eq!(
            cmd("mkdir -p /a"),
            Ok(Command::Mkdir {
                path: w("/a"),
                parents: true
            })
        );
        assert_eq!(
            cmd("mkdir /a -p"),
            Ok(Command::Mkdir {
                path: w("/a"),
                parents: true
            })
        );
        assert_eq!(
            cmd("mkdir /a"),
            Ok(Command::Mkdir {
                path: w("/a"),
                parents: false
            })
        );
        assert_eq!(
            cmd("mkdir -- -p"),
            Ok(Command::Mkdir {
                path: w("-p"),
                parents: false
            })
        );
        assert_eq!(cmd("mkdir /a /b"), Err(K::Usage("mkdir [-p] PATH")));
        assert_eq!(cmd("mkdir -m 755 /a"), Err(K::UnknownOption("-m".into())));
        assert_eq!(cmd("ls -l /a"), Err(K::UnknownOption("-l".into())));
        assert_eq!(cmd("ls"), Err(K::Usage("ls PATH")));
        assert_eq!(cmd("cat - "), Ok(Command::Cat { path: w("-") }));
        assert_eq!(cmd("spawn A"), Ok(Command::Spawn { var: "A".into() }));
        assert_eq!(cmd("spawn $A"), Err(K::BadVariableName("${A}".into())));
        assert_eq!(cmd("spawn 1A"), Err(K::BadVariableName("1A".into())));
        assert_eq!(
            cmd("fork A B"),
            Ok(Command::Fork {
                parent: TaskRef::Var("A".into()),
                var: "B".into()
            })
        );
        let Ok(Command::Thread {
            parent: TaskRef::Value(_),
            ..
        }) = cmd("thread $A T")
        else {
            unreachable!("a value parent")
        };
        let Ok(Command::Exit {
            task: TaskRef::Value(v),
        }) = cmd("exit 1")
        else {
            unreachable!("a numeric task")
        };
        assert_eq!(v, w("1"));
        assert_eq!(cmd("releases now"), Err(K::Usage("releases")));
        assert_eq!(cmd("ps"), Ok(Command::Ps));
        assert_eq!(cmd("run"), Err(K::Usage("run MS")));
        assert_eq!(cmd("open A c 1:3"), Err(K::Usage(USAGE_OPEN)));
        assert_eq!(cmd("free A"), Err(K::Usage("free TASK BYTES")));
        assert_eq!(
            cmd("frobnicate"),
            Err(K::UnknownCommand("frobnicate".into()))
        );
        assert_eq!(cmd("A=1"), Err(K::UnknownCommand("A=1".into())));
        assert_eq!(cmd("$CMD x"), Err(K::CommandNameNotLiteral));
        assert_eq!(cmd("'ls' /x"), Ok(Command::Ls { path: w("/x") }));
        assert_eq!(
            cmd("machine mems=1 cpus=2"),
            Ok(Command::Machine {
                cpus: w("2"),
                mems: w("1")
            })
        );
        assert_eq!(cmd("machine cpus=2"), Err(K::Usage(USAGE_MACHINE)));
        assert_eq!(
            cmd("machine cpus=2 cpus=3"),
            Err(K::DuplicateOption("cpus=".into()))
        );
        assert_eq!(
            cmd("machine cpus=2 mems=1 x=1"),
            Err(K::Usage(USAGE_MACHINE))
        );
        assert_eq!(cmd("chown -R 1 /x"), Err(K::UnknownOption("-R".into())));
    }

    #[test]
    fn echo_and_redirections() {
        assert_eq!(
            cmd("echo $A > /cg/tasks"),
            Ok(Command::Echo {
                words: vec![Word::var("A")],
                newline: true,
                target: Some(w("/cg/tasks")),
            })
        );
        assert_eq!(
            cmd("echo > /x a b"),
            Ok(Command::Echo {
                words: vec![w("a"), w("b")],
                newline: true,
                target: Some(w("/x"))
            })
        );
        assert_eq!(
            cmd("echo -n 5 >> /x"),
            Ok(Command::Echo {
                words: vec![w("5")],
                newline: false,
                target: Some(w("/x"))
            })
        );
        assert_eq!(
            cmd("echo hello"),
            Ok(Command::Echo {
                words: vec![w("hello")],
                newline: true,
                target: None
            })
        );
        assert_eq!(cmd("echo 1 >"), Err(K::MissingRedirectTarget));
        assert_eq!(cmd("echo 1 > > x"), Err(K::MissingRedirectTarget));
        assert_eq!(cmd("echo 1 > x > y"), Err(K::MultipleRedirections));
        assert_eq!(cmd("cat x > y"), Err(K::RedirectNotEcho("cat")));
        assert_eq!(cmd("> y"), Err(K::MissingCommand));
    }

    #[test]
    fn as_prefixes() {
        let Ok(line) = one("as 1000 as $U echo 1 > /x") else {
            unreachable!("parses")
        };
        assert_eq!(line.users.len(), 2);
        assert_eq!(line.users.first(), Some(&w("1000")));
        assert_eq!(line.command.name(), "echo");
        assert_eq!(line.text, "as 1000 as $U echo 1 > /x");
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
    }
}
