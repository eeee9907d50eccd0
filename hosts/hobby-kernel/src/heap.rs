//! The kernel heap: a first-fit free list over one region, the global allocator.
//!
//! Free blocks are kept in a list sorted by address, each block's first 16 bytes holding
//! its size and the next free block, so the heap needs no memory of its own. Allocation
//! takes the first block in which an aligned piece fits, and puts what is left before and
//! after that piece back on the list; freeing puts the piece back in its place and merges
//! it with free neighbours. Every size is rounded up to 16 bytes and every block is at
//! least 16-byte aligned, so a leftover is either empty or big enough for a block header.
//!
//! Allocation is fallible, as gpc requires of its host: when no block fits, `alloc`
//! returns null (gpc's `try_reserve`/`try_box` paths turn that into `ENOMEM`). Freeing a
//! block that overlaps a free one (a double free) stops the kernel.
//!
//! # Tiers: why a kernel whose script interpreter cannot fail still never runs dry
//!
//! Not every allocation a script causes can fail gracefully: the interpreter
//! (gpc-script) and parts of gpc-machine grow `String`s, `Vec`s and maps infallibly, and
//! an infallible allocation that fails stops the kernel (there is no unwinding to turn it
//! into an errno). So [`KernelHeap`] splits its memory in three [`Tier`]s, as Linux keeps
//! watermarks and reserves below them (mm/page_alloc.c, `__zone_watermark_ok`, where
//! `ALLOC_HIGH`/`ALLOC_MIN_RESERVE` callers may dig below the `min` watermark and
//! `ALLOC_NO_WATERMARKS` ones, the callers that free memory, into everything):
//!
//! * **main**: where allocations go first;
//! * **reserve**: used only once main has no fitting block. The runner admits a command
//!   that may grow the machine only while main and reserve together have the reserve's
//!   size free ([`KernelHeap::admit`]); otherwise the command fails with `ENOMEM`
//!   without running. A command that was admitted may dig into the reserve, so the
//!   infallible bookkeeping of a command in flight finds memory;
//! * **emergency**: only while no machine call is in progress
//!   ([`KernelHeap::enter_machine`]): the interpreter's own allocations between machine
//!   calls (echoing the command, expanding its words, formatting `error: ENOMEM`), sized
//!   from the script's longest line, so that it can always report a failure and go on.
//!
//! Each tier is a [`Heap`] of its own over a contiguous part of the region, so a full,
//! fragmented main tier cannot leave the reserve in pieces. Freeing goes to the tier
//! that holds the address.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;

use crate::sync::SpinCell;

/// Size granularity and minimum alignment of every block: the size of a free-block header.
pub const GRANULE: usize = 16;

/// A free block's header, at the block's start.
#[repr(C)]
struct FreeBlock {
    size: usize,
    next: *mut FreeBlock,
}

/// What the heap has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes the heap manages.
    pub size: usize,
    /// Bytes in use now (rounded block sizes).
    pub used: usize,
    /// The most bytes ever in use at once.
    pub peak: usize,
    /// Allocations not freed yet.
    pub live: usize,
    /// Allocations made.
    pub allocs: u64,
    /// Allocations refused (no block fitted).
    pub failed: u64,
}

/// The allocator state (not locked: see [`KernelHeap`]).
pub struct Heap {
    head: *mut FreeBlock,
    /// The region, `base..end` (empty before `init`).
    base: usize,
    end: usize,
    stats: HeapStats,
}

// SAFETY: the heap owns its region exclusively (the contract of `Heap::init`); its raw
// pointers point only into that region, so moving the heap between CPUs is sound.
unsafe impl Send for Heap {}

/// `n` rounded up to a multiple of `align` (a power of two), or `None` on overflow.
fn round_up(n: usize, align: usize) -> Option<usize> {
    Some(n.checked_add(align - 1)? & !(align - 1))
}

/// The block size and alignment a layout takes.
fn block_of(layout: Layout) -> Option<(usize, usize)> {
    let size = round_up(layout.size().max(1), GRANULE)?;
    Some((size, layout.align().max(GRANULE)))
}

impl Heap {
    /// A heap with no memory: every allocation fails until [`Heap::init`].
    pub const fn empty() -> Self {
        Heap {
            head: ptr::null_mut(),
            base: 0,
            end: 0,
            stats: HeapStats {
                size: 0,
                used: 0,
                peak: 0,
                live: 0,
                allocs: 0,
                failed: 0,
            },
        }
    }

