//! Linux-exact parsers and formatters for the v1 controller files.
//!
//! # Why this module exists
//!
//! A cgroup v1 file is user-space ABI: scripts write `echo 0x10 > net_cls.classid` or
//! `echo "c 1:3 rwm" > devices.allow` and expect exactly the value, the rounding and the
//! errno that Linux gives. The conformance transcripts in `sim-scripts/cases/` were recorded
//! on Linux 6.18, so "close enough" parsing fails them. Every function here is a
//! line-by-line port of the kernel routine it names, *including its quirks*, and says which
//! kernel file it follows. Controllers and the core must use these functions instead of
//! hand-rolled parsing, so that the same bytes give the same answer everywhere.
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
//! # Map of v1 files to parsers
//!
//! | file | kernel handler | here |
//! |---|---|---|
//! | `tasks`, `cgroup.procs` | `cgroup_procs_write_start`: `kstrtoint(strstrip(buf), 0)`, error or `< 0` → `EINVAL` | [`parse_procs_pid`] |
//! | `notify_on_release`, `cgroup.clone_children`, `net_cls.classid`, `cpu.shares`, `cpu.cfs_period_us`, `cpuacct.usage`, `memory.swappiness`, `memory.use_hierarchy`, `memory.oom_control`, cpuset flag files | `write_u64` | [`write_u64_input`] |
//! | `cpu.cfs_quota_us`, `cpuset.sched_relax_domain_level` | `write_s64` | [`write_s64_input`] |
//! | cpuset flag files (`cpuset.cpu_exclusive`, ...) | `cpuset_write_u64` → `cpuset_update_flag(bit, cs, int turning_on)` | [`c_int_nonzero`] on the `u64` |
//! | `cpuset.cpus`, `cpuset.mems` | `cpuset_write_resmask`: `strstrip`, then `cpulist_parse` / `nodelist_parse` | [`parse_cpuset_cpus`], [`parse_cpuset_mems`] |
//! | `memory.limit_in_bytes`, `memory.memsw.limit_in_bytes`, `memory.soft_limit_in_bytes` | `mem_cgroup_write`: `strstrip`, `page_counter_memparse(buf, "-1")` | [`parse_memory_limit`] |
//! | `pids.max` | `pids_max_write` | [`parse_pids_max`], [`pids_max_display`] |
//! | `devices.allow`, `devices.deny` | `devcgroup_access_write` → `devcgroup_update_access(strstrip(buf))` | [`parse_dev_rule`], [`DevRule`]'s `Display` |
//! | `freezer.state` | `freezer_write`: `strcmp(strstrip(buf), "FROZEN" / "THAWED")` | `strstrip(buf) == b"FROZEN"` |
//! | `release_agent` | `strscpy(path, strstrip(buf), PATH_MAX)` | [`strstrip`] |
//!
//! Kernel sources followed (torvalds/linux): `lib/kstrtox.c`, `lib/ctype.c`,
//! `lib/string.c` (`strim`), `lib/vsprintf.c` (`simple_strtoull`, `bitmap_list_string`),
//! `lib/cmdline.c` (`memparse`), `lib/bitmap-str.c` (`bitmap_parselist`),
//! `include/linux/cpumask.h` (`cpulist_parse`), `kernel/cgroup/cgroup.c`
//! (`cgroup_file_write`, `cgroup_procs_write_start`), `kernel/cgroup/cpuset.c` and
//! `cpuset-v1.c`, `mm/page_counter.c` + `include/linux/page_counter.h`,
//! `mm/memcontrol-v1.c` (`mem_cgroup_write`, `mem_cgroup_read_u64`),
//! `kernel/cgroup/pids.c`, `include/linux/threads.h`, `security/device_cgroup.c`.
//!
//! Formatters produce the value only; the file layer appends the `'\n'` Linux prints.

use core::fmt::{self, Write as _};

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
struct ParsedInt {
    /// Digits consumed.
    len: usize,
    /// The value, wrapped modulo 2^64 on overflow (as Linux returns it).
    value: u64,
    /// Linux's `KSTRTOX_OVERFLOW` bit.
    overflow: bool,
}

