//! The shell's Linux-like commands driven through the `gpc` binary with piped input,
//! with their expected outputs: `cd`/`pwd` and relative paths, globs, `cat` of several
//! files (labelled in the shell, concatenated in a script), `tree`, `top` (batch),
//! `ps` with and without its header, and `--layout v1`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn gpc(args: &[&str], stdin: &str) -> std::io::Result<Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gpc"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut pipe) = child.stdin.take() {
        pipe.write_all(stdin.as_bytes())?;
    }
    child.wait_with_output()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const SESSION: &str = "mount -t cgroup -o cpu,cpuacct cgroup /cg
mount -t cgroup -o memory memory /mem
mkdir /cg/web
mkdir /cg/web/api
mkdir /cg/db
spawn A
spawn B
fork A C
echo $A > /cg/web/tasks
echo $C > /cg/web/api/tasks
echo $B > /cg/db/tasks
cd /cg/web
pwd
echo 512 > cpu.shares
cat cpu.shares
cd api
pwd
cd ../..
pwd
cat */cpu.shares
cat '*/cpu.shares'
cat web/cpu.s*
ls web/a*
mkdir web/a*
cd /nope
cd /cg/tasks
cd /cg/*
as 1000 cd /mem
pwd
cd
pwd
tree
tree /cg/web
ps
alloc B 3M
top -b -d 1000 -n 2
";

#[test]
fn the_shell_walks_like_linux() -> std::io::Result<()> {
    let out = gpc(&["shell"], SESSION)?;
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        r#"A=2
B=3
C=4
/cg/web
512
/cg/web/api
/cg
db/cpu.shares:1024
web/cpu.shares:512
web/cpu.shares:512
web/cpu.stat:nr_periods 0
web/cpu.stat:nr_throttled 0
web/cpu.stat:throttled_time 0
web/cpu.stat:nr_bursts 0
web/cpu.stat:burst_time 0
web/cpu.stat.local:throttled_time 0
cgroup.clone_children
cgroup.procs
cpu.cfs_burst_us
cpu.cfs_period_us
cpu.cfs_quota_us
cpu.idle
cpu.shares
cpu.stat
cpu.stat.local
cpuacct.stat
cpuacct.usage
cpuacct.usage_all
cpuacct.usage_percpu
cpuacct.usage_percpu_sys
cpuacct.usage_percpu_user
cpuacct.usage_sys
cpuacct.usage_user
notify_on_release
tasks
/mem
/
/cg:
├─1 init
├─db
│ └─3 B
└─web
  ├─2 A
  └─api
    └─4 C

/mem:
├─1 init
├─2 A
├─3 B
└─4 C
/cg/web:
├─2 A
└─api
  └─4 C
PID TGID UID STATE CPU_MS MEM RSS SWAP CGROUP
1 1 0 S 0 0 0 0 2:memory:/,1:cpu,cpuacct:/
2 2 0 R 0 0 0 0 2:memory:/,1:cpu,cpuacct:/web
3 3 0 R 0 0 0 0 2:memory:/,1:cpu,cpuacct:/db
4 4 0 R 0 0 0 0 2:memory:/,1:cpu,cpuacct:/web/api
Control Group  Tasks   %CPU   Memory  Input/s Output/s
/                  4  300.0     3.0M        -        -
/web               2  200.0        -        -        -
/db                1  100.0        -        -        -
/web/api           1  100.0        -        -        -

Control Group  Tasks   %CPU   Memory  Input/s Output/s
/                  4  300.0     3.0M        -        -
/web               2  200.0        -        -        -
/db                1  100.0        -        -        -
/web/api           1  100.0        -        -        -
"#
    );
    // Diagnostics on stderr, in order: the quoted pattern stays literal (ENOENT), a
    // pattern of one match is that path (EEXIST), a pattern of many is EINVAL for a
    // one-path command.
    assert_eq!(
        text(&out.stderr),
        "cat: ENOENT (No such file or directory): */cpu.shares\n\
         mkdir: EEXIST (File exists)\n\
         cd: ENOENT (No such file or directory)\n\
         cd: ENOTDIR (Not a directory)\n\
         cd: EINVAL (Invalid argument): /cg/* matches 23 paths; give one\n"
    );
    Ok(())
}

#[test]
fn a_script_concatenates_and_echo_mode_keeps_format_md_columns() -> std::io::Result<()> {
    // `gpc run`: cat(1) of several files is their concatenation, ps has its header.
    let out = gpc(&["run", "-"], SESSION)?;
    let stdout = text(&out.stdout);
    assert!(stdout.contains("/cg\n1024\n512\n"), "{stdout}");
    assert!(
        stdout.contains(
            "PID TGID UID STATE CPU_MS MEM RSS SWAP CGROUP\n1 1 0 S 0 0 0 0 2:memory:/,1:cpu,cpuacct:/\n"
        ),
        "{stdout}"
    );
    // `--echo` (FORMAT.md's transcript, the hobby kernel's too): the contract's six
    // columns and no header, and cat still concatenates.
    let out = gpc(&["shell", "--echo"], SESSION)?;
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "$ ps\n1 1 0 S 0 0 0 0\n2 2 0 R 0 0 0 0\n3 3 0 R 0 0 0 0\n4 4 0 R 0 0 0 0\n$ alloc"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("$ cat */cpu.shares\n1024\n512\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("$ cat '*/cpu.shares'\nerror: ENOENT\n"),
        "{stdout}"
    );
    Ok(())
}

#[test]
fn layout_v1_mounts_as_systemd_does() -> std::io::Result<()> {
    let lines = "\
ls /sys/fs/cgroup
cd /sys/fs/cgroup/cpu
mkdir web
spawn A
echo $A > web/tasks
echo 256 > web/cpu.shares
cat /sys/fs/cgroup/cpuacct/web/cpu.shares /sys/fs/cgroup/cpu,cpuacct/web/tasks
cat /sys/fs/cgroup/systemd/tasks
tree
machine cpus=2 mems=1
";
    let out = gpc(&["run", "--layout", "v1", "-"], lines)?;
    assert_eq!(
        text(&out.stdout),
        "\
cpu
cpu,cpuacct
cpuacct
cpuset
devices
freezer
memory
net_cls
pids
systemd
A=2
256
2
1
2
/sys/fs/cgroup/systemd:
├─1 init
└─2 A

/sys/fs/cgroup/cpuset:
├─1 init
└─2 A

/sys/fs/cgroup/cpu,cpuacct:
├─1 init
└─web
  └─2 A

/sys/fs/cgroup/memory:
├─1 init
└─2 A

/sys/fs/cgroup/devices:
├─1 init
└─2 A

/sys/fs/cgroup/freezer:
├─1 init
└─2 A

/sys/fs/cgroup/net_cls:
├─1 init
└─2 A

/sys/fs/cgroup/pids:
├─1 init
└─2 A
"
    );
    // The layout counts as the machine's first use.
    assert!(
        text(&out.stderr).contains("machine: EINVAL"),
        "{}",
        text(&out.stderr)
    );
    let bad = gpc(&["run", "--layout", "hybrid", "-"], "")?;
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("unknown layout \"hybrid\""));
    Ok(())
}
