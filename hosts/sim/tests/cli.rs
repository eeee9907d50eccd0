//! The `gpc` command: exit statuses, output channels, `-` for stdin, the shell without a
//! terminal, help.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn gpc(args: &[&str], stdin: Option<&str>) -> std::io::Result<Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gpc"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A run that stops early (a parse error) may leave the rest of its input unread.
        match pipe.write_all(text.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e),
            _ => {}
        }
    }
    child.wait_with_output()
}

fn script(name: &str, text: &str) -> std::io::Result<PathBuf> {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, text)?;
    Ok(path)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const GOOD: &str = "\
# comment
mount -t cgroup -o none,name=cli cgroup /cg
mkdir /cg/a
spawn A
echo $A > /cg/a/tasks
cat /cg/a/tasks
rmdir /cg/a
";

#[test]
fn script_that_runs_to_the_end_exits_0_whatever_failed() -> std::io::Result<()> {
    let path = script("good.cgsh", GOOD)?;
    let p = path.to_string_lossy();
    let out = gpc(&["run", "--echo", &p], None)?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("$ mount -t cgroup -o none,name=cli cgroup /cg\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("$ rmdir /cg/a\nerror: EBUSY\n"),
        "{stdout}"
    );
    assert!(out.stderr.is_empty());

    // Plain mode: the transcript on stdout, the failure on stderr with its line.
    let out = gpc(&["run", &p], None)?;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "A=2\n2\n");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("line 7: rmdir: EBUSY"), "{stderr}");
    Ok(())
}

#[test]
fn parse_error_exits_2_naming_the_line_and_runs_nothing() -> std::io::Result<()> {
    let path = script("bad.cgsh", "spawn A\nmkdir /x\nfrobnicate /cg\nspawn B\n")?;
    let out = gpc(&["run", "--echo", &path.to_string_lossy()], None)?;
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("line 3"), "{stderr}");
    Ok(())
}

#[test]
fn unreadable_file_exits_2() -> std::io::Result<()> {
    let out = gpc(&["run", "/nonexistent/dir/x.cgsh"], None)?;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read"));
    Ok(())
}

#[test]
fn dash_reads_the_script_from_stdin() -> std::io::Result<()> {
    let out = gpc(&["run", "-", "--echo"], Some("spawn A\nps\n"))?;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "$ spawn A\nA=2\n$ ps\n1 1 0 S 0 0 0 0\n2 2 0 R 0 0 0 0\n"
    );
    let out = gpc(&["run", "-"], Some("spawn A\nbogus\n"))?;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("line 2"));
    Ok(())
}

#[test]
fn shell_reads_lines_without_a_terminal() -> std::io::Result<()> {
    let session = "mount -t cgroup -o none,name=sh cgroup /cg\nspawn A\nfrob\nmkdir /cg/a\necho $A > /cg/a/tasks\ncat /proc/$A/cgroup\nrmdir /cg/a\nquit\nspawn B\n";
    let out = gpc(&["shell"], Some(session))?;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "A=2\n1:name=sh:/a\n");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("parse error"), "{stderr}");
    assert!(stderr.contains("rmdir: EBUSY"), "{stderr}");
    let out = gpc(&["shell", "--echo"], Some("spawn A\nhelp ps\n"))?;
    assert_eq!(
        text(&out.stdout),
        "$ spawn A\nA=2\nps\n    tasks: PID TGID UID STATE(R/S/D) CPU_MS MEM RSS SWAP [CGROUP, with a header, without --echo]\n"
    );
    Ok(())
}

#[test]
fn help_and_usage_errors() -> std::io::Result<()> {
    for args in [
        &["--help"][..],
        &["-h"],
        &["run", "--help"],
        &["shell", "--help"],
        &["help"],
        &["help", "mount"],
    ] {
        let out = gpc(args, None)?;
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
    assert!(text(&gpc(&["run", "--help"], None)?.stdout).contains("--echo"));
    assert!(text(&gpc(&["--version"], None)?.stdout).starts_with("gpc "));
    for args in [
        &[][..],
        &["frob"],
        &["run"],
        &["run", "--bogus", "x"],
        &["run", "a", "b"],
    ] {
        let out = gpc(args, None)?;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains("Usage"), "{args:?}");
    }
    Ok(())
}

