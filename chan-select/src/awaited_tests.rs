//! Unit tests of the awaitable select: when a pending select is woken, what
//! a dropped one leaves behind, and that the chosen operation completes.

use crate::Select;
use chan_core::{bounded, unbounded};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

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

fn poll<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

#[test]
fn a_pending_select_is_woken_by_any_of_its_channels_and_completes_it() {
    for sending_on_second in [false, true] {
        let (s1, r1) = bounded::<i32>(1);
        let (s2, r2) = unbounded::<i32>();
        let (counter, waker) = counting();
        let mut sel = Select::new();
        let first = sel.recv(&r1);
        let second = sel.recv(&r2);
        let mut future = sel.select_async();
        assert!(poll(&mut future, &waker).is_pending());
        assert!(poll(&mut future, &waker).is_pending());
        assert_eq!(counter.0.load(Ordering::SeqCst), 0);
        if sending_on_second {
            s2.send(2).unwrap();
        } else {
            s1.send(1).unwrap();
        }
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        let Poll::Ready(oper) = poll(&mut future, &waker) else {
            panic!("woken but not ready");
        };
        if sending_on_second {
            assert_eq!(oper.index(), second);
            assert_eq!(oper.recv(&r2), Ok(2));
        } else {
            assert_eq!(oper.index(), first);
            assert_eq!(oper.recv(&r1), Ok(1));
        }
    }
}

#[test]
fn a_dropped_select_passes_its_wake_up_on_and_takes_nothing() {
    let (s, r) = unbounded::<i32>();
    let (select_counter, select_waker) = counting();
    let (other_counter, other_waker) = counting();
    let mut sel = Select::new();
    sel.recv(&r);
    let mut selecting = sel.select_async();
    assert!(poll(&mut selecting, &select_waker).is_pending());
    let mut receiving = r.recv_async();
    assert!(poll(&mut receiving, &other_waker).is_pending());
    s.send(7).unwrap();
    assert_eq!(select_counter.0.load(Ordering::SeqCst), 1);
    assert_eq!(other_counter.0.load(Ordering::SeqCst), 0);
    drop(selecting);
    assert_eq!(other_counter.0.load(Ordering::SeqCst), 1);
    assert_eq!(poll(&mut receiving, &other_waker), Poll::Ready(Ok(7)));
}

#[test]
fn ready_async_reports_without_taking() {
    let (s, r) = bounded::<i32>(1);
    let (counter, waker) = counting();
    let mut sel = Select::new();
    let index = sel.recv(&r);
    let mut future = sel.ready_async();
    assert!(poll(&mut future, &waker).is_pending());
    s.send(3).unwrap();
    assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    assert_eq!(poll(&mut future, &waker), Poll::Ready(index));
    assert_eq!(r.try_recv(), Ok(3));
}

#[test]
fn disconnection_wakes_a_pending_select() {
    let (s, r) = bounded::<i32>(0);
    let (counter, waker) = counting();
    let mut sel = Select::new();
    sel.recv(&r);
    let mut future = sel.select_async();
    assert!(poll(&mut future, &waker).is_pending());
    drop(s);
    assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    let Poll::Ready(oper) = poll(&mut future, &waker) else {
        panic!("woken but not ready");
    };
    assert!(oper.recv(&r).is_err());
}
