//! Payload models: the objects that webhook events carry.

mod reference;

pub use reference::Ref;
