//! The conformance cases, run through `shared/sim-scripts/compare.sh` exactly as the
//! team runs them by hand: the shared cases recorded on Linux 6.18, and gpc-sim's own
//! cases in `hosts/sim/cases` (expected output derived from doc/linux-v1-reference.md).

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/sim-scripts")
}

/// Runs compare.sh over `cases` (all shared cases when empty); `None` (with a note) when
/// compare.sh, bash or python3 is missing.
fn compare(cases: &[PathBuf]) -> Option<(bool, String)> {
    let script = shared_dir().join("compare.sh");
    if !script.is_file() {
        eprintln!("note: {} not found: skipping", script.display());
        return None;
    }
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("note: python3 (for normalize.py) not found: skipping");
        return None;
    }
    let runner = format!("{} run --echo", env!("CARGO_BIN_EXE_gpc"));
    let out = match Command::new("bash")
        .arg(&script)
        .arg("-v")
        .args(cases)
        .env("CGSIM", runner)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!("note: cannot run bash: {e}: skipping");
            return None;
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

/// The `N passed, M failed` line.
fn summary(text: &str) -> Option<(usize, usize)> {
    let line = text.lines().rev().find(|l| l.contains(" passed, "))?;
    let (p, rest) = line.split_once(" passed, ")?;
    let f = rest.strip_suffix(" failed")?;
    Some((p.trim().parse().ok()?, f.trim().parse().ok()?))
}

fn check(cases: &[PathBuf], at_least: usize) {
    let Some((ok, text)) = compare(cases) else {
        return;
    };
    println!("{text}");
    let counts = summary(&text);
    assert!(
        ok && matches!(counts, Some((p, 0)) if p >= at_least),
        "conformance cases failed ({counts:?}):\n{text}"
    );
}

#[test]
fn shared_linux_cases_pass() {
    check(&[], 1);
}

#[test]
fn own_cases_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases");
    let rd = std::fs::read_dir(&dir);
    assert!(rd.is_ok(), "cannot read {}: {rd:?}", dir.display());
    let Ok(rd) = rd else { return };
    let mut cases: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cgsh"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", dir.display());
    check(&cases, cases.len());
}

#[test]
fn summary_line_is_read() {
    assert_eq!(summary("PASS a\n12 passed, 0 failed\n"), Some((12, 0)));
    assert_eq!(summary("3 passed, 2 failed"), Some((3, 2)));
    assert_eq!(summary("nothing"), None);
}
