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

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use gpc_core::host::alloc::try_string;
use gpc_core::{Release, Result};

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
    /// Every distinct agent and path of the calls, with its id.
    strings: BTreeMap<String, u32>,
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
        let agent = self.id(release.agent)?;
        let path = self.id(release.path)?;
        if let Some(last) = self.runs.last_mut() {
            if last.agent == agent && last.path == path && last.count < u32::MAX {
                last.count += 1;
                return Ok(());
            }
        }
        self.runs.try_reserve(1)?;
        self.runs.push(Run {
            agent,
            path,
            count: 1,
        });
        Ok(())
    }

    /// The id of `s`, stored if new. A string stored here that no run uses yet (the
    /// path failed after the agent was stored) is harmless: the next call reuses it.
    fn id(&mut self, s: &str) -> Result<u32> {
        if let Some(&id) = self.strings.get(s) {
            return Ok(id);
        }
        let id = u32::try_from(self.strings.len()).map_err(|_| gpc_core::Error::ENOMEM)?;
        self.strings.insert(try_string(s)?, id);
        Ok(id)
    }

    /// How many calls are recorded.
    pub fn calls(&self) -> usize {
        self.runs.iter().map(|r| r.count as usize).sum()
    }

    /// How many distinct strings (agents and paths) the log holds.
    pub fn distinct_strings(&self) -> usize {
        self.strings.len()
    }

    /// The calls as `(agent, path)`, in order, without forgetting them.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let mut by_id: Vec<&str> = Vec::new();
        if by_id.try_reserve_exact(self.strings.len()).is_ok() {
            by_id.resize(self.strings.len(), "");
            for (s, &id) in &self.strings {
                if let Some(slot) = by_id.get_mut(id as usize) {
                    *slot = s;
                }
            }
        }
        self.runs.iter().flat_map(move |run| {
            let agent = by_id.get(run.agent as usize).copied().unwrap_or("");
            let path = by_id.get(run.path as usize).copied().unwrap_or("");
            core::iter::repeat((agent, path)).take(run.count as usize)
        })
    }

    /// The paths of the calls, in order, and forgets them all.
    pub fn take_paths(&mut self) -> Vec<String> {
        let mut paths = Vec::new();
        if paths.try_reserve_exact(self.calls()).is_ok() {
            paths.extend(self.iter().map(|(_, path)| String::from(path)));
        }
        self.strings.clear();
        self.runs.clear();
        paths
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
        assert_eq!(log.take_paths(), ["/a", "/a", "/b", "/a"]);
        assert_eq!(log.calls(), 0);
        assert!(log.take_paths().is_empty());
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
        let paths = log.take_paths();
        assert_eq!(paths.len(), 100_000);
        assert_eq!(paths.get(50_000).map(String::as_str), Some("/a"));
        assert_eq!(paths.get(50_001).map(String::as_str), Some("/b"));
        Ok(())
    }
}
