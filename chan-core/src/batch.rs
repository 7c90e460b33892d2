//! Batch operations: `recv_many`, `send_all` and their non-blocking and
//! timed forms.
//!
//! The array and list flavors claim a run of slots with one
//! compare-and-swap of `head` or `tail` (`recv_batch`, `send_batch` in
//! their files), so a batch pays the contended read-modify-write once
//! instead of once per message. Every other case (a run cut short by a
//! block's end, a lost race, an empty or full channel, the zero and timer
//! flavors) goes through the single-message operation, which also decides
//! whether to block and reports disconnection, so a batch never behaves
//! differently from the loop of single operations it replaces.

use crate::channel::{Receiver, ReceiverFlavor, Sender, SenderFlavor};
use crate::err::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};
use crate::flavors::RecvRun;
use std::any::Any;
use std::error;
use std::fmt;
use std::iter::Chain;
use std::mem::MaybeUninit;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// How many messages `send_all` takes from its iterator at a time: the
/// most it can send with one claim.
const SEND_CHUNK: usize = 64;

impl<T> Receiver<T> {
    /// One batch claim of the flavor, if it has one.
    #[inline]
    fn recv_batch(&self, batch: &mut Vec<T>, limit: usize) -> RecvRun {
        let run = match &self.flavor {
            ReceiverFlavor::Array(chan) => chan.recv_batch(batch, limit),
            ReceiverFlavor::List(chan) => chan.recv_batch(batch, limit),
            _ => RecvRun::LOST,
        };
        #[cfg(feature = "stats")]
        self.count_received(run.taken);
        run
    }

    /// Moves messages that are in the channel now to the end of `batch`,
    /// without blocking, until `limit` are moved (`count` of them by the
    /// caller, before this call) or the channel has none left. Returns the
    /// total; fails only if it is 0 (`Empty`, or `Disconnected` if the
    /// channel is closed or every sender is gone).
    ///
    /// Once something was taken, a batch claim that ended at the newest
    /// message ends the call: going on would cost a read of `tail` (and of
    /// the line senders are writing) per call, which on a receiver that
    /// keeps up with its senders is the whole saving of the batch.
    fn take_ready(
        &self,
        batch: &mut Vec<T>,
        limit: usize,
        mut count: usize,
    ) -> Result<usize, TryRecvError> {
        while count < limit {
            let run = self.recv_batch(batch, limit - count);
            count += run.taken;
            if run.at_end && count > 0 {
                break;
            }
            if run.taken > 0 {
                continue;
            }
            match self.try_recv() {
                Ok(msg) => {
                    batch.push(msg);
                    count += 1;
                }
                Err(err) if count == 0 => return Err(err),
                Err(_) => break,
            }
        }
        Ok(count)
    }

    /// Moves up to `limit` messages that are in the channel now to the end
    /// of `batch`, without blocking, and returns how many. Fails with
    /// `Empty` if there is none, or `Disconnected` if there is none and
    /// the channel is closed or every sender is gone. With `limit == 0` it
    /// returns `Ok(0)` and does nothing. Once it has taken a message, it
    /// stops at one that a sender is still writing: the messages from there
    /// on are the next call's.
    ///
    /// ```
    /// use chan_core::TryRecvError;
    /// let (s, r) = chan_core::bounded(8);
    /// let mut batch = Vec::new();
    /// assert_eq!(r.try_recv_many(&mut batch, 4), Err(TryRecvError::Empty));
    /// for i in 0..6 {
    ///     s.send(i).unwrap();
    /// }
    /// assert_eq!(r.try_recv_many(&mut batch, 4), Ok(4));
    /// assert_eq!(r.try_recv_many(&mut batch, 4), Ok(2));
    /// assert_eq!(batch, [0, 1, 2, 3, 4, 5]);
    /// ```
    pub fn try_recv_many(&self, batch: &mut Vec<T>, limit: usize) -> Result<usize, TryRecvError> {
        if limit == 0 {
            return Ok(0);
        }
        self.take_ready(batch, limit, 0)
    }

