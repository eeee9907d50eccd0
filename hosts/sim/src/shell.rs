//! `gpc shell`: the `.cgsh` language one line at a time against one machine.
//!
//! The shell is a [`Session`] of the interpreter, the very one `gpc run -` streams a
//! script through: each line is parsed and run as it comes, with the variables of the
//! lines before it, so a line means in the shell exactly what it means in a script
//! (`fork A "B"` sets `B`), and a line costs the same whatever came before it. A line
//! that cannot be parsed is reported and the session goes on; so is a line longer than
//! [`gpc_script::MAX_LINE`] bytes, which is never read whole.
//!
//! Besides the script commands, the shell knows `help [COMMAND]` and `quit` (or `exit`
//! alone, or end of input), recognised with the script language's own lexer.
//!
//! A `run` that takes more than a second of real time reports how far it is on stderr,
//! about once a second (`Progress`); what it prints on stdout and does to the machine
//! is the same as without.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::{self, BufRead};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gpc_script::{literal_words, MachineConfig, Mode, Output, ParseError, Pid, Session, MAX_LINE};

use crate::lines::{self, LineRead};
use crate::machine::SimMachine;

/// The script commands: name, synopsis, what it does.
pub const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "machine",
        "machine [cpus=N] [mems=M] [mem=BYTES] [swap=BYTES] [v2=LIST] [rdma=DEVS] [misc=RES:N,...] [disks=LIST]",
        "reconfigure the machine (first command only): CPUs, memory nodes, memory, swap, controllers offered on v2 (all, none, or a,b), RDMA devices (mlx4_0,...), misc capacities (sev:16,tdx:4), disks (MAJ:MIN[@BPS[/IOPS]],...)",
    ),
    (
        "mount",
        "mount [-t cgroup -o OPTS NAME DIR]",
        "mount a v1 hierarchy (DIR is made if missing); also -t cpuset; alone: list mounts",
    ),
    (
        "umount",
        "umount DIR",
        "detach a mount (the hierarchy lives on while it has groups)",
    ),
    (
        "mkdir",
        "mkdir [-p] PATH",
        "make a group, or a plain directory outside mounts",
    ),
    (
        "rmdir",
        "rmdir PATH",
        "remove a group or an empty plain directory",
    ),
    (
        "echo",
        "echo [-n] WORDS [> PATH]",
        "write WORDS and a newline to PATH in one write(2), or print them",
    ),
    (
        "cat",
        "cat PATH...",
        "print files (several: FILE:LINE per line in the shell, concatenated in a script)",
    ),
    ("ls", "ls PATH", "list a directory, sorted"),
    (
        "cd",
        "cd [DIR]",
        "change the working directory (alone: to /); relative paths and globs (* ? [..]) start there",
    ),
    ("pwd", "pwd", "print the working directory"),
    (
        "tree",
        "tree [PATH]",
        "groups and their tasks as a tree (systemd-cgls); alone: every hierarchy",
    ),
    (
        "top",
        "top [-b] [-d MS] [-n N]",
        "per-group tasks, %CPU, memory (systemd-cgtop); advances the clock MS (1000) N times",
    ),
    (
        "chown",
        "chown UID[:GID] PATH",
        "change the owner of a group directory or file",
    ),
    (
        "as",
        "as UID COMMAND...",
        "run one command as UID (gid = UID, no capabilities)",
    ),
    (
        "spawn",
        "spawn VAR",
        "a new process, child of init, in init's groups",
    ),
    (
        "fork",
        "fork PARENT VAR",
        "PARENT forks; the child is in PARENT's groups",
    ),
    (
        "thread",
        "thread PARENT VAR",
        "a new thread in PARENT's thread group",
    ),
    (
        "exit",
        "exit VAR",
        "the task exits (a leader takes its whole thread group along)",
    ),
    (
        "releases",
        "releases",
        "the paths the release agent was called with since last asked",
    ),
    (
        "run",
        "run MS",
        "advance the clock: schedule busy tasks by cpuset, cpu.shares, quota",
    ),
    (
        "busy",
        "busy VAR",
        "the task wants the CPU (the default for new tasks)",
    ),
    ("idle", "idle VAR", "the task does not want the CPU"),
    (
        "alloc",
        "alloc VAR BYTES",
        "charge memory (K, M, G, T suffixes) to the task's memory group",
    ),
    ("free", "free VAR BYTES", "uncharge memory"),
    (
        "readfile",
        "readfile VAR FILE BYTES",
        "read BYTES of FILE (any name) through the page cache, charged to the task's memory group",
    ),
    (
        "writefile",
        "writefile VAR FILE BYTES",
        "write BYTES of FILE: dirty page cache until written back",
    ),
    (
        "io",
        "io VAR MAJ:MIN read|write BYTES",
        "block I/O: the task waits (D) until run completes it at the disk's and the io group's rate",
    ),
    (
        "open",
        "open VAR TYPE MAJOR:MINOR ACCESS",
        "open a device node (c or b, rwm): EPERM if denied",
    ),
    (
        "rdma",
        "rdma charge|uncharge VAR DEV hca_handle|hca_object [N]",
        "charge RDMA resources to the task's rdma group (EAGAIN over rdma.max), or give them back",
    ),
    (
        "misc",
        "misc charge|uncharge VAR sev|sev_es|tdx N",
        "charge a misc resource to the task's misc group (EBUSY over misc.max or the capacity)",
    ),
    (
        "devprog",
        "devprog attach PATH [multi|override] RULE... | detach PATH [ID] | list PATH",
        "v2 device programs: 'allow|deny a|b|c MAJ:MIN rwm' rules, first match wins, default deny",
    ),
    (
        "unshare",
        "unshare [-C] VAR",
        "unshare namespaces: with ns mounted, move into a new child group; -C: a cgroup namespace rooted at the task's groups",
    ),
    (
        "clone",
        "clone PARENT VAR DIR",
        "clone3(CLONE_INTO_CGROUP): PARENT's new child starts in the v2 group DIR",
    ),
    (
        "in",
        "in VAR cat PATH... | in VAR mount ...",
        "read or mount as task VAR does: its /proc/self, its cgroup namespace",
    ),
    (
        "ps",
        "ps",
        "tasks: PID TGID UID STATE(R/S/D) CPU_MS MEM RSS SWAP [CGROUP, with a header, without --echo]",
    ),
    (
        "sample",
        "sample EVERY_MS FOR_MS FILE[:KEY]...",
        "run in steps, printing a CSV row of the files' values after each",
    ),
    (
        "cgcreate",
        "cgcreate [-a U:G] [-t U:G] -g CTRLS:PATH...",
        "libcgroup: make a group in each controller's hierarchy",
    ),
    (
        "cgexec",
        "cgexec -g CTRLS:PATH... VAR",
        "libcgroup: spawn a task straight into the groups",
    ),
    (
        "cgclassify",
        "cgclassify -g CTRLS:PATH... TASK...",
        "libcgroup: move tasks (whole processes) into the groups",
    ),
    (
        "cgget",
        "cgget [-nv] [-r FILE]... [-g CTRLS[:PATH]] [PATH...]",
        "libcgroup: print a group's control files",
    ),
    (
        "cgset",
        "cgset -r FILE=VALUE... | --copy-from SRC PATH...",
        "libcgroup: write control files",
    ),
    (
        "lscgroup",
        "lscgroup [[-g] CTRLS:PATH...]",
        "libcgroup: list groups as CTRLS:PATH",
    ),
    (
        "lssubsys",
        "lssubsys [-a] [-i] [-m] [-M] [CTRL...]",
        "libcgroup: list hierarchies, their ids and mount points",
    ),
    (
        "cgdelete",
        "cgdelete [-r] [-g] CTRLS:PATH...",
        "libcgroup: remove groups, their tasks going to the parent",
    ),
];

