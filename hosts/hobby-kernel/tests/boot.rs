//! Boots the hobby kernel in qemu and checks what it prints:
//!
//! 1. for every conformance case (v1's and v2's), the recorded Linux transcripts, through
//!    `shared/sim-scripts/compare.sh` with `boot.sh --echo` as the runner (every case
//!    must pass);
//! 2. byte for byte, the simulator's (`gpc run [--echo]`: stdout, stderr and exit
//!    status, in both modes), for the simulator's own cases (`hosts/sim/cases/`), the
//!    tour (`examples/tour.cgsh`) and the shared ones, with the `gpc` binary of this workspace (`GPC_BIN`, or
//!    `target/{debug,release}/gpc`, as `cargo test --workspace` builds it);
//! 3. a heap that runs dry: each command that finds it too low fails with
//!    `error: ENOMEM` and the script goes on to its end, recovering once memory is freed;
//!    no kernel panic, a clean isa-debug-exit;
//! 4. a script too large for the heap, or for the machine, is refused with a message
//!    that says so (exit status 2), and nothing of it runs.
//!
//! A missing prerequisite (`qemu-system-x86_64` or `$QEMU`, Debian: `apt-get install
//! qemu-system-x86`; `../shared/sim-scripts` beside the repository or `$GPC_SHARED`;
//! the `gpc` binary)
//! fails the test under `CI=true`, and otherwise skips it with a `SKIP:` line on stderr:
//! a test that did not boot the kernel never passes silently in CI.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Whether a prerequisite is there: `Ok(true)` if so; if not, `Err` under `CI=true`
/// (the test fails) and otherwise `Ok(false)` after a visible `SKIP:` line.
fn require(present: bool, what: &str) -> Result<bool, String> {
    if present {
        return Ok(true);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        return Err(format!(
            "{what}, and CI=true: a missing prerequisite fails the test"
        ));
    }
    // Straight to the process's stderr, not `eprintln!`: the test harness captures that
    // for a test that passes, and a skip must be seen.
    let _ = writeln!(std::io::stderr().lock(), "SKIP: {what}");
    Ok(false)
}

fn require_qemu(test: &str) -> Result<bool, String> {
    require(
        have_qemu(),
        &format!(
            "{test}: qemu-system-x86_64 is not installed (Debian: apt-get install \
             qemu-system-x86); the hobby kernel was not booted"
        ),
    )
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether qemu runs: `$QEMU` if set (as boot.sh, which inherits it), else
/// `qemu-system-x86_64`.
fn have_qemu() -> bool {
    let qemu = std::env::var_os("QEMU").unwrap_or_else(|| "qemu-system-x86_64".into());
    Command::new(qemu)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn boot(script: &Path, echo: bool) -> std::io::Result<Output> {
    let mut cmd = Command::new(repo_root().join("hosts/hobby-kernel/boot.sh"));
    if echo {
        cmd.arg("--echo");
    }
    cmd.arg(script).output()
}

/// The newest `gpc` binary of this workspace, if any.
fn gpc_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GPC_BIN") {
        return Some(PathBuf::from(p));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    ["debug", "release"]
        .iter()
        .map(|p| target.join(p).join("gpc"))
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, p)| p)
}

fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "cgsh"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `shared/sim-scripts` beside the repository, or `$GPC_SHARED` if set.
fn shared_dir() -> PathBuf {
    std::env::var_os("GPC_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/sim-scripts"))
}

fn boot_with(args: &[&str], script: &Path) -> Result<Output, String> {
    Command::new(repo_root().join("hosts/hobby-kernel/boot.sh"))
        .args(args)
        .arg(script)
        .output()
        .map_err(|e| format!("{}: cannot boot: {e}", script.display()))
}

#[test]
fn kernel_transcripts_match_linux() -> Result<(), String> {
    const TEST: &str = "kernel_transcripts_match_linux";
    if !require_qemu(TEST)? {
        return Ok(());
    }
    let shared = shared_dir();
    if !require(
        shared.join("compare.sh").is_file(),
        &format!("{TEST}: {} is missing", shared.display()),
    )? {
        return Ok(());
    }
    let runner = format!(
        "{} --echo",
        repo_root().join("hosts/hobby-kernel/boot.sh").display()
    );
    // Every recorded case, v1's and v2's (`cases-v2`, kept apart by the contract).
    let mut recorded = cases(&shared.join("cases"));
    recorded.extend(cases(&shared.join("cases-v2")));
    let out = Command::new(shared.join("compare.sh"))
        .arg("-v")
        .args(&recorded)
        .env("CGSIM", &runner)
        .output();
    let out = out.map_err(|e| format!("cannot run compare.sh: {e}"))?;
    let report = text(&out.stdout);
    eprintln!("{report}");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "compare.sh with the kernel failed:\n{report}\n{}",
            text(&out.stderr)
        ))
    }
}

