//! Linux-exact parsers of the values the cgroup core itself reads: the C-string and
//! white-space rules of every write, `kstrtox`, and the inputs of the core files.
//!
//! # Why this module exists
//!
//! A cgroup v1 file is user-space ABI: scripts write `echo 1 > notify_on_release` or
//! `echo $$ > tasks` and expect exactly the value, the rounding and the errno that Linux
//! gives. The conformance transcripts in `sim-scripts/cases/` were recorded on Linux 6.18,
//! so "close enough" parsing fails them. Every function here is a line-by-line port of the
//! kernel routine it names, *including its quirks*, and says which kernel file it follows.
//!
//! Only what the core needs lives here (and the kernel library routines the controllers'
//! grammars are built on: `kstrtox`, `simple_strtoull`, `strstrip`); the grammars of the
//! controllers' own files (memory sizes, `pids.max`, CPU and node lists, device rules)
//! live with the controllers, in `gpc_subsystems::parse`, next to the code that uses them.
//!
//! # The buffer a write handler sees
//!
//! kernfs copies the user's bytes into a buffer and terminates it with a NUL
//! (`fs/kernfs/file.c`, `kernfs_fop_write_iter`), then `cgroup_file_write`
//! (`kernel/cgroup/cgroup.c`) passes that C string on. Every kernel parser below walks the
//! C string, so **everything from the first NUL byte on is invisible to Linux**:
//! `b"7\0garbage"` parses as `7`. All functions here take the raw written bytes and apply
//! the same rule (see [`cstr`]); `echo`'s trailing newline is part of the bytes.
//!
//! Two families of handlers treat the buffer differently, and this is the explanation of the
//! surprising `net_cls.classid` transcript (`" 7"` and `"7 "` are refused with `EINVAL`):
//!
//! * cftypes with `write_u64` / `write_s64` (net_cls.classid, cpu.shares, notify_on_release,
//!   the cpuset flag files, memory.swappiness, ...) get **no stripping at all**:
//!   `cgroup_file_write` calls `kstrtoull(buf, 0, &v)` / `kstrtoll(buf, 0, &v)` on the raw
//!   buffer. `kstrtoull` accepts exactly one optional trailing `'\n'` and nothing else, so the
//!   bytes `" 7\n"` fail on the leading blank (no digit consumed) and `"7 \n"` fail on the
//!   blank after the digits. See [`write_u64_input`] and [`write_s64_input`].
//! * handlers with their own `write` callback (freezer.state, pids.max, devices.allow,
//!   cpuset.cpus, memory.limit_in_bytes, tasks, ...) call `strstrip(buf)` first, so leading and
//!   trailing white space of Linux's `isspace` set is ignored. See [`strstrip`].
//!
//! # The core files
//!
//! | file | kernel handler | here |
//! |---|---|---|
//! | `tasks`, `cgroup.procs` | `cgroup_procs_write_start`: `kstrtoint(strstrip(buf), 0)`, error or `< 0` → `EINVAL` | [`parse_procs_pid`] |
//! | `notify_on_release`, `cgroup.clone_children` (and every controller's `write_u64` file) | `write_u64` | [`write_u64_input`] |
//! | every controller's `write_s64` file | `write_s64` | [`write_s64_input`] |
//! | `release_agent` | `strscpy(path, strstrip(buf), PATH_MAX)` | [`strstrip`] |
//!
//! Kernel sources followed (torvalds/linux): `lib/kstrtox.c`, `lib/ctype.c`,
//! `lib/string.c` (`strim`), `lib/vsprintf.c` (`simple_strtoull`), `kernel/cgroup/cgroup.c`
//! (`cgroup_file_write`, `cgroup_procs_write_start`).
#![forbid(unsafe_code)]

use crate::{Error, Result};

// ---------------------------------------------------------------------------------------
// C strings and white space
// ---------------------------------------------------------------------------------------

/// The byte at `i`, or NUL past the end: the C view of a (NUL-truncated) buffer.
#[inline]
fn at(s: &[u8], i: usize) -> u8 {
    match s.get(i) {
        Some(&c) => c,
        None => 0,
    }
}