    /// Blocks until at least one message is in the channel, then moves it
    /// and up to `limit - 1` more that are already there (without blocking
    /// again) to the end of `batch`; returns how many. Fails only if the
    /// channel is empty and closed or every sender is gone. With
    /// `limit == 0` it returns `Ok(0)` at once.
    ///
    /// ```
    /// use std::thread;
    /// let (s, r) = chan_core::unbounded();
    /// let producer = thread::spawn(move || {
    ///     for i in 0..100 {
    ///         s.send(i).unwrap();
    ///     }
    /// });
    /// let mut batch = Vec::new();
    /// while r.recv_many(&mut batch, 32).is_ok() {}
    /// producer.join().unwrap();
    /// assert_eq!(batch, (0..100).collect::<Vec<_>>());
    /// ```
    pub fn recv_many(&self, batch: &mut Vec<T>, limit: usize) -> Result<usize, RecvError> {
        self.recv_many_until(batch, limit, None)
            .map_err(|err| match err {
                RecvTimeoutError::Disconnected => RecvError,
                RecvTimeoutError::Timeout => unreachable!("a receive without deadline timed out"),
            })
    }

    /// `recv_many`, waiting at most `timeout` for the first message. A
    /// timeout too large to represent waits forever.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (s, r) = chan_core::unbounded::<i32>();
    /// let mut batch = Vec::new();
    /// let err = r.recv_many_timeout(&mut batch, 8, Duration::from_millis(1));
    /// assert!(err.unwrap_err().is_timeout());
    /// s.send(1).unwrap();
    /// assert_eq!(r.recv_many_timeout(&mut batch, 8, Duration::ZERO), Ok(1));
    /// ```
    pub fn recv_many_timeout(
        &self,
        batch: &mut Vec<T>,
        limit: usize,
        timeout: Duration,
    ) -> Result<usize, RecvTimeoutError> {
        self.recv_many_until(batch, limit, Instant::now().checked_add(timeout))
    }

    /// `recv_many`, waiting until `deadline` at most for the first message.
    /// Messages already there are taken even if the deadline has passed.
    ///
    /// ```
    /// use std::time::Instant;
    /// let (s, r) = chan_core::bounded(4);
    /// s.send('x').unwrap();
    /// let mut batch = Vec::new();
    /// assert_eq!(r.recv_many_deadline(&mut batch, 4, Instant::now()), Ok(1));
    /// ```
    pub fn recv_many_deadline(
        &self,
        batch: &mut Vec<T>,
        limit: usize,
        deadline: Instant,
    ) -> Result<usize, RecvTimeoutError> {
        self.recv_many_until(batch, limit, Some(deadline))
    }

    fn recv_many_until(
        &self,
        batch: &mut Vec<T>,
        limit: usize,
        deadline: Option<Instant>,
    ) -> Result<usize, RecvTimeoutError> {
        match self.try_recv_many(batch, limit) {
            Ok(count) => return Ok(count),
            Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) => {}
        }
        let first = self.recv_until(deadline)?;
        batch.push(first);
        Ok(self.take_ready(batch, limit, 1).unwrap_or(1))
    }
}

impl<T> Sender<T> {
    /// One batch claim of the flavor, if it has one: `Ok(0)` sends the
    /// caller to the single-message path.
    #[inline]
    fn send_batch(&self, chunk: &mut Staged<T>) -> Result<usize, ()> {
        let result = match &self.flavor {
            SenderFlavor::Array(chan) => chan.send_batch(chunk),
            SenderFlavor::List(chan) => chan.send_batch(chunk),
            SenderFlavor::Zero(_) => Ok(0),
        };
        #[cfg(feature = "stats")]
        if let Ok(count) = result {
            self.count_sent(count);
        }
        result
    }

