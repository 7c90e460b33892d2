//! The `at` flavor behind `after(duration)` and `at(instant)`: a channel that
//! delivers one message, the scheduled `Instant`, once that instant passes.
//!
//! Invariants: `received` goes from false to true exactly once, by the one
//! receiver whose swap wins, which is the only one to get the message. The
//! channel is never disconnected. Readiness comes from time, not from a
//! partner, so the select engine learns when to wake through `deadline`.

use super::Timer;
use crate::err::RecvTimeoutError;
use crate::handle::Readiness;
use crate::sync::{AtomicBool, Ordering};
use std::time::Instant;

/// A one-shot timer channel delivering messages of type `T`.
pub struct Channel<T> {
    delivery_time: Instant,
    received: AtomicBool,
    /// Makes the message from the instant; the identity for `Instant`.
    make_message: fn(Instant) -> T,
}

impl<T> Channel<T> {
    /// A channel that delivers `make_message(when)` at `when`.
    pub fn new(when: Instant, make_message: fn(Instant) -> T) -> Self {
        Channel {
            delivery_time: when,
            received: AtomicBool::new(false),
            make_message,
        }
    }

    /// Takes the message if it is due and nobody took it yet.
    #[inline]
    fn take_due(&self) -> Option<Instant> {
        if self.received.load(Ordering::Relaxed) || Instant::now() < self.delivery_time {
            return None;
        }
        if self.received.swap(true, Ordering::SeqCst) {
            None
        } else {
            Some(self.delivery_time)
        }
    }

    /// Receives, blocking until the message is due or `deadline` passes.
    #[inline(never)]
    pub fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        if !self.received.load(Ordering::Relaxed) {
            loop {
                let now = Instant::now();
                if now >= self.delivery_time {
                    break;
                }
                if let Some(deadline) = deadline {
                    if now >= deadline {
                        return Err(RecvTimeoutError::Timeout);
                    }
                    std::thread::sleep(self.delivery_time.min(deadline) - now);
                } else {
                    std::thread::sleep(self.delivery_time - now);
                }
            }
            if let Some(when) = self.take_due() {
                return Ok((self.make_message)(when));
            }
        }
        crate::policy::sleep_until(deadline);
        Err(RecvTimeoutError::Timeout)
    }
}

impl<T> Timer for Channel<T> {
    type Message = T;

    fn take_due(&self) -> Option<Instant> {
        Channel::take_due(self)
    }

    fn next_due(&self) -> Option<Instant> {
        if self.received.load(Ordering::Relaxed) {
            None
        } else {
            Some(self.delivery_time)
        }
    }

    fn observe_due(&self) -> Readiness {
        // `received` only turns true and time only grows: "not taken and not
        // due" seen now held at every earlier moment too, and "taken" stays.
        // The flag is read first, so a due check that fails proves the
        // message was not due when the flag was read either.
        let received = self.received.load(Ordering::SeqCst);
        if received {
            Readiness::Blocked(1)
        } else if Instant::now() < self.delivery_time {
            Readiness::Blocked(0)
        } else {
            Readiness::Ready
        }
    }

    fn message(&self, when: Instant) -> T {
        (self.make_message)(when)
    }
}