#[test]
fn kernel_transcripts_match_the_simulator() -> Result<(), String> {
    const TEST: &str = "kernel_transcripts_match_the_simulator";
    if !require_qemu(TEST)? {
        return Ok(());
    }
    let gpc = gpc_bin();
    let Some(gpc) = gpc.filter(|p| p.is_file()) else {
        require(
            false,
            &format!("{TEST}: no gpc binary (set GPC_BIN or build gpc-sim)"),
        )?;
        return Ok(());
    };
    // The repository's own cases need nothing from ../shared; nor does the tour, whose
    // `# expect:` comments the kernel reads as the simulator does.
    let mut all = cases(&repo_root().join("hosts/sim/cases"));
    assert!(!all.is_empty(), "hosts/sim/cases has no case");
    all.push(repo_root().join("examples/tour.cgsh"));
    let shared = shared_dir().join("cases");
    if require(
        shared.is_dir(),
        &format!(
            "{TEST} (shared cases): {} is missing; the repository's own cases were compared",
            shared.display()
        ),
    )? {
        all.extend(cases(&shared));
        all.extend(cases(&shared_dir().join("cases-v2")));
    }
    let mut failed = Vec::new();
    for case in &all {
        for echo in [true, false] {
            let mut sim = Command::new(&gpc);
            sim.arg("run");
            if echo {
                sim.arg("--echo");
            }
            let sim = sim
                .arg(case)
                .output()
                .map_err(|e| format!("{}: cannot run gpc: {e}", case.display()))?;
            let kern =
                boot(case, echo).map_err(|e| format!("{}: cannot boot: {e}", case.display()))?;
            if sim.stdout != kern.stdout
                || sim.stderr != kern.stderr
                || sim.status.code() != kern.status.code()
            {
                failed.push(format!(
                    "{} ({}): status {:?} vs {:?}\n--- gpc stdout\n{}\n--- kernel stdout\n{}\n\
                     --- gpc stderr\n{}\n--- kernel stderr\n{}",
                    case.display(),
                    if echo { "--echo" } else { "plain" },
                    sim.status.code(),
                    kern.status.code(),
                    text(&sim.stdout),
                    text(&kern.stdout),
                    text(&sim.stderr),
                    text(&kern.stderr),
                ));
            }
        }
    }
    eprintln!(
        "{} cases x 2 modes: kernel vs {}: {} differ",
        all.len(),
        gpc.display(),
        failed.len()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n\n"))
    }
}

