//! The `memory` controller (being written).
use gpc_core::{CfType, Css, Result, Subsystem};

/// The `memory` controller.
pub struct Memory;

/// Per-container state.
#[derive(Default)]
pub struct State;

impl Subsystem for Memory {
    type State = State;
    const NAME: &'static str = "memory";
    fn files(&self) -> &'static [CfType<Self>] {
        &[]
    }
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(State)
    }
}
