//! One module per group of docker commands; each command is an `Args` struct and an async
//! function that returns the exit status. `options`, `ports`, `endpoints` and `ipam` turn
//! flags into request bodies and are pure.

pub mod auth;
pub mod endpoints;
pub mod exec;
pub mod df;
pub mod files;
pub mod images;
pub mod inspect;
pub mod ipam;
pub mod lifecycle;
pub mod logs;
pub mod networks;
pub mod options;
pub mod ports;
pub mod ps;
pub mod run;
pub mod system;
pub mod update;
pub mod volumes;
