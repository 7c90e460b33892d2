//! The `select!` family of macros.
//!
//! The macros are thin `macro_rules!` wrappers that hand their input, together
//! with `$crate`, to the `select_impl!` procedural macro of `chan-macros`.
//! Passing `$crate` lets the expansion reach this crate's public API however
//! the dependency is named (`chan`, `crossbeam_channel`, or a re-export).

/// Waits on several channel operations at once and runs the code of the one
/// that completes.
///
/// # Arms
///
/// The macro takes a list of arms, each one of:
///
/// | arm | operation | the pattern is bound to |
/// |---|---|---|
/// | `recv(r) -> pat => body` | receive from `r` | `Result<T, RecvError>` |
/// | `send(s, msg) -> pat => body` | send `msg` into `s` | `Result<(), SendError<T>>` |
/// | `default => body` or `default() => body` | none of the operations is ready right now | — |
/// | `default(timeout) => body` | none became ready within `timeout` (a [`Duration`](std::time::Duration)) | — |
///
/// - `r` may be any expression that dereferences to a [`Receiver`](crate::Receiver)
///   (`r`, `&r`, `&&&r`, `*boxed`, a `Deref` wrapper, a function call returning a
///   receiver, ...), and likewise `s` for a [`Sender`](crate::Sender).
/// - `pat` is any irrefutable pattern (`msg`, `_`, `ref m`, a tuple, ...). It may
///   reuse the channel's name: `recv(r) -> r => ...` shadows `r` in the body.
/// - At most one `default` arm is allowed, in any position. Without one, the
///   macro blocks until an operation completes.
/// - The same channel may appear in several arms.
/// - There is no limit on the number of arms.
/// - Arms are separated by commas. A comma may follow the last arm, and an arm
///   whose body is a block (`{ ... }`, or `if`/`match`/a loop) needs no comma.
///   Argument lists accept a trailing comma: `send(s, msg,)`.
///
/// # Semantics
///
/// - Every channel expression (and the timeout) is evaluated exactly once, in
///   written order, before anything is selected.
/// - If several operations are ready, one of them is picked uniformly at
///   random (also among several arms on one channel), so no arm starves.
///   Use [`select_biased!`](crate::select_biased!) to prefer earlier arms instead.
/// - A `send` arm's message expression is evaluated only if that arm is
///   chosen, right before the message is sent.
/// - An operation on a disconnected channel counts as ready: a `recv` arm then
///   receives `Err(RecvError)` and a `send` arm gets `Err(SendError(msg))`
///   back.
/// - With `default =>`, the macro never blocks: if no operation is ready, the
///   default body runs. With `default(timeout) =>`, it blocks for at most
///   `timeout`. Either way the default body runs only if, at some moment
///   during the macro's wait, no operation could proceed: a message that was
///   ready the whole time is never left behind. A macro containing only a `default` arm just runs it (after
///   sleeping for the timeout, if one is given).
/// - Exactly one body runs, and its value is the value of the whole macro.
///   Bodies are ordinary code, not closures: `return`, `?`, `break` and
///   `continue` act on the surrounding function or loop, and a body may move
///   or drop the channels it selected on.
/// - The expansion contains no `unsafe` code, so it compiles in crates with
///   `#![forbid(unsafe_code)]`.
///
/// Mistakes in the arms' syntax are reported at the offending tokens, with a
/// message naming what was expected.
///
/// The syntax is that of crossbeam-channel's `select!`, with two relaxations:
/// there is no limit on the number of arms (crossbeam stops at 32), and, as
/// with `match` arms, a body that is an `if`, `match` or loop expression needs
/// no comma either.
///
/// # Examples
///
/// Receive from whichever channel has a message first:
///
/// ```
/// use chan::{select, unbounded};
/// use std::thread;
///
/// let (s1, r1) = unbounded();
/// let (s2, r2) = unbounded();
/// let (go_s, go_r) = unbounded::<()>();
///
/// thread::spawn(move || s1.send("fast").unwrap());
/// // This one waits for a go-ahead that comes only after the select.
/// thread::spawn(move || {
///     go_r.recv().unwrap();
///     s2.send("slow").unwrap();
/// });
///
/// let winner = select! {
///     recv(r1) -> msg => msg.unwrap(),
///     recv(r2) -> msg => msg.unwrap(),
/// };
/// assert_eq!(winner, "fast");
/// go_s.send(()).unwrap();
/// assert_eq!(r2.recv(), Ok("slow"));
/// ```
///
/// Send or receive, whichever can proceed, and give up after a timeout:
///
/// ```
/// use chan::{bounded, select};
/// use std::time::Duration;
///
/// let (s, r) = bounded::<i32>(1);
/// s.send(1).unwrap(); // the channel is now full
///
/// // Only the receive can proceed.
/// let done = select! {
///     send(s, 2) -> res => { res.unwrap(); "sent" }
///     recv(r) -> msg => { assert_eq!(msg, Ok(1)); "received" }
///     default(Duration::from_secs(1)) => "timed out",
/// };
/// assert_eq!(done, "received");
///
/// // The channel is empty now and nobody else sends: only the send can proceed.
/// let done = select! {
///     recv(r) -> _ => "received",
///     send(s, 2) -> res => { res.unwrap(); "sent" }
/// };
/// assert_eq!(done, "sent");
/// ```
///
/// Poll without blocking, and use control flow in the bodies:
///
/// ```
/// use chan::{select, unbounded};
///
/// let (s, r) = unbounded();
/// for i in 1..=5 {
///     s.send(i).unwrap();
/// }
/// drop(s);
///
/// let mut sum = 0;
/// loop {
///     select! {
///         recv(r) -> msg => match msg {
///             Ok(n) => sum += n,
///             Err(_) => break, // disconnected and empty
///         },
///         default => break, // nothing ready (not reached here)
///     }
/// }
/// assert_eq!(sum, 15);
/// ```
///
/// A disconnected channel is always ready:
///
/// ```
/// use chan::{select, unbounded, RecvError, SendError};
///
/// let (s, r) = unbounded::<u8>();
/// drop(r);
/// let res = select! { send(s, 7) -> res => res };
/// assert_eq!(res, Err(SendError(7)));
///
/// let (s, r) = unbounded::<u8>();
/// drop(s);
/// let res = select! { recv(r) -> r => r };
/// assert_eq!(res, Err(RecvError));
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__private::select_impl!($crate, unbiased; $($tokens)*)
    };
}

