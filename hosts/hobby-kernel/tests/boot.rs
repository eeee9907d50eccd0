//! Boots the hobby kernel in qemu for every conformance case and compares its
//! transcripts:
//!
//! 1. with the recorded Linux transcripts, through `shared/sim-scripts/compare.sh` with
//!    `boot.sh --echo` as the runner (every case must pass);
//! 2. byte for byte with the simulator's (`gpc run [--echo]`: stdout, stderr and exit
//!    status, in both modes), for the shared cases and the simulator's own
//!    (`hosts/sim/cases/`), when a `gpc` binary is at hand (`GPC_BIN`, or
//!    `target/{debug,release}/gpc`, as `cargo test --workspace` builds it).
//!
//! Skips, saying why, when `qemu-system-x86_64` is not installed (Debian:
//! `apt-get install qemu-system-x86`) or `../shared/sim-scripts` is not beside the
//! repository.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn have_qemu() -> bool {
    Command::new("qemu-system-x86_64")
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

#[test]
fn kernel_transcripts_match_linux_and_the_simulator() -> Result<(), String> {
    if !have_qemu() {
        eprintln!(
            "SKIPPED: qemu-system-x86_64 is not installed (Debian: apt-get install \
             qemu-system-x86); the hobby kernel was not booted"
        );
        return Ok(());
    }
    let shared = repo_root().join("../shared/sim-scripts");
    if !shared.join("compare.sh").is_file() {
        eprintln!("SKIPPED: {} is missing", shared.display());
        return Ok(());
    }

    // 1. The recorded Linux transcripts.
    let runner = format!(
        "{} --echo",
        repo_root().join("hosts/hobby-kernel/boot.sh").display()
    );
    let out = Command::new(shared.join("compare.sh"))
        .arg("-v")
        .env("CGSIM", &runner)
        .output();
    let out = out.map_err(|e| format!("cannot run compare.sh: {e}"))?;
    let report = text(&out.stdout);
    eprintln!("{report}");
    assert!(
        out.status.success(),
        "compare.sh with the kernel failed:\n{report}\n{}",
        text(&out.stderr)
    );

    // 2. The simulator, byte for byte.
    let Some(gpc) = gpc_bin() else {
        eprintln!(
            "SKIPPED (part 2): no gpc binary (set GPC_BIN or build gpc-sim); the kernel \
             was compared with the Linux recordings only"
        );
        return Ok(());
    };
    let mut all = cases(&shared.join("cases"));
    all.extend(cases(&repo_root().join("hosts/sim/cases")));
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
