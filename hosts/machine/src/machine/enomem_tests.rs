//! Every allocation of every command fails in turn (issue 10, item 11: the hobby kernel
//! links this crate with an allocator that returns null, and an infallible allocation
//! there stops the kernel).
//!
//! The unit tests of this crate run with gpc-core's `FailingAlloc` as the global
//! allocator (see `lib.rs`). A script with every command kind runs through gpc-script's
//! `Session`, as the kernel runs it, line by line; for each line, the first, then the
//! second, ... allocation it makes returns null, until the line runs without reaching
//! the failure. Checked for each failure:
//!
//! * no abort: an allocation made infallibly (a `Vec::push`, a `format!`, a `BTreeMap`
//!   insert) that gets null aborts the test binary, which is the detection;
//! * the transcript is the command followed by `error: ENOMEM`, and the machine's whole
//!   observable state (every directory and file with owner, mode and contents, `ps`, the
//!   release agent calls not yet printed, the clock, the per-task simulation records) is
//!   as it was before the command, and the next attempt runs on that same machine;
//! * or the failure hit an allocation the command can do without (a transcript line
//!   written in pieces, a failure's explanation, a bigger variable table) and the
//!   command did exactly what it does without failure;
//! * `mkdir -p` and the `mkdir -p` of `mount` are several steps, as mkdir(1) is: the
//!   levels made before the failure stay, and the same command run again ends where the
//!   run without failure ends.
//!
//! Each line's transcript and state without failure come from a reference run of the
//! same script on another machine.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write as _;
use std::println;

use gpc_core::testing::{FailingAlloc, TestHost};
use gpc_script::{Mode, Output, ParseErrorKind, Session};

use super::*;

struct Std;

impl Platform for Std {
    type Host = TestHost;
    fn host(nr_cpus: usize, nr_mems: usize) -> Result<TestHost> {
        Ok(TestHost::new(nr_cpus, nr_mems))
    }
}

type SimMachine = Machine<Std>;

/// What a line does in the run without failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    /// Succeeds.
    Ok,
    /// Fails (prints an error).
    Fails,
    /// Succeeds, and is several steps (`mkdir -p`, `mount` making its directory).
    Steps,
}

