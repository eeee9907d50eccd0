//! The `.cgsh` interpreter: any bytes are parsed as a script and, if they parse, run
//! against a fresh simulated machine (`gpc_sim::SimMachine`: gpc-core, every controller,
//! the VFS, the scheduler). Nothing may panic, hang or leak; ASan checks the unsafe code
//! underneath.
//!
//! Every command runs, `run` of any length included: a command's time and memory are
//! bounded by its input, not by the simulated time it asks for (the scheduler jumps over
//! steady states and counts periods that cannot bind, `hosts/machine/src/sched.rs`).
//! What a run may still cost is bounded in work, not in milliseconds: each machine here
//! gets [`RUN_BUDGET`], 2^-14 of the default (about a millisecond of work in a release
//! build, some tens under ASan), so that an input of hundreds of runs that each spend
//! their whole budget still fits `run.sh`'s 30 s per input, while every path of the
//! scheduler (fast-forward, counted periods, the `E2BIG` refusal) stays reachable: a
//! placement costs some tens of units, a budget of 2^16 units is a thousand stretches.
//! A slow input here is a bug the fuzzer must see.
#![no_main]

use gpc_script::{FmtOutput, Mode, Script};
use gpc_sim::SimMachine;
use libfuzzer_sys::fuzz_target;

/// The work one `run` may do on the fuzzed machines (`Machine::set_run_budget`).
const RUN_BUDGET: u64 = gpc_sim::sched::WORK_BUDGET >> 14;

fn fresh_machine() -> Option<SimMachine> {
    let mut m = SimMachine::new().ok()?;
    m.set_run_budget(RUN_BUDGET);
    Some(m)
}

fuzz_target!(|data: &[u8]| {
    let Ok(script) = Script::parse(data) else {
        return;
    };
    let Some(mut machine) = fresh_machine() else {
        return;
    };
    let mut out = FmtOutput::new(String::new());
    let _ = script.run(&mut machine, Mode::Echo, &mut out);
    let mut plain = FmtOutput::new(String::new());
    let Some(mut machine) = fresh_machine() else {
        return;
    };
    let _ = script.run(&mut machine, Mode::Plain, &mut plain);
});
