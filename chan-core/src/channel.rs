//! The public handles, `Sender` and `Receiver`, their constructors and
//! iterators. Each handle is a small enum over the flavors; every method is
//! one `match` that forwards to the flavor, so the hot paths inline.

use crate::context::{Context, Operation};
use crate::counter;
use crate::err::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use crate::flavors::{self, array, list, zero, Timer, TimerReceiver};
use crate::handle::{Readiness, SelectHandle, Token};
use std::fmt;
use std::iter::FusedIterator;
use std::mem::MaybeUninit;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Creates a channel of unbounded capacity.
///
/// Sends never block; messages wait in the channel until received.
///
/// ```
/// use std::thread;
/// let (s, r) = chan_core::unbounded();
/// let producer = thread::spawn(move || {
///     for i in 0..3 {
///         s.send(i).unwrap();
///     }
/// });
/// assert_eq!(r.iter().collect::<Vec<_>>(), [0, 1, 2]);
/// producer.join().unwrap();
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let (s, r) = counter::new(list::Channel::new());
    (
        Sender {
            flavor: SenderFlavor::List(s),
        },
        Receiver {
            flavor: ReceiverFlavor::List(r),
        },
    )
}

/// Creates a channel that holds at most `cap` messages.
///
/// With `cap == 0` the channel is a rendezvous: every send waits for a
/// receiver to take the message, and vice versa.
///
/// # Panics
/// Panics with "bounded channel capacity is too large" if `cap + 1` cannot be
/// rounded up to a power of two.
///
/// ```
/// use chan_core::{bounded, TrySendError};
/// let (s, r) = bounded(1);
/// s.send(1).unwrap();
/// assert_eq!(s.try_send(2), Err(TrySendError::Full(2)));
/// assert_eq!(r.recv(), Ok(1));
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    if cap == 0 {
        let (s, r) = counter::new(zero::Channel::new());
        (
            Sender {
                flavor: SenderFlavor::Zero(s),
            },
            Receiver {
                flavor: ReceiverFlavor::Zero(r),
            },
        )
    } else {
        let (s, r) = counter::new(array::Channel::with_capacity(cap));
        (
            Sender {
                flavor: SenderFlavor::Array(s),
            },
            Receiver {
                flavor: ReceiverFlavor::Array(r),
            },
        )
    }
}

fn same_instant(when: Instant) -> Instant {
    when
}

/// Creates a receiver that delivers one message, the instant it fires,
/// after `duration`. A duration too large to represent never fires.
///
/// ```
/// use std::time::{Duration, Instant};
/// let start = Instant::now();
/// let r = chan_core::after(Duration::from_millis(10));
/// let fired = r.recv().unwrap();
/// assert!(fired >= start + Duration::from_millis(10));
/// ```
pub fn after(duration: Duration) -> Receiver<Instant> {
    match Instant::now().checked_add(duration) {
        Some(when) => at(when),
        None => never(),
    }
}

/// Creates a receiver that delivers one message, `when`, at `when`.
///
/// ```
/// use std::time::{Duration, Instant};
/// let when = Instant::now() + Duration::from_millis(5);
/// assert_eq!(chan_core::at(when).recv(), Ok(when));
/// ```
pub fn at(when: Instant) -> Receiver<Instant> {
    Receiver {
        flavor: ReceiverFlavor::At(Arc::new(flavors::at::Channel::new(when, same_instant))),
    }
}

/// Creates a receiver that never delivers a message and never disconnects.
///
/// ```
/// use std::time::Duration;
/// let r = chan_core::never::<i32>();
/// assert!(r.recv_timeout(Duration::from_millis(1)).unwrap_err().is_timeout());
/// ```
pub const fn never<T>() -> Receiver<T> {
    Receiver {
        flavor: ReceiverFlavor::Never(flavors::never::Channel::new()),
    }
}

/// Creates a receiver that delivers the scheduled instant every `duration`.
///
/// Missed ticks are not queued: a receiver that falls behind gets one tick,
/// then the next comes a full period later. A duration too large to
/// represent never ticks.
///
/// ```
/// use std::time::{Duration, Instant};
/// let start = Instant::now();
/// let ticker = chan_core::tick(Duration::from_millis(5));
/// let first = ticker.recv().unwrap();
/// let second = ticker.recv().unwrap();
/// assert!(first >= start + Duration::from_millis(5));
/// assert!(second >= first + Duration::from_millis(5));
/// ```
pub fn tick(duration: Duration) -> Receiver<Instant> {
    match flavors::tick::Channel::new(duration, same_instant) {
        Some(chan) => Receiver {
            flavor: ReceiverFlavor::Tick(Arc::new(chan)),
        },
        None => never(),
    }
}

