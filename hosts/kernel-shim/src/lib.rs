#![no_std]
#![doc = include_str!("../README.md")]
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
pub mod hostres;
pub mod hugetlb;
pub mod io;
pub mod kalloc;
pub mod mem;
pub mod net_prio;
pub mod perf_event;
pub mod psi;
#[cfg(debug_assertions)]
mod slot_registry;

pub use enforce::*;
pub use exports::*;
pub use io::*;
pub use mem::*;
pub use psi::*;

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
mod hostres_tests;
#[cfg(test)]
mod io_tests;
#[cfg(test)]
mod mem_tests;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod psi_tests;
#[cfg(test)]
mod small_tests;
#[cfg(test)]
mod test_world;
#[cfg(test)]
#[global_allocator]
static TEST_ALLOCATOR: mock::WatchingAlloc = mock::WatchingAlloc;
#[cfg(test)]
mod out_of_tree_tests;
#[cfg(test)]
mod tests;