    /// Sends every message of `msgs`, in order, blocking while the channel
    /// is full. If the channel is closed, or every receiver is gone, before
    /// all are sent, the error hands back every message not sent, in
    /// order: those taken from the iterator and then the rest of it, so
    /// none is dropped unseen.
    ///
    /// Behaves as a loop of [`send`](Self::send) over the iterator, faster:
    /// messages are taken from the iterator up to 64 at a time, as many as
    /// its `size_hint` promises, and as many as fit are sent with one claim
    /// on the channel. An iterator that promises nothing (another
    /// channel's `iter()`, a `filter`) has each message sent as soon as it
    /// yields it, so a message never waits for the next one. If the
    /// iterator panics, the messages it yielded before are sent first,
    /// then the panic goes on.
    ///
    /// ```
    /// let (s, r) = chan_core::bounded(16);
    /// s.send_all(0..10).unwrap();
    /// assert_eq!(r.try_iter().collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
    ///
    /// drop(r);
    /// let err = s.send_all(vec![10, 11]).unwrap_err();
    /// assert!(err.is_disconnected());
    /// assert_eq!(err.into_iter().collect::<Vec<_>>(), [10, 11]);
    /// ```
    pub fn send_all<I: IntoIterator<Item = T>>(
        &self,
        msgs: I,
    ) -> Result<(), SendAllError<T, I::IntoIter>> {
        self.send_all_with(msgs, |msg| {
            self.send(msg)
                .map_err(|SendError(msg)| TrySendError::Disconnected(msg))
        })
    }

    /// Sends, in order, the messages of `msgs` for which there is room now,
    /// without blocking; stops at the first that does not fit. The error
    /// (`is_full` or `is_disconnected`) hands back every message not sent,
    /// in order.
    ///
    /// ```
    /// let (s, r) = chan_core::bounded(3);
    /// let err = s.try_send_all(1..=5).unwrap_err();
    /// assert!(err.is_full());
    /// assert_eq!(err.sent(), 3);
    /// assert_eq!(err.into_iter().collect::<Vec<_>>(), [4, 5]);
    /// assert_eq!(r.len(), 3);
    /// ```
    pub fn try_send_all<I: IntoIterator<Item = T>>(
        &self,
        msgs: I,
    ) -> Result<(), SendAllError<T, I::IntoIter>> {
        self.send_all_with(msgs, |msg| self.try_send(msg))
    }

    /// The loop of `send_all`/`try_send_all`: batch claims where the
    /// flavor can, else `send_one` for the chunk's first message.
    fn send_all_with<I: IntoIterator<Item = T>>(
        &self,
        msgs: I,
        send_one: impl Fn(T) -> Result<(), TrySendError<T>>,
    ) -> Result<(), SendAllError<T, I::IntoIter>> {
        let mut progress = SendAll::new(msgs.into_iter());
        loop {
            match progress.step(self) {
                Step::Done => return Ok(()),
                Step::Closed => return Err(progress.fail(true)),
                Step::One(msg) => match send_one(msg) {
                    Ok(()) => progress.sent += 1,
                    Err(TrySendError::Full(msg)) => return Err(progress.put_back(msg, false)),
                    Err(TrySendError::Disconnected(msg)) => {
                        return Err(progress.put_back(msg, true))
                    }
                },
            }
        }
    }
}

/// What `send_all` does next.
enum Step<T> {
    /// Every message is sent.
    Done,
    /// The channel is closed.
    Closed,
    /// No batch claim went through: send this message on its own.
    One(T),
}

/// A `send_all` in progress: the chunk taken from the iterator, the rest
/// of it, how many were sent, and a panic of the iterator to resume once
/// the messages it yielded before are sent.
struct SendAll<T, I> {
    chunk: Staged<T>,
    rest: I,
    sent: usize,
    panic: Option<Box<dyn Any + Send>>,
}

impl<T, I: Iterator<Item = T>> SendAll<T, I> {
    fn new(rest: I) -> Self {
        SendAll {
            chunk: Staged::with_capacity(rest.size_hint().0.clamp(1, SEND_CHUNK)),
            rest,
            sent: 0,
            panic: None,
        }
    }

    /// Takes the next chunk into the empty `chunk`: as many messages as the
    /// iterator promises (at least one, at most `SEND_CHUNK`), so that a
    /// message an iterator yielded never waits in the chunk while the
    /// iterator waits for the next. A panic of the iterator is kept for
    /// later: the messages it yielded before are sent first.
    fn refill(&mut self) {
        debug_assert!(self.chunk.is_empty());
        if let Some(panic) = self.panic.take() {
            panic::resume_unwind(panic);
        }
        let take = self.rest.size_hint().0.clamp(1, SEND_CHUNK);
        let (chunk, rest) = (&mut self.chunk, &mut self.rest);
        // The iterator is not used again after a panic.
        let pulled = panic::catch_unwind(AssertUnwindSafe(|| chunk.fill(rest, take)));
        self.panic = pulled.err();
    }

