//! The `freezer` controller (being written).
use gpc_core::{CfType, Css, Result, Subsystem};

/// The `freezer` controller.
pub struct Freezer;

/// Per-container state.
#[derive(Default)]
pub struct State;

impl Subsystem for Freezer {
    type State = State;
    const NAME: &'static str = "freezer";
    fn files(&self) -> &'static [CfType<Self>] {
        &[]
    }
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(State)
    }
}
