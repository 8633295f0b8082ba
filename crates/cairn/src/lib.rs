//! The `cairn` binary's parts: the command line, configuration, logging and
//! the processes it runs. Kept as a library so integration tests and the
//! benchmark harness use the same code as the command.

pub mod admin;
pub mod bench;
mod bench_goals;
mod bench_hooks;
mod bench_live;
mod bench_sync;
mod bench_time;
pub mod cli;
pub mod config;
pub mod demo;
pub mod instances;
pub mod process;
pub mod serve;
pub mod sim;
pub mod telemetry;