/// The tail of `s` from `i` (empty when `i` is past the end). Never panics.
#[inline]
fn tail(s: &[u8], i: usize) -> &[u8] {
    s.get(i..).unwrap_or(&[])
}

/// The C string a kernel parser sees in a written buffer: the bytes before the first NUL.
///
/// kernfs NUL-terminates the copy of a write (`kernfs_fop_write_iter`), and every kernel
/// parser stops at the first NUL, so `b"7\0junk"` is the string `"7"`. Every parser in this
/// module applies this first.
pub fn cstr(bytes: &[u8]) -> &[u8] {
    bytes.split(|&c| c == 0).next().unwrap_or(bytes)
}

/// Linux's `isspace()` (`include/linux/ctype.h`, table in `lib/ctype.c`).
///
/// The `_S` class: `'\t'`, `'\n'`, `'\v'` (0x0b), `'\f'` (0x0c), `'\r'`, `' '` and also
/// 0xA0, the Latin-1 no-break space, which the kernel's table marks `_S|_SP`. Unlike C's
/// `isspace` in the "C" locale, the kernel therefore strips a 0xA0 byte.
#[inline]
pub const fn is_space(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0xa0)
}

/// Linux's `strstrip()` / `strim()` (`lib/string.c`): drop leading and trailing
/// [`is_space`] bytes of the C string in `bytes` (see [`cstr`]).
///
/// This is what every `write` handler that starts with `buf = strstrip(buf)` sees; a buffer
/// of only white space becomes empty.
pub fn strstrip(bytes: &[u8]) -> &[u8] {
    let mut s = cstr(bytes);
    while let [rest @ .., last] = s {
        if !is_space(*last) {
            break;
        }
        s = rest;
    }
    while let [first, rest @ ..] = s {
        if !is_space(*first) {
            break;
        }
        s = rest;
    }
    s
}

// ---------------------------------------------------------------------------------------
// kstrtox
// ---------------------------------------------------------------------------------------

/// `_parse_integer_fixup_radix` (`lib/kstrtox.c`): the base to use and how many prefix
/// bytes (`0x`) to skip.
///
/// Base 0 means: `0x`/`0X` followed by a hex digit → 16, another leading `0` → 8, else 10.
/// For base 16 (given or detected) a `0x` prefix is skipped even when no digit follows.
fn fixup_radix(s: &[u8], base: u32) -> (usize, u32) {
    let mut base = base;
    if base == 0 {
        base = if at(s, 0) == b'0' {
            // `_tolower(c)` is `c | 0x20` in include/linux/ctype.h.
            if at(s, 1) | 0x20 == b'x' && at(s, 2).is_ascii_hexdigit() {
                16
            } else {
                8
            }
        } else {
            10
        };
    }
    if base == 16 && at(s, 0) == b'0' && at(s, 1) | 0x20 == b'x' {
        (2, base)
    } else {
        (0, base)
    }
}

/// What `_parse_integer_limit` (`lib/kstrtox.c`) found.
#[derive(Clone, Copy, Debug)]
pub struct ParsedInt {
    /// Digits consumed.
    pub len: usize,
    /// The value, wrapped modulo 2^64 on overflow (as Linux returns it).
    pub value: u64,
    /// Linux's `KSTRTOX_OVERFLOW` bit.
    pub overflow: bool,
}

/// `_parse_integer` (`lib/kstrtox.c`): consume digits `0-9a-fA-F` below `base`.
///
/// Like Linux it keeps consuming digits after an overflow (so that the caller can report
/// `ERANGE` even when garbage follows) and checks for overflow only once the top four bits
/// are in use, which is exact for every base up to 16. (`bitmap_parselist` of the cpuset
/// controller reads its numbers with it too.)
pub fn parse_integer(s: &[u8], base: u32) -> ParsedInt {
    let base = u64::from(base);
    let mut value: u64 = 0;
    let mut len = 0usize;
    let mut overflow = false;
    for &c in s {
        let lc = c | 0x20; // "don't tolower() this line"
        let val = if c.is_ascii_digit() {
            c - b'0'
        } else if (b'a'..=b'f').contains(&lc) {
            lc - b'a' + 10
        } else {
            break;
        };
        let val = u64::from(val);
        if val >= base {
            break;
        }
        if value & (!0u64 << 60) != 0 {
            if let Some(limit) = (u64::MAX - val).checked_div(base) {
                if value > limit {
                    overflow = true;
                }
            }
        }
        value = value.wrapping_mul(base).wrapping_add(val);
        len += 1;
    }
    ParsedInt {
        len,
        value,
        overflow,
    }
}