/// Every command kind, each on the paths it has: groups and plain directories, `/proc`,
/// `as UID`, failures, tasks with memory, threads, frozen tasks, release agent calls.
const SCRIPT: &[(&str, Want)] = &[
    (
        "machine cpus=2 mems=1 rdma=mlx4_0,mlx5_1 misc=sev:4,tdx:2 hugepages=2MB:4 netdevs=lo,eth0,wlan0 disks=8:0,8:16@50M",
        Want::Ok,
    ),
    ("mount -t cgroup -o cpu,cpuacct cgroup /cpu", Want::Steps),
    (
        "mount -t cgroup -o memory,freezer,devices,blkio cgroup /sys/mem",
        Want::Steps,
    ),
    ("mount -t cpuset -o cpuset_v2_mode cpuset /cs", Want::Steps),
    (
        "mount -t cgroup -o ns,pids,name=x,release_agent=/bin/agent cgroup /ns",
        Want::Steps,
    ),
    ("mkdir /plain", Want::Ok),
    ("mount -t cgroup -o none,name=y cgroup /plain", Want::Ok),
    ("mount -t cgroup -o none,name=y cgroup /plain", Want::Fails),
    ("mkdir /cpu/a", Want::Ok),
    ("mkdir -p /cpu/b/c/d", Want::Steps),
    ("mkdir -p /home/u/v", Want::Steps),
    ("mkdir /sys/mem/g", Want::Ok),
    ("mkdir /ns/g", Want::Ok),
    ("mount -t cgroup -o none,name=z cgroup /ns/g", Want::Ok),
    ("mkdir /ns/g/inner", Want::Ok),
    ("echo 1 > /ns/notify_on_release", Want::Ok),
    ("mkdir /ns/h", Want::Ok),
    ("mkdir /cs/s", Want::Ok),
    ("echo 0 > /cs/s/cpus", Want::Ok),
    ("echo 0 > /cs/s/mems", Want::Ok),
    ("spawn A", Want::Ok),
    ("fork A B", Want::Ok),
    ("thread A T", Want::Ok),
    ("spawn C", Want::Ok),
    ("fork $A A", Want::Ok),
    ("echo $A > /cpu/a/tasks", Want::Ok),
    ("echo $B > /sys/mem/g/tasks", Want::Ok),
    ("echo $C > /ns/h/tasks", Want::Ok),
    ("echo $T > /cs/s/tasks", Want::Ok),
    // Huge pages, network priorities, perf cgroup events.
    (
        "mount -t cgroup -o hugetlb,net_prio,perf_event cgroup /hx",
        Want::Steps,
    ),
    ("mkdir /hx/h", Want::Ok),
    ("mkdir /hx/h/i", Want::Ok),
    ("echo $C > /hx/h/i/tasks", Want::Ok),
    ("echo 4M > /hx/h/hugetlb.2MB.limit_in_bytes", Want::Ok),
    ("echo eth0 3 > /hx/h/net_prio.ifpriomap", Want::Ok),
    ("echo wlan0 3 > /hx/h/i/net_prio.ifpriomap", Want::Ok),
    ("echo eth9 3 > /hx/h/net_prio.ifpriomap", Want::Fails),
    ("hugealloc C 2MB 1", Want::Ok),
    ("hugealloc C 2MB 2", Want::Fails),
    ("hugealloc C 1GB 1", Want::Fails),
    ("hugealloc C 2MB 1", Want::Ok),
    ("hugefree C 2MB 1", Want::Ok),
    ("netprio C", Want::Ok),
    ("perf /hx/h", Want::Ok),
    (
        "cat /hx/h/hugetlb.2MB.numa_stat /hx/h/i/net_prio.ifpriomap /hx/h/net_prio.prioidx",
        Want::Ok,
    ),
    ("echo $C > /hx/h/tasks", Want::Ok),
    ("rmdir /hx/h/i", Want::Ok),
    ("cat /hx/h/hugetlb.2MB.numa_stat", Want::Ok),
    ("echo 512 > /cpu/a/cpu.shares", Want::Ok),
    ("echo 8M > /sys/mem/g/memory.limit_in_bytes", Want::Ok),
    // Block I/O: a throttled write in flight across a run, its statistics.
    (
        "echo 8:16 1048576 > /sys/mem/g/blkio.throttle.write_bps_device",
        Want::Ok,
    ),
    (
        "echo 8:0 wbps=1 > /sys/mem/g/blkio.throttle.read_bps_device",
        Want::Fails,
    ),
    ("io B 8:16 write 2M", Want::Ok),
    // (Both still in flight after the run: one piece, see doc/io.md.)
    ("io C 8:0 read 200M", Want::Ok),
    ("io B 8:0 read 1", Want::Fails),
    ("run 1000", Want::Ok),
    ("cat /sys/mem/g/blkio.throttle.io_service_bytes", Want::Ok),
    (
        "cat /sys/mem/blkio.throttle.io_serviced_recursive",
        Want::Ok,
    ),
    ("alloc B 6000", Want::Ok),
    ("alloc T 3000", Want::Ok),
    ("alloc A 2M", Want::Ok),
    ("free B 1000", Want::Ok),
    // The page cache (each read one chunk: a read that reclaims is several steps, the
    // pages read before a failure stay cached, as after a short read).
    ("readfile A e 1M", Want::Ok),
    ("readfile B f 2M", Want::Ok),
    ("writefile B g 1M", Want::Ok),
    ("readfile B f 2M", Want::Ok),
    ("cat /sys/mem/g/memory.stat /proc/meminfo", Want::Ok),
    ("echo 1 > /proc/sys/vm/drop_caches", Want::Ok),
    ("free B 1G", Want::Fails),
    ("cat /sys/mem/g/memory.usage_in_bytes", Want::Ok),
    ("cat /proc/cgroups", Want::Ok),
    ("cat /proc/$T/cgroup", Want::Ok),
    ("cat /proc/mounts", Want::Ok),
    ("cat /proc/$T/mounts", Want::Ok),
    // gpc-script's commands over /proc/mounts (read-only, then a group made and removed)
    ("mount", Want::Ok),
    ("lssubsys -am", Want::Ok),
    ("lscgroup", Want::Ok),
    ("cgget -g cpu:/a", Want::Ok),
    ("cgcreate -g cpu:/lc", Want::Steps),
    ("cgdelete cpu:/lc", Want::Ok),
    ("cat /nope", Want::Fails),
    ("ls /cpu", Want::Ok),
    ("ls /cpu/a", Want::Ok),
    ("ls /proc", Want::Ok),
    ("ls /proc/$A", Want::Ok),
    ("ls /", Want::Ok),
    ("ls /home/u", Want::Ok),
    ("ls /ns/g", Want::Ok),
    // The unified hierarchy: mount, limits, a process move, a refused thread move.
    ("mount -t cgroup2 -o nsdelegate none /v2", Want::Steps),
    ("mkdir -p /v2/a/b", Want::Steps),
    ("echo 3 > /v2/a/cgroup.max.descendants", Want::Ok),
    ("echo $A > /v2/a/b/cgroup.procs", Want::Ok),
    ("echo $T > /v2/a/cgroup.threads", Want::Fails),
    ("echo -cpu > /v2/a/cgroup.subtree_control", Want::Ok),
    (
        "cat /v2/a/cgroup.events /v2/cgroup.stat /v2/a/b/cgroup.threads",
        Want::Ok,
    ),
    ("cat /proc/$A/cgroup", Want::Ok),
    ("ls /v2/a", Want::Ok),
    // A threaded subtree: cgroup.type, a thread moved within its domain, the reads.
    ("mkdir /v2/a/b/t", Want::Ok),
    ("echo threaded > /v2/a/b/t/cgroup.type", Want::Ok),
    ("echo threaded > /v2/a/cgroup.type", Want::Fails),
    ("thread A U", Want::Ok),
    ("echo $U > /v2/a/b/t/cgroup.threads", Want::Ok),
    ("echo $U > /v2/a/cgroup.threads", Want::Fails),
    (
        "cat /v2/a/b/cgroup.procs /v2/a/b/cgroup.type /v2/a/b/t/cgroup.threads",
        Want::Ok,
    ),
    ("cat /v2/a/b/t/cgroup.procs", Want::Fails),
    // clone3 into a group, a cgroup namespace, reads and a mount made in it.
    ("clone A K /v2/a", Want::Ok),
    ("unshare -C A", Want::Ok),
    ("clone A K /v2/a", Want::Fails),
    ("clone A K /v2/a/b", Want::Ok),
    ("clone A J /plain", Want::Fails),
    ("in K cat /proc/self/cgroup /proc/1/cgroup", Want::Ok),
    ("in K mount -t cgroup2 none /v2ns", Want::Steps),
    ("ls /v2ns", Want::Ok),
    ("exit K", Want::Ok),
    // Freezing (the tasks stop after the write), a fork into the frozen group, a kill.
    // rdma and misc: limits, charges kept and refused, given back; v2 device programs.
    ("mount -t cgroup -o rdma,misc cgroup /rm", Want::Steps),
    ("mkdir /rm/g", Want::Ok),
    (
        "echo 'mlx5_1 hca_handle=2 hca_object=5' > /rm/g/rdma.max",
        Want::Ok,
    ),
    ("echo 'nodev hca_handle=2' > /rm/g/rdma.max", Want::Fails),
    ("echo 'sev 3' > /rm/g/misc.max", Want::Ok),
    ("echo $C > /rm/g/tasks", Want::Ok),
    ("rdma charge C mlx5_1 hca_handle 2", Want::Ok),
    ("rdma charge C mlx5_1 hca_handle", Want::Fails),
    ("rdma charge C mlx4_0 hca_object 9", Want::Ok),
    ("misc charge C sev 3", Want::Ok),
    ("misc charge C sev 1", Want::Fails),
    ("misc uncharge C sev 1", Want::Ok),
    ("rdma uncharge C mlx5_1 hca_handle", Want::Ok),
    (
        "cat /rm/g/rdma.max /rm/g/rdma.current /rm/g/misc.current /rm/g/misc.events",
        Want::Ok,
    ),
    ("devprog attach /v2/a multi 'allow c 1:3 rw'", Want::Ok),
    (
        "devprog attach /v2/a/b multi 'deny c 1:3 w' 'allow a *:* rwm'",
        Want::Ok,
    ),
    ("devprog attach /v2/a/b 'allow a *:* rwm'", Want::Fails),
    ("devprog list /v2/a/b", Want::Ok),
    ("open A c 1:3 r", Want::Ok),
    ("open A c 1:3 w", Want::Fails),
    ("devprog detach /v2/a/b 2", Want::Ok),
    ("echo 1 > /v2/a/cgroup.freeze", Want::Ok),
    ("fork A F", Want::Ok),
    (
        "cat /v2/a/b/cgroup.events /v2/a/cgroup.stat.local /v2/a/cpu.stat",
        Want::Ok,
    ),
    ("echo 0 > /v2/a/cgroup.freeze", Want::Ok),
    ("mkdir /v2/k", Want::Ok),
    ("spawn Q", Want::Ok),
    ("echo $Q > /v2/k/cgroup.procs", Want::Ok),
    ("echo 1 > /v2/k/cgroup.kill", Want::Ok),
    ("cat /v2/k/cgroup.procs /v2/cpu.pressure", Want::Ok),
    ("cd /cpu", Want::Ok),
    ("cd a", Want::Ok),
    ("pwd", Want::Ok),
    ("cat tasks cpu.shares", Want::Ok),
    ("cat /cpu/*/tasks /sys/mem/g/memory.limit_*", Want::Ok),
    ("cd /cpu/a/tasks", Want::Fails),
    ("cd", Want::Ok),
    ("tree", Want::Ok),
    ("tree /ns", Want::Ok),
    ("echo hello   world", Want::Ok),
    ("echo -n no newline", Want::Ok),
    ("chown 1000 /cpu/a", Want::Ok),
    ("chown 1000:1000 /cpu/a/tasks", Want::Ok),
    ("chown 4294967295:7 /cpu/a/cpu.shares", Want::Ok),
    ("chown 1000 /home/u", Want::Ok),
    ("as 1000 mkdir /cpu/a/mine", Want::Ok),
    ("as 1000 mkdir /home/u/mine", Want::Ok),
    ("as 1000 echo 1 > /cpu/tasks", Want::Fails),
    ("as 1000 spawn U", Want::Ok),
    ("busy A", Want::Ok),
    ("idle C", Want::Ok),
    ("run 30", Want::Ok),
    ("open A c 1:3 rw", Want::Ok),
    ("echo a > /sys/mem/g/devices.deny", Want::Ok),
    ("open B c 1:3 r", Want::Fails),
    ("echo FROZEN > /sys/mem/g/freezer.state", Want::Ok),
    ("run 20", Want::Ok),
    ("ps", Want::Ok),
    // Pressure: figures, the switch, a trigger.
    (
        "cat /proc/pressure/cpu /v2/a/cpu.pressure /v2/cpu.pressure",
        Want::Ok,
    ),
    ("echo 0 > /v2/a/cgroup.pressure", Want::Ok),
    ("run 5", Want::Ok),
    ("echo 1 > /v2/a/cgroup.pressure", Want::Ok),
    ("echo \"some 1 2000000\" > /proc/pressure/io", Want::Ok),
    ("unshare A", Want::Ok),
    ("ls /ns", Want::Ok),
    ("exit T", Want::Ok),
    ("ps", Want::Ok),
    ("exit C", Want::Ok),
    ("exit B", Want::Ok),
    ("rmdir /ns/g/inner", Want::Ok),
    ("umount /ns/g", Want::Ok),
    ("rmdir /ns/g", Want::Ok),
    ("releases", Want::Ok),
    ("rmdir /cpu/b/c/d", Want::Ok),
    ("rmdir /home/u/v", Want::Ok),
    ("umount /plain", Want::Ok),
    ("cat /proc/mounts", Want::Ok),
    ("mkdir /cpu/a", Want::Fails),
    ("exit A", Want::Ok),
    ("releases", Want::Ok),
    ("ps", Want::Ok),
];

