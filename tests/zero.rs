//! Behaviour of rendezvous channels (`bounded(0)`, zero flavor).

mod common;

use chan::{bounded, RecvError, RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use common::{
    assert_disconnect_wakes_receivers, assert_disconnect_wakes_senders, assert_recvs_time_out,
    assert_sends_disconnected, assert_sends_time_out, far_future, ms,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Retries `f` until it returns `Some`, for at most a few seconds.
fn retry<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "gave up retrying");
        thread::sleep(ms(1));
    }
}

#[test]
fn capacity_len_always_empty_and_full() {
    let (s, r) = bounded::<i32>(0);
    assert_eq!(s.capacity(), Some(0));
    assert_eq!(r.capacity(), Some(0));
    assert_eq!((s.len(), r.len()), (0, 0));
    assert!(s.is_empty() && r.is_empty());
    assert!(s.is_full() && r.is_full());

    // Still empty and full while a sender is blocked.
    let t = thread::spawn(move || s.send(1));
    thread::sleep(ms(50));
    assert_eq!(r.len(), 0);
    assert!(r.is_empty() && r.is_full());
    assert_eq!(r.recv(), Ok(1));
    t.join().unwrap().unwrap();
}

#[test]
fn try_send_fails_without_waiting_receiver() {
    let (s, r) = bounded(0);
    assert_eq!(s.try_send(1), Err(TrySendError::Full(1)));
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    drop(r);
    assert_eq!(s.try_send(2), Err(TrySendError::Disconnected(2)));
}

#[test]
fn try_send_succeeds_when_receiver_waits() {
    let (s, r) = bounded(0);
    let t = thread::spawn(move || r.recv());
    let mut msg = 0;
    retry(|| match s.try_send(msg) {
        Ok(()) => Some(()),
        Err(TrySendError::Full(m)) => {
            msg = m + 1;
            None
        }
        Err(e) => panic!("unexpected {e:?}"),
    });
    // The receiver got exactly the message that try_send reported as sent.
    assert_eq!(t.join().unwrap(), Ok(msg));
}

#[test]
fn try_recv_succeeds_when_sender_waits() {
    let (s, r) = bounded(0);
    let t = thread::spawn(move || s.send(42));
    let v = retry(|| match r.try_recv() {
        Ok(v) => Some(v),
        Err(TryRecvError::Empty) => None,
        Err(e) => panic!("unexpected {e:?}"),
    });
    assert_eq!(v, 42);
    t.join().unwrap().unwrap();
}

#[test]
fn recv_timeout_zero_takes_waiting_sender_message() {
    let (s, r) = bounded(0);
    let t = thread::spawn(move || s.send(9));
    let v = retry(|| r.recv_timeout(Duration::ZERO).ok());
    assert_eq!(v, 9);
    t.join().unwrap().unwrap();

    let (s, r) = bounded(0);
    let t = thread::spawn(move || s.send(10));
    let v = retry(|| r.recv_deadline(Instant::now() - ms(10)).ok());
    assert_eq!(v, 10);
    t.join().unwrap().unwrap();
}

#[test]
fn send_timeout_zero_hands_over_to_waiting_receiver() {
    let (s, r) = bounded(0);
    let t = thread::spawn(move || r.recv());
    retry(|| s.send_timeout(3, Duration::ZERO).ok());
    assert_eq!(t.join().unwrap(), Ok(3));
}

#[test]
fn send_blocks_until_received() {
    let (s, r) = bounded(0);
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let t = thread::spawn(move || {
        s.send(1).unwrap();
        d.store(true, Ordering::SeqCst);
    });
    thread::sleep(ms(100));
    assert!(
        !done.load(Ordering::SeqCst),
        "send completed with no receiver"
    );
    assert_eq!(r.recv(), Ok(1));
    t.join().unwrap();
    assert!(done.load(Ordering::SeqCst));
}

#[test]
fn timeouts_expire_without_partner() {
    let (s, r) = bounded::<i32>(0);
    assert_sends_time_out(&s);
    assert_recvs_time_out(&r);
    assert_eq!(
        r.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
    assert_eq!(
        s.send_timeout(3, Duration::ZERO),
        Err(SendTimeoutError::Timeout(3))
    );
}

#[test]
fn huge_timeouts_do_not_panic() {
    let (s, r) = bounded(0);
    let t = thread::spawn(move || {
        thread::sleep(ms(50));
        s.send(1).unwrap();
        thread::sleep(ms(50));
        s.send(2).unwrap();
        s.send_timeout(3, Duration::MAX).unwrap();
        s.send_deadline(4, far_future()).unwrap();
    });
    assert_eq!(r.recv_timeout(Duration::MAX), Ok(1));
    assert_eq!(r.recv_deadline(far_future()), Ok(2));
    thread::sleep(ms(50));
    assert_eq!(r.recv(), Ok(3));
    thread::sleep(ms(50));
    assert_eq!(r.recv(), Ok(4));
    t.join().unwrap();
}

#[test]
fn disconnect_errors() {
    let (s, r) = bounded::<i32>(0);
    drop(s);
    assert_eq!(r.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(r.recv(), Err(RecvError));
    assert_eq!(r.recv_timeout(ms(10)), Err(RecvTimeoutError::Disconnected));

    let (s, r) = bounded(0);
    drop(r);
    assert_sends_disconnected(&s);
}

#[test]
fn blocked_receiver_woken_by_disconnect() {
    let (s, r) = bounded(0);
    assert_disconnect_wakes_receivers(s, r);
}

#[test]
fn blocked_sender_woken_by_disconnect() {
    let (s, r) = bounded(0);
    assert_disconnect_wakes_senders(s, r);
}

#[test]
fn fifo_per_sender() {
    const N: i32 = if cfg!(miri) { 50 } else { 1000 };
    let (s, r) = bounded(0);
    let t = thread::spawn(move || {
        for i in 0..N {
            s.send(i).unwrap();
        }
    });
    assert_eq!(r.iter().collect::<Vec<_>>(), (0..N).collect::<Vec<_>>());
    t.join().unwrap();
}

#[test]
fn ping_pong() {
    let (s1, r1) = bounded(0);
    let (s2, r2) = bounded(0);
    let t = thread::spawn(move || {
        for v in r1.iter() {
            s2.send(v + 1).unwrap();
        }
    });
    const ROUNDS: i32 = if cfg!(miri) { 50 } else { 1000 };
    let mut v = 0;
    for _ in 0..ROUNDS {
        s1.send(v).unwrap();
        v = r2.recv().unwrap();
    }
    assert_eq!(v, ROUNDS);
    drop(s1);
    t.join().unwrap();
}

#[test]
fn same_channel() {
    let (s1, r1) = bounded::<u8>(0);
    let (s2, r2) = bounded::<u8>(0);
    assert!(s1.same_channel(&s1.clone()));
    assert!(r1.same_channel(&r1.clone()));
    assert!(!s1.same_channel(&s2));
    assert!(!r1.same_channel(&r2));
}