/// The shell's own words.
pub const BUILTINS: &[(&str, &str, &str)] = &[
    ("help", "help [COMMAND]", "this help, or one command's"),
    (
        "quit",
        "quit",
        "leave the shell (also `exit` alone, or Ctrl-D)",
    ),
];

/// The help text for `topic` (`None`: every command).
pub fn help(topic: Option<&str>) -> String {
    let mut out = String::new();
    let all = COMMANDS.iter().chain(BUILTINS);
    match topic {
        Some(t) => match all.clone().find(|(n, _, _)| *n == t) {
            Some((_, syn, what)) => {
                let _ = writeln!(out, "{syn}\n    {what}");
            }
            None => {
                let _ = writeln!(out, "no command {t:?}; `help` lists them");
            }
        },
        None => {
            out.push_str(
                "Commands (FORMAT.md; $VAR expands a task variable, # starts a comment):\n",
            );
            for (_, syn, what) in all {
                let _ = writeln!(out, "  {syn:<36} {what}");
            }
        }
    }
    out
}

/// What a line asked the shell to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Read the next line.
    Continue,
    /// Leave.
    Quit,
}

/// The words of a line, without a comment and without `as UID` prefixes (a rough cut,
/// for the shell's own bookkeeping only: the interpreter parses for real).
fn command_words(line: &str) -> Vec<&str> {
    let code = line.split('#').next().unwrap_or("");
    let mut words: Vec<&str> = code.split_whitespace().collect();
    while words.len() >= 2 && words.first() == Some(&"as") {
        words.drain(..2);
    }
    words
}

