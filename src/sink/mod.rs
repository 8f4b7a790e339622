//! Outputs: the Parquet files (events and findings) and the run summary.

pub mod dict;
pub mod parquet;
pub mod summary;
