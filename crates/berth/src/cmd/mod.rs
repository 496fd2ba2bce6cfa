//! One module per group of docker commands; each command is an `Args` struct and an async
//! function that returns the exit status.

pub mod auth;
pub mod exec;
pub mod files;
pub mod images;
pub mod inspect;
pub mod lifecycle;
pub mod logs;
pub mod options;
pub mod ps;
pub mod run;
pub mod system;
pub mod update;
pub mod volumes;