/// `_kstrtoull` (`lib/kstrtox.c`): radix fix-up, digits, one optional `'\n'`, end.
fn kstrtoull_unsigned(s: &[u8], base: u32) -> Result<u64> {
    let (skip, base) = fixup_radix(s, base);
    let s = tail(s, skip);
    let parsed = parse_integer(s, base);
    if parsed.overflow {
        return Err(Error::ERANGE);
    }
    if parsed.len == 0 {
        return Err(Error::EINVAL);
    }
    let mut i = parsed.len;
    if at(s, i) == b'\n' {
        i += 1;
    }
    if at(s, i) != 0 {
        return Err(Error::EINVAL);
    }
    Ok(parsed.value)
}

/// A pressure trigger written to a `*.pressure` file (Linux `psi_trigger_create`,
/// kernel/sched/psi.c): `some THRESHOLD_US WINDOW_US` or `full ...`, read with the
/// kernel's `sscanf` (the word must start the write; blanks before each number are
/// skipped; anything after the second number is ignored; each number wraps to 32 bits as
/// `%u` stores it). The window is at most 10 s, and a multiple of 2 s unless the writer
/// is `privileged` (`CAP_SYS_RESOURCE`); the threshold is at least 1 µs and at most the
/// window. A trigger lives as long as the file stays open, which for a shell's `echo`
/// ends with the write: a valid one changes nothing that can be read.
///
/// # Errors
///
/// `EINVAL` for anything else.
pub fn psi_trigger(buf: &[u8], privileged: bool) -> Result<()> {
    const WINDOW_MAX_US: u32 = 10_000_000;
    let rest = buf
        .strip_prefix(b"some")
        .or_else(|| buf.strip_prefix(b"full"))
        .ok_or(Error::EINVAL)?;
    // `%u`: skip blanks, then at least one decimal digit (no sign).
    let scan_u = |s: &[u8]| -> Result<(u32, usize)> {
        let blanks = s.iter().take_while(|b| is_space(**b)).count();
        let digits = s
            .iter()
            .skip(blanks)
            .take_while(|b| b.is_ascii_digit())
            .fold((0u64, 0usize), |(v, n), b| {
                (v.wrapping_mul(10).wrapping_add(u64::from(b - b'0')), n + 1)
            });
        if digits.1 == 0 {
            return Err(Error::EINVAL);
        }
        Ok((digits.0 as u32, blanks + digits.1))
    };
    let (threshold_us, used) = scan_u(rest)?;
    let (window_us, _) = scan_u(tail(rest, used))?;
    if window_us == 0 || window_us > WINDOW_MAX_US {
        return Err(Error::EINVAL);
    }
    if !privileged && window_us % 2_000_000 != 0 {
        return Err(Error::EINVAL);
    }
    if threshold_us == 0 || threshold_us > window_us {
        return Err(Error::EINVAL);
    }
    Ok(())
}

/// Linux's `kstrtoull()` (`lib/kstrtox.c`): the whole C string must be one unsigned number.
///
/// An optional leading `'+'` (no `'-'`), then digits in `base` (0 = auto: `0x`/`0X` hex,
/// leading `0` octal, else decimal; bases up to 16), then at most one `'\n'`. No white space
/// anywhere else. Everything from the first NUL on is ignored (see [`cstr`]).
///
/// # Errors
///
/// * `ERANGE` if the value does not fit in `u64` (checked before trailing garbage, so
///   `"99999999999999999999x"` is `ERANGE`).
/// * `EINVAL` if no digit is found or anything but one `'\n'` follows the digits
///   (`""`, `"\n"`, `" 7"`, `"7 "`, `"0x"`, `"-1"`, `"10:1"`, `"7\n\n"`).
pub fn kstrtoull(s: &[u8], base: u32) -> Result<u64> {
    let s = cstr(s);
    let s = if at(s, 0) == b'+' { tail(s, 1) } else { s };
    kstrtoull_unsigned(s, base)
}

