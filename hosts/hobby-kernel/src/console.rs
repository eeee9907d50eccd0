//! Where a script's output goes: the transcript on one port, diagnostics on another.
//!
//! In the kernel both are 16550 serial ports (`arch::Serial`): COM1 carries the
//! transcript (`boot.sh` prints it on stdout), COM2 the diagnostics of plain mode and the
//! kernel's own messages (`boot.sh` prints them on stderr), as `gpc run` splits stdout and
//! stderr.

use core::fmt;

use gpc_script::Output;

/// A byte sink: a serial port, or a buffer in tests.
pub trait Port {
    /// Write all of `bytes`.
    fn write(&mut self, bytes: &[u8]);
}

impl Port for alloc::vec::Vec<u8> {
    /// A buffer (tests): what does not fit is dropped, as a full console would.
    fn write(&mut self, bytes: &[u8]) {
        if self.try_reserve(bytes.len()).is_ok() {
            self.extend_from_slice(bytes);
        }
    }
}

/// [`core::fmt::Write`] over a [`Port`].
pub struct PortWriter<'a>(pub &'a mut dyn Port);

impl fmt::Write for PortWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

/// A script's [`Output`]: the transcript to one port, each diagnostic to another as
/// `NAME: ` + line + newline (what `gpc run` prints on stderr).
pub struct ScriptOutput<'a> {
    /// The transcript.
    pub transcript: &'a mut dyn Port,
    /// Diagnostics.
    pub diag: &'a mut dyn Port,
    /// The script's name, put before each diagnostic (`script.cgsh: `).
    pub name: &'a str,
}

impl Output for ScriptOutput<'_> {
    fn write_bytes(&mut self, bytes: &[u8]) {
        self.transcript.write(bytes);
    }

    fn diagnostic(&mut self, line: &str) {
        self.diag.write(self.name.as_bytes());
        self.diag.write(b": ");
        self.diag.write(line.as_bytes());
        self.diag.write(b"\n");
    }
}
