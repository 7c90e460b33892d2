//! Weak handles and handle counts.
//!
//! A weak handle keeps the channel's memory, not its side: the channel
//! disconnects when the last strong handle of a side goes, whatever weak
//! handles remain, and `upgrade` fails from then on (`counter.rs` holds
//! the counts and the upgrade's compare-and-swap).
//!
//! Timer receivers (`after`, `at`, `tick`) are shared by reference count,
//! and a weak one is a `std::sync::Weak`. A `never` receiver has no shared
//! state: its weak handle always upgrades.

use crate::channel::{Receiver, ReceiverFlavor, Sender, SenderFlavor};
use crate::counter;
use crate::flavors::{array, at, list, never, tick, zero};
use std::fmt;
use std::sync::{Arc, Weak};

/// A sender that does not keep the channel connected, made by
/// [`Sender::downgrade`]: the channel disconnects when the last
/// [`Sender`] goes, and [`upgrade`](WeakSender::upgrade) fails from then
/// on. The classic use is an actor that holds a weak sender to itself, so
/// that it does not keep its own mailbox open.
///
/// ```
/// let (s, r) = chan_core::unbounded::<i32>();
/// let weak = s.downgrade();
/// weak.upgrade().unwrap().send(1).unwrap();
/// drop(s);
/// assert!(weak.upgrade().is_none());
/// assert_eq!(r.recv(), Ok(1));
/// assert!(r.recv().is_err());
/// ```
pub struct WeakSender<T> {
    flavor: WeakSenderFlavor<T>,
}

enum WeakSenderFlavor<T> {
    Array(counter::WeakSender<array::Channel<T>>),
    List(counter::WeakSender<list::Channel<T>>),
    Zero(counter::WeakSender<zero::Channel<T>>),
}

/// A receiver that does not keep the channel connected, made by
/// [`Receiver::downgrade`]: the channel disconnects when the last
/// [`Receiver`] goes, and [`upgrade`](WeakReceiver::upgrade) fails from
/// then on.
///
/// ```
/// let (s, r) = chan_core::bounded(1);
/// let weak = r.downgrade();
/// drop(r);
/// assert!(s.send(1).is_err());
/// assert!(weak.upgrade().is_none());
/// ```
pub struct WeakReceiver<T> {
    flavor: WeakReceiverFlavor<T>,
}

enum WeakReceiverFlavor<T> {
    Array(counter::WeakReceiver<array::Channel<T>>),
    List(counter::WeakReceiver<list::Channel<T>>),
    Zero(counter::WeakReceiver<zero::Channel<T>>),
    At(Weak<at::Channel<T>>),
    Tick(Weak<tick::Channel<T>>),
    Never,
}

// SAFETY: a weak handle only counts and, when upgraded, makes a `Sender`,
// which is `Send + Sync` under the same bound.
unsafe impl<T: Send> Send for WeakSender<T> {}
// SAFETY: as above; every method takes `&self` and is thread-safe.
unsafe impl<T: Send> Sync for WeakSender<T> {}
// SAFETY: as for `WeakSender`.
unsafe impl<T: Send> Send for WeakReceiver<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for WeakReceiver<T> {}

impl<T> Sender<T> {
    /// A weak handle to this channel's sending side, which does not keep
    /// it connected.
    ///
    /// ```
    /// let (s, _r) = chan_core::unbounded::<()>();
    /// let weak = s.downgrade();
    /// assert_eq!(s.weak_sender_count(), 1);
    /// assert!(weak.upgrade().unwrap().same_channel(&s));
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        let flavor = match &self.flavor {
            SenderFlavor::Array(chan) => WeakSenderFlavor::Array(chan.downgrade()),
            SenderFlavor::List(chan) => WeakSenderFlavor::List(chan.downgrade()),
            SenderFlavor::Zero(chan) => WeakSenderFlavor::Zero(chan.downgrade()),
        };
        WeakSender { flavor }
    }

    fn counts(&self) -> counter::Counts {
        match &self.flavor {
            SenderFlavor::Array(chan) => chan.counts(),
            SenderFlavor::List(chan) => chan.counts(),
            SenderFlavor::Zero(chan) => chan.counts(),
        }
    }

    /// How many [`Sender`]s of this channel exist (this one included).
    ///
    /// ```
    /// let (s, _r) = chan_core::unbounded::<()>();
    /// let s2 = s.clone();
    /// assert_eq!(s.sender_count(), 2);
    /// drop(s2);
    /// assert_eq!(s.sender_count(), 1);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.counts().senders
    }

    /// How many [`Receiver`]s of this channel exist.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded::<()>();
    /// assert_eq!(s.receiver_count(), 1);
    /// drop(r);
    /// assert_eq!(s.receiver_count(), 0);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.counts().receivers
    }

    /// How many [`WeakSender`]s of this channel exist.
    ///
    /// ```
    /// let (s, _r) = chan_core::bounded::<()>(0);
    /// let _weak = s.downgrade();
    /// assert_eq!(s.weak_sender_count(), 1);
    /// ```
    pub fn weak_sender_count(&self) -> usize {
        self.counts().weak_senders
    }

    /// How many [`WeakReceiver`]s of this channel exist.
    ///
    /// ```
    /// let (s, r) = chan_core::bounded::<()>(1);
    /// let _weak = r.downgrade();
    /// assert_eq!(s.weak_receiver_count(), 1);
    /// ```
    pub fn weak_receiver_count(&self) -> usize {
        self.counts().weak_receivers
    }
}

