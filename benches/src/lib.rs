//! Shared code of the benchmark targets: the contenders behind one set of
//! traits, the workloads written once against those traits, and the report
//! (tables, RESULTS.md, results.svg) of the side-by-side comparison.

#![warn(missing_docs)]

pub mod contenders;
pub mod report;
pub mod workloads;
