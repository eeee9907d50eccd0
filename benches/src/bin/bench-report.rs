//! `bench-report`: a short run of every gpc benchmark, one `NAME VALUE UNIT` line per
//! figure, last line `report: N figures`.
//!
//! `cargo run --release -p gpc-benches --bin bench-report` (under two minutes on two
//! cores). With `--tiny`, the test-sized configuration (a second, meaningless numbers);
//! with `--only hot,threads,...`, only those sections (see `report::Section`), to rerun
//! one figure fast while optimising. The last line counts the figures printed.
//! `--help` prints the usage and exits 0; a wrong argument prints it to stderr and exits
//! 2, as command-line tools do for a usage error.

use std::io::Write;
use std::process::ExitCode;

use gpc_benches::alloc::CountingAlloc;
use gpc_benches::report::{self, Config, Section, MEM_CHILD_ARG};
use gpc_benches::sim::{self, SIM_MEM_CHILD_ARG};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let child = args.first().map(String::as_str);
    if child == Some(MEM_CHILD_ARG) || child == Some(SIM_MEM_CHILD_ARG) {
        let n = |i: usize| args.get(i).and_then(|s| s.parse::<usize>().ok());
        let (Some(tasks), Some(containers)) = (n(1), n(2)) else {
            eprintln!("usage: bench-report {MEM_CHILD_ARG}|{SIM_MEM_CHILD_ARG} TASKS CONTAINERS");
            return ExitCode::from(2);
        };
        let figs = if child == Some(MEM_CHILD_ARG) {
            report::memory_figures(tasks, containers)
        } else {
            sim::sim_memory_figures(tasks, containers)
        };
        return match figs {
            Ok(figs) => {
                let mut out = std::io::stdout().lock();
                for f in figs {
                    let _ = writeln!(out, "{f}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("bench-report: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut cfg = Config::full();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--tiny" => {
                let only = cfg.only.take();
                cfg = Config::tiny();
                cfg.only = only;
            }
            "--only" => {
                let mut v = Vec::new();
                for name in it.next().map(String::as_str).unwrap_or("").split(',') {
                    match Section::from_name(name) {
                        Some(s) => v.push(s),
                        None => return usage_error(&format!("no section {name:?}")),
                    }
                }
                cfg.only = Some(v);
            }
            "--help" | "-h" => {
                let _ = writeln!(std::io::stdout(), "{}", usage());
                return ExitCode::SUCCESS;
            }
            other => return usage_error(&format!("unknown argument {other:?}")),
        }
    }
    let started = std::time::Instant::now();
    let mut stdout = std::io::stdout();
    let res = report::run(&cfg, &mut |f| {
        let _ = writeln!(stdout, "{f}");
        let _ = stdout.flush();
    });
    match res {
        Ok(figs) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "report_wall_s {:.1} s",
                started.elapsed().as_secs_f64()
            );
            let _ = writeln!(out, "report: {} figures", figs.len() + 1);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-report: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> String {
    let names: Vec<&str> = Section::ALL.iter().map(|(_, n)| *n).collect();
    format!(
        "usage: bench-report [--tiny] [--only SECTION[,SECTION...]]\n\
         \n\
         A short run of every gpc benchmark: one `NAME VALUE UNIT` line per figure, the\n\
         last one `report: N figures`.\n\
         \n\
         options:\n  \
           --tiny          the test-sized configuration (about a second; the figures mean nothing)\n  \
           --only LIST     only these sections, comma-separated\n  \
           -h, --help      this text\n\
         \n\
         sections: {}",
        names.join(", ")
    )
}

/// A wrong argument: what is wrong and the usage on stderr, status 2.
fn usage_error(what: &str) -> ExitCode {
    eprintln!("bench-report: {what}\n{}", usage());
    ExitCode::from(2)
}
