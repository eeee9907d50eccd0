//! The intrusive list of the lattice: Linux's `hlist` (`include/linux/list.h`).
//!
//! The seed's "lattice of lists" links tasks to their css_group and css_groups to their
//! containers. Both links are intrusive: the node lives in the task slot or the css_group
//! itself, so linking allocates nothing and unlinking is O(1) without finding the list
//! head. An `hlist` fits: the head is one pointer (a css_group has one list per CPU
//! shard and a container one list, so a small head matters), a node is two, and a node
//! unlinks through `pprev` (the address of the pointer that points to it) whether it is
//! first or not.
//!
//! Nothing here locks: every function is `unsafe`, and its contract is the lock that
//! guards the list (a css_group shard's lock for task lists, the table lock for the
//! container lists), named by the caller's evidence.

use core::ptr;

use crate::primitive::UnsafeCell;

/// A link field: what `pprev` points to (a head's `first` or a node's `next`).
pub(crate) type Link = UnsafeCell<*const HNode>;

/// A list head (Linux `struct hlist_head`). It must not move while the list is not empty.
pub(crate) struct HHead {
    first: Link,
}

/// A list node (Linux `struct hlist_node`). It must not move while linked.
pub(crate) struct HNode {
    next: Link,
    /// The link that points to this node; null when unlinked.
    pprev: UnsafeCell<*const Link>,
}

impl HHead {
    /// An empty list.
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        HHead {
            first: UnsafeCell::new(ptr::null()),
        }
    }

    /// An empty list (loom's cells have no const constructor).
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        HHead {
            first: UnsafeCell::new(ptr::null()),
        }
    }

    /// The first node, or null.
    ///
    /// # Safety
    ///
    /// The caller holds the lock that guards this list.
    #[inline]
    pub(crate) unsafe fn first(&self) -> *const HNode {
        // SAFETY: the list's lock is held (caller), so no write races this read.
        self.first.with(|p| unsafe { *p })
    }

    /// Whether the list is empty.
    ///
    /// # Safety
    ///
    /// As [`HHead::first`].
    #[inline]
    pub(crate) unsafe fn is_empty(&self) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { self.first() }.is_null()
    }

    /// Link `node` first (Linux `hlist_add_head`).
    ///
    /// # Safety
    ///
    /// The caller holds the list's lock; `node` is unlinked and stays at its address
    /// until it is unlinked again; this head stays where it is while the list is not
    /// empty.
    #[inline]
    pub(crate) unsafe fn add_head(&self, node: &HNode) {
        // SAFETY: under the list's lock (caller); `first` and the old first node's
        // `pprev` are this list's links.
        unsafe {
            let first = self.first();
            node.next.with_mut(|p| *p = first);
            if let Some(f) = first.as_ref() {
                f.pprev.with_mut(|p| *p = &node.next);
            }
            self.first.with_mut(|p| *p = node);
            node.pprev.with_mut(|p| *p = &self.first);
        }
    }
}

impl HNode {
    /// An unlinked node.
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        HNode {
            next: UnsafeCell::new(ptr::null()),
            pprev: UnsafeCell::new(ptr::null()),
        }
    }

    /// An unlinked node (loom's cells have no const constructor).
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        HNode {
            next: UnsafeCell::new(ptr::null()),
            pprev: UnsafeCell::new(ptr::null()),
        }
    }

    /// The next node, or null.
    ///
    /// # Safety
    ///
    /// The caller holds the lock of the list this node is on.
    #[inline]
    pub(crate) unsafe fn next(&self) -> *const HNode {
        // SAFETY: under the list's lock (caller).
        self.next.with(|p| unsafe { *p })
    }

    /// Whether the node is on a list.
    ///
    /// # Safety
    ///
    /// The caller holds the lock of the list the node may be on (or owns the node
    /// outright).
    #[inline]
    pub(crate) unsafe fn is_linked(&self) -> bool {
        // SAFETY: forwarded from the caller.
        !self.pprev.with(|p| unsafe { *p }).is_null()
    }

    /// Unlink the node (Linux `hlist_del_init`); nothing happens if it is unlinked.
    ///
    /// # Safety
    ///
    /// The caller holds the lock of the list the node is on.
    #[inline]
    pub(crate) unsafe fn del(&self) {
        // SAFETY: under the list's lock (caller): `pprev` is the link pointing here and
        // `next` (if any) the next node of the same list.
        unsafe {
            let pprev = self.pprev.with(|p| *p);
            let Some(link) = pprev.as_ref() else {
                return;
            };
            let next = self.next();
            link.with_mut(|p| *p = next);
            if let Some(n) = next.as_ref() {
                n.pprev.with_mut(|p| *p = pprev);
            }
            self.next.with_mut(|p| *p = ptr::null());
            self.pprev.with_mut(|p| *p = ptr::null());
        }
    }

    /// Link `self` right after `prev` (Linux `hlist_add_behind`).
    ///
    /// # Safety
    ///
    /// The caller holds the lock of `prev`'s list; `self` is unlinked and stays at its
    /// address until it is unlinked again.
    #[inline]
    pub(crate) unsafe fn add_behind(&self, prev: &HNode) {
        // SAFETY: under the list's lock (caller).
        unsafe {
            let next = prev.next();
            self.next.with_mut(|p| *p = next);
            if let Some(n) = next.as_ref() {
                n.pprev.with_mut(|p| *p = &self.next);
            }
            prev.next.with_mut(|p| *p = self);
            self.pprev.with_mut(|p| *p = &prev.next);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn collect(h: &HHead) -> Vec<*const HNode> {
        let mut v = Vec::new();
        // SAFETY: single-threaded test: no one else touches the list.
        let mut p = unsafe { h.first() };
        // SAFETY: every node on the list is alive (the test owns them all).
        while let Some(n) = unsafe { p.as_ref() } {
            v.push(p);
            // SAFETY: as above.
            p = unsafe { n.next() };
        }
        v
    }

    #[test]
    fn add_delete_anywhere_in_constant_time() {
        let h = HHead::new();
        let [a, b, c, d] = [HNode::new(), HNode::new(), HNode::new(), HNode::new()];
        // SAFETY: single-threaded; the nodes outlive their membership (unlinked below).
        unsafe {
            h.add_head(&a);
            h.add_head(&b);
            h.add_head(&c);
            assert_eq!(collect(&h), [&c as *const _, &b, &a]);
            d.add_behind(&b);
            assert_eq!(collect(&h), [&c as *const _, &b, &d, &a]);
            c.del();
            assert!(!c.is_linked());
            assert_eq!(collect(&h), [&b as *const _, &d, &a]);
            a.del();
            assert_eq!(collect(&h), [&b as *const _, &d]);
            a.del(); // unlinked: nothing
            b.del();
            d.del();
            assert!(h.is_empty());
        }
    }
}