    /// Give the heap the region `start..start + size` (trimmed to whole granules). A
    /// heap that already has memory ignores this.
    ///
    /// # Safety
    ///
    /// The region must be valid for reads and writes, used by nothing else, and stay so
    /// for as long as the heap or any allocation from it is in use.
    pub unsafe fn init(&mut self, start: *mut u8, size: usize) {
        if self.stats.size != 0 {
            return;
        }
        let addr = start as usize;
        let Some(first) = round_up(addr, GRANULE) else {
            return;
        };
        let Some(end) = addr.checked_add(size) else {
            return;
        };
        let end = end & !(GRANULE - 1);
        if end <= first || end - first < GRANULE {
            return;
        }
        let block = start.wrapping_add(first - addr) as *mut FreeBlock;
        // SAFETY: `block` is granule-aligned and inside the region the caller gave us,
        // which is ours to write, with at least one granule (a header) of room.
        unsafe {
            block.write(FreeBlock {
                size: end - first,
                next: ptr::null_mut(),
            })
        };
        self.head = block;
        self.base = first;
        self.end = end;
        self.stats.size = end - first;
    }

    /// Whether `p` lies in the heap's region (so came from it, if it is a live block).
    pub fn contains(&self, p: *mut u8) -> bool {
        (self.base..self.end).contains(&(p as usize))
    }

    /// What the heap has done so far.
    pub fn stats(&self) -> HeapStats {
        self.stats
    }

    /// Bytes not in use (possibly in several blocks).
    pub fn free(&self) -> usize {
        self.stats.size - self.stats.used
    }

    /// Memory for `layout`, or null if no free block fits.
    pub fn alloc(&mut self, layout: Layout) -> *mut u8 {
        let Some((size, align)) = block_of(layout) else {
            self.stats.failed += 1;
            return ptr::null_mut();
        };
        let mut prev: *mut FreeBlock = ptr::null_mut();
        let mut cur = self.head;
        while !cur.is_null() {
            // SAFETY: every pointer on the list is a header written by `init`, `alloc`
            // or `dealloc` inside our region, and not handed out.
            let FreeBlock { size: bsize, next } = unsafe { cur.read() };
            let a = cur as usize;
            if let Some(at) = round_up(a, align) {
                // Both `at - a` and the leftover after the piece are multiples of the
                // granule: empty, or room for a header.
                if at.checked_add(size).is_some_and(|e| e <= a + bsize) {
                    let front = at - a;
                    let back = a + bsize - (at + size);
                    // What replaces `cur` on the list, in address order.
                    let mut link = next;
                    if back != 0 {
                        let b = cur.wrapping_byte_add(front + size);
                        // SAFETY: the leftover after the piece lies in the free block
                        // `cur`, granule-aligned, with room for a header.
                        unsafe { b.write(FreeBlock { size: back, next }) };
                        link = b;
                    }
                    if front != 0 {
                        // SAFETY: `cur` stays a free block, shortened to the part before
                        // the piece.
                        unsafe {
                            cur.write(FreeBlock {
                                size: front,
                                next: link,
                            })
                        };
                        link = cur;
                    }
                    if prev.is_null() {
                        self.head = link;
                    } else {
                        // SAFETY: `prev` is a free block's header (see above).
                        unsafe { (*prev).next = link };
                    }
                    self.stats.used += size;
                    self.stats.peak = self.stats.peak.max(self.stats.used);
                    self.stats.live += 1;
                    self.stats.allocs += 1;
                    return at as *mut u8;
                }
            }
            prev = cur;
            cur = next;
        }
        self.stats.failed += 1;
        ptr::null_mut()
    }

