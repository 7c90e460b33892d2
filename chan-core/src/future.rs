//! The async API on the ordinary handles: `send_async`, `recv_async`, a
//! `Stream` of received messages and a `Sink` that sends. Every channel is
//! usable from threads and tasks at once; a task waits in the channel's own
//! wait queues (see `crate::task`).
//!
//! Cancel safety, the rules the docs promise:
//! - A receive moves a message only in the poll that returns it. A dropped
//!   [`RecvFuture`] (or [`RecvStream`]) has taken nothing, and if a sender's
//!   wake-up went to it, the wake-up is passed to another waiter.
//! - A send moves its message into the channel only in the poll that
//!   returns `Ready(Ok)`, except on a zero-capacity channel, where a
//!   waiting sender's message sits in the channel's queue for a receiver
//!   to take; dropping that future either finds it taken (the message was
//!   sent) or takes it back, and the message is dropped with the future.
//!   A message is never sent twice.

use crate::channel::{Receiver, Sender};
use crate::err::{RecvError, SendError, TryRecvError, TrySendError};
use crate::flavors::zero::ParkedSend;
use crate::task::{Interest, Next, OneArm, TaskWait};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

// The futures never pin their fields: a message is moved in and out of
// them freely, so they are `Unpin` whatever `T` is.
impl<T> Unpin for SendFuture<'_, T> {}
impl<T> Unpin for SendSink<'_, T> {}

/// A handle that a stream or sink borrows or owns.
enum Handle<'a, H> {
    Borrowed(&'a H),
    Owned(H),
}

impl<H> std::ops::Deref for Handle<'_, H> {
    type Target = H;
    fn deref(&self) -> &H {
        match self {
            Handle::Borrowed(handle) => handle,
            Handle::Owned(handle) => handle,
        }
    }
}

/// One poll of a receive: try, else wait in the channel's queue.
fn poll_recv<T>(
    r: &Receiver<T>,
    wait: &mut TaskWait,
    cx: &mut TaskContext<'_>,
) -> Poll<Result<T, RecvError>> {
    let arm = OneArm(r);
    if wait.resume(cx.waker(), &arm) == Next::Wait {
        return Poll::Pending;
    }
    loop {
        match r.try_recv() {
            Ok(msg) => return Poll::Ready(Ok(msg)),
            Err(TryRecvError::Disconnected) => return Poll::Ready(Err(RecvError)),
            Err(TryRecvError::Empty) => {}
        }
        if wait.subscribe(cx.waker(), &arm, |place| place) == Next::Wait {
            return Poll::Pending;
        }
    }
}

/// A send in progress: the message, and where it waits.
struct SendState<T> {
    msg: Option<T>,
    wait: TaskWait,
    /// A send parked in a zero channel, message and all.
    parked: Option<ParkedSend<T>>,
}

impl<T> SendState<T> {
    fn new(msg: Option<T>) -> Self {
        SendState {
            msg,
            wait: TaskWait::new(Interest::Operation),
            parked: None,
        }
    }

    /// One poll of the send of `self.msg` (which must be there, or parked).
    fn poll(&mut self, s: &Sender<T>, cx: &mut TaskContext<'_>) -> Poll<Result<(), SendError<T>>> {
        if let Some(zero) = s.zero_channel() {
            let poll = zero
                .poll_send(&mut self.msg, &mut self.parked, cx.waker())
                .map_err(SendError);
            #[cfg(feature = "stats")]
            if let Poll::Ready(Ok(())) = poll {
                s.count_sent(1);
            }
            return poll;
        }
        let arm = OneArm(s);
        if self.wait.resume(cx.waker(), &arm) == Next::Wait {
            return Poll::Pending;
        }
        loop {
            let msg = self
                .msg
                .take()
                .expect("a send future polled after it completed");
            match s.try_send(msg) {
                Ok(()) => return Poll::Ready(Ok(())),
                Err(TrySendError::Disconnected(msg)) => return Poll::Ready(Err(SendError(msg))),
                Err(TrySendError::Full(msg)) => self.msg = Some(msg),
            }
            if self.wait.subscribe(cx.waker(), &arm, |place| place) == Next::Wait {
                return Poll::Pending;
            }
        }
    }

    /// True while a message waits to be sent.
    fn is_pending(&self) -> bool {
        self.msg.is_some() || self.parked.is_some()
    }