pub(crate) enum SenderFlavor<T> {
    Array(counter::Sender<array::Channel<T>>),
    List(counter::Sender<list::Channel<T>>),
    Zero(counter::Sender<zero::Channel<T>>),
}

pub(crate) enum ReceiverFlavor<T> {
    Array(counter::Receiver<array::Channel<T>>),
    List(counter::Receiver<list::Channel<T>>),
    Zero(counter::Receiver<zero::Channel<T>>),
    At(Arc<flavors::at::Channel<T>>),
    Tick(Arc<flavors::tick::Channel<T>>),
    Never(flavors::never::Channel<T>),
}

/// The sending side of a channel. Clone it to have several senders; the
/// channel disconnects when the last one is dropped.
///
/// ```
/// use std::thread;
/// let (s, r) = chan_core::unbounded();
/// let s2 = s.clone();
/// thread::spawn(move || s.send(1).unwrap()).join().unwrap();
/// thread::spawn(move || s2.send(2).unwrap()).join().unwrap();
/// assert_eq!(r.iter().collect::<Vec<_>>(), [1, 2]);
/// ```
pub struct Sender<T> {
    pub(crate) flavor: SenderFlavor<T>,
}

// SAFETY: the channels synchronise all access to the messages they hold, so
// handles may move and be shared between threads whenever messages may move.
unsafe impl<T: Send> Send for Sender<T> {}
// SAFETY: as above; every method takes `&self` and is thread-safe.
unsafe impl<T: Send> Sync for Sender<T> {}
impl<T> UnwindSafe for Sender<T> {}
impl<T> RefUnwindSafe for Sender<T> {}