/// One interactive session: a machine and the interpreter's session on it.
pub struct Shell {
    machine: Rc<RefCell<SimMachine>>,
    session: Session,
    /// How long a `run` goes before it reports progress (then again after as long).
    progress_every: Duration,
}

/// Why [`Shell::run_lines`] stopped early.
#[derive(Debug)]
pub enum InputError {
    /// Reading the input failed.
    Read(io::Error),
    /// Writing the transcript failed (a closed pipe, a full disk).
    Write(io::Error),
}

impl Shell {
    /// A session on `machine`; `echo` prints `$ COMMAND` and `error: ERRNO` lines as
    /// `gpc run --echo` does.
    pub fn new(machine: Rc<RefCell<SimMachine>>, echo: bool) -> Self {
        let mut session = Session::new(if echo { Mode::Echo } else { Mode::Plain });
        // Without `--echo` a person reads the output: `cat` of several files labels
        // each line with its file (doc/script-language.md, "The shell").
        session.set_interactive(!echo);
        Shell {
            machine,
            session,
            progress_every: Duration::from_secs(1),
        }
    }

    /// The working directory `cd` set (for the prompt).
    pub fn cwd(&self) -> &str {
        self.session.cwd()
    }

    /// Makes `tree` draw with ASCII (a terminal whose locale is not UTF-8).
    pub fn set_ascii(&mut self, ascii: bool) {
        self.session.set_ascii(ascii);
    }

    /// The machine (shared with the line editor's completer).
    pub fn machine(&self) -> Rc<RefCell<SimMachine>> {
        Rc::clone(&self.machine)
    }

    /// The value of a variable.
    pub fn variable(&self, name: &str) -> Option<Pid> {
        self.session.variable(name)
    }

    /// Runs one line, writing what it prints to `out`.
    pub fn run_line(&mut self, line: &str, out: &mut dyn Output) -> Next {
        self.run_bytes(line.as_bytes(), out)
    }

    /// Runs one line given as bytes (a line that is not UTF-8 is a parse error).
    pub fn run_bytes(&mut self, line: &[u8], out: &mut dyn Output) -> Next {
        // A CRLF line end means what it means in a script (the parser drops the `\r`).
        let bare = line.strip_suffix(b"\r").unwrap_or(line);
        let builtin = match core::str::from_utf8(bare) {
            Ok(text) if text.len() <= MAX_LINE => literal_words(text),
            _ => None,
        };
        if let Some(words) = builtin {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            match words.as_slice() {
                // Blank, or only a comment.
                [] => return Next::Continue,
                ["quit"] | ["exit"] => return Next::Quit,
                ["help"] => {
                    out.write_bytes(help(None).as_bytes());
                    return Next::Continue;
                }
                ["help", topic] => {
                    out.write_bytes(help(Some(topic)).as_bytes());
                    return Next::Continue;
                }
                _ => {}
            }
        }
        let Ok(mut machine) = self.machine.try_borrow_mut() else {
            out.diagnostic("internal error: the machine is busy");
            return Next::Continue;
        };
        let mut progress = Progress {
            machine: &mut machine,
            every: self.progress_every,
            report: &mut |line| eprintln!("{line}"),
        };
        if let Err(e) = self.session.run_line(line, &mut progress, out) {
            drop(machine);
            parse_error(&e, out);
        }
        Next::Continue
    }