/// Linux's `kstrtoll()` (`lib/kstrtox.c`): like [`kstrtoull`] but signed; a leading `'-'`
/// or `'+'` is accepted (one sign only, before any `0x` prefix).
///
/// The range is `i64::MIN..=i64::MAX`; `"-0"` is 0.
///
/// # Errors
///
/// * `ERANGE` if the magnitude overflows `u64` or the value is outside `i64`.
/// * `EINVAL` for malformed input, as for [`kstrtoull`] (`"+-5"`, `"--5"`, `"- 5"`).
pub fn kstrtoll(s: &[u8], base: u32) -> Result<i64> {
    let s = cstr(s);
    if at(s, 0) == b'-' {
        let tmp = kstrtoull_unsigned(tail(s, 1), base)?;
        // `if ((long long)-tmp > 0) return -ERANGE;`
        let neg = tmp.wrapping_neg() as i64;
        if neg > 0 {
            return Err(Error::ERANGE);
        }
        Ok(neg)
    } else {
        let tmp = kstrtoull(s, base)?;
        i64::try_from(tmp).map_err(|_| Error::ERANGE)
    }
}

/// Linux's `kstrtouint()` (`lib/kstrtox.c`): [`kstrtoull`] limited to `u32`.
///
/// # Errors
///
/// `ERANGE` if the value does not fit in `u32`, otherwise as [`kstrtoull`].
pub fn kstrtouint(s: &[u8], base: u32) -> Result<u32> {
    let v = kstrtoull(s, base)?;
    u32::try_from(v).map_err(|_| Error::ERANGE)
}

/// Linux's `kstrtoint()` (`lib/kstrtox.c`): [`kstrtoll`] limited to `i32`.
///
/// # Errors
///
/// `ERANGE` if the value does not fit in `i32`, otherwise as [`kstrtoll`].
pub fn kstrtoint(s: &[u8], base: u32) -> Result<i32> {
    let v = kstrtoll(s, base)?;
    i32::try_from(v).map_err(|_| Error::ERANGE)
}

/// Linux's `kstrtobool()` (`lib/kstrtox.c`, 6.x): only the first one or two bytes count.
///
/// True: first byte one of `eEyYtT1`, or `o`/`O` then `n`/`N`. False: `dDnNfF0`, or `o`/`O`
/// then `f`/`F`. The rest of the string is ignored (`"yesterday"` is true). No cgroup v1
/// file uses it (their booleans are `write_u64`), but it is here for completeness.
///
/// # Errors
///
/// `EINVAL` for anything else, including the empty string and leading blanks.
pub fn kstrtobool(s: &[u8]) -> Result<bool> {
    let s = cstr(s);
    match at(s, 0) {
        b'e' | b'E' | b'y' | b'Y' | b't' | b'T' | b'1' => Ok(true),
        b'd' | b'D' | b'n' | b'N' | b'f' | b'F' | b'0' => Ok(false),
        b'o' | b'O' => match at(s, 1) {
            b'n' | b'N' => Ok(true),
            b'f' | b'F' => Ok(false),
            _ => Err(Error::EINVAL),
        },
        _ => Err(Error::EINVAL),
    }
}

// ---------------------------------------------------------------------------------------
// What cgroup core does for cftype write_u64 / write_s64, and other common inputs
// ---------------------------------------------------------------------------------------