impl<T> Receiver<T> {
    /// A weak handle to this channel's receiving side, which does not keep
    /// it connected.
    ///
    /// ```
    /// let (_s, r) = chan_core::unbounded::<()>();
    /// let weak = r.downgrade();
    /// assert!(weak.upgrade().unwrap().same_channel(&r));
    /// ```
    pub fn downgrade(&self) -> WeakReceiver<T> {
        let flavor = match &self.flavor {
            ReceiverFlavor::Array(chan) => WeakReceiverFlavor::Array(chan.downgrade()),
            ReceiverFlavor::List(chan) => WeakReceiverFlavor::List(chan.downgrade()),
            ReceiverFlavor::Zero(chan) => WeakReceiverFlavor::Zero(chan.downgrade()),
            ReceiverFlavor::At(chan) => WeakReceiverFlavor::At(Arc::downgrade(chan)),
            ReceiverFlavor::Tick(chan) => WeakReceiverFlavor::Tick(Arc::downgrade(chan)),
            ReceiverFlavor::Never(_) => WeakReceiverFlavor::Never,
        };
        WeakReceiver { flavor }
    }

    fn counts(&self) -> counter::Counts {
        let shared = |strong: usize, weak: usize| counter::Counts {
            senders: 0,
            receivers: strong,
            weak_senders: 0,
            weak_receivers: weak,
        };
        match &self.flavor {
            ReceiverFlavor::Array(chan) => chan.counts(),
            ReceiverFlavor::List(chan) => chan.counts(),
            ReceiverFlavor::Zero(chan) => chan.counts(),
            ReceiverFlavor::At(chan) => shared(Arc::strong_count(chan), Arc::weak_count(chan)),
            ReceiverFlavor::Tick(chan) => shared(Arc::strong_count(chan), Arc::weak_count(chan)),
            ReceiverFlavor::Never(_) => shared(1, 0),
        }
    }

    /// How many [`Sender`]s of this channel exist (0 for timer channels
    /// and `never`, which have none).
    ///
    /// ```
    /// let (s, r) = chan_core::bounded::<()>(1);
    /// assert_eq!(r.sender_count(), 1);
    /// drop(s);
    /// assert_eq!(r.sender_count(), 0);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.counts().senders
    }

    /// How many [`Receiver`]s of this channel exist (this one included;
    /// clones of a timer receiver share its channel, a `never` receiver
    /// shares nothing and counts itself only).
    ///
    /// ```
    /// let r = chan_core::tick(std::time::Duration::from_secs(1));
    /// let _r2 = r.clone();
    /// assert_eq!(r.receiver_count(), 2);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.counts().receivers
    }

    /// How many [`WeakSender`]s of this channel exist.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded::<()>();
    /// let _weak = s.downgrade();
    /// assert_eq!(r.weak_sender_count(), 1);
    /// ```
    pub fn weak_sender_count(&self) -> usize {
        self.counts().weak_senders
    }

    /// How many [`WeakReceiver`]s of this channel exist.
    ///
    /// ```
    /// let (_s, r) = chan_core::unbounded::<()>();
    /// let weak = r.downgrade();
    /// assert_eq!(r.weak_receiver_count(), 1);
    /// drop(weak);
    /// assert_eq!(r.weak_receiver_count(), 0);
    /// ```
    pub fn weak_receiver_count(&self) -> usize {
        self.counts().weak_receivers
    }
}

