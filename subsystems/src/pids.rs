//! The `pids` controller (being written).
use gpc_core::{CfType, Css, Result, Subsystem};

/// The `pids` controller.
pub struct Pids;

/// Per-container state.
#[derive(Default)]
pub struct State;

impl Subsystem for Pids {
    type State = State;
    const NAME: &'static str = "pids";
    fn files(&self) -> &'static [CfType<Self>] {
        &[]
    }
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(State)
    }
}