    /// Sends what one batch claim can; says what the caller must do next.
    fn step(&mut self, sender: &Sender<T>) -> Step<T> {
        loop {
            if self.chunk.is_empty() {
                self.refill();
                if self.chunk.is_empty() {
                    if let Some(panic) = self.panic.take() {
                        panic::resume_unwind(panic);
                    }
                    return Step::Done;
                }
            }
            match sender.send_batch(&mut self.chunk) {
                Ok(0) => return Step::One(self.chunk.pop_front().expect("the chunk is not empty")),
                Ok(count) => self.sent += count,
                Err(()) => return Step::Closed,
            }
        }
    }

    /// The error of a send of `msg`, the chunk's first, that failed.
    fn put_back(mut self, msg: T, disconnected: bool) -> SendAllError<T, I> {
        self.chunk.push_front(msg);
        self.fail(disconnected)
    }

    fn fail(mut self, disconnected: bool) -> SendAllError<T, I> {
        if let Some(panic) = self.panic.take() {
            // The iterator panicked: that panic, not this failure, is what
            // the caller sees (the unsent messages are dropped with it).
            panic::resume_unwind(panic);
        }
        SendAllError {
            sent: self.sent,
            unsent: self.chunk.into_vec(),
            rest: self.rest,
            disconnected,
        }
    }
}

#[cfg(feature = "async")]
impl<T> Sender<T> {
    /// [`send_all`](Self::send_all) from async code: waits (without
    /// blocking the thread) while the channel is full.
    ///
    /// Cancel safety: dropping the future sends nothing more; the messages
    /// it had taken from the iterator and not sent are dropped with it
    /// (at most a few dozen), and the rest of the iterator is not touched.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (s, r) = chan_core::bounded(2);
    /// let consumer = std::thread::spawn(move || r.iter().collect::<Vec<_>>());
    /// s.send_all_async(0..5).await.unwrap();
    /// drop(s);
    /// assert_eq!(consumer.join().unwrap(), [0, 1, 2, 3, 4]);
    /// # });
    /// ```
    pub async fn send_all_async<I: IntoIterator<Item = T>>(
        &self,
        msgs: I,
    ) -> Result<(), SendAllError<T, I::IntoIter>> {
        let mut progress = SendAll::new(msgs.into_iter());
        loop {
            match progress.step(self) {
                Step::Done => return Ok(()),
                Step::Closed => return Err(progress.fail(true)),
                Step::One(msg) => match self.send_async(msg).await {
                    Ok(()) => progress.sent += 1,
                    Err(SendError(msg)) => return Err(progress.put_back(msg, true)),
                },
            }
        }
    }
}

#[cfg(feature = "async")]
impl<T> Receiver<T> {
    /// [`recv_many`](Self::recv_many) from async code: waits (without
    /// blocking the thread) for the first message, then takes up to
    /// `limit - 1` more that are already there.
    ///
    /// Cancel safety: dropping the future while it waits receives nothing
    /// and loses nothing (as `recv_async`); once the first message is in,
    /// the rest is taken in the same poll.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (s, r) = chan_core::unbounded();
    /// s.send_all([1, 2, 3]).unwrap();
    /// let mut batch = Vec::new();
    /// assert_eq!(r.recv_many_async(&mut batch, 2).await, Ok(2));
    /// assert_eq!(batch, [1, 2]);
    /// # });
    /// ```
    pub async fn recv_many_async(
        &self,
        batch: &mut Vec<T>,
        limit: usize,
    ) -> Result<usize, RecvError> {
        match self.try_recv_many(batch, limit) {
            Ok(count) => return Ok(count),
            Err(TryRecvError::Disconnected) => return Err(RecvError),
            Err(TryRecvError::Empty) => {}
        }
        let first = self.recv_async().await?;
        batch.push(first);
        Ok(self.take_ready(batch, limit, 1).unwrap_or(1))
    }
}

/// The messages `send_all` has taken from its iterator and not sent yet:
/// a fixed buffer whose slots `start..end` hold messages. The flavors move
/// messages out of the front with `pop_front`; unlike a `VecDeque` that is
/// one read and one increment, so the batch loop stays as short as the
/// claim allows.
pub(crate) struct Staged<T> {
    buf: Box<[MaybeUninit<T>]>,
    start: usize,
    end: usize,
}