/// A transcript sink that never allocates: its buffer is reserved up front (a sink
/// growing while a failure is armed would abort the test for the sink's sake).
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
            "the test's sink is too small"
        );
        self.0.extend_from_slice(bytes);
    }
}

/// Everything a later command could observe, as text.
fn dump(m: &mut SimMachine) -> String {
    // What the next command would record first (calls left queued by an ENOMEM).
    let _ = m.settle();
    let mut out = String::new();
    walk(m, "/", 0, &mut out);
    let ps = m.do_ps().unwrap_or_default();
    out.push_str(&String::from_utf8_lossy(&ps));
    for (agent, path) in m.releases.iter() {
        let _ = writeln!(out, "release {agent} {path}");
    }
    let mut cgns: Vec<_> = m.cgns.of_task.iter().collect();
    cgns.sort();
    let _ = writeln!(
        out,
        "cgns {cgns:?} {} current {:?}",
        m.cgns.all.len(),
        m.current
    );
    let mut huge: Vec<_> = m.huge.maps.iter().collect();
    huge.sort_by_key(|(pid, _)| **pid);
    let _ = writeln!(out, "huge {:?} {huge:?}", m.huge.used);
    let mut sim: Vec<_> = m.sim.iter().collect();
    sim.sort_by_key(|(pid, _)| **pid);
    let _ = writeln!(
        out,
        "clock {} touched {} user {:?} sim {sim:?} bw {:?} cpus {} mems {}",
        m.clock_ns, m.touched, m.user, m.bw, m.nr_cpus, m.nr_mems
    );
    let _ = writeln!(
        out,
        "host charges {:?} progs {:?}",
        m.hostres.charges, m.hostres.progs
    );
    let _ = writeln!(out, "disks {:?} io {:?}", m.disks, m.flows);
    out
}

