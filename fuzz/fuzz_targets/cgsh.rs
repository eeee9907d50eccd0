//! The `.cgsh` interpreter: any bytes are parsed as a script and, if they parse, run
//! against a fresh simulated machine (`gpc_sim::SimMachine`: gpc-core, every controller,
//! the VFS, the scheduler). Nothing may panic, hang or leak; ASan checks the unsafe code
//! underneath.
#![no_main]

use gpc_script::{FmtOutput, Mode, Script};
use gpc_sim::SimMachine;
use libfuzzer_sys::fuzz_target;

/// The longest `run` a fuzz input may ask for, in simulated milliseconds. The scheduler
/// is O(simulated periods) with CFS bandwidth (a period may be 1 ms), so an input of
/// `run 18446744073709551615` would only measure patience.
const MAX_RUN_MS: u64 = 10_000;

/// Whether a line (after an optional `as UID`) is a `run` longer than [`MAX_RUN_MS`].
fn long_run(line: &str) -> bool {
    let mut words = line.split_whitespace();
    let mut w = words.next();
    if w == Some("as") {
        words.next();
        w = words.next();
    }
    if w != Some("run") {
        return false;
    }
    // Not a plain number (a variable, garbage): the interpreter refuses it, or it is a
    // pid-sized variable; both are cheap or rejected. Long words are skipped anyway.
    words.next().is_some_and(|n| {
        n.trim_matches(|c| c == '"' || c == '\'')
            .parse::<u64>()
            .map_or(n.len() > 5, |v| v > MAX_RUN_MS)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(script) = Script::parse(data) else {
        return;
    };
    if let Ok(text) = core::str::from_utf8(data) {
        if text.lines().any(long_run) {
            return;
        }
    }
    let Ok(mut machine) = SimMachine::new() else {
        return;
    };
    let mut out = FmtOutput::new(String::new());
    let _ = script.run(&mut machine, Mode::Echo, &mut out);
    let mut plain = FmtOutput::new(String::new());
    let Ok(mut machine) = SimMachine::new() else {
        return;
    };
    let _ = script.run(&mut machine, Mode::Plain, &mut plain);
});