    /// Give back memory from [`Heap::alloc`].
    ///
    /// # Safety
    ///
    /// `p` must come from `self.alloc(layout)` with this `layout`, and not be freed yet.
    pub unsafe fn dealloc(&mut self, p: *mut u8, layout: Layout) {
        let Some((size, _)) = block_of(layout) else {
            return;
        };
        let start = p as usize;
        let end = start + size;
        let mut prev: *mut FreeBlock = ptr::null_mut();
        let mut cur = self.head;
        while !cur.is_null() && (cur as usize) < start {
            prev = cur;
            // SAFETY: a free block's header (see `alloc`).
            cur = unsafe { (*cur).next };
        }
        // A neighbour that overlaps the piece means it was free already.
        // SAFETY: `prev` is a free block's header.
        let prev_end = (!prev.is_null()).then(|| prev as usize + unsafe { (*prev).size });
        if prev_end.is_some_and(|e| e > start) || (!cur.is_null() && (cur as usize) < end) {
            crate::fatal("heap: a block was freed twice (it overlaps a free block)");
        }
        let block = p as *mut FreeBlock;
        let mut size_here = size;
        let mut next = cur;
        if !cur.is_null() && cur as usize == end {
            // SAFETY: `cur` is a free block's header right after the piece: merge it.
            let c = unsafe { cur.read() };
            size_here += c.size;
            next = c.next;
        }
        if prev_end == Some(start) {
            // SAFETY: `prev` is the free block right before the piece: grow it.
            unsafe {
                (*prev).size += size_here;
                (*prev).next = next;
            }
        } else {
            // SAFETY: the piece was ours (the caller's contract), granule-aligned and at
            // least a granule long: room for a header.
            unsafe {
                block.write(FreeBlock {
                    size: size_here,
                    next,
                })
            };
            if prev.is_null() {
                self.head = block;
            } else {
                // SAFETY: a free block's header.
                unsafe { (*prev).next = block };
            }
        }
        self.stats.used -= size;
        self.stats.live -= 1;
    }

    /// The free blocks, as `(address, size)`, in address order (for tests and checks).
    pub fn free_blocks(&self, out: &mut dyn FnMut(usize, usize)) {
        let mut cur = self.head;
        while !cur.is_null() {
            // SAFETY: a free block's header.
            let b = unsafe { cur.read() };
            out(cur as usize, b.size);
            cur = b.next;
        }
    }
}

/// One of the [`KernelHeap`]'s parts (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// Where allocations go first.
    Main = 0,
    /// For commands in flight once main is full.
    Reserve = 1,
    /// For the interpreter between machine calls.
    Emergency = 2,
}

/// How a [`KernelHeap`] splits its region: bytes of the reserve and of the emergency
/// tier; main gets the rest (first, at the lowest addresses).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TierSizes {
    /// Bytes of the reserve.
    pub reserve: usize,
    /// Bytes of the emergency tier.
    pub emergency: usize,
}

/// The three tiers, and whether a machine call is in progress.
struct Tiers {
    heaps: [Heap; 3],
    in_machine: bool,
    /// The most bytes in use at once, all tiers together.
    peak: usize,
    /// Allocations no tier could serve.
    refused: u64,
}

impl Tiers {
    /// The tiers an allocation may use now, in the order tried.
    fn order(&self) -> &'static [Tier] {
        if self.in_machine {
            &[Tier::Main, Tier::Reserve]
        } else {
            &[Tier::Main, Tier::Reserve, Tier::Emergency]
        }
    }

    fn heap(&mut self, tier: Tier) -> Option<&mut Heap> {
        self.heaps.get_mut(tier as usize)
    }
}

/// The global allocator: three tiers of [`Heap`] behind a spinlock (see the module
/// documentation).
pub struct KernelHeap {
    tiers: SpinCell<Tiers>,
}

impl KernelHeap {
    /// A heap with no memory yet.
    pub const fn new() -> Self {
        KernelHeap {
            tiers: SpinCell::new(Tiers {
                heaps: [Heap::empty(), Heap::empty(), Heap::empty()],
                in_machine: false,
                peak: 0,
                refused: 0,
            }),
        }
    }

    /// Give the heap its region, all of it to the main tier (once; later calls change
    /// nothing).
    ///
    /// # Safety
    ///
    /// As for [`Heap::init`].
    pub unsafe fn init(&self, start: *mut u8, size: usize) {
        // SAFETY: forwarded from the caller.
        unsafe { self.init_tiers(start, size, TierSizes::default()) }
    }

    /// Give the heap its region `start..start + size`, split as `sizes` says (main
    /// first; a tier that does not fit gets what is left, possibly nothing). Once; later
    /// calls change nothing.
    ///
    /// # Safety
    ///
    /// As for [`Heap::init`].
    pub unsafe fn init_tiers(&self, start: *mut u8, size: usize, sizes: TierSizes) {
        let mut t = self.tiers.lock();
        if t.heaps.iter().any(|h| h.stats.size != 0) {
            return;
        }
        let emergency = sizes.emergency.min(size);
        let reserve = sizes.reserve.min(size - emergency);
        let main = size - emergency - reserve;
        let parts = [(Tier::Main, 0, main), (Tier::Reserve, main, reserve)];
        let parts = parts
            .into_iter()
            .chain([(Tier::Emergency, main + reserve, emergency)]);
        for (tier, offset, len) in parts {
            if let Some(h) = t.heap(tier) {
                // SAFETY: the parts are disjoint pieces of the caller's region, each
                // given to one heap once.
                unsafe { h.init(start.wrapping_add(offset), len) };
            }
        }
    }

