//! `pids.max` (Linux kernel/cgroup/pids.c `pids_max_write`, `pids_max_show`).

use core::fmt;

use gpc_core::parse::{kstrtoll, strstrip};
use gpc_core::{Error, Result};

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

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use alloc::vec::Vec;
    use gpc_core::Error;

    const EINVAL: Error = Error::EINVAL;
    #[allow(dead_code, reason = "not every grammar has an ERANGE case")]
    const ERANGE: Error = Error::ERANGE;

    fn big(fill: u8, n: usize) -> Vec<u8> {
        vec![fill; n]
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

    proptest::proptest! {
        #[test]
        fn never_panics(bytes: Vec<u8>) {
            let _ = parse_pids_max(&bytes);
        }
    }
}
