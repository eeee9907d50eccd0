//! Resource counters (the seeds' "Resource Counters - container library", Linux's
//! `res_counter`, today `mm/page_counter.c`): a usage against a limit, with the peak and
//! the number of refused charges, charged hierarchically (a charge counts in the group
//! and every ancestor) without a lock, and the `memory.min`/`memory.low` protection
//! bookkeeping that reclaim reads.
//!
//! A counter does not know its parent: controllers keep counters in their per-group
//! states and hand the chain from the group up to the root ([`try_charge`],
//! [`uncharge`]), which is what `css.ancestors_and_self()` gives them. Units are the
//! caller's (memory counts pages).
//!
//! The charge path is lock-free, as Linux's: each level adds first, then checks its
//! limit, and takes its share back on failure, so two racing charges can never both
//! pass a limit they exceed together, and a concurrent [`PageCounter::set_max`] either
//! sees a charge or makes it fail.

use crate::error::{Error, Result};
use crate::primitive::{AtomicU64, Ordering};

/// "No limit" (Linux `PAGE_COUNTER_MAX` on 64-bit: `LONG_MAX / PAGE_SIZE`).
pub const COUNTER_MAX: u64 = (i64::MAX as u64) / 4096;

/// One level of a hierarchical counter (Linux `struct page_counter`).
#[derive(Debug)]
pub struct PageCounter {
    usage: AtomicU64,
    max: AtomicU64,
    watermark: AtomicU64,
    failcnt: AtomicU64,
    /// `memory.min` / `memory.low` of this level.
    min: AtomicU64,
    low: AtomicU64,
    /// How much of this level's usage the protection covers (Linux `min_usage`,
    /// `low_usage`: `min(usage, min)`), and the sums of the children's, which their
    /// changes keep up to date (`children_min_usage`, `children_low_usage`).
    min_usage: AtomicU64,
    low_usage: AtomicU64,
    children_min_usage: AtomicU64,
    children_low_usage: AtomicU64,
}

impl Default for PageCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl PageCounter {
    /// An empty counter without a limit or protection.
    pub fn new() -> Self {
        PageCounter {
            usage: AtomicU64::new(0),
            max: AtomicU64::new(COUNTER_MAX),
            watermark: AtomicU64::new(0),
            failcnt: AtomicU64::new(0),
            min: AtomicU64::new(0),
            low: AtomicU64::new(0),
            min_usage: AtomicU64::new(0),
            low_usage: AtomicU64::new(0),
            children_min_usage: AtomicU64::new(0),
            children_low_usage: AtomicU64::new(0),
        }
    }

    /// The usage (`page_counter_read`).
    pub fn usage(&self) -> u64 {
        self.usage.load(Ordering::Relaxed)
    }

    /// The limit.
    pub fn max(&self) -> u64 {
        self.max.load(Ordering::Relaxed)
    }

    /// The highest usage since the last [`PageCounter::reset_watermark`].
    pub fn watermark(&self) -> u64 {
        self.watermark.load(Ordering::Relaxed)
    }

    /// Charges this level's limit refused.
    pub fn failcnt(&self) -> u64 {
        self.failcnt.load(Ordering::Relaxed)
    }

    /// Forget the refused charges (a v1 `failcnt` write).
    pub fn reset_failcnt(&self) {
        self.failcnt.store(0, Ordering::Relaxed);
    }

    /// The peak becomes the current usage (`page_counter_reset_watermark`).
    pub fn reset_watermark(&self) {
        self.watermark.store(self.usage(), Ordering::Relaxed);
    }

    /// `memory.min` and `memory.low` of this level.
    pub fn protection(&self) -> (u64, u64) {
        (
            self.min.load(Ordering::Relaxed),
            self.low.load(Ordering::Relaxed),
        )
    }

    /// The usage the protection of this level covers (`min_usage`, `low_usage`), and
    /// the sums of its children's (what `effective_protection` in mm/memcontrol.c
    /// divides a parent's protection by).
    pub fn protected_usage(&self) -> ((u64, u64), (u64, u64)) {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        (
            (r(&self.min_usage), r(&self.low_usage)),
            (r(&self.children_min_usage), r(&self.children_low_usage)),
        )
    }