impl<T> Sender<T> {
    /// Sends a message without blocking.
    ///
    /// Fails with `Full` if there is no room (a rendezvous channel has room
    /// only while a receiver waits) or `Disconnected` if every receiver is
    /// gone; the message is given back either way.
    ///
    /// ```
    /// use chan_core::{bounded, TrySendError};
    /// let (s, r) = bounded(1);
    /// assert_eq!(s.try_send(1), Ok(()));
    /// assert_eq!(s.try_send(2), Err(TrySendError::Full(2)));
    /// drop(r);
    /// assert_eq!(s.try_send(3), Err(TrySendError::Disconnected(3)));
    /// ```
    #[inline]
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        let result = match &self.flavor {
            SenderFlavor::Array(chan) => chan.try_send(msg),
            SenderFlavor::List(chan) => chan.try_send(msg),
            SenderFlavor::Zero(chan) => chan.try_send(msg),
        };
        #[cfg(feature = "stats")]
        if result.is_ok() {
            self.count_sent(1);
        }
        result
    }

    /// Sends a message, blocking while the channel is full.
    ///
    /// Fails only if every receiver is gone, giving the message back.
    ///
    /// ```
    /// let (s, r) = chan_core::bounded(1);
    /// s.send(1).unwrap();
    /// drop(r);
    /// assert_eq!(s.send(2), Err(chan_core::SendError(2)));
    /// ```
    #[inline]
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        self.send_until(msg, None).map_err(|err| match err {
            SendTimeoutError::Disconnected(msg) => SendError(msg),
            SendTimeoutError::Timeout(_) => unreachable!("a send without deadline timed out"),
        })
    }

    /// The flavor dispatch that every send goes through. Only the array
    /// and list fast paths inline here: the zero flavor's operations (and
    /// the timer flavors' receives) are `#[inline(never)]`, which keeps this
    /// body small enough that a caller with several call sites still gets
    /// it inlined, and shortens the call where it is not.
    #[inline]
    fn send_until(&self, msg: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let result = match &self.flavor {
            SenderFlavor::Array(chan) => chan.send(msg, deadline),
            SenderFlavor::List(chan) => chan.send(msg, deadline),
            SenderFlavor::Zero(chan) => chan.send(msg, deadline),
        };
        #[cfg(feature = "stats")]
        if result.is_ok() {
            self.count_sent(1);
        }
        result
    }

    /// Sends a message, blocking at most `timeout` while the channel is full.
    /// A timeout too large to represent waits forever.
    ///
    /// ```
    /// use chan_core::SendTimeoutError;
    /// use std::time::Duration;
    /// let (s, _r) = chan_core::bounded(0);
    /// assert_eq!(
    ///     s.send_timeout(1, Duration::from_millis(1)),
    ///     Err(SendTimeoutError::Timeout(1))
    /// );
    /// ```
    pub fn send_timeout(&self, msg: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_until(msg, Instant::now().checked_add(timeout))
    }

    /// Sends a message, blocking until `deadline` at most while the channel
    /// is full.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (s, r) = chan_core::bounded(1);
    /// s.send_deadline(1, Instant::now() + Duration::from_millis(1)).unwrap();
    /// assert!(s.send_deadline(2, Instant::now()).unwrap_err().is_timeout());
    /// assert_eq!(r.recv(), Ok(1));
    /// ```
    pub fn send_deadline(&self, msg: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_until(msg, Some(deadline))
    }

    /// True if the channel holds no message (always true for a rendezvous).
    ///
    /// ```
    /// let (s, _r) = chan_core::unbounded();
    /// assert!(s.is_empty());
    /// s.send(0).unwrap();
    /// assert!(!s.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        match &self.flavor {
            SenderFlavor::Array(chan) => chan.is_empty(),
            SenderFlavor::List(chan) => chan.is_empty(),
            SenderFlavor::Zero(chan) => chan.is_empty(),
        }
    }

    /// True if the channel has no room (always true for a rendezvous, never
    /// for an unbounded channel).
    ///
    /// ```
    /// let (s, _r) = chan_core::bounded(1);
    /// s.send(0).unwrap();
    /// assert!(s.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        match &self.flavor {
            SenderFlavor::Array(chan) => chan.is_full(),
            SenderFlavor::List(chan) => chan.is_full(),
            SenderFlavor::Zero(chan) => chan.is_full(),
        }
    }

    /// The number of messages in the channel.
    ///
    /// ```
    /// let (s, _r) = chan_core::unbounded();
    /// s.send(1).unwrap();
    /// s.send(2).unwrap();
    /// assert_eq!(s.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        match &self.flavor {
            SenderFlavor::Array(chan) => chan.len(),
            SenderFlavor::List(chan) => chan.len(),
            SenderFlavor::Zero(chan) => chan.len(),
        }
    }

    /// The capacity: `Some(cap)` for bounded channels, `None` for unbounded.
    ///
    /// ```
    /// assert_eq!(chan_core::bounded::<u8>(5).0.capacity(), Some(5));
    /// assert_eq!(chan_core::unbounded::<u8>().0.capacity(), None);
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        match &self.flavor {
            SenderFlavor::Array(chan) => chan.capacity(),
            SenderFlavor::List(chan) => chan.capacity(),
            SenderFlavor::Zero(chan) => chan.capacity(),
        }
    }

    /// True if both senders belong to the same channel.
    ///
    /// ```
    /// let (s, _r) = chan_core::unbounded::<u8>();
    /// assert!(s.same_channel(&s.clone()));
    /// assert!(!s.same_channel(&chan_core::unbounded().0));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        match (&self.flavor, &other.flavor) {
            (SenderFlavor::Array(a), SenderFlavor::Array(b)) => a == b,
            (SenderFlavor::List(a), SenderFlavor::List(b)) => a == b,
            (SenderFlavor::Zero(a), SenderFlavor::Zero(b)) => a == b,
            _ => false,
        }
    }

    fn channel_address(&self) -> usize {
        match &self.flavor {
            SenderFlavor::Array(chan) => &**chan as *const array::Channel<T> as usize,
            SenderFlavor::List(chan) => &**chan as *const list::Channel<T> as usize,
            SenderFlavor::Zero(chan) => &**chan as *const zero::Channel<T> as usize,
        }
    }
}