fn walk(m: &SimMachine, path: &str, depth: usize, out: &mut String) {
    let env = m.env();
    let loc = match m.vfs.resolve(&env, &Creds::ROOT, path) {
        Ok(loc) => loc,
        Err(e) => {
            let _ = writeln!(out, "{path}: {e:?}");
            return;
        }
    };
    let (owner, mode) = m.vfs.attrs(&env, &loc);
    if !loc.is_dir() {
        // A pressure file's read folds the time so far into its totals and may take a
        // sample (Linux psi_show): the dump leaves them to the script's own reads, or
        // it would change what it compares. Their state shows in those reads.
        if path.ends_with(".pressure") || path.starts_with("/proc/pressure/") {
            let _ = writeln!(out, "{path} {owner:?} {mode:o}");
            return;
        }
        let data = m
            .do_read(path)
            .map(|d| String::from_utf8_lossy(&d).into_owned());
        let _ = writeln!(out, "{path} {owner:?} {mode:o} {data:?}");
        return;
    }
    let _ = writeln!(out, "{path}/ {owner:?} {mode:o}");
    // A hierarchy mounted on one of its own groups would repeat forever.
    if depth >= 8 {
        return;
    }
    let mut names = m.vfs.list(&env, &loc).unwrap_or_default();
    names.sort();
    for name in names {
        let child = if path == "/" {
            format!("/{name}")
        } else {
            format!("{path}/{name}")
        };
        walk(m, &child, depth + 1, out);
    }
}

