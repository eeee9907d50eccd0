//! Running a script, as `gpc run [--echo] FILE` does, and the kernel's exit statuses.
//!
//! What the heap can hold is decided before the script is parsed ([`crate::budget`]:
//! a script too large is refused like an unreadable one), and every command passes the
//! heap's watermark ([`crate::gate`]): a command that finds the heap too low fails with
//! `ENOMEM` and the script goes on, as it would on the simulator.

use core::fmt::Write as _;

use gpc_script::{Mode, Script, PARSE_ERROR_EXIT_STATUS};

use crate::budget::TooLarge;
use crate::console::{Port, PortWriter, ScriptOutput};
use crate::gate::{GatedMachine, MemoryGate};
use crate::host::KernelMachine;

/// The script ran (whatever its commands returned), as `gpc run` exits 0.
pub const EXIT_OK: u32 = 0;
/// The machine could not be made (`gpc run` exits 1).
pub const EXIT_NO_MACHINE: u32 = 1;
/// The script could not be parsed, or there was none (`gpc run` exits 2).
pub const EXIT_BAD_SCRIPT: u32 = PARSE_ERROR_EXIT_STATUS as u32;
/// The kernel stopped on an unrecoverable error ([`crate::fatal`]).
pub const EXIT_FATAL: u32 = 100;
/// The kernel panicked.
pub const EXIT_PANIC: u32 = 101;

/// What the kernel adds to its exit status before writing it to isa-debug-exit, whose
/// qemu exit code is `(value << 1) | 1`: status 0 leaves qemu with 33, and qemu's own
/// failures (exit code 1: no kernel, a bad option) cannot pass for a kernel's success.
/// `boot.sh` takes it off again: status = (code - 33) / 2.
pub const DEBUG_EXIT_OFFSET: u32 = 16;

/// What one run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    /// The exit status `gpc run` would give.
    pub status: u32,
    /// Commands refused with `ENOMEM` because the heap was below its watermark.
    pub refused: usize,
}

/// Refuse a script the heap cannot hold ([`crate::budget::plan`]), as `gpc run`
/// refuses a file it cannot read: one diagnostic, [`EXIT_BAD_SCRIPT`], nothing runs.
pub fn refuse_too_large(name: &str, why: &TooLarge, diag: &mut dyn Port) -> u32 {
    let _ = writeln!(PortWriter(diag), "gpc: {name}: {why}");
    EXIT_BAD_SCRIPT
}

/// Run `source` (named `name` in diagnostics) on a fresh machine, the transcript to
/// `transcript` and diagnostics to `diag`, exactly as `gpc run [--echo] NAME` prints
/// them on stdout and stderr, every machine call passing `gate`.
pub fn run_script(
    source: &[u8],
    name: &str,
    echo: bool,
    gate: &dyn MemoryGate,
    transcript: &mut dyn Port,
    diag: &mut dyn Port,
) -> RunReport {
    let status = |status| RunReport { status, refused: 0 };
    let script = match Script::parse(source) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(PortWriter(diag), "gpc: {name}: {e}");
            return status(EXIT_BAD_SCRIPT);
        }
    };
    gate.enter_machine();
    let machine = KernelMachine::new();
    gate.leave_machine();
    let mut machine = match machine {
        Ok(m) => m,
        Err(e) => {
            let _ = writeln!(PortWriter(diag), "gpc: cannot start the machine: {e}");
            return status(EXIT_NO_MACHINE);
        }
    };
    let mode = if echo { Mode::Echo } else { Mode::Plain };
    let mut out = ScriptOutput {
        transcript,
        diag,
        name,
    };
    let mut gated = GatedMachine::new(&mut machine, gate);
    script.run(&mut gated, mode, &mut out);
    RunReport {
        status: EXIT_OK,
        refused: gated.refused(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::NoGate;
    use std::vec::Vec;

    const SCRIPT: &str = "\
mount -t cgroup -o pids none /cg
mkdir /cg/a
spawn A
echo $A > /cg/a/tasks
echo 1 > /cg/a/pids.max
fork A B
cat /cg/a/pids.events
rmdir /cg/a
";

    #[test]
    fn echo_transcript_on_the_kernel_host() {
        let (mut t, mut d) = (Vec::new(), Vec::new());
        let status = run_script(SCRIPT.as_bytes(), "t.cgsh", true, &NoGate, &mut t, &mut d);
        assert_eq!(status.status, EXIT_OK);
        let t = std::string::String::from_utf8_lossy(&t).into_owned();
        assert_eq!(
            t,
            "$ mount -t cgroup -o pids none /cg\n$ mkdir /cg/a\n$ spawn A\nA=2\n\
             $ echo $A > /cg/a/tasks\n$ echo 1 > /cg/a/pids.max\n$ fork A B\nerror: EAGAIN\n\
             $ cat /cg/a/pids.events\nmax 1\n$ rmdir /cg/a\nerror: EBUSY\n"
        );
        assert!(d.is_empty());
    }

    #[test]
    fn plain_mode_diagnostics_and_parse_errors() {
        let (mut t, mut d) = (Vec::new(), Vec::new());
        let status = run_script(b"rmdir /nope\n", "x.cgsh", false, &NoGate, &mut t, &mut d);
        assert_eq!(status.status, EXIT_OK);
        assert!(t.is_empty());
        assert!(d.starts_with(b"x.cgsh: line 1: rmdir: ENOENT"));
        let (mut t, mut d) = (Vec::new(), Vec::new());
        let status = run_script(b"frobnicate\n", "y.cgsh", true, &NoGate, &mut t, &mut d);
        assert_eq!(status.status, EXIT_BAD_SCRIPT);
        assert!(d.starts_with(b"gpc: y.cgsh: "));
    }
}
