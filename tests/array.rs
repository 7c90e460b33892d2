//! Behaviour of bounded channels with a non-zero capacity (array flavor).

mod common;

use chan::{
    bounded, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use common::{
    assert_disconnect_wakes_receivers, assert_disconnect_wakes_senders, assert_recvs_disconnected,
    assert_recvs_time_out, assert_sends_disconnected, assert_sends_time_out, far_future, ms,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn fifo_order_single_thread() {
    let (s, r) = bounded(8);
    for i in 0..8 {
        s.send(i).unwrap();
    }
    for i in 0..8 {
        assert_eq!(r.recv(), Ok(i));
    }
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn wraps_around_many_laps() {
    let (s, r) = bounded(3);
    let mut next_in = 0;
    let mut next_out = 0;
    const ROUNDS: usize = if cfg!(miri) { 150 } else { 1000 };
    for round in 0..ROUNDS {
        let k = 1 + round % 3;
        for _ in 0..k {
            s.try_send(next_in).unwrap();
            next_in += 1;
        }
        for _ in 0..k {
            assert_eq!(r.try_recv(), Ok(next_out));
            next_out += 1;
        }
    }
    assert!(r.is_empty());
}

#[test]
fn capacity_len_full_empty() {
    let (s, r) = bounded::<u32>(3);
    assert_eq!(s.capacity(), Some(3));
    assert_eq!(r.capacity(), Some(3));
    assert!(s.is_empty() && r.is_empty());
    assert!(!s.is_full() && !r.is_full());
    assert_eq!((s.len(), r.len()), (0, 0));

    s.send(1).unwrap();
    assert_eq!((s.len(), r.len()), (1, 1));
    assert!(!s.is_empty() && !r.is_full());
    s.send(2).unwrap();
    s.send(3).unwrap();
    assert_eq!(r.len(), 3);
    assert!(s.is_full() && r.is_full());
    assert!(!r.is_empty());

    assert_eq!(s.try_send(4), Err(TrySendError::Full(4)));
    assert_eq!(r.len(), 3);

    assert_eq!(r.recv(), Ok(1));
    assert_eq!(s.len(), 2);
    assert!(!s.is_full());
    s.try_send(4).unwrap();
    assert_eq!(r.try_iter().collect::<Vec<_>>(), vec![2, 3, 4]);
    assert!(r.is_empty());
    assert_eq!(r.capacity(), Some(3));
}

#[test]
fn capacity_one() {
    let (s, r) = bounded(1);
    assert_eq!(s.capacity(), Some(1));
    s.try_send(10).unwrap();
    assert!(s.is_full());
    assert_eq!(s.try_send(11), Err(TrySendError::Full(11)));
    assert_eq!(r.try_recv(), Ok(10));
    assert!(r.is_empty());
    s.try_send(12).unwrap();
    assert_eq!(r.recv(), Ok(12));
}

#[test]
fn large_capacity_fills_exactly() {
    const CAP: usize = if cfg!(miri) { 200 } else { 1000 };
    let (s, r) = bounded(CAP);
    for i in 0..CAP {
        s.try_send(i).unwrap();
    }
    assert_eq!(s.try_send(CAP), Err(TrySendError::Full(CAP)));
    assert_eq!(r.len(), CAP);
    assert_eq!(
        r.try_iter().collect::<Vec<_>>(),
        (0..CAP).collect::<Vec<_>>()
    );
}

#[test]
#[should_panic(expected = "bounded channel capacity is too large")]
fn capacity_too_large_panics() {
    let _ = bounded::<u8>(usize::MAX);
}

#[test]
fn try_recv_empty_then_disconnected_after_drain() {
    let (s, r) = bounded(2);
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    s.send(1).unwrap();
    s.send(2).unwrap();
    drop(s);
    // Messages sent before disconnection are still delivered.
    assert_eq!(r.try_recv(), Ok(1));
    assert_eq!(r.recv(), Ok(2));
    assert_recvs_disconnected(&r);
}

#[test]
fn send_errors_return_the_message_after_receiver_dropped() {
    let (s, r) = bounded(2);
    drop(r);
    assert_sends_disconnected(&s);
}

#[test]
fn disconnected_even_when_full() {
    let (s, r) = bounded(1);
    s.send(1).unwrap();
    drop(r);
    assert_eq!(s.try_send(2), Err(TrySendError::Disconnected(2)));
    assert_eq!(s.send(3), Err(SendError(3)));
}

#[test]
fn dropping_one_clone_keeps_channel_connected() {
    let (s, r) = bounded(4);
    let s2 = s.clone();
    let r2 = r.clone();
    drop(s);
    s2.send(1).unwrap();
    drop(r);
    assert_eq!(r2.recv(), Ok(1));
    s2.send(2).unwrap();
    drop(s2);
    assert_eq!(r2.recv(), Ok(2));
    assert_eq!(r2.recv(), Err(RecvError));
}

#[test]
fn send_timeout_and_deadline_on_full_channel() {
    let (s, r) = bounded(1);
    s.send(0).unwrap();
    assert_sends_time_out(&s);
    // Zero timeout / past deadline on a full channel fail at once.
    assert_eq!(
        s.send_timeout(3, Duration::ZERO),
        Err(SendTimeoutError::Timeout(3))
    );
    assert_eq!(
        s.send_deadline(4, Instant::now() - ms(1)),
        Err(SendTimeoutError::Timeout(4))
    );
    drop(r);
}

#[test]
fn send_timeout_succeeds_with_room_even_with_zero_timeout() {
    let (s, r) = bounded(1);
    s.send_timeout(1, Duration::ZERO).unwrap();
    assert_eq!(r.recv(), Ok(1));
    s.send_deadline(2, Instant::now() - ms(5)).unwrap();
    assert_eq!(r.recv(), Ok(2));
}

#[test]
fn recv_timeout_and_deadline_on_empty_channel() {
    let (s, r) = bounded::<i32>(1);
    assert_recvs_time_out(&r);
    drop(s);
}

#[test]
fn recv_timeout_returns_available_message_even_if_expired() {
    let (s, r) = bounded(2);
    s.send(1).unwrap();
    s.send(2).unwrap();
    assert_eq!(r.recv_timeout(Duration::ZERO), Ok(1));
    assert_eq!(r.recv_deadline(Instant::now() - ms(10)), Ok(2));
    assert_eq!(
        r.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
}

#[test]
fn huge_timeouts_do_not_panic() {
    let (s, r) = bounded(1);
    let t = thread::spawn(move || {
        thread::sleep(ms(50));
        s.send(1).unwrap();
        thread::sleep(ms(50));
        s.send(2).unwrap();
        s
    });
    assert_eq!(r.recv_timeout(Duration::MAX), Ok(1));
    assert_eq!(r.recv_deadline(far_future()), Ok(2));
    let s = t.join().unwrap();

    // Blocked senders with huge timeouts.
    s.send(3).unwrap();
    let t = thread::spawn(move || {
        thread::sleep(ms(50));
        assert_eq!(r.recv(), Ok(3));
        thread::sleep(ms(50));
        assert_eq!(r.recv(), Ok(4));
        assert_eq!(r.recv(), Ok(5));
    });
    s.send_timeout(4, Duration::MAX).unwrap();
    s.send_deadline(5, far_future()).unwrap();
    t.join().unwrap();
}

#[test]
fn blocked_sender_unblocks_when_room_appears() {
    let (s, r) = bounded(1);
    s.send(1).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let t = thread::spawn(move || {
        s.send(2).unwrap();
        d.store(true, Ordering::SeqCst);
    });
    thread::sleep(ms(50));
    // The channel is full, so the sender cannot have finished.
    assert!(!done.load(Ordering::SeqCst));
    assert_eq!(r.recv(), Ok(1));
    t.join().unwrap();
    assert!(done.load(Ordering::SeqCst));
    assert_eq!(r.recv(), Ok(2));
}

#[test]
fn blocked_receiver_woken_by_send() {
    let (s, r) = bounded(1);
    let t = thread::spawn(move || r.recv());
    thread::sleep(ms(50));
    s.send(7).unwrap();
    assert_eq!(t.join().unwrap(), Ok(7));
}

#[test]
fn blocked_receiver_woken_by_disconnect() {
    let (s, r) = bounded(1);
    assert_disconnect_wakes_receivers(s, r);
}

#[test]
fn blocked_sender_woken_by_disconnect() {
    let (s, r) = bounded(1);
    s.send(0).unwrap();
    assert_disconnect_wakes_senders(s, r);
}

#[test]
fn fifo_per_sender_across_threads() {
    const PER_PRODUCER: u64 = if cfg!(miri) { 40 } else { 2000 };
    let (s, r) = bounded(4);
    let producers: Vec<_> = (0..4u64)
        .map(|p| {
            let s = s.clone();
            thread::spawn(move || {
                for i in 0..PER_PRODUCER {
                    s.send((p, i)).unwrap();
                }
            })
        })
        .collect();
    drop(s);
    let mut next = [0u64; 4];
    for (p, i) in r.iter() {
        assert_eq!(next[p as usize], i, "producer {p} out of order");
        next[p as usize] += 1;
    }
    assert_eq!(next, [PER_PRODUCER; 4]);
    for t in producers {
        t.join().unwrap();
    }
}

#[test]
fn same_channel() {
    let (s1, r1) = bounded::<i32>(1);
    let (s2, r2) = bounded::<i32>(1);
    assert!(s1.same_channel(&s1.clone()));
    assert!(r1.same_channel(&r1.clone()));
    assert!(!s1.same_channel(&s2));
    assert!(!r1.same_channel(&r2));
    assert!(s2.same_channel(&s2));
}

#[test]
fn non_send_messages_compile_and_work() {
    use std::rc::Rc;
    let (s, r) = bounded(1);
    s.send(Rc::new(5)).unwrap();
    assert_eq!(*r.recv().unwrap(), 5);
    let (s, r) = bounded::<Box<dyn std::any::Any>>(1);
    s.send(Box::new("x")).unwrap();
    assert_eq!(r.recv().unwrap().downcast_ref::<&str>(), Some(&"x"));
}