    /// Gives the send up: the message back if it was not sent.
    fn take_back(&mut self, s: &Sender<T>) -> Option<T> {
        self.wait.cancel(&OneArm(s));
        if let Some(parked) = self.parked.take() {
            if let Some(zero) = s.zero_channel() {
                let back = zero.unpark_send(parked);
                #[cfg(feature = "stats")]
                if back.is_none() {
                    s.count_sent(1);
                }
                return back;
            }
        }
        self.msg.take()
    }
}

/// The future of [`Sender::send_async`].
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    sender: &'a Sender<T>,
    state: SendState<T>,
}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.state.poll(this.sender, cx)
    }
}

impl<T> SendFuture<'_, T> {
    /// Gives the send up, and returns the message if it was not sent: a
    /// future that lost a `select` or timed out, turned back into its
    /// message (dropping the future drops the message instead).
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// use std::future::Future;
    /// use std::pin::pin;
    /// use std::task::{Context, Poll};
    ///
    /// let (s, r) = chan_core::bounded(1);
    /// s.send(1).unwrap();
    /// let mut future = s.send_async(2);
    /// // The channel is full: the send waits.
    /// let waker = futures::task::noop_waker();
    /// assert!(pin!(&mut future).poll(&mut Context::from_waker(&waker)).is_pending());
    /// assert_eq!(future.cancel(), Some(2));
    /// assert_eq!(r.try_recv(), Ok(1));
    /// assert!(r.try_recv().is_err());
    /// # });
    /// ```
    pub fn cancel(mut self) -> Option<T> {
        self.state.take_back(self.sender)
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        drop(self.state.take_back(self.sender));
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("SendFuture { .. }")
    }
}

/// The future of [`Receiver::recv_async`].
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    receiver: &'a Receiver<T>,
    wait: TaskWait,
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        poll_recv(this.receiver, &mut this.wait, cx)
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        self.wait.cancel(&OneArm(self.receiver));
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("RecvFuture { .. }")
    }
}

/// The messages of a receiver as a [`Stream`](futures_core::Stream): from
/// [`Receiver::stream`] (borrowing) or [`Receiver::into_stream`] (owning).
/// It ends once the channel is empty and disconnected.
pub struct RecvStream<'a, T> {
    receiver: Handle<'a, Receiver<T>>,
    wait: TaskWait,
    ended: bool,
}

impl<T> RecvStream<'_, T> {
    fn poll_next_message(&mut self, cx: &mut TaskContext<'_>) -> Poll<Option<T>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match poll_recv(&self.receiver, &mut self.wait, cx) {
            Poll::Ready(Ok(msg)) => Poll::Ready(Some(msg)),
            Poll::Ready(Err(RecvError)) => {
                self.ended = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> futures_core::Stream for RecvStream<'_, T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_next_message(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.receiver.len(), None)
    }
}

impl<T> futures_core::FusedStream for RecvStream<'_, T> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<T> Drop for RecvStream<'_, T> {
    fn drop(&mut self) {
        self.wait.cancel(&OneArm(&*self.receiver));
    }
}

impl<T> fmt::Debug for RecvStream<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("RecvStream { .. }")
    }
}

/// A sender as a [`Sink`](futures_sink::Sink): from [`Sender::sink`]
/// (borrowing) or [`Sender::into_sink`] (owning).
///
/// `start_send` sends at once if the channel has room; otherwise it keeps
/// the one message, and `poll_ready`, `poll_flush` and `poll_close` wait
/// until it is sent. An error hands the message back in [`SendError`].
/// Dropping the sink drops a message it still holds.
pub struct SendSink<'a, T> {
    sender: Handle<'a, Sender<T>>,
    state: SendState<T>,
}

impl<T> SendSink<'_, T> {
    /// Waits until the held message, if any, is sent.
    fn poll_pending(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), SendError<T>>> {
        if !self.state.is_pending() {
            return Poll::Ready(Ok(()));
        }
        self.state.poll(&self.sender, cx)
    }
}

