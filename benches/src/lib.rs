//! Shared code of the benchmark targets: the contenders behind one set of
//! traits, the throughput workloads written once against those traits, the
//! report (tables, RESULTS.md, results.svg) of the side-by-side comparison,
//! the latency workloads of the `latency` bench, and what the harnesses have
//! in common (child-process cells, the machine description).

#![warn(missing_docs)]

pub mod async_workloads;
pub mod cell;
pub mod contenders;
pub mod latency;
pub mod machine;
pub mod report;
pub mod workloads;
