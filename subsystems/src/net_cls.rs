//! The `net_cls` controller (being written).
use gpc_core::{CfType, Css, Result, Subsystem};

/// The `net_cls` controller.
pub struct NetCls;

/// Per-container state.
#[derive(Default)]
pub struct State;

impl Subsystem for NetCls {
    type State = State;
    const NAME: &'static str = "net_cls";
    fn files(&self) -> &'static [CfType<Self>] {
        &[]
    }
    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<State> {
        Ok(State)
    }
}