    /// One level of `page_counter_try_charge`: add, then check the limit; on failure
    /// take it back and count it.
    fn try_charge_level(&self, n: u64) -> bool {
        let new = self.usage.fetch_add(n, Ordering::SeqCst).wrapping_add(n);
        if new > self.max.load(Ordering::SeqCst) {
            self.usage.fetch_sub(n, Ordering::SeqCst);
            self.failcnt.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.raise_watermark(new);
        true
    }

    /// The peak follows `new`. A read first (Linux reads `watermark` before it writes
    /// it): at a steady usage the peak is already higher, and the charge then costs no
    /// read-modify-write for it.
    #[inline]
    fn raise_watermark(&self, new: u64) {
        if new > self.watermark.load(Ordering::Relaxed) {
            self.watermark.fetch_max(new, Ordering::Relaxed);
        }
    }

    /// One level of `page_counter_charge`: add whatever the limit (a charge that must
    /// not fail, such as a move of charges already made elsewhere).
    fn force_level(&self, n: u64) {
        let new = self.usage.fetch_add(n, Ordering::SeqCst).wrapping_add(n);
        self.raise_watermark(new);
    }

    /// One level of `page_counter_cancel`: subtract, never below 0 ("More uncharges
    /// than charges?").
    fn cancel_level(&self, n: u64) {
        let _ = self
            .usage
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
                Some(u.saturating_sub(n))
            });
    }

    /// Set the limit (`page_counter_set_max`): refused with `EBUSY` while the usage is
    /// above it; a charge racing the change either counts against the new limit or is
    /// seen here.
    ///
    /// # Errors
    ///
    /// `EBUSY` (the usage is above `max`; a caller that can reclaim does so and tries
    /// again).
    pub fn set_max(&self, max: u64) -> Result {
        loop {
            let usage = self.usage.load(Ordering::SeqCst);
            if usage > max {
                return Err(Error::EBUSY);
            }
            let old = self.max.swap(max, Ordering::SeqCst);
            if self.usage.load(Ordering::SeqCst) <= usage || max >= old {
                return Ok(());
            }
            self.max.store(old, Ordering::SeqCst);
        }
    }

    /// Set the limit whatever the usage, and return the old one (v2 `memory.max` and
    /// `memory.swap.max`: Linux `xchg(&counter->max, max)` in `memory_max_write`). Charges
    /// that would go above it fail from now on; a usage already above it stays until the
    /// caller reclaims it.
    pub fn xchg_max(&self, max: u64) -> u64 {
        self.max.swap(max, Ordering::SeqCst)
    }

    /// Set `memory.min` (`page_counter_set_min`); `parent` is this level's parent, whose
    /// sum of the children's protected usage follows.
    pub fn set_min(&self, min: u64, parent: Option<&PageCounter>) {
        self.min.store(min, Ordering::Relaxed);
        self.propagate_protected_usage(parent);
    }

    /// Set `memory.low` (`page_counter_set_low`), as [`PageCounter::set_min`].
    pub fn set_low(&self, low: u64, parent: Option<&PageCounter>) {
        self.low.store(low, Ordering::Relaxed);
        self.propagate_protected_usage(parent);
    }

    /// Linux `propagate_protected_usage`: the part of the usage the protection covers,
    /// and the change of it added to the parent's sums. As Linux, only a part that
    /// changed is exchanged and added: without protection (`min` and `low` 0, most
    /// groups) a charge or uncharge then makes no read-modify-write here, where it made
    /// four per level.
    fn propagate_protected_usage(&self, parent: Option<&PageCounter>) {
        let usage = self.usage();
        let pairs = [
            (
                &self.min,
                &self.min_usage,
                parent.map(|p| &p.children_min_usage),
            ),
            (
                &self.low,
                &self.low_usage,
                parent.map(|p| &p.children_low_usage),
            ),
        ];
        for (prot, prot_usage, sum) in pairs {
            let covered = usage.min(prot.load(Ordering::Relaxed));
            if covered == prot_usage.load(Ordering::Relaxed) {
                continue;
            }
            let old = prot_usage.swap(covered, Ordering::Relaxed);
            if let Some(sum) = sum {
                if covered > old {
                    sum.fetch_add(covered - old, Ordering::Relaxed);
                } else if covered < old {
                    let _ = sum.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                        Some(s.saturating_sub(old - covered))
                    });
                }
            }
        }
    }
}

