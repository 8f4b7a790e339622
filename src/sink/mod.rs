//! Outputs: the Parquet files (events and findings) and the run summary.

pub mod columns;
#[cfg(test)]
mod differential_tests;
pub mod parquet;
pub mod summary;
