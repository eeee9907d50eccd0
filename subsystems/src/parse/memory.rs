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

/// `SWAPPINESS_ANON_ONLY` (`include/linux/swap.h`, since 6.15: `MAX_SWAPPINESS + 1`): what
/// `swappiness=max` in a `memory.reclaim` write asks for, reclaim of anonymous memory
/// only.
pub const SWAPPINESS_ANON_ONLY: u64 = 201;

/// `NUMBER_BUF_LEN` (`lib/parser.c`): `match_int` refuses (`ERANGE`) an argument of this
/// many bytes or more before it looks at the digits.
const NUMBER_BUF_LEN: usize = 24;

/// What a `memory.reclaim` write asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReclaimRequest {
    /// Pages to reclaim: the bytes written, rounded **down** to pages.
    pub pages: u64,
    /// `swappiness=N` (0 to 200) or `swappiness=max` ([`SWAPPINESS_ANON_ONLY`]); `None`:
    /// each group's own `memory.swappiness`.
    pub swappiness: Option<u64>,
}

/// Linux's `simple_strtol()` (`lib/vsprintf.c`) in base 0: a `'-'` negates what
/// [`simple_strtoull`] reads after it (as an `unsigned long` negated and taken as a
/// `long`, so it wraps), and the `'-'` alone counts as consumed (`"-"` is 0 with nothing
/// left).
fn simple_strtol(s: &[u8]) -> (i64, &[u8]) {
    match s.strip_prefix(b"-") {
        Some(magnitude) => {
            let (v, rest) = simple_strtoull(magnitude, 0);
            (v.wrapping_neg() as i64, rest)
        }
        None => {
            let (v, rest) = simple_strtoull(s, 0);
            (v as i64, rest)
        }
    }
}

/// One blank-separated option of a `memory.reclaim` write, as `match_token` over
/// `user_proactive_reclaim`'s table (`mm/vmscan.c`): `swappiness=%d` (`match_one`: the
/// number must consume something and leave nothing; then `match_int`: fewer than 24 bytes,
/// an `int`; then `MIN_SWAPPINESS..=MAX_SWAPPINESS`), else exactly `swappiness=max`.
fn reclaim_option(token: &[u8]) -> Result<u64> {
    if let Some(arg) = token.strip_prefix(b"swappiness=") {
        let (value, rest) = simple_strtol(arg);
        if rest.len() < arg.len() && rest.is_empty() {
            // Every refusal from here on is EINVAL: `if (match_int(...)) return -EINVAL`.
            if arg.len() >= NUMBER_BUF_LEN {
                return Err(Error::EINVAL);
            }
            return match i32::try_from(value) {
                Ok(v @ 0..=200) => Ok(u64::from(v.unsigned_abs())),
                _ => Err(Error::EINVAL),
            };
        }
    }
    if token == b"swappiness=max" {
        return Ok(SWAPPINESS_ANON_ONLY);
    }
    Err(Error::EINVAL)
}

/// A write to v2 `memory.reclaim`: the parse of `user_proactive_reclaim` (`mm/vmscan.c`,
/// Linux 6.17+; `memory_reclaim` in `mm/memcontrol.c` before). `strstrip`, then
/// [`memparse`], which must consume something (a bare suffix does: `"K"` is 0 bytes);
/// then the rest, stripped again, split at each `' '` (empty pieces skipped, a tab is part
/// of a piece), each piece an option: `swappiness=N` with `N` an `int` in any base
/// `simple_strtol` reads (`0x10`, `010`, and even a lone `-`, which is 0), from 0 to 200,
/// or `swappiness=max`; a later option wins. No blank is needed after the size
/// (`"1Mswappiness=5"` is accepted, as in Linux).
///
/// # Errors
///
/// `EINVAL` for anything else: no number, an unknown option, a swappiness out of range.
pub fn parse_memory_reclaim(buf: &[u8]) -> Result<ReclaimRequest> {
    let buf = strstrip(buf);
    let (bytes, rest) = memparse(buf);
    if rest.len() == buf.len() {
        return Err(Error::EINVAL);
    }
    let mut swappiness = None;
    for token in strstrip(rest).split(|&c| c == b' ') {
        if !token.is_empty() {
            swappiness = Some(reclaim_option(token)?);
        }
    }
    Ok(ReclaimRequest {
        pages: bytes / PAGE_SIZE,
        swappiness,
    })
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

    #[test]
    fn memory_reclaim_grammar() {
        let req = |pages, swappiness| Ok(ReclaimRequest { pages, swappiness });
        assert_eq!(parse_memory_reclaim(b"1M\n"), req(256, None));
        assert_eq!(parse_memory_reclaim(b"  4097  "), req(1, None));
        assert_eq!(parse_memory_reclaim(b"4095"), req(0, None));
        assert_eq!(parse_memory_reclaim(b"K"), req(0, None));
        assert_eq!(parse_memory_reclaim(b"0x2000"), req(2, None));
        assert_eq!(parse_memory_reclaim(b"1M swappiness=0"), req(256, Some(0)));
        assert_eq!(
            parse_memory_reclaim(b"1M swappiness=200"),
            req(256, Some(200))
        );
        assert_eq!(
            parse_memory_reclaim(b"1M  swappiness=10   swappiness=max \n"),
            req(256, Some(SWAPPINESS_ANON_ONLY))
        );
        assert_eq!(parse_memory_reclaim(b"1M\tswappiness=7"), req(256, Some(7)));
        assert_eq!(parse_memory_reclaim(b"1Mswappiness=7"), req(256, Some(7)));
        assert_eq!(
            parse_memory_reclaim(b"1M swappiness=0x10"),
            req(256, Some(16))
        );
        assert_eq!(
            parse_memory_reclaim(b"1M swappiness=010"),
            req(256, Some(8))
        );
        assert_eq!(parse_memory_reclaim(b"1M swappiness=-"), req(256, Some(0)));
        assert_eq!(parse_memory_reclaim(b"1M swappiness=-0"), req(256, Some(0)));
        // 2^64 + 1 wraps to 1 in simple_strtoull and is short enough for match_int.
        assert_eq!(
            parse_memory_reclaim(b"1M swappiness=18446744073709551617"),
            req(256, Some(1))
        );
        assert_eq!(
            parse_memory_reclaim(b"1M swappiness=5\0junk"),
            req(256, Some(5))
        );
        for bad in [
            &b""[..],
            b"\n",
            b"   ",
            b"x",
            b"-1",
            b"+1",
            b"max",
            b"1M x",
            b"1M swappiness",
            b"1M swappiness=",
            b"1M swappiness=201",
            b"1M swappiness=-1",
            b"1M swappiness=+5",
            b"1M swappiness=5x",
            b"1M swappiness=5\tswappiness=6",
            b"1M swappiness=maximum",
            b"1M Swappiness=5",
            b"1M swappiness=0000000000000000000000005",
            b"1M swappiness=4294967296",
            b"1M swappiness=max swappiness=500",
            b"1kb",
        ] {
            assert_eq!(parse_memory_reclaim(bad), Err(EINVAL), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes: Vec<u8>) {
            let _ = parse_memory_limit(&bytes);
            let _ = memparse(&bytes);
            let _ = parse_memory_reclaim(&bytes);
        }
    }
}