/// `a == b`, or a failure showing the lines that differ.
#[track_caller]
fn assert_same(a: &str, b: &str, what: &str) {
    if a != b {
        let only = |x: &str, y: &str| -> Vec<String> {
            x.lines()
                .filter(|l| !y.lines().any(|m| m == *l))
                .map(String::from)
                .collect()
        };
        assert_eq!(only(a, b), only(b, a), "{what}: the state differs");
        assert_eq!(a, b, "{what}: the state differs in order");
    }
}

/// A dump without the files that show hierarchy ids (`/proc/cgroups`,
/// `/proc/PID/cgroup`): which groups exist and who is in them the hierarchies' own
/// files show.
fn without_hierarchy_ids(dump: &str) -> String {
    dump.lines()
        .filter(|l| {
            let Some(rest) = l.strip_prefix("/proc/") else {
                return true;
            };
            !(rest.starts_with("cgroups ")
                || rest
                    .split_once('/')
                    .is_some_and(|(_, f)| f.starts_with("cgroup ")))
        })
        .flat_map(|l| [l, "\n"])
        .collect()
}

/// Runs one line; what it printed.
fn run(m: &mut SimMachine, session: &mut Session, line: &str) -> Vec<u8> {
    let mut sink = Sink::new();
    assert_eq!(session.run_line(line.as_bytes(), m, &mut sink), Ok(()));
    sink.0
}

