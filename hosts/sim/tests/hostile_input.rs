//! Hostile input, each case with the errno Linux gives (doc/linux-v1-reference.md; the
//! rule is cited next to each check).
//!
//! Through the simulator ([`SimMachine`] driven by gpc-script's `Machine` trait, the
//! interface every `.cgsh` script uses): names, paths, writes of every shape to every
//! control file of every controller, deep nesting up to `PATH_MAX`, many siblings, pid
//! reuse after exit, pid exhaustion, a million tasks. Through gpc-core on the
//! simulator's stack (the same `Gpc<TestHost>` and controllers, driven directly):
//! nesting far beyond `PATH_MAX`, the hierarchy limits (`EAGAIN`), and a million tasks
//! forked, moved and reaped with the cost of each step.
//!
//! Decisions where the input cannot reach Linux at all:
//!
//! * **Non-UTF-8**: the `.cgsh` lexer refuses a line that is not UTF-8 (a parse error
//!   naming the line; nothing runs), so no lossy guess ever becomes a path. gpc-core's API
//!   takes names and paths as `&str`: a kernel host converts (or refuses) its bytes
//!   before calling it. Written *data* is bytes everywhere and may be anything.
//! * **NUL**: a Linux path is a C string, so a NUL never reaches `mkdir`; the lexer
//!   refuses it, and gpc-core refuses a name with one (`EINVAL`) so that no name can cut a
//!   `/proc/PID/cgroup` line or a release agent argument short. In written data,
//!   everything from the first NUL on is ignored, as by every kernel parser.
//!
//! `cargo test -p gpc-sim --test hostile_input -- --nocapture` prints the counts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "a test"
)]

use std::collections::BTreeMap;
use std::pin::Pin;
use std::time::Instant;

use gpc_core::host::task::NoTasks;
use gpc_core::testing::{Task, TestHost};
use gpc_core::{Caller, Creds, Error, Gpc, HierarchyId, Limits, Pid, TaskInfo, TaskRef, TaskTable};
use gpc_script::{FmtOutput, Machine, Mode, Script};
use gpc_sim::SimMachine;

type R = Result<(), Error>;

/// A machine with every controller mounted: three hierarchies plus a named one.
fn machine() -> SimMachine {
    let mut m = SimMachine::new().unwrap();
    m.mount("cgroup", "cpuset,cpu,cpuacct", "x", "/c").unwrap();
    m.mount("cgroup", "memory,pids,devices", "x", "/m").unwrap();
    m.mount("cgroup", "freezer,net_cls,ns,debug", "x", "/f")
        .unwrap();
    m.mount("cgroup", "none,name=n", "x", "/n").unwrap();
    m
}

fn text(m: &mut SimMachine, path: &str) -> Result<String, Error> {
    Ok(String::from_utf8_lossy(&m.read(path)?).into_owned())
}

/// The hierarchy id of a mount: mount the same options once more through gpc-core (which
/// finds the hierarchy) and drop that extra mount again.
fn hier_of(gpc: &Gpc<TestHost>, options: &str) -> HierarchyId {
    let caller = Caller {
        creds: Creds::ROOT,
        pid: None,
        tasks: &NoTasks,
    };
    let h = gpc.mount(options, &caller).unwrap();
    gpc.umount(h).unwrap();
    h
}

// ----------------------------------------------------------------------------------
// Names and paths.
// ----------------------------------------------------------------------------------

#[test]
fn hostile_names() -> R {
    let mut m = machine();
    let cases: &[(&str, R, &str)] = &[
        // fs/namei.c getname: an empty path is ENOENT.
        ("", Err(Error::ENOENT), "empty path"),
        // An empty last component is the directory itself: EEXIST (filename_create).
        ("/n/", Err(Error::EEXIST), "empty name"),
        ("/n//", Err(Error::EEXIST), "empty names"),
        // LAST_DOT / LAST_DOTDOT: EEXIST (filename_create).
        ("/n/.", Err(Error::EEXIST), "."),
        ("/n/..", Err(Error::EEXIST), ".."),
        // A '/' splits the name: the middle component must exist (ENOENT).
        ("/n/no/such", Err(Error::ENOENT), "name with /"),
        // cgroup_mkdir: strchr(name, '\n') -> EINVAL.
        ("/n/a\nb", Err(Error::EINVAL), "newline"),
        ("/n/\n", Err(Error::EINVAL), "only a newline"),
        ("/n/a\n", Err(Error::EINVAL), "trailing newline"),
        // A NUL never reaches Linux; gpc-core refuses it.
        ("/n/a\0b", Err(Error::EINVAL), "NUL"),
        // The VFS: an existing control file is EEXIST.
        ("/n/tasks", Err(Error::EEXIST), "a file's name"),
        ("/n/cgroup.procs", Err(Error::EEXIST), "a file's name"),
        (
            "/m/memory.limit_in_bytes",
            Err(Error::EEXIST),
            "a controller file's name",
        ),
        // Below a file: ENOTDIR.
        ("/n/tasks/x", Err(Error::ENOTDIR), "under a file"),
        // Names Linux takes as they are.
        ("/n/ sp:a,ce", Ok(()), "blanks, ':' and ','"),
        ("/n/\u{e9}t\u{e9}", Ok(()), "UTF-8"),
        ("/n/-", Ok(()), "a dash"),
        ("/n/...", Ok(()), "three dots"),
    ];
    let mut tried = 0;
    for (path, want, what) in cases {
        assert_eq!(m.mkdir(path, false), *want, "mkdir {path:?} ({what})");
        tried += 1;
    }
    // kernfs has no NAME_MAX (doc/linux-v1-reference.md §2.1: 256, 300, 1000 and 4000
    // bytes made on Linux): 255 and 256 bytes are both fine in cgroupfs; a plain
    // directory (simple_lookup) stops at NAME_MAX.
    for n in [255, 256, 1000, 4000] {
        let p = format!("/n/{}", "x".repeat(n));
        m.mkdir(&p, false)?;
        assert!(text(&mut m, &format!("{p}/tasks")).is_ok());
        m.rmdir(&p)?;
        tried += 1;
    }
    m.mkdir(&format!("/{}", "p".repeat(255)), false)?;
    assert_eq!(
        m.mkdir(&format!("/{}", "p".repeat(256)), false),
        Err(Error::ENAMETOOLONG)
    );
    tried += 2;
    // PATH_MAX (4096, the NUL included): 4095 bytes is the longest path.
    let long = format!("/n/{}", "l".repeat(4095 - 3));
    assert_eq!(long.len(), 4095);
    m.mkdir(&long, false)?;
    assert_eq!(
        m.mkdir(&format!("{long}x"), false),
        Err(Error::ENAMETOOLONG)
    );
    assert_eq!(m.read(&format!("{long}/tasks")), Err(Error::ENAMETOOLONG));
    assert_eq!(m.rmdir(&format!("{long}x")), Err(Error::ENAMETOOLONG));
    m.rmdir(&long)?;
    tried += 4;
    // rmdir of the odd names (do_rmdir: LAST_DOT EINVAL, LAST_DOTDOT ENOTEMPTY, the mount
    // point EBUSY).
    assert_eq!(m.rmdir(""), Err(Error::ENOENT));
    assert_eq!(m.rmdir("/n/."), Err(Error::EINVAL));
    assert_eq!(m.rmdir("/n/.."), Err(Error::ENOTEMPTY));
    assert_eq!(m.rmdir("/n"), Err(Error::EBUSY));
    assert_eq!(m.rmdir("/n/a\nb"), Err(Error::ENOENT));
    tried += 5;
    // What was made is listed as made, and nothing else.
    let core_files = [
        "cgroup.clone_children",
        "cgroup.procs",
        "cgroup.sane_behavior",
        "notify_on_release",
        "release_agent",
        "tasks",
    ];
    let mut ls = m.list("/n")?;
    ls.retain(|e| !core_files.contains(&e.as_str()));
    ls.sort();
    assert_eq!(ls, vec![" sp:a,ce", "-", "...", "\u{e9}t\u{e9}"]);
    println!("hostile names: {tried} names and paths, each with Linux's errno");
    Ok(())
}

