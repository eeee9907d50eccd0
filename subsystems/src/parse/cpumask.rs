//! CPU and memory-node lists (Linux `bitmap_parselist`, `cpulist_parse`,
//! `nodelist_parse`, `%*pbl`): the grammar of `cpuset.cpus` and `cpuset.mems`, and the
//! fixed-capacity masks the cpuset controller and the simulator's scheduler keep.

use core::fmt::{self, Write as _};

use gpc_core::parse::{cstr, is_space, parse_integer, strstrip};
use gpc_core::{Error, Result};

use super::{at, tail};

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

    #[test]
    fn cpuset_flag_truncation() {
        assert!(c_int_nonzero(1));
        assert!(!c_int_nonzero(0));
        assert!(!c_int_nonzero(1 << 32));
        assert!(c_int_nonzero((1 << 32) | 2));
        assert!(c_int_nonzero(u64::MAX));
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

    proptest::proptest! {
        #[test]
        fn bitmap_format_parse_roundtrip(words: [u64; 4]) {
            let map = CpuMask::from_words(words);
            let text = map.to_string();
            proptest::prop_assert_eq!(cpulist_parse(text.as_bytes(), NR_CPUS), Ok(map));
        }

        #[test]
        fn bitmap_parsers_never_panic(bytes: Vec<u8>) {
            let _ = parse_bitmap_list::<4>(&bytes, 256);
            let _ = parse_bitmap_list::<1>(&bytes, 0);
        }
    }
}
