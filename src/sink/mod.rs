//! Outputs: the Parquet files (events and findings) and the run summary.

pub mod columns;
pub mod parquet;
pub mod summary;
