//! A self-contained Tripletex webhook provider.
#![doc = "TODO"]

pub mod clock;
pub mod config;
pub mod error;
pub mod object;
pub mod store;
