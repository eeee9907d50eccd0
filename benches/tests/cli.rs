//! `bench-report`'s command line: `--help` is a success with the usage on stdout, a
//! wrong argument a usage error (status 2, the usage on stderr), and neither runs a
//! benchmark.
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
            text.contains("sections: hot, threads, containers, groups, reads, memory, simtasks\n"),
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
