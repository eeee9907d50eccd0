//! The `cpuacct` controller (being written).
use gpc_core::{CfType, Css, Result, Subsystem};

/// The `cpuacct` controller.
pub struct Cpuacct;

/// Per-container state.
#[derive(Default)]
pub struct State;

impl Subsystem for Cpuacct {
    type State = State;
    const NAME: &'static str = "cpuacct";
    fn files(&self) -> &'static [CfType<Self>] {
        &[]
    }
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(State)
    }
}
