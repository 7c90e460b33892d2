//! The `never` flavor: a channel that never delivers a message and never
//! disconnects. Every operation on it blocks until its deadline; it is empty
//! and full at once, with capacity 0.

use crate::context::{Context, Operation};
use crate::err::{RecvTimeoutError, TryRecvError};
use crate::handle::{Readiness, SelectHandle, Token};
use std::marker::PhantomData;
use std::time::Instant;

/// A channel that never delivers.
pub struct Channel<T> {
    _message: PhantomData<fn() -> T>,
}

impl<T> Channel<T> {
    /// Creates the channel (it holds no state).
    pub const fn new() -> Self {
        Channel {
            _message: PhantomData,
        }
    }

    /// Always `Empty`.
    #[inline(never)]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        Err(TryRecvError::Empty)
    }

    /// Sleeps until `deadline` (forever if none), then times out.
    #[inline(never)]
    pub fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        crate::policy::sleep_until(deadline);
        Err(RecvTimeoutError::Timeout)
    }

    /// Never completes: nothing can have been reserved.
    pub fn read(&self, _token: &mut Token) -> Result<T, ()> {
        Err(())
    }
}

impl<T> Default for Channel<T> {
    fn default() -> Self {
        Channel::new()
    }
}

impl<T> SelectHandle for Channel<T> {
    fn try_select(&self, _token: &mut Token) -> bool {
        false
    }
    fn deadline(&self) -> Option<Instant> {
        None
    }
    fn register(&self, _oper: Operation, _cx: &Context) -> bool {
        false
    }
    fn unregister(&self, _oper: Operation) {}
    fn accept(&self, _token: &mut Token, _cx: &Context) -> bool {
        false
    }
    fn is_ready(&self) -> bool {
        false
    }
    fn observe(&self) -> Readiness {
        Readiness::Blocked(0)
    }
    fn watch(&self, _oper: Operation, _cx: &Context) -> bool {
        false
    }
    fn unwatch(&self, _oper: Operation) {}
}