#[test]
fn the_script_lexer_refuses_non_utf8_and_nul() {
    for src in [
        &b"mkdir /cg/\xff\n"[..],
        b"mkdir /cg/a\x00b\n",
        b"echo \xc3\x28 > /cg/tasks\n",
        b"cat /proc/\xed\xa0\x80/cgroup\n",
    ] {
        let e = Script::parse(src);
        assert!(e.is_err(), "{src:?} must not parse");
        // And nothing of such a script runs.
        let mut m = SimMachine::new().unwrap();
        let mut out = FmtOutput::new(String::new());
        let r = gpc_script::run_script(&mut m, src, Mode::Echo, &mut out);
        assert!(r.is_err());
        assert_eq!(m.list("/").unwrap(), vec!["proc"]);
    }
}

// ----------------------------------------------------------------------------------
// Writes.
// ----------------------------------------------------------------------------------

/// Everything the files of `dir` (recursively) show, for "a failed write changed
/// nothing".
fn dump(m: &mut SimMachine, dir: &str, out: &mut String) {
    let mut entries = m.list(dir).unwrap();
    entries.sort();
    for e in entries {
        let p = format!("{dir}/{e}");
        match m.read(&p) {
            Err(Error::EISDIR) => dump(m, &p, out),
            r => {
                *out += &format!(
                    "{p} {:?}\n",
                    r.map(|b| String::from_utf8_lossy(&b).into_owned())
                )
            }
        }
    }
}

fn dump_all(m: &mut SimMachine) -> String {
    let mut s = String::new();
    for d in ["/c", "/m", "/f", "/n"] {
        dump(m, d, &mut s);
    }
    s += &String::from_utf8_lossy(&m.read("/proc/cgroups").unwrap());
    s
}

/// The hostile data tried on every writable file.
fn battery() -> Vec<(&'static str, Vec<u8>)> {
    let mut v: Vec<(&'static str, Vec<u8>)> = vec![
        ("empty", b"".to_vec()),
        ("newline", b"\n".to_vec()),
        ("blank", b" ".to_vec()),
        ("negative", b"-1\n".to_vec()),
        ("very negative", b"-9223372036854775809\n".to_vec()),
        ("u64 max", b"18446744073709551615\n".to_vec()),
        ("u64 overflow", b"18446744073709551616\n".to_vec()),
        (
            "huge number",
            b"99999999999999999999999999999999\n".to_vec(),
        ),
        ("i32 overflow", b"2147483648\n".to_vec()),
        ("leading blank", b" 1\n".to_vec()),
        ("trailing blank", b"1 \n".to_vec()),
        ("both blanks", b"\t 1 \t\n".to_vec()),
        ("two values", b"1 2\n".to_vec()),
        ("two lines", b"1\n2\n".to_vec()),
        ("two newlines", b"1\n\n".to_vec()),
        ("hex", b"0x10\n".to_vec()),
        ("bad hex", b"0x\n".to_vec()),
        ("octal", b"010\n".to_vec()),
        ("plus", b"+1\n".to_vec()),
        ("minus only", b"-\n".to_vec()),
        ("garbage", b"abc\n".to_vec()),
        ("NUL first", b"\0".to_vec()),
        ("NUL after", b"1\0garbage".to_vec()),
        ("non-UTF-8", b"\xff\xfe\n".to_vec()),
        ("max", b"max\n".to_vec()),
        ("suffix", b"1G\n".to_vec()),
        ("list", b"0-1,3\n".to_vec()),
        ("rule", b"c 1:3 rwm\n".to_vec()),
        ("state", b"FROZEN\n".to_vec()),
        ("path", b"/sbin/agent\n".to_vec()),
        ("4095 bytes", vec![b'7'; 4095]),
        ("4096 bytes", vec![b' '; 4096]),
        ("4097 bytes", vec![b'1'; 4097]),
        ("1 MiB", vec![b'1'; 1 << 20]),
    ];
    // A page of blanks around a valid value.
    let mut padded = vec![b' '; 2000];
    padded.extend_from_slice(b"1");
    padded.extend(vec![b' '; 2000]);
    v.push(("padded", padded));
    v
}