impl<T> WeakSender<T> {
    /// A [`Sender`] of the channel, unless every sender is gone (then the
    /// channel is disconnected for good, and this returns `None`).
    ///
    /// ```
    /// let (s, r) = chan_core::bounded(1);
    /// let weak = s.downgrade();
    /// let s2 = weak.upgrade().unwrap();
    /// drop(s);
    /// s2.send(5).unwrap();
    /// assert_eq!(r.recv(), Ok(5));
    /// ```
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let flavor = match &self.flavor {
            WeakSenderFlavor::Array(chan) => SenderFlavor::Array(chan.upgrade()?),
            WeakSenderFlavor::List(chan) => SenderFlavor::List(chan.upgrade()?),
            WeakSenderFlavor::Zero(chan) => SenderFlavor::Zero(chan.upgrade()?),
        };
        Some(Sender { flavor })
    }

    /// How many [`Sender`]s of the channel exist: 0 means `upgrade` fails.
    ///
    /// ```
    /// let (s, _r) = chan_core::unbounded::<()>();
    /// let weak = s.downgrade();
    /// assert_eq!(weak.sender_count(), 1);
    /// drop(s);
    /// assert_eq!(weak.sender_count(), 0);
    /// ```
    pub fn sender_count(&self) -> usize {
        match &self.flavor {
            WeakSenderFlavor::Array(chan) => chan.counts().senders,
            WeakSenderFlavor::List(chan) => chan.counts().senders,
            WeakSenderFlavor::Zero(chan) => chan.counts().senders,
        }
    }
}

impl<T> WeakReceiver<T> {
    /// A [`Receiver`] of the channel, unless every receiver is gone (then
    /// the channel is disconnected for good, and this returns `None`). A
    /// weak `never` receiver always upgrades.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded();
    /// let weak = r.downgrade();
    /// s.send(1).unwrap();
    /// assert_eq!(weak.upgrade().unwrap().recv(), Ok(1));
    /// ```
    pub fn upgrade(&self) -> Option<Receiver<T>> {
        let flavor = match &self.flavor {
            WeakReceiverFlavor::Array(chan) => ReceiverFlavor::Array(chan.upgrade()?),
            WeakReceiverFlavor::List(chan) => ReceiverFlavor::List(chan.upgrade()?),
            WeakReceiverFlavor::Zero(chan) => ReceiverFlavor::Zero(chan.upgrade()?),
            WeakReceiverFlavor::At(chan) => ReceiverFlavor::At(chan.upgrade()?),
            WeakReceiverFlavor::Tick(chan) => ReceiverFlavor::Tick(chan.upgrade()?),
            WeakReceiverFlavor::Never => ReceiverFlavor::Never(never::Channel::new()),
        };
        Some(Receiver { flavor })
    }

    /// How many [`Receiver`]s of the channel exist: 0 means `upgrade`
    /// fails (a weak `never` receiver reports 1).
    ///
    /// ```
    /// let (_s, r) = chan_core::unbounded::<()>();
    /// let weak = r.downgrade();
    /// drop(r);
    /// assert_eq!(weak.receiver_count(), 0);
    /// ```
    pub fn receiver_count(&self) -> usize {
        match &self.flavor {
            WeakReceiverFlavor::Array(chan) => chan.counts().receivers,
            WeakReceiverFlavor::List(chan) => chan.counts().receivers,
            WeakReceiverFlavor::Zero(chan) => chan.counts().receivers,
            WeakReceiverFlavor::At(chan) => chan.strong_count(),
            WeakReceiverFlavor::Tick(chan) => chan.strong_count(),
            WeakReceiverFlavor::Never => 1,
        }
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        let flavor = match &self.flavor {
            WeakSenderFlavor::Array(chan) => WeakSenderFlavor::Array(chan.acquire()),
            WeakSenderFlavor::List(chan) => WeakSenderFlavor::List(chan.acquire()),
            WeakSenderFlavor::Zero(chan) => WeakSenderFlavor::Zero(chan.acquire()),
        };
        WeakSender { flavor }
    }
}

impl<T> Clone for WeakReceiver<T> {
    fn clone(&self) -> Self {
        let flavor = match &self.flavor {
            WeakReceiverFlavor::Array(chan) => WeakReceiverFlavor::Array(chan.acquire()),
            WeakReceiverFlavor::List(chan) => WeakReceiverFlavor::List(chan.acquire()),
            WeakReceiverFlavor::Zero(chan) => WeakReceiverFlavor::Zero(chan.acquire()),
            WeakReceiverFlavor::At(chan) => WeakReceiverFlavor::At(chan.clone()),
            WeakReceiverFlavor::Tick(chan) => WeakReceiverFlavor::Tick(chan.clone()),
            WeakReceiverFlavor::Never => WeakReceiverFlavor::Never,
        };
        WeakReceiver { flavor }
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("WeakSender { .. }")
    }
}

impl<T> fmt::Debug for WeakReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("WeakReceiver { .. }")
    }
}
