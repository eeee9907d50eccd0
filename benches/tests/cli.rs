//! The package's command lines: `bench-report --help` is a success with the usage on
//! stdout, a wrong argument a usage error (status 2, the usage on stderr), and neither
//! runs a benchmark; criterion's options after `cargo bench -p gpc-benches --` reach only
//! criterion.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests: a failed assertion is a failed test"
)]

use std::process::{Command, Output};

fn bench_report(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bench-report"))
        .args(args)
        .output()
        .expect("bench-report runs")
}

#[test]
fn help_is_a_success_with_the_usage_on_stdout() {
    for flag in ["--help", "-h"] {
        let out = bench_report(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.starts_with("usage: bench-report [--tiny] [--only SECTION[,SECTION...]]\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "sections: hot, threads, containers, groups, reads, memory, simtasks, lattice, v2, memcg\n"
            ),
            "{text}"
        );
        assert!(out.stderr.is_empty(), "{flag}");
    }
}

#[test]
fn a_wrong_argument_is_a_usage_error() {
    for (args, what) in [
        (
            &["--frobnicate"][..],
            "bench-report: unknown argument \"--frobnicate\"\n",
        ),
        (
            &["--only", "hot,nope"][..],
            "bench-report: no section \"nope\"\n",
        ),
    ] {
        let out = bench_report(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?} ran something");
        let text = String::from_utf8(out.stderr).unwrap();
        assert!(text.starts_with(what), "{text}");
        assert!(text.contains("usage: bench-report"), "{text}");
    }
}

/// `cargo bench -p gpc-benches -- --warm-up-time 1` hands the options to every benchmark
/// target; a libtest harness refuses them ("Unrecognized option"), so the lib and the
/// bin must not be benchmark targets (cargo makes both ones by default). Running
/// `cargo bench` here would need a release build of criterion, so this reads the
/// manifest: each of `[lib]` and `[[bin]]` says `bench = false`, and criterion's
/// `[[bench]]` is the only benchmark target.
#[test]
fn only_criterion_is_a_benchmark_target() {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let mut section = String::new();
    let mut bench_false = Vec::new();
    let mut benches = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_string();
            if section == "[[bench]]" {
                benches.push(section.clone());
            }
        } else if line.replace(' ', "") == "bench=false" {
            bench_false.push(section.clone());
        }
    }
    assert_eq!(bench_false, ["[lib]", "[[bin]]"]);
    assert_eq!(benches.len(), 1);
    assert!(
        !std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/main.rs")).exists(),
        "a src/main.rs would be another binary, and a benchmark target"
    );
}
