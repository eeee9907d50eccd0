//! Every allocation the interpreter makes fails in turn, in both transcript modes
//! (issue 10, item 11: the hobby kernel's allocator returns null, and an infallible
//! allocation there stops the kernel).
//!
//! The global allocator is gpc-core's `FailingAlloc`. A script of every command kind,
//! with the failures the interpreter itself reports (an unknown variable, a bad number,
//! a bad device type: their explanations are built text), runs line by line through a
//! [`Session`] against a machine that allocates only fallibly and counts the changes it
//! made. For each line the first, second, ... allocation fails until the line runs
//! without reaching the failure; each failure must:
//!
//! * not abort (an infallible allocation that gets null aborts this test binary);
//! * either be `ENOMEM` for the command (`error: ENOMEM`, or a plain-mode diagnostic
//!   naming ENOMEM), with the machine unchanged and every variable as it was: a task is
//!   never made without the variable that names it;
//! * or be done without (a transcript line written in pieces, an explanation left out,
//!   a variable table not grown yet), the line printing what it prints without failure.

use std::cell::Cell;

use gpc_core::testing::FailingAlloc;
use gpc_core::{Error, Result};
use gpc_script::{Machine, MachineConfig, Mode, Output, ParseErrorKind, Pid, Session};

#[global_allocator]
static ALLOC: FailingAlloc = FailingAlloc::new();

/// A machine whose own allocations are all fallible; it counts what it changed.
#[derive(Default)]
struct Fake {
    next_pid: Pid,
    changes: Cell<u64>,
    user: Option<u32>,
}

impl Fake {
    fn changed(&mut self) -> Result {
        self.changes.set(self.changes.get() + 1);
        Ok(())
    }

    fn text(parts: &[&str]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for p in parts {
            out.try_reserve(p.len())?;
            out.extend_from_slice(p.as_bytes());
        }
        Ok(out)
    }

    fn names(names: &[&str]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        out.try_reserve_exact(names.len())?;
        for n in names {
            let mut s = String::new();
            s.try_reserve_exact(n.len())?;
            s.push_str(n);
            out.push(s);
        }
        Ok(out)
    }

    fn new_pid(&mut self) -> Result<Pid> {
        self.next_pid += 1;
        self.changed()?;
        Ok(self.next_pid + 1)
    }
}

impl Machine for Fake {
    fn configure(&mut self, _: &MachineConfig<'_>) -> Result {
        self.changed()
    }
    fn set_user(&mut self, uid: Option<u32>) {
        self.user = uid;
    }
    fn mount(&mut self, _: &str, _: &str, _: &str, _: &str) -> Result {
        self.changed()
    }
    fn umount(&mut self, _: &str) -> Result {
        Err(Error::EINVAL)
    }
    fn mkdir(&mut self, _: &str, _: bool) -> Result {
        if self.user.is_some() {
            return Err(Error::EACCES);
        }
        self.changed()
    }
    fn rmdir(&mut self, _: &str) -> Result {
        self.changed()
    }
    fn write(&mut self, _: &str, _: &[u8]) -> Result {
        self.changed()
    }
    fn read(&mut self, path: &str) -> Result<Vec<u8>> {
        // What libcgroup's tools read: one hierarchy (cpu,cpuacct) on /cpu.
        match path {
            "/proc/cgroups" => Self::text(&[
                "#subsys_name\thierarchy\tnum_cgroups\tenabled\n",
                "cpu\t1\t3\t1\ncpuacct\t1\t3\t1\nmemory\t0\t1\t1\n",
            ]),
            "/proc/mounts" => Self::text(&[
                "proc /proc proc rw,relatime 0 0\n",
                "cgroup /cpu cgroup rw,relatime,cpu,cpuacct 0 0\n",
            ]),
            p if p.ends_with("/cpu.stat") => Self::text(&["nr_periods 4\nnr_throttled 1\n"]),
            p if p.ends_with("/tasks") => Self::text(&["5\n6\n"]),
            // What `top` reads.
            p if p.ends_with("cpuacct.usage") || p.ends_with("memory.usage_in_bytes") => {
                Self::text(&["5000000\n"])
            }
            _ => Self::text(&["contents of ", path, "\n"]),
        }
    }
    fn list(&mut self, path: &str) -> Result<Vec<String>> {
        // A small tree: two levels of groups `a` and `b` below each directory, files
        // are not directories.
        let last = path.rsplit('/').next().unwrap_or("");
        if last == "tasks" || last.contains('.') {
            return Err(Error::ENOTDIR);
        }
        if path.matches('/').count() >= 3 {
            return Self::names(&["tasks", "cpu.shares", "cpu.stat"]);
        }
        Self::names(&[
            "tasks",
            "b",
            "a",
            "cgroup.procs",
            "cpu.shares",
            "cpuacct.usage",
            "memory.usage_in_bytes",
        ])
    }
    // Directories: `/`, `/cpu` and the `a` and `b` in it (a tree of two levels).
    fn is_dir(&mut self, path: &str) -> Result<bool> {
        let name = path.rsplit('/').next().unwrap_or("");
        Ok(path == "/" || path == "/cpu" || (path.matches('/').count() == 2 && name.len() == 1))
    }
    fn cgroup_mounts(&mut self) -> Result<Vec<String>> {
        Self::names(&["/cpu"])
    }
    fn chown(&mut self, _: u32, _: Option<u32>, _: &str) -> Result {
        self.changed()
    }
    fn spawn(&mut self) -> Result<Pid> {
        self.new_pid()
    }
    fn fork(&mut self, _: Pid) -> Result<Pid> {
        self.new_pid()
    }
    fn thread(&mut self, _: Pid) -> Result<Pid> {
        self.new_pid()
    }
    fn exit(&mut self, _: Pid) -> Result {
        self.changed()
    }
    fn run(&mut self, _: u64) -> Result {
        self.changed()
    }
    fn set_busy(&mut self, _: Pid, _: bool) -> Result {
        self.changed()
    }
    fn memory(&mut self, _: Pid, _: u64, _: bool) -> Result {
        self.changed()
    }
    fn read_file(&mut self, _: Pid, _: &str, _: u64) -> Result {
        self.changed()
    }
    fn write_file(&mut self, _: Pid, _: &str, _: u64) -> Result {
        self.changed()
    }
    fn open_device(&mut self, _: Pid, _: u8, _: u32, _: u32, _: &str) -> Result {
        Err(Error::EPERM)
    }
    fn unshare(&mut self, _: Pid) -> Result {
        self.changed()
    }
    fn ps(&mut self) -> Result<Vec<u8>> {
        Self::text(&["1 1 0 S 0 0\n", "2 2 0 R 5 4096\n"])
    }
    fn take_releases(&mut self) -> Result<Vec<String>> {
        Self::names(&["/a", "/a/b"])
    }
}

