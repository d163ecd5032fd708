pub mod compose;
pub mod config;
pub mod core;
pub mod mail;