/// `_parse_integer` (`lib/kstrtox.c`): consume digits `0-9a-fA-F` below `base`.
///
/// Like Linux it keeps consuming digits after an overflow (so that the caller can report
/// `ERANGE` even when garbage follows) and checks for overflow only once the top four bits
/// are in use, which is exact for every base up to 16.
fn parse_integer(s: &[u8], base: u32) -> ParsedInt {
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

/// How the cpuset flag files turn their `u64` into on/off: `cpuset_write_u64`
/// (`kernel/cgroup/cpuset-v1.c`) passes `val` to `cpuset_update_flag(.., int turning_on)`,
/// so only the low 32 bits count (`4294967296` turns a flag *off*).
///
/// `cpuset.memory_pressure_enabled` instead uses `!!val` (plain `val != 0`), as do
/// `notify_on_release` and `cgroup.clone_children`.
#[inline]
pub const fn c_int_nonzero(val: u64) -> bool {
    val as u32 != 0
}

// ---------------------------------------------------------------------------------------
// memparse and memory limits
// ---------------------------------------------------------------------------------------

/// The page size the memory controller counts in (x86_64 and the recorded transcripts).
pub const PAGE_SIZE: u64 = 4096;

/// `PAGE_COUNTER_MAX` (`include/linux/page_counter.h`, 64-bit): `LONG_MAX / PAGE_SIZE`
/// pages, the "unlimited" limit of a page counter.
pub const PAGE_COUNTER_MAX: u64 = (i64::MAX as u64) / PAGE_SIZE;

/// What a v1 memory file reads for an unlimited limit: `PAGE_COUNTER_MAX * PAGE_SIZE`
/// = 9223372036854771712 (`mem_cgroup_read_u64`: `(u64)counter->max * PAGE_SIZE`).
pub const UNLIMITED_MEMORY_BYTES: u64 = PAGE_COUNTER_MAX * PAGE_SIZE;

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

/// Linux's `memparse()` (`lib/cmdline.c`): a number (base auto-detected as in
/// [`kstrtoull`], no sign) optionally followed by one of `K M G T P E` (either case, powers
/// of 1024). Returns the value and the rest of the C string after the suffix.
///
/// Quirks kept from Linux: overflow and suffix shifts wrap silently (`16E` is 0); no digit
/// gives 0 (so `"K"` alone is 0 with nothing left); `"08"` parses the octal `0` and leaves
/// `"8"`; `"1e"` is 2^60 (the `e` is the exa suffix, not a hex digit).
pub fn memparse(s: &[u8]) -> (u64, &[u8]) {
    let (value, rest) = simple_strtoull(s, 0);
    let shift = match at(rest, 0) {
        b'E' | b'e' => 60,
        b'P' | b'p' => 50,
        b'T' | b't' => 40,
        b'G' | b'g' => 30,
        b'M' | b'm' => 20,
        b'K' | b'k' => 10,
        _ => return (value, rest),
    };
    (value.wrapping_shl(shift), tail(rest, 1))
}

/// Linux's `page_counter_memparse()` (`mm/page_counter.c`): `buf` equal to `max` means
/// [`PAGE_COUNTER_MAX`]; otherwise [`memparse`] must consume the whole C string and the byte
/// count is rounded **down** to pages and capped at [`PAGE_COUNTER_MAX`].
///
/// Returns a number of pages. `buf` is used as given (callers strip it first).
///
/// # Errors
///
/// `EINVAL` if anything follows the number and its suffix.
pub fn page_counter_memparse(buf: &[u8], max: &[u8]) -> Result<u64> {
    let buf = cstr(buf);
    if buf == cstr(max) {
        return Ok(PAGE_COUNTER_MAX);
    }
    let (bytes, end) = memparse(buf);
    if !end.is_empty() {
        return Err(Error::EINVAL);
    }
    Ok(core::cmp::min(bytes / PAGE_SIZE, PAGE_COUNTER_MAX))
}

/// A write to a v1 memory limit file (`memory.limit_in_bytes`, `memory.memsw.limit_in_bytes`,
/// `memory.soft_limit_in_bytes`): `mem_cgroup_write` (`mm/memcontrol-v1.c`) does
/// `page_counter_memparse(strstrip(buf), "-1")`.
///
/// Returns the limit in **pages**; [`PAGE_COUNTER_MAX`] is unlimited. `"-1"` (exactly, after
/// stripping) is unlimited; `"4097"` is one page; `"1G"` is 262144 pages; an empty write
/// (`echo > memory.limit_in_bytes`) is **0 pages**, as in Linux; `"-2"`, `"+1"`, `"1 k"`,
/// `"1kb"`, `"08"` are `EINVAL`. Read it back with [`memory_limit_bytes`].
///
/// # Errors
///
/// `EINVAL` for anything [`page_counter_memparse`] refuses.
pub fn parse_memory_limit(buf: &[u8]) -> Result<u64> {
    page_counter_memparse(strstrip(buf), b"-1")
}

/// What a v1 memory file prints for a limit of `pages` pages: `(u64)pages * PAGE_SIZE`
/// (`mem_cgroup_read_u64`); unlimited prints [`UNLIMITED_MEMORY_BYTES`].
#[inline]
pub const fn memory_limit_bytes(pages: u64) -> u64 {
    pages.wrapping_mul(PAGE_SIZE)
}

// ---------------------------------------------------------------------------------------
// pids.max
// ---------------------------------------------------------------------------------------

/// `PID_MAX_LIMIT` (`include/linux/threads.h`) on 64-bit kernels: 4 * 1024 * 1024.
pub const PID_MAX_LIMIT: u64 = 4 * 1024 * 1024;

/// `PIDS_MAX` (`kernel/cgroup/pids.c`): `PID_MAX_LIMIT + 1`, the internal "max".
pub const PIDS_MAX: u64 = PID_MAX_LIMIT + 1;

/// A write to `pids.max` as `pids_max_write` (`kernel/cgroup/pids.c`) parses it:
/// `strstrip`, then `"max"` → `None` (no limit), else `kstrtoll(buf, 0)` with
/// `0 <= limit < PIDS_MAX`.
///
/// So `"0"`..=`"4194304"` (also `"0x10"`, `"010"`, `"+5"`) are limits; `"Max"`, `" max x"`
/// are not.
///
/// # Errors
///
/// * `ERANGE` when `kstrtoll` overflows (`"99999999999999999999"`).
/// * `EINVAL` for malformed input, a negative value or a value `>= PIDS_MAX`.
pub fn parse_pids_max(buf: &[u8]) -> Result<Option<u64>> {
    let buf = strstrip(buf);
    if buf == b"max" {
        return Ok(None);
    }
    let limit = kstrtoll(buf, 0)?;
    match u64::try_from(limit) {
        Ok(limit) if limit < PIDS_MAX => Ok(Some(limit)),
        _ => Err(Error::EINVAL),
    }
}

/// What `pids.max` prints (`pids_max_show`): `max` for no limit (or any value
/// `>= PIDS_MAX`), else the number. Without the trailing newline.
pub fn pids_max_display(limit: Option<u64>) -> impl fmt::Display {
    PidsMaxDisplay(limit)
}

/// [`pids_max_display`]'s value.
struct PidsMaxDisplay(Option<u64>);

impl fmt::Display for PidsMaxDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) if n < PIDS_MAX => write!(f, "{n}"),
            _ => f.write_str("max"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Bitmaps: cpulist / nodelist
// ---------------------------------------------------------------------------------------

/// `NR_CPUS` of gpc: the capacity of a [`CpuMask`].
pub const NR_CPUS: usize = 256;

/// `MAX_NUMNODES` (`1 << CONFIG_NODES_SHIFT`, 1024 on common x86_64 kernels): the capacity of
/// a [`NodeMask`] and the width `nodelist_parse` checks against.
pub const MAX_NUMNODES: usize = 1024;

/// A fixed-capacity bitmap of `64 * WORDS` bits, like a kernel `cpumask` / `nodemask_t`.
///
/// `Display` prints the list format of `%*pbl` (`bitmap_list_string` in `lib/vsprintf.c`):
/// ranges `a-b` (two adjacent bits print as `0-1`), single bits, comma separated, and the
/// empty set as nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bitmap<const WORDS: usize> {
    words: [u64; WORDS],
}

/// A set of CPUs (capacity [`NR_CPUS`]).
pub type CpuMask = Bitmap<{ NR_CPUS / 64 }>;

/// A set of memory nodes (capacity [`MAX_NUMNODES`]).
pub type NodeMask = Bitmap<{ MAX_NUMNODES / 64 }>;

impl<const WORDS: usize> Default for Bitmap<WORDS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const WORDS: usize> Bitmap<WORDS> {
    /// The number of bits the bitmap can hold.
    pub const BITS: usize = WORDS * 64;

    /// The empty set.
    pub const fn new() -> Self {
        Self { words: [0; WORDS] }
    }

    /// Bits `0..nbits` set (`nbits` is capped at [`Self::BITS`]).
    pub fn full(nbits: usize) -> Self {
        let mut map = Self::new();
        map.set_range(0, nbits);
        map
    }

    /// A bitmap from its words (bit `i` is bit `i % 64` of word `i / 64`).
    pub const fn from_words(words: [u64; WORDS]) -> Self {
        Self { words }
    }

    /// The words (bit `i` is bit `i % 64` of word `i / 64`).
    pub const fn words(&self) -> &[u64; WORDS] {
        &self.words
    }

    /// Whether `bit` is set (false past the capacity).
    pub fn test(&self, bit: usize) -> bool {
        match self.words.get(bit / 64) {
            Some(w) => w & (1u64 << (bit % 64)) != 0,
            None => false,
        }
    }

    /// Set `bit`.
    ///
    /// # Errors
    ///
    /// `ERANGE` if `bit >= Self::BITS` (nothing is changed).
    pub fn set(&mut self, bit: usize) -> Result {
        match self.words.get_mut(bit / 64) {
            Some(w) => {
                *w |= 1u64 << (bit % 64);
                Ok(())
            }
            None => Err(Error::ERANGE),
        }
    }

