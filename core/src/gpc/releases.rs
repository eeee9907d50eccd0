//! Release notifications: the check an emptying container makes, and the host's drain of
//! the queue (Linux `cgroup1_check_for_release`, `cgroup1_release_agent`).
//!
//! The queue (`crate::release`) never allocates on the exit path: the check may run
//! under the table lock from an exit, so it only pushes into room reserved when
//! `notify_on_release` was set. The drain runs in the host's own context, under the
//! hierarchy lock so the containers it reports stay alive while their paths are built.

use alloc::string::String;
use core::ptr::NonNull;

use super::Gpc;
use crate::container::Container;
use crate::error::Result;
use crate::host::alloc::Gfp;
use crate::host::Host;
use crate::primitive::Ordering;
use crate::release::Release;

impl<H: Host> Gpc<H> {
    /// Linux `cgroup1_check_for_release`.
    pub(super) fn check_for_release(&self, c: &Container) -> bool {
        if c.is_root()
            || !c.notify_on_release.load(Ordering::Acquire)
            || c.is_populated_tree()
            || c.nr_children.load(Ordering::Acquire) != 0
            || c.dead.load(Ordering::Acquire)
        {
            return false;
        }
        self.release.lock().push(NonNull::from(c))
    }

    /// Take the queued release notifications, oldest first, calling `f` for each; a
    /// hierarchy with an empty `release_agent` reports nothing (Linux skips the call).
    /// A notification `f` fails on (`ENOMEM` recording it) goes back to the head of
    /// the queue, with the rest, and the drain stops with that error.
    ///
    /// Each [`Release`] borrows the hierarchy's current `release_agent` and a path built
    /// into one buffer that every notification of the call reuses, so draining copies
    /// no agent string, however many notifications there are: as Linux
    /// `cgroup1_release_agent` (kernel/cgroup/cgroup-v1.c), the work reads the agent and
    /// the path when it runs, not when it was queued. The queue itself holds at most one
    /// entry per container (`release_queued` is Linux's pending bit on the container's
    /// one `release_agent_work`: `schedule_work` of a pending work is a no-op).
    ///
    /// # Errors
    ///
    /// `ENOMEM` if a path cannot be built, or `f`'s error; that entry and the rest stay
    /// queued.
    pub fn drain_releases(&self, f: &mut dyn FnMut(Release<'_>) -> Result) -> Result {
        let tree = self.tree.lock();
        let mut path = String::new();
        loop {
            let next = {
                let mut rq = self.release.lock();
                let Some(c) = rq.queue.pop_front() else {
                    return Ok(());
                };
                // SAFETY: queued containers are alive (rmdir dequeues before freeing).
                unsafe { c.as_ref() }
                    .release_queued
                    .store(false, Ordering::Relaxed);
                c
            };
            // SAFETY: as above; the hierarchy lock keeps it alive while we use it.
            let c = unsafe { next.as_ref() };
            let agent = tree
                .hiers
                .get(c.hier)
                .and_then(|h| h.as_deref())
                .map(|h| h.release_agent.as_str())
                .unwrap_or("");
            if agent.is_empty() {
                continue;
            }
            path.clear();
            let reported = self
                .container_path(c, &mut path, Gfp::KERNEL)
                .and_then(|()| f(Release { agent, path: &path }));
            match reported {
                Ok(()) => {}
                Err(e) => {
                    let mut rq = self.release.lock();
                    rq.queue.push_front(next);
                    c.release_queued.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
    }
}
