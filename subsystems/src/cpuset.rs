//! The `cpuset` controller (being written).
use gpc_core::{CfType, Css, Result, Subsystem};

/// The `cpuset` controller.
pub struct Cpuset;

/// Per-container state.
#[derive(Default)]
pub struct State;

impl Subsystem for Cpuset {
    type State = State;
    const NAME: &'static str = "cpuset";
    fn files(&self) -> &'static [CfType<Self>] {
        &[]
    }
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(State)
    }
}
