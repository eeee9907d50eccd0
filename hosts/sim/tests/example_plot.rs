//! `examples/cpu-shares.cgsh` and its plot: the CSV and SVG checked in next to it are
//! what the `gpc` binary and `examples/plot.py` make from it now (README, "Data out").
//!
//! The CSV is checked without Python: the tables `gpc run` prints are joined here as
//! plot.py joins them. The SVG needs python3: without it the test says SKIP (and fails
//! under `CI=true`). To refresh both after a deliberate change, run the README's two
//! commands.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn gpc_output() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gpc"))
        .arg("run")
        .arg(root().join("examples/cpu-shares.cgsh"))
        .output();
    assert!(out.is_ok(), "cannot run gpc: {out:?}");
    let Ok(out) = out else { return String::new() };
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// plot.py's `join`: consecutive `ms,...` tables on one time axis, each table's first
/// row (the previous one's last) left out; lines outside tables skipped.
fn joined_csv(text: &str) -> String {
    let mut out = String::new();
    let (mut header, mut offset, mut last, mut first_row) = (None::<&str>, 0u64, 0u64, false);
    for line in text.lines() {
        if line.starts_with("ms,") {
            match header {
                None => {
                    out.push_str(line);
                    out.push('\n');
                    header = Some(line);
                }
                Some(h) => {
                    assert_eq!(h, line, "tables with other columns");
                    first_row = true;
                    offset = last;
                }
            }
            continue;
        }
        let Some((ms, rest)) = line.split_once(',') else {
            continue;
        };
        let Ok(ms) = ms.parse::<u64>() else { continue };
        if std::mem::take(&mut first_row) {
            continue;
        }
        last = ms + offset;
        out.push_str(&format!("{last},{rest}\n"));
    }
    out
}

#[test]
fn checked_in_csv_is_what_gpc_prints() {
    let want = std::fs::read_to_string(root().join("examples/cpu-shares.csv"));
    assert!(want.is_ok(), "{want:?}");
    let got = joined_csv(&gpc_output());
    assert_eq!(
        got,
        want.unwrap_or_default(),
        "examples/cpu-shares.csv is stale: run the README's `Data out` commands"
    );
    // Three phases of 15 steps, and the shares they show: 2:1, a 20% quota, 1:1.
    assert_eq!(got.lines().count(), 1 + 1 + 45);
    let rows: Vec<Vec<u64>> = got
        .lines()
        .skip(1)
        .map(|l| l.split(',').filter_map(|v| v.parse().ok()).collect())
        .collect();
    let share = |i: usize, col: usize| {
        let (a, b) = (&rows[i - 1], &rows[i]);
        (b[col] - a[col]) as f64 / ((b[0] - a[0]) as f64 * 1e6)
    };
    assert!((share(10, 1) / share(10, 2) - 2.0).abs() < 1e-6);
    assert!((share(25, 1) - 0.2).abs() < 1e-6 && (share(25, 2) - 0.8).abs() < 1e-6);
    assert!((share(40, 1) - share(40, 2)).abs() < 1e-6);
}

#[test]
fn checked_in_svg_is_what_plot_py_draws() {
    if Command::new("python3").arg("--version").output().is_err() {
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !in_ci,
            "CI=true and python3 not found: this test cannot run"
        );
        eprintln!("SKIP: python3 not found (under CI=true this fails)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("gpc-example-plot-{}", std::process::id()));
    assert!(std::fs::create_dir_all(&dir).is_ok());
    let input = dir.join("out.txt");
    assert!(std::fs::write(&input, gpc_output()).is_ok());
    let (svg, csv) = (dir.join("plot.svg"), dir.join("plot.csv"));
    let status = Command::new("python3")
        .arg(root().join("examples/plot.py"))
        .args([&input, &svg, &csv])
        .status();
    assert!(status.is_ok_and(|s| s.success()), "plot.py failed");
    for (made, checked_in) in [
        (svg, "examples/cpu-shares.svg"),
        (csv, "examples/cpu-shares.csv"),
    ] {
        let made = std::fs::read_to_string(&made).unwrap_or_default();
        let want = std::fs::read_to_string(root().join(checked_in)).unwrap_or_default();
        assert!(!made.is_empty());
        assert!(
            made == want,
            "{checked_in} is stale: run the README's `Data out` commands"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
