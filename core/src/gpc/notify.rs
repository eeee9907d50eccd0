//! Change notification: files whose contents change by themselves (Linux
//! `cgroup_file_notify` → `kernfs_notify`), so that a kernel can wake `poll` and
//! `inotify` waiters.
//!
//! As kernfs does, a change queues the container (an intrusive link: queuing never
//! allocates, so it may happen under the css_group table's spinning lock, where the
//! populated state flips) with a bit per changed file, and wakes the host
//! ([`Host::files_changed`]); the host later drains the queue from a context of its own
//! ([`Gpc::drain_notifications`]), as `kernfs_notify_workfn` runs from a work item. A
//! container changed twice before the drain is delivered once.
//!
//! Today one file notifies: `cgroup.events` of the unified hierarchy, when `populated`
//! flips. Writes are not notified here: the host's VFS sees them.

use alloc::boxed::Box;

use super::{Gpc, HierarchyId};
use crate::container::{Container, NOTIFY_EVENTS};
use crate::host::alloc::{try_box, Gfp};
use crate::host::Host;
use crate::list::{HHead, HNode};
use crate::primitive::Ordering;

/// The containers with changed files (Linux `kernfs_notify_list`). The head is boxed:
/// a linked container points back at it (`pprev`), and the `Gpc` holding the queue may
/// move.
pub(crate) struct NotifyQueue {
    list: Box<HHead>,
}

impl NotifyQueue {
    /// An empty queue.
    ///
    /// # Errors
    ///
    /// `ENOMEM`.
    pub(crate) fn try_new() -> crate::Result<Self> {
        Ok(NotifyQueue {
            list: try_box(HHead::new(), Gfp::KERNEL)?,
        })
    }
}

// SAFETY: the list links containers gpc owns; it is only touched under its lock.
unsafe impl Send for NotifyQueue {}

/// The container whose `notify_link` is `node`.
///
/// # Safety
///
/// `node` is the `notify_link` of a live container.
unsafe fn container_of_link<'a>(node: *const HNode) -> &'a Container {
    let offset = core::mem::offset_of!(Container, notify_link);
    // SAFETY: `node` lies `offset` bytes into a live container (caller); the pointer
    // came from a reference to the whole container (`queue` links `&c.notify_link`).
    unsafe { &*node.cast::<u8>().sub(offset).cast::<Container>() }
}

impl<H: Host> Gpc<H> {
    /// Queue a change of `files` (bits such as [`NOTIFY_EVENTS`]) of `c` and wake the
    /// host. Any context: takes only the queue's spinning lock (after the table lock,
    /// when called under it).
    pub(super) fn queue_notify(&self, c: &Container, files: u32) {
        let q = self.notify.lock();
        let before = c.notify_files.fetch_or(files, Ordering::Relaxed);
        if before == 0 {
            // SAFETY: under the queue's lock; the link is on no list while no bit is
            // set (set and cleared under this lock), and a container is unlinked here
            // before it is freed (`dequeue_notify`).
            unsafe { q.list.add_head(&c.notify_link) };
        }
        drop(q);
        self.host.files_changed();
    }

    /// Take `c` off the queue (it is being removed: its files are gone).
    pub(super) fn dequeue_notify(&self, c: &Container) {
        let _q = self.notify.lock();
        if c.notify_files.swap(0, Ordering::Relaxed) != 0 {
            // SAFETY: under the queue's lock, and linked (a bit was set).
            unsafe { c.notify_link.del() };
        }
    }

    /// Deliver every queued change: `f(hierarchy, container id, file name)` once per
    /// changed file, newest container first. Holds no lock while `f` runs, so `f` may
    /// call gpc (and sleep).
    pub fn drain_notifications(&self, f: &mut dyn FnMut(HierarchyId, u64, &'static str)) {
        loop {
            let (hier, id, files) = {
                let q = self.notify.lock();
                // SAFETY: under the queue's lock: every node on it is the link of a live
                // container (removed containers are dequeued first).
                let first = unsafe { q.list.first() };
                if first.is_null() {
                    return;
                }
                // SAFETY: as above.
                let c = unsafe { container_of_link(first) };
                // SAFETY: under the lock, linked.
                unsafe { c.notify_link.del() };
                let files = c.notify_files.swap(0, Ordering::Relaxed);
                (HierarchyId(c.hier), c.id, files)
            };
            if files & NOTIFY_EVENTS != 0 {
                f(hier, id, "cgroup.events");
            }
        }
    }
}