    /// What the heap has done so far, all tiers together.
    pub fn stats(&self) -> HeapStats {
        let t = self.tiers.lock();
        let mut all = HeapStats {
            peak: t.peak,
            failed: t.refused,
            ..HeapStats::default()
        };
        for s in t.heaps.iter().map(Heap::stats) {
            all.size += s.size;
            all.used += s.used;
            all.live += s.live;
            all.allocs += s.allocs;
        }
        all
    }

    /// What one tier has done so far.
    pub fn tier_stats(&self, tier: Tier) -> HeapStats {
        self.tiers
            .lock()
            .heap(tier)
            .map_or_else(HeapStats::default, |h| h.stats())
    }

    /// Whether a command that may grow the machine's state may start: main and reserve
    /// together have at least the reserve's size free, so the command's infallible
    /// bookkeeping finds memory even if main is full and fragmented. This is the
    /// watermark check of Linux's `__zone_watermark_ok`, with the reserve as `min`.
    pub fn admit(&self) -> bool {
        let t = self.tiers.lock();
        let [main, reserve, _] = &t.heaps;
        main.free() + reserve.free() >= reserve.stats.size
    }

    /// A machine call begins: the emergency tier is closed to it.
    pub fn enter_machine(&self) {
        self.tiers.lock().in_machine = true;
    }

    /// The machine call returned: the interpreter may use the emergency tier again.
    pub fn leave_machine(&self) {
        self.tiers.lock().in_machine = false;
    }
}

