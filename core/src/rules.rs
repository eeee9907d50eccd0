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

    /// Whether this is the unified (v2) hierarchy, whose moves, limits and files follow
    /// `Documentation/admin-guide/cgroup-v2.rst`.
    fn unified(&self) -> bool {
        false
    }

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

/// Linux v2 (`cgroup_base_files`, kernel/cgroup/cgroup.c): the unified hierarchy.
pub struct V2Rules;

/// The v2 rules.
pub static V2_RULES: V2Rules = V2Rules;

impl HierarchyRules for V2Rules {
    fn has_core_file(&self, name: &str) -> bool {
        // cgroup_base_files and cgroup_psi_files (kernel/cgroup/cgroup.c).
        matches!(
            name,
            "cgroup.type"
                | "cgroup.procs"
                | "cgroup.threads"
                | "cgroup.controllers"
                | "cgroup.subtree_control"
                | "cgroup.events"
                | "cgroup.max.descendants"
                | "cgroup.max.depth"
                | "cgroup.stat"
                | "cgroup.stat.local"
                | "cgroup.freeze"
                | "cgroup.kill"
                | "cpu.stat"
                | "cpu.stat.local"
                | "io.pressure"
                | "memory.pressure"
                | "cpu.pressure"
                | "cgroup.pressure"
        )
    }

    fn unified(&self) -> bool {
        true
    }
}

/// Whether `cgroup.subtree_control` may name controller `name`: not one Linux inhibits
/// on v2 (`cgrp_dfl_inhibit_ss_mask`: no v2 interface, `cgroup_init`), that is
/// `cpuacct`, `devices`, `freezer`, `net_cls`, `net_prio`, `debug` without the
/// `cgroup_debug` boot flag, and gpc's `ns` (the seed's, gone from Linux).
pub(crate) fn has_v2_interface(name: &str) -> bool {
    !matches!(
        name,
        "cpuacct" | "devices" | "freezer" | "net_cls" | "net_prio" | "debug" | "ns"
    )
}
