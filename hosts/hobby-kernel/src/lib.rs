#![no_std]
//! # gpc-hobby: a freestanding x86_64 kernel that runs `.cgsh` scripts on gpc
//!
//! The kernel boots under `qemu-system-x86_64 -kernel` through a multiboot header (flag
//! bit 16: the image's addresses are in the header, so qemu loads a 64-bit ELF), switches
//! to long mode in a 32-bit stub, and runs the `.cgsh` script it was given (a multiboot
//! module, or one built into the image) on gpc-machine's model of a Linux machine — the
//! same model, and the same no_std interpreter (gpc-script), that the `gpc` simulator
//! runs, so the `--echo` transcript is the simulator's to the byte. It prints the
//! transcript on COM1, diagnostics on COM2, and leaves qemu through isa-debug-exit.
//!
//! This library holds the parts that are not tied to the machine, unit-tested on the host
//! (`cargo test -p gpc-hobby`):
//!
//! | part | module |
//! |---|---|
//! | the heap: first-fit free lists over a static array in three tiers, fallible | [`heap`] |
//! | whether a script fits the heap, decided before parsing it | [`budget`] |
//! | a command that finds the heap below its watermark fails with `ENOMEM` | [`gate`] |
//! | spinlocks (gpc's `LockBackend`), with single-CPU deadlock detection | [`sync`] |
//! | a uniprocessor RCU that honours gpc-core's `Rcu` contract | [`rcu`] |
//! | the gpc host and gpc-machine platform built from them | [`host`] |
//! | multiboot information and the kernel command line | [`multiboot`] |
//! | the transcript and diagnostic consoles, and running a script | [`console`], [`run`] |
//!
//! The parts that only exist in the kernel image (port I/O, the serial ports, the exit
//! device) are in `arch`, compiled with `--cfg gpc_kernel`; the boot stub, the entry
//! point, the panic handler and the C memory functions are in the binary (`src/kernel`).
//!
//! The kernel runs on one CPU with interrupts off for its whole life (it installs no
//! IDT), which is what makes the locks and the RCU this small; see each module.

extern crate alloc;
#[cfg(test)]
extern crate std;

#[cfg(gpc_kernel)]
pub mod arch;
pub mod budget;
pub mod console;
pub mod gate;
pub mod heap;
pub mod host;
pub mod multiboot;
pub mod rcu;
pub mod run;
pub mod sync;

/// Stop the kernel after an unrecoverable error (a lock taken twice on the one CPU, a
/// grace period awaited inside a read-side section): say so on the diagnostic port and
/// leave qemu with [`run::EXIT_FATAL`].
///
/// Outside the kernel image (host builds, where nothing calls this but a bug) it spins.
pub fn fatal(msg: &str) -> ! {
    #[cfg(gpc_kernel)]
    {
        arch::fatal(msg)
    }
    #[cfg(not(gpc_kernel))]
    {
        let _ = msg;
        loop {
            core::hint::spin_loop();
        }
    }
}