impl<T> Staged<T> {
    fn with_capacity(capacity: usize) -> Self {
        Staged {
            buf: (0..capacity).map(|_| MaybeUninit::uninit()).collect(),
            start: 0,
            end: 0,
        }
    }

    /// Stages every message of `msgs` (at most 256), for unit tests.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn of(msgs: impl IntoIterator<Item = T>) -> Self {
        let mut staged = Staged::with_capacity(256);
        staged.fill(&mut msgs.into_iter(), 256);
        staged
    }

    /// How many messages are staged.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Takes the first staged message.
    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        if self.start == self.end {
            return None;
        }
        // SAFETY: slots `start..end` hold messages, and moving `start` past
        // this one makes it ours alone.
        let msg = unsafe { self.buf.get_unchecked(self.start).assume_init_read() };
        self.start += 1;
        Some(msg)
    }

    /// Puts back `msg` in front, where the message taken last was.
    fn push_front(&mut self, msg: T) {
        assert!(self.start > 0, "a message was taken before");
        self.start -= 1;
        self.buf[self.start].write(msg);
    }

    /// Stages up to `count` messages of `msgs` in the empty buffer. If the
    /// iterator panics, the messages it yielded before stay staged: `end`
    /// counts each as it is written.
    fn fill(&mut self, msgs: &mut impl Iterator<Item = T>, count: usize) {
        debug_assert!(self.is_empty());
        self.start = 0;
        self.end = 0;
        for msg in msgs.take(count.min(self.buf.len())) {
            self.buf[self.end].write(msg);
            self.end += 1;
        }
    }

    fn into_vec(mut self) -> Vec<T> {
        let mut messages = Vec::with_capacity(self.len());
        while let Some(msg) = self.pop_front() {
            messages.push(msg);
        }
        messages
    }
}

impl<T> Drop for Staged<T> {
    fn drop(&mut self) {
        while self.pop_front().is_some() {}
    }
}

/// The error of [`Sender::send_all`] and [`Sender::try_send_all`]: the
/// channel is full (`try_send_all` only) or closed. It holds every message
/// that was not sent, in order: those already taken from the iterator,
/// then the rest of the iterator; iterate over the error to get them.
///
/// ```
/// let (s, r) = chan_core::bounded(1);
/// r.close();
/// let err = s.send_all([1, 2, 3]).unwrap_err();
/// assert_eq!(err.sent(), 0);
/// assert_eq!(err.to_string(), "sending on a disconnected channel");
/// assert_eq!(err.into_iter().sum::<i32>(), 6);
/// ```
pub struct SendAllError<T, I> {
    sent: usize,
    unsent: Vec<T>,
    rest: I,
    disconnected: bool,
}

impl<T, I: Iterator<Item = T>> SendAllError<T, I> {
    /// How many messages were sent before the failure.
    pub fn sent(&self) -> usize {
        self.sent
    }

    /// True if the channel was full (only `try_send_all` fails so).
    pub fn is_full(&self) -> bool {
        !self.disconnected
    }

    /// True if the channel was closed, or every receiver was gone.
    pub fn is_disconnected(&self) -> bool {
        self.disconnected
    }

    /// The messages taken from the iterator but not sent, in order, and
    /// the rest of the iterator.
    pub fn into_parts(self) -> (Vec<T>, I) {
        (self.unsent, self.rest)
    }
}

impl<T, I: Iterator<Item = T>> IntoIterator for SendAllError<T, I> {
    type Item = T;
    type IntoIter = Chain<std::vec::IntoIter<T>, I>;

    /// Every message not sent, in order.
    fn into_iter(self) -> Self::IntoIter {
        self.unsent.into_iter().chain(self.rest)
    }
}

impl<T, I> fmt::Debug for SendAllError<T, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendAllError")
            .field("sent", &self.sent)
            .field("disconnected", &self.disconnected)
            .finish_non_exhaustive()
    }
}

impl<T, I> fmt::Display for SendAllError<T, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.disconnected {
            "sending on a disconnected channel".fmt(f)
        } else {
            "sending on a full channel".fmt(f)
        }
    }
}

impl<T, I> error::Error for SendAllError<T, I> {}