    /// The shell without a terminal: runs the lines of `input` until `quit` or its
    /// end, flushing the transcript after each line. A line longer than
    /// [`MAX_LINE`] is refused without being read whole, and the session goes on.
    ///
    /// # Errors
    ///
    /// The input's or the transcript's first error; the lines before it have run.
    pub fn run_lines<R: BufRead, W: io::Write>(
        &mut self,
        mut input: R,
        out: &mut crate::output::StdOutput<W>,
    ) -> Result<(), InputError> {
        let mut buf = Vec::new();
        loop {
            let next = match lines::read_line(&mut input, &mut buf).map_err(InputError::Read)? {
                LineRead::Eof => return Ok(()),
                LineRead::Line => self.run_bytes(&buf, out),
                LineRead::TooLong => {
                    lines::skip_line(&mut input).map_err(InputError::Read)?;
                    parse_error(&self.session.line_too_long(), out);
                    Next::Continue
                }
            };
            out.finish().map_err(InputError::Write)?;
            if next == Next::Quit {
                return Ok(());
            }
        }
    }
}

/// Reports a line that cannot be parsed (the shell names no line numbers).
fn parse_error(e: &ParseError, out: &mut dyn Output) {
    out.diagnostic(&format!("parse error: {}", e.kind));
}

/// Completion for the line editor: command names first, paths after.
pub fn complete(machine: &SimMachine, line: &str, pos: usize) -> (usize, Vec<String>) {
    complete_in(machine, "/", line, pos)
}

/// [`complete`] in working directory `cwd`: a relative path completes from there.
pub fn complete_in(
    machine: &SimMachine,
    cwd: &str,
    line: &str,
    pos: usize,
) -> (usize, Vec<String>) {
    let before = line.get(..pos).unwrap_or(line);
    let start = before
        .rfind(|c: char| c.is_whitespace() || c == '>')
        .map_or(0, |i| i + 1);
    let word = before.get(start..).unwrap_or("");
    let earlier = command_words(before.get(..start).unwrap_or(""));
    let at_command =
        earlier.is_empty() && !before.get(..start).unwrap_or("").trim_end().ends_with("as");
    if at_command {
        let names = COMMANDS
            .iter()
            .chain(BUILTINS)
            .map(|(n, _, _)| *n)
            .filter(|n| n.starts_with(word))
            .map(|n| format!("{n} "))
            .collect();
        return (start, names);
    }
    if word.starts_with('/') {
        return (start, machine.complete_path(word));
    }
    // Relative: complete the joined path, then give back the part the user typed.
    let base = if cwd.ends_with('/') {
        cwd.to_string()
    } else {
        format!("{cwd}/")
    };
    let found = machine
        .complete_path(&format!("{base}{word}"))
        .into_iter()
        .filter_map(|p| p.strip_prefix(&base).map(str::to_string))
        .collect();
    (start, found)
}

/// The line a long `run MS` reports after `done` of its `total` milliseconds.
fn progress_line(done: u64, total: u64) -> String {
    let percent = u128::from(done) * 100 / u128::from(total.max(1));
    format!("run: {done} of {total} ms simulated ({percent}%)")
}

/// The session's machine, with a `run` that reports its progress through `report` every
/// `every` of real time; every other command goes straight to the machine.
struct Progress<'a> {
    machine: &'a mut SimMachine,
    every: Duration,
    report: &'a mut dyn FnMut(&str),
}