/// Errnos a write may give at all (the union of Linux's write paths).
const WRITE_ERRNOS: [Error; 12] = [
    Error::EINVAL,
    // memory's cgroup.event_control: the event fd is not an open file.
    Error::EBADF,
    // bitmap_getnum: a CPU or node number beyond 32 bits.
    Error::EOVERFLOW,
    Error::ERANGE,
    Error::E2BIG,
    Error::EBUSY,
    Error::ENOSPC,
    Error::ESRCH,
    Error::EPERM,
    Error::EACCES,
    Error::ENODEV,
    Error::EAGAIN,
];

#[test]
fn hostile_writes_to_every_control_file() -> R {
    let mut m = machine();
    for d in ["/c", "/m", "/f", "/n"] {
        m.mkdir(&format!("{d}/a"), false)?;
        m.mkdir(&format!("{d}/a/b"), false)?;
    }
    // The cpuset child needs CPUs and nodes for attaches to mean anything.
    m.write("/c/a/cpuset.cpus", b"0-1")?;
    m.write("/c/a/cpuset.mems", b"0")?;
    let task = m.spawn()?;
    let inputs = battery();
    let mut files = Vec::new();
    for d in ["/c", "/m", "/f", "/n"] {
        for dir in [d.to_string(), format!("{d}/a")] {
            let mut names = m.list(&dir)?;
            names.sort();
            for n in names {
                let p = format!("{dir}/{n}");
                if !matches!(m.read(&p), Err(Error::EISDIR)) {
                    files.push(p);
                }
            }
        }
    }
    let mut tried = 0usize;
    let mut results: BTreeMap<String, usize> = BTreeMap::new();
    for f in &files {
        for (what, data) in &inputs {
            let before = dump_all(&mut m);
            let r = m.write(f, data);
            tried += 1;
            *results
                .entry(match r {
                    Ok(()) => "ok".to_string(),
                    Err(e) => format!("{e:?}"),
                })
                .or_default() += 1;
            match r {
                Ok(()) => {
                    // Whatever it did, the machine still works: undo a freeze, put the
                    // task back where it was for the next input.
                    if f.ends_with("freezer.state") {
                        m.write(f, b"THAWED")?;
                    }
                }
                Err(e) => {
                    assert!(WRITE_ERRNOS.contains(&e), "{f} <- {what}: {e:?}");
                    // A refused write changes nothing (kernfs + the handlers validate
                    // before they commit).
                    assert_eq!(before, dump_all(&mut m), "{f} <- {what}: {e:?} but changed");
                }
            }
            // kernfs_fop_write_iter: more than a page is E2BIG before any handler
            // (release_agent: more than PATH_MAX - 1), whatever the file.
            if data.len() > 4096 || data.len() > 4095 && f.ends_with("release_agent") {
                assert_eq!(r, Err(Error::E2BIG), "{f} <- {what}");
            }
            // cgroup_file_write: an empty write is a no-op success on a writable file.
            if data.is_empty() && !matches!(r, Err(Error::EINVAL)) {
                assert_eq!(r, Ok(()), "{f} <- {what}");
            }
        }
        // Keep the task around for the tasks files.
        let _ = m.write("/c/tasks", format!("{task}").as_bytes());
    }
    println!(
        "hostile writes: {tried} writes ({} inputs x {} files), results {results:?}; \
         every refused write left every file as it was",
        inputs.len(),
        files.len()
    );
    Ok(())
}