/// Kills process `pid` unless `done` is set within a minute: a `gpc` that waits for the
/// end of its input before answering would otherwise hang a streaming test, which
/// must fail instead (its reads then see the end of the output).
#[cfg(unix)]
fn watchdog(pid: u32) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&done);
    std::thread::spawn(move || {
        for _ in 0..600 {
            if flag.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    });
    done
}

/// `gpc run -` runs each line as it arrives: the transcript of the first lines comes
/// back while standard input is still open (it used to read all of it first).
#[cfg(unix)]
#[test]
fn dash_runs_lines_as_they_arrive() -> std::io::Result<()> {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_gpc"))
        .args(["run", "--echo", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let done = watchdog(child.id());
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        unreachable!("piped")
    };
    stdin.write_all(b"spawn A\n")?;
    stdin.flush()?;
    let mut reader = BufReader::new(stdout);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    let mut second = String::new();
    reader.read_line(&mut second)?;
    assert_eq!((first.as_str(), second.as_str()), ("$ spawn A\n", "A=2\n"));
    // Still running, still reading: a second command gets its answer too.
    stdin.write_all(b"fork A B\n")?;
    stdin.flush()?;
    let mut third = String::new();
    reader.read_line(&mut third)?;
    assert_eq!(third, "$ fork A B\n");
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest)?;
    assert_eq!(rest, "B=3\n");
    assert_eq!(child.wait()?.code(), Some(0));
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Streaming: a parse error stops a piped script at that line, after the lines before
/// it ran (a file is still refused whole, see above).
#[test]
fn a_piped_script_stops_at_its_first_bad_line() -> std::io::Result<()> {
    let out = gpc(
        &["run", "--echo", "-"],
        Some("spawn A\nfork A B\nfrob\nspawn C\n"),
    )?;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "$ spawn A\nA=2\n$ fork A B\nB=3\n");
    assert!(text(&out.stderr).contains("-: line 3: unknown command frob"));
    Ok(())
}

/// A line longer than 131,072 bytes (Linux's MAX_ARG_STRLEN) is an `E2BIG` parse error,
/// from a file (nothing runs) and from a pipe (where it is never read whole).
#[test]
fn overlong_lines_are_e2big() -> std::io::Result<()> {
    let long = format!("spawn A\necho {} > /x\nspawn B\n", "y".repeat(200_000));
    let path = script("long.cgsh", &long)?;
    let out = gpc(&["run", "--echo", &path.to_string_lossy()], None)?;
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("line 2: E2BIG"), "{stderr}");
    let out = gpc(&["run", "--echo", "-"], Some(&long))?;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "$ spawn A\nA=2\n");
    assert!(text(&out.stderr).contains("line 2: E2BIG"));
    // The shell refuses the line and goes on.
    let out = gpc(&["shell"], Some(&long))?;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "A=2\nB=3\n");
    assert!(text(&out.stderr).contains("parse error: E2BIG"));
    // 131,072 bytes is still a line.
    let fits = format!("echo {}\n", "z".repeat(131_072 - 5));
    let out = gpc(&["run", "-"], Some(&fits))?;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout.len(), 131_072 - 5 + 1);
    Ok(())
}

