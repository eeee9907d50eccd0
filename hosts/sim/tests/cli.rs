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
        pipe.write_all(text.as_bytes())?;
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
        "$ spawn A\nA=2\n$ ps\n1 1 0 S 0 0\n2 2 0 R 0 0\n"
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
        "$ spawn A\nA=2\nps\n    tasks: PID TGID UID STATE(R/S/D) CPU_MS MEM\n"
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
