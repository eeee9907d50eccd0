#![forbid(unsafe_code)]
//! `gpc`: run `.cgsh` scripts on the simulated machine, or type them in a shell.

use std::cell::RefCell;
use std::ffi::OsString;
use std::io::{self, BufRead, IsTerminal, Read, Seek, Write};
use std::process::ExitCode;
use std::rc::Rc;

use gpc_script::{check_line, Mode, ParseError, ParseErrorKind, Session, PARSE_ERROR_EXIT_STATUS};
use gpc_sim::lines::{self, LineRead};
use gpc_sim::output::StdOutput;
use gpc_sim::shell::{self, InputError, Next, Shell};
use gpc_sim::SimMachine;

const USAGE: &str = "\
gpc: Generic Process Containers (Linux cgroup v1) on a simulated machine

Usage:
  gpc run [--echo] FILE     run a .cgsh script (FILE '-' reads standard input)
  gpc shell [--echo]        type .cgsh commands one line at a time
  gpc help [COMMAND]        this help, or a subcommand's or script command's
  gpc --version

Run `gpc COMMAND --help` for more. The script language is shared/sim-scripts/FORMAT.md.
";

const RUN_HELP: &str = "\
Usage: gpc run [--echo] FILE

Runs the .cgsh script FILE ('-': standard input) on a fresh simulated machine
(CPUs 0-3, memory nodes 0-1, init as pid 1, nothing mounted, /proc present).

A FILE is parsed whole first: a script that cannot be parsed, or a file that
cannot be read, runs nothing and exits with status 2 (the line is named on stderr).
Standard input (and a FILE that is not a regular file, such as a pipe) is read and
run line by line, in memory that does not grow with the script: a line that cannot
be parsed stops it there with status 2, after the lines before it have run. A line
is at most 131072 bytes (Linux's MAX_ARG_STRLEN; a longer one is an E2BIG parse
error). Otherwise every command runs in order; a command that fails reports its
errno and the script goes on, and the exit status is 0.

Options:
  --echo      print FORMAT.md's transcript: `$ COMMAND` before each command and
              `error: ERRNO` for a failure (what shared/sim-scripts/compare.sh reads);
              without it, failures go to stderr as `FILE: line N: CMD: ERRNO (...)`
  -h, --help  this help

ps prints `PID TGID UID STATE CPU_MS MEM` per task, no header (state R busy,
S idle, D frozen). init is idle unless told `busy 1`; `spawn` under `as UID` makes
a task of that user.
";

const SHELL_HELP: &str = "\
Usage: gpc shell [--echo]

An interactive session on one simulated machine: each line is a .cgsh command
(variables set by spawn/fork/thread stay set). On a terminal there is line editing,
history and tab completion of commands and paths; otherwise lines are read from
standard input without a prompt. `help` lists the commands, `quit` (or `exit` alone,
or end of input) leaves.

Options:
  --echo      print `$ COMMAND` and `error: ERRNO` lines, as `gpc run --echo`
  -h, --help  this help
";

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
enum Cli {
    Help(Option<String>),
    Version,
    Run { file: OsString, echo: bool },
    Shell { echo: bool },
}