/// The peak resident memory of a running process, from /proc (Linux), in KiB.
#[cfg(target_os = "linux")]
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `gpc run -` holds one line at a time: its peak memory after 400,000 lines is what it
/// was after 40,000 (it used to keep every byte of input and every parsed command:
/// 275 MB for a million lines).
#[cfg(target_os = "linux")]
#[test]
fn dash_runs_in_memory_that_does_not_grow_with_the_script() -> std::io::Result<()> {
    use std::io::{BufRead, BufReader};
    const ROUNDS: usize = 20;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gpc"))
        .args(["run", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let done = watchdog(child.id());
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        unreachable!("piped")
    };
    // Each round: 20,000 failing commands (their diagnostics go to stderr), then a
    // marker whose `M=PID` line on stdout says the round has run, before the next round
    // is written.
    let chunk = "exit 1\n".repeat(20_000);
    let mut reader = BufReader::new(stdout);
    let mut peaks = Vec::new();
    let mut line = String::new();
    for round in 1..=ROUNDS {
        stdin.write_all(chunk.as_bytes())?;
        stdin.write_all(b"spawn M\nexit M\n")?;
        stdin.flush()?;
        line.clear();
        reader.read_line(&mut line)?;
        assert!(line.starts_with("M="), "round {round}: {line:?}");
        if round == 2 || round == ROUNDS {
            peaks.push(peak_rss_kib(child.id()).unwrap_or(0));
        }
    }
    drop(stdin);
    std::io::copy(&mut reader, &mut std::io::sink())?;
    assert_eq!(child.wait()?.code(), Some(0));
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let [early, late] = peaks.as_slice() else {
        unreachable!("two samples")
    };
    println!("peak RSS after 40,000 lines: {early} KiB; after 400,000: {late} KiB");
    assert!(
        *early > 0 && *late <= early + 1024,
        "{early} KiB -> {late} KiB"
    );
    Ok(())
}

/// The repository's root.
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The README's main command: the tour, narrated. Its comments come out as prose, each
/// command as `    $ ...` with its output indented below it, its five deliberate
/// errors marked `[expected]`, nothing on stderr, and exit status 0.
#[test]
fn the_tour_narrates_with_its_errors_expected() -> std::io::Result<()> {
    let tour = repo().join("examples/tour.cgsh");
    let out = gpc(&["run", "--narrate", &tour.to_string_lossy()], None)?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // Prose without its `#`, a blank line, then the command and its output.
    assert!(
        stdout.contains(
            "\nA container with tasks, or with children, cannot be removed: EBUSY.\n\n    \
             $ rmdir /sys/fs/cgroup/cpu/batch\n    error: EBUSY (Device or resource busy) \
             [expected]\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("    $ spawn WEB\n    WEB=2\n    $ spawn BUILD\n    BUILD=3\n"),
        "{stdout}"
    );
    let errors: Vec<&str> = stdout.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 6, "{errors:?}");
    assert!(
        errors.iter().all(|l| l.ends_with(" [expected]")),
        "{errors:?}"
    );
    assert!(!stdout.contains("[unexpected]"), "{stdout}");
    assert!(
        stdout.ends_with("\n(114 commands, 6 errors, each one the script expects)\n"),
        "{stdout}"
    );
    // Strict: the tour goes as it says.
    let out = gpc(&["run", "--strict", &tour.to_string_lossy()], None)?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    Ok(())
}

/// The annotations are comments: `--echo` prints the tour exactly as the same script
/// without them (the transcript the conformance cases and the hobby kernel compare).
#[test]
fn expect_comments_leave_the_echo_transcript_alone() -> std::io::Result<()> {
    let tour = std::fs::read_to_string(repo().join("examples/tour.cgsh"))?;
    let bare: String = tour
        .lines()
        .map(|l| match l.find("# expect:") {
            Some(i) => format!("{}\n", l[..i].trim_end()),
            None => format!("{l}\n"),
        })
        .collect();
    assert_ne!(bare, tour);
    let annotated = gpc(&["run", "--echo", "-"], Some(&tour))?;
    let plain = gpc(&["run", "--echo", "-"], Some(&bare))?;
    assert_eq!(annotated.status.code(), Some(0));
    assert_eq!(text(&annotated.stdout), text(&plain.stdout));
    assert!(annotated.stderr.is_empty(), "{}", text(&annotated.stderr));
    Ok(())
}

const OFF_SCRIPT: &str = "\
# Three commands that do not go as the script says.
mount -t cgroup -o none,name=x cgroup /cg
mkdir /cg/a   # expect: EEXIST (wrong: it does not exist yet)
mkdir /cg/a   # expect: EEXIST
rmdir /cg/nope   # expect: EBUSY
rmdir /cg/nope
echo done
";

/// An expectation that is not met is visible in every format: a diagnostic on stderr
/// (plain and `--echo`, whose stdout stays FORMAT.md's), marked in the narration.
#[test]
fn missed_expectations_are_visible() -> std::io::Result<()> {
    let path = script("off-script.cgsh", OFF_SCRIPT)?;
    let p = path.to_string_lossy();
    let out = gpc(&["run", "--echo", &p], None)?;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "$ mount -t cgroup -o none,name=x cgroup /cg\n$ mkdir /cg/a\n$ mkdir /cg/a\n\
         error: EEXIST\n$ rmdir /cg/nope\nerror: ENOENT\n$ rmdir /cg/nope\nerror: ENOENT\n\
         $ echo done\ndone\n"
    );
    assert_eq!(
        text(&out.stderr),
        format!(
            "{p}: line 3: mkdir: succeeded [expected EEXIST]\n\
             {p}: line 5: rmdir: ENOENT (No such file or directory) [expected EBUSY]\n"
        )
    );
    let out = gpc(&["run", &p], None)?;
    assert_eq!(
        text(&out.stderr),
        format!(
            "{p}: line 3: mkdir: succeeded [expected EEXIST]\n\
             {p}: line 4: mkdir: EEXIST (File exists) [expected]\n\
             {p}: line 5: rmdir: ENOENT (No such file or directory) [expected EBUSY]\n\
             {p}: line 6: rmdir: ENOENT (No such file or directory)\n"
        )
    );
    let out = gpc(&["run", "--narrate", &p], None)?;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "Three commands that do not go as the script says.\n\n    \
         $ mount -t cgroup -o none,name=x cgroup /cg\n    $ mkdir /cg/a\n    \
         succeeded [expected EEXIST]\n    $ mkdir /cg/a\n    error: EEXIST (File exists) \
         [expected]\n    $ rmdir /cg/nope\n    error: ENOENT (No such file or directory) \
         [expected EBUSY]\n    $ rmdir /cg/nope\n    error: ENOENT (No such file or \
         directory) [unexpected]\n    $ echo done\n    done\n\n(6 commands, 3 errors; 3 did \
         not go as the script says: lines 3, 5, 6)\n"
    );
    // A misspelt errno is refused, not taken for a plain comment.
    let out = gpc(&["run", "-"], Some("mkdir /x # expect: EBSY\n"))?;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("line 1: `# expect:` names no errno"));
    Ok(())
}

