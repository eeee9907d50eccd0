//! The `.cgsh` interpreter: any bytes are parsed as a script and, if they parse, run
//! against a fresh simulated machine (`gpc_sim::SimMachine`: gpc-core, every controller,
//! the VFS, the scheduler). Nothing may panic, hang or leak; ASan checks the unsafe code
//! underneath.
//!
//! Every command runs, `run` of any length included: a command's time and memory are
//! bounded by its input, not by the simulated time it asks for (the scheduler jumps over
//! steady states and refuses a run past its work bound, `hosts/machine/src/sched.rs`), so
//! a slow input here is a bug the fuzzer must see (`run.sh` gives each input 30 s).
#![no_main]

use gpc_script::{FmtOutput, Mode, Script};
use gpc_sim::SimMachine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(script) = Script::parse(data) else {
        return;
    };
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