impl<T> Sender<T> {
    /// The zero-flavor channel behind this sender, if it is one: its async
    /// send waits differently (`zero::Channel::poll_send`).
    #[cfg(feature = "async")]
    #[inline]
    pub(crate) fn zero_channel(&self) -> Option<&zero::Channel<T>> {
        match &self.flavor {
            SenderFlavor::Zero(chan) => Some(chan),
            _ => None,
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // SAFETY: the handle is being dropped and is not used again.
        unsafe {
            match &self.flavor {
                SenderFlavor::Array(chan) => chan.release(|c| c.disconnect_senders()),
                SenderFlavor::List(chan) => chan.release(|c| c.disconnect_senders()),
                SenderFlavor::Zero(chan) => chan.release(|c| c.disconnect()),
            }
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        let flavor = match &self.flavor {
            SenderFlavor::Array(chan) => SenderFlavor::Array(chan.acquire()),
            SenderFlavor::List(chan) => SenderFlavor::List(chan.acquire()),
            SenderFlavor::Zero(chan) => SenderFlavor::Zero(chan.acquire()),
        };
        Sender { flavor }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Sender { .. }")
    }
}

/// The receiving side of a channel. Clone it to have several receivers
/// (each message goes to exactly one of them); the channel disconnects when
/// the last one is dropped.
///
/// ```
/// use std::thread;
/// let (s, r) = chan_core::bounded(4);
/// let r2 = r.clone();
/// let worker = thread::spawn(move || r2.iter().count());
/// for i in 0..10 {
///     s.send(i).unwrap();
/// }
/// drop(s);
/// let here = r.iter().count();
/// assert_eq!(here + worker.join().unwrap(), 10);
/// ```
pub struct Receiver<T> {
    pub(crate) flavor: ReceiverFlavor<T>,
}

// SAFETY: the channels synchronise all access to the messages they hold, so
// handles may move and be shared between threads whenever messages may move.
unsafe impl<T: Send> Send for Receiver<T> {}
// SAFETY: as above; every method takes `&self` and is thread-safe.
unsafe impl<T: Send> Sync for Receiver<T> {}
impl<T> UnwindSafe for Receiver<T> {}
impl<T> RefUnwindSafe for Receiver<T> {}

impl<T> Receiver<T> {
    /// Receives a message without blocking.
    ///
    /// ```
    /// use chan_core::TryRecvError;
    /// let (s, r) = chan_core::unbounded();
    /// assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    /// s.send(5).unwrap();
    /// drop(s);
    /// assert_eq!(r.try_recv(), Ok(5));
    /// assert_eq!(r.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let result = match &self.flavor {
            ReceiverFlavor::Array(chan) => chan.try_recv(),
            ReceiverFlavor::List(chan) => chan.try_recv(),
            ReceiverFlavor::Zero(chan) => chan.try_recv(),
            ReceiverFlavor::At(chan) => chan.try_recv(),
            ReceiverFlavor::Tick(chan) => chan.try_recv(),
            ReceiverFlavor::Never(chan) => chan.try_recv(),
        };
        #[cfg(feature = "stats")]
        if result.is_ok() {
            self.count_received(1);
        }
        result
    }