impl<T> futures_sink::Sink<T> for SendSink<'_, T> {
    type Error = SendError<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_pending(cx)
    }

    /// # Panics
    /// Panics if a message is still held: `poll_ready` must return
    /// `Ready(Ok)` before each `start_send`.
    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        let this = self.get_mut();
        assert!(
            !this.state.is_pending(),
            "`start_send` called on a `SendSink` that was not ready"
        );
        match this.sender.try_send(item) {
            Ok(()) => Ok(()),
            Err(TrySendError::Disconnected(item)) => Err(SendError(item)),
            Err(TrySendError::Full(item)) => {
                this.state.msg = Some(item);
                Ok(())
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_pending(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_pending(cx)
    }
}

impl<T> Drop for SendSink<'_, T> {
    fn drop(&mut self) {
        drop(self.state.take_back(&self.sender));
    }
}

impl<T> fmt::Debug for SendSink<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("SendSink { .. }")
    }
}

impl<T> Sender<T> {
    /// Sends a message from async code, waiting (without blocking the
    /// thread) while the channel is full; fails, handing the message back,
    /// once every receiver is gone.
    ///
    /// Cancel safety: dropping the future before it completes sends
    /// nothing, except on a zero-capacity channel, where a receiver may
    /// have taken the message already; either way the message is sent at
    /// most once, and if it was not sent it is dropped with the future.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (s, r) = chan_core::bounded(1);
    /// s.send_async(1).await.unwrap();
    /// assert_eq!(r.recv(), Ok(1));
    /// # });
    /// ```
    pub fn send_async(&self, msg: T) -> SendFuture<'_, T> {
        SendFuture {
            sender: self,
            state: SendState::new(Some(msg)),
        }
    }

    /// This sender as a [`Sink`](futures_sink::Sink), borrowed.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// use futures::SinkExt;
    /// let (s, r) = chan_core::bounded(4);
    /// let mut sink = s.sink();
    /// sink.send(7).await.unwrap();
    /// assert_eq!(r.recv(), Ok(7));
    /// # });
    /// ```
    pub fn sink(&self) -> SendSink<'_, T> {
        SendSink {
            sender: Handle::Borrowed(self),
            state: SendState::new(None),
        }
    }

    /// This sender as a [`Sink`](futures_sink::Sink) that owns it.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded::<i32>();
    /// let sink = s.into_sink();
    /// drop(sink);
    /// assert!(r.recv().is_err());
    /// ```
    pub fn into_sink(self) -> SendSink<'static, T> {
        SendSink {
            sender: Handle::Owned(self),
            state: SendState::new(None),
        }
    }
}

impl<T> Receiver<T> {
    /// Receives a message from async code, waiting (without blocking the
    /// thread) while the channel is empty; fails once it is empty and every
    /// sender is gone. Timer channels (`after`, `tick`, ...) work too: the
    /// task is woken at the instant by a timer thread that chan starts on
    /// first use.
    ///
    /// Cancel safety: dropping the future before it completes receives
    /// nothing, and loses nothing.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (s, r) = chan_core::unbounded();
    /// std::thread::spawn(move || s.send("hi").unwrap());
    /// assert_eq!(r.recv_async().await, Ok("hi"));
    /// # });
    /// ```
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        RecvFuture {
            receiver: self,
            wait: TaskWait::new(Interest::Operation),
        }
    }

    /// The received messages as a [`Stream`](futures_core::Stream),
    /// borrowing this receiver.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// use futures::StreamExt;
    /// let (s, r) = chan_core::unbounded();
    /// s.send(1).unwrap();
    /// s.send(2).unwrap();
    /// drop(s);
    /// let mut stream = r.stream();
    /// let mut got = Vec::new();
    /// while let Some(n) = stream.next().await {
    ///     got.push(n);
    /// }
    /// assert_eq!(got, [1, 2]);
    /// # });
    /// ```
    pub fn stream(&self) -> RecvStream<'_, T> {
        RecvStream {
            receiver: Handle::Borrowed(self),
            wait: TaskWait::new(Interest::Operation),
            ended: false,
        }
    }

    /// The received messages as a [`Stream`](futures_core::Stream) that
    /// owns this receiver.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// use futures::StreamExt;
    /// let (s, r) = chan_core::bounded(1);
    /// let mut stream = r.into_stream();
    /// s.send(3).unwrap();
    /// assert_eq!(stream.next().await, Some(3));
    /// # });
    /// ```
    pub fn into_stream(self) -> RecvStream<'static, T> {
        RecvStream {
            receiver: Handle::Owned(self),
            wait: TaskWait::new(Interest::Operation),
            ended: false,
        }
    }
}

#[cfg(all(test, not(loom)))]
#[path = "future_tests.rs"]
mod tests;
