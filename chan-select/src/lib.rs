//! The select engine of [chan](https://docs.rs/chan): wait on several
//! channel operations at once and complete exactly one. Use the `chan`
//! facade, which re-exports [`Select`] and [`SelectedOperation`] and adds the
//! `select!` macros.
//!
//! ```
//! use chan_select::Select;
//! let (s1, r1) = chan_core::unbounded::<i32>();
//! let (_s2, r2) = chan_core::unbounded::<i32>();
//! s1.send(10).unwrap();
//!
//! let mut sel = Select::new();
//! let first = sel.recv(&r1);
//! let _second = sel.recv(&r2);
//! let oper = sel.select();
//! assert_eq!(oper.index(), first);
//! assert_eq!(oper.recv(&r1), Ok(10));
//! ```
#![deny(missing_docs)]
#![warn(unsafe_op_in_unsafe_fn)]

#[cfg(feature = "async")]
mod awaited;
mod select;

#[cfg(feature = "async")]
pub use awaited::{ReadyFuture, SelectFuture};
pub use select::{Select, SelectedOperation};
