//! # chan
//!
//! Multi-producer multi-consumer channels with `select!`: a drop-in
//! replacement for crossbeam-channel 0.5. Rename the dependency and keep
//! your code:
//!
//! ```toml
//! [dependencies]
//! crossbeam-channel = { package = "chan", version = "0.1" }
//! ```
//!
//! Channels come in three flavors, chosen by the constructor:
//! [`bounded(n)`](bounded) (a fixed-size ring; `bounded(0)` is a rendezvous)
//! and [`unbounded()`](unbounded) (a list of blocks that grows and shrinks),
//! plus the timer channels [`after`], [`at`], [`tick`] and [`never()`]. Both
//! [`Sender`] and [`Receiver`] can be cloned and shared between threads.
//! [`Select`] and the [`select!`] macro wait on several operations at once.
//!
//! ```
//! use chan::{bounded, select, unbounded};
//! use std::thread;
//! use std::time::Duration;
//!
//! let (jobs, work) = bounded(8);
//! let (done, results) = unbounded();
//! for _ in 0..2 {
//!     let (work, done) = (work.clone(), done.clone());
//!     thread::spawn(move || {
//!         for n in work.iter() {
//!             done.send(n * n).unwrap();
//!         }
//!     });
//! }
//! drop(done);
//! for n in 0..10u64 {
//!     jobs.send(n).unwrap();
//! }
//! drop(jobs);
//!
//! let mut sum = 0;
//! loop {
//!     select! {
//!         recv(results) -> msg => match msg {
//!             Ok(square) => sum += square,
//!             Err(_) => break,
//!         },
//!         default(Duration::from_secs(10)) => panic!("workers stalled"),
//!     }
//! }
//! assert_eq!(sum, 285);
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod macros;

#[doc(hidden)]
pub use macros::__private;

#[cfg(feature = "stats")]
pub use chan_core::ChannelStats;
pub use chan_core::{
    after, at, bounded, never, tick, unbounded, Drain, IntoIter, Iter, ReadyTimeoutError, Receiver,
    RecvError, RecvTimeoutError, SelectTimeoutError, SendAllError, SendError, SendTimeoutError,
    Sender, TryIter, TryReadyError, TryRecvError, TrySelectError, TrySendError, WeakReceiver,
    WeakSender,
};
pub use chan_select::{Select, SelectedOperation};

#[cfg(feature = "async")]
pub use chan_core::{RecvFuture, RecvStream, SendFuture, SendSink};
#[cfg(feature = "async")]
pub use chan_select::{ReadyFuture, SelectFuture};

/// The README's Rust examples, compiled and run as doc tests, so that the
/// README's code cannot go stale.
#[cfg(all(doctest, feature = "async"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
