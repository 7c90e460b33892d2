//! The awaitable select: [`Select::select_async`] and
//! [`Select::ready_async`], one wait over many operations inside async
//! code, fed by threads or tasks.
//!
//! Algorithm: the blocking select's, with the task's waker in place of a
//! parked thread (chan-core's `TaskWait`). A poll tries every operation
//! once in a uniformly random order (the written order when biased), the
//! one a partner made ready first; if none can proceed, it registers the
//! task with every operation in that same order and returns `Pending`.
//! Between polls it holds registrations only, never a reservation: a
//! reservation is made and handed out in the poll that returns it, so
//! dropping the future at any other moment unregisters everything and
//! holds nothing back (a wake-up it was given is passed on).
//!
//! On a zero-capacity channel a task only observes (see chan-core's
//! `SelectHandle::register_task`), so its send arm pairs with a receiver
//! that waits with a packet (a blocked thread, a blocking select), and its
//! receive arm with any waiting sender (a thread, a select, or an
//! awaited `send_async`).

use crate::select::{selected, Entry, Select, SelectedOperation, VisitOrder};
use chan_core::internal::{
    Arms, Context, Interest, Next, Operation, SelectHandle, TaskWait, Token,
};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

/// A select's entries as the operations of one task wait; an entry's id is
/// its address, which stays put while the future borrows the `Select`.
struct EntryArms<'e, 'a>(&'e [Entry<'a>]);

impl Arms for EntryArms<'_, '_> {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn handle(&self, arm: usize) -> &dyn SelectHandle {
        self.0[arm].handle
    }
    fn oper(&self, arm: usize, _cx: &Context) -> Operation {
        Operation::of(&self.0[arm])
    }
}

impl<'a> Select<'a> {
    /// Waits, inside async code, until one operation can proceed, and
    /// returns it reserved: complete it on the [`SelectedOperation`] right
    /// away, before the next `.await` (it is not `Send`).
    ///
    /// Fair as [`select`](Select::select): uniformly random among the ready
    /// operations, or the first one added with
    /// [`new_biased`](Select::new_biased). Cancel safe: dropping the future
    /// before it completes unregisters every operation and takes nothing
    /// from any channel. For a timeout, race it with your runtime's timer
    /// (`tokio::time::timeout`), or add a `chan::after` receive.
    ///
    /// # Rendezvous channels
    /// On a `bounded(0)` channel a send arm pairs with a receiver that
    /// waits with a place for the message: a thread blocked in `recv`, a
    /// blocking select, and never another task (a task's `recv_async` or
    /// awaited select only watches the channel, so that dropping it can
    /// lose nothing). Two tasks meeting on `bounded(0)` through a send arm
    /// wait for each other forever: give them a `bounded(1)` channel. A
    /// receive arm pairs with every kind of sender, `send_async` included.
    ///
    /// # Panics
    /// Panics (when polled) if no operation was added.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// use chan_select::Select;
    /// let (s1, r1) = chan_core::unbounded::<i32>();
    /// let (_s2, r2) = chan_core::unbounded::<i32>();
    /// std::thread::spawn(move || s1.send(7).unwrap());
    ///
    /// let mut sel = Select::new();
    /// let first = sel.recv(&r1);
    /// sel.recv(&r2);
    /// let oper = sel.select_async().await;
    /// assert_eq!(oper.index(), first);
    /// assert_eq!(oper.recv(&r1), Ok(7));
    /// # });
    /// ```
    pub fn select_async(&mut self) -> SelectFuture<'_, 'a> {
        SelectFuture {
            select: self,
            wait: TaskWait::new(Interest::Operation),
        }
    }

    /// Waits, inside async code, until some operation is ready, and
    /// returns its index without performing it (another thread or task may
    /// take the message first: then try again).
    ///
    /// # Panics
    /// Panics (when polled) if no operation was added.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (s, r) = chan_core::bounded::<i32>(1);
    /// let mut sel = chan_select::Select::new();
    /// let index = sel.recv(&r);
    /// std::thread::spawn(move || s.send(1).unwrap());
    /// assert_eq!(sel.ready_async().await, index);
    /// assert_eq!(r.try_recv(), Ok(1));
    /// # });
    /// ```
    pub fn ready_async(&mut self) -> ReadyFuture<'_, 'a> {
        ReadyFuture {
            select: self,
            wait: TaskWait::new(Interest::Readiness),
        }
    }
}

/// The future of [`Select::select_async`].
#[must_use = "futures do nothing unless polled"]
pub struct SelectFuture<'s, 'a> {
    select: &'s mut Select<'a>,
    wait: TaskWait,
}

impl<'a> Future for SelectFuture<'_, 'a> {
    type Output = SelectedOperation<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<SelectedOperation<'a>> {
        let this = self.get_mut();
        let biased = this.select.biased;
        let entries = this.select.entries.as_slice();
        assert!(
            !entries.is_empty(),
            "no operations have been added to `Select`"
        );
        let arms = EntryArms(entries);
        let Next::Try(mut first) = this.wait.resume(cx.waker(), &arms) else {
            return Poll::Pending;
        };
        loop {
            let mut token = Token::default();
            if let Some(position) = first {
                if entries[position].handle.try_select(&mut token) {
                    return Poll::Ready(selected(token, &entries[position]));
                }
            }
            let mut order = VisitOrder::new(entries.len(), biased);
            for place in 0..entries.len() {
                let position = order.position(place);
                if Some(position) != first && entries[position].handle.try_select(&mut token) {
                    return Poll::Ready(selected(token, &entries[position]));
                }
            }
            match this
                .wait
                .subscribe(cx.waker(), &arms, |place| order.position(place))
            {
                Next::Wait => return Poll::Pending,
                Next::Try(chosen) => first = chosen,
            }
        }
    }
}

impl Drop for SelectFuture<'_, '_> {
    fn drop(&mut self) {
        self.wait.cancel(&EntryArms(self.select.entries.as_slice()));
    }
}

impl fmt::Debug for SelectFuture<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("SelectFuture { .. }")
    }
}

/// The future of [`Select::ready_async`].
#[must_use = "futures do nothing unless polled"]
pub struct ReadyFuture<'s, 'a> {
    select: &'s mut Select<'a>,
    wait: TaskWait,
}

impl Future for ReadyFuture<'_, '_> {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<usize> {
        let this = self.get_mut();
        let biased = this.select.biased;
        let entries = this.select.entries.as_slice();
        assert!(
            !entries.is_empty(),
            "no operations have been added to `Select`"
        );
        let arms = EntryArms(entries);
        let mut next = this.wait.resume(cx.waker(), &arms);
        loop {
            match next {
                Next::Wait => return Poll::Pending,
                Next::Try(Some(position)) => return Poll::Ready(entries[position].index),
                Next::Try(None) => {}
            }
            let mut order = VisitOrder::new(entries.len(), biased);
            for place in 0..entries.len() {
                let entry = &entries[order.position(place)];
                if entry.handle.is_ready() {
                    return Poll::Ready(entry.index);
                }
            }
            next = this
                .wait
                .subscribe(cx.waker(), &arms, |place| order.position(place));
        }
    }
}

impl Drop for ReadyFuture<'_, '_> {
    fn drop(&mut self) {
        self.wait.cancel(&EntryArms(self.select.entries.as_slice()));
    }
}

impl fmt::Debug for ReadyFuture<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("ReadyFuture { .. }")
    }
}

#[cfg(all(test, not(loom)))]
#[path = "awaited_tests.rs"]
mod tests;
