//! The domain: the event catalogue, the hosted object resources, and the
//! object shapes both responses and webhook payloads share.

pub(crate) mod catalog;
pub(crate) mod object;
pub(crate) mod resources;