/// The same battery on every file of the unified hierarchy (cgroup v2: the root, a
/// parent and a populated child), plus what only v2 takes (`threaded`, controller
/// lists): a refused write changes nothing, and every errno is one Linux's v2 write
/// paths give (`EOPNOTSUPP`: the threaded model; `ENOENT`: a controller not offered).
#[test]
fn hostile_writes_to_every_v2_file() -> R {
    let mut m = SimMachine::new()?;
    // Every controller with v2 files offered, and enabled down to the leaf, so that
    // their files (memory.*) are in the battery too.
    m.configure(&gpc_script::MachineConfig {
        mem: Some(64 << 20),
        swap: Some(16 << 20),
        v2: Some("all"),
        ..gpc_script::MachineConfig::default()
    })?;
    m.mount("cgroup2", "", "x", "/u")?;
    m.mkdir("/u/a", false)?;
    m.mkdir("/u/a/b", false)?;
    m.write("/u/cgroup.subtree_control", b"+memory")?;
    m.write("/u/a/cgroup.subtree_control", b"+memory")?;
    let place = |m: &mut SimMachine| -> R {
        let t = m.spawn()?;
        m.write("/u/a/b/cgroup.procs", format!("{t}").as_bytes())
    };
    place(&mut m)?;
    let mut inputs = battery();
    inputs.push(("threaded", b"threaded\n".to_vec()));
    inputs.push(("domain", b"domain\n".to_vec()));
    inputs.push(("enable", b"+cpu\n".to_vec()));
    inputs.push(("disable", b"-memory\n".to_vec()));
    inputs.push(("trigger", b"some 150000 1000000\n".to_vec()));
    inputs.push(("bad trigger", b"some 0 1000000\n".to_vec()));
    inputs.push(("max", b"max\n".to_vec()));
    inputs.push(("reclaim", b"1M swappiness=0\n".to_vec()));
    inputs.push(("bad reclaim", b"1M swappiness=201\n".to_vec()));
    let mut files = Vec::new();
    for dir in ["/u", "/u/a", "/u/a/b"] {
        let mut names = m.list(dir)?;
        names.sort();
        for n in names {
            let p = format!("{dir}/{n}");
            if !matches!(m.read(&p), Err(Error::EISDIR)) {
                files.push(p);
            }
        }
    }
    let dump_u = |m: &mut SimMachine| {
        let mut s = String::new();
        dump(m, "/u", &mut s);
        s += &String::from_utf8_lossy(&m.read("/proc/cgroups").unwrap());
        s
    };
    let allowed =
        |e: Error| WRITE_ERRNOS.contains(&e) || matches!(e, Error::EOPNOTSUPP | Error::ENOENT);
    let (mut tried, mut refused) = (0usize, 0usize);
    for f in &files {
        for (what, data) in &inputs {
            let before = dump_u(&mut m);
            let r = m.write(f, data);
            tried += 1;
            match r {
                Ok(()) => {
                    // Undo what an accepted write did, for the next input: thaw, and a
                    // task in place of one that was killed.
                    if f.ends_with("cgroup.freeze") {
                        m.write(f, b"0")?;
                    }
                    if f.ends_with("cgroup.pressure") {
                        m.write(f, b"1")?;
                    }
                    if f.ends_with("cgroup.subtree_control") {
                        let _ = m.write(f, b"+memory");
                    }
                    if text(&mut m, "/u/a/b/cgroup.procs")?.is_empty() {
                        place(&mut m)?;
                    }
                }
                Err(e) => {
                    refused += 1;
                    assert!(allowed(e), "{f} <- {what}: {e:?}");
                    assert_eq!(before, dump_u(&mut m), "{f} <- {what}: {e:?} but changed");
                }
            }
            if data.len() > 4096 {
                assert_eq!(r, Err(Error::E2BIG), "{f} <- {what}");
            }
        }
    }
    assert!(files.len() > 40 && refused > tried / 2, "{tried} {refused}");
    println!(
        "hostile v2 writes: {tried} writes ({} inputs x {} files), {refused} refused, \
         each leaving every file as it was",
        inputs.len(),
        files.len()
    );
    Ok(())
}

#[test]
fn hostile_writes_with_linux_errnos() -> R {
    let mut m = machine();
    m.mkdir("/m/a", false)?;
    m.mkdir("/c/a", false)?;
    let a = m.spawn()?;
    let huge = vec![b'1'; 1 << 20];
    let cases: Vec<(&str, Vec<u8>, R)> = vec![
        // §4.3: kstrtoint(strstrip(buf), 0) and pid >= 0; several values, empty (after the
        // strip), negative and above INT_MAX are EINVAL; no such task ESRCH.
        ("/n/tasks", b"".to_vec(), Ok(())),
        ("/n/tasks", b"\n".to_vec(), Err(Error::EINVAL)),
        ("/n/tasks", b"-1\n".to_vec(), Err(Error::EINVAL)),
        ("/n/tasks", b"1 2\n".to_vec(), Err(Error::EINVAL)),
        ("/n/tasks", b"2147483648\n".to_vec(), Err(Error::EINVAL)),
        (
            "/n/tasks",
            b"18446744073709551616\n".to_vec(),
            Err(Error::EINVAL),
        ),
        ("/n/tasks", b"abc\n".to_vec(), Err(Error::EINVAL)),
        ("/n/tasks", b"99999\n".to_vec(), Err(Error::ESRCH)),
        ("/n/tasks", format!(" \t{a} \n\n").into_bytes(), Ok(())),
        ("/n/tasks", format!("{a}\0junk").into_bytes(), Ok(())),
        ("/n/cgroup.procs", format!("+{a}\n").into_bytes(), Ok(())),
        // §4.2: more than a page is E2BIG, whatever the content.
        ("/n/tasks", huge.clone(), Err(Error::E2BIG)),
        ("/n/tasks", vec![b' '; 4097], Err(Error::E2BIG)),
        ("/n/tasks", vec![b' '; 4096], Err(Error::EINVAL)),
        // §4.2 write_u64 (kstrtoull, no strip; one trailing newline): -1, blanks, two
        // values, two newlines EINVAL; above u64 ERANGE.
        ("/n/notify_on_release", b"-1\n".to_vec(), Err(Error::EINVAL)),
        ("/n/notify_on_release", b" 1\n".to_vec(), Err(Error::EINVAL)),
        ("/n/notify_on_release", b"1 \n".to_vec(), Err(Error::EINVAL)),
        (
            "/n/notify_on_release",
            b"1 2\n".to_vec(),
            Err(Error::EINVAL),
        ),
        (
            "/n/notify_on_release",
            b"1\n\n".to_vec(),
            Err(Error::EINVAL),
        ),
        ("/n/notify_on_release", b"\n".to_vec(), Err(Error::EINVAL)),
        (
            "/n/notify_on_release",
            b"18446744073709551616\n".to_vec(),
            Err(Error::ERANGE),
        ),
        (
            "/n/notify_on_release",
            b"18446744073709551615\n".to_vec(),
            Ok(()),
        ),
        ("/n/notify_on_release", b"0x10".to_vec(), Ok(())),
        ("/n/notify_on_release", huge.clone(), Err(Error::E2BIG)),
        // §4.5: release_agent takes PATH_MAX - 1 bytes, strips blanks.
        ("/n/release_agent", vec![b'a'; 4095], Ok(())),
        ("/n/release_agent", vec![b'a'; 4096], Err(Error::E2BIG)),
        ("/n/release_agent", huge.clone(), Err(Error::E2BIG)),
        ("/n/release_agent", b"  /sbin/x  \n".to_vec(), Ok(())),
        // pids_max_write: strstrip, "max" or kstrtoll in [0, PIDS_MAX = 4194305).
        ("/m/a/pids.max", b"-1\n".to_vec(), Err(Error::EINVAL)),
        ("/m/a/pids.max", b" max \n".to_vec(), Ok(())),
        ("/m/a/pids.max", b"max max\n".to_vec(), Err(Error::EINVAL)),
        ("/m/a/pids.max", b"4194304\n".to_vec(), Ok(())),
        ("/m/a/pids.max", b"4194305\n".to_vec(), Err(Error::EINVAL)),
        (
            "/m/a/pids.max",
            b"99999999999999999999\n".to_vec(),
            Err(Error::ERANGE),
        ),
        // cpu.shares is write_u64.
        ("/c/a/cpu.shares", b"-1\n".to_vec(), Err(Error::EINVAL)),
        (
            "/c/a/cpu.shares",
            b"18446744073709551616\n".to_vec(),
            Err(Error::ERANGE),
        ),
        // mem_cgroup_write: strstrip then page_counter_memparse: "-1" is unlimited;
        // trailing garbage EINVAL.
        ("/m/a/memory.limit_in_bytes", b"-1\n".to_vec(), Ok(())),
        ("/m/a/memory.limit_in_bytes", b" 4M \n".to_vec(), Ok(())),
        (
            "/m/a/memory.limit_in_bytes",
            b"4M 8M\n".to_vec(),
            Err(Error::EINVAL),
        ),
        (
            "/m/a/memory.limit_in_bytes",
            b"x\n".to_vec(),
            Err(Error::EINVAL),
        ),
        // cpuset: bitmap_parselist: a CPU beyond the bitmap ERANGE, a number beyond 32
        // bits EOVERFLOW, no number EINVAL.
        (
            "/c/a/cpuset.cpus",
            b"0-99999\n".to_vec(),
            Err(Error::ERANGE),
        ),
        (
            "/c/a/cpuset.cpus",
            b"4294967296\n".to_vec(),
            Err(Error::EOVERFLOW),
        ),
        ("/c/a/cpuset.cpus", b"-1\n".to_vec(), Err(Error::EINVAL)),
        // A file without a write handler (root passes the DAC check): EINVAL.
        ("/m/a/pids.current", b"1\n".to_vec(), Err(Error::EINVAL)),
    ];
    for (path, data, want) in &cases {
        let shown: String = String::from_utf8_lossy(&data[..data.len().min(24)]).into_owned();
        assert_eq!(m.write(path, data), *want, "{path} <- {shown:?}");
    }
    assert_eq!(text(&mut m, "/n/release_agent")?, "/sbin/x\n");
    assert_eq!(text(&mut m, "/n/notify_on_release")?, "1\n");
    assert_eq!(text(&mut m, "/m/a/pids.max")?, "4194304\n");
    println!("hostile writes with Linux's errnos: {} cases", cases.len());
    Ok(())
}

