//! The record of release agent calls that `releases` prints and forgets.
//!
//! On Linux every release runs the hierarchy's `release_agent` with the group's path
//! (kernel/cgroup/cgroup-v1.c `cgroup1_release_agent`, a work item that runs soon after
//! the group was released); a group released twice between two `releases` is two calls,
//! and FORMAT.md prints each. What gpc-core queues is bounded already (at most one
//! pending notification per container, like Linux's one `release_agent_work` per cgroup,
//! and drained after every command); this is the machine's log of the calls made since,
//! which a script may leave unread for as long as it likes. So the log stores each
//! distinct string (an agent, a path) once, and the calls as runs of identical ones:
//! one group released 50,000 times costs one run, 50,000 groups cost their paths, and
//! an agent string is stored once however many calls it made (it used to be copied into
//! every call: 50,000 releases with a 3 KB agent took 155 MB).
//!
//! Allocation is fallible (the hobby kernel's allocator returns null): a call that cannot
//! be recorded is `ENOMEM` with the log as it was, and taking the calls is `ENOMEM` with
//! the calls kept, never an abort and never a call lost.

use alloc::string::String;
use alloc::vec::Vec;
use core::hash::BuildHasher;

use gpc_core::host::alloc::{try_string, Gfp};
use gpc_core::{Error, Release, Result};
use hashbrown::{DefaultHashBuilder, HashTable};

/// Identical consecutive calls: string ids of the agent and the path, and how many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    agent: u32,
    path: u32,
    count: u32,
}

/// The release agent calls not yet taken, in order.
#[derive(Debug, Default)]
pub struct ReleaseLog {
    /// Every distinct agent and path of the calls; a string's id is its index.
    strings: Vec<String>,
    /// The ids of `strings`, hashed by their text (a hashbrown table: an insert after
    /// `try_reserve` cannot fail).
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
    runs: Vec<Run>,
}

impl ReleaseLog {
    /// An empty log.
    pub fn new() -> Self {
        ReleaseLog::default()
    }

    /// Records one call.
    ///
    /// # Errors
    ///
    /// `ENOMEM`, leaving the log as it was (the caller keeps the notification queued).
    pub fn record(&mut self, release: Release<'_>) -> Result {
        self.runs.try_reserve(1)?;
        let (agent, agent_new) = self.id(release.agent)?;
        let path = match self.id(release.path) {
            Ok((path, _)) => path,
            Err(e) => {
                if agent_new {
                    self.forget_newest();
                }
                return Err(e);
            }
        };
        if let Some(last) = self.runs.last_mut() {
            if last.agent == agent && last.path == path && last.count < u32::MAX {
                last.count += 1;
                return Ok(());
            }
        }
        self.runs.push(Run {
            agent,
            path,
            count: 1,
        });
        Ok(())
    }

    /// The id of `s`, and whether it was stored by this call.
    fn id(&mut self, s: &str) -> Result<(u32, bool)> {
        let hash = self.hasher.hash_one(s);
        let strings = &self.strings;
        let same = |&id: &u32| strings.get(id as usize).is_some_and(|t| t == s);
        if let Some(&id) = self.index.find(hash, same) {
            return Ok((id, false));
        }
        let id = u32::try_from(self.strings.len()).map_err(|_| Error::ENOMEM)?;
        let owned = try_string(s, Gfp::KERNEL)?;
        self.strings.try_reserve(1)?;
        let (strings, hasher) = (&self.strings, &self.hasher);
        let rehash = |&id: &u32| hasher.hash_one(strings.get(id as usize).map_or("", |t| t));
        self.index.try_reserve(1, rehash)?;
        self.strings.push(owned);
        let (strings, hasher) = (&self.strings, &self.hasher);
        let rehash = |&id: &u32| hasher.hash_one(strings.get(id as usize).map_or("", |t| t));
        self.index.insert_unique(hash, id, rehash);
        Ok((id, true))
    }

    /// Forgets the string stored last (which no run uses yet).
    fn forget_newest(&mut self) {
        let Some(newest) = self.strings.len().checked_sub(1) else {
            return;
        };
        if let Some(s) = self.strings.get(newest) {
            let hash = self.hasher.hash_one(s.as_str());
            if let Ok(entry) = self.index.find_entry(hash, |&id| id as usize == newest) {
                entry.remove();
            }
        }
        self.strings.truncate(newest);
    }

    /// How many calls are recorded.
    pub fn calls(&self) -> usize {
        self.runs
            .iter()
            .fold(0usize, |n, r| n.saturating_add(r.count as usize))
    }

    /// How many distinct strings (agents and paths) the log holds.
    pub fn distinct_strings(&self) -> usize {
        self.strings.len()
    }

    /// The calls as `(agent, path)`, in order, without forgetting them.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let text = |id: u32| self.strings.get(id as usize).map_or("", String::as_str);
        self.runs.iter().flat_map(move |run| {
            core::iter::repeat((text(run.agent), text(run.path))).take(run.count as usize)
        })
    }

    /// The paths of the calls, in order, and forgets them all.
    ///
    /// # Errors
    ///
    /// `ENOMEM`, forgetting nothing.
    pub fn take_paths(&mut self) -> Result<Vec<String>> {
        let mut paths = Vec::new();
        paths.try_reserve_exact(self.calls())?;
        for (_, path) in self.iter() {
            paths.push(try_string(path, Gfp::KERNEL)?);
        }
        // Fresh, not cleared: the memory of a burst of calls goes back.
        self.strings = Vec::new();
        self.index = HashTable::new();
        self.runs = Vec::new();
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel<'a>(agent: &'a str, path: &'a str) -> Release<'a> {
        Release { agent, path }
    }

    #[test]
    fn calls_keep_their_order_and_repeats() -> Result {
        let mut log = ReleaseLog::new();
        for (agent, path) in [("/ag", "/a"), ("/ag", "/a"), ("/ag", "/b"), ("/x", "/a")] {
            log.record(rel(agent, path))?;
        }
        assert_eq!(log.calls(), 4);
        let calls: Vec<(&str, &str)> = log.iter().collect();
        assert_eq!(
            calls,
            [("/ag", "/a"), ("/ag", "/a"), ("/ag", "/b"), ("/x", "/a")]
        );
        assert_eq!(log.take_paths()?, ["/a", "/a", "/b", "/a"]);
        assert_eq!(log.calls(), 0);
        assert!(log.take_paths()?.is_empty());
        Ok(())
    }

    #[test]
    fn memory_follows_distinct_strings_not_calls() -> Result {
        let agent = "/sbin/agent-".repeat(250);
        let mut log = ReleaseLog::new();
        // One group released 50,000 times: one run, two strings.
        for _ in 0..50_000 {
            log.record(rel(&agent, "/a/b"))?;
        }
        assert_eq!(
            (log.calls(), log.runs.len(), log.distinct_strings()),
            (50_000, 1, 2)
        );
        // Two groups alternating: a run per call, still three strings.
        for i in 0..50_000 {
            log.record(rel(&agent, if i % 2 == 0 { "/a" } else { "/b" }))?;
        }
        assert_eq!(log.distinct_strings(), 4);
        assert_eq!(log.calls(), 100_000);
        let paths = log.take_paths()?;
        assert_eq!(paths.len(), 100_000);
        assert_eq!(paths.get(50_000).map(String::as_str), Some("/a"));
        assert_eq!(paths.get(50_001).map(String::as_str), Some("/b"));
        Ok(())
    }
}
