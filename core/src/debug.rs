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
    /// `debug.cgroup_subsys_states` (`cgroup_subsys_states_read`): one line per subsystem
    /// state of the container, `"%2d: %-4s\t- %lx[%d] %d%s\n"` (subsystem id, name, state
    /// address, state id, online count, ` P=PARENT_ID` below the root). The default
    /// prints nothing.
    fn container_subsys_states(&self, _out: &mut Out<'_>) -> Result {
        Ok(())
    }
    /// `debug.cgroup_masks` (`cgroup_masks_read`): the `subtree_control` and
    /// `subtree_ss_mask` lines, `"%-17s: "` then subsystem names joined by `", "`. On v1
    /// both masks are the hierarchy's subsystems (`rebind_subsystems`, `cgroup_create`).
    /// The default prints nothing.
    fn container_masks(&self, _out: &mut Out<'_>) -> Result {
        Ok(())
    }
}
