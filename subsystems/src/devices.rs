//! The `devices` controller (being written).
use gpc_core::{CfType, Css, Result, Subsystem};

/// The `devices` controller.
pub struct Devices;

/// Per-container state.
#[derive(Default)]
pub struct State;

impl Subsystem for Devices {
    type State = State;
    const NAME: &'static str = "devices";
    fn files(&self) -> &'static [CfType<Self>] {
        &[]
    }
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(State)
    }
}
