//! Release notifications (`notify_on_release` + `release_agent`).
//!
//! When a container with `notify_on_release` loses its last task and its last child, gpc
//! queues it here, from whatever context noticed (often an exit, under the table lock).
//! Queuing never allocates: the queue's capacity is reserved when `notify_on_release` is
//! set (by a write or inherited at `mkdir`), one slot per flagged container, so an exit
//! cannot fail. The host drains the queue from its own context (`Gpc::drain_releases`)
//! and runs the hierarchy's `release_agent` with each path, as Linux's
//! `cgroup1_release_agent` work item does. No callback into the host happens
//! synchronously (Tock's rule); the host only gets a `release_queued` kick.

use alloc::collections::VecDeque;
use core::ptr::NonNull;

use crate::container::Container;
use crate::error::Result;
use crate::host::alloc::{with_flags, Gfp};
use crate::primitive::Ordering;

/// One release to report: the agent to run and the container's path, both borrowed
/// for the length of the host's callback (a host that keeps them copies what it needs;
/// nothing is copied per notification on gpc's side).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Release<'a> {
    /// The hierarchy's `release_agent` at drain time.
    pub agent: &'a str,
    /// The container's path relative to the hierarchy root (`/a/b`).
    pub path: &'a str,
}

pub(crate) struct ReleaseQueue {
    pub(crate) queue: VecDeque<NonNull<Container>>,
    /// Containers with `notify_on_release` set: the capacity the queue must keep.
    pub(crate) reserved: usize,
}

// SAFETY: the queue holds pointers to containers, which are Send + Sync; it is only
// touched under its lock.
unsafe impl Send for ReleaseQueue {}

impl ReleaseQueue {
    pub(crate) fn new() -> Self {
        ReleaseQueue {
            queue: VecDeque::new(),
            reserved: 0,
        }
    }

    /// Make room for one more flagged container.
    pub(crate) fn reserve_one(&mut self, flags: Gfp) -> Result {
        let want = self.reserved + 1;
        if self.queue.capacity() < want {
            with_flags(flags, || self.queue.try_reserve(want - self.queue.len()))?;
        }
        self.reserved = want;
        Ok(())
    }

    pub(crate) fn unreserve_one(&mut self) {
        self.reserved = self.reserved.saturating_sub(1);
    }

    /// Queue `c` unless already queued. Never allocates while the reservation holds; if
    /// it somehow does not, the notification is dropped rather than risk a failure on
    /// the exit path.
    pub(crate) fn push(&mut self, c: NonNull<Container>) -> bool {
        // SAFETY: callers pass a live container (under the table or hierarchy lock).
        let cont = unsafe { c.as_ref() };
        if cont.release_queued.load(Ordering::Relaxed) {
            return false;
        }
        if self.queue.len() >= self.queue.capacity() {
            return false;
        }
        cont.release_queued.store(true, Ordering::Relaxed);
        self.queue.push_back(c);
        true
    }

    pub(crate) fn remove(&mut self, c: NonNull<Container>) {
        self.queue.retain(|x| *x != c);
        // SAFETY: `c` is live (the caller is removing it under the hierarchy lock).
        unsafe { c.as_ref() }
            .release_queued
            .store(false, Ordering::Relaxed);
    }
}