/// `--strict` stops at the first command that does not go as the script says, names
/// it as `FILE:LINE: COMMAND: ERRNO` on stderr, and exits 1; what ran before it is
/// printed.
#[test]
fn strict_stops_at_the_first_unexpected_error() -> std::io::Result<()> {
    let path = script("strict.cgsh", GOOD)?;
    let p = path.to_string_lossy();
    let out = gpc(&["run", "--strict", "--echo", &p], None)?;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).ends_with("$ rmdir /cg/a\nerror: EBUSY\n"));
    assert_eq!(
        text(&out.stderr),
        format!("{p}:7: rmdir /cg/a: EBUSY (Device or resource busy)\n")
    );
    // Plain mode: the stop line only, not the diagnostic as well.
    let out = gpc(&["run", "--strict", &p], None)?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "A=2\n2\n");
    assert_eq!(
        text(&out.stderr),
        format!("{p}:7: rmdir /cg/a: EBUSY (Device or resource busy)\n")
    );
    // The first of several, and a success where an error was expected counts too; the
    // lines after it do not run.
    let path = script("strict-off.cgsh", OFF_SCRIPT)?;
    let p = path.to_string_lossy();
    let out = gpc(&["run", "--strict", "--narrate", &p], None)?;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).ends_with("    $ mkdir /cg/a\n    succeeded [expected EEXIST]\n"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        text(&out.stderr),
        format!("{p}:3: mkdir /cg/a: succeeded [expected EEXIST]\n")
    );
    // An expected error goes on; a piped script too.
    let out = gpc(
        &["run", "--strict", "-"],
        Some("rmdir /x # expect: ENOENT\nexit 1\necho not reached\n"),
    )?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "-: line 1: rmdir: ENOENT (No such file or directory) [expected]\n\
         -:2: exit 1: EPERM (Operation not permitted)\n"
    );
    Ok(())
}

const RECORDS: &str = "\
mount -t cgroup -o none,name=r cgroup /cg   # the hierarchy
spawn A
echo \"a, \\\"b\\\"\"
rmdir /cg   # expect: EBUSY
cat /cg/tasks
mkdir /cg
";

/// `--csv`: a header, then one RFC 4180 record per command (CRLF, quoted fields).
#[test]
fn csv_has_one_record_per_command() -> std::io::Result<()> {
    let out = gpc(&["run", "--csv", "-"], Some(RECORDS))?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "line,command,result,expect,as_expected,output\r\n\
         1,mount -t cgroup -o none,name=r cgroup /cg,ok,,true,\r\n"
            .replace(
                "mount -t cgroup -o none,name=r cgroup /cg",
                "\"mount -t cgroup -o none,name=r cgroup /cg\""
            )
            + "2,spawn A,ok,,true,\"A=2\n\"\r\n\
               3,\"echo \"\"a, \\\"\"b\\\"\"\"\"\",ok,,true,\"a, \"\"b\"\"\n\"\r\n\
               4,rmdir /cg,EBUSY,EBUSY,true,\r\n\
               5,cat /cg/tasks,ok,,true,\"1\n2\n\"\r\n\
               6,mkdir /cg,EEXIST,,false,\r\n"
    );
    Ok(())
}

