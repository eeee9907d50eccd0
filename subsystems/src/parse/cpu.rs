//! `cpu.max` (Linux kernel/sched/core.c `cpu_period_quota_parse`, 6.17+: values in µs).

use gpc_core::parse::{cstr, is_space, parse_integer};
use gpc_core::{Error, Result};

/// The quota `cpu.max` parses `max` to (Linux `RUNTIME_INF`, `(u64)~0ULL`).
pub const CPU_MAX_UNLIMITED: u64 = u64::MAX;

/// The width of the quota token (`char tok[21]; /* U64_MAX */`, `"%20s"`).
const TOK_WIDTH: usize = 20;

/// The index of the first byte at or after `i` that is not [`is_space`] (`skip_spaces`).
fn skip_spaces(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|&c| is_space(c)) {
        i += 1;
    }
    i
}

/// One `%llu` conversion of the kernel's `vsscanf` (`lib/vsprintf.c`) at the start of
/// `s`: blanks skipped, then a decimal digit must follow (no sign: the conversion is
/// unsigned), then `simple_strntoull(.., 10, INT_MAX)`, which wraps modulo 2^64 on
/// overflow. `None` when no conversion happens.
fn scan_llu(s: &[u8]) -> Option<u64> {
    let s = s.get(skip_spaces(s, 0)..).unwrap_or(&[]);
    if !s.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some(parse_integer(s, 10).value)
}

/// A write to `cpu.max` as `cpu_period_quota_parse` reads it: `sscanf(buf, "%20s
/// %llu", tok, &period)` must convert at least the token; then the token is a quota
/// (`sscanf(tok, "%llu")`) or exactly `max` ([`CPU_MAX_UNLIMITED`]). Returns
/// `(period_us, quota_us)`, the period being `period_us` (the current one) when the
/// write names none.
///
/// Like Linux: everything after the period is ignored (`"50000 100000 x"`), as is
/// whatever follows the digits of either number (`"50000abc 100000"` is 50000);
/// numbers wrap modulo 2^64 instead of failing; a token longer than 20 bytes is cut
/// there and the rest of it is read as the period; a period that is not a number
/// (`"50000 -5"`) leaves the current one; `"18446744073709551615"` is `RUNTIME_INF`,
/// the same as `max`. The values are checked afterwards (`tg_set_bandwidth`).
///
/// # Errors
///
/// `EINVAL` for an empty or blank write, or a token that is neither a number nor `max`.
pub fn parse_cpu_max(buf: &[u8], period_us: u64) -> Result<(u64, u64)> {
    let s = cstr(buf);
    // vsscanf: "if (!*str) break;" before the first conversion: nothing converted.
    if s.is_empty() {
        return Err(Error::EINVAL);
    }
    // "%20s": skip blanks, copy up to 20 bytes that are not blanks.
    let start = skip_spaces(s, 0);
    let mut end = start;
    while end - start < TOK_WIDTH && s.get(end).is_some_and(|&c| !is_space(c)) {
        end += 1;
    }
    let tok = s.get(start..end).unwrap_or(&[]);
    let rest = s.get(end..).unwrap_or(&[]);
    // " %llu": the period, when one converts.
    let period = scan_llu(rest).unwrap_or(period_us);
    let quota = match scan_llu(tok) {
        Some(q) => q,
        None if tok == b"max" => CPU_MAX_UNLIMITED,
        None => return Err(Error::EINVAL),
    };
    Ok((period, quota))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: u64 = CPU_MAX_UNLIMITED;

    #[test]
    fn cpu_max_grammar() {
        for (input, want) in [
            (&b"max\n"[..], (7, INF)),
            (b"max", (7, INF)),
            (b"max 100000", (100_000, INF)),
            (b"50000 100000\n", (100_000, 50_000)),
            (b"50000", (7, 50_000)),
            (b"  50000\t 200000  \n", (200_000, 50_000)),
            (b"50000 100000 junk", (100_000, 50_000)),
            (b"50000abc 100000", (100_000, 50_000)),
            (b"50000 100000abc", (100_000, 50_000)),
            (b"50000 -5", (7, 50_000)),
            (b"50000 +5", (7, 50_000)),
            (b"50000 abc", (7, 50_000)),
            (b"0x10 1000", (1000, 0)),
            (b"0 0", (0, 0)),
            (b"max 0", (0, INF)),
            (b"18446744073709551615 1000", (1000, INF)),
            // 2^64 + 100000 wraps to 100000, as simple_strntoull does.
            (b"1000 18446744073709651616", (100_000, 1000)),
            // The token stops after 20 bytes; the rest of it is the period.
            (b"123456789012345678901", (1, 12_345_678_901_234_567_890)),
            (b"000000000000000000005000", (5000, 0)),
            (b"5000\0 1", (7, 5000)),
            (b"max\xa0 2000", (2000, INF)),
        ] {
            assert_eq!(parse_cpu_max(input, 7), Ok(want), "{input:?}");
        }
        for bad in [
            &b""[..],
            b"\n",
            b"   ",
            b"\0 5000",
            b"Max",
            b"maxx 1000",
            b"-1 100000",
            b"+1 100000",
            b"abc",
            b"max,100000",
            b"infinity",
        ] {
            assert_eq!(parse_cpu_max(bad, 7), Err(Error::EINVAL), "{bad:?}");
        }
    }
}
