//! Closing a channel from either side, and draining it.
//!
//! `close` marks the channel disconnected for sending exactly as the last
//! sender's drop does: every later send fails and gives its message back,
//! blocked senders (threads and tasks) wake with that error, and receivers
//! still get every message accepted before the close, then the
//! disconnection. A send is accepted once it has claimed its place (an
//! array slot, a list slot, a rendezvous partner); the claim and the close
//! are ordered by the one atomic word (or lock) that holds the mark, so a
//! racing send is either accepted, and then received or dropped with the
//! channel like any message, or refused with its message handed back.
//!
//! Timer channels (`after`, `at`, `tick`) and `never` have no senders and
//! cannot be closed: `close` returns false and changes nothing.

use crate::channel::{Receiver, ReceiverFlavor, Sender, SenderFlavor};
use crate::err::TryRecvError;
use std::fmt;
use std::iter::FusedIterator;

impl<T> Sender<T> {
    /// Closes the channel: every later send fails and hands its message
    /// back, blocked senders wake with that error, and the receivers still
    /// get every message sent before the close, then `Disconnected`.
    /// Returns true if this call closed the channel, false if it was
    /// already closed or disconnected.
    ///
    /// Races, exactly:
    /// - A send racing the close is either accepted, and then received (or
    ///   taken by [`Receiver::close_and_drain`], or dropped with the
    ///   channel if every receiver goes), or refused with its message
    ///   handed back in the error. Never lost, never both.
    /// - A bounded channel's send that claimed its slot before the close
    ///   and writes the message after it is accepted: receivers wait for
    ///   the write, and `close_and_drain` includes the message.
    /// - A `bounded(0)` sender blocked when the close lands either has had
    ///   its message taken by a receiver (its `send` returns `Ok`) or gets
    ///   it back in `SendError`; a waiting `send_async` likewise.
    ///
    /// ```
    /// use chan_core::{SendError, TryRecvError};
    /// let (s, r) = chan_core::unbounded();
    /// s.send(1).unwrap();
    /// assert!(s.close());
    /// assert!(!s.close());
    /// assert_eq!(s.send(2), Err(SendError(2)));
    /// assert_eq!(r.try_recv(), Ok(1));
    /// assert_eq!(r.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn close(&self) -> bool {
        match &self.flavor {
            SenderFlavor::Array(chan) => chan.close(),
            SenderFlavor::List(chan) => chan.close(),
            SenderFlavor::Zero(chan) => chan.disconnect(),
        }
    }

    /// True once no message can be sent any more: the channel was closed,
    /// or every receiver (or every sender) is gone.
    ///
    /// ```
    /// let (s, r) = chan_core::bounded::<i32>(1);
    /// assert!(!s.is_closed());
    /// drop(r);
    /// assert!(s.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        match &self.flavor {
            SenderFlavor::Array(chan) => chan.is_disconnected(),
            SenderFlavor::List(chan) => chan.is_disconnected(),
            SenderFlavor::Zero(chan) => chan.is_disconnected(),
        }
    }
}

impl<T> Receiver<T> {
    /// Closes the channel, as [`Sender::close`] does: sends fail from now
    /// on, and this and every other receiver still get the messages sent
    /// before, then `Disconnected`. Returns true if this call closed the
    /// channel. Timer channels and `never` cannot be closed: for them this
    /// returns false and does nothing.
    ///
    /// ```
    /// let (s, r) = chan_core::bounded(4);
    /// s.send("last words").unwrap();
    /// assert!(r.close());
    /// assert!(s.send("too late").is_err());
    /// assert_eq!(r.recv(), Ok("last words"));
    /// assert!(r.recv().is_err());
    /// ```
    pub fn close(&self) -> bool {
        match &self.flavor {
            ReceiverFlavor::Array(chan) => chan.close(),
            ReceiverFlavor::List(chan) => chan.close(),
            ReceiverFlavor::Zero(chan) => chan.disconnect(),
            ReceiverFlavor::At(_) | ReceiverFlavor::Tick(_) | ReceiverFlavor::Never(_) => false,
        }
    }