/// Every command kind, and the interpreter's own failures.
fn script() -> Vec<String> {
    let mut lines: Vec<String> = [
        "machine mem=1G cpus=2 v2=memory,pids swap=0 mems=1",
        "mount -t cgroup -o cpu,cpuacct cgroup /cpu",
        "mount -t cgroup -o none,name=x,release_agent=/bin/a cgroup /x",
        "umount /x",
        "mkdir /cpu/a",
        "mkdir -p /cpu/a/b/c",
        "rmdir /cpu/a/b/c",
        "spawn A",
        "fork A B",
        "fork $A C",
        "thread \"${B}\" T",
        "fork A \"Q\"",
        "spawn A",
        "echo $A $B > /cpu/a/tasks",
        "echo -n $A > /cpu/a/tasks",
        "echo hello \"big   world\" $T",
        "echo -n no newline",
        "cat /cpu/a/tasks",
        "cat /cpu/$A",
        "ls /cpu",
        "chown 1000:1000 /cpu/a",
        "chown 1000 /cpu/a/tasks",
        "as 1000 mkdir /cpu/a/mine",
        "as 0 as 1000 spawn U",
        "busy A",
        "idle $B",
        "run 100",
        "alloc A 4M",
        "free A 1K",
        "readfile A data.bin 2M",
        "writefile $A \"log $B\" 4k",
        "open A c 1:3 rw",
        "unshare A",
        "ps",
        "releases",
        "exit T",
        "cat $NOPE",
        "run 12x",
        "run 99999999999999999999999",
        "open A x 1:3 r",
        "open A c 13 r",
        "open A c 1:3 rwx",
        "alloc A 1.5M",
        "chown :5 /cpu",
        "machine cpus=1 mems=1",
        "exit NOPE",
        // Expectations met, missed with another errno, and missed by a success.
        "cat $NOPE   # expect: EINVAL",
        "exit NOPE # expect: ESRCH",
        "ps # expect: EPERM, wrongly",
        // gpc-script's libcgroup tools, `mount` alone and `sample`.
        "mount",
        "cgcreate -t 5:5 -g cpu,cpuacct:/web -g cpu:/web/x",
        "cgcreate -a 1:1 -g cpu:/web",
        "cgexec -g cpu:/web -g cpuacct:/a E",
        "cgclassify -g cpu:/web A $B 7",
        "cgget -r cpu.shares -r cpu.stat /web /a",
        "cgget -nv -g cpu:/a",
        "cgget /a",
        "cgset -r cpu.shares=5 -r cpuacct.usage=0 /a /b",
        "cgset --copy-from /a /b",
        "lscgroup",
        "lscgroup cpu:/a cpuacct:/b",
        "lssubsys -a -i",
        "lssubsys -M cpu",
        "cgdelete -r cpu:/a",
        "cgdelete -g cpu:/b",
        "sample 10 30 /cpu/a/cpu.stat:nr_periods /cpu/a/cpu.shares",
        "cgget -g nope:/a",
        "cd /cpu",
        "pwd",
        "cd a",
        "cat tasks ../b/tasks",
        "cat /cpu/* /cpu/[ab]/task?",
        "ls /cpu/[b]",
        "mkdir /cpu/*",
        "cd /cpu/a/tasks",
        "tree",
        "tree /cpu/a",
        "cd",
        "ps",
        "top -n 1 -d 100",
        "top -b -n 2",
        "sample 10 30 /cpu/a/cpu.stat",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Enough variables to grow the table a few times (8, 16, 32, 64 buckets).
    for i in 0..40 {
        lines.push(format!("spawn V{i}"));
    }
    lines.push("echo $V0 $V39 > /cpu/tasks".to_string());
    lines
}

/// The commands made of steps that a failure may stop part-way: `sample` (a `run` and a
/// read per row) and `cgcreate -a` (the files to give away exist only after the mkdir).
/// Every other command makes every allocation of its own before its first change.
fn is_stepwise(line: &str) -> bool {
    // `top` runs the clock between its tables and prints each when it is done.
    line.starts_with("sample ") || line.starts_with("cgcreate -a") || line.starts_with("top")
}

/// A transcript sink that never allocates (reserved up front).
struct Sink(Vec<u8>);

impl Sink {
    fn new() -> Self {
        Sink(Vec::with_capacity(1 << 16))
    }
}

impl Output for Sink {
    fn write_bytes(&mut self, bytes: &[u8]) {
        assert!(
            self.0.len() + bytes.len() <= self.0.capacity(),
            "sink too small"
        );
        self.0.extend_from_slice(bytes);
    }
}

/// The variables a session has, by name.
fn variables(session: &Session, names: &[String]) -> Vec<Option<Pid>> {
    names.iter().map(|n| session.variable(n)).collect()
}

fn session(mode: Mode, interactive: bool) -> Session {
    let mut s = Session::new(mode);
    s.set_interactive(interactive);
    s
}

fn replay(lines: &[String], mode: Mode, interactive: bool) -> (Fake, Session) {
    let (mut m, mut session) = (Fake::default(), session(mode, interactive));
    for line in lines {
        let mut sink = Sink::new();
        assert_eq!(session.run_line(line.as_bytes(), &mut m, &mut sink), Ok(()));
    }
    (m, session)
}

fn every_failure(mode: Mode, interactive: bool) {
    let lines = script();
    let mut names: Vec<String> = ["A", "B", "C", "T", "Q", "U", "E"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    names.extend((0..40).map(|i| format!("V{i}")));
    // The reference: what each line prints, and the variables after it.
    let mut transcripts = Vec::new();
    let mut after = Vec::new();
    let (mut m, mut session) = replay(&[], mode, interactive);
    for line in &lines {
        let mut sink = Sink::new();
        assert_eq!(session.run_line(line.as_bytes(), &mut m, &mut sink), Ok(()));
        transcripts.push(String::from_utf8_lossy(&sink.0).into_owned());
        after.push((m.changes.get(), variables(&session, &names)));
    }
    assert!(transcripts
        .iter()
        .any(|t| t.contains("unknown variable") || t.contains("error: EINVAL")));

    let (mut injected, mut absorbed, mut stepwise) = (0usize, 0usize, 0usize);
    let (mut m, mut session) = replay(&[], mode, interactive);
    for (i, line) in lines.iter().enumerate() {
        for n in 0.. {
            let before = (m.changes.get(), variables(&session, &names));
            let mut sink = Sink::new();
            FailingAlloc::fail_after(n);
            let parsed = session.run_line(line.as_bytes(), &mut m, &mut sink);
            let failures = FailingAlloc::disarm();
            let out = String::from_utf8_lossy(&sink.0).into_owned();
            let now = (m.changes.get(), variables(&session, &names));
            if failures == 0 {
                assert_eq!(parsed, Ok(()), "{line}");
                assert_eq!(out, transcripts[i], "{line}");
                assert_eq!(now, after[i], "{line}");
                break;
            }
            injected += 1;
            if let Err(e) = parsed {
                assert_eq!(e.kind, ParseErrorKind::OutOfMemory, "{line}: {n}");
                assert_eq!(now, before, "{line}: allocation {n}");
                continue;
            }
            // An `# expect:` comment is not part of the `$ ` line; with one, ENOMEM is
            // a missed expectation and says so.
            let command = line.split(" #").next().unwrap_or(line).trim_end();
            let note = match line.split_once("# expect: ") {
                Some((_, e)) => format!(
                    " [expected {}]",
                    e.split(|c: char| !c.is_ascii_uppercase())
                        .next()
                        .unwrap_or("")
                ),
                None => String::new(),
            };
            let enomem = match mode {
                Mode::Echo => {
                    let echoed = format!("$ {command}\nerror: ENOMEM\n");
                    out == echoed
                        || (!note.is_empty()
                            && out.starts_with(&echoed)
                            && out.ends_with(&format!(": ENOMEM (Cannot allocate memory){note}\n"))
                            && out.lines().count() == 3)
                }
                Mode::Plain => {
                    out.starts_with("line ")
                        && out.ends_with(&format!(": ENOMEM (Cannot allocate memory){note}\n"))
                        && out.lines().count() == 1
                }
            };
            if is_stepwise(line) && out != transcripts[i] && out.contains("ENOMEM") {
                // A command of steps (gpc-script's cgtools docs): stopped by ENOMEM
                // after some of them, having printed what those printed, and changed
                // the machine by no more than the whole command does.
                let (printed, error) = match mode {
                    Mode::Echo => (out.strip_suffix("error: ENOMEM\n"), true),
                    Mode::Plain => {
                        let cut = out.trim_end_matches('\n').rfind('\n').map_or(0, |i| i + 1);
                        let last = out.get(cut..).unwrap_or("");
                        (
                            out.get(..cut),
                            last.starts_with("line ")
                                && last.ends_with(": ENOMEM (Cannot allocate memory)\n"),
                        )
                    }
                };
                let printed = printed.unwrap_or("<no error line>");
                assert!(error, "{line}: allocation {n}: {out:?}");
                assert!(
                    transcripts[i].starts_with(printed),
                    "{line}: allocation {n}: {out:?} is no prefix of {:?}",
                    transcripts[i]
                );
                assert!(
                    before.0 <= now.0 && now.0 <= after[i].0,
                    "{line}: allocation {n}"
                );
                assert_eq!(now.1, before.1, "{line}: allocation {n}: variables");
                stepwise += 1;
                (m, session) = replay(&lines[..i], mode, interactive);
                continue;
            }
            if enomem {
                assert_eq!(now, before, "{line}: allocation {n} changed something");
            } else {
                absorbed += 1;
                if mode == Mode::Plain && out.starts_with("line ") {
                    // The diagnostic names the line as the session counts it: the
                    // same after its first words.
                    // An explanation may be left out for want of memory.
                    let tail = |s: &str| {
                        s.split_once(": ")
                            .map_or(String::new(), |(_, t)| t.to_string())
                    };
                    // The note on the expectation ends the line either way.
                    let bare = |s: String| match s.rfind(" [expected") {
                        Some(at) => format!("{}\n", &s[..at]),
                        None => s,
                    };
                    let (got, want) = (bare(tail(&out)), bare(tail(&transcripts[i])));
                    let short = format!("{}: ", got.trim_end());
                    assert!(
                        got == want || want.starts_with(&short),
                        "{line}: allocation {n}: {got:?} for {want:?}"
                    );
                } else {
                    // A diagnostic of a missed expectation after the transcript names
                    // the line as the session counts it (it counts every try), and may
                    // leave the explanation out for want of memory.
                    let numbered = |s: &str| -> String {
                        s.lines()
                            .map(|l| match l.strip_prefix("line ") {
                                Some(rest) => {
                                    let rest = &rest[rest.find(':').unwrap_or(0)..];
                                    let rest = match (rest.find("): "), rest.find(" [expected")) {
                                        (Some(a), Some(b)) if a < b => {
                                            format!("{}{}", &rest[..=a], &rest[b..])
                                        }
                                        _ => rest.to_string(),
                                    };
                                    format!("line N{rest}\n")
                                }
                                None => format!("{l}\n"),
                            })
                            .collect()
                    };
                    assert_eq!(
                        numbered(&out),
                        numbered(&transcripts[i]),
                        "{line}: allocation {n}"
                    );
                }
                assert_eq!(now, after[i], "{line}: allocation {n}");
                (m, session) = replay(&lines[..i], mode, interactive);
            }
            // `machine` must be the session's first command.
            if i == 0 {
                (m, session) = replay(&[], mode, interactive);
            }
        }
    }
    println!(
        "{mode:?}: {} lines, {injected} failures injected, {absorbed} done without, \
         {stepwise} stopped a command of steps part-way",
        lines.len()
    );
    assert!(injected > 2 * lines.len(), "{injected}");
}

#[test]
fn every_allocation_failure_in_echo_mode() {
    every_failure(Mode::Echo, false);
}

#[test]
fn every_allocation_failure_in_plain_mode() {
    every_failure(Mode::Plain, false);
}

/// `gpc shell` without `--echo`: `cat` of several files labels its lines.
#[test]
fn every_allocation_failure_in_the_interactive_shell() {
    every_failure(Mode::Plain, true);
}
