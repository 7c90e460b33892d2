//! Procedural macros behind `chan::select!` and `chan::select_biased!`.
//!
//! This crate is an implementation detail of `chan`: depend on `chan` and use
//! its `select!` / `select_biased!` macros instead of anything in here. The
//! only export, [`select_impl!`], is called by those `macro_rules!` wrappers,
//! which pass `$crate` along so that the expansion reaches the runtime however
//! the `chan` dependency is named (for example `crossbeam_channel`).
//!
//! The expansion uses only `chan`'s public API (`Select`, `Receiver`,
//! `Sender`, `SelectedOperation`), contains no `unsafe`, evaluates every
//! channel expression exactly once and in the order written, evaluates a send
//! arm's message only when that arm is chosen, and emits every arm body
//! exactly once, outside of any closure.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod expand;
mod parse;

use proc_macro::TokenStream;

/// Expands a `select!` or `select_biased!` block.
///
/// Input: `<path to chan> , <unbiased | biased> ; <arms>`. Not meant to be
/// called directly: use `chan::select!` or `chan::select_biased!`.
#[doc(hidden)]
#[proc_macro]
pub fn select_impl(input: TokenStream) -> TokenStream {
    match syn::parse::Parser::parse2(parse::parse_input, input.into()) {
        Ok(parsed) => expand::expand(&parsed).into(),
        Err(err) => err.to_compile_error().into(),
    }
}
