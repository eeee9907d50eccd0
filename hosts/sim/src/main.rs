#![forbid(unsafe_code)]
//! `gpc`: run `.cgsh` scripts on the simulated machine, or type them in a shell.

use std::cell::RefCell;
use std::ffi::OsString;
use std::io::{self, BufRead, IsTerminal, Read, Seek, Write};
use std::process::ExitCode;
use std::rc::Rc;

use gpc_script::{check_line, ParseError, ParseErrorKind, Session, PARSE_ERROR_EXIT_STATUS};
use gpc_sim::cmdline::{Operand, Opt, Program, Sub};
use gpc_sim::lines::{self, LineRead};
use gpc_sim::output::StdOutput;
use gpc_sim::report::{Format, Report};
use gpc_sim::shell::{self, InputError, Next, Shell};
use gpc_sim::SimMachine;
use gpc_sim::{history, layout};

/// The command line, described once: `--help`, the shell completions and the manual
/// page are generated from it (`gpc_sim::cmdline`), and [`parse_cli`] accepts exactly
/// the options listed here (a test checks it). An option is one line of the table of
/// its subcommand.
const PROGRAM: Program = Program {
    name: "gpc",
    about: "Generic Process Containers (Linux cgroup v1) on a simulated machine",
    subs: &[RUN, SHELL, HELP, COMPLETIONS, MAN],
    global: &[
        Opt::flag("help", "This help.").short('h'),
        Opt::flag("version", "The version of gpc.").short('V'),
    ],
    more: "\
Runs .cgsh scripts (a small subset of POSIX sh for cgroup walkthroughs, plus simulation \
commands) on a simulated machine whose cgroup v1 filesystem behaves as Linux 6.18's. \
Run `gpc help COMMAND` for a subcommand, or for a script command (`gpc help mount`).

The script language is specified in doc/script-language.md of the gpc sources; \
`examples/tour.cgsh` is a narrated tour: `gpc run --narrate examples/tour.cgsh`.",
};

const HELP_OPT: Opt = Opt::flag("help", "This help.").short('h');

