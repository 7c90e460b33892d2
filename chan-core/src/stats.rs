//! Per-channel counters, behind the `stats` cargo feature (off by default,
//! so a build without it counts nothing and pays nothing).
//!
//! Every successful send and receive adds to one of two totals, each an
//! atomic on a cache line of its own in the channel's shared allocation
//! (`counter.rs`): with the feature on, a message costs one more relaxed
//! read-modify-write on each side. The numbers of waiting operations are
//! read from the wait queues, under their locks, only when a snapshot is
//! taken.

use crate::channel::{Receiver, ReceiverFlavor, Sender, SenderFlavor};
use crate::counter::{RECEIVED, SENT};

/// A snapshot of a channel's counters, from [`Sender::stats`] or
/// [`Receiver::stats`] (the `stats` feature). Each figure is read
/// separately, so under traffic they may disagree by a message or two.
///
/// ```
/// let (s, r) = chan_core::bounded(4);
/// s.send(1).unwrap();
/// s.send(2).unwrap();
/// r.recv().unwrap();
/// let stats = r.stats();
/// assert_eq!((stats.sent, stats.received), (2, 1));
/// assert_eq!(stats.len, 1);
/// assert_eq!(stats.blocked_receivers, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ChannelStats {
    /// Messages sent so far (accepted by the channel; for a rendezvous,
    /// taken by a receiver).
    pub sent: u64,
    /// Messages received so far (not counting those dropped with the
    /// channel).
    pub received: u64,
    /// Messages in the channel now.
    pub len: usize,
    /// Operations waiting to send now: blocked threads, waiting tasks and
    /// blocked selects (a select counts once per channel it waits on).
    pub blocked_senders: usize,
    /// Operations waiting to receive now, counted as for senders.
    pub blocked_receivers: usize,
}

impl ChannelStats {
    /// A snapshot from the message totals `(sent, received)`, the length
    /// and the waiting operations `(senders, receivers)`.
    fn new(
        (sent, received): (u64, u64),
        len: usize,
        (blocked_senders, blocked_receivers): (usize, usize),
    ) -> Self {
        ChannelStats {
            sent,
            received,
            len,
            blocked_senders,
            blocked_receivers,
        }
    }
}

impl<T> Sender<T> {
    /// Adds `count` sent messages to the channel's total.
    #[inline]
    pub(crate) fn count_sent(&self, count: usize) {
        match &self.flavor {
            SenderFlavor::Array(chan) => chan.count_traffic(SENT, count),
            SenderFlavor::List(chan) => chan.count_traffic(SENT, count),
            SenderFlavor::Zero(chan) => chan.count_traffic(SENT, count),
        }
    }

    /// A snapshot of the channel's counters (the `stats` feature).
    ///
    /// ```
    /// let (s, _r) = chan_core::unbounded();
    /// s.send_all(0..10).unwrap();
    /// assert_eq!(s.stats().sent, 10);
    /// ```
    pub fn stats(&self) -> ChannelStats {
        let (traffic, blocked) = match &self.flavor {
            SenderFlavor::Array(chan) => (chan.traffic(), chan.blocked()),
            SenderFlavor::List(chan) => (chan.traffic(), chan.blocked()),
            SenderFlavor::Zero(chan) => (chan.traffic(), chan.blocked()),
        };
        ChannelStats::new(traffic, self.len(), blocked)
    }
}

impl<T> Receiver<T> {
    /// Adds `count` received messages to the channel's total.
    #[inline]
    pub(crate) fn count_received(&self, count: usize) {
        match &self.flavor {
            ReceiverFlavor::Array(chan) => chan.count_traffic(RECEIVED, count),
            ReceiverFlavor::List(chan) => chan.count_traffic(RECEIVED, count),
            ReceiverFlavor::Zero(chan) => chan.count_traffic(RECEIVED, count),
            ReceiverFlavor::At(_) | ReceiverFlavor::Tick(_) | ReceiverFlavor::Never(_) => {}
        }
    }

    /// A snapshot of the channel's counters (the `stats` feature). Timer
    /// channels and `never` count nothing: only `len` is filled in.
    ///
    /// ```
    /// use std::thread;
    /// use std::time::Duration;
    /// let (s, r) = chan_core::bounded::<i32>(0);
    /// let receiver = thread::spawn(move || r.recv());
    /// while s.stats().blocked_receivers == 0 {
    ///     thread::sleep(Duration::from_millis(1));
    /// }
    /// s.send(7).unwrap();
    /// assert_eq!(receiver.join().unwrap(), Ok(7));
    /// ```
    pub fn stats(&self) -> ChannelStats {
        let (traffic, blocked) = match &self.flavor {
            ReceiverFlavor::Array(chan) => (chan.traffic(), chan.blocked()),
            ReceiverFlavor::List(chan) => (chan.traffic(), chan.blocked()),
            ReceiverFlavor::Zero(chan) => (chan.traffic(), chan.blocked()),
            ReceiverFlavor::At(_) | ReceiverFlavor::Tick(_) | ReceiverFlavor::Never(_) => {
                ((0, 0), (0, 0))
            }
        };
        ChannelStats::new(traffic, self.len(), blocked)
    }
}