// ----------------------------------------------------------------------------------
// Deep and wide trees.
// ----------------------------------------------------------------------------------

#[test]
fn nesting_up_to_path_max() -> R {
    let mut m = machine();
    // Long names reach PATH_MAX (4096 with the NUL) in a few levels: "/n" and 100-byte
    // components; the level that would make the path 4096 bytes long is ENAMETOOLONG.
    let comp = format!("/{}", "x".repeat(99));
    let mut path = String::from("/n");
    let mut levels = 0;
    loop {
        let next = format!("{path}{comp}");
        if next.len() >= 4096 {
            assert_eq!(m.mkdir(&next, false), Err(Error::ENAMETOOLONG));
            break;
        }
        m.mkdir(&next, false)?;
        path = next;
        levels += 1;
    }
    assert_eq!(levels, 40);
    // A task at the bottom: /proc/PID/cgroup shows the whole path.
    let t = m.spawn()?;
    m.write(&format!("{path}/tasks"), t.to_string().as_bytes())?;
    let proc = text(&mut m, &format!("/proc/{t}/cgroup"))?;
    assert!(proc.contains(&format!(":name=n:{}\n", &path[2..])));
    m.exit(t)?;
    while path != "/n" {
        m.rmdir(&path)?;
        path.truncate(path.len() - comp.len());
    }
    // Many short levels: 300 through the VFS, with a task at the bottom.
    let mut deep = String::from("/n");
    for _ in 0..300 {
        deep.push_str("/d");
        m.mkdir(&deep, false)?;
    }
    let t = m.spawn()?;
    m.write(&format!("{deep}/tasks"), t.to_string().as_bytes())?;
    assert!(
        text(&mut m, &format!("/proc/{t}/cgroup"))?.contains(&format!(":name=n:{}\n", &deep[2..]))
    );
    assert_eq!(m.rmdir(&deep), Err(Error::EBUSY));
    m.exit(t)?;
    while deep != "/n" {
        m.rmdir(&deep)?;
        deep.truncate(deep.len() - 2);
    }
    assert_eq!(m.list("/n")?.len(), 6);
    println!("nesting: {levels} levels of 100-byte names up to PATH_MAX, then ENAMETOOLONG; 300 levels of short names");
    Ok(())
}