    /// Receives a message, blocking while the channel is empty.
    ///
    /// Fails only once the channel is empty and every sender is gone.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded();
    /// s.send(1).unwrap();
    /// drop(s);
    /// assert_eq!(r.recv(), Ok(1));
    /// assert_eq!(r.recv(), Err(chan_core::RecvError));
    /// ```
    #[inline]
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_until(None).map_err(|err| match err {
            RecvTimeoutError::Disconnected => RecvError,
            RecvTimeoutError::Timeout => unreachable!("a receive without deadline timed out"),
        })
    }

    /// The flavor dispatch of every receive: the array and list fast paths
    /// inline here, everything else is one out-of-line call, as in
    /// `Sender::send_until`. That call writes the message through a
    /// pointer instead of returning it, so that the result built here is
    /// never the return place of a call: the compiler can then keep it in
    /// registers and, when the caller uses part of the message only, read
    /// only that part of the slot.
    #[inline]
    pub(crate) fn recv_until(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let fast = match &self.flavor {
            ReceiverFlavor::Array(chan) => chan.recv_fast(),
            ReceiverFlavor::List(chan) => chan.recv_fast(),
            _ => None,
        };
        if let Some(msg) = fast {
            #[cfg(feature = "stats")]
            self.count_received(1);
            return Ok(msg);
        }
        let mut out = MaybeUninit::uninit();
        match self.recv_cold(deadline, &mut out) {
            // SAFETY: `recv_cold` returns `Ok` only after writing `out`.
            Ok(()) => Ok(unsafe { out.assume_init() }),
            Err(err) => Err(err),
        }
    }

    /// Every receive that `recv_until`'s fast paths leave: the array's and
    /// list's general paths (which decide again from the start, without
    /// repeating the fast attempt), the other flavors' `recv`. Writes the
    /// message to `out` on `Ok`.
    #[inline(never)]
    fn recv_cold(
        &self,
        deadline: Option<Instant>,
        out: &mut MaybeUninit<T>,
    ) -> Result<(), RecvTimeoutError> {
        let result = match &self.flavor {
            ReceiverFlavor::Array(chan) => chan.recv_slow(deadline),
            ReceiverFlavor::List(chan) => chan.recv_blocking(deadline),
            ReceiverFlavor::Zero(chan) => chan.recv(deadline),
            ReceiverFlavor::At(chan) => chan.recv(deadline),
            ReceiverFlavor::Tick(chan) => chan.recv(deadline),
            ReceiverFlavor::Never(chan) => chan.recv(deadline),
        };
        match result {
            Ok(msg) => {
                #[cfg(feature = "stats")]
                self.count_received(1);
                out.write(msg);
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    /// Receives a message, blocking at most `timeout` while the channel is
    /// empty. A message already waiting is returned even with a zero
    /// timeout; a timeout too large to represent waits forever.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (s, r) = chan_core::unbounded();
    /// s.send(1).unwrap();
    /// assert_eq!(r.recv_timeout(Duration::ZERO), Ok(1));
    /// assert!(r.recv_timeout(Duration::from_millis(1)).unwrap_err().is_timeout());
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(Instant::now().checked_add(timeout))
    }

    /// Receives a message, blocking until `deadline` at most while the
    /// channel is empty. A message already waiting is returned even if the
    /// deadline has passed.
    ///
    /// ```
    /// use std::time::Instant;
    /// let (s, r) = chan_core::unbounded();
    /// s.send(1).unwrap();
    /// assert_eq!(r.recv_deadline(Instant::now()), Ok(1));
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(Some(deadline))
    }

    /// True if the channel holds no message.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded();
    /// assert!(r.is_empty());
    /// s.send(()).unwrap();
    /// assert!(!r.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        match &self.flavor {
            ReceiverFlavor::Array(chan) => chan.is_empty(),
            ReceiverFlavor::List(chan) => chan.is_empty(),
            ReceiverFlavor::Zero(chan) => chan.is_empty(),
            ReceiverFlavor::At(chan) => chan.is_empty(),
            ReceiverFlavor::Tick(chan) => chan.is_empty(),
            ReceiverFlavor::Never(_) => true,
        }
    }

    /// True if the channel has no room.
    ///
    /// ```
    /// let (s, r) = chan_core::bounded(1);
    /// s.send(()).unwrap();
    /// assert!(r.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        match &self.flavor {
            ReceiverFlavor::Array(chan) => chan.is_full(),
            ReceiverFlavor::List(chan) => chan.is_full(),
            ReceiverFlavor::Zero(chan) => chan.is_full(),
            ReceiverFlavor::At(chan) => chan.is_full(),
            ReceiverFlavor::Tick(chan) => chan.is_full(),
            ReceiverFlavor::Never(_) => true,
        }
    }

    /// The number of messages in the channel.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded();
    /// s.send(1).unwrap();
    /// assert_eq!(r.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        match &self.flavor {
            ReceiverFlavor::Array(chan) => chan.len(),
            ReceiverFlavor::List(chan) => chan.len(),
            ReceiverFlavor::Zero(chan) => chan.len(),
            ReceiverFlavor::At(chan) => chan.len(),
            ReceiverFlavor::Tick(chan) => chan.len(),
            ReceiverFlavor::Never(_) => 0,
        }
    }

    /// The capacity: `Some(cap)` for bounded channels, `None` for unbounded,
    /// `Some(1)` for timers and `Some(0)` for `never`.
    ///
    /// ```
    /// assert_eq!(chan_core::bounded::<u8>(0).1.capacity(), Some(0));
    /// assert_eq!(chan_core::never::<u8>().capacity(), Some(0));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        match &self.flavor {
            ReceiverFlavor::Array(chan) => chan.capacity(),
            ReceiverFlavor::List(chan) => chan.capacity(),
            ReceiverFlavor::Zero(chan) => chan.capacity(),
            ReceiverFlavor::At(chan) => chan.capacity(),
            ReceiverFlavor::Tick(chan) => chan.capacity(),
            ReceiverFlavor::Never(_) => Some(0),
        }
    }

    /// A blocking iterator over received messages; it ends when the channel
    /// is empty and disconnected.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded();
    /// s.send(1).unwrap();
    /// s.send(2).unwrap();
    /// drop(s);
    /// assert_eq!(r.iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { receiver: self }
    }

    /// A non-blocking iterator over the messages available now.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded();
    /// s.send(1).unwrap();
    /// assert_eq!(r.try_iter().collect::<Vec<_>>(), [1]);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { receiver: self }
    }

    /// True if both receivers belong to the same channel (every `never()`
    /// receiver is the same channel).
    ///
    /// ```
    /// let r = chan_core::never::<u8>();
    /// assert!(r.same_channel(&chan_core::never()));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        match (&self.flavor, &other.flavor) {
            (ReceiverFlavor::Array(a), ReceiverFlavor::Array(b)) => a == b,
            (ReceiverFlavor::List(a), ReceiverFlavor::List(b)) => a == b,
            (ReceiverFlavor::Zero(a), ReceiverFlavor::Zero(b)) => a == b,
            (ReceiverFlavor::At(a), ReceiverFlavor::At(b)) => Arc::ptr_eq(a, b),
            (ReceiverFlavor::Tick(a), ReceiverFlavor::Tick(b)) => Arc::ptr_eq(a, b),
            (ReceiverFlavor::Never(_), ReceiverFlavor::Never(_)) => true,
            _ => false,
        }
    }

    fn channel_address(&self) -> usize {
        match &self.flavor {
            ReceiverFlavor::Array(chan) => &**chan as *const array::Channel<T> as usize,
            ReceiverFlavor::List(chan) => &**chan as *const list::Channel<T> as usize,
            ReceiverFlavor::Zero(chan) => &**chan as *const zero::Channel<T> as usize,
            ReceiverFlavor::At(chan) => &**chan as *const flavors::at::Channel<T> as usize,
            ReceiverFlavor::Tick(chan) => &**chan as *const flavors::tick::Channel<T> as usize,
            // Every `never` channel is the same channel. Even, as the
            // addresses of the others are (see `receiver_channel_id`).
            ReceiverFlavor::Never(_) => 2,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // SAFETY: the handle is being dropped and is not used again.
        unsafe {
            match &self.flavor {
                ReceiverFlavor::Array(chan) => chan.release(|c| c.disconnect_receivers()),
                ReceiverFlavor::List(chan) => chan.release(|c| c.disconnect_receivers()),
                ReceiverFlavor::Zero(chan) => chan.release(|c| c.disconnect()),
                ReceiverFlavor::At(_) | ReceiverFlavor::Tick(_) | ReceiverFlavor::Never(_) => {}
            }
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        let flavor = match &self.flavor {
            ReceiverFlavor::Array(chan) => ReceiverFlavor::Array(chan.acquire()),
            ReceiverFlavor::List(chan) => ReceiverFlavor::List(chan.acquire()),
            ReceiverFlavor::Zero(chan) => ReceiverFlavor::Zero(chan.acquire()),
            ReceiverFlavor::At(chan) => ReceiverFlavor::At(chan.clone()),
            ReceiverFlavor::Tick(chan) => ReceiverFlavor::Tick(chan.clone()),
            ReceiverFlavor::Never(_) => ReceiverFlavor::Never(flavors::never::Channel::new()),
        };
        Receiver { flavor }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Receiver { .. }")
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        IntoIter { receiver: self }
    }
}

/// A blocking iterator over messages, made by [`Receiver::iter`].
///
/// ```
/// let (s, r) = chan_core::unbounded();
/// s.send(7).unwrap();
/// drop(s);
/// let mut iter = r.iter();
/// assert_eq!(iter.next(), Some(7));
/// assert_eq!(iter.next(), None);
/// ```
pub struct Iter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> FusedIterator for Iter<'_, T> {}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Iter { .. }")
    }
}