/// A machine and session that ran the first `n` lines, without failure.
fn replay(n: usize) -> Result<(SimMachine, Session)> {
    let mut m = SimMachine::new()?;
    let mut session = Session::new(Mode::Echo);
    for (line, _) in SCRIPT.iter().take(n) {
        run(&mut m, &mut session, line);
    }
    Ok((m, session))
}

#[test]
fn every_allocation_failure_of_every_command_is_enomem_and_changes_nothing() -> Result {
    // The reference: each line's transcript and the state after it.
    let (mut m, mut session) = replay(0)?;
    let mut states = vec![dump(&mut m)];
    let mut transcripts = Vec::new();
    for &(line, want) in SCRIPT {
        let out = String::from_utf8_lossy(&run(&mut m, &mut session, line)).into_owned();
        let failed = out.contains("\nerror: ");
        assert_eq!(failed, want == Want::Fails, "{out}");
        transcripts.push(out);
        states.push(dump(&mut m));
    }
    drop(m);

    let (mut injected, mut absorbed) = (0usize, 0usize);
    let (mut m, mut session) = replay(0)?;
    for (i, &(line, want)) in SCRIPT.iter().enumerate() {
        let (before, after_ok) = (&states[i], &states[i + 1]);
        let enomem = format!("$ {line}\nerror: ENOMEM\n");
        for n in 0.. {
            let mut sink = Sink::new();
            FailingAlloc::fail_after(n);
            let parsed = session.run_line(line.as_bytes(), &mut m, &mut sink);
            let failures = FailingAlloc::disarm();
            let out = String::from_utf8_lossy(&sink.0).into_owned();
            let state = dump(&mut m);
            if failures == 0 {
                assert_eq!(parsed, Ok(()), "{line}");
                assert_eq!(&out, &transcripts[i], "{line}");
                assert_same(&state, after_ok, line);
                break;
            }
            injected += 1;
            match parsed {
                // The line could not be parsed: nothing ran.
                Err(e) => {
                    assert_eq!(e.kind, ParseErrorKind::OutOfMemory, "{line}: {n}");
                    assert!(out.is_empty(), "{line}: {n}: {out}");
                    assert_same(&state, before, &format!("{line}: allocation {n}"));
                }
                Ok(()) if out == enomem => {
                    let mount = line.starts_with("mount");
                    if &state == before {
                        // As it was.
                    } else if transcripts[i] == enomem && &state == after_ok {
                        // The command's own ENOMEM (a memory limit), the failed
                        // allocation done without.
                        absorbed += 1;
                        (m, session) = replay(i)?;
                        continue;
                    }
                    if &state == before {
                        if mount {
                            // A new hierarchy may have used up its id, as on Linux
                            // (kernel/cgroup/cgroup.c cgroup_setup_root: the cyclic
                            // cgroup_init_root_id comes before kernfs_create_root and the
                            // rest that can fail with ENOMEM): later lines would show
                            // other ids.
                            (m, session) = replay(i)?;
                        }
                    } else {
                        assert_eq!(
                            want,
                            Want::Steps,
                            "{line}: allocation {n} changed the state"
                        );
                        // Some levels made: running it again finishes it.
                        let again =
                            String::from_utf8_lossy(&run(&mut m, &mut session, line)).into_owned();
                        assert_eq!(&again, &transcripts[i], "{line}: again after {n}");
                        let (state, after_ok) = if mount {
                            (
                                without_hierarchy_ids(&dump(&mut m)),
                                without_hierarchy_ids(after_ok),
                            )
                        } else {
                            (dump(&mut m), after_ok.clone())
                        };
                        assert_eq!(state, after_ok, "{line}: again after {n}");
                        (m, session) = replay(i)?;
                    }
                }
                Ok(()) => {
                    // Done without that allocation.
                    absorbed += 1;
                    assert_eq!(&out, &transcripts[i], "{line}: allocation {n}");
                    assert_same(&state, after_ok, &format!("{line}: allocation {n}"));
                    (m, session) = replay(i)?;
                }
            }
            // `machine` is only allowed as the first command the session ran.
            if i == 0 {
                (m, session) = replay(0)?;
            }
        }
    }
    println!(
        "{} lines, {injected} allocation failures injected, {absorbed} done without \
         the failed allocation",
        SCRIPT.len()
    );
    assert!(injected > 10 * SCRIPT.len(), "{injected}");
    Ok(())
}

