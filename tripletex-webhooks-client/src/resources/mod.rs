//! One handle per API resource.

mod events;
mod subscriptions;

pub use events::Events;
pub use subscriptions::{ListSubscriptions, Subscriptions};