/// A non-blocking iterator over the messages available now, made by
/// [`Receiver::try_iter`]. It is not fused: messages sent after it ended
/// are returned by a later `next`.
///
/// ```
/// let (s, r) = chan_core::unbounded();
/// let mut iter = r.try_iter();
/// assert_eq!(iter.next(), None);
/// s.send(1).unwrap();
/// assert_eq!(iter.next(), Some(1));
/// ```
pub struct TryIter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.try_recv().ok()
    }
}

impl<T> fmt::Debug for TryIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("TryIter { .. }")
    }
}

/// A blocking iterator that owns its receiver, made by
/// `Receiver::into_iter`.
///
/// ```
/// let (s, r) = chan_core::unbounded();
/// s.send(1).unwrap();
/// drop(s);
/// assert_eq!(r.into_iter().collect::<Vec<_>>(), [1]);
/// ```
pub struct IntoIter<T> {
    receiver: Receiver<T>,
}

impl<T> FusedIterator for IntoIter<T> {}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<T> fmt::Debug for IntoIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("IntoIter { .. }")
    }
}

macro_rules! forward_select_handle {
    ($self:ident, $handle:ident => $body:expr) => {
        match &$self.flavor {
            SenderFlavor::Array(chan) => {
                let $handle = chan.sender();
                $body
            }
            SenderFlavor::List(chan) => {
                let $handle = chan.sender();
                $body
            }
            SenderFlavor::Zero(chan) => {
                let $handle = chan.sender();
                $body
            }
        }
    };
}