impl gpc_script::Machine for Progress<'_> {
    fn configure(&mut self, cfg: &MachineConfig<'_>) -> gpc_core::Result {
        self.machine.configure(cfg)
    }
    fn set_user(&mut self, uid: Option<u32>) {
        self.machine.set_user(uid);
    }
    fn mount(&mut self, fstype: &str, options: &str, source: &str, dir: &str) -> gpc_core::Result {
        self.machine.mount(fstype, options, source, dir)
    }
    fn umount(&mut self, dir: &str) -> gpc_core::Result {
        self.machine.umount(dir)
    }
    fn mkdir(&mut self, path: &str, parents: bool) -> gpc_core::Result {
        self.machine.mkdir(path, parents)
    }
    fn rmdir(&mut self, path: &str) -> gpc_core::Result {
        self.machine.rmdir(path)
    }
    fn write(&mut self, path: &str, data: &[u8]) -> gpc_core::Result {
        self.machine.write(path, data)
    }
    fn read(&mut self, path: &str) -> gpc_core::Result<Vec<u8>> {
        self.machine.read(path)
    }
    fn list(&mut self, path: &str) -> gpc_core::Result<Vec<String>> {
        self.machine.list(path)
    }
    fn chown(&mut self, uid: u32, gid: Option<u32>, path: &str) -> gpc_core::Result {
        self.machine.chown(uid, gid, path)
    }
    fn spawn(&mut self) -> gpc_core::Result<Pid> {
        self.machine.spawn()
    }
    fn fork(&mut self, parent: Pid) -> gpc_core::Result<Pid> {
        self.machine.fork(parent)
    }
    fn thread(&mut self, parent: Pid) -> gpc_core::Result<Pid> {
        self.machine.thread(parent)
    }
    fn exit(&mut self, task: Pid) -> gpc_core::Result {
        self.machine.exit(task)
    }
    fn begin_command(&mut self) {
        self.machine.begin_command();
    }
    fn run(&mut self, ms: u64) -> gpc_core::Result {
        let mut next = Instant::now() + self.every;
        let report = &mut *self.report;
        self.machine.run_with_progress(ms, &mut |done| {
            let now = Instant::now();
            if now >= next {
                next = now + self.every;
                report(&progress_line(done, ms));
            }
        })
    }
    fn set_busy(&mut self, task: Pid, busy: bool) -> gpc_core::Result {
        self.machine.set_busy(task, busy)
    }
    fn memory(&mut self, task: Pid, bytes: u64, charge: bool) -> gpc_core::Result {
        self.machine.memory(task, bytes, charge)
    }
    fn read_file(&mut self, task: Pid, file: &str, bytes: u64) -> gpc_core::Result {
        self.machine.read_file(task, file, bytes)
    }
    fn write_file(&mut self, task: Pid, file: &str, bytes: u64) -> gpc_core::Result {
        self.machine.write_file(task, file, bytes)
    }
    fn block_io(&mut self, task: Pid, ma: u32, mi: u32, w: bool, b: u64) -> gpc_core::Result {
        self.machine.block_io(task, ma, mi, w, b)
    }
    fn open_device(
        &mut self,
        task: Pid,
        dev_type: u8,
        major: u32,
        minor: u32,
        access: &str,
    ) -> gpc_core::Result {
        self.machine
            .open_device(task, dev_type, major, minor, access)
    }
    fn host_command(&mut self, cmd: &gpc_script::HostCommand<'_>) -> gpc_core::Result<Vec<u8>> {
        self.machine.host_command(cmd)
    }
    fn unshare(&mut self, task: Pid) -> gpc_core::Result {
        self.machine.unshare(task)
    }
    fn huge_pages(&mut self, task: Pid, size: &str, count: u64, alloc: bool) -> gpc_core::Result {
        self.machine.huge_pages(task, size, count, alloc)
    }
    fn netprio(&mut self, task: Pid) -> gpc_core::Result<Vec<u8>> {
        self.machine.netprio(task)
    }
    fn perf(&mut self, path: &str) -> gpc_core::Result<Vec<u8>> {
        self.machine.perf(path)
    }
    fn unshare_cgroup(&mut self, task: Pid) -> gpc_core::Result {
        self.machine.unshare_cgroup(task)
    }
    fn clone_into(&mut self, parent: Pid, dir: &str) -> gpc_core::Result<Pid> {
        self.machine.clone_into(parent, dir)
    }
    fn set_task(&mut self, task: Option<Pid>) -> gpc_core::Result {
        self.machine.set_task(task)
    }
    fn ps(&mut self) -> gpc_core::Result<Vec<u8>> {
        self.machine.ps()
    }
    fn chdir(&mut self, path: &str) -> gpc_core::Result {
        self.machine.chdir(path)
    }
    fn is_dir(&mut self, path: &str) -> gpc_core::Result<bool> {
        self.machine.is_dir(path)
    }
    fn cgroup_mounts(&mut self) -> gpc_core::Result<Vec<String>> {
        self.machine.cgroup_mounts()
    }
    fn take_releases(&mut self) -> gpc_core::Result<Vec<String>> {
        self.machine.take_releases()
    }
    fn watch(&mut self, path: &str) -> gpc_core::Result {
        self.machine.watch(path)
    }
    fn take_events(&mut self) -> gpc_core::Result<Vec<String>> {
        self.machine.take_events()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gpc_script::Machine as _;

    fn session(lines: &[&str]) -> String {
        let Ok(m) = SimMachine::new() else {
            return String::from("no machine");
        };
        let mut sh = Shell::new(Rc::new(RefCell::new(m)), true);
        let mut out: Vec<u8> = Vec::new();
        for l in lines {
            if sh.run_line(l, &mut out) == Next::Quit {
                break;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn variables_survive_lines() {
        let out = session(&[
            "mount -t cgroup -o none,name=sh cgroup /cg",
            "spawn A",
            "mkdir /cg/a",
            "echo $A > /cg/a/tasks",
            "fork A B",
            "cat /cg/a/tasks",
        ]);
        assert_eq!(
            out,
            "$ mount -t cgroup -o none,name=sh cgroup /cg\n$ spawn A\nA=2\n$ mkdir /cg/a\n\
             $ echo $A > /cg/a/tasks\n$ fork A B\nB=3\n$ cat /cg/a/tasks\n2\n3\n"
        );
    }

    #[test]
    fn bad_lines_and_builtins() {
        let out = session(&[
            "frobnicate",
            "help spawn",
            "ls /nonexistent",
            "quit",
            "spawn A",
        ]);
        assert!(out.contains("parse error"), "{out}");
        assert!(out.contains("spawn VAR"), "{out}");
        assert!(out.contains("error: ENOENT"), "{out}");
        assert!(!out.contains("A="), "{out}");
    }

    #[test]
    fn completes_commands_and_paths() {
        let Ok(mut m) = SimMachine::new() else { return };
        assert!(m.mount("cgroup", "none,name=c", "cgroup", "/cg").is_ok());
        let (s, c) = complete(&m, "sp", 2);
        assert_eq!((s, c), (0, vec![String::from("spawn ")]));
        let (s, c) = complete(&m, "as 1000 mk", 10);
        assert_eq!((s, c), (8, vec![String::from("mkdir ")]));
        let (s, c) = complete(&m, "cat /cg/ta", 10);
        assert_eq!((s, c), (4, vec![String::from("/cg/tasks")]));
        let (s, c) = complete_in(&m, "/cg", "cat ta", 6);
        assert_eq!((s, c), (4, vec![String::from("tasks")]));
        let (_, c) = complete(&m, "ls /c", 5);
        assert_eq!(c, vec![String::from("/cg/")]);
        let (_, c) = complete(&m, "echo 1 >/cg/notify", 18);
        assert_eq!(c, vec![String::from("/cg/notify_on_release")]);
    }

    #[test]
    fn long_runs_report_progress_and_end_the_same() {
        let (Ok(mut a), Ok(mut b)) = (SimMachine::new(), SimMachine::new()) else {
            return;
        };
        let mut lines: Vec<String> = Vec::new();
        for m in [&mut a, &mut b] {
            assert!(m.spawn().is_ok());
        }
        let mut progress = Progress {
            machine: &mut a,
            every: Duration::ZERO,
            report: &mut |line| lines.push(String::from(line)),
        };
        assert!(progress.run(5000).is_ok());
        assert!(b.run(5000).is_ok());
        assert_eq!(a.clock_ns(), b.clock_ns());
        assert_eq!(a.ps().ok(), b.ps().ok());
        assert_eq!(
            lines.first().map(String::as_str),
            Some("run: 0 of 5000 ms simulated (0%)")
        );
        assert_eq!(progress_line(50, 200), "run: 50 of 200 ms simulated (25%)");
    }
}
