//! The seam between the framework and a hierarchy's rules.
//!
//! Everything that differs between a v1 hierarchy and the unified (v2) one sits behind
//! [`HierarchyRules`]: which core files a container has, and which subsystem state a
//! container's tasks use. The data is already shaped for v2: a container may hold no
//! state of a subsystem and use its nearest ancestor's (Linux `cgroup_e_css`), which
//! [`HierarchyRules::effective_css`] resolves; v1 always finds the container's own.

use core::ptr::NonNull;

use crate::container::Container;
use crate::subsys::{CssHeader, SubsysId};

/// The rules of one kind of hierarchy.
pub trait HierarchyRules: Send + Sync {
    /// Whether containers of this hierarchy have the core file `name`.
    fn has_core_file(&self, name: &str) -> bool;

    /// The state of subsystem `ss` that tasks in `c` use: the nearest container at or
    /// above `c` that has one.
    fn effective_css(&self, c: &Container, ss: SubsysId) -> Option<NonNull<CssHeader>> {
        let mut cur = Some(c);
        while let Some(x) = cur {
            if let Some(css) = x.css_ref(ss) {
                return Some(css.raw());
            }
            cur = x.parent_ref();
        }
        None
    }
}

/// Linux v1 (`cgroup1_base_files`, kernel/cgroup/cgroup-v1.c).
pub struct V1Rules;

/// The v1 rules.
pub static V1_RULES: V1Rules = V1Rules;

impl HierarchyRules for V1Rules {
    fn has_core_file(&self, name: &str) -> bool {
        matches!(
            name,
            "cgroup.procs"
                | "cgroup.clone_children"
                | "cgroup.sane_behavior"
                | "tasks"
                | "notify_on_release"
                | "release_agent"
        )
    }
}
