//! Shared code of the benchmark targets: the contenders behind one set of
//! traits, the throughput workloads written once against those traits, the
//! report (tables, RESULTS.md, results.svg) of the side-by-side comparison,
//! and the latency workloads of the `latency` bench.

#![warn(missing_docs)]

pub mod contenders;
pub mod latency;
pub mod report;
pub mod workloads;