    /// Clear `bit` (a no-op past the capacity, where no bit is ever set).
    pub fn clear(&mut self, bit: usize) {
        if let Some(w) = self.words.get_mut(bit / 64) {
            *w &= !(1u64 << (bit % 64));
        }
    }

    /// Set bits `start..start + len`, clipped to the capacity.
    fn set_range(&mut self, start: usize, len: usize) {
        let end = core::cmp::min(start.saturating_add(len), Self::BITS);
        let mut bit = start;
        while bit < end {
            let in_word = bit % 64;
            let n = core::cmp::min(64 - in_word, end - bit);
            let mask = if n == 64 {
                !0u64
            } else {
                ((1u64 << n) - 1) << in_word
            };
            if let Some(w) = self.words.get_mut(bit / 64) {
                *w |= mask;
            }
            bit += n;
        }
    }

    /// Whether no bit is set.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// The number of set bits.
    pub fn weight(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The first set bit at or after `from`.
    pub fn next_set(&self, from: usize) -> Option<usize> {
        let mut idx = from / 64;
        let mut word = self.words.get(idx)? & (!0u64 << (from % 64));
        loop {
            if word != 0 {
                return Some(idx * 64 + word.trailing_zeros() as usize);
            }
            idx += 1;
            word = *self.words.get(idx)?;
        }
    }

    /// The first clear bit at or after `from`, or [`Self::BITS`] if there is none.
    fn next_clear(&self, from: usize) -> usize {
        let mut idx = from / 64;
        let Some(&first) = self.words.get(idx) else {
            return Self::BITS;
        };
        let mut word = !first & (!0u64 << (from % 64));
        loop {
            if word != 0 {
                return idx * 64 + word.trailing_zeros() as usize;
            }
            idx += 1;
            match self.words.get(idx) {
                Some(&w) => word = !w,
                None => return Self::BITS,
            }
        }
    }

    /// The lowest set bit.
    pub fn first(&self) -> Option<usize> {
        self.next_set(0)
    }

    /// The set bits, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let mut next = self.next_set(0);
        core::iter::from_fn(move || {
            let bit = next?;
            next = self.next_set(bit + 1);
            Some(bit)
        })
    }

    /// `self & other`.
    pub fn and(&self, other: &Self) -> Self {
        let mut out = *self;
        for (a, b) in out.words.iter_mut().zip(other.words.iter()) {
            *a &= b;
        }
        out
    }

    /// `self | other`.
    pub fn or(&self, other: &Self) -> Self {
        let mut out = *self;
        for (a, b) in out.words.iter_mut().zip(other.words.iter()) {
            *a |= b;
        }
        out
    }

    /// `self & !other`.
    pub fn andnot(&self, other: &Self) -> Self {
        let mut out = *self;
        for (a, b) in out.words.iter_mut().zip(other.words.iter()) {
            *a &= !b;
        }
        out
    }

    /// Whether every bit of `self` is in `other` (`cpumask_subset`).
    pub fn is_subset_of(&self, other: &Self) -> bool {
        self.words
            .iter()
            .zip(other.words.iter())
            .all(|(a, b)| a & !b == 0)
    }

    /// Whether `self` and `other` share a bit (`cpumask_intersects`).
    pub fn intersects(&self, other: &Self) -> bool {
        self.words
            .iter()
            .zip(other.words.iter())
            .any(|(a, b)| a & b != 0)
    }
}

impl<const WORDS: usize> fmt::Display for Bitmap<WORDS> {
    /// `%*pbl` list format (`bitmap_list_string`, `lib/vsprintf.c`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut from = 0;
        while let Some(lo) = self.next_set(from) {
            let hi = self.next_clear(lo); // exclusive
            if !first {
                f.write_char(',')?;
            }
            first = false;
            write!(f, "{lo}")?;
            if hi > lo + 1 {
                write!(f, "-{}", hi - 1)?;
            }
            from = hi;
        }
        Ok(())
    }
}

impl<const WORDS: usize> fmt::Debug for Bitmap<WORDS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bitmap[{self}]")
    }
}

/// One region of `bitmap_parselist` (`lib/bitmap-str.c`), `start-end:off/group_len`.
#[derive(Clone, Copy, Debug, Default)]
struct Region {
    start: u32,
    off: u32,
    group_len: u32,
    end: u32,
    nbits: u32,
}

/// `end_of_str` (`lib/bitmap-str.c`).
#[inline]
fn end_of_str(c: u8) -> bool {
    c == 0 || c == b'\n'
}

/// `__end_of_region` (`lib/bitmap-str.c`).
#[inline]
fn end_of_region_sep(c: u8) -> bool {
    is_space(c) || c == b','
}

/// `end_of_region` (`lib/bitmap-str.c`).
#[inline]
fn end_of_region(c: u8) -> bool {
    end_of_region_sep(c) || end_of_str(c)
}

/// `bitmap_getnum` (`lib/bitmap-str.c`): `N` (the last bit) or a decimal `u32`.
fn bitmap_getnum(s: &[u8], i: &mut usize, lastbit: u32) -> Result<u32> {
    if at(s, *i) == b'N' {
        *i += 1;
        return Ok(lastbit);
    }
    let parsed = parse_integer(tail(s, *i), 10);
    if parsed.len == 0 {
        return Err(Error::EINVAL);
    }
    let value = match u32::try_from(parsed.value) {
        Ok(v) if !parsed.overflow => v,
        _ => return Err(Error::EOVERFLOW),
    };
    *i += parsed.len;
    Ok(value)
}

/// `bitmap_parse_region` (`lib/bitmap-str.c`). Returns the region and whether the string
/// ended there (Linux returns `NULL`, which ends the loop after this region is applied).
fn bitmap_parse_region(s: &[u8], i: &mut usize, nbits: u32) -> Result<(Region, bool)> {
    let lastbit = nbits.wrapping_sub(1);
    let mut r = Region {
        nbits,
        ..Region::default()
    };
    let is_all = s
        .get(*i..i.saturating_add(3))
        .is_some_and(|w| w.eq_ignore_ascii_case(b"all"));
    if is_all {
        r.start = 0;
        r.end = lastbit;
        *i += 3;
    } else {
        r.start = bitmap_getnum(s, i, lastbit)?;
        if end_of_region(at(s, *i)) {
            // no_end:
            r.end = r.start;
            r.off = r.end.wrapping_add(1);
            r.group_len = r.off;
            return Ok((r, end_of_str(at(s, *i))));
        }
        if at(s, *i) != b'-' {
            return Err(Error::EINVAL);
        }
        *i += 1;
        r.end = bitmap_getnum(s, i, lastbit)?;
    }
    // check_pattern:
    if end_of_region(at(s, *i)) {
        // no_pattern:
        r.off = r.end.wrapping_add(1);
        r.group_len = r.off;
        return Ok((r, end_of_str(at(s, *i))));
    }
    if at(s, *i) != b':' {
        return Err(Error::EINVAL);
    }
    *i += 1;
    r.off = bitmap_getnum(s, i, lastbit)?;
    if at(s, *i) != b'/' {
        return Err(Error::EINVAL);
    }
    *i += 1;
    r.group_len = bitmap_getnum(s, i, lastbit)?;
    Ok((r, false))
}

