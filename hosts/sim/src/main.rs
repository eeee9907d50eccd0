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
use gpc_sim::{history, layout};

const USAGE: &str = "\
gpc: Generic Process Containers (Linux cgroup v1) on a simulated machine

Usage:
  gpc run [--echo] [--layout NAME] FILE
                            run a .cgsh script (FILE '-' reads standard input)
  gpc shell [--echo] [--layout NAME]
                            type .cgsh commands one line at a time
  gpc help [COMMAND]        this help, or a subcommand's or script command's
  gpc --version

Run `gpc COMMAND --help` for more. The script language is shared/sim-scripts/FORMAT.md.
";

const RUN_HELP: &str = "\
Usage: gpc run [--echo] [--layout NAME] FILE

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
  --layout NAME
              mount the hierarchies as a distribution does before the script:
              `v1` (systemd's cgroup v1 layout under /sys/fs/cgroup), `none` (default)
  -h, --help  this help

ps prints `PID TGID UID STATE CPU_MS MEM` per task (state R busy, S idle,
D frozen); with --echo exactly these, as FORMAT.md; without it a header line
and a CGROUP column (the task's /proc/PID/cgroup lines joined by commas). init is idle unless told `busy 1`; `spawn` under `as UID` makes
a task of that user.
";

const SHELL_HELP: &str = "\
Usage: gpc shell [--echo] [--layout NAME]

An interactive session on one simulated machine: each line is a .cgsh command
(variables set by spawn/fork/thread stay set). On a terminal there is line editing,
history and tab completion of commands and paths; otherwise lines are read from
standard input without a prompt. `help` lists the commands, `quit` (or `exit` alone,
or end of input) leaves. History is kept across sessions in $GPC_HISTFILE, else
$XDG_STATE_HOME/gpc/history, else ~/.local/state/gpc/history (mode 0600, the last
1000 lines; GPC_HISTFILE= keeps none). Without --echo, `cat` of several files
prints `FILE:LINE` per line, as `grep . FILES`.

Options:
  --echo      print `$ COMMAND` and `error: ERRNO` lines, as `gpc run --echo`
  --layout NAME
              mount the hierarchies as a distribution does: `v1`, `none` (default)
  -h, --help  this help
";

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
enum Cli {
    Help(Option<String>),
    Version,
    Run {
        file: OsString,
        echo: bool,
        layout: String,
    },
    Shell {
        echo: bool,
        layout: String,
    },
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
            let (mut echo, mut file, mut layout) = (false, None, String::from("none"));
            while let Some(arg) = p.next().map_err(|e| e.to_string())? {
                match arg {
                    Long("echo") => echo = true,
                    Long("layout") => layout = layout_name(&mut p)?,
                    Short('h') | Long("help") => return Ok(Cli::Help(Some(sub))),
                    Value(v) if file.is_none() => file = Some(v),
                    other => return Err(other.unexpected().to_string()),
                }
            }
            let file = file.ok_or_else(|| String::from("run: missing FILE"))?;
            Ok(Cli::Run { file, echo, layout })
        }
        "shell" => {
            let (mut echo, mut layout) = (false, String::from("none"));
            while let Some(arg) = p.next().map_err(|e| e.to_string())? {
                match arg {
                    Long("echo") => echo = true,
                    Long("layout") => layout = layout_name(&mut p)?,
                    Short('h') | Long("help") => return Ok(Cli::Help(Some(sub))),
                    other => return Err(other.unexpected().to_string()),
                }
            }
            Ok(Cli::Shell { echo, layout })
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

/// The value of `--layout`, one of [`layout::NAMES`].
fn layout_name(p: &mut lexopt::Parser) -> Result<String, String> {
    use lexopt::ValueExt as _;
    let name = p
        .value()
        .map_err(|e| e.to_string())?
        .string()
        .map_err(|e| e.to_string())?;
    if layout::NAMES.contains(&name.as_str()) {
        Ok(name)
    } else {
        Err(format!(
            "unknown layout {name:?} (known: {})",
            layout::NAMES.join(", ")
        ))
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
        Cli::Run { file, echo, layout } => run_file(&file, echo, &layout),
        Cli::Shell { echo, layout } => run_shell(echo, &layout),
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

fn run_file(file: &OsString, echo: bool, layout: &str) -> ExitCode {
    let name = file.to_string_lossy().into_owned();
    let cannot_read = |e: io::Error| {
        eprintln!("gpc: cannot read {name}: {e}");
        exit_status(PARSE_ERROR_EXIT_STATUS)
    };
    if file == "-" {
        let stdin = io::stdin();
        return run_stream(&name, &mut io::BufReader::new(stdin.lock()), echo, layout);
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
    run_stream(&name, &mut io::BufReader::new(f), echo, layout)
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
fn run_stream<R: Read>(
    name: &str,
    input: &mut io::BufReader<R>,
    echo: bool,
    layout: &str,
) -> ExitCode {
    let Some(mut machine) = start_machine(layout) else {
        return ExitCode::from(1);
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

    #[test]
    fn command_lines() {
        assert_eq!(cli(&["--help"]), Ok(Cli::Help(None)));
        assert_eq!(cli(&["-V"]), Ok(Cli::Version));
        assert_eq!(
            cli(&["run", "--echo", "x.cgsh"]),
            Ok(Cli::Run {
                file: "x.cgsh".into(),
                echo: true,
                layout: "none".into()
            })
        );
        assert_eq!(
            cli(&["run", "x.cgsh", "--echo"]),
            Ok(Cli::Run {
                file: "x.cgsh".into(),
                echo: true,
                layout: "none".into()
            })
        );
        assert_eq!(
            cli(&["run", "-"]),
            Ok(Cli::Run {
                file: "-".into(),
                echo: false,
                layout: "none".into()
            })
        );
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
                echo: false,
                layout: "v1".into()
            })
        );
        assert!(cli(&["shell", "--layout", "v3"]).is_err());
        assert!(cli(&["shell", "--layout"]).is_err());
        let env = |v: &'static str| move |n: &str| (n == "LANG").then(|| OsString::from(v));
        assert!(locale_is_utf8(env("en_US.UTF-8")) && locale_is_utf8(env("C.utf8")));
        assert!(!locale_is_utf8(env("C")) && !locale_is_utf8(|_| None));
        assert_eq!(cli(&["help", "spawn"]), Ok(Cli::Help(Some("spawn".into()))));
        assert!(cli(&[]).is_err());
        assert!(cli(&["run"]).is_err());
        assert!(cli(&["run", "a", "b"]).is_err());
        assert!(cli(&["run", "--bogus", "a"]).is_err());
        assert!(cli(&["frob"]).is_err());
        assert!(help_text(Some("mount")).contains("mount -t cgroup"));
    }
}