impl<T> SelectHandle for Sender<T> {
    fn try_select(&self, token: &mut Token) -> bool {
        forward_select_handle!(self, handle => handle.try_select(token))
    }
    fn deadline(&self) -> Option<Instant> {
        None
    }
    fn register(&self, oper: Operation, cx: &Context) -> bool {
        forward_select_handle!(self, handle => handle.register(oper, cx))
    }
    fn unregister(&self, oper: Operation) {
        forward_select_handle!(self, handle => handle.unregister(oper))
    }
    fn accept(&self, token: &mut Token, cx: &Context) -> bool {
        forward_select_handle!(self, handle => handle.accept(token, cx))
    }
    fn is_ready(&self) -> bool {
        forward_select_handle!(self, handle => handle.is_ready())
    }
    fn observe(&self) -> Readiness {
        forward_select_handle!(self, handle => handle.observe())
    }
    fn watch(&self, oper: Operation, cx: &Context) -> bool {
        forward_select_handle!(self, handle => handle.watch(oper, cx))
    }
    fn unwatch(&self, oper: Operation) {
        forward_select_handle!(self, handle => handle.unwatch(oper))
    }
    fn register_task(&self, oper: Operation, cx: &Context) -> bool {
        forward_select_handle!(self, handle => handle.register_task(oper, cx))
    }
    fn unregister_task(&self, oper: Operation) {
        forward_select_handle!(self, handle => handle.unregister_task(oper))
    }
    fn pass_on(&self) {
        forward_select_handle!(self, handle => handle.pass_on())
    }
    unsafe fn cancel(&self, token: &mut Token) {
        // SAFETY: forwarded caller contract: the reservation was made on this
        // sender's channel.
        unsafe {
            match &self.flavor {
                SenderFlavor::Array(chan) => chan.cancel_send(token),
                SenderFlavor::List(chan) => chan.cancel_send(token),
                SenderFlavor::Zero(chan) => chan.cancel_send(token),
            }
        }
    }
}

impl<T> Receiver<T> {
    /// Runs `f` with this receiver's select handle.
    #[inline]
    fn with_handle<R>(&self, f: impl FnOnce(&dyn SelectHandle) -> R) -> R {
        match &self.flavor {
            ReceiverFlavor::Array(chan) => f(&chan.receiver()),
            ReceiverFlavor::List(chan) => f(&chan.receiver()),
            ReceiverFlavor::Zero(chan) => f(&chan.receiver()),
            ReceiverFlavor::At(chan) => f(&TimerReceiver(&**chan)),
            ReceiverFlavor::Tick(chan) => f(&TimerReceiver(&**chan)),
            ReceiverFlavor::Never(chan) => f(chan),
        }
    }
}