    /// True once no message can be sent any more: the channel was closed,
    /// or every sender (or every receiver) is gone. Messages sent before
    /// may still be waiting: `recv` fails only once they are taken. Always
    /// false for timer channels and `never`.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded();
    /// s.send(1).unwrap();
    /// drop(s);
    /// assert!(r.is_closed());
    /// assert_eq!(r.recv(), Ok(1));
    /// ```
    pub fn is_closed(&self) -> bool {
        match &self.flavor {
            ReceiverFlavor::Array(chan) => chan.is_disconnected(),
            ReceiverFlavor::List(chan) => chan.is_disconnected(),
            ReceiverFlavor::Zero(chan) => chan.is_disconnected(),
            ReceiverFlavor::At(_) | ReceiverFlavor::Tick(_) | ReceiverFlavor::Never(_) => false,
        }
    }

    /// Closes the channel and takes, in order, every message still in it:
    /// the graceful end of a consumer. No send can slip in between the
    /// close and the drain, and a send that claimed its place just before
    /// the close is waited for and included, so every message is either in
    /// the returned `Vec`, taken by another receiver, or was refused to its
    /// sender. A rendezvous channel holds no messages (a blocked sender
    /// gets its own back). For timer channels and `never`, which cannot be
    /// closed, this returns the messages due now, like [`drain`](Self::drain).
    ///
    /// ```
    /// let (s, r) = chan_core::bounded(8);
    /// for job in 0..3 {
    ///     s.send(job).unwrap();
    /// }
    /// assert_eq!(r.close_and_drain(), [0, 1, 2]);
    /// assert!(s.send(3).is_err());
    /// ```
    pub fn close_and_drain(&self) -> Vec<T> {
        if !matches!(
            self.flavor,
            ReceiverFlavor::Array(_) | ReceiverFlavor::List(_) | ReceiverFlavor::Zero(_)
        ) {
            return self.drain().collect();
        }
        self.close();
        let mut messages = Vec::new();
        // Closed, a queue reports `Disconnected` only once it is empty and
        // every claimed slot has been taken; `Empty` cannot come.
        while self.try_recv_many(&mut messages, usize::MAX).is_ok() {}
        messages
    }

    /// An iterator that takes, without blocking, the messages in the
    /// channel when it was made: at most `len()` of that moment, so that a
    /// busy sender cannot keep it going forever (unlike
    /// [`try_iter`](Self::try_iter)). It ends early if other receivers take
    /// some of them.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded();
    /// s.send(1).unwrap();
    /// s.send(2).unwrap();
    /// let mut drain = r.drain();
    /// s.send(3).unwrap();
    /// assert_eq!(drain.by_ref().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(r.try_recv(), Ok(3));
    /// ```
    pub fn drain(&self) -> Drain<'_, T> {
        Drain {
            receiver: self,
            remaining: self.len(),
        }
    }
}

/// A non-blocking iterator over the messages in a channel when it was made,
/// made by [`Receiver::drain`].
///
/// ```
/// let (s, r) = chan_core::bounded(4);
/// s.send('a').unwrap();
/// let mut drain = r.drain();
/// assert_eq!(drain.size_hint(), (0, Some(1)));
/// assert_eq!(drain.next(), Some('a'));
/// assert_eq!(drain.next(), None);
/// ```
pub struct Drain<'a, T> {
    receiver: &'a Receiver<T>,
    remaining: usize,
}

impl<T> Iterator for Drain<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.remaining == 0 {
            return None;
        }
        match self.receiver.try_recv() {
            Ok(msg) => {
                self.remaining -= 1;
                Some(msg)
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => {
                self.remaining = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

impl<T> FusedIterator for Drain<'_, T> {}

impl<T> fmt::Debug for Drain<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Drain { .. }")
    }
}
