//! The domain: the event catalogue, the official models, the hosted object
//! resources, and the object shapes both responses and webhook payloads share.

pub(crate) mod catalog;
pub(crate) mod model;
pub(crate) mod object;
pub(crate) mod query;
pub(crate) mod resources;
