//! Many producers and many consumers: every message is received exactly once
//! and each consumer sees each producer's messages in order.

use chan::{bounded, unbounded, Receiver, Sender};
use std::thread;

/// Total number of messages per test (under Miri, more than one list
/// block).
const TOTAL: usize = if cfg!(miri) { 400 } else { 1_000_000 };
/// The same for `bounded(1)`, where nearly every operation waits for its
/// partner, which Miri interprets slowly.
const TOTAL_ONE_SLOT: usize = if cfg!(miri) { 160 } else { TOTAL };
const PRODUCERS: usize = 4;
const CONSUMERS: usize = 4;

/// Encodes producer `p` and its sequence number `i` in one message.
fn encode(p: usize, i: usize) -> u64 {
    ((p as u64) << 32) | i as u64
}

fn decode(m: u64) -> (usize, usize) {
    ((m >> 32) as usize, (m & 0xffff_ffff) as usize)
}

/// How a producer sends.
#[derive(Clone, Copy)]
enum SendMode {
    Send,
    TrySendSpin,
    SendTimeout,
}

/// How a consumer receives.
#[derive(Clone, Copy)]
enum RecvMode {
    Recv,
    TryRecvSpin,
    RecvTimeout,
    Iter,
}

fn run(total: usize, s: Sender<u64>, r: Receiver<u64>, send_mode: SendMode, recv_mode: RecvMode) {
    assert_eq!(
        total % PRODUCERS,
        0,
        "each producer sends total / PRODUCERS"
    );
    let per_producer = total / PRODUCERS;
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let s = s.clone();
            thread::spawn(move || {
                for i in 0..per_producer {
                    let m = encode(p, i);
                    match send_mode {
                        SendMode::Send => s.send(m).unwrap(),
                        SendMode::TrySendSpin => {
                            let mut m = m;
                            loop {
                                match s.try_send(m) {
                                    Ok(()) => break,
                                    Err(e) if e.is_full() => {
                                        m = e.into_inner();
                                        thread::yield_now();
                                    }
                                    Err(e) => panic!("unexpected {e:?}"),
                                }
                            }
                        }
                        SendMode::SendTimeout => {
                            let mut m = m;
                            loop {
                                match s.send_timeout(m, std::time::Duration::from_millis(1)) {
                                    Ok(()) => break,
                                    Err(e) if e.is_timeout() => m = e.into_inner(),
                                    Err(e) => panic!("unexpected {e:?}"),
                                }
                            }
                        }
                    }
                }
            })
        })
        .collect();
    drop(s);

    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let r = r.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                match recv_mode {
                    RecvMode::Recv => {
                        while let Ok(m) = r.recv() {
                            got.push(m);
                        }
                    }
                    RecvMode::TryRecvSpin => loop {
                        match r.try_recv() {
                            Ok(m) => got.push(m),
                            Err(e) if e.is_empty() => thread::yield_now(),
                            Err(_) => break,
                        }
                    },
                    RecvMode::RecvTimeout => loop {
                        match r.recv_timeout(std::time::Duration::from_millis(1)) {
                            Ok(m) => got.push(m),
                            Err(e) if e.is_timeout() => {}
                            Err(_) => break,
                        }
                    },
                    RecvMode::Iter => got.extend(r.iter()),
                }
                got
            })
        })
        .collect();
    drop(r);

    for p in producers {
        p.join().unwrap();
    }
    let mut seen = vec![false; total];
    let mut received = 0;
    for c in consumers {
        let got = c.join().unwrap();
        let mut last = [None::<usize>; PRODUCERS];
        for m in got {
            let (p, i) = decode(m);
            assert!(p < PRODUCERS && i < per_producer, "corrupt message {m:#x}");
            if let Some(prev) = last[p] {
                assert!(i > prev, "producer {p}: {i} received after {prev}");
            }
            last[p] = Some(i);
            let idx = p * per_producer + i;
            assert!(!seen[idx], "message {p}/{i} received twice");
            seen[idx] = true;
            received += 1;
        }
    }
    assert_eq!(received, total, "messages lost");
    assert!(seen.iter().all(|&b| b));
}

#[test]
fn mpmc_unbounded() {
    let (s, r) = unbounded();
    run(TOTAL, s, r, SendMode::Send, RecvMode::Recv);
}

#[test]
fn mpmc_bounded_1() {
    let (s, r) = bounded(1);
    run(TOTAL_ONE_SLOT, s, r, SendMode::Send, RecvMode::Iter);
}

#[test]
fn mpmc_bounded_64() {
    let (s, r) = bounded(64);
    run(TOTAL, s, r, SendMode::Send, RecvMode::Recv);
}

#[test]
fn mpmc_zero() {
    let (s, r) = bounded(0);
    run(TOTAL, s, r, SendMode::Send, RecvMode::Recv);
}

#[test]
fn mpmc_bounded_try_ops() {
    let (s, r) = bounded(16);
    run(
        TOTAL / 4,
        s,
        r,
        SendMode::TrySendSpin,
        RecvMode::TryRecvSpin,
    );
}

#[test]
fn mpmc_unbounded_try_recv() {
    let (s, r) = unbounded();
    run(
        TOTAL / 4,
        s,
        r,
        SendMode::TrySendSpin,
        RecvMode::TryRecvSpin,
    );
}

#[test]
fn mpmc_timeouts() {
    let (s, r) = bounded(8);
    run(
        TOTAL / 4,
        s,
        r,
        SendMode::SendTimeout,
        RecvMode::RecvTimeout,
    );
}
