//! Device cgroup rules (Linux security/device_cgroup.c `devcgroup_update_access`,
//! `devcgroup_seq_show`): the grammar of `devices.allow` and `devices.deny` and the format
//! of `devices.list`.

use core::fmt::{self, Write as _};

use gpc_core::parse::{is_space, kstrtouint, strstrip};
use gpc_core::{Error, Result};

use super::at;

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

    proptest::proptest! {
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

        #[test]
        fn dev_rule_never_panics(bytes: Vec<u8>) {
            let _ = parse_dev_rule(&bytes);
        }
    }
}