impl Default for KernelHeap {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: each tier's `Heap::alloc` returns null or a piece of the requested size and
// alignment of its own region that no other live allocation overlaps; the regions are
// disjoint, so no two tiers hand out overlapping pieces. `dealloc` gives a piece back
// to the tier whose region holds it, the one that handed it out, forwarding
// `GlobalAlloc::dealloc`'s contract. The lock serialises everything.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut t = self.tiers.lock();
        for &tier in t.order() {
            if let Some(h) = t.heap(tier) {
                let p = h.alloc(layout);
                if !p.is_null() {
                    let used = t.heaps.iter().map(|h| h.stats.used).sum();
                    t.peak = t.peak.max(used);
                    return p;
                }
            }
        }
        t.refused += 1;
        ptr::null_mut()
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        let mut t = self.tiers.lock();
        if let Some(h) = t.heaps.iter_mut().find(|h| h.contains(p)) {
            // SAFETY: `GlobalAlloc::dealloc`'s contract is `Heap::dealloc`'s, and `p`
            // came from this tier (the one whose region holds it).
            unsafe { h.dealloc(p, layout) }
        } else {
            crate::fatal("heap: a block that no tier handed out was freed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn heap_over(space: &mut Vec<u8>) -> Heap {
        let mut h = Heap::empty();
        // SAFETY: the test owns `space` and keeps it alive while `h` is used.
        unsafe { h.init(space.as_mut_ptr(), space.len()) };
        h
    }

    fn blocks(h: &Heap) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        h.free_blocks(&mut |a, s| v.push((a, s)));
        v
    }

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap_or(Layout::new::<u8>())
    }

    #[test]
    fn allocates_aligned_and_merges_on_free() {
        let mut space = std::vec![0u8; 4096 + 64];
        let mut h = heap_over(&mut space);
        let total = h.stats().size;
        let a = h.alloc(layout(10, 1));
        let b = h.alloc(layout(100, 64));
        let c = h.alloc(layout(16, 16));
        for p in [a, b, c] {
            assert!(!p.is_null());
            assert_eq!(p as usize % 16, 0);
        }
        assert_eq!(b as usize % 64, 0);
        assert_eq!(h.stats().live, 3);
        // SAFETY: each pointer came from `alloc` with that layout and is freed once.
        unsafe {
            h.dealloc(b, layout(100, 64));
            h.dealloc(a, layout(10, 1));
            h.dealloc(c, layout(16, 16));
        }
        let s = h.stats();
        assert_eq!((s.used, s.live), (0, 0));
        // Everything merged back into one block.
        assert_eq!(blocks(&h).len(), 1);
        assert_eq!(blocks(&h).first().map(|b| b.1), Some(total));
    }

    #[test]
    fn exhaustion_returns_null_and_frees_make_room() {
        let mut space = std::vec![0u8; 1024];
        let mut h = heap_over(&mut space);
        let mut got = Vec::new();
        loop {
            let p = h.alloc(layout(48, 8));
            if p.is_null() {
                break;
            }
            got.push(p);
        }
        assert!(!got.is_empty());
        assert_eq!(h.stats().failed, 1);
        assert!(h.alloc(layout(isize::MAX as usize & !15, 8)).is_null());
        assert_eq!(h.stats().failed, 2);
        let last = got.pop();
        // SAFETY: from `alloc` with this layout, freed once.
        unsafe { h.dealloc(last.unwrap_or(ptr::null_mut()), layout(48, 8)) };
        assert!(!h.alloc(layout(40, 8)).is_null());
    }

    #[test]
    fn first_fit_reuses_holes_in_address_order() {
        let mut space = std::vec![0u8; 2048];
        let mut h = heap_over(&mut space);
        let ps: Vec<_> = (0..6).map(|_| h.alloc(layout(32, 16))).collect();
        // Free 1 and 3: two holes of 32 bytes; a 32-byte allocation takes the first.
        // SAFETY: from `alloc` with this layout, each freed once.
        unsafe {
            h.dealloc(ps[1], layout(32, 16));
            h.dealloc(ps[3], layout(32, 16));
        }
        assert_eq!(h.alloc(layout(32, 16)), ps[1]);
        // Freeing 2 next to the hole at 3 merges them into 64 bytes.
        // SAFETY: as above.
        unsafe { h.dealloc(ps[2], layout(32, 16)) };
        assert!(blocks(&h).contains(&(ps[2] as usize, 64)));
    }

    #[test]
    fn global_alloc_wrapper() {
        static HEAP: KernelHeap = KernelHeap::new();
        let mut space = std::vec![0u8; 4096];
        // SAFETY: `space` outlives every use of HEAP in this test, and nothing else uses
        // HEAP.
        unsafe { HEAP.init(space.as_mut_ptr(), space.len()) };
        // SAFETY: a non-zero-size layout; the pointer is freed with the same layout.
        unsafe {
            let p = HEAP.alloc(layout(100, 8));
            assert!(!p.is_null());
            HEAP.dealloc(p, layout(100, 8));
        }
        assert_eq!(HEAP.stats().live, 0);
    }

    #[test]
    fn tiers_spill_in_order_and_the_emergency_tier_is_the_interpreters() {
        static HEAP: KernelHeap = KernelHeap::new();
        let mut space = std::vec![0u8; 4096 + 16];
        let sizes = TierSizes {
            reserve: 1024,
            emergency: 1024,
        };
        // SAFETY: `space` outlives every use of HEAP in this test, and nothing else uses
        // HEAP.
        unsafe { HEAP.init_tiers(space.as_mut_ptr(), space.len(), sizes) };
        let l = layout(256, 16);
        let tier_of = |p: *mut u8| {
            [Tier::Main, Tier::Reserve, Tier::Emergency]
                .into_iter()
                .find(|&t| HEAP.tiers.lock().heap(t).is_some_and(|h| h.contains(p)))
        };
        assert!(HEAP.admit());
        HEAP.enter_machine();
        let mut in_machine = Vec::new();
        loop {
            // SAFETY: a non-zero-size layout.
            let p = unsafe { HEAP.alloc(l) };
            if p.is_null() {
                break;
            }
            in_machine.push((tier_of(p), p));
        }
        // A machine call gets main, then the reserve, never the emergency tier.
        assert!(in_machine.iter().any(|(t, _)| *t == Some(Tier::Main)));
        assert!(in_machine.iter().any(|(t, _)| *t == Some(Tier::Reserve)));
        assert!(in_machine.iter().all(|(t, _)| *t != Some(Tier::Emergency)));
        assert!(!HEAP.admit(), "admitted with main and reserve full");
        HEAP.leave_machine();
        // SAFETY: a non-zero-size layout; freed below with it.
        let q = unsafe { HEAP.alloc(l) };
        assert_eq!(tier_of(q), Some(Tier::Emergency));
        // SAFETY: each pointer came from HEAP with `l` and is freed once.
        unsafe {
            HEAP.dealloc(q, l);
            for (_, p) in in_machine {
                HEAP.dealloc(p, l);
            }
        }
        assert!(HEAP.admit());
        let s = HEAP.stats();
        assert_eq!((s.used, s.live, s.failed), (0, 0, 1));
        assert_eq!(HEAP.tier_stats(Tier::Reserve).size, 1024);
    }
}
