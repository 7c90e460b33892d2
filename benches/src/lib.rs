//! Shared code of the benchmark targets.
