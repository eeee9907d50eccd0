//! The machine under the kernel: x86 port I/O, the 16550 serial ports and qemu's
//! isa-debug-exit device. Only in the kernel image (`--cfg gpc_kernel`).

use core::arch::asm;
use core::fmt::Write as _;

use crate::console::{Port, PortWriter};
use crate::run::{DEBUG_EXIT_OFFSET, EXIT_FATAL};

/// The I/O port of qemu's isa-debug-exit device (`-device isa-debug-exit,iobase=0xf4,iosize=0x04`).
pub const DEBUG_EXIT_PORT: u16 = 0xf4;

/// Write a byte to an I/O port.
///
/// # Safety
///
/// Writing to an I/O port acts on a device: the caller must know what the port does.
pub unsafe fn outb(port: u16, value: u8) {
    // SAFETY: forwarded from the caller; `out` touches no memory and no stack.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    };
}

/// Write a double word to an I/O port.
///
/// # Safety
///
/// As for [`outb`].
pub unsafe fn outl(port: u16, value: u32) {
    // SAFETY: forwarded from the caller; `out` touches no memory and no stack.
    unsafe {
        asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
    };
}

/// Read a byte from an I/O port.
///
/// # Safety
///
/// As for [`outb`] (reading a port may act on a device too).
pub unsafe fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: forwarded from the caller; `in` touches no memory and no stack.
    unsafe {
        asm!("in al, dx", out("al") value, in("dx") port, options(nomem, nostack, preserves_flags))
    };
    value
}

/// A 16550 UART, polled (the kernel takes no interrupts).
#[derive(Clone, Copy, Debug)]
pub struct Serial {
    base: u16,
}

impl Serial {
    /// COM1: the transcript.
    pub const COM1: Serial = Serial { base: 0x3f8 };
    /// COM2: diagnostics and the kernel's own messages.
    pub const COM2: Serial = Serial { base: 0x2f8 };

    /// Program the UART: 115200 baud, 8N1, FIFOs on, its interrupts off.
    pub fn init(self) {
        let b = self.base;
        // SAFETY: these are the registers of the standard PC serial port at `b`
        // (interrupt enable, line control with the divisor latch, FIFO and modem
        // control); programming them affects only that port.
        unsafe {
            outb(b + 1, 0x00);
            outb(b + 3, 0x80);
            outb(b, 0x01);
            outb(b + 1, 0x00);
            outb(b + 3, 0x03);
            outb(b + 2, 0xc7);
            outb(b + 4, 0x03);
        }
    }

    fn put(self, byte: u8) {
        // SAFETY: the line status register of the port; bit 5 says the transmit
        // holding register is empty. Writing the data register sends the byte.
        unsafe {
            while inb(self.base + 5) & 0x20 == 0 {
                core::hint::spin_loop();
            }
            outb(self.base, byte);
        }
    }
}

impl Port for Serial {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.put(b);
        }
    }
}

/// Stop the CPU for good: interrupts off, halt.
pub fn halt() -> ! {
    loop {
        // SAFETY: `cli; hlt` stops the CPU; it touches no memory.
        unsafe { asm!("cli", "hlt", options(nomem, nostack)) };
    }
}

/// Leave qemu through isa-debug-exit with `status` (qemu's exit code is
/// `((status + DEBUG_EXIT_OFFSET) << 1) | 1`; see [`DEBUG_EXIT_OFFSET`]). Without that
/// device the CPU halts, and `boot.sh` reports a timeout.
pub fn exit_qemu(status: u32) -> ! {
    // SAFETY: port 0xf4 is qemu's isa-debug-exit device (boot.sh adds it): writing it
    // ends the emulator. On a machine without it, nothing listens there.
    unsafe { outl(DEBUG_EXIT_PORT, status.saturating_add(DEBUG_EXIT_OFFSET)) };
    halt()
}

/// [`crate::fatal`] in the kernel: the message on COM2, then exit with
/// [`EXIT_FATAL`].
pub fn fatal(msg: &str) -> ! {
    let mut com2 = Serial::COM2;
    let _ = writeln!(PortWriter(&mut com2), "gpc-hobby: fatal: {msg}");
    exit_qemu(EXIT_FATAL)
}