/// `bitmap_check_region` (`lib/bitmap-str.c`).
fn bitmap_check_region(r: &Region) -> Result {
    if r.start > r.end || r.group_len == 0 || r.off > r.group_len {
        return Err(Error::EINVAL);
    }
    if r.end >= r.nbits {
        return Err(Error::ERANGE);
    }
    Ok(())
}

/// `bitmap_set_region` (`lib/bitmap-str.c`).
fn bitmap_set_region<const WORDS: usize>(r: &Region, map: &mut Bitmap<WORDS>) {
    let end = r.end as usize;
    let step = core::cmp::max(r.group_len as usize, 1);
    let mut start = r.start as usize;
    while start <= end {
        map.set_range(start, core::cmp::min(end - start + 1, r.off as usize));
        start = start.saturating_add(step);
        if start == usize::MAX {
            break;
        }
    }
}

/// Linux's `bitmap_parselist()` (`lib/bitmap-str.c`) into a bitmap of `nbits` bits.
///
/// The list format: regions separated by commas and/or white space (any number, also
/// leading and trailing); a region is `N`, `A-B`, `A-B:USED/GROUP` (from each group of GROUP
/// bits in `A..=B` set the first USED), or `all` (any case, = `0-N`), where `N` is the last
/// bit `nbits - 1`. The empty string (or only separators) is the empty set. A region ending
/// at a `'\n'` ends the list: what follows it is ignored (`"0\nx"` is `{0}`).
///
/// `nbits` larger than `Bitmap::<WORDS>::BITS` is treated as `BITS` (a precondition:
/// choose a bitmap wide enough for the width Linux checks against).
///
/// # Errors
///
/// * `EINVAL`: bad syntax, `A > B`, `GROUP == 0`, `USED > GROUP`.
/// * `ERANGE`: a bit `>= nbits`.
/// * `EOVERFLOW`: a number that does not fit in `u32`.
///
/// Regions are checked in order, so the first bad region decides the error.
pub fn parse_bitmap_list<const WORDS: usize>(buf: &[u8], nbits: usize) -> Result<Bitmap<WORDS>> {
    let s = cstr(buf);
    let nbits = core::cmp::min(nbits, Bitmap::<WORDS>::BITS);
    let nbits = u32::try_from(nbits).unwrap_or(u32::MAX);
    let mut map = Bitmap::<WORDS>::new();
    let mut i = 0usize;
    loop {
        // bitmap_find_region
        while end_of_region_sep(at(s, i)) {
            i += 1;
        }
        if end_of_str(at(s, i)) {
            return Ok(map);
        }
        let (region, done) = bitmap_parse_region(s, &mut i, nbits)?;
        bitmap_check_region(&region)?;
        bitmap_set_region(&region, &mut map);
        if done {
            return Ok(map);
        }
    }
}

/// Linux's `cpulist_parse()` (`include/linux/cpumask.h`): [`parse_bitmap_list`] with
/// `nbits = nr_cpumask_bits` (= `nr_cpu_ids`, the number of possible CPUs).
///
/// # Errors
///
/// As [`parse_bitmap_list`].
pub fn cpulist_parse(buf: &[u8], nr_cpu_ids: usize) -> Result<CpuMask> {
    parse_bitmap_list(buf, nr_cpu_ids)
}

/// Linux's `nodelist_parse()` (`include/linux/nodemask.h`): [`parse_bitmap_list`] with
/// `nbits = MAX_NUMNODES` (not the number of online nodes: a node that does not exist but is
/// below [`MAX_NUMNODES`] parses, and cpuset then refuses it with `EINVAL`).
///
/// # Errors
///
/// As [`parse_bitmap_list`].
pub fn nodelist_parse(buf: &[u8]) -> Result<NodeMask> {
    parse_bitmap_list(buf, MAX_NUMNODES)
}

/// A write to `cpuset.cpus`: `cpuset_write_resmask` (`kernel/cgroup/cpuset.c`) strips the
/// buffer, then `update_cpumask` takes `""` as the empty set and otherwise calls
/// [`cpulist_parse`]. The caller then checks the subset of the parent/top cpuset (`EINVAL`).
///
/// # Errors
///
/// As [`parse_bitmap_list`] (`ERANGE` for a CPU `>= nr_cpu_ids`).
pub fn parse_cpuset_cpus(buf: &[u8], nr_cpu_ids: usize) -> Result<CpuMask> {
    let buf = strstrip(buf);
    if buf.is_empty() {
        return Ok(CpuMask::new());
    }
    cpulist_parse(buf, nr_cpu_ids)
}

/// A write to `cpuset.mems`: `strstrip`, `""` is the empty set, else [`nodelist_parse`]
/// (`update_nodemask`, `kernel/cgroup/cpuset.c`).
///
/// # Errors
///
/// As [`parse_bitmap_list`] (`ERANGE` only for a node `>= MAX_NUMNODES`).
pub fn parse_cpuset_mems(buf: &[u8]) -> Result<NodeMask> {
    let buf = strstrip(buf);
    if buf.is_empty() {
        return Ok(NodeMask::new());
    }
    nodelist_parse(buf)
}

// ---------------------------------------------------------------------------------------
// Device cgroup rules
// ---------------------------------------------------------------------------------------

/// The device type of a device cgroup rule (`DEVCG_DEV_*` in `security/device_cgroup.c`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum DevType {
    /// `a`: all devices (`DEVCG_DEV_ALL`, 4).
    All,
    /// `b`: block devices (`DEVCG_DEV_BLOCK`, 1).
    Block,
    /// `c`: character devices (`DEVCG_DEV_CHAR`, 2).
    Char,
}

impl DevType {
    /// The letter `devices.list` prints (`type_to_char`).
    pub const fn as_char(self) -> char {
        match self {
            DevType::All => 'a',
            DevType::Block => 'b',
            DevType::Char => 'c',
        }
    }

    /// Linux's `DEVCG_DEV_*` value.
    pub const fn bits(self) -> u8 {
        match self {
            DevType::Block => 1,
            DevType::Char => 2,
            DevType::All => 4,
        }
    }
}

/// Access bits of a device rule, with Linux's values (`DEVCG_ACC_*`): `m` = 1, `r` = 2,
/// `w` = 4. `Display` prints them in Linux's order `r`, `w`, `m` (`set_access`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DevAccess(u8);