/// Charge `n` to every level of `chain` (a group's counter first, then each ancestor's
/// up to the root's): all or none (Linux `page_counter_try_charge`).
///
/// # Errors
///
/// The index in `chain` of the level whose limit refused the charge: its `failcnt`
/// grew, and nothing else changed.
pub fn try_charge<'a, I>(chain: I, n: u64) -> core::result::Result<(), usize>
where
    I: Iterator<Item = &'a PageCounter> + Clone,
{
    let mut levels = chain.clone().peekable();
    let mut done = 0usize;
    while let Some(c) = levels.next() {
        if !c.try_charge_level(n) {
            let mut undo = chain.clone().peekable();
            for _ in 0..done {
                if let Some(u) = undo.next() {
                    u.cancel_level(n);
                    u.propagate_protected_usage(undo.peek().copied());
                }
            }
            return Err(done);
        }
        c.propagate_protected_usage(levels.peek().copied());
        done += 1;
    }
    Ok(())
}

/// Charge `n` to every level of `chain` whatever the limits (`page_counter_charge`).
pub fn charge<'a>(chain: impl Iterator<Item = &'a PageCounter> + Clone, n: u64) {
    let mut levels = chain.peekable();
    while let Some(c) = levels.next() {
        c.force_level(n);
        c.propagate_protected_usage(levels.peek().copied());
    }
}

/// Take `n` back from every level of `chain` (`page_counter_uncharge`); a level never
/// goes below 0.
pub fn uncharge<'a>(chain: impl Iterator<Item = &'a PageCounter> + Clone, n: u64) {
    let mut levels = chain.peekable();
    while let Some(c) = levels.next() {
        c.cancel_level(n);
        c.propagate_protected_usage(levels.peek().copied());
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_charge_counts_at_every_level_or_at_none() {
        let (child, parent, root) = (PageCounter::new(), PageCounter::new(), PageCounter::new());
        let chain = || [&child, &parent, &root].into_iter();
        assert_eq!(parent.set_max(10), Ok(()));
        assert_eq!(try_charge(chain(), 6), Ok(()));
        assert_eq!(try_charge(chain(), 5), Err(1), "the parent's limit");
        assert_eq!((child.usage(), parent.usage(), root.usage()), (6, 6, 6));
        assert_eq!((child.failcnt(), parent.failcnt()), (0, 1));
        assert_eq!(try_charge(chain(), 4), Ok(()));
        assert_eq!(parent.watermark(), 10);
        uncharge(chain(), 7);
        assert_eq!((child.usage(), root.usage()), (3, 3));
        assert_eq!(parent.set_max(2), Err(Error::EBUSY), "usage 3 is above");
        assert_eq!(parent.set_max(3), Ok(()));
        parent.reset_watermark();
        assert_eq!(parent.watermark(), 3);
        uncharge(chain(), 100);
        assert_eq!(root.usage(), 0, "never below 0");
        charge(chain(), 50);
        assert_eq!(parent.usage(), 50, "a forced charge passes the limit");
        assert_eq!(parent.xchg_max(20), 3, "below the usage, unlike set_max");
        assert_eq!(parent.max(), 20);
        assert_eq!(try_charge(chain(), 1), Err(1), "the new limit refuses");
    }

    #[test]
    fn protection_covers_the_usage_up_to_it_and_sums_in_the_parent() {
        let (a, b, p) = (PageCounter::new(), PageCounter::new(), PageCounter::new());
        a.set_min(4, Some(&p));
        b.set_low(10, Some(&p));
        assert_eq!(try_charge([&a, &p].into_iter(), 6), Ok(()));
        assert_eq!(try_charge([&b, &p].into_iter(), 3), Ok(()));
        assert_eq!(a.protected_usage().0, (4, 0), "min covers 4 of 6");
        assert_eq!(b.protected_usage().0, (0, 3), "low covers all 3");
        assert_eq!(p.protected_usage().1, (4, 3));
        uncharge([&a, &p].into_iter(), 5);
        assert_eq!(p.protected_usage().1, (1, 3));
        a.set_min(0, Some(&p));
        assert_eq!(p.protected_usage().1, (0, 3));
    }
}