/// The value a cftype `write_u64` handler receives: `kstrtoull(buf, 0)` on the **raw**
/// buffer, exactly as `cgroup_file_write` (`kernel/cgroup/cgroup.c`) does.
///
/// There is no `strstrip`: `"7\n"` and `"+7"` are accepted, `" 7\n"` and `"7 \n"` are not.
/// Handlers that store a narrower type truncate as C does (net_cls.classid stores
/// `(u32)value`, so `0x100000001` reads back as `1`).
///
/// # Errors
///
/// As [`kstrtoull`]: `EINVAL` for malformed input, `ERANGE` for overflow.
pub fn write_u64_input(buf: &[u8]) -> Result<u64> {
    kstrtoull(buf, 0)
}

/// The value a cftype `write_s64` handler receives: `kstrtoll(buf, 0)` on the raw buffer,
/// as `cgroup_file_write` does (no stripping).
///
/// # Errors
///
/// As [`kstrtoll`].
pub fn write_s64_input(buf: &[u8]) -> Result<i64> {
    kstrtoll(buf, 0)
}

/// The pid written to `tasks` / `cgroup.procs`: `cgroup_procs_write_start`
/// (`kernel/cgroup/cgroup.c`) does `kstrtoint(strstrip(buf), 0, &pid) || pid < 0`.
///
/// Returns the pid; 0 means "the writing task itself" in Linux.
///
/// # Errors
///
/// `EINVAL` for every failure, including overflow (Linux maps all of them to `EINVAL`) and
/// negative pids.
pub fn parse_procs_pid(buf: &[u8]) -> Result<i32> {
    match kstrtoint(strstrip(buf), 0) {
        Ok(pid) if pid >= 0 => Ok(pid),
        _ => Err(Error::EINVAL),
    }
}

/// Linux's `simple_strtoull()` (`lib/vsprintf.c`): parse a prefix, return the value and the
/// rest of the C string.
///
/// No sign is accepted, no white space is skipped; with no digit the value is 0 and the rest
/// is the whole string (after a `0x` prefix only when `base` is 16). Overflow wraps silently
/// modulo 2^64, as in Linux.
pub fn simple_strtoull(s: &[u8], base: u32) -> (u64, &[u8]) {
    let s = cstr(s);
    let (skip, base) = fixup_radix(s, base);
    let digits = tail(s, skip);
    let parsed = parse_integer(digits, base);
    (parsed.value, tail(digits, parsed.len))
}

