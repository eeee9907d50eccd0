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
//! * `heap=KIB`: give the heap only KIB KiB (to watch allocation failures: a script too
//!   large for it is refused, and commands that find it low fail with `ENOMEM`).

use alloc::string::String;
use alloc::vec::Vec;

/// What a multiboot loader leaves in `eax`.
pub const BOOTLOADER_MAGIC: u32 = 0x2BAD_B002;

/// The longest command line or module string read (bytes).
pub const MAX_STRING: usize = 4096;

/// Memory the boot stub identity-maps (the first GiB): nothing beyond it can be read.
pub const MAPPED_END: u64 = 1 << 30;

/// Multiboot information flag: `mem_lower` and `mem_upper` are valid.
const INFO_MEM: u32 = 1 << 0;
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
    /// The first module, if any, and if it lies in memory the kernel can read.
    pub module: Option<Module>,
    /// The first module's `start..end`, when it does not lie in readable memory (past the
    /// RAM the loader reported, past the mapped first GiB, or `end < start`): the
    /// loader could not hold it, so its bytes are not the script.
    pub bad_module: Option<(u32, u32)>,
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
    // The end of RAM: 1 MiB plus `mem_upper` KiB (multiboot 0.6.96 §3.3), when given.
    let ram_end = if flags & INFO_MEM != 0 {
        (1u64 << 20) + u64::from(word(2)) * 1024
    } else {
        MAPPED_END
    };
    if flags & INFO_MODS != 0 && word(5) > 0 {
        let m = word(6) as usize as *const u32;
        // SAFETY: a valid mods_addr points to `mods_count` entries of four words:
        // mod_start, mod_end, string, reserved.
        let (start, end, string) = unsafe { (m.read(), m.add(1).read(), m.add(2).read()) };
        if !module_readable(start, end, ram_end) {
            out.bad_module = Some((start, end));
        } else {
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

/// Whether a module at `start..end` lies in RAM that ends at `ram_end` and in the mapped
/// first GiB.
pub fn module_readable(start: u32, end: u32, ram_end: u64) -> bool {
    end >= start && u64::from(end) <= ram_end.min(MAPPED_END)
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
                        o.name = unhex(hex).and_then(|v| lossy_string(&v));
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

/// `bytes` as text, each invalid UTF-8 sequence replaced by U+FFFD (as
/// `String::from_utf8_lossy`), or `None` if the heap cannot hold it.
pub fn lossy_string(bytes: &[u8]) -> Option<String> {
    let mut s = String::new();
    for chunk in bytes.utf8_chunks() {
        let bad = if chunk.invalid().is_empty() { 0 } else { 3 };
        s.try_reserve(chunk.valid().len() + bad).ok()?;
        s.push_str(chunk.valid());
        if bad != 0 {
            s.push(char::REPLACEMENT_CHARACTER);
        }
    }
    Some(s)
}

/// `"2f6162"` → `b"/ab"`; `None` for odd lengths, non-hex digits, or if the heap cannot
/// hold the result.
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
    let mut out = Vec::new();
    out.try_reserve_exact(hex.len() / 2).ok()?;
    for p in hex.chunks(2) {
        match p {
            [h, l] => out.push(digit(*h)? << 4 | digit(*l)?),
            _ => return None,
        }
    }
    Some(out)
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
        assert_eq!(
            lossy_string(b"a\xffb\xe2\x82").as_deref(),
            Some("a\u{fffd}b\u{fffd}")
        );
    }

    #[test]
    fn modules_outside_readable_memory_are_refused() {
        let ram = 128u64 << 20;
        assert!(module_readable(0x0800_0000 - 4096, 0x0800_0000, ram));
        assert!(!module_readable(0x0800_0000 - 4096, 0x0800_0001, ram));
        assert!(!module_readable(0x2000, 0x1000, ram));
        assert!(!module_readable(0x4000_0000, 0x4000_1000, 4 << 30));
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