#[test]
fn nesting_and_width_limits_through_gpc_core() -> R {
    let mut m = machine();
    let h = hier_of(m.gpc(), "none,name=n");
    let gpc = m.gpc();
    // No limit by default (Linux v1: INT_MAX): 5000 levels, far past PATH_MAX; gpc-core
    // takes paths relative to the hierarchy root and walks them without recursion.
    let mut path = String::new();
    for _ in 0..5000 {
        path.push_str("/d");
        gpc.mkdir(h, &path)?;
    }
    assert_eq!(gpc.hierarchy_limits(h), Some(Limits::MAX));
    // cgroup.max.depth as a host setting: the parent's level must be below it (EAGAIN).
    gpc.set_hierarchy_limits(
        h,
        Limits {
            max_depth: 5000,
            max_descendants: usize::MAX,
        },
    )?;
    assert_eq!(gpc.mkdir(h, &format!("{path}/d")), Err(Error::EAGAIN));
    gpc.mkdir(h, "/x")?;
    // cgroup.max.descendants: the whole tree counts.
    gpc.set_hierarchy_limits(
        h,
        Limits {
            max_depth: usize::MAX,
            max_descendants: 5001,
        },
    )?;
    assert_eq!(gpc.mkdir(h, "/y"), Err(Error::EAGAIN));
    assert_eq!(gpc.mkdir(h, &format!("{path}/d")), Err(Error::EAGAIN));
    gpc.rmdir(h, "/x")?;
    gpc.mkdir(h, "/y")?;
    gpc.rmdir(h, "/y")?;
    // Through the VFS, level 2000 (a 4002-byte path) is still reachable.
    let t = m.spawn()?;
    let vfs = format!("/n{}", &path[..4000]);
    m.write(&format!("{vfs}/tasks"), t.to_string().as_bytes())?;
    assert!(text(&mut m, &format!("/proc/{t}/cgroup"))?
        .contains(&format!(":name=n:{}\n", &path[..4000])));
    assert_eq!(
        m.read(&format!("/n{}/tasks", &path[..4090])),
        Err(Error::ENAMETOOLONG)
    );
    m.exit(t)?;
    let gpc = m.gpc();
    while !path.is_empty() {
        gpc.rmdir(h, &path)?;
        path.truncate(path.len() - 2);
    }
    println!("nesting through gpc-core: 5000 levels; max_depth and max_descendants give EAGAIN");
    Ok(())
}

#[test]
fn many_siblings() -> R {
    let mut m = machine();
    let n = 20_000;
    let start = Instant::now();
    for i in 0..n {
        m.mkdir(&format!("/n/s{i}"), false)?;
    }
    assert_eq!(m.mkdir("/n/s0", false), Err(Error::EEXIST));
    let ls = m.list("/n")?;
    assert_eq!(ls.len(), n + 6);
    let t = m.spawn()?;
    m.write(&format!("/n/s{}/tasks", n - 1), t.to_string().as_bytes())?;
    assert_eq!(
        text(&mut m, &format!("/n/s{}/tasks", n - 1))?,
        format!("{t}\n")
    );
    assert_eq!(m.rmdir(&format!("/n/s{}", n - 1)), Err(Error::EBUSY));
    m.exit(t)?;
    for i in 0..n {
        m.rmdir(&format!("/n/s{i}"))?;
    }
    assert_eq!(m.list("/n")?.len(), 6);
    // With a limit, the next sibling is EAGAIN.
    let h = hier_of(m.gpc(), "none,name=n");
    m.gpc().set_hierarchy_limits(
        h,
        Limits {
            max_depth: usize::MAX,
            max_descendants: 3,
        },
    )?;
    for i in 0..3 {
        m.mkdir(&format!("/n/s{i}"), false)?;
    }
    assert_eq!(m.mkdir("/n/s3", false), Err(Error::EAGAIN));
    println!(
        "siblings: {n} made, listed, used and removed through the VFS in {:.1?}",
        start.elapsed()
    );
    Ok(())
}

// ----------------------------------------------------------------------------------
// Pids.
// ----------------------------------------------------------------------------------

#[test]
fn a_reused_pid_inherits_nothing() -> R {
    let mut m = machine();
    for d in ["/c", "/m", "/f", "/n"] {
        m.mkdir(&format!("{d}/g"), false)?;
    }
    m.write("/c/g/cpuset.cpus", b"1")?;
    m.write("/c/g/cpuset.mems", b"0")?;
    m.write("/m/g/pids.max", b"1")?;
    m.write("/n/g/notify_on_release", b"1")?;
    m.write("/n/release_agent", b"/agent")?;
    // Pids below 300 are never reused (alloc_pid wraps to RESERVED_PIDS): use one above.
    let old = loop {
        m.set_user(Some(1000));
        let p = m.spawn()?;
        m.set_user(None);
        if p >= 300 {
            break p;
        }
        m.exit(p)?;
    };
    for d in ["/c", "/m", "/f", "/n"] {
        m.write(&format!("{d}/g/tasks"), old.to_string().as_bytes())?;
    }
    m.write("/f/g/freezer.state", b"FROZEN")?;
    m.memory(old, 3 << 20, true)?;
    let before = text(&mut m, &format!("/proc/{old}/cgroup"))?;
    m.exit(old)?;
    assert_eq!(m.take_releases()?, vec!["/g"]);
    // Linux allocates pids cyclically (alloc_pid: idr_alloc_cyclic from last_pid + 1,
    // wrapping at pid_max to 300): spawn and reap until `old` comes round again.
    let mut spins = 0;
    let new = loop {
        let p = m.spawn()?;
        if p == old {
            break p;
        }
        m.exit(p)?;
        spins += 1;
        assert!(spins < 40_000, "pid {old} never came back");
    };
    // The new task is root's, in init's groups (the roots), not frozen, charged nothing,
    // and none of the old task's groups count it.
    let now = text(&mut m, &format!("/proc/{new}/cgroup"))?;
    assert_ne!(before, now);
    for line in now.lines() {
        assert!(line.ends_with(":/"), "{line}");
    }
    for d in ["/c", "/m", "/f", "/n"] {
        assert_eq!(text(&mut m, &format!("{d}/g/tasks"))?, "");
    }
    assert_eq!(text(&mut m, "/m/g/pids.current")?, "0\n");
    assert_eq!(text(&mut m, "/m/g/memory.usage_in_bytes")?, "0\n");
    let ps = String::from_utf8_lossy(&m.ps()?).into_owned();
    assert!(ps.contains(&format!("\n{new} {new} 0 R 0 0 0 0\n")), "{ps}");
    // pids.max = 1 still lets one task in, and the freezer group is still frozen for a
    // newcomer.
    m.write("/m/g/tasks", new.to_string().as_bytes())?;
    assert_eq!(m.fork(new), Err(Error::EAGAIN));
    println!(
        "pid reuse: pid {old} came back after {spins} spawn/exit cycles with nothing inherited"
    );
    Ok(())
}

