//! Behaviour of unbounded channels (list flavor).

mod common;

use chan::{unbounded, RecvTimeoutError, TryRecvError};
use common::{
    assert_disconnect_wakes_receivers, assert_recvs_disconnected, assert_recvs_time_out,
    assert_sends_disconnected, far_future, ms, SLACK,
};
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn fifo_across_many_blocks() {
    // Under miri, still several list blocks.
    const N: i32 = if cfg!(miri) { 200 } else { 10_000 };
    let (s, r) = unbounded();
    for i in 0..N {
        s.send(i).unwrap();
    }
    assert_eq!(r.len(), N as usize);
    for i in 0..N {
        assert_eq!(r.try_recv(), Ok(i));
    }
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn interleaved_send_recv() {
    let (s, r) = unbounded();
    let mut next_out = 0;
    let mut next_in = 0;
    const ROUNDS: usize = if cfg!(miri) { 60 } else { 2000 };
    for round in 0..ROUNDS {
        for _ in 0..(round % 70) {
            s.send(next_in).unwrap();
            next_in += 1;
        }
        for _ in 0..(round % 50) {
            match r.try_recv() {
                Ok(v) => {
                    assert_eq!(v, next_out);
                    next_out += 1;
                }
                Err(TryRecvError::Empty) => assert_eq!(next_out, next_in),
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!(r.len(), next_in - next_out);
    }
}

#[test]
fn never_full_capacity_none() {
    let (s, r) = unbounded::<u8>();
    assert_eq!(s.capacity(), None);
    assert_eq!(r.capacity(), None);
    assert!(s.is_empty() && r.is_empty());
    assert!(!s.is_full() && !r.is_full());
    for i in 0..100 {
        s.try_send(i).unwrap();
        assert!(!s.is_full());
        assert_eq!(s.len(), i as usize + 1);
    }
    assert!(!r.is_empty());
    assert_eq!(r.len(), 100);
    r.try_iter().take(40).count();
    assert_eq!(r.len(), 60);
}

#[test]
fn send_never_blocks() {
    // Miri's clock advances with every step it interprets, so fewer
    // rounds keep it well inside SLACK there.
    const N: usize = if cfg!(miri) { 50 } else { 1000 };
    let (s, r) = unbounded();
    let start = Instant::now();
    for i in 0..N {
        s.send_timeout(i, Duration::ZERO).unwrap();
        s.send_deadline(i, Instant::now() - ms(1)).unwrap();
    }
    assert!(start.elapsed() < SLACK);
    assert_eq!(r.len(), 2 * N);
}

#[test]
fn disconnect_by_sender_keeps_queued_messages() {
    let (s, r) = unbounded();
    for i in 0..100 {
        s.send(i).unwrap();
    }
    drop(s);
    assert_eq!(r.iter().collect::<Vec<_>>(), (0..100).collect::<Vec<_>>());
    assert_recvs_disconnected(&r);
}

#[test]
fn disconnect_by_receiver_returns_messages() {
    let (s, r) = unbounded();
    s.send(0).unwrap();
    drop(r);
    assert_sends_disconnected(&s);
}

#[test]
fn recv_timeout_and_deadline() {
    let (s, r) = unbounded::<i32>();
    assert_recvs_time_out(&r);

    s.send(1).unwrap();
    s.send(2).unwrap();
    assert_eq!(r.recv_timeout(Duration::ZERO), Ok(1));
    assert_eq!(r.recv_deadline(Instant::now() - ms(100)), Ok(2));
    assert_eq!(
        r.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
}

#[test]
fn huge_timeouts_do_not_panic() {
    let (s, r) = unbounded();
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
    assert_eq!(r.recv_timeout(Duration::MAX), Ok(3));
    assert_eq!(r.recv_timeout(Duration::MAX), Ok(4));
    t.join().unwrap();
    assert_eq!(
        r.recv_timeout(Duration::MAX),
        Err(RecvTimeoutError::Disconnected)
    );
}

#[test]
fn blocked_receivers_woken_by_send_and_disconnect() {
    let (s, r) = unbounded::<i32>();
    let r2 = r.clone();
    let t1 = thread::spawn(move || r.recv());
    thread::sleep(ms(50));
    s.send(5).unwrap();
    assert_eq!(t1.join().unwrap(), Ok(5));

    assert_disconnect_wakes_receivers(s, r2);
}

#[test]
fn fifo_per_sender_across_threads() {
    const PER_PRODUCER: u64 = if cfg!(miri) { 40 } else { 5000 };
    let (s, r) = unbounded();
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
    for (p, i) in &r {
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
    let (s1, r1) = unbounded::<()>();
    let (s2, r2) = unbounded::<()>();
    assert!(s1.same_channel(&s1.clone()));
    assert!(r1.same_channel(&r1.clone()));
    assert!(!s1.same_channel(&s2));
    assert!(!r2.same_channel(&r1));
}

#[test]
fn zero_sized_messages() {
    let (s, r) = unbounded();
    for _ in 0..1000 {
        s.send(()).unwrap();
    }
    assert_eq!(r.len(), 1000);
    assert_eq!(r.try_iter().count(), 1000);
    assert!(r.is_empty());
}
