//! Uses `chan` under the name `crossbeam_channel`, as a migrating user would.
//!
//! The library part re-exports the channel crate under another path and calls
//! its macros through that path; the tests in `tests/` use the crate exactly
//! as code written for crossbeam-channel 0.5 does.

#![forbid(unsafe_code)]

use std::time::Duration;

/// A re-export of the channel crate, as some libraries offer their users.
pub mod channels {
    pub use crossbeam_channel as reexported;
}

use channels::reexported::{Receiver, Sender};

/// Returns the first message from `a` or `b`, or `None` if both are
/// disconnected or nothing arrives within `timeout`.
///
/// Written against the re-exported path only.
pub fn first_of<T>(a: &Receiver<T>, b: &Receiver<T>, timeout: Duration) -> Option<T> {
    channels::reexported::select! {
        recv(a) -> msg => msg.ok(),
        recv(b) -> msg => msg.ok(),
        default(timeout) => None,
    }
}

/// Sends `msg` into the first sender that has room, preferring `primary`;
/// gives the message back if neither has room right now.
pub fn send_preferring<T>(primary: &Sender<T>, fallback: &Sender<T>, msg: T) -> Result<(), T> {
    let mut slot = Some(msg);
    channels::reexported::select_biased! {
        send(primary, slot.take().expect("evaluated once")) -> res => res.map_err(|e| e.into_inner()),
        send(fallback, slot.take().expect("evaluated once")) -> res => res.map_err(|e| e.into_inner()),
        default => Err(slot.take().expect("no message was evaluated")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::{bounded, unbounded};

    #[test]
    fn first_of_through_reexport() {
        let (s1, r1) = unbounded();
        let (_s2, r2) = unbounded();
        s1.send(5).unwrap();
        assert_eq!(first_of(&r1, &r2, Duration::from_secs(1)), Some(5));
        assert_eq!(first_of(&r1, &r2, Duration::from_millis(10)), None);
    }

    #[test]
    fn send_preferring_through_reexport() {
        let (p, pr) = bounded(1);
        let (f, fr) = bounded(1);
        assert_eq!(send_preferring(&p, &f, 1), Ok(()));
        assert_eq!(send_preferring(&p, &f, 2), Ok(()));
        assert_eq!(send_preferring(&p, &f, 3), Err(3));
        assert_eq!(pr.try_recv(), Ok(1));
        assert_eq!(fr.try_recv(), Ok(2));
    }
}