/// Like [`select!`](crate::select!), but when several operations are ready, the one written
/// first wins.
///
/// The arms, their syntax and every other rule are those of [`select!`](crate::select!). Only
/// the choice among operations that are ready at the same time differs:
/// `select!` picks one at random, `select_biased!` picks the earliest arm.
/// This makes priorities easy to express, at the price of fairness: an arm
/// can starve if an earlier one is always ready.
///
/// # Examples
///
/// Always drain the high-priority channel first:
///
/// ```
/// use chan::{select_biased, unbounded};
///
/// let (urgent_s, urgent) = unbounded();
/// let (normal_s, normal) = unbounded();
/// for i in 0..3 {
///     normal_s.send(i).unwrap();
///     urgent_s.send(i + 100).unwrap();
/// }
///
/// let mut order = Vec::new();
/// for _ in 0..6 {
///     select_biased! {
///         recv(urgent) -> msg => order.push(msg.unwrap()),
///         recv(normal) -> msg => order.push(msg.unwrap()),
///     }
/// }
/// assert_eq!(order, [100, 101, 102, 0, 1, 2]);
/// ```
///
/// With a `default` arm it never blocks:
///
/// ```
/// use chan::{select_biased, unbounded};
///
/// let (_s, r) = unbounded::<i32>();
/// let got = select_biased! {
///     recv(r) -> msg => msg.ok(),
///     default => None,
/// };
/// assert_eq!(got, None);
/// ```
#[macro_export]
macro_rules! select_biased {
    ($($tokens:tt)*) => {
        $crate::__private::select_impl!($crate, biased; $($tokens)*)
    };
}

/// [`select!`](crate::select!) for async code: waits by awaiting
/// [`Select::select_async`](crate::Select::select_async) instead of blocking the
/// thread, so it must be used inside an `async` block or function.
///
/// The arms are those of `select!`: `recv(r) -> msg => ...`,
/// `send(s, msg) -> res => ...`, and at most one `default => ...` (do not
/// wait at all) or `default(timeout) => ...` (wait at most `timeout`: it
/// races a [`after`](crate::after) timer channel, and an operation that is
/// ready when the time is up still wins). Ready operations are chosen
/// uniformly at random. Cancel safe: if the enclosing future is dropped
/// while the macro waits, no operation is performed (see the README's
/// "Async" section). The channels can be fed by threads or tasks; on a
/// `bounded(0)` channel a `send` arm pairs only with a receiver that is a
/// thread or a blocking select.
///
/// # Examples
///
/// ```
/// use chan::{select_async, unbounded};
/// use std::time::Duration;
///
/// let (s1, r1) = unbounded::<i32>();
/// let (_s2, r2) = unbounded::<i32>();
/// std::thread::spawn(move || s1.send(1).unwrap());
///
/// futures::executor::block_on(async {
///     let got = select_async! {
///         recv(r1) -> msg => msg.unwrap(),
///         recv(r2) -> msg => msg.unwrap() * 10,
///         default(Duration::from_secs(10)) => panic!("nothing arrived"),
///     };
///     assert_eq!(got, 1);
/// });
/// ```
#[cfg(feature = "async")]
#[macro_export]
macro_rules! select_async {
    ($($tokens:tt)*) => {
        $crate::__private::select_impl!($crate, unbiased_async; $($tokens)*)
    };
}

/// [`select_biased!`](crate::select_biased!) for async code: like
/// [`select_async!`](crate::select_async!), but when several operations are
/// ready the one written first wins (and the timeout of a
/// `default(timeout)` arm comes after all of them).
///
/// # Examples
///
/// ```
/// use chan::{select_biased_async, unbounded};
///
/// let (urgent_s, urgent) = unbounded();
/// let (normal_s, normal) = unbounded();
/// normal_s.send("later").unwrap();
/// urgent_s.send("first").unwrap();
///
/// futures::executor::block_on(async {
///     let got = select_biased_async! {
///         recv(urgent) -> msg => msg.unwrap(),
///         recv(normal) -> msg => msg.unwrap(),
///     };
///     assert_eq!(got, "first");
/// });
/// ```
#[cfg(feature = "async")]
#[macro_export]
macro_rules! select_biased_async {
    ($($tokens:tt)*) => {
        $crate::__private::select_impl!($crate, biased_async; $($tokens)*)
    };
}

/// Same as [`select!`](crate::select!); kept because crossbeam-channel exports a macro of this
/// name that some code calls directly.
#[doc(hidden)]
#[macro_export]
macro_rules! crossbeam_channel_internal {
    ($($tokens:tt)*) => {
        $crate::__private::select_impl!($crate, unbiased; $($tokens)*)
    };
}

/// Implementation details of the macros; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use chan_macros::select_impl;
}
