//! Outputs: the Parquet files (events and findings), the output folder, and the run summary
//! (its assembly and its renderings).

pub(crate) mod assemble;
pub mod columns;
pub(crate) mod output;
pub mod parquet;
pub mod summary;
