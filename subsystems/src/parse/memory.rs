//! Memory sizes and limits (Linux `memparse`, `page_counter_memparse`, mm/memcontrol-v1.c
//! `mem_cgroup_write` / `mem_cgroup_read_u64`): the grammar of `memory.limit_in_bytes` and
//! its siblings.

use gpc_core::parse::{cstr, simple_strtoull, strstrip};
use gpc_core::{Error, Result};

use super::{at, tail};

/// The page size the memory controller counts in (x86_64 and the recorded transcripts).
pub const PAGE_SIZE: u64 = 4096;

/// `PAGE_COUNTER_MAX` (`include/linux/page_counter.h`, 64-bit): `LONG_MAX / PAGE_SIZE`
/// pages, the "unlimited" limit of a page counter.
pub const PAGE_COUNTER_MAX: u64 = (i64::MAX as u64) / PAGE_SIZE;

/// What a v1 memory file reads for an unlimited limit: `PAGE_COUNTER_MAX * PAGE_SIZE`
/// = 9223372036854771712 (`mem_cgroup_read_u64`: `(u64)counter->max * PAGE_SIZE`).
pub const UNLIMITED_MEMORY_BYTES: u64 = PAGE_COUNTER_MAX * PAGE_SIZE;

/// Linux's `memparse()` (`lib/cmdline.c`): a number (base auto-detected as in
/// [`kstrtoull`](gpc_core::parse::kstrtoull), no sign) optionally followed by one of `K M G T P E` (either case, powers
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

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use gpc_core::Error;

    const EINVAL: Error = Error::EINVAL;
    #[allow(dead_code, reason = "not every grammar has an ERANGE case")]
    const ERANGE: Error = Error::ERANGE;

    fn big(fill: u8, n: usize) -> Vec<u8> {
        vec![fill; n]
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

    proptest::proptest! {
        #[test]
        fn never_panics(bytes: Vec<u8>) {
            let _ = parse_memory_limit(&bytes);
            let _ = memparse(&bytes);
        }
    }
}