/// The v2 cpuset writes (kernel/cgroup/cpuset.c `update_prstate`, `update_cpumask`,
/// `update_exclusive_cpumask`, `update_nodemask`): each takes its one snapshot of the
/// hierarchy before it changes anything, so a failed allocation anywhere in the line is
/// `ENOMEM` with every partition and mask as it was, or an allocation the line does
/// without (then it does what it does without failure).
#[test]
fn v2_cpuset_writes_fail_whole() -> Result {
    const SETUP: &[&str] = &[
        "machine cpus=4 v2=all",
        "mount -t cgroup2 none /v2",
        "echo +cpuset > /v2/cgroup.subtree_control",
        "mkdir /v2/a",
        "mkdir /v2/b",
        "spawn A",
        "echo $A > /v2/b/cgroup.procs",
        "echo 2-3 > /v2/a/cpuset.cpus",
    ];
    const LINES: &[&str] = &[
        "echo root > /v2/a/cpuset.cpus.partition",
        "echo isolated > /v2/a/cpuset.cpus.partition",
        "echo 3 > /v2/a/cpuset.cpus.exclusive",
        "echo 1-3 > /v2/b/cpuset.cpus",
        "echo 0 > /v2/b/cpuset.mems",
        "echo member > /v2/a/cpuset.cpus.partition",
        "cat /v2/cpuset.cpus.isolated /v2/b/cpuset.cpus.effective /v2/a/cpuset.cpus.partition",
        "run 10",
    ];
    let machine_after = |k: usize| -> Result<(SimMachine, Session)> {
        let mut m = SimMachine::new()?;
        let mut session = Session::new(Mode::Echo);
        for line in SETUP.iter().chain(LINES.iter().take(k)) {
            run(&mut m, &mut session, line);
        }
        Ok((m, session))
    };
    let mut injected = 0usize;
    for (k, line) in LINES.iter().enumerate() {
        let (mut m, mut session) = machine_after(k)?;
        let before = dump(&mut m);
        let want = String::from_utf8_lossy(&run(&mut m, &mut session, line)).into_owned();
        assert!(!want.contains("error:"), "{want}");
        let after_ok = dump(&mut m);
        let enomem = format!("$ {line}\nerror: ENOMEM\n");
        for n in 0.. {
            let (mut m, mut session) = machine_after(k)?;
            let mut sink = Sink::new();
            FailingAlloc::fail_after(n);
            let parsed = session.run_line(line.as_bytes(), &mut m, &mut sink);
            let failures = FailingAlloc::disarm();
            let out = String::from_utf8_lossy(&sink.0).into_owned();
            let state = dump(&mut m);
            if failures == 0 {
                assert_eq!(out, want, "{line}");
                break;
            }
            injected += 1;
            if parsed.is_err() || out == enomem {
                assert_same(&state, &before, &format!("{line}: allocation {n}"));
            } else {
                assert_eq!(out, want, "{line}: allocation {n}");
                assert_same(&state, &after_ok, &format!("{line}: allocation {n}"));
            }
        }
    }
    assert!(injected >= LINES.len(), "every line allocates");
    Ok(())
}
