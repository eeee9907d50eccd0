//! The `cpu` controller (being written).
use gpc_core::{CfType, Css, Result, Subsystem};

/// The `cpu` controller.
pub struct Cpu;

/// Per-container state.
#[derive(Default)]
pub struct State;

impl Subsystem for Cpu {
    type State = State;
    const NAME: &'static str = "cpu";
    fn files(&self) -> &'static [CfType<Self>] {
        &[]
    }
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(State)
    }
}
