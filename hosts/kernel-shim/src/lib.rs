#![no_std]
//! # gpc-kshim: gpc behind a C ABI, in the shape kernels use
//!
//! A `staticlib` (and `rlib`) that a kernel written in C links to get gpc with every
//! controller of `gpc-subsystems`. The ABI is `include/gpc.h`; `doc/kernel-shim.md`
//! maps it onto Linux and onto the Rust-for-Linux `kernel` crate.
//!
//! - **Exports** ([`exports`]): `gpc_init`/`gpc_destroy`, `gpc_mount`/`gpc_umount`,
//!   `gpc_mkdir`/`gpc_rmdir`/`gpc_stat`/`gpc_list`, `gpc_read`/`gpc_write`, the task
//!   hooks `gpc_task_slot_init`/`gpc_init_task`/`gpc_fork`/`gpc_exit`/`gpc_attach`, the
//!   lock-free lookup `gpc_task_css`, `gpc_proc_pid_cgroup`/`gpc_proc_cgroups`,
//!   `gpc_drain_releases`, and `gpc_rcu_invoke` for the kernel's RCU. Failure is a
//!   negative errno, as in Linux.
//! - **Enforcement** ([`enforce`]): what each controller decides for a task (CPU weight
//!   and bandwidth, cpuacct charge, allowed CPUs and memory nodes, device access, frozen
//!   state, memory charge and uncharge, net_cls class id), through the controllers' own
//!   functions; lock-free lookups that never sleep or allocate.
//! - **Imports** ([`ffi`]): allocation with GFP-like flags, spinlocks and mutexes on
//!   opaque storage, RCU, CPUs, task accessors and walks, the release notifier, and a
//!   panic sink.
//!
//! ## Two builds
//!
//! - **The kernel build** (`cargo build -p gpc-kshim --features kernel`; the workspace
//!   sets `panic = "abort"` in every profile): `no_std`, no `std` linked. The shim is the
//!   program's `#[global_allocator]` ([`kalloc::KAlloc`] on `gpc_kmalloc`), its
//!   `#[panic_handler]` (which hands the message to `gpc_panic`), and defines
//!   `rust_eh_personality` (named by the precompiled `core`, never called).
//! - **The host build** (without the `kernel` feature, and always under `cfg(test)`):
//!   `std` is linked, and with it the system allocator and std's panic runtime; the
//!   library then also works from a user-space C program. The feature, not the panic
//!   strategy, selects the runtime because cargo unifies features across a workspace
//!   build: when `cargo test --workspace` builds this crate next to the simulator,
//!   gpc-core comes with its std `testing` feature, and std's panic handler would clash
//!   with the kernel one. The kernel-runtime items are therefore compiled only under
//!   `#[cfg(all(not(test), feature = "kernel"))]`, a feature only a kernel build (and
//!   the C harness, in its own `cargo build -p`) turns on.
//!
//! The C harness (`tests/c_harness.rs`) builds the kernel build itself, in a separate
//! target directory, and links the C kernel stand-in of `tests/c/` against it. The
//! kernel-target build (`x86_64-unknown-none`, reduced to one object whose only global
//! symbols are `gpc_*`) is `kernel-build/kernel-build.sh`; `doc/kernel-shim.md` explains
//! both.

#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]

extern crate alloc;
#[cfg(any(test, not(feature = "kernel")))]
extern crate std;

pub mod abi;
pub mod enforce;
pub mod exports;
pub mod ffi;
pub mod host;
pub mod kalloc;
#[cfg(debug_assertions)]
mod slot_registry;

pub use enforce::*;
pub use exports::*;

#[cfg(all(not(test), feature = "kernel"))]
mod kernel_runtime {
    use core::fmt::Write;

    /// Everything gpc allocates comes from the kernel.
    #[global_allocator]
    static ALLOCATOR: crate::kalloc::KAlloc = crate::kalloc::KAlloc;

    /// A message buffer on the stack (panics must not allocate).
    struct Msg {
        buf: [u8; 256],
        len: usize,
    }

    impl Write for Msg {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            for &b in s.as_bytes() {
                match self.buf.get_mut(self.len) {
                    Some(slot) => {
                        *slot = b;
                        self.len = self.len.saturating_add(1);
                    }
                    None => break,
                }
            }
            Ok(())
        }
    }

    /// The personality routine that the precompiled `core` and `alloc` (built for
    /// unwinding) name in their unwind tables. With `panic = "abort"` nothing unwinds,
    /// so it is never called; defining it here spares the kernel from doing so.
    #[no_mangle]
    extern "C" fn rust_eh_personality() {}

    /// A panic is a bug in gpc: no export is meant to reach one. The kernel gets the
    /// message and stops (`BUG()`).
    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        let mut msg = Msg {
            buf: [0; 256],
            len: 0,
        };
        let _ = write!(msg, "gpc: {info}");
        let len = msg.len.min(msg.buf.len());
        // SAFETY: `len` bytes of `buf` are initialised; the import does not return.
        unsafe { crate::ffi::gpc_panic(msg.buf.as_ptr().cast(), len) }
    }
}

#[cfg(test)]
mod mock;
#[cfg(test)]
#[global_allocator]
static TEST_ALLOCATOR: mock::WatchingAlloc = mock::WatchingAlloc;
#[cfg(test)]
mod out_of_tree_tests;
#[cfg(test)]
mod tests;