const RUN: Sub = Sub {
    name: "run",
    operands: "FILE",
    operand: Operand::File,
    about: "run a .cgsh script (FILE '-' reads standard input)",
    text: "\
Runs the .cgsh script FILE ('-': standard input) on a fresh simulated machine (CPUs \
0-3, memory nodes 0-1, init as pid 1, nothing mounted, /proc present).

A FILE is parsed whole first: a script that cannot be parsed, or a file that cannot be \
read, runs nothing and exits with status 2 (the line is named on stderr). Standard \
input (and a FILE that is not a regular file, such as a pipe) is read and run line by \
line, in memory that does not grow with the script: a line that cannot be parsed stops \
it there with status 2, after the lines before it have run. A line is at most 131072 \
bytes (Linux's MAX_ARG_STRLEN; a longer one is an E2BIG parse error). Otherwise every \
command runs in order; a command that fails reports its errno and the script goes on, \
and the exit status is 0 (with --strict, 1 at the first command that does not go as \
the script says).

A command that fails on purpose says so in a comment at the end of its line, which \
every sh and every FORMAT.md runner ignores:

  rmdir /cg/busy   # expect: EBUSY (it still has tasks)

Such a failure is marked as expected; a command that then succeeds, or fails with \
another errno, is reported (plain, --echo: on stderr, as `line N: CMD: ... [expected \
EBUSY]`).",
    opts: &[
        Opt::flag(
            "echo",
            "Print FORMAT.md's transcript. `$ COMMAND` before each command and `error: \
             ERRNO` for a failure (what shared/sim-scripts/compare.sh reads). Without \
             an output option, a failure goes to stderr as `FILE: line N: CMD: ERRNO \
             (...)`.",
        ),
        Opt::flag(
            "narrate",
            "Print the script as a narrated walkthrough. Its comments as prose, each \
             command as `$ COMMAND` with its output below it (both indented), a \
             failure as `error: ERRNO (...)` marked [expected] or [unexpected], and a \
             last line counting the errors.",
        ),
        Opt::flag(
            "csv",
            "Print one CSV record per command. RFC 4180, after a header line: see \
             below.",
        ),
        Opt::flag(
            "json",
            "Print one JSON object per command. One per line (JSON Lines): see below.",
        ),
        Opt::flag(
            "strict",
            "Stop at the first command that does not go as the script says. That is an \
             error without `# expect:`, another errno than it names, or success in \
             spite of it: exit status 1, and `FILE:LINE: COMMAND: ERRNO (...)` on \
             stderr.",
        ),
        Opt::with_value(
            "layout",
            "NAME",
            layout::NAMES,
            "Mount the hierarchies as a distribution does, before the first command. `v1`: \
             systemd's cgroup v1 layout under /sys/fs/cgroup; `none` (the default): \
             nothing mounted.",
        ),
        HELP_OPT,
    ],
    more: "\
--echo, --narrate, --csv and --json exclude each other; --strict goes with any.

Records of --csv and --json, one per command, in this order:

  line         the line number in the script, from 1
  command      the command as written (without its comment)
  result       ok, or the errno name (EBUSY)
  expect       the errno its `# expect:` comment names; empty (CSV) or null (JSON)
  as_expected  true if result is what the script says (expect, or ok without one)
  output       what the command printed, exactly (pids included; a VAR=PID line)

  line,command,result,expect,as_expected,output
  3,rmdir /cg/a,EBUSY,EBUSY,true,
  {\"line\":3,\"command\":\"rmdir /cg/a\",\"result\":\"EBUSY\",\"expect\":\"EBUSY\",\"as_expected\":true,\"output\":\"\"}

ps prints `PID TGID UID STATE CPU_MS MEM RSS SWAP` per task (state R busy, S idle, D \
frozen or waiting for memory; MEM the anonymous bytes allocated, RSS those in memory, SWAP \
those on swap); with --echo exactly these, as FORMAT.md; otherwise after a header line, with a CGROUP \
column (the task's /proc/PID/cgroup lines joined by commas). init is idle unless told `busy 1`; `spawn` under `as UID` makes a task of \
that user.",
};

const SHELL: Sub = Sub {
    name: "shell",
    operands: "",
    operand: Operand::Nothing,
    about: "type .cgsh commands one line at a time",
    text: "\
An interactive session on one simulated machine: each line is a .cgsh command \
(variables set by spawn/fork/thread stay set). On a terminal there is line editing, \
history and tab completion of commands and paths; otherwise lines are read from \
standard input without a prompt. `help` lists the commands, `quit` (or `exit` alone, \
or end of input) leaves. History is kept across sessions in $GPC_HISTFILE, else \
$XDG_STATE_HOME/gpc/history, else ~/.local/state/gpc/history (mode 0600, the last \
1000 lines; GPC_HISTFILE= keeps none). Without --echo, `cat` of several files prints \
`FILE:LINE` per line, as `grep . FILES`.",
    opts: &[
        Opt::flag(
            "echo",
            "Print the commands and their errors. `$ COMMAND` and `error: ERRNO` lines, \
             as `gpc run --echo` prints them.",
        ),
        Opt::with_value(
            "layout",
            "NAME",
            layout::NAMES,
            "Mount the hierarchies as a distribution does, before the first command. `v1`: \
             systemd's cgroup v1 layout under /sys/fs/cgroup; `none` (the default): \
             nothing mounted.",
        ),
        HELP_OPT,
    ],
    more: "",
};

const HELP: Sub = Sub {
    name: "help",
    operands: "[TOPIC]",
    operand: Operand::OneOf(&["run", "shell", "help", "completions", "man"]),
    about: "this help, a subcommand's, or a script command's",
    text: "\
Prints this help, a subcommand's (`gpc help run`), or a script command's synopsis \
(`gpc help mount`). The script language is specified in doc/script-language.md.",
    opts: &[],
    more: "",
};

const COMPLETIONS: Sub = Sub {
    name: "completions",
    operands: "SHELL",
    operand: Operand::OneOf(&["bash", "zsh", "fish"]),
    about: "print the completion script for bash, zsh or fish",
    text: "\
Prints the completion script of gpc for SHELL (bash, zsh or fish) on stdout. The same \
scripts are in hosts/sim/completions/ of the gpc sources.

  gpc completions bash > ~/.local/share/bash-completion/completions/gpc
  gpc completions zsh > ~/.zfunc/_gpc      # a directory of $fpath
  gpc completions fish > ~/.config/fish/completions/gpc.fish",
    opts: &[],
    more: "",
};

const MAN: Sub = Sub {
    name: "man",
    operands: "",
    operand: Operand::Nothing,
    about: "print the manual page (roff)",
    text: "\
Prints gpc's manual page in roff on stdout (`gpc man | man -l -`); the same page is \
hosts/sim/doc/gpc.1 of the gpc sources.",
    opts: &[],
    more: "",
};

/// What `gpc man` names under SEE ALSO.
const SEE_ALSO: &str = "doc/script-language.md (the script language), README.md, and \
    shared/sim-scripts/FORMAT.md (the contract its transcripts follow) of the gpc sources; \
    cgroups(7).";

/// The completion scripts `gpc completions` prints.
const SHELLS: [&str; 3] = ["bash", "zsh", "fish"];

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
enum Cli {
    Help(Option<String>),
    Version,
    Run {
        file: OsString,
        format: Format,
        strict: bool,
        layout: String,
    },
    Shell {
        echo: bool,
        layout: String,
    },
    Completions(String),
    Man,
}

/// The options and operands given to one subcommand, checked against its table.
#[derive(Default)]
struct Given {
    flags: Vec<&'static str>,
    values: Vec<(&'static str, String)>,
    operands: Vec<OsString>,
}

impl Given {
    fn flag(&self, long: &str) -> bool {
        self.flags.contains(&long)
    }

    /// The value of an option that takes one (the last given).
    fn value(&self, long: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(l, _)| *l == long)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads the options and operands of `sub` as its table lists them.
fn parse_sub(sub: &Sub, p: &mut lexopt::Parser) -> Result<Given, String> {
    use lexopt::prelude::*;
    let mut given = Given::default();
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        let opt = match &arg {
            Long(l) => sub.opts.iter().find(|o| o.long == *l),
            Short(c) => sub.opts.iter().find(|o| o.short == Some(*c)),
            Value(_) => None,
        };
        match (opt, arg) {
            (Some(o), _) if o.value.is_some() => {
                let v = p.value().map_err(|e| e.to_string())?;
                let v = v.string().map_err(|e| e.to_string())?;
                if !o.choices.is_empty() && !o.choices.contains(&v.as_str()) {
                    return Err(format!(
                        "{}: unknown {} {v:?}: --{} takes one of {}",
                        sub.name,
                        o.long,
                        o.long,
                        o.choices.join(", ")
                    ));
                }
                given.values.push((o.long, v));
            }
            (Some(o), _) => given.flags.push(o.long),
            (None, Value(v)) => given.operands.push(v),
            (None, other) => return Err(other.unexpected().to_string()),
        }
    }
    Ok(given)
}

fn parse_cli(args: impl IntoIterator<Item = OsString>) -> Result<Cli, String> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let name = match p.next().map_err(|e| e.to_string())? {
        Some(Short('h') | Long("help")) => return Ok(Cli::Help(None)),
        Some(Short('V') | Long("version")) => return Ok(Cli::Version),
        Some(Value(v)) => v.string().map_err(|e| e.to_string())?,
        Some(other) => return Err(other.unexpected().to_string()),
        None => return Err(String::from("missing command")),
    };
    let sub = PROGRAM
        .sub(&name)
        .ok_or_else(|| format!("unknown command {name:?}"))?;
    let given = parse_sub(sub, &mut p)?;
    if given.flag("help") {
        return Ok(Cli::Help(Some(name)));
    }
    let mut operands = given.operands.iter();
    let (first, extra) = (operands.next(), operands.next());
    if let Some(extra) = extra {
        return Err(format!("{name}: unexpected argument {extra:?}"));
    }
    let word = |o: &OsString| {
        o.clone()
            .into_string()
            .map_err(|o| format!("{name}: {o:?} is not UTF-8"))
    };
    match sub.name {
        "run" => {
            let formats = [
                ("echo", Format::Echo),
                ("narrate", Format::Narrate),
                ("csv", Format::Csv),
                ("json", Format::Json),
            ];
            let mut chosen = formats.iter().filter(|(f, _)| given.flag(f));
            let format = chosen.next().map_or(Format::Plain, |(_, f)| *f);
            if chosen.next().is_some() {
                return Err(String::from(
                    "run: --echo, --narrate, --csv and --json exclude each other",
                ));
            }
            let file = first.ok_or_else(|| String::from("run: missing FILE"))?;
            Ok(Cli::Run {
                file: file.clone(),
                format,
                strict: given.flag("strict"),
                layout: layout_of(&given),
            })
        }
        "shell" => match first {
            Some(o) => Err(format!("shell: unexpected argument {o:?}")),
            None => Ok(Cli::Shell {
                echo: given.flag("echo"),
                layout: layout_of(&given),
            }),
        },
        "help" => Ok(Cli::Help(first.map(word).transpose()?)),
        "completions" => {
            let shell = word(first.ok_or_else(|| String::from("completions: missing SHELL"))?)?;
            if SHELLS.contains(&shell.as_str()) {
                Ok(Cli::Completions(shell))
            } else {
                Err(format!("completions: {shell:?} is none of bash, zsh, fish"))
            }
        }
        "man" => match first {
            Some(o) => Err(format!("man: unexpected argument {o:?}")),
            None => Ok(Cli::Man),
        },
        _ => Err(format!("unknown command {name:?}")),
    }
}

/// The `--layout` given (checked against [`layout::NAMES`] by the table), else `none`.
fn layout_of(given: &Given) -> String {
    given.value("layout").unwrap_or("none").to_string()
}

fn help_text(topic: Option<&str>) -> String {
    match topic {
        None => PROGRAM.usage(),
        Some(name) => match PROGRAM.sub(name) {
            Some(sub) if sub.name == "help" => PROGRAM.usage(),
            Some(sub) => PROGRAM.sub_help(sub),
            None => shell::help(Some(name)),
        },
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let cli = match parse_cli(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gpc: {e}\n\n{}", PROGRAM.usage());
            return ExitCode::from(2);
        }
    };
    match cli {
        Cli::Help(topic) => print_out(&help_text(topic.as_deref())),
        Cli::Version => print_out(&format!("gpc {}\n", env!("CARGO_PKG_VERSION"))),
        Cli::Run {
            file,
            format,
            strict,
            layout,
        } => run_file(&file, format, strict, &layout),
        Cli::Shell { echo, layout } => run_shell(echo, &layout),
        Cli::Completions(shell) => print_out(&match shell.as_str() {
            "zsh" => PROGRAM.zsh(),
            "fish" => PROGRAM.fish(),
            _ => PROGRAM.bash(),
        }),
        Cli::Man => print_out(&PROGRAM.man("1", SEE_ALSO)),
    }
}

/// Prints `text` on stdout: status 0, or 1 if it cannot be written (silently for a
/// closed pipe, as `gpc man | head`).
fn print_out(text: &str) -> ExitCode {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => output_failed(&e),
    }
}

fn exit_status(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Reports an output error (silently for a closed pipe) and gives the exit status.
fn output_failed(e: &io::Error) -> ExitCode {
    if e.kind() != io::ErrorKind::BrokenPipe {
        eprintln!("gpc: cannot write the transcript: {e}");
    }
    ExitCode::from(1)
}

fn run_file(file: &OsString, format: Format, strict: bool, layout: &str) -> ExitCode {
    let name = file.to_string_lossy().into_owned();
    let cannot_read = |e: io::Error| {
        eprintln!("gpc: cannot read {name}: {e}");
        exit_status(PARSE_ERROR_EXIT_STATUS)
    };
    if file == "-" {
        let stdin = io::stdin();
        let mut input = io::BufReader::new(stdin.lock());
        return run_stream(&name, &mut input, format, strict, layout);
    }
    let opened = std::fs::File::open(file).and_then(|f| Ok((f.metadata()?.is_file(), f)));
    let (regular, mut f) = match opened {
        Ok(o) => o,
        Err(e) => return cannot_read(e),
    };
    if regular {
        // The documented contract for a file: a script that cannot be parsed runs
        // nothing. A first pass checks every line and keeps none of them.
        let mut input = io::BufReader::new(&mut f);
        match check_stream(&mut input) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("gpc: {name}: {e}");
                return exit_status(PARSE_ERROR_EXIT_STATUS);
            }
            Err(e) => return cannot_read(e),
        }
        drop(input);
        if let Err(e) = f.seek(io::SeekFrom::Start(0)) {
            return cannot_read(e);
        }
    }
    run_stream(&name, &mut io::BufReader::new(f), format, strict, layout)
}

/// Checks every line of `input`: the first parse error, or an error of the reader.
fn check_stream(input: &mut impl BufRead) -> io::Result<Result<(), ParseError>> {
    let mut buf = Vec::new();
    let mut number = 0usize;
    loop {
        number = number.saturating_add(1);
        let checked = match lines::read_line(input, &mut buf)? {
            LineRead::Eof => return Ok(Ok(())),
            LineRead::TooLong => Err(ParseError {
                line: number,
                kind: ParseErrorKind::LineTooLong,
            }),
            LineRead::Line => check_line(number, &buf),
        };
        if checked.is_err() {
            return Ok(checked);
        }
    }
}

/// Runs a script line by line as it is read, on a fresh machine. A line that cannot be
/// parsed stops the script there with status 2 (for a file the first pass has already
/// refused it, unless it changed since); under `--strict`, so does the first command
/// that does not go as the script says, with status 1. The transcript is flushed
/// whenever the input has nothing more buffered, so a script fed through a pipe prints
/// as it runs.
fn run_stream<R: Read>(
    name: &str,
    input: &mut io::BufReader<R>,
    format: Format,
    strict: bool,
    layout: &str,
) -> ExitCode {
    let Some(mut machine) = start_machine(layout) else {
        return ExitCode::from(1);
    };
    let mut out = Report::new(
        io::BufWriter::new(io::stdout().lock()),
        name,
        format,
        strict,
    );
    let mut session = Session::new(format.mode());
    let mut buf = Vec::new();
    let mut status = ExitCode::SUCCESS;
    loop {
        if input.buffer().is_empty() {
            if let Err(e) = out.flush() {
                return output_failed(&e);
            }
        }
        let commands = session.summary().commands;
        let parsed = match lines::read_line(input, &mut buf) {
            Ok(LineRead::Eof) => break,
            Ok(LineRead::Line) => session.run_line(&buf, &mut machine, &mut out),
            Ok(LineRead::TooLong) => Err(session.line_too_long()),
            Err(e) => {
                eprintln!("gpc: cannot read {name}: {e}");
                status = exit_status(PARSE_ERROR_EXIT_STATUS);
                break;
            }
        };
        if let Err(e) = parsed {
            // What ran before the bad line comes first on a terminal too.
            if let Err(e) = out.flush() {
                return output_failed(&e);
            }
            eprintln!("gpc: {name}: {e}");
            status = exit_status(PARSE_ERROR_EXIT_STATUS);
            break;
        }
        if session.summary().commands == commands {
            out.quiet_line(&buf);
        }
        if let Some(stop) = out.stopped() {
            let stop = stop.to_string();
            if let Err(e) = out.finish() {
                return output_failed(&e);
            }
            eprintln!("{stop}");
            return ExitCode::from(1);
        }
    }
    match out.finish() {
        Ok(()) => status,
        Err(e) => output_failed(&e),
    }
}

/// A fresh machine with `layout` mounted; `None` after saying why not.
fn start_machine(layout: &str) -> Option<SimMachine> {
    let mut machine = match SimMachine::new() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("gpc: cannot start the machine: {e}");
            return None;
        }
    };
    if let Err(e) = layout::apply(&mut machine, layout) {
        eprintln!("gpc: {e}");
        return None;
    }
    Some(machine)
}

