//! What the debug controller may see of gpc's own state (Linux kernel/cgroup/debug.c).

use crate::error::Result;
use crate::files::Out;

/// gpc's internals, for the debug controller's files. Every method formats into `out`
/// exactly as the matching Linux debug file does.
pub trait DebugView {
    /// `debug.taskcount`: tasks in the container.
    fn task_count(&self) -> usize;
    /// `debug.current_css_set`: the caller's css_group address (as `0x...`).
    fn current_css_group(&self, out: &mut Out<'_>) -> Result;
    /// `debug.current_css_set_refcount`.
    fn current_css_group_refcount(&self, out: &mut Out<'_>) -> Result;
    /// `debug.current_css_set_cg_links`: `HIERARCHY_ID CONTAINER_PATH` lines.
    fn current_css_group_links(&self, out: &mut Out<'_>) -> Result;
    /// `debug.cgroup_css_links`: the css_groups linked to this container.
    fn container_css_links(&self, out: &mut Out<'_>) -> Result;
    /// `debug.releasable`: whether the container would be released now.
    fn releasable(&self) -> bool;
}
