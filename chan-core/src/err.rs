//! Error types of channel and select operations, with crossbeam-channel 0.5's
//! exact `Display` and `Debug` texts. A message carried by an error is never
//! printed, so no error needs `T: Debug`.

use std::error;
use std::fmt;

/// The error of [`Sender::send`](crate::Sender::send): every receiver is gone.
///
/// The message that could not be sent is given back inside.
///
/// ```
/// let (s, r) = chan_core::unbounded();
/// drop(r);
/// let err = s.send(7).unwrap_err();
/// assert_eq!(err.into_inner(), 7);
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

/// The error of [`Sender::try_send`](crate::Sender::try_send).
///
/// ```
/// use chan_core::{bounded, TrySendError};
/// let (s, _r) = bounded(1);
/// s.try_send(1).unwrap();
/// assert_eq!(s.try_send(2), Err(TrySendError::Full(2)));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The channel is full; the message is given back.
    Full(T),
    /// Every receiver is gone; the message is given back.
    Disconnected(T),
}

/// The error of [`Sender::send_timeout`](crate::Sender::send_timeout) and
/// [`Sender::send_deadline`](crate::Sender::send_deadline).
///
/// ```
/// use chan_core::{bounded, SendTimeoutError};
/// use std::time::Duration;
/// let (s, _r) = bounded(0);
/// let err = s.send_timeout(5, Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err, SendTimeoutError::Timeout(5));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum SendTimeoutError<T> {
    /// No room opened before the deadline; the message is given back.
    Timeout(T),
    /// Every receiver is gone; the message is given back.
    Disconnected(T),
}

/// The error of [`Receiver::recv`](crate::Receiver::recv): the channel is
/// empty and every sender is gone.
///
/// ```
/// let (s, r) = chan_core::unbounded::<i32>();
/// drop(s);
/// assert_eq!(r.recv(), Err(chan_core::RecvError));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct RecvError;

/// The error of [`Receiver::try_recv`](crate::Receiver::try_recv).
///
/// ```
/// use chan_core::{unbounded, TryRecvError};
/// let (_s, r) = unbounded::<i32>();
/// assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum TryRecvError {
    /// No message is waiting, but a sender is still connected.
    Empty,
    /// The channel is empty and every sender is gone.
    Disconnected,
}

/// The error of [`Receiver::recv_timeout`](crate::Receiver::recv_timeout) and
/// [`Receiver::recv_deadline`](crate::Receiver::recv_deadline).
///
/// ```
/// use chan_core::{unbounded, RecvTimeoutError};
/// use std::time::Duration;
/// let (_s, r) = unbounded::<i32>();
/// assert_eq!(r.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum RecvTimeoutError {
    /// No message arrived before the deadline.
    Timeout,
    /// The channel is empty and every sender is gone.
    Disconnected,
}

/// The error of `Select::try_select`: no operation was ready.
///
/// ```
/// assert_eq!(chan_core::TrySelectError.to_string(), "all operations in select would block");
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct TrySelectError;

/// The error of `Select::select_timeout` and `Select::select_deadline`.
///
/// ```
/// assert_eq!(chan_core::SelectTimeoutError.to_string(), "timed out waiting on select");
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct SelectTimeoutError;

/// The error of `Select::try_ready`: no operation was ready.
///
/// ```
/// let err = chan_core::TryReadyError;
/// assert_eq!(format!("{:?}", err), "TryReadyError");
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct TryReadyError;

/// The error of `Select::ready_timeout` and `Select::ready_deadline`.
///
/// ```
/// let err = chan_core::ReadyTimeoutError;
/// assert_eq!(format!("{:?}", err), "ReadyTimeoutError");
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct ReadyTimeoutError;

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        "SendError(..)".fmt(f)
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        "sending on a disconnected channel".fmt(f)
    }
}

impl<T: Send> error::Error for SendError<T> {}

impl<T> SendError<T> {
    /// Gives back the message that could not be sent.
    ///
    /// ```
    /// assert_eq!(chan_core::SendError("hi").into_inner(), "hi");
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TrySendError::Full(..) => "Full(..)".fmt(f),
            TrySendError::Disconnected(..) => "Disconnected(..)".fmt(f),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TrySendError::Full(..) => "sending on a full channel".fmt(f),
            TrySendError::Disconnected(..) => "sending on a disconnected channel".fmt(f),
        }
    }
}

