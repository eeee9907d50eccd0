//! The `debug` controller (being written).
use gpc_core::{CfType, Css, Result, Subsystem};

/// The `debug` controller.
pub struct Debug;

/// Per-container state.
#[derive(Default)]
pub struct State;

impl Subsystem for Debug {
    type State = State;
    const NAME: &'static str = "debug";
    fn files(&self) -> &'static [CfType<Self>] {
        &[]
    }
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(State)
    }
}