impl<T> SelectHandle for Receiver<T> {
    fn try_select(&self, token: &mut Token) -> bool {
        self.with_handle(|handle| handle.try_select(token))
    }
    fn deadline(&self) -> Option<Instant> {
        self.with_handle(|handle| handle.deadline())
    }
    fn register(&self, oper: Operation, cx: &Context) -> bool {
        self.with_handle(|handle| handle.register(oper, cx))
    }
    fn unregister(&self, oper: Operation) {
        self.with_handle(|handle| handle.unregister(oper))
    }
    fn accept(&self, token: &mut Token, cx: &Context) -> bool {
        self.with_handle(|handle| handle.accept(token, cx))
    }
    fn is_ready(&self) -> bool {
        self.with_handle(|handle| handle.is_ready())
    }
    fn observe(&self) -> Readiness {
        self.with_handle(|handle| handle.observe())
    }
    fn watch(&self, oper: Operation, cx: &Context) -> bool {
        self.with_handle(|handle| handle.watch(oper, cx))
    }
    fn unwatch(&self, oper: Operation) {
        self.with_handle(|handle| handle.unwatch(oper))
    }
    fn register_task(&self, oper: Operation, cx: &Context) -> bool {
        self.with_handle(|handle| handle.register_task(oper, cx))
    }
    fn unregister_task(&self, oper: Operation) {
        self.with_handle(|handle| handle.unregister_task(oper))
    }
    fn pass_on(&self) {
        self.with_handle(|handle| handle.pass_on())
    }
    unsafe fn cancel(&self, token: &mut Token) {
        // SAFETY: forwarded caller contract: the reservation was made on this
        // receiver's channel. Timer and never channels hold nothing for it.
        unsafe {
            match &self.flavor {
                ReceiverFlavor::Array(chan) => chan.cancel_recv(token),
                ReceiverFlavor::List(chan) => chan.cancel_recv(token),
                ReceiverFlavor::Zero(chan) => chan.cancel_recv(token),
                ReceiverFlavor::At(_) | ReceiverFlavor::Tick(_) | ReceiverFlavor::Never(_) => {}
            }
        }
    }
}

/// Completes a send reserved by a successful `try_select`/`accept` on `s`.
///
/// # Safety
/// `token` must hold a reservation made on the channel of `s` and not yet
/// completed.
pub unsafe fn write<T>(s: &Sender<T>, token: &mut Token, msg: T) -> Result<(), T> {
    // SAFETY: forwarded caller contract.
    let result = unsafe {
        match &s.flavor {
            SenderFlavor::Array(chan) => chan.write(token, msg),
            SenderFlavor::List(chan) => chan.write(token, msg),
            SenderFlavor::Zero(chan) => chan.write(token, msg),
        }
    };
    #[cfg(feature = "stats")]
    if result.is_ok() {
        s.count_sent(1);
    }
    result
}

/// Completes a receive reserved by a successful `try_select`/`accept` on `r`.
/// `Err(())` means the channel was disconnected (the select engine maps it
/// to `RecvError`).
///
/// # Safety
/// `token` must hold a reservation made on the channel of `r` and not yet
/// completed.
#[allow(clippy::result_unit_err)]
pub unsafe fn read<T>(r: &Receiver<T>, token: &mut Token) -> Result<T, ()> {
    // SAFETY: forwarded caller contract.
    let result = unsafe {
        match &r.flavor {
            ReceiverFlavor::Array(chan) => chan.read(token),
            ReceiverFlavor::List(chan) => chan.read(token),
            ReceiverFlavor::Zero(chan) => chan.read(token),
            ReceiverFlavor::At(chan) => chan.read(token),
            ReceiverFlavor::Tick(chan) => chan.read(token),
            ReceiverFlavor::Never(chan) => chan.read(token),
        }
    };
    #[cfg(feature = "stats")]
    if result.is_ok() {
        r.count_received(1);
    }
    result
}

/// An address that identifies the channel behind a sender (the same for
/// every clone). Always even: every channel holds an atomic word, so its
/// address is aligned, which leaves the select engine the lowest bit.
pub fn sender_channel_id<T>(s: &Sender<T>) -> usize {
    s.channel_address()
}

/// An address that identifies the channel behind a receiver (the same for
/// every clone). Always even, as `sender_channel_id`'s.
pub fn receiver_channel_id<T>(r: &Receiver<T>) -> usize {
    r.channel_address()
}
