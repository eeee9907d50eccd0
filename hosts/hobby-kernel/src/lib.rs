#![no_std]
#![doc = include_str!("../README.md")]

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
