//! Malformed `select!` / `select_biased!` invocations must fail to compile
//! with a clear error at the offending tokens. The expected messages live in
//! `tests/ui/*.stderr`; regenerate them with
//! `TRYBUILD=overwrite cargo test --test compile_fail` and review the diff.

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
