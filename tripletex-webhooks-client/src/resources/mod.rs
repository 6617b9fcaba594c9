//! One handle per API resource.

mod events;
mod objects;
mod subscriptions;

pub use events::Events;
pub use objects::{GetObject, Objects};
pub use subscriptions::{ListSubscriptions, Subscriptions};