/// A scratch directory for generated scripts, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Result<Scratch, String> {
        let dir = std::env::temp_dir().join(format!("gpc-hobby-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Scratch(dir))
    }

    fn script(&self, name: &str, body: &str) -> Result<PathBuf, String> {
        let path = self.0.join(name);
        std::fs::write(&path, body).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The kernel ended through isa-debug-exit with `status`, without a panic or a fatal
/// stop.
fn assert_clean_exit(out: &Output, status: i32, what: &str) {
    let err = text(&out.stderr);
    assert!(
        !err.contains("kernel panic") && !err.contains("fatal"),
        "{what}: the kernel stopped:\n{err}"
    );
    assert_eq!(out.status.code(), Some(status), "{what}: stderr:\n{err}");
}

/// Chains of groups (of every controller but cpuset, whose empty groups take no task;
/// each some KiB of heap) made with one `mkdir -p`
/// a line, until the heap is low; then the first [`FREED`] chains are removed and the
/// machine works again. One line makes [`LEVELS`] groups, so that the script stays small
/// beside what it makes (the kernel checks a script against its heap before parsing).
fn exhausting_script(chains: usize) -> String {
    let mut s = String::from(
        "mount -t cgroup -o cpu,cpuacct,memory,devices,freezer,net_cls,pids,debug none /cg\n",
    );
    for i in 0..chains {
        s += &format!("mkdir -p {}\n", chain(i, LEVELS));
    }
    s += "spawn A\n";
    for i in 0..FREED {
        for depth in (1..=LEVELS).rev() {
            s += &format!("rmdir {}\n", chain(i, depth));
        }
    }
    s += "mkdir /cg/again\nspawn B\necho $B > /cg/again/tasks\ncat /cg/again/tasks\n";
    // One command that asks for more than the whole heap at once: a deep `mkdir -p`.
    s += &format!("mkdir -p /cg/deep/{}\n", "d/".repeat(600));
    s += "rmdir /cg/again\necho the end\n";
    s
}

/// Groups one line of [`exhausting_script`] makes.
const LEVELS: usize = 11;
/// Chains [`exhausting_script`] removes again.
const FREED: usize = 10;

/// The path of chain `i` down to `depth` levels: `/cg/gI/l1/.../l(depth-1)`.
fn chain(i: usize, depth: usize) -> String {
    let mut p = format!("/cg/g{i}");
    for l in 1..depth {
        p += &format!("/l{l}");
    }
    p
}

#[test]
fn heap_exhaustion_fails_commands_with_enomem_and_the_script_goes_on() -> Result<(), String> {
    const TEST: &str = "heap_exhaustion_fails_commands_with_enomem_and_the_script_goes_on";
    if !require_qemu(TEST)? {
        return Ok(());
    }
    let scratch = Scratch::new("enomem")?;
    let chains = 80;
    let script = scratch.script("exhaust.cgsh", &exhausting_script(chains))?;

    let out = boot_with(&["--echo", "--heap-kib", "1024"], &script)?;
    assert_clean_exit(&out, 0, "--echo");
    let transcript = text(&out.stdout);
    // Some chains were made, then the heap ran low: from there every mkdir fails with
    // ENOMEM (and nothing else), and so does the spawn after them.
    let line = |i| format!("$ mkdir -p {}\n", chain(i, LEVELS));
    let made = (0..chains)
        .take_while(|&i| transcript.contains(&format!("{}$ ", line(i))))
        .count();
    assert!(
        made > FREED && made < chains,
        "{made} of {chains} chains were made in a 1 MiB heap:\n{transcript}"
    );
    for i in made..chains {
        let failed = format!("{}error: ENOMEM\n", line(i));
        assert!(
            transcript.contains(&failed),
            "no ENOMEM for chain {i}:\n{transcript}"
        );
    }
    // The chains made are removed without an error.
    let removed = format!("$ rmdir {}\n$ mkdir /cg/again\n", chain(FREED - 1, 1));
    assert!(transcript.contains(&removed), "{transcript}");
    assert!(
        transcript.contains("$ spawn A\nerror: ENOMEM\n"),
        "{transcript}"
    );
    // Freeing memory makes room again.
    assert!(
        transcript.contains(
            "$ mkdir /cg/again\n$ spawn B\nB=2\n$ echo $B > /cg/again/tasks\n\
             $ cat /cg/again/tasks\n2\n"
        ),
        "{transcript}"
    );
    // A single command larger than the heap fails with ENOMEM too, and the script
    // reaches its end.
    assert!(
        transcript.contains("error: ENOMEM\n$ rmdir /cg/again\n"),
        "{transcript}"
    );
    assert!(
        transcript.ends_with("$ echo the end\nthe end\n"),
        "{transcript}"
    );

    // Plain mode: the same failures as diagnostics, as `gpc run` prints them.
    let out = boot_with(&["--heap-kib", "1024"], &script)?;
    assert_clean_exit(&out, 0, "plain");
    let diag = text(&out.stderr);
    let first = format!(
        "{}: line {}: mkdir: ENOMEM (Cannot allocate memory)\n",
        script.display(),
        made + 2
    );
    assert!(diag.starts_with(&first), "{diag}");
    assert!(text(&out.stdout).ends_with("B=2\n2\nthe end\n"));
    Ok(())
}

#[test]
fn a_script_too_large_for_the_heap_is_refused() -> Result<(), String> {
    const TEST: &str = "a_script_too_large_for_the_heap_is_refused";
    if !require_qemu(TEST)? {
        return Ok(());
    }
    let scratch = Scratch::new("too-large")?;
    // 5,000 commands: a few MiB parsed, far more than a 512 KiB heap, and the default
    // 48 MiB heap runs them.
    let body: String = (0..5000)
        .map(|i| format!("spawn T{i}\n"))
        .collect::<String>()
        + "echo the end\n";
    let script = scratch.script("large.cgsh", &body)?;
    for echo in [true, false] {
        let mut args = vec!["--heap-kib", "512"];
        if echo {
            args.push("--echo");
        }
        let out = boot_with(&args, &script)?;
        assert_clean_exit(&out, 2, "512 KiB heap");
        assert!(
            out.stdout.is_empty(),
            "something ran: {}",
            text(&out.stdout)
        );
        let diag = text(&out.stderr);
        let expected = format!(
            "gpc: {}: script too large for the kernel heap: {} bytes, 5001 commands",
            script.display(),
            body.len()
        );
        assert!(diag.starts_with(&expected), "{diag}");
        assert!(diag.contains("the heap has 512 KiB"), "{diag}");
    }
    let out = boot_with(&[], &script)?;
    assert_clean_exit(&out, 0, "default heap");
    assert!(text(&out.stdout).ends_with("T4999=5001\nthe end\n"));

    // One line longer than the interpreter could expand in the heap.
    let long = scratch.script("long-line.cgsh", &format!("echo {}\n", "x".repeat(1 << 20)))?;
    let out = boot_with(&[], &long)?;
    assert_clean_exit(&out, 2, "a 1 MiB line");
    assert!(text(&out.stderr).contains("longest line 1048581 bytes"));

    // Larger than boot.sh gives the machine: refused before booting (a sparse file).
    let huge = scratch.0.join("huge.cgsh");
    let f = std::fs::File::create(&huge).map_err(|e| format!("{}: {e}", huge.display()))?;
    f.set_len(600 << 20)
        .map_err(|e| format!("{}: {e}", huge.display()))?;
    let out = boot_with(&[], &huge)?;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("script too large for the kernel"),
        "{}",
        text(&out.stderr)
    );
    Ok(())
}
