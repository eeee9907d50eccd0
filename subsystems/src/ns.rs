//! The `ns` controller (being written).
use gpc_core::{CfType, Css, Result, Subsystem};

/// The `ns` controller.
pub struct Ns;

/// Per-container state.
#[derive(Default)]
pub struct State;

impl Subsystem for Ns {
    type State = State;
    const NAME: &'static str = "ns";
    fn files(&self) -> &'static [CfType<Self>] {
        &[]
    }
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(State)
    }
}