impl DevAccess {
    /// No access.
    pub const EMPTY: DevAccess = DevAccess(0);
    /// `m`: mknod (`DEVCG_ACC_MKNOD`).
    pub const MKNOD: DevAccess = DevAccess(1);
    /// `r`: read (`DEVCG_ACC_READ`).
    pub const READ: DevAccess = DevAccess(2);
    /// `w`: write (`DEVCG_ACC_WRITE`).
    pub const WRITE: DevAccess = DevAccess(4);
    /// `rwm` (`DEVCG_ACC_MASK`).
    pub const ALL: DevAccess = DevAccess(7);

    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// From raw bits, dropping unknown ones.
    pub const fn from_bits_truncate(bits: u8) -> Self {
        DevAccess(bits & 7)
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: DevAccess) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self | other`.
    pub const fn union(self, other: DevAccess) -> Self {
        DevAccess(self.0 | other.0)
    }

    /// `self & other`.
    pub const fn intersection(self, other: DevAccess) -> Self {
        DevAccess(self.0 & other.0)
    }

    /// `self & !other`.
    pub const fn difference(self, other: DevAccess) -> Self {
        DevAccess(self.0 & !other.0)
    }
}

impl core::ops::BitOr for DevAccess {
    type Output = DevAccess;
    fn bitor(self, rhs: DevAccess) -> DevAccess {
        self.union(rhs)
    }
}

impl core::ops::BitOrAssign for DevAccess {
    fn bitor_assign(&mut self, rhs: DevAccess) {
        *self = self.union(rhs);
    }
}

impl core::ops::BitAnd for DevAccess {
    type Output = DevAccess;
    fn bitand(self, rhs: DevAccess) -> DevAccess {
        self.intersection(rhs)
    }
}

impl fmt::Display for DevAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.contains(DevAccess::READ) {
            f.write_char('r')?;
        }
        if self.contains(DevAccess::WRITE) {
            f.write_char('w')?;
        }
        if self.contains(DevAccess::MKNOD) {
            f.write_char('m')?;
        }
        Ok(())
    }
}

impl fmt::Debug for DevAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DevAccess({self})")
    }
}

/// One device cgroup rule as written to `devices.allow` / `devices.deny` and printed by
/// `devices.list` (`struct dev_exception_item` in `security/device_cgroup.c`).
///
/// `None` for a number is the wildcard `*` (Linux stores `~0`; a written `4294967295` is the
/// same value and therefore also `None`, and prints as `*`). `Display` prints
/// `devcgroup_seq_show`'s `"%c %s:%s %s"` without the newline: `a *:* rwm`, `c 1:3 r`,
/// `b 8:* m` (an empty access prints as a trailing blank: `c 1:3 `).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct DevRule {
    /// `a`, `b` or `c`.
    pub kind: DevType,
    /// Major number; `None` is `*`.
    pub major: Option<u32>,
    /// Minor number; `None` is `*`.
    pub minor: Option<u32>,
    /// Access bits.
    pub access: DevAccess,
}

impl DevRule {
    /// The rule `a *:* rwm`, what a write starting with `a` means (it switches the group's
    /// default behaviour instead of adding an exception) and what `devices.list` prints for
    /// a group whose default is allow.
    pub const ALL: DevRule = DevRule {
        kind: DevType::All,
        major: None,
        minor: None,
        access: DevAccess::ALL,
    };
}

/// Formats a device number field: `*` for `None`.
struct MajMin(Option<u32>);

impl fmt::Display for MajMin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_char('*'),
        }
    }
}

impl fmt::Display for DevRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}:{} {}",
            self.kind.as_char(),
            MajMin(self.major),
            MajMin(self.minor),
            self.access
        )
    }
}

/// Parse a major or minor field of a device rule (`devcgroup_update_access`): `*`, or up to
/// 11 decimal digits copied into `temp[12]` and read with `kstrtou32(temp, 10)`.
fn parse_dev_number(b: &[u8], i: &mut usize) -> Result<Option<u32>> {
    let c = at(b, *i);
    if c == b'*' {
        *i += 1;
        return Ok(None);
    }
    if !c.is_ascii_digit() {
        return Err(Error::EINVAL);
    }
    let start = *i;
    let mut count = 0usize;
    loop {
        // temp[count] = *b; b++; if (!isdigit(*b)) break;   (count < sizeof(temp) - 1)
        *i += 1;
        count += 1;
        if count == 11 || !at(b, *i).is_ascii_digit() {
            break;
        }
    }
    let digits = b.get(start..*i).unwrap_or(&[]);
    match kstrtouint(digits, 10) {
        Ok(u32::MAX) => Ok(None),
        Ok(n) => Ok(Some(n)),
        Err(_) => Err(Error::EINVAL),
    }
}

/// A write to `devices.allow` / `devices.deny`, parsed exactly as `devcgroup_access_write`
/// → `devcgroup_update_access(strstrip(buf))` (`security/device_cgroup.c`) parses it.
///
/// * The stripped buffer starting with `a` is [`DevRule::ALL`]; **everything after the `a` is
///   ignored** (`"a"`, `"a *:* rwm"`, `"abc"` are all the same).
/// * Otherwise: `b` or `c`, exactly one [`is_space`] byte, major (`*` or up to 11 digits,
///   `<= u32::MAX`), `:`, minor (same), one [`is_space`] byte, then up to three of `r`, `w`,
///   `m` in any order (duplicates allowed) ended by the end of the string or a `'\n'`; bytes
///   after the third access letter are ignored (`"c 1:3 rwmx"` is `rwm`).
/// * Because the buffer is stripped first, `"c 1:3"` and `"c 1:3 "` have no access field and
///   are `EINVAL`; the access set can only be empty in odd writes such as `"c 1:3 \nr"`.
///
/// # Errors
///
/// `EINVAL` for every malformed rule: empty, unknown type letter, missing or doubled blank,
/// a number with more than 11 digits or above `u32::MAX`, missing `:`, unknown access letter.
pub fn parse_dev_rule(buf: &[u8]) -> Result<DevRule> {
    let b = strstrip(buf);
    let kind = match at(b, 0) {
        b'a' => return Ok(DevRule::ALL),
        b'b' => DevType::Block,
        b'c' => DevType::Char,
        _ => return Err(Error::EINVAL),
    };
    let mut i = 1usize;
    if !is_space(at(b, i)) {
        return Err(Error::EINVAL);
    }
    i += 1;
    let major = parse_dev_number(b, &mut i)?;
    if at(b, i) != b':' {
        return Err(Error::EINVAL);
    }
    i += 1;
    let minor = parse_dev_number(b, &mut i)?;
    if !is_space(at(b, i)) {
        return Err(Error::EINVAL);
    }
    i += 1;
    let mut access = DevAccess::EMPTY;
    for _ in 0..3 {
        match at(b, i) {
            b'r' => access |= DevAccess::READ,
            b'w' => access |= DevAccess::WRITE,
            b'm' => access |= DevAccess::MKNOD,
            b'\n' | 0 => break,
            _ => return Err(Error::EINVAL),
        }
        i += 1;
    }
    Ok(DevRule {
        kind,
        major,
        minor,
        access,
    })
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use alloc::string::ToString;
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
    fn cpuset_flag_truncation() {
        assert!(c_int_nonzero(1));
        assert!(!c_int_nonzero(0));
        assert!(!c_int_nonzero(1 << 32));
        assert!(c_int_nonzero((1 << 32) | 2));
        assert!(c_int_nonzero(u64::MAX));
    }

    // --- memparse / memory limits -------------------------------------------------------

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

    #[test]
    fn memparse_suffixes() {
        assert_eq!(memparse(b"4096"), (4096, &b""[..]));
        assert_eq!(memparse(b"1k"), (1 << 10, &b""[..]));
        assert_eq!(memparse(b"1K"), (1 << 10, &b""[..]));
        assert_eq!(memparse(b"2m"), (2 << 20, &b""[..]));
        assert_eq!(memparse(b"3G"), (3 << 30, &b""[..]));
        assert_eq!(memparse(b"1t"), (1 << 40, &b""[..]));
        assert_eq!(memparse(b"1P"), (1 << 50, &b""[..]));
        assert_eq!(memparse(b"1E"), (1 << 60, &b""[..]));
        assert_eq!(memparse(b"1e"), (1 << 60, &b""[..]));
        assert_eq!(memparse(b"0x10K"), (16 << 10, &b""[..]));
        assert_eq!(memparse(b"010M"), (8 << 20, &b""[..]));
        assert_eq!(memparse(b"1kb"), (1 << 10, &b"b"[..]));
        assert_eq!(memparse(b"16E"), (0, &b""[..]));
        assert_eq!(memparse(b"K"), (0, &b""[..]));
        assert_eq!(memparse(b"08"), (0, &b"8"[..]));
        assert_eq!(memparse(b"1 k"), (1, &b" k"[..]));
        assert_eq!(memparse(b"1k\0junk"), (1 << 10, &b""[..]));
    }

    #[test]
    fn memory_limit_parsing() {
        assert_eq!(parse_memory_limit(b"-1\n"), Ok(PAGE_COUNTER_MAX));
        assert_eq!(parse_memory_limit(b"  -1  \n"), Ok(PAGE_COUNTER_MAX));
        assert_eq!(parse_memory_limit(b"4096\n"), Ok(1));
        assert_eq!(parse_memory_limit(b"4097\n"), Ok(1));
        assert_eq!(parse_memory_limit(b"4095\n"), Ok(0));
        assert_eq!(parse_memory_limit(b"1M\n"), Ok(256));
        assert_eq!(parse_memory_limit(b"1g\n"), Ok(262144));
        assert_eq!(parse_memory_limit(b"0x1000\n"), Ok(1));
        // Empty write and a bare suffix are 0 in Linux.
        assert_eq!(parse_memory_limit(b"\n"), Ok(0));
        assert_eq!(parse_memory_limit(b"k\n"), Ok(0));
        // Huge values are capped at PAGE_COUNTER_MAX.
        assert_eq!(
            parse_memory_limit(b"9223372036854775807"),
            Ok(PAGE_COUNTER_MAX)
        );
        assert_eq!(
            parse_memory_limit(b"18446744073709551615"),
            Ok(PAGE_COUNTER_MAX)
        );
        assert_eq!(parse_memory_limit(b"7E"), Ok((7u64 << 60) / PAGE_SIZE));
        assert_eq!(parse_memory_limit(b"8E"), Ok(PAGE_COUNTER_MAX));
        // Overflow wraps before the cap, as in Linux (99999999999999999999 mod 2^64).
        assert_eq!(
            parse_memory_limit(b"99999999999999999999"),
            Ok(7766279631452241919 / PAGE_SIZE)
        );
        for bad in [
            &b"-2"[..],
            b"-1 1",
            b"+1",
            b"1 k",
            b"1kb",
            b"08",
            b"abc",
            b"1.5G",
            b"max",
            b"0x",
            b"--1",
        ] {
            assert_eq!(parse_memory_limit(bad), Err(EINVAL), "{:?}", bad);
        }
        let mut digits = big(b'9', 1 << 20);
        digits.push(b'x');
        assert_eq!(parse_memory_limit(&digits), Err(EINVAL));
    }

    #[test]
    fn memory_limit_reads_back() {
        assert_eq!(UNLIMITED_MEMORY_BYTES, 9223372036854771712);
        assert_eq!(memory_limit_bytes(PAGE_COUNTER_MAX), 9223372036854771712);
        assert_eq!(memory_limit_bytes(1), 4096);
        assert_eq!(page_counter_memparse(b"max", b"max"), Ok(PAGE_COUNTER_MAX));
        assert_eq!(page_counter_memparse(b"-1", b"max"), Err(EINVAL));
    }

    // --- pids.max -----------------------------------------------------------------------

    #[test]
    fn pids_max_cases() {
        assert_eq!(parse_pids_max(b"max\n"), Ok(None));
        assert_eq!(parse_pids_max(b"  max \n"), Ok(None));
        assert_eq!(parse_pids_max(b"1\n"), Ok(Some(1)));
        assert_eq!(parse_pids_max(b"2\n"), Ok(Some(2)));
        assert_eq!(parse_pids_max(b"0\n"), Ok(Some(0)));
        assert_eq!(parse_pids_max(b"0x10\n"), Ok(Some(16)));
        assert_eq!(parse_pids_max(b"+5\n"), Ok(Some(5)));
        assert_eq!(parse_pids_max(b" 7 \n"), Ok(Some(7)));
        assert_eq!(parse_pids_max(b"4194304\n"), Ok(Some(4194304)));
        assert_eq!(parse_pids_max(b"4194305\n"), Err(EINVAL));
        assert_eq!(parse_pids_max(b"-1\n"), Err(EINVAL));
        assert_eq!(parse_pids_max(b"Max\n"), Err(EINVAL));
        assert_eq!(parse_pids_max(b"max x\n"), Err(EINVAL));
        assert_eq!(parse_pids_max(b"\n"), Err(EINVAL));
        assert_eq!(parse_pids_max(b"9223372036854775807\n"), Err(EINVAL));
        assert_eq!(parse_pids_max(b"99999999999999999999\n"), Err(ERANGE));
        assert_eq!(parse_pids_max(&big(b'9', 1 << 20)), Err(ERANGE));
    }

    #[test]
    fn pids_max_prints() {
        assert_eq!(pids_max_display(None).to_string(), "max");
        assert_eq!(pids_max_display(Some(2)).to_string(), "2");
        assert_eq!(pids_max_display(Some(0)).to_string(), "0");
        assert_eq!(pids_max_display(Some(PIDS_MAX)).to_string(), "max");
    }

    // --- bitmaps ------------------------------------------------------------------------

    fn list(s: &[u8], nbits: usize) -> Result<alloc::string::String> {
        parse_bitmap_list::<4>(s, nbits).map(|m| m.to_string())
    }

    #[test]
    fn bitmap_list_normal() {
        assert_eq!(list(b"", 8).as_deref(), Ok(""));
        assert_eq!(list(b"\n", 8).as_deref(), Ok(""));
        assert_eq!(list(b" , ,\n", 8).as_deref(), Ok(""));
        assert_eq!(list(b"0", 8).as_deref(), Ok("0"));
        assert_eq!(list(b"0-3", 8).as_deref(), Ok("0-3"));
        assert_eq!(list(b"0-3,5", 8).as_deref(), Ok("0-3,5"));
        assert_eq!(list(b"5,0-3", 8).as_deref(), Ok("0-3,5"));
        assert_eq!(list(b"0,1", 8).as_deref(), Ok("0-1"));
        assert_eq!(list(b"3,3,3", 8).as_deref(), Ok("3"));
        assert_eq!(list(b"1 2\t3", 8).as_deref(), Ok("1-3"));
        assert_eq!(list(b",,0,,2,", 8).as_deref(), Ok("0,2"));
        assert_eq!(list(b"  0-1  \n", 8).as_deref(), Ok("0-1"));
        assert_eq!(list(b"0-7:2/4", 8).as_deref(), Ok("0-1,4-5"));
        assert_eq!(list(b"0-7:0/4", 8).as_deref(), Ok(""));
        assert_eq!(list(b"0-7:4/4", 8).as_deref(), Ok("0-7"));
        assert_eq!(list(b"all", 8).as_deref(), Ok("0-7"));
        assert_eq!(list(b"ALL", 8).as_deref(), Ok("0-7"));
        assert_eq!(list(b"all:1/2", 8).as_deref(), Ok("0,2,4,6"));
        assert_eq!(list(b"N", 8).as_deref(), Ok("7"));
        assert_eq!(list(b"2-N", 8).as_deref(), Ok("2-7"));
        assert_eq!(list(b"007", 8).as_deref(), Ok("7"));
        assert_eq!(list(b"0-255", 256).as_deref(), Ok("0-255"));
        assert_eq!(list(b"63-64", 256).as_deref(), Ok("63-64"));
        assert_eq!(list(b"0-1023:2/256", 256).err(), Some(ERANGE));
    }

    #[test]
    fn bitmap_list_quirks() {
        // A region that ends at '\n' ends the list; what follows is ignored.
        assert_eq!(list(b"0\n1", 8).as_deref(), Ok("0"));
        assert_eq!(list(b"0\nxyz", 8).as_deref(), Ok("0"));
        // ... but a separator before the newline lets parsing go on.
        assert_eq!(list(b"0,\n1", 8).as_deref(), Ok("0-1"));
        assert_eq!(list(b"0 \nx", 8), Err(EINVAL));
        // After a pattern the next region starts right away.
        assert_eq!(list(b"0-7:2/4N", 8).as_deref(), Ok("0-1,4-5,7"));
        // The first error decides, in order.
        assert_eq!(list(b"9,x", 8), Err(ERANGE));
        assert_eq!(list(b"x,9", 8), Err(EINVAL));
        // u32::MAX wraps `end + 1` to 0: EINVAL, not ERANGE, as in Linux.
        assert_eq!(list(b"4294967295", 8), Err(EINVAL));
        assert_eq!(list(b"4294967294", 8), Err(ERANGE));
        // nbits == 0: "N" is u32::MAX.
        assert_eq!(list(b"N", 0), Err(EINVAL));
        assert_eq!(list(b"0", 0), Err(ERANGE));
        assert_eq!(list(b"", 0).as_deref(), Ok(""));
    }

    #[test]
    fn bitmap_list_errors() {
        for bad in [
            &b"x"[..],
            b"-1",
            b"1-",
            b"1-\n",
            b"3-1",
            b"1--2",
            b"1:2",
            b"0-7:",
            b"0-7:2",
            b"0-7:2/",
            b"0-7:3/2",
            b"0-7:1/0",
            b"al",
            b"allx",
            b"1N",
            b"NN",
            b"0x1",
            b"+1",
            b"1;2",
        ] {
            assert_eq!(list(bad, 8), Err(EINVAL), "{:?}", bad);
        }
        assert_eq!(list(b"8", 8), Err(ERANGE));
        assert_eq!(list(b"0-8", 8), Err(ERANGE));
        assert_eq!(list(b"4294967296", 8), Err(Error::EOVERFLOW));
        assert_eq!(list(b"99999999999999999999", 8), Err(Error::EOVERFLOW));
        assert_eq!(list(&big(b'9', 1 << 20), 8), Err(Error::EOVERFLOW));
        // Capacity caps nbits.
        assert_eq!(list(b"256", 100_000), Err(ERANGE));
    }

    #[test]
    fn bitmap_list_hostile_long_inputs() {
        let commas = big(b',', 1 << 20);
        assert_eq!(list(&commas, 8).as_deref(), Ok(""));
        let mut many = Vec::new();
        for _ in 0..(1 << 17) {
            many.extend_from_slice(b"0-255,");
        }
        assert_eq!(list(&many, 256).as_deref(), Ok("0-255"));
    }

    #[test]
    fn cpuset_transcript() {
        // cpuset_enospc.out: "", "0" and "1" are accepted by the parser (2 CPUs, 1 node).
        assert_eq!(
            parse_cpuset_cpus(b"1\n", 2)
                .map(|m| m.to_string())
                .as_deref(),
            Ok("1")
        );
        assert_eq!(
            parse_cpuset_cpus(b"0\n", 2)
                .map(|m| m.to_string())
                .as_deref(),
            Ok("0")
        );
        assert_eq!(parse_cpuset_cpus(b"\n", 2), Ok(CpuMask::new()));
        assert_eq!(parse_cpuset_cpus(b"  \n", 2), Ok(CpuMask::new()));
        assert_eq!(
            parse_cpuset_mems(b"0\n").map(|m| m.to_string()).as_deref(),
            Ok("0")
        );
        assert_eq!(parse_cpuset_mems(b"\n"), Ok(NodeMask::new()));
        assert_eq!(parse_cpuset_cpus(b"2\n", 2), Err(ERANGE));
        assert_eq!(parse_cpuset_cpus(b"0-1\n", 2).map(|m| m.weight()), Ok(2));
        // Nodes are checked against MAX_NUMNODES, not the machine.
        assert_eq!(
            parse_cpuset_mems(b"5\n").map(|m| m.to_string()).as_deref(),
            Ok("5")
        );
        assert_eq!(parse_cpuset_mems(b"1023\n").map(|m| m.weight()), Ok(1));
        assert_eq!(parse_cpuset_mems(b"1024\n"), Err(ERANGE));
        // Empty prints as nothing, so the file reads "\n".
        assert_eq!(CpuMask::new().to_string(), "");
    }

    #[test]
    fn bitmap_ops() {
        let mut m = CpuMask::new();
        assert!(m.is_empty());
        assert_eq!(m.first(), None);
        assert_eq!(m.set(3), Ok(()));
        assert_eq!(m.set(200), Ok(()));
        assert_eq!(m.set(256), Err(ERANGE));
        assert!(m.test(3) && m.test(200) && !m.test(4) && !m.test(9999));
        assert_eq!(m.weight(), 2);
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![3, 200]);
        assert_eq!(m.first(), Some(3));
        assert_eq!(m.next_set(4), Some(200));
        assert_eq!(m.next_set(201), None);
        assert_eq!(m.next_set(100_000), None);
        m.clear(3);
        m.clear(100_000);
        assert_eq!(m.to_string(), "200");
        let full = CpuMask::full(4);
        assert_eq!(full.to_string(), "0-3");
        assert_eq!(CpuMask::full(10_000).to_string(), "0-255");
        assert_eq!(CpuMask::full(0).to_string(), "");
        let two = CpuMask::from_words([0b110, 0, 0, 0]);
        assert!(two.is_subset_of(&full));
        assert!(!full.is_subset_of(&two));
        assert!(two.intersects(&full));
        assert_eq!(full.and(&two), two);
        assert_eq!(full.andnot(&two).to_string(), "0,3");
        assert_eq!(
            two.or(&CpuMask::from_words([0, 1, 0, 0])).to_string(),
            "1-2,64"
        );
        assert_eq!(two.words()[0], 0b110);
        assert_eq!(alloc::format!("{:?}", two), "Bitmap[1-2]");
    }

    // --- device rules -------------------------------------------------------------------

    fn rule(s: &[u8]) -> Result<alloc::string::String> {
        parse_dev_rule(s).map(|r| r.to_string())
    }

    #[test]
    fn devices_transcript() {
        // devices_basic.out
        assert_eq!(parse_dev_rule(b"a\n"), Ok(DevRule::ALL));
        assert_eq!(DevRule::ALL.to_string(), "a *:* rwm");
        assert_eq!(rule(b"c 1:3 r\n").as_deref(), Ok("c 1:3 r"));
        assert_eq!(rule(b"c 1:5 rw\n").as_deref(), Ok("c 1:5 rw"));
        assert_eq!(rule(b"b 8:* m\n").as_deref(), Ok("b 8:* m"));
        assert_eq!(rule(b"c *:* w\n").as_deref(), Ok("c *:* w"));
        assert_eq!(rule(b"c 1:3 w\n").as_deref(), Ok("c 1:3 w"));
    }

    #[test]
    fn dev_rule_fields() {
        assert_eq!(
            parse_dev_rule(b"b 8:* m"),
            Ok(DevRule {
                kind: DevType::Block,
                major: Some(8),
                minor: None,
                access: DevAccess::MKNOD,
            })
        );
        assert_eq!(rule(b"c 1:3 mwr").as_deref(), Ok("c 1:3 rwm"));
        assert_eq!(rule(b"c 1:3 rrr").as_deref(), Ok("c 1:3 r"));
        assert_eq!(rule(b"c 1:3 rwmx").as_deref(), Ok("c 1:3 rwm"));
        assert_eq!(rule(b"c 1:3 rrrw").as_deref(), Ok("c 1:3 r"));
        assert_eq!(rule(b"  c 1:3 r  \n").as_deref(), Ok("c 1:3 r"));
        assert_eq!(rule(b"c\t1:3\tr").as_deref(), Ok("c 1:3 r"));
        assert_eq!(rule(b"c\xa01:3\xa0r").as_deref(), Ok("c 1:3 r"));
        assert_eq!(rule(b"c 1:3\nr").as_deref(), Ok("c 1:3 r"));
        assert_eq!(rule(b"c 1:3 \nr").as_deref(), Ok("c 1:3 "));
        assert_eq!(rule(b"c 01:003 r").as_deref(), Ok("c 1:3 r"));
        assert_eq!(rule(b"c 00000000001:3 r").as_deref(), Ok("c 1:3 r"));
        assert_eq!(rule(b"c 4294967294:0 r").as_deref(), Ok("c 4294967294:0 r"));
        // ~0 is the wildcard in Linux.
        assert_eq!(rule(b"c 4294967295:1 r").as_deref(), Ok("c *:1 r"));
        assert_eq!(rule(b"c 1:3 r\0garbage").as_deref(), Ok("c 1:3 r"));
        // Anything after 'a' is ignored.
        for a in [&b"a"[..], b"a *:* rwm", b"abc", b" a\n", b"a 1:2 xyz"] {
            assert_eq!(parse_dev_rule(a), Ok(DevRule::ALL), "{:?}", a);
        }
    }

    #[test]
    fn dev_rule_errors() {
        for bad in [
            &b""[..],
            b"\n",
            b"x 1:3 r",
            b"C 1:3 r",
            b"c",
            b"c ",
            b"c1:3 r",
            b"c  1:3 r",
            b"c 1:3",
            b"c 1:3 ",
            b"c 1:3  r",
            b"c 1 3 r",
            b"c 1:3:4 r",
            b"c :3 r",
            b"c 1: r",
            b"c -1:3 r",
            b"c +1:3 r",
            b"c 0x1:3 r",
            b"c 1:3 x",
            b"c 1:3 R",
            b"c 1:3 r w",
            b"c 4294967296:3 r",
            b"c 99999999999:3 r",
            b"c 000000000001:3 r",
            b"c **:3 r",
            b"\0c 1:3 r",
        ] {
            assert_eq!(parse_dev_rule(bad), Err(EINVAL), "{:?}", bad);
        }
        let mut long = b"c ".to_vec();
        long.extend_from_slice(&big(b'1', 1 << 20));
        long.extend_from_slice(b":1 r");
        assert_eq!(parse_dev_rule(&long), Err(EINVAL));
    }

    #[test]
    fn dev_access_ops() {
        let rw = DevAccess::READ | DevAccess::WRITE;
        assert_eq!(rw.bits(), 6);
        assert!(rw.contains(DevAccess::READ));
        assert!(!rw.contains(DevAccess::MKNOD));
        assert_eq!(rw.difference(DevAccess::READ), DevAccess::WRITE);
        assert_eq!(rw & DevAccess::WRITE, DevAccess::WRITE);
        assert_eq!(DevAccess::from_bits_truncate(0xff), DevAccess::ALL);
        assert!(DevAccess::EMPTY.is_empty());
        assert_eq!(DevAccess::EMPTY.to_string(), "");
        assert_eq!(alloc::format!("{:?}", rw), "DevAccess(rw)");
        assert_eq!(DevType::Char.bits(), 2);
        assert_eq!(DevType::Block.as_char(), 'b');
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
            let _ = parse_memory_limit(&bytes);
            let _ = parse_pids_max(&bytes);
            let _ = parse_bitmap_list::<4>(&bytes, 256);
            let _ = parse_bitmap_list::<1>(&bytes, 0);
            let _ = parse_dev_rule(&bytes);
            let _ = parse_procs_pid(&bytes);
        }

        #[test]
        fn bitmap_format_parse_roundtrip(words: [u64; 4]) {
            let map = CpuMask::from_words(words);
            let text = map.to_string();
            proptest::prop_assert_eq!(cpulist_parse(text.as_bytes(), NR_CPUS), Ok(map));
        }

        #[test]
        fn dev_rule_roundtrip(
            kind in 0u8..2,
            major in proptest::option::of(0u32..u32::MAX),
            minor in proptest::option::of(0u32..u32::MAX),
            access in 1u8..8,
        ) {
            let r = DevRule {
                kind: if kind == 0 { DevType::Block } else { DevType::Char },
                major,
                minor,
                access: DevAccess::from_bits_truncate(access),
            };
            let text = alloc::format!("{r}\n");
            proptest::prop_assert_eq!(parse_dev_rule(text.as_bytes()), Ok(r));
        }
    }
}