fn parse_cli(args: impl IntoIterator<Item = OsString>) -> Result<Cli, String> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let sub = match p.next().map_err(|e| e.to_string())? {
        Some(Short('h') | Long("help")) => return Ok(Cli::Help(None)),
        Some(Short('V') | Long("version")) => return Ok(Cli::Version),
        Some(Value(v)) => v.string().map_err(|e| e.to_string())?,
        Some(other) => return Err(other.unexpected().to_string()),
        None => return Err(String::from("missing command")),
    };
    match sub.as_str() {
        "run" => {
            let (mut echo, mut file) = (false, None);
            while let Some(arg) = p.next().map_err(|e| e.to_string())? {
                match arg {
                    Long("echo") => echo = true,
                    Short('h') | Long("help") => return Ok(Cli::Help(Some(sub))),
                    Value(v) if file.is_none() => file = Some(v),
                    other => return Err(other.unexpected().to_string()),
                }
            }
            let file = file.ok_or_else(|| String::from("run: missing FILE"))?;
            Ok(Cli::Run { file, echo })
        }
        "shell" => {
            let mut echo = false;
            while let Some(arg) = p.next().map_err(|e| e.to_string())? {
                match arg {
                    Long("echo") => echo = true,
                    Short('h') | Long("help") => return Ok(Cli::Help(Some(sub))),
                    other => return Err(other.unexpected().to_string()),
                }
            }
            Ok(Cli::Shell { echo })
        }
        "help" => {
            let topic = match p.next().map_err(|e| e.to_string())? {
                Some(Value(v)) => Some(v.string().map_err(|e| e.to_string())?),
                Some(Short('h') | Long("help")) | None => None,
                Some(other) => return Err(other.unexpected().to_string()),
            };
            if let Some(extra) = p.next().map_err(|e| e.to_string())? {
                return Err(extra.unexpected().to_string());
            }
            Ok(Cli::Help(topic))
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

fn help_text(topic: Option<&str>) -> String {
    match topic {
        None => String::from(USAGE),
        Some("run") => String::from(RUN_HELP),
        Some("shell") => String::from(SHELL_HELP),
        Some("help") => String::from(USAGE),
        Some(cmd) => shell::help(Some(cmd)),
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let cli = match parse_cli(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gpc: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match cli {
        Cli::Help(topic) => {
            print!("{}", help_text(topic.as_deref()));
            ExitCode::SUCCESS
        }
        Cli::Version => {
            println!("gpc {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Cli::Run { file, echo } => run_file(&file, echo),
        Cli::Shell { echo } => run_shell(echo),
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

fn run_file(file: &OsString, echo: bool) -> ExitCode {
    let name = file.to_string_lossy().into_owned();
    let cannot_read = |e: io::Error| {
        eprintln!("gpc: cannot read {name}: {e}");
        exit_status(PARSE_ERROR_EXIT_STATUS)
    };
    if file == "-" {
        let stdin = io::stdin();
        return run_stream(&name, &mut io::BufReader::new(stdin.lock()), echo);
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
    run_stream(&name, &mut io::BufReader::new(f), echo)
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
/// refused it, unless it changed since). The transcript is flushed whenever the input
/// has nothing more buffered, so a script fed through a pipe prints as it runs.
fn run_stream<R: Read>(name: &str, input: &mut io::BufReader<R>, echo: bool) -> ExitCode {
    let mut machine = match SimMachine::new() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("gpc: cannot start the machine: {e}");
            return ExitCode::from(1);
        }
    };
    let mode = if echo { Mode::Echo } else { Mode::Plain };
    let mut out = StdOutput::new(
        io::BufWriter::new(io::stdout().lock()),
        format!("{name}: "),
        false,
    );
    let mut session = Session::new(mode);
    let mut buf = Vec::new();
    let mut status = ExitCode::SUCCESS;
    loop {
        if input.buffer().is_empty() {
            if let Err(e) = out.finish() {
                return output_failed(&e);
            }
        }
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
            if let Err(e) = out.finish() {
                return output_failed(&e);
            }
            eprintln!("gpc: {name}: {e}");
            status = exit_status(PARSE_ERROR_EXIT_STATUS);
            break;
        }
    }
    match out.finish() {
        Ok(()) => status,
        Err(e) => output_failed(&e),
    }
}

fn run_shell(echo: bool) -> ExitCode {
    let machine = match SimMachine::new() {
        Ok(m) => Rc::new(RefCell::new(m)),
        Err(e) => {
            eprintln!("gpc: cannot start the machine: {e}");
            return ExitCode::from(1);
        }
    };
    let mut shell = Shell::new(machine, echo);
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
        .completion_type(rustyline::CompletionType::List)
        .build();
    let mut editor: rustyline::Editor<Helper, rustyline::history::DefaultHistory> =
        match rustyline::Editor::with_config(config) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("gpc: cannot start the line editor: {e}");
                return ExitCode::from(1);
            }
        };
    editor.set_helper(Some(Helper {
        machine: shell.machine(),
    }));
    println!(
        "gpc shell: a simulated machine with 4 CPUs and 2 memory nodes. `help` lists commands."
    );
    let mut out = StdOutput::new(io::stdout(), String::new(), true);
    loop {
        match editor.readline("gpc# ") {
            Ok(line) => {
                let next = shell.run_line(&line, &mut out);
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
    ExitCode::SUCCESS
}

/// The line editor's completion of commands and paths.
struct Helper {
    machine: Rc<RefCell<SimMachine>>,
}

impl rustyline::completion::Completer for Helper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        match self.machine.try_borrow() {
            Ok(m) => Ok(shell::complete(&m, line, pos)),
            Err(_) => Ok((pos, Vec::new())),
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

    #[test]
    fn command_lines() {
        assert_eq!(cli(&["--help"]), Ok(Cli::Help(None)));
        assert_eq!(cli(&["-V"]), Ok(Cli::Version));
        assert_eq!(
            cli(&["run", "--echo", "x.cgsh"]),
            Ok(Cli::Run {
                file: "x.cgsh".into(),
                echo: true
            })
        );
        assert_eq!(
            cli(&["run", "x.cgsh", "--echo"]),
            Ok(Cli::Run {
                file: "x.cgsh".into(),
                echo: true
            })
        );
        assert_eq!(
            cli(&["run", "-"]),
            Ok(Cli::Run {
                file: "-".into(),
                echo: false
            })
        );
        assert_eq!(cli(&["run", "--help"]), Ok(Cli::Help(Some("run".into()))));
        assert_eq!(cli(&["shell", "-h"]), Ok(Cli::Help(Some("shell".into()))));
        assert_eq!(cli(&["shell"]), Ok(Cli::Shell { echo: false }));
        assert_eq!(cli(&["help", "spawn"]), Ok(Cli::Help(Some("spawn".into()))));
        assert!(cli(&[]).is_err());
        assert!(cli(&["run"]).is_err());
        assert!(cli(&["run", "a", "b"]).is_err());
        assert!(cli(&["run", "--bogus", "a"]).is_err());
        assert!(cli(&["frob"]).is_err());
        assert!(help_text(Some("mount")).contains("mount -t cgroup"));
    }
}