impl<T: Send> error::Error for TrySendError<T> {}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(err: SendError<T>) -> TrySendError<T> {
        TrySendError::Disconnected(err.0)
    }
}

impl<T> TrySendError<T> {
    /// Gives back the message that could not be sent.
    ///
    /// ```
    /// assert_eq!(chan_core::TrySendError::Full(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(msg) | TrySendError::Disconnected(msg) => msg,
        }
    }

    /// True if the send failed because the channel was full.
    ///
    /// ```
    /// assert!(chan_core::TrySendError::Full(()).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// True if the send failed because every receiver was gone.
    ///
    /// ```
    /// assert!(chan_core::TrySendError::Disconnected(()).is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        matches!(self, TrySendError::Disconnected(_))
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        "SendTimeoutError(..)".fmt(f)
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SendTimeoutError::Timeout(..) => "timed out waiting on send operation".fmt(f),
            SendTimeoutError::Disconnected(..) => "sending on a disconnected channel".fmt(f),
        }
    }
}

impl<T: Send> error::Error for SendTimeoutError<T> {}

impl<T> From<SendError<T>> for SendTimeoutError<T> {
    fn from(err: SendError<T>) -> Self {
        SendTimeoutError::Disconnected(err.0)
    }
}

impl<T> SendTimeoutError<T> {
    /// Gives back the message that could not be sent.
    ///
    /// ```
    /// assert_eq!(chan_core::SendTimeoutError::Timeout(4).into_inner(), 4);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(msg) | SendTimeoutError::Disconnected(msg) => msg,
        }
    }

    /// True if the send timed out.
    ///
    /// ```
    /// assert!(chan_core::SendTimeoutError::Timeout(()).is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, SendTimeoutError::Timeout(_))
    }

    /// True if the send failed because every receiver was gone.
    ///
    /// ```
    /// assert!(chan_core::SendTimeoutError::Disconnected(()).is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        matches!(self, SendTimeoutError::Disconnected(_))
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        "receiving on an empty and disconnected channel".fmt(f)
    }
}

impl error::Error for RecvError {}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TryRecvError::Empty => "receiving on an empty channel".fmt(f),
            TryRecvError::Disconnected => "receiving on an empty and disconnected channel".fmt(f),
        }
    }
}

impl error::Error for TryRecvError {}

impl From<RecvError> for TryRecvError {
    fn from(_: RecvError) -> Self {
        TryRecvError::Disconnected
    }
}

impl TryRecvError {
    /// True if the receive failed because the channel was empty.
    ///
    /// ```
    /// assert!(chan_core::TryRecvError::Empty.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        matches!(self, TryRecvError::Empty)
    }

    /// True if the receive failed because the channel was empty and disconnected.
    ///
    /// ```
    /// assert!(chan_core::TryRecvError::Disconnected.is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        matches!(self, TryRecvError::Disconnected)
    }
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RecvTimeoutError::Timeout => "timed out waiting on receive operation".fmt(f),
            RecvTimeoutError::Disconnected => "channel is empty and disconnected".fmt(f),
        }
    }
}

impl error::Error for RecvTimeoutError {}

impl From<RecvError> for RecvTimeoutError {
    fn from(_: RecvError) -> Self {
        RecvTimeoutError::Disconnected
    }
}

impl RecvTimeoutError {
    /// True if the receive timed out.
    ///
    /// ```
    /// assert!(chan_core::RecvTimeoutError::Timeout.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, RecvTimeoutError::Timeout)
    }

    /// True if the receive failed because the channel was empty and disconnected.
    ///
    /// ```
    /// assert!(chan_core::RecvTimeoutError::Disconnected.is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        matches!(self, RecvTimeoutError::Disconnected)
    }
}

impl fmt::Display for TrySelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        "all operations in select would block".fmt(f)
    }
}

impl error::Error for TrySelectError {}

impl fmt::Display for SelectTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        "timed out waiting on select".fmt(f)
    }
}

impl error::Error for SelectTimeoutError {}