/// A `cgroup.max.depth` / `cgroup.max.descendants` write (Linux
/// `cgroup_max_depth_write`): `max`, or an `int` in any base `kstrtoint` takes.
///
/// # Errors
///
/// `EINVAL` for anything else, `ERANGE` for a negative number or one past `INT_MAX`.
pub fn cgroup_limit(buf: &[u8]) -> Result<usize> {
    let buf = strstrip(buf);
    if buf == b"max" {
        return Ok(i32::MAX as usize);
    }
    let v = kstrtoint(buf, 0)?;
    usize::try_from(v).map_err(|_| Error::ERANGE)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    const EINVAL: Error = Error::EINVAL;
    const ERANGE: Error = Error::ERANGE;

    fn big(fill: u8, n: usize) -> Vec<u8> {
        vec![fill; n]
    }

    // --- cstr / isspace / strstrip ---------------------------------------------------

    #[test]
    fn cstr_truncates_at_nul() {
        assert_eq!(cstr(b"abc"), b"abc");
        assert_eq!(cstr(b"ab\0cd"), b"ab");
        assert_eq!(cstr(b"\0abc"), b"");
        assert_eq!(cstr(b""), b"");
    }

    #[test]
    fn isspace_is_linux_ctype() {
        for c in [b'\t', b'\n', 0x0b, 0x0c, b'\r', b' ', 0xa0] {
            assert!(is_space(c), "{c:#x}");
        }
        for c in (0u8..=255).filter(|c| ![9, 10, 11, 12, 13, 32, 0xa0].contains(c)) {
            assert!(!is_space(c), "{c:#x}");
        }
    }

    #[test]
    fn strstrip_like_strim() {
        assert_eq!(strstrip(b" FROZEN \n"), b"FROZEN");
        assert_eq!(strstrip(b"\t\x0b\x0c\r a b \n"), b"a b");
        assert_eq!(strstrip(b""), b"");
        assert_eq!(strstrip(b"\n"), b"");
        assert_eq!(strstrip(b"   \n\t"), b"");
        assert_eq!(strstrip(b"\xa0x\xa0"), b"x");
        assert_eq!(strstrip(b"x \0 y"), b"x");
        assert_eq!(strstrip(&big(b' ', 1 << 20)), b"");
    }

    #[test]
    fn freezer_state_transcript() {
        // freezer_states.out: " FROZEN " accepted, "frozen", "FREEZING", "1", "" refused.
        assert_eq!(strstrip(b" FROZEN \n"), b"FROZEN");
        assert_eq!(strstrip(b"FROZEN\n"), b"FROZEN");
        assert_ne!(strstrip(b"frozen\n"), b"FROZEN");
        assert_ne!(strstrip(b"\n"), b"FROZEN");
        assert_ne!(strstrip(b"\n"), b"THAWED");
    }

    // --- kstrtoull --------------------------------------------------------------------

    #[test]
    fn kstrtoull_normal() {
        assert_eq!(kstrtoull(b"0", 0), Ok(0));
        assert_eq!(kstrtoull(b"123", 0), Ok(123));
        assert_eq!(kstrtoull(b"123\n", 0), Ok(123));
        assert_eq!(kstrtoull(b"+123", 0), Ok(123));
        assert_eq!(kstrtoull(b"0x1f", 0), Ok(31));
        assert_eq!(kstrtoull(b"0XFF", 0), Ok(255));
        assert_eq!(kstrtoull(b"0777", 0), Ok(511));
        assert_eq!(kstrtoull(b"00", 0), Ok(0));
        assert_eq!(kstrtoull(b"ff", 16), Ok(255));
        assert_eq!(kstrtoull(b"0xff", 16), Ok(255));
        assert_eq!(kstrtoull(b"010", 10), Ok(10));
        assert_eq!(kstrtoull(b"18446744073709551615", 0), Ok(u64::MAX));
        assert_eq!(kstrtoull(b"0xffffffffffffffff", 0), Ok(u64::MAX));
        assert_eq!(kstrtoull(b"01777777777777777777777", 0), Ok(u64::MAX));
    }

    #[test]
    fn kstrtoull_refuses() {
        for bad in [
            &b""[..],
            b"\n",
            b" 7",
            b"7 ",
            b" 7\n",
            b"7 \n",
            b"7\n\n",
            b"\n7",
            b"-1",
            b"-0",
            b"abc",
            b"10:1",
            b"0x",
            b"0x\n",
            b"0xg",
            b"08",
            b"09",
            b"++1",
            b"+",
            b"+-1",
            b"1.5",
            b"1e3",
            b"0b101",
            b"\xa07",
        ] {
            assert_eq!(kstrtoull(bad, 0), Err(EINVAL), "{:?}", bad);
        }
        assert_eq!(kstrtoull(b"12a", 10), Err(EINVAL));
        assert_eq!(kstrtoull(b"0x", 16), Err(EINVAL));
        assert_eq!(kstrtoull(b"8", 8), Err(EINVAL));
    }

    #[test]
    fn kstrtoull_overflow_is_erange() {
        assert_eq!(kstrtoull(b"18446744073709551616", 0), Err(ERANGE));
        assert_eq!(kstrtoull(b"99999999999999999999", 0), Err(ERANGE));
        assert_eq!(kstrtoull(b"99999999999999999999\n", 0), Err(ERANGE));
        // Overflow is reported before trailing garbage, as in Linux.
        assert_eq!(kstrtoull(b"99999999999999999999 x", 0), Err(ERANGE));
        assert_eq!(kstrtoull(b"0x10000000000000000", 0), Err(ERANGE));
        assert_eq!(kstrtoull(b"02000000000000000000000", 0), Err(ERANGE));
        // 1 MiB of digits.
        assert_eq!(kstrtoull(&big(b'9', 1 << 20), 0), Err(ERANGE));
        // 1 MiB of zeros and a one is octal 1.
        let mut zeros = big(b'0', 1 << 20);
        zeros.push(b'1');
        assert_eq!(kstrtoull(&zeros, 0), Ok(1));
    }

    #[test]
    fn kstrtoull_embedded_nul_ends_the_string() {
        assert_eq!(kstrtoull(b"7\0junk", 0), Ok(7));
        assert_eq!(kstrtoull(b"7\n\0junk", 0), Ok(7));
        assert_eq!(kstrtoull(b"\x007", 0), Err(EINVAL));
    }

    #[test]
    fn net_cls_classid_transcript() {
        // net_cls_classid.out (Linux 6.18): echo adds "\n"; classid stores (u32)value.
        let classid = |s: &[u8]| write_u64_input(s).map(|v| v as u32);
        assert_eq!(classid(b"0x100001\n"), Ok(1048577));
        assert_eq!(classid(b"0X20\n"), Ok(32));
        assert_eq!(classid(b"010\n"), Ok(8));
        assert_eq!(classid(b"1048577\n"), Ok(1048577));
        assert_eq!(classid(b"+5\n"), Ok(5));
        assert_eq!(classid(b"4294967295\n"), Ok(4294967295));
        assert_eq!(classid(b"0x100000001\n"), Ok(1));
        assert_eq!(classid(b"-1\n"), Err(EINVAL));
        assert_eq!(classid(b"abc\n"), Err(EINVAL));
        assert_eq!(classid(b"10:1\n"), Err(EINVAL));
        assert_eq!(classid(b"0x\n"), Err(EINVAL));
        assert_eq!(classid(b"\n"), Err(EINVAL));
        assert_eq!(classid(b" 7\n"), Err(EINVAL));
        assert_eq!(classid(b"7 \n"), Err(EINVAL));
        assert_eq!(classid(b"99999999999999999999\n"), Err(ERANGE));
    }

    // --- kstrtoll / int / uint / bool ---------------------------------------------------

    #[test]
    fn kstrtoll_cases() {
        assert_eq!(kstrtoll(b"-1", 0), Ok(-1));
        assert_eq!(kstrtoll(b"-1\n", 0), Ok(-1));
        assert_eq!(kstrtoll(b"-0", 0), Ok(0));
        assert_eq!(kstrtoll(b"+7", 0), Ok(7));
        assert_eq!(kstrtoll(b"-0x10", 0), Ok(-16));
        assert_eq!(kstrtoll(b"-010", 0), Ok(-8));
        assert_eq!(kstrtoll(b"9223372036854775807", 0), Ok(i64::MAX));
        assert_eq!(kstrtoll(b"-9223372036854775808", 0), Ok(i64::MIN));
        assert_eq!(kstrtoll(b"9223372036854775808", 0), Err(ERANGE));
        assert_eq!(kstrtoll(b"-9223372036854775809", 0), Err(ERANGE));
        assert_eq!(kstrtoll(b"-18446744073709551615", 0), Err(ERANGE));
        assert_eq!(kstrtoll(b"-18446744073709551616", 0), Err(ERANGE));
        assert_eq!(kstrtoll(b"18446744073709551615", 0), Err(ERANGE));
        for bad in [
            &b"--1"[..],
            b"-+1",
            b"+-1",
            b"- 1",
            b" -1",
            b"-",
            b"-\n",
            b"",
            b"-1x",
        ] {
            assert_eq!(kstrtoll(bad, 0), Err(EINVAL), "{:?}", bad);
        }
    }

    #[test]
    fn kstrtoint_and_uint_ranges() {
        assert_eq!(kstrtoint(b"2147483647", 0), Ok(i32::MAX));
        assert_eq!(kstrtoint(b"-2147483648", 0), Ok(i32::MIN));
        assert_eq!(kstrtoint(b"2147483648", 0), Err(ERANGE));
        assert_eq!(kstrtoint(b"-2147483649", 0), Err(ERANGE));
        assert_eq!(kstrtoint(b"x", 0), Err(EINVAL));
        assert_eq!(kstrtouint(b"4294967295", 0), Ok(u32::MAX));
        assert_eq!(kstrtouint(b"4294967296", 0), Err(ERANGE));
        assert_eq!(kstrtouint(b"-1", 0), Err(EINVAL));
        assert_eq!(kstrtouint(b"99999999999999999999", 0), Err(ERANGE));
    }

    #[test]
    fn kstrtobool_cases() {
        for t in [
            &b"1"[..],
            b"y",
            b"Y",
            b"yes",
            b"t",
            b"true",
            b"e",
            b"on",
            b"ON",
            b"oN",
        ] {
            assert_eq!(kstrtobool(t), Ok(true), "{:?}", t);
        }
        for f in [
            &b"0"[..],
            b"n",
            b"N",
            b"no",
            b"f",
            b"false",
            b"d",
            b"off",
            b"OFF",
        ] {
            assert_eq!(kstrtobool(f), Ok(false), "{:?}", f);
        }
        for bad in [&b""[..], b"\n", b" 1", b"o", b"ox", b"2", b"x"] {
            assert_eq!(kstrtobool(bad), Err(EINVAL), "{:?}", bad);
        }
    }

    #[test]
    fn write_s64_input_is_raw() {
        assert_eq!(write_s64_input(b"-1\n"), Ok(-1));
        assert_eq!(write_s64_input(b" -1\n"), Err(EINVAL));
        assert_eq!(write_s64_input(b"-1 \n"), Err(EINVAL));
        assert_eq!(write_s64_input(b"100000\n"), Ok(100000));
    }

    #[test]
    fn procs_pid() {
        assert_eq!(parse_procs_pid(b"42\n"), Ok(42));
        assert_eq!(parse_procs_pid(b"  42  \n"), Ok(42));
        assert_eq!(parse_procs_pid(b"0\n"), Ok(0));
        assert_eq!(parse_procs_pid(b"0x10"), Ok(16));
        assert_eq!(parse_procs_pid(b"-1\n"), Err(EINVAL));
        assert_eq!(parse_procs_pid(b"\n"), Err(EINVAL));
        assert_eq!(parse_procs_pid(b"1 2\n"), Err(EINVAL));
        // Overflow is EINVAL here, not ERANGE.
        assert_eq!(parse_procs_pid(b"99999999999\n"), Err(EINVAL));
    }

    #[test]
    fn simple_strtoull_prefix() {
        assert_eq!(simple_strtoull(b"12ab", 10), (12, &b"ab"[..]));
        assert_eq!(simple_strtoull(b"0x1fz", 0), (31, &b"z"[..]));
        assert_eq!(simple_strtoull(b"0x", 0), (0, &b"x"[..]));
        assert_eq!(simple_strtoull(b"0x", 16), (0, &b""[..]));
        assert_eq!(simple_strtoull(b"-1", 0), (0, &b"-1"[..]));
        assert_eq!(simple_strtoull(b"", 0), (0, &b""[..]));
        // Wraps silently.
        assert_eq!(simple_strtoull(b"18446744073709551616", 10), (0, &b""[..]));
    }

    // --- properties ---------------------------------------------------------------------

    proptest::proptest! {
        #[test]
        fn kstrtoull_roundtrips(n: u64) {
            let dec = alloc::format!("{n}\n");
            proptest::prop_assert_eq!(kstrtoull(dec.as_bytes(), 0), Ok(n));
            let hex = alloc::format!("0x{n:x}");
            proptest::prop_assert_eq!(kstrtoull(hex.as_bytes(), 0), Ok(n));
            let oct = alloc::format!("0{n:o}");
            proptest::prop_assert_eq!(kstrtoull(oct.as_bytes(), 0), Ok(n));
        }

        #[test]
        fn kstrtoll_roundtrips(n: i64) {
            let dec = alloc::format!("{n}");
            proptest::prop_assert_eq!(kstrtoll(dec.as_bytes(), 0), Ok(n));
        }

        #[test]
        fn parsers_never_panic(bytes: Vec<u8>) {
            let _ = kstrtoull(&bytes, 0);
            let _ = kstrtoll(&bytes, 16);
            let _ = kstrtobool(&bytes);
            let _ = simple_strtoull(&bytes, 0);
            let _ = parse_procs_pid(&bytes);
        }
    }
}
