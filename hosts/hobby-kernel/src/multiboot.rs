//! What the boot loader hands over: the multiboot information (command line, modules)
//! and the kernel's options on the command line.
//!
//! `boot.sh` boots with `-kernel gpc-hobby -initrd SCRIPT -append "OPTIONS"`: qemu's
//! multiboot loader passes the script as the first module and `KERNEL-PATH OPTIONS` as
//! the command line. Options are words:
//!
//! * `echo`: run in `--echo` mode (the transcript of FORMAT.md);
//! * `name=HEX`: the script's name for diagnostics (`NAME: line N: ...`), hex-encoded so
//!   that any file name survives the command line;
//! * `stats`: report the heap's figures on the diagnostic port after the run;
//! * `heap=KIB`: give the heap only KIB KiB (to watch allocation failures: gpc's fallible
//!   paths answer `ENOMEM`, an infallible allocation of the interpreter stops the kernel).

use alloc::string::String;
use alloc::vec::Vec;

/// What a multiboot loader leaves in `eax`.
pub const BOOTLOADER_MAGIC: u32 = 0x2BAD_B002;

/// The longest command line or module string read (bytes).
pub const MAX_STRING: usize = 4096;

/// Multiboot information flag: `cmdline` is valid.
const INFO_CMDLINE: u32 = 1 << 2;
/// Multiboot information flag: `mods_count` and `mods_addr` are valid.
const INFO_MODS: u32 = 1 << 3;

/// A boot module.
#[derive(Clone, Copy, Debug)]
pub struct Module {
    /// Its contents.
    pub data: &'static [u8],
    /// Its string (what followed the file name in qemu's `-initrd`).
    pub string: &'static [u8],
}

/// What the loader told us.
#[derive(Clone, Copy, Debug, Default)]
pub struct BootInfo {
    /// The command line (empty if none).
    pub cmdline: &'static [u8],
    /// The first module, if any.
    pub module: Option<Module>,
}

/// A NUL-terminated string at physical address `addr` (at most [`MAX_STRING`] bytes).
///
/// # Safety
///
/// `addr` must be 0 or point to readable memory holding a NUL within `MAX_STRING` bytes
/// or at least `MAX_STRING` readable bytes, that stays unchanged forever.
unsafe fn c_string(addr: u32) -> &'static [u8] {
    if addr == 0 {
        return &[];
    }
    let p = addr as usize as *const u8;
    let mut n = 0;
    // SAFETY: the caller guarantees the bytes up to the NUL (or MAX_STRING) are readable.
    while n < MAX_STRING && unsafe { p.add(n).read() } != 0 {
        n += 1;
    }
    // SAFETY: `n` bytes from `p` were just read, and stay unchanged (caller's contract).
    unsafe { core::slice::from_raw_parts(p, n) }
}

/// Read the multiboot information at physical address `info`.
///
/// # Safety
///
/// `info` must be the address a multiboot loader passed in `ebx`, with the memory it
/// describes (information, command line, module list, modules) identity-mapped, left
/// untouched for the life of the kernel.
pub unsafe fn read(info: u32) -> BootInfo {
    let base = info as usize as *const u32;
    // SAFETY: the information structure starts with these words (multiboot 0.6.96 §3.3).
    let word = |i: usize| unsafe { base.add(i).read_unaligned() };
    let flags = word(0);
    let mut out = BootInfo::default();
    if flags & INFO_CMDLINE != 0 {
        // SAFETY: a valid cmdline field points to a NUL-terminated string.
        out.cmdline = unsafe { c_string(word(4)) };
    }
    if flags & INFO_MODS != 0 && word(5) > 0 {
        let m = word(6) as usize as *const u32;
        // SAFETY: a valid mods_addr points to `mods_count` entries of four words:
        // mod_start, mod_end, string, reserved.
        let (start, end, string) = unsafe { (m.read(), m.add(1).read(), m.add(2).read()) };
        if end >= start {
            out.module = Some(Module {
                // SAFETY: the loader put the module's bytes at `start..end`.
                data: unsafe {
                    core::slice::from_raw_parts(start as usize as *const u8, (end - start) as usize)
                },
                // SAFETY: a NUL-terminated string, or 0.
                string: unsafe { c_string(string) },
            });
        }
    }
    out
}

/// The kernel's options (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `--echo` mode.
    pub echo: bool,
    /// Report heap and RCU figures after the run.
    pub stats: bool,
    /// The script's name for diagnostics.
    pub name: Option<String>,
}

impl Options {
    /// The options on a command line; unknown words (the kernel's path first) are
    /// ignored.
    pub fn parse(cmdline: &[u8]) -> Options {
        let mut o = Options::default();
        for word in cmdline.split(|b| b.is_ascii_whitespace()) {
            match word {
                b"echo" => o.echo = true,
                b"stats" => o.stats = true,
                _ => {
                    if let Some(hex) = word.strip_prefix(b"name=") {
                        o.name = unhex(hex).map(|v| String::from_utf8_lossy(&v).into_owned());
                    }
                }
            }
        }
        o
    }
}

/// The `heap=KIB` option, in bytes, read without allocating (the heap is set up after
/// it).
pub fn heap_limit(cmdline: &[u8]) -> Option<usize> {
    let word = cmdline
        .split(|b| b.is_ascii_whitespace())
        .find_map(|w| w.strip_prefix(b"heap="))?;
    let kib = core::str::from_utf8(word).ok()?.parse::<usize>().ok()?;
    kib.checked_mul(1024)
}

/// `"2f6162"` → `b"/ab"`; `None` for odd lengths or non-hex digits.
pub fn unhex(hex: &[u8]) -> Option<Vec<u8>> {
    fn digit(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    if hex.len() % 2 != 0 {
        return None;
    }
    hex.chunks(2)
        .map(|p| match p {
            [h, l] => Some(digit(*h)? << 4 | digit(*l)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_a_qemu_command_line() {
        let o = Options::parse(b"/x/gpc-hobby echo name=612f622e6367736820 stats");
        assert!(o.echo && o.stats);
        assert_eq!(o.name.as_deref(), Some("a/b.cgsh "));
        let o = Options::parse(b"/x/gpc-hobby");
        assert_eq!(o, Options::default());
        assert_eq!(Options::parse(b"k name=6").name, None);
        assert_eq!(unhex(b"zz"), None);
        assert_eq!(heap_limit(b"k echo heap=64"), Some(64 * 1024));
        assert_eq!(heap_limit(b"k heap=x"), None);
        assert_eq!(heap_limit(b"k"), None);
        assert_eq!(unhex(b""), Some(std::vec::Vec::new()));
    }

    #[test]
    fn reads_multiboot_information() {
        // An information structure, a command line, a module list and a module, laid
        // out in one buffer below 4 GiB is not possible on the host: only check that a
        // structure with no flags yields nothing.
        let info = [0u32; 12];
        let addr = info.as_ptr() as usize;
        if let Ok(a) = u32::try_from(addr) {
            // SAFETY: `info` is a zeroed structure: no field is followed.
            let b = unsafe { read(a) };
            assert!(b.cmdline.is_empty() && b.module.is_none());
        }
    }
}
