//! The gpc-hobby kernel image.
//!
//! Built by `boot.sh` with `RUSTFLAGS="--cfg gpc_kernel -C panic=abort -C
//! relocation-model=static"` (and `build.rs` adding the linker script), this is a
//! freestanding `#![no_std]`/`#![no_main]` x86_64 kernel: see `kernel/` and the library.
//! Built without `--cfg gpc_kernel` (an ordinary `cargo build --workspace`) it is a host
//! program that only says how to build and boot the kernel.
#![cfg_attr(gpc_kernel, no_std, no_main)]

#[cfg(gpc_kernel)]
mod kernel;

#[cfg(not(gpc_kernel))]
fn main() -> std::process::ExitCode {
    eprintln!(
        "gpc-hobby is a kernel image: build and boot it with \
         hosts/hobby-kernel/boot.sh [--echo] FILE.cgsh (needs qemu-system-x86_64)"
    );
    std::process::ExitCode::from(2)
}
