//! Outputs: the Parquet files (events and findings), the output folder, and the run summary
//! (its assembly and its renderings).

pub(crate) mod assemble;
pub(crate) mod control;
#[cfg(test)]
mod differential_tests;
pub mod evidence;
pub(crate) mod output;
pub mod pages;
pub mod parquet;
pub mod profile;
pub mod report;
pub mod sessions;
pub mod summary;