#[test]
fn pid_exhaustion_is_eagain() -> R {
    let mut m = machine();
    m.mkdir("/m/g", false)?;
    // pid_max is Linux's default 32768; pids 1..32767 fit (0 is never used).
    let mut made = 0;
    let err = loop {
        match m.spawn() {
            Ok(_) => made += 1,
            Err(e) => break e,
        }
    };
    // kernel/pid.c alloc_pid: no free pid -> EAGAIN.
    assert_eq!(err, Error::EAGAIN);
    assert_eq!(made, 32767 - 1);
    assert_eq!(text(&mut m, "/m/pids.current"), Err(Error::ENOENT));
    let procs = text(&mut m, "/m/cgroup.procs")?;
    assert_eq!(procs.lines().count(), 32767);
    println!("pid exhaustion: {} tasks, then EAGAIN", made + 1);
    Ok(())
}

// ----------------------------------------------------------------------------------
// A million tasks.
// ----------------------------------------------------------------------------------

/// Linux's ceiling for pid_max on 64-bit (`PID_MAX_LIMIT`, 4 * 1024 * 1024).
const PID_MAX_LIMIT: usize = 4 * 1024 * 1024;

/// Boxed: a linked slot must not move (the table's vector grows). A test host's task is
/// a `tasklist::Task` (its `TaskIds` finds the ids from the slot).
type BigTask = Pin<Box<Task>>;

/// A task table indexed by pid, big enough for `PID_MAX_LIMIT` tasks.
struct BigTable {
    tasks: Vec<Option<BigTask>>,
}

impl BigTable {
    fn task_ref(&self, pid: Pid) -> Option<TaskRef<'_>> {
        let t = self.tasks.get(pid as usize)?.as_ref()?;
        Some(TaskRef {
            pid,
            tgid: t.tgid,
            creds: Creds::ROOT,
            slot: &t.slot,
        })
    }
}

