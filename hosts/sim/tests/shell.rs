//! `gpc shell` through its library entry points: a line means what it means in a
//! script (it is the same parser and interpreter session), long lines are refused
//! without being read whole, and a line costs the same however many came before it.

mod cputime;
use std::cell::RefCell;
use std::io::Cursor;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gpc_script::MAX_LINE;
use gpc_sim::output::StdOutput;
use gpc_sim::shell::{Next, Shell};
use gpc_sim::SimMachine;

fn shell(echo: bool) -> Option<Shell> {
    let machine = SimMachine::new().ok()?;
    Some(Shell::new(Rc::new(RefCell::new(machine)), echo))
}

fn session(lines: &[&str]) -> String {
    let Some(mut sh) = shell(true) else {
        return String::from("no machine");
    };
    let mut out: Vec<u8> = Vec::new();
    for l in lines {
        if sh.run_line(l, &mut out) == Next::Quit {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The same lines through `gpc run`'s parser: the shell's transcript must be this.
fn as_script(lines: &[&str]) -> String {
    let Ok(mut m) = SimMachine::new() else {
        return String::from("no machine");
    };
    let mut out: Vec<u8> = Vec::new();
    let r = gpc_script::run_script(
        &mut m,
        lines.join("\n").as_bytes(),
        gpc_script::Mode::Echo,
        &mut out,
    );
    assert!(r.is_ok(), "{r:?}");
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn quoted_variable_names_are_set_as_in_a_script() {
    let lines = [
        "mount -t cgroup -o none,name=q cgroup /cg",
        "spawn \"A\"",
        "fork A \"B\"",
        "fork 'A' C",
        "thread \"$B\" 'T'",
        "mkdir /cg/g",
        "echo $B > /cg/g/tasks",
        "echo ${C} > /cg/g/tasks",
        "cat /cg/g/tasks",
        "exit \"B\"",
        "cat /cg/g/tasks",
    ];
    let out = session(&lines);
    assert!(out.contains("$ fork A \"B\"\nB=3\n"), "{out}");
    assert!(out.contains("$ thread \"$B\" 'T'\nT=5\n"), "{out}");
    assert!(!out.contains("error"), "{out}");
    assert_eq!(out, as_script(&lines));
}

#[test]
fn builtins_use_the_script_lexer() {
    let out = session(&[
        "'help' \"spawn\"",
        "help spawn # a comment",
        "  # only a comment",
        "",
    ]);
    assert_eq!(out.matches("spawn VAR").count(), 2, "{out}");
    let Some(mut sh) = shell(true) else { return };
    let mut out: Vec<u8> = Vec::new();
    assert_eq!(sh.run_line("'quit'", &mut out), Next::Quit);
    assert_eq!(sh.run_line("exit # bye", &mut out), Next::Quit);
    assert_eq!(sh.run_line("quit\r", &mut out), Next::Quit);
    // `exit TASK` is the script command, not the builtin.
    assert_eq!(sh.run_line("exit 1", &mut out), Next::Continue);
    assert_eq!(String::from_utf8_lossy(&out), "$ exit 1\nerror: EPERM\n");
}

#[test]
fn an_overlong_line_is_refused_and_the_session_goes_on() {
    let Some(mut sh) = shell(true) else { return };
    let mut input = b"spawn A\n".to_vec();
    // Twice the cap, and no variable set from it.
    input.extend(b"spawn B");
    input.extend(vec![b' '; 2 * MAX_LINE]);
    input.extend(b"\nspawn C\n");
    // Exactly the cap is a line like any other.
    let fits = format!("echo {}", "x".repeat(MAX_LINE - 5));
    input.extend(fits.as_bytes());
    input.extend(b"\nquit\nspawn D\n");
    let mut out = StdOutput::new(Vec::new(), String::new(), true);
    let r = sh.run_lines(Cursor::new(input), &mut out);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(sh.variable("A"), Some(2));
    assert_eq!(sh.variable("B"), None);
    assert_eq!(sh.variable("C"), Some(3));
    assert_eq!(sh.variable("D"), None);
    // The interactive path (a line already in memory) refuses it the same way.
    let mut transcript: Vec<u8> = Vec::new();
    let long = format!("spawn E {}", " ".repeat(MAX_LINE));
    assert_eq!(sh.run_line(&long, &mut transcript), Next::Continue);
    assert_eq!(sh.variable("E"), None);
    let said = String::from_utf8_lossy(&transcript);
    assert!(said.starts_with("parse error: E2BIG"), "{said}");
}

/// The CPU time this thread has used (nanoseconds, `CLOCK_THREAD_CPUTIME_ID`), so that a
/// busy machine's other processes do not count; elsewhere the wall clock since the first
/// call.
fn thread_cpu_time() -> Duration {
    if let Some(t) = cputime::thread_cpu_time() {
        return t;
    }
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// Runs `pairs` spawn/exit pairs, each with a new variable, through `shells` fresh
/// shells in turn; the CPU time it all took.
fn spawn_exit_pairs(shells: usize, pairs: usize) -> Duration {
    let start = thread_cpu_time();
    for _ in 0..shells {
        let Some(mut sh) = shell(false) else {
            return Duration::ZERO;
        };
        let mut out: Vec<u8> = Vec::new();
        // Names of one width, so that every line is as long at 20,000 as at 2,000.
        for i in 0..pairs {
            sh.run_line(&format!("spawn V{i:05}"), &mut out);
            sh.run_line(&format!("exit V{i:05}"), &mut out);
            // What a terminal would have shown: only the shell's own cost is measured.
            out.clear();
        }
        assert!(sh.variable(&format!("V{:05}", pairs - 1)).is_some());
    }
    thread_cpu_time().saturating_sub(start)
}

/// Every variable set used to be replayed before each line (20,000 pairs: 280 s against
/// 0.04 s for `gpc run -`): 10 times the pairs must cost at most 12 times the time.
#[test]
fn the_shell_is_linear_in_the_variables_set() {
    // The 2,000-pair figure is ten shells' CPU time divided by ten, so both sides do the
    // same work over a like stretch of time (and the clock's 10 ms ticks weigh alike);
    // interleaved, the best of three each, after a warm-up.
    // A linear cost sits near 10x; a stray slow measurement may pass 12x once, the
    // quadratic replay this is about (70x at these sizes) fails every attempt.
    spawn_exit_pairs(1, 2_000);
    let mut ratios = Vec::new();
    for _ in 0..3 {
        let (mut small, mut large) = (Duration::MAX, Duration::MAX);
        for _ in 0..3 {
            small = small.min(spawn_exit_pairs(10, 2_000) / 10);
            large = large.min(spawn_exit_pairs(1, 20_000));
        }
        let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-9);
        println!("2,000 pairs: {small:?}; 20,000 pairs: {large:?} of CPU; ratio {ratio:.1}");
        if ratio <= 12.0 {
            return;
        }
        ratios.push(format!("{small:?} -> {large:?}: {ratio:.1}x"));
    }
    assert!(
        ratios.is_empty(),
        "the shell is not linear in the variables set: {ratios:?}"
    );
}