fn run_shell(echo: bool, layout: &str) -> ExitCode {
    let Some(machine) = start_machine(layout) else {
        return ExitCode::from(1);
    };
    let mut shell = Shell::new(Rc::new(RefCell::new(machine)), echo);
    if io::stdin().is_terminal() {
        interactive(&mut shell)
    } else {
        let mut out = StdOutput::new(io::stdout().lock(), String::new(), true);
        match shell.run_lines(io::stdin().lock(), &mut out) {
            Ok(()) => ExitCode::SUCCESS,
            Err(InputError::Read(e)) => {
                eprintln!("gpc: cannot read standard input: {e}");
                ExitCode::from(2)
            }
            Err(InputError::Write(e)) => output_failed(&e),
        }
    }
}

fn interactive(shell: &mut Shell) -> ExitCode {
    use rustyline::error::ReadlineError;
    let config = rustyline::Config::builder()
        .auto_add_history(true)
        .max_history_size(history::MAX_ENTRIES)
        .and_then(|c| c.history_ignore_dups(true))
        .map(|c| c.completion_type(rustyline::CompletionType::List).build());
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gpc: cannot configure the line editor: {e}");
            return ExitCode::from(1);
        }
    };
    let mut editor: rustyline::Editor<Helper, rustyline::history::DefaultHistory> =
        match rustyline::Editor::with_config(config) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("gpc: cannot start the line editor: {e}");
                return ExitCode::from(1);
            }
        };
    let cwd = Rc::new(RefCell::new(String::from("/")));
    editor.set_helper(Some(Helper {
        machine: shell.machine(),
        cwd: Rc::clone(&cwd),
    }));
    shell.set_ascii(!locale_is_utf8(|n| std::env::var_os(n)));
    let histfile = history::file();
    if let Some(path) = &histfile {
        match editor.load_history(path) {
            Ok(()) => {}
            Err(ReadlineError::Io(e)) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => eprintln!("gpc: warning: cannot read history {}: {e}", path.display()),
        }
    }
    println!(
        "gpc shell: a simulated machine with 4 CPUs and 2 memory nodes. `help` lists commands."
    );
    let mut out = StdOutput::new(io::stdout(), String::new(), true);
    loop {
        let prompt = format!("gpc:{}# ", shell.cwd());
        match editor.readline(&prompt) {
            Ok(line) => {
                let next = shell.run_line(&line, &mut out);
                if let Ok(mut c) = cwd.try_borrow_mut() {
                    shell.cwd().clone_into(&mut c);
                }
                if let Err(e) = out.finish() {
                    return output_failed(&e);
                }
                if next == Next::Quit {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("gpc: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let _ = io::stdout().flush();
    if let Some(path) = &histfile {
        let saved = history::prepare(path)
            .map_err(ReadlineError::Io)
            .and_then(|()| editor.save_history(path));
        if let Err(e) = saved {
            eprintln!("gpc: warning: cannot save history {}: {e}", path.display());
        }
    }
    ExitCode::SUCCESS
}

/// Whether the locale's character set is UTF-8 (`LC_ALL`, else `LC_CTYPE`, else `LANG`,
/// as setlocale(3) looks; none set is the C locale, ASCII).
fn locale_is_utf8(var: impl Fn(&str) -> Option<OsString>) -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|n| var(n).filter(|v| !v.is_empty()))
        .is_some_and(|v| {
            let v = v.to_string_lossy().to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

/// The line editor's completion of commands and paths (relative ones from the
/// working directory).
struct Helper {
    machine: Rc<RefCell<SimMachine>>,
    cwd: Rc<RefCell<String>>,
}

impl rustyline::completion::Completer for Helper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        match (self.machine.try_borrow(), self.cwd.try_borrow()) {
            (Ok(m), Ok(cwd)) => Ok(shell::complete_in(&m, &cwd, line, pos)),
            _ => Ok((pos, Vec::new())),
        }
    }
}

impl rustyline::hint::Hinter for Helper {
    type Hint = String;
}
impl rustyline::highlight::Highlighter for Helper {}
impl rustyline::validate::Validator for Helper {}
impl rustyline::Helper for Helper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Result<Cli, String> {
        parse_cli(args.iter().map(OsString::from))
    }

    fn run(file: &str, format: Format, strict: bool) -> Result<Cli, String> {
        Ok(Cli::Run {
            file: file.into(),
            format,
            strict,
            layout: "none".into(),
        })
    }

    #[test]
    fn command_lines() {
        assert_eq!(cli(&["--help"]), Ok(Cli::Help(None)));
        assert_eq!(cli(&["-V"]), Ok(Cli::Version));
        assert_eq!(
            cli(&["run", "--echo", "x.cgsh"]),
            run("x.cgsh", Format::Echo, false)
        );
        assert_eq!(
            cli(&["run", "x.cgsh", "--echo"]),
            run("x.cgsh", Format::Echo, false)
        );
        assert_eq!(cli(&["run", "-"]), run("-", Format::Plain, false));
        assert_eq!(
            cli(&["run", "--strict", "--narrate", "t"]),
            run("t", Format::Narrate, true)
        );
        assert_eq!(cli(&["run", "--csv", "t"]), run("t", Format::Csv, false));
        assert_eq!(
            cli(&["run", "t", "--json", "--strict"]),
            run("t", Format::Json, true)
        );
        assert!(cli(&["run", "--echo", "--json", "t"]).is_err());
        assert!(cli(&["run", "--csv", "--narrate", "t"]).is_err());
        assert_eq!(cli(&["run", "--help"]), Ok(Cli::Help(Some("run".into()))));
        assert_eq!(cli(&["shell", "-h"]), Ok(Cli::Help(Some("shell".into()))));
        assert_eq!(
            cli(&["shell"]),
            Ok(Cli::Shell {
                echo: false,
                layout: "none".into()
            })
        );
        assert_eq!(
            cli(&["shell", "--layout", "v1"]),
            Ok(Cli::Shell {
                echo: false,
                layout: "v1".into()
            })
        );
        assert_eq!(
            cli(&["run", "--layout=v1", "-"]),
            Ok(Cli::Run {
                file: "-".into(),
                format: Format::Plain,
                strict: false,
                layout: "v1".into()
            })
        );
        assert!(cli(&["shell", "--layout", "v3"]).is_err());
        assert!(cli(&["shell", "--layout"]).is_err());
        let env = |v: &'static str| move |n: &str| (n == "LANG").then(|| OsString::from(v));
        assert!(locale_is_utf8(env("en_US.UTF-8")) && locale_is_utf8(env("C.utf8")));
        assert!(!locale_is_utf8(env("C")) && !locale_is_utf8(|_| None));
        assert_eq!(cli(&["help", "spawn"]), Ok(Cli::Help(Some("spawn".into()))));
        assert_eq!(
            cli(&["completions", "zsh"]),
            Ok(Cli::Completions("zsh".into()))
        );
        assert_eq!(cli(&["man"]), Ok(Cli::Man));
        assert!(cli(&["completions", "tcsh"]).is_err());
        assert!(cli(&["completions"]).is_err());
        assert!(cli(&["man", "x"]).is_err());
        assert!(cli(&[]).is_err());
        assert!(cli(&["run"]).is_err());
        assert!(cli(&["run", "a", "b"]).is_err());
        assert!(cli(&["run", "--bogus", "a"]).is_err());
        assert!(cli(&["shell", "x"]).is_err());
        assert!(cli(&["frob"]).is_err());
        assert!(help_text(Some("mount")).contains("-t cgroup -o OPTS"));
    }

    /// Every option of the table is one the parser takes (the table is what help,
    /// completions and the man page show).
    #[test]
    fn the_parser_takes_every_option_of_the_table() {
        for sub in PROGRAM.subs {
            for opt in sub.opts {
                let mut args = vec![sub.name.to_string(), format!("--{}", opt.long)];
                if let Some(value) = opt.value {
                    args.push(opt.choices.first().unwrap_or(&value).to_string());
                }
                match sub.operand {
                    Operand::File => args.push("x.cgsh".into()),
                    Operand::OneOf(words) => args.extend(words.first().map(|w| w.to_string())),
                    Operand::Nothing => {}
                }
                let parsed = parse_cli(args.iter().map(OsString::from));
                assert!(parsed.is_ok(), "{args:?}: {parsed:?}");
                if let Some(c) = opt.short {
                    args[1] = format!("-{c}");
                    let parsed = parse_cli(args.iter().map(OsString::from));
                    assert!(parsed.is_ok(), "{args:?}: {parsed:?}");
                }
            }
        }
        for opt in PROGRAM.global {
            assert!(cli(&[&format!("--{}", opt.long)]).is_ok(), "{}", opt.long);
        }
    }

    #[test]
    fn help_points_to_the_language_specification() {
        for text in [help_text(None), help_text(Some("help"))] {
            assert!(text.contains("doc/script-language.md"), "{text}");
        }
        let man = PROGRAM.man("1", SEE_ALSO);
        assert!(man.contains("doc/script\\-language.md"), "{man}");
        let run = help_text(Some("run"));
        for word in [
            "--narrate",
            "--strict",
            "--csv",
            "--json",
            "# expect:",
            "as_expected",
        ] {
            assert!(run.contains(word), "{word}: {run}");
        }
    }
}
