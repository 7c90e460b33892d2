//! The `tick` flavor: a channel that delivers the scheduled `Instant` every
//! `period`, starting one period after creation.
//!
//! The next delivery time is kept as nanoseconds since the channel's start in
//! one atomic word. A receiver takes a due tick with a compare-and-swap that
//! moves the next delivery to `max(now, scheduled) + period`, so missed ticks
//! are not queued up: a slow receiver gets one tick, then waits a full
//! period. Exactly one receiver wins each scheduled instant. The channel is
//! never disconnected.

use super::Timer;
use crate::err::RecvTimeoutError;
use crate::handle::Readiness;
use crate::sync::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A periodic timer channel delivering messages of type `T`.
pub struct Channel<T> {
    start: Instant,
    /// Nanoseconds from `start` to the next delivery.
    next_delivery: AtomicU64,
    period_nanos: u64,
    make_message: fn(Instant) -> T,
}

impl<T> Channel<T> {
    /// A channel ticking every `period`; `None` if the schedule cannot be
    /// represented (the caller then uses a channel that never delivers).
    pub fn new(period: Duration, make_message: fn(Instant) -> T) -> Option<Self> {
        let start = Instant::now();
        let period_nanos = u64::try_from(period.as_nanos()).ok()?;
        // The first tick, and a few hundred years of ticks after it, must fit.
        start.checked_add(period)?;
        Some(Channel {
            start,
            next_delivery: AtomicU64::new(period_nanos),
            period_nanos,
            make_message,
        })
    }

    #[inline]
    fn instant_of(&self, nanos: u64) -> Instant {
        self.start + Duration::from_nanos(nanos)
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Takes the due tick, if any.
    #[inline]
    fn take_due(&self) -> Option<Instant> {
        loop {
            let now = self.now_nanos();
            let scheduled = self.next_delivery.load(Ordering::Acquire);
            if now < scheduled {
                return None;
            }
            let next = now.saturating_add(self.period_nanos);
            if self
                .next_delivery
                .compare_exchange(scheduled, next, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return Some(self.instant_of(scheduled));
            }
        }
    }

    /// Receives, blocking until a tick is due or `deadline` passes.
    #[inline(never)]
    pub fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        loop {
            if let Some(when) = self.take_due() {
                return Ok((self.make_message)(when));
            }
            let next = self.instant_of(self.next_delivery.load(Ordering::Acquire));
            let now = Instant::now();
            let wake = match deadline {
                Some(deadline) if deadline < next => {
                    if now < deadline {
                        std::thread::sleep(deadline - now);
                    }
                    return Err(RecvTimeoutError::Timeout);
                }
                _ => next,
            };
            if now < wake {
                std::thread::sleep(wake - now);
            }
        }
    }
}

impl<T> Timer for Channel<T> {
    type Message = T;

    fn take_due(&self) -> Option<Instant> {
        Channel::take_due(self)
    }

    fn next_due(&self) -> Option<Instant> {
        Some(self.instant_of(self.next_delivery.load(Ordering::Acquire)))
    }

    fn observe_due(&self) -> Readiness {
        // The next delivery only moves forward and time only grows: the same
        // schedule seen twice, with the tick not due at the second look,
        // was not due at any moment in between. The schedule is read before
        // the clock for that reason.
        let scheduled = self.next_delivery.load(Ordering::SeqCst);
        if self.now_nanos() < scheduled {
            Readiness::Blocked(u128::from(scheduled))
        } else {
            Readiness::Ready
        }
    }

    fn message(&self, when: Instant) -> T {
        (self.make_message)(when)
    }
}