impl TaskTable for BigTable {
    fn with_task(&self, pid: Pid, f: &mut dyn FnMut(&TaskRef<'_>)) -> bool {
        match self.task_ref(pid) {
            Some(t) => {
                f(&t);
                true
            }
            None => false,
        }
    }
    fn with_thread_group(
        &self,
        tgid: Pid,
        f: &mut dyn FnMut(&mut dyn Iterator<Item = TaskRef<'_>>),
    ) -> bool {
        if self.task_ref(tgid).is_none() {
            return false;
        }
        let mut it = self.tasks.iter().enumerate().filter_map(|(pid, t)| {
            let t = t.as_ref()?;
            (t.tgid == tgid).then_some(TaskRef {
                pid: pid as Pid,
                tgid,
                creds: Creds::ROOT,
                slot: &t.slot,
            })
        });
        f(&mut it);
        true
    }
}

/// Resident memory of this process, in KiB (Linux's /proc/self/status).
fn rss_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn root_caller(t: &BigTable) -> Caller<'_> {
    Caller {
        creds: Creds::ROOT,
        pid: None,
        tasks: t,
    }
}

fn many_tasks(n: usize) {
    assert!(n < PID_MAX_LIMIT);
    let subsystems = gpc_subsystems::all();
    let gpc = Gpc::new(TestHost::new(4, 2), &subsystems).unwrap();
    let mut table = BigTable {
        tasks: Vec::with_capacity(n + 1),
    };
    table.tasks.push(None);
    table.tasks.push(Some(Task::boxed(1, 1)));
    let init_info = TaskInfo {
        pid: 1,
        tgid: 1,
        is_thread: false,
    };
    gpc.init_task(
        table.tasks[1].as_ref().unwrap().as_ref().pinned_slot(),
        &init_info,
    )
    .unwrap();
    let hs: Vec<HierarchyId> = {
        let caller = Caller {
            creds: Creds::ROOT,
            pid: None,
            tasks: &table,
        };
        [
            "cpuset,cpu,cpuacct",
            "memory,pids,devices",
            "freezer,net_cls",
            "none,name=n",
        ]
        .iter()
        .map(|o| gpc.mount(o, &caller).unwrap())
        .collect()
    };
    for &h in &hs {
        gpc.mkdir(h, "a").unwrap();
        gpc.mkdir(h, "b").unwrap();
    }
    gpc.write(hs[0], "a/cpuset.cpus", b"0-3", &root_caller(&table))
        .unwrap();
    gpc.write(hs[0], "a/cpuset.mems", b"0-1", &root_caller(&table))
        .unwrap();
    let rss0 = rss_kib("VmRSS:").unwrap_or(0);
    let start = Instant::now();
    // n - 1 forks: one process in ten, the rest its threads.
    for pid in 2..=n as Pid {
        let tgid = if pid % 10 == 2 {
            pid
        } else {
            pid - (pid - 2) % 10
        };
        let parent = if tgid == pid { 1 } else { tgid };
        let child = Task::boxed(pid, tgid);
        let ps = &table.tasks[parent as usize].as_ref().unwrap().slot;
        gpc.fork(
            ps,
            child.as_ref().pinned_slot(),
            &TaskInfo {
                pid,
                tgid,
                is_thread: tgid != pid,
            },
        )
        .unwrap();
        table.tasks.push(Some(child));
    }
    let forked = start.elapsed();
    let rss1 = rss_kib("VmRSS:").unwrap_or(0);
    // Move every other process (with its threads) into a, in every hierarchy.
    let t_move = Instant::now();
    for &h in &hs {
        for tgid in (2..=n as Pid).step_by(20) {
            let t = table.task_ref(tgid).unwrap();
            gpc.attach(h, "a", &t).unwrap();
        }
    }
    let moved = t_move.elapsed();
    let read = |table: &BigTable, h: HierarchyId, p: &str| {
        let mut buf = Vec::new();
        gpc.read(h, p, &root_caller(table), &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    };
    let t_read = Instant::now();
    let in_a = read(&table, hs[3], "a/tasks").lines().count();
    let in_root = read(&table, hs[3], "tasks").lines().count();
    let procs_a = read(&table, hs[3], "a/cgroup.procs").lines().count();
    let read_time = t_read.elapsed();
    let procs_in_a = (n - 1).div_ceil(20);
    assert_eq!(procs_a, procs_in_a);
    assert_eq!(in_a, procs_in_a);
    assert_eq!(in_a + in_root, n);
    assert_eq!(read(&table, hs[1], "a/pids.current"), format!("{in_a}\n"));
    // The css_groups: one per membership, counted by their tasks (+1 for init's).
    let mut rc: Vec<usize> = gpc.css_group_refcounts().iter().map(|r| r.0).collect();
    rc.sort_unstable();
    assert_eq!(rc, vec![in_a, in_root + 1]);
    // Everyone exits.
    let t_exit = Instant::now();
    for pid in 2..=n {
        let t = table.tasks[pid].take().unwrap();
        gpc.exit(
            &t.slot,
            &TaskInfo {
                pid: pid as Pid,
                tgid: t.tgid,
                is_thread: t.tgid != pid as Pid,
            },
        );
    }
    let exited = t_exit.elapsed();
    assert_eq!(read(&table, hs[1], "a/pids.current"), "0\n");
    assert_eq!(read(&table, hs[3], "a/tasks"), "");
    assert_eq!(read(&table, hs[3], "tasks"), "1\n");
    for &h in &hs {
        gpc.rmdir(h, "a").unwrap();
        gpc.rmdir(h, "b").unwrap();
        gpc.umount(h).unwrap();
    }
    let per_task = (rss1.saturating_sub(rss0) * 1024) as f64 / (n - 1) as f64;
    println!(
        "{n} tasks on gpc-core + all controllers: fork {forked:.1?}, {} attaches {moved:.1?}, \
         tasks/procs reads {read_time:.1?}, exit {exited:.1?}; RSS {rss0} KiB -> {rss1} KiB \
         ({per_task:.0} bytes per task, the test's task table included), peak {} KiB",
        hs.len() * procs_in_a,
        rss_kib("VmHWM:").unwrap_or(0)
    );
}

/// A million tasks in the simulator itself: `pid_max` raised to Linux's
/// `PID_MAX_LIMIT` (as `/proc/sys/kernel/pid_max` allows), 999,999 `spawn`s through the
/// script interface, one in ten moved into a group of every hierarchy, then the files
/// that list them. The machine is dropped at the end (every task exits).
fn million_in_the_sim(n: usize) {
    let mut m = machine();
    m.set_pid_max(PID_MAX_LIMIT as Pid).unwrap();
    for d in ["/c", "/m", "/f", "/n"] {
        m.mkdir(&format!("{d}/g"), false).unwrap();
    }
    m.write("/c/g/cpuset.cpus", b"0-3").unwrap();
    m.write("/c/g/cpuset.mems", b"0-1").unwrap();
    let start = Instant::now();
    let mut moved = 0;
    for i in 1..n {
        let pid = m.spawn().unwrap();
        if i % 10 == 0 {
            // Not /f: its ns controller lets a task only into an empty child of its own
            // group (the seed's ns rule).
            for d in ["/c", "/m", "/n"] {
                m.write(&format!("{d}/g/tasks"), pid.to_string().as_bytes())
                    .unwrap();
            }
            moved += 1;
        }
    }
    let spawned = start.elapsed();
    let lines = |m: &mut SimMachine, p: &str| {
        m.read(p)
            .unwrap()
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count()
    };
    for d in ["/c", "/m", "/n"] {
        assert_eq!(lines(&mut m, &format!("{d}/g/tasks")), moved);
        assert_eq!(lines(&mut m, &format!("{d}/tasks")), n - moved);
    }
    assert_eq!(
        text(&mut m, "/m/g/pids.current").unwrap(),
        format!("{moved}\n")
    );
    // The header and a line per controller (11 with io).
    assert_eq!(lines(&mut m, "/proc/cgroups"), 12);
    let rss = rss_kib("VmRSS:").unwrap_or(0);
    let t_drop = Instant::now();
    drop(m);
    println!(
        "{n} tasks in the simulator: {n} spawns and {} moves in {spawned:.1?}, RSS {rss} KiB \
         with them alive; every task exited in {:.1?}",
        moved * 3,
        t_drop.elapsed()
    );
}

/// A million tasks (999,999 forks from init, one process in ten with nine threads) on
/// the simulator's stack: about 3 s in a debug build, 0.3 s in release. For the figures
/// without other tests running beside it:
/// `cargo test --release -p gpc-sim --test hostile_input -- --nocapture --test-threads=1 million`.
#[test]
fn million_tasks() {
    many_tasks(1_000_000);
}

/// The simulator's own million (its task table, VFS writes for the moves): about 6 s in
/// a debug build, 1 s in release. Figures without other tests beside it:
/// `cargo test --release -p gpc-sim --test hostile_input -- --nocapture --test-threads=1 million`.
#[test]
fn million_tasks_in_the_simulator() {
    million_in_the_sim(1_000_000);
}