/// `--json`: one JSON object per command and line (JSON Lines).
#[test]
fn json_has_one_object_per_command() -> std::io::Result<()> {
    let out = gpc(&["run", "--json", "-"], Some(RECORDS))?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"line":1,"command":"mount -t cgroup -o none,name=r cgroup /cg","result":"ok","expect":null,"as_expected":true,"output":""}"#,
            r#"{"line":2,"command":"spawn A","result":"ok","expect":null,"as_expected":true,"output":"A=2\n"}"#,
            r#"{"line":3,"command":"echo \"a, \\\"b\\\"\"","result":"ok","expect":null,"as_expected":true,"output":"a, \"b\"\n"}"#,
            r#"{"line":4,"command":"rmdir /cg","result":"EBUSY","expect":"EBUSY","as_expected":true,"output":""}"#,
            r#"{"line":5,"command":"cat /cg/tasks","result":"ok","expect":null,"as_expected":true,"output":"1\n2\n"}"#,
            r#"{"line":6,"command":"mkdir /cg","result":"EEXIST","expect":null,"as_expected":false,"output":""}"#,
        ]
    );
    Ok(())
}

/// `gpc help` and `gpc --help` point to the specification in the repository.
#[test]
fn help_points_to_doc_script_language() -> std::io::Result<()> {
    for args in [&["--help"][..], &["help"], &["-h"]] {
        let stdout = text(&gpc(args, None)?.stdout);
        assert!(
            stdout.contains("doc/script-language.md"),
            "{args:?}: {stdout}"
        );
        assert!(!stdout.contains("shared/sim-scripts/FORMAT.md"), "{stdout}");
    }
    let run = text(&gpc(&["help", "run"], None)?.stdout);
    for word in [
        "--narrate",
        "--strict",
        "--csv",
        "--json",
        "as_expected",
        "# expect:",
    ] {
        assert!(run.contains(word), "{word}: {run}");
    }
    Ok(())
}

/// The checked-in completions and man page are what the binary generates (so they never
/// go stale). To regenerate them: `GPC_BLESS=1 cargo test -p gpc-sim --test cli
/// generated_files`. The bash script is checked with `bash -n` where bash exists.
#[test]
fn generated_files_are_up_to_date() -> std::io::Result<()> {
    let sim = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let files: [(&[&str], PathBuf); 4] = [
        (&["completions", "bash"], sim.join("completions/gpc.bash")),
        (&["completions", "zsh"], sim.join("completions/_gpc")),
        (&["completions", "fish"], sim.join("completions/gpc.fish")),
        (&["man"], sim.join("doc/gpc.1")),
    ];
    let bless = std::env::var_os("GPC_BLESS").is_some();
    for (args, path) in &files {
        let out = gpc(args, None)?;
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        if bless {
            std::fs::write(path, &out.stdout)?;
        }
        let checked_in = std::fs::read(path)?;
        assert!(
            checked_in == out.stdout,
            "{} is not what `gpc {}` prints: regenerate it with \
             `GPC_BLESS=1 cargo test -p gpc-sim --test cli generated_files`",
            path.display(),
            args.join(" ")
        );
    }
    match Command::new("bash")
        .arg("-n")
        .arg(sim.join("completions/gpc.bash"))
        .output()
    {
        Ok(out) => assert!(out.status.success(), "{}", text(&out.stderr)),
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIP: bash -n on the bash completion: no bash ({e})"
            );
        }
    }
    // Completing works: the options of `run`, the shells of `completions`.
    if let Ok(out) = Command::new("bash")
        .arg("-c")
        .arg(
            "source \"$1\"; COMP_WORDS=(gpc run --st); COMP_CWORD=2; _gpc; \
             echo \"${COMPREPLY[*]}\"; COMP_WORDS=(gpc completions ''); COMP_CWORD=2; \
             _gpc; echo \"${COMPREPLY[*]}\"",
        )
        .arg("bash")
        .arg(sim.join("completions/gpc.bash"))
        .output()
    {
        assert_eq!(
            text(&out.stdout),
            "--strict\nbash zsh fish\n",
            "{}",
            text(&out.stderr)
        );
    }
    Ok(())
}
