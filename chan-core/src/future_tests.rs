//! Unit tests of the async API's waiting: exactly when a pending future is
//! woken, with which waker, and what a dropped one leaves behind.

use crate::{after, bounded, never, tick, unbounded, RecvError, SendError};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Counting(AtomicUsize);

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting() -> (Arc<Counting>, Waker) {
    let counter = Arc::new(Counting::default());
    (counter.clone(), Waker::from(counter))
}

fn wakes(counter: &Counting) -> usize {
    counter.0.load(Ordering::SeqCst)
}

fn poll<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

#[test]
fn a_pending_receive_is_woken_once_by_a_send_and_not_before() {
    for (s, r) in [unbounded(), bounded(1), bounded(0)] {
        let (counter, waker) = counting();
        let mut future = r.recv_async();
        assert!(poll(&mut future, &waker).is_pending());
        // Spurious polls with the same waker change nothing.
        assert!(poll(&mut future, &waker).is_pending());
        assert!(poll(&mut future, &waker).is_pending());
        assert_eq!(wakes(&counter), 0, "woken with nothing to receive");
        // On a rendezvous the send has to wait for the receive: a thread.
        let sender = std::thread::spawn(move || s.send(5).map(|()| s));
        while wakes(&counter) == 0 {
            std::thread::yield_now();
        }
        assert_eq!(poll(&mut future, &waker), Poll::Ready(Ok(5)));
        let s = sender.join().unwrap().unwrap();
        assert_eq!(wakes(&counter), 1);
        drop(s);
    }
}

#[test]
fn a_pending_future_polled_with_a_new_waker_wakes_only_the_new_one() {
    for (s, r) in [unbounded(), bounded(1)] {
        let (old_counter, old_waker) = counting();
        let (new_counter, new_waker) = counting();
        let mut future = r.recv_async();
        assert!(poll(&mut future, &old_waker).is_pending());
        assert!(poll(&mut future, &new_waker).is_pending());
        s.send(1).unwrap();
        assert_eq!(wakes(&old_counter), 0, "the task moved away");
        assert_eq!(wakes(&new_counter), 1);
        assert_eq!(poll(&mut future, &new_waker), Poll::Ready(Ok(1)));
    }
}

#[test]
fn disconnecting_wakes_pending_sends_and_receives() {
    for (s, r) in [unbounded::<i32>(), bounded(1), bounded(0)] {
        let (counter, waker) = counting();
        let mut future = r.recv_async();
        assert!(poll(&mut future, &waker).is_pending());
        drop(s);
        assert_eq!(wakes(&counter), 1);
        assert_eq!(poll(&mut future, &waker), Poll::Ready(Err(RecvError)));
    }
    for (s, r) in [bounded::<i32>(1), bounded(0)] {
        if s.capacity() == Some(1) {
            s.send(0).unwrap();
        }
        let (counter, waker) = counting();
        let mut future = s.send_async(1);
        assert!(poll(&mut future, &waker).is_pending());
        drop(r);
        assert_eq!(wakes(&counter), 1);
        assert_eq!(poll(&mut future, &waker), Poll::Ready(Err(SendError(1))));
    }
}

#[test]
fn a_full_bounded_send_waits_for_room_then_sends() {
    let (s, r) = bounded(1);
    s.send(1).unwrap();
    let (counter, waker) = counting();
    let mut future = s.send_async(2);
    assert!(poll(&mut future, &waker).is_pending());
    assert_eq!(wakes(&counter), 0);
    assert_eq!(r.recv(), Ok(1));
    assert_eq!(wakes(&counter), 1);
    assert_eq!(poll(&mut future, &waker), Poll::Ready(Ok(())));
    assert_eq!(r.try_recv(), Ok(2));
}

#[test]
fn a_dropped_receive_passes_its_wake_up_to_the_next_waiter() {
    let (s, r) = unbounded();
    let (first_counter, first_waker) = counting();
    let (second_counter, second_waker) = counting();
    let mut first = r.recv_async();
    let mut second = r.recv_async();
    assert!(poll(&mut first, &first_waker).is_pending());
    assert!(poll(&mut second, &second_waker).is_pending());
    s.send(1).unwrap();
    // One wake-up per message, to the first registered.
    assert_eq!((wakes(&first_counter), wakes(&second_counter)), (1, 0));
    drop(first);
    assert_eq!(wakes(&second_counter), 1, "the wake-up was not passed on");
    assert_eq!(poll(&mut second, &second_waker), Poll::Ready(Ok(1)));
}

#[test]
fn a_dropped_bounded_send_passes_its_wake_up_to_the_next_sender() {
    let (s, r) = bounded(1);
    s.send(0).unwrap();
    let (first_counter, first_waker) = counting();
    let (second_counter, second_waker) = counting();
    let mut first = s.send_async(1);
    let mut second = s.send_async(2);
    assert!(poll(&mut first, &first_waker).is_pending());
    assert!(poll(&mut second, &second_waker).is_pending());
    assert_eq!(r.recv(), Ok(0));
    assert_eq!((wakes(&first_counter), wakes(&second_counter)), (1, 0));
    drop(first);
    assert_eq!(wakes(&second_counter), 1, "the wake-up was not passed on");
    assert_eq!(poll(&mut second, &second_waker), Poll::Ready(Ok(())));
    assert_eq!(r.try_recv(), Ok(2));
}

#[test]
fn a_zero_capacity_send_waits_with_its_message_for_a_receiver() {
    let (s, r) = bounded(0);
    let (counter, waker) = counting();
    let mut future = s.send_async(String::from("parcel"));
    assert!(poll(&mut future, &waker).is_pending());
    // A receiver that only tries finds it waiting, and takes it.
    assert_eq!(r.try_recv().as_deref(), Ok("parcel"));
    assert_eq!(wakes(&counter), 1);
    assert_eq!(poll(&mut future, &waker), Poll::Ready(Ok(())));

    // Dropped before any receiver came: the message is dropped with it,
    // and nothing is left in the channel.
    let mut future = s.send_async(String::from("kept"));
    assert!(poll(&mut future, &waker).is_pending());
    drop(future);
    assert!(r.try_recv().is_err());
}

// The timer thread lives as long as the process, which Miri reports as a
// thread the main thread did not wait for; its code is safe Rust.
#[test]
#[cfg_attr(miri, ignore)]
fn timer_channels_wake_tasks_at_their_instant() {
    let start = Instant::now();
    let r = after(Duration::from_millis(20));
    let (counter, waker) = counting();
    let mut future = r.recv_async();
    assert!(poll(&mut future, &waker).is_pending());
    while wakes(&counter) == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert!(matches!(poll(&mut future, &waker), Poll::Ready(Ok(_))));

    let r = tick(Duration::from_millis(5));
    for _ in 0..3 {
        let (counter, waker) = counting();
        let mut future = r.recv_async();
        while poll(&mut future, &waker).is_pending() {
            while wakes(&counter) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    // `never` stays pending, and a dropped wait leaves no timer behind.
    let r = never::<i32>();
    let (counter, waker) = counting();
    let mut future = r.recv_async();
    assert!(poll(&mut future, &waker).is_pending());
    drop(future);
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(wakes(&counter), 0);
}
