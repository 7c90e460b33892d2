//! Behaviour of the timer channels: `after`, `at`, `tick` and `never`.

mod common;

use chan::{after, at, never, tick, Receiver, RecvTimeoutError, TryRecvError};
use common::{assert_elapsed, ms, SLACK};
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn after_delivers_once_at_scheduled_instant() {
    let start = Instant::now();
    let r = after(ms(100));
    let got = r.recv().unwrap();
    let now = Instant::now();
    assert_elapsed(start, ms(100));
    assert!(got >= start + ms(100), "delivered instant is too early");
    assert!(got <= now, "delivered instant is in the future");
    // Only one message, and the channel never disconnects.
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    let t = Instant::now();
    assert_eq!(r.recv_timeout(ms(50)), Err(RecvTimeoutError::Timeout));
    assert_elapsed(t, ms(50));
}

#[test]
fn after_zero_is_ready_immediately() {
    let start = Instant::now();
    let r = after(Duration::ZERO);
    let got = r.try_recv().unwrap();
    assert!(got >= start && got <= Instant::now());
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn after_capacity_and_len() {
    let r = after(ms(250));
    assert_eq!(r.capacity(), Some(1));
    assert_eq!(r.len(), 0);
    assert!(r.is_empty());
    assert!(!r.is_full());
    thread::sleep(ms(300));
    assert_eq!(r.len(), 1);
    assert!(!r.is_empty());
    assert!(r.is_full());
    r.recv().unwrap();
    assert_eq!(r.len(), 0);
    assert!(r.is_empty());
    assert!(!r.is_full());
    assert_eq!(r.capacity(), Some(1));
}

#[test]
fn after_try_recv_before_deadline_is_empty() {
    let r = after(Duration::from_secs(10));
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    let t = Instant::now();
    assert_eq!(r.recv_timeout(ms(50)), Err(RecvTimeoutError::Timeout));
    assert_elapsed(t, ms(50));
}

#[test]
fn after_clones_share_state() {
    let r1 = after(ms(30));
    let r2 = r1.clone();
    assert!(r1.same_channel(&r2));
    assert!(!r1.same_channel(&after(ms(30))));
    r1.recv().unwrap();
    assert_eq!(r2.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(r1.try_recv(), Err(TryRecvError::Empty));
    drop(r1);
    assert_eq!(r2.recv_timeout(ms(20)), Err(RecvTimeoutError::Timeout));
}

#[test]
fn after_clone_in_other_thread_only_one_receives() {
    let r1 = after(ms(50));
    let r2 = r1.clone();
    let t = thread::spawn(move || r2.recv_timeout(ms(300)).is_ok());
    let here = r1.recv_timeout(ms(300)).is_ok();
    let there = t.join().unwrap();
    assert!(here ^ there, "exactly one receiver must get the message");
}

#[test]
fn after_overflow_behaves_like_never() {
    let r = after(Duration::MAX);
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    let t = Instant::now();
    assert_eq!(r.recv_timeout(ms(50)), Err(RecvTimeoutError::Timeout));
    assert_elapsed(t, ms(50));
    assert!(r.is_empty());
    assert_eq!(r.len(), 0);
}

#[test]
fn at_delivers_given_instant() {
    let when = Instant::now() + ms(250);
    let r = at(when);
    assert_eq!(r.capacity(), Some(1));
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(r.recv(), Ok(when));
    assert!(Instant::now() >= when);
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn at_in_the_past_is_ready() {
    let when = Instant::now();
    thread::sleep(ms(5));
    let r = at(when);
    assert_eq!(r.len(), 1);
    assert!(r.is_full());
    assert_eq!(r.try_recv(), Ok(when));
    assert_eq!(r.len(), 0);
    assert_eq!(r.recv_timeout(ms(10)), Err(RecvTimeoutError::Timeout));
}

#[test]
fn at_recv_timeout_shorter_than_deadline() {
    let r = at(Instant::now() + Duration::from_secs(10));
    let t = Instant::now();
    assert_eq!(r.recv_timeout(ms(50)), Err(RecvTimeoutError::Timeout));
    assert_elapsed(t, ms(50));
    assert_eq!(
        r.recv_deadline(Instant::now() + ms(10)),
        Err(RecvTimeoutError::Timeout)
    );
}

#[test]
fn tick_delivers_periodically() {
    let start = Instant::now();
    let r = tick(ms(50));
    assert_eq!(r.capacity(), Some(1));
    let mut prev = start;
    for _ in 0..4 {
        let got = r.recv().unwrap();
        let now = Instant::now();
        assert!(got >= prev + ms(50), "tick came too early");
        assert!(got <= now, "delivered instant is in the future");
        prev = got;
    }
    assert!(start.elapsed() >= ms(200));
    assert!(start.elapsed() < ms(200) + SLACK);
}

#[test]
fn tick_does_not_accumulate_missed_ticks() {
    let start = Instant::now();
    let r = tick(ms(100));
    thread::sleep(ms(450));
    assert_eq!(r.len(), 1);
    assert!(r.is_full());
    let first = r.try_recv().unwrap();
    assert!(first >= start + ms(100));
    assert!(
        first < start + ms(350),
        "first tick should be the missed one"
    );
    // Missed ticks are not queued up.
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(r.len(), 0);
    let before = Instant::now();
    let second = r.recv().unwrap();
    assert!(second >= first + ms(100));
    assert!(before.elapsed() < SLACK);
}

#[test]
fn tick_clones_share_state() {
    let r1 = tick(ms(100));
    let r2 = r1.clone();
    assert!(r1.same_channel(&r2));
    assert!(!r1.same_channel(&tick(ms(100))));
    let first = r1.recv().unwrap();
    assert_eq!(r2.try_recv(), Err(TryRecvError::Empty));
    let second = r2.recv().unwrap();
    assert!(second >= first + ms(100));
    assert!(Instant::now() >= second);
}

#[test]
fn tick_overflow_behaves_like_never() {
    let r = tick(Duration::MAX);
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    let t = Instant::now();
    assert_eq!(r.recv_timeout(ms(50)), Err(RecvTimeoutError::Timeout));
    assert_elapsed(t, ms(50));
}

#[test]
fn tick_iterates() {
    let r = tick(ms(10));
    let v: Vec<Instant> = r.iter().take(3).collect();
    assert_eq!(v.len(), 3);
    assert!(v[0] < v[1] && v[1] < v[2]);
}

#[test]
fn never_never_delivers() {
    let r = never::<i32>();
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    let t = Instant::now();
    assert_eq!(r.recv_timeout(ms(100)), Err(RecvTimeoutError::Timeout));
    assert_elapsed(t, ms(100));
    let t = Instant::now();
    assert_eq!(r.recv_deadline(t + ms(50)), Err(RecvTimeoutError::Timeout));
    assert_elapsed(t, ms(50));
    assert_eq!(r.try_iter().count(), 0);
}

#[test]
fn never_capacity_and_len() {
    let r = never::<u8>();
    assert_eq!(r.capacity(), Some(0));
    assert_eq!(r.len(), 0);
    assert!(r.is_empty());
    assert!(r.is_full());
}

#[test]
fn never_is_the_same_channel_everywhere() {
    let a = never::<i32>();
    let b = never::<i32>();
    assert!(a.same_channel(&b));
    assert!(a.same_channel(&a.clone()));
    let (_s, r) = chan::unbounded::<i32>();
    assert!(!a.same_channel(&r));
}

const NEVER: Receiver<u64> = never();

#[test]
fn never_in_const_context() {
    let r = NEVER;
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(NEVER.capacity(), Some(0));
}

#[test]
fn never_works_with_non_send_types() {
    let r = never::<std::rc::Rc<u8>>();
    assert!(r.try_recv().is_err());
}

#[test]
fn timer_receivers_have_the_plain_receiver_type() {
    let mut r: Receiver<Instant> = tick(ms(10));
    assert!(r.recv_timeout(SLACK).is_ok());
    r = never();
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    r = after(ms(1));
    assert!(r.recv_timeout(SLACK).is_ok());
    r = at(Instant::now());
    assert!(r.try_recv().is_ok());
}

#[test]
fn timer_receivers_are_send() {
    let r = after(ms(10));
    let t = thread::spawn(move || r.recv().is_ok());
    assert!(t.join().unwrap());
}
