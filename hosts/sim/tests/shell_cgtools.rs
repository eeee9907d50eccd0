//! `gpc shell` with piped input through the libcgroup tools, `mount` alone and `sample`
//! (issue 11: tests drive the shell through them, with expected outputs).

use std::io::Write;
use std::process::{Command, Stdio};

/// What `gpc shell` prints for `input` on stdin (stdout, stderr).
fn shell(input: &str) -> (String, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_gpc"))
        .arg("shell")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    assert!(child.is_ok(), "cannot run gpc: {child:?}");
    let Ok(mut child) = child else {
        return (String::new(), String::new());
    };
    if let Some(mut stdin) = child.stdin.take() {
        assert!(stdin.write_all(input.as_bytes()).is_ok());
    }
    let out = child.wait_with_output();
    assert!(out.as_ref().is_ok_and(|o| o.status.success()), "{out:?}");
    let Ok(out) = out else {
        return (String::new(), String::new());
    };
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn libcgroup_tools_and_sample_in_the_shell() {
    let (out, err) = shell(
        "machine cpus=1 mems=1\n\
         mount -t cgroup -o cpu,cpuacct cgroup /sys/fs/cgroup/cpu,cpuacct\n\
         mount\n\
         lssubsys -am\n\
         cgcreate -g cpu,cpuacct:/web -g cpu:/batch\n\
         cgset -r cpu.shares=2048 /web\n\
         cgexec -g cpu:/web W\n\
         cgexec -g cpu:/batch B\n\
         lscgroup\n\
         cgget -r cpu.shares /web /batch\n\
         sample 100 200 /sys/fs/cgroup/cpu,cpuacct/web/cpuacct.usage /sys/fs/cgroup/cpu,cpuacct/batch/cpu.stat:nr_periods\n\
         cgclassify -g cpu:/web B\n\
         cgdelete cpu:/batch\n\
         lscgroup cpu:/\n\
         cgget -g nope:/\n\
         cgdelete -x\n",
    );
    let want = "\
proc on /proc type proc (rw,relatime)
cgroup on /sys/fs/cgroup/cpu,cpuacct type cgroup (rw,relatime,cpu,cpuacct)
cpuset
blkio
memory
devices
freezer
net_cls
perf_event
net_prio
hugetlb
pids
rdma
misc
ns
debug
cpu,cpuacct /sys/fs/cgroup/cpu,cpuacct
W=2
B=3
cpu,cpuacct:/
cpu,cpuacct:/batch
cpu,cpuacct:/web
/web:
cpu.shares: 2048

/batch:
cpu.shares: 1024

ms,\"/sys/fs/cgroup/cpu,cpuacct/web/cpuacct.usage\",\"/sys/fs/cgroup/cpu,cpuacct/batch/cpu.stat:nr_periods\"
0,0,0
100,66666667,0
200,133333334,0
cpu,cpuacct:/
cpu,cpuacct:/web
";
    assert_eq!(out, want);
    // The shell reports a run-time error and a parse error, and goes on.
    assert!(err.contains("cgget: ENOENT"), "{err}");
    assert!(err.contains("controller nope is not mounted"), "{err}");
    assert!(err.contains("unknown option -x"), "{err}");
}
