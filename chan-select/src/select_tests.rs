//! Unit tests of the select engine (`select.rs`).

use super::*;
use chan_core::{after, bounded, never, unbounded};
use std::thread;

#[test]
fn shuffle_is_a_permutation() {
    for len in 0..9 {
        for _ in 0..20 {
            let mut items: Vec<usize> = (0..len).collect();
            shuffle(&mut items);
            items.sort_unstable();
            assert_eq!(items, (0..len).collect::<Vec<_>>());
        }
    }
}

/// Every order of three items is equally likely: 60,000 shuffles, each of
/// the 6 orders expected 10,000 times (standard deviation about 91); the
/// bounds are 11 deviations away, so only a biased shuffle fails them. A
/// rotation from a random start (what select did before) makes 3 of the 6
/// orders and fails at once.
#[test]
fn shuffle_makes_every_order_equally_likely() {
    let mut counts = std::collections::HashMap::new();
    for _ in 0..60_000 {
        let mut items = [0u8, 1, 2];
        shuffle(&mut items);
        *counts.entry(items).or_insert(0u32) += 1;
    }
    assert_eq!(counts.len(), 6, "{counts:?}");
    assert!(
        counts.values().all(|&n| (9_000..=11_000).contains(&n)),
        "{counts:?}"
    );
}

/// Threads draw different sequences: two fresh threads shuffling 12 items
/// three times agree on all three orders with probability (1/12!)^3.
#[test]
fn threads_shuffle_differently() {
    let draw = || {
        thread::spawn(|| {
            (0..3)
                .map(|_| {
                    let mut items: Vec<u8> = (0..12).collect();
                    shuffle(&mut items);
                    items
                })
                .collect::<Vec<_>>()
        })
        .join()
        .unwrap()
    };
    assert_ne!(draw(), draw());
}

#[test]
fn earliest_deadline_takes_the_soonest_of_timers_and_timeout() {
    let soon = after(Duration::from_millis(100));
    let later = after(Duration::from_secs(100));
    let idle = never::<u8>();
    let mut sel = Select::new();
    sel.recv(&later);
    sel.recv(&idle);
    assert_eq!(
        earliest_deadline(&sel.entries, Timeout::Never),
        later.deadline()
    );
    assert_eq!(
        earliest_deadline(&sel.entries, Timeout::Now),
        later.deadline()
    );
    sel.recv(&soon);
    let timeout = Instant::now() + Duration::from_secs(10);
    assert_eq!(
        earliest_deadline(&sel.entries, Timeout::At(timeout)),
        soon.deadline()
    );
    let mut without_timers = Select::new();
    without_timers.recv(&idle);
    assert_eq!(
        earliest_deadline(&without_timers.entries, Timeout::At(timeout)),
        Some(timeout)
    );
    assert_eq!(
        earliest_deadline(&without_timers.entries, Timeout::Never),
        None
    );
}

/// A select blocked on three flavors at once is woken by a send on each
/// in turn and receives exactly what was sent.
#[test]
fn blocked_select_is_woken_by_each_flavor() {
    let (array_s, array_r) = bounded::<u32>(1);
    let (list_s, list_r) = unbounded::<u32>();
    let (zero_s, zero_r) = bounded::<u32>(0);
    let sender = thread::spawn(move || {
        array_s.send(1).unwrap();
        list_s.send(2).unwrap();
        zero_s.send(3).unwrap();
    });
    let mut got = Vec::new();
    for _ in 0..3 {
        let mut sel = Select::new();
        let array_index = sel.recv(&array_r);
        let list_index = sel.recv(&list_r);
        let zero_index = sel.recv(&zero_r);
        let oper = sel.select();
        let index = oper.index();
        got.push(if index == array_index {
            oper.recv(&array_r).unwrap()
        } else if index == list_index {
            oper.recv(&list_r).unwrap()
        } else {
            assert_eq!(index, zero_index);
            oper.recv(&zero_r).unwrap()
        });
    }
    sender.join().unwrap();
    got.sort_unstable();
    assert_eq!(got, [1, 2, 3]);
}

/// A blocked send arm on a rendezvous channel completes when a receiver
/// arrives, and the receiver gets the message.
#[test]
fn blocked_send_arm_pairs_with_a_late_receiver() {
    let (s, r) = bounded::<String>(0);
    let receiver = thread::spawn(move || r.recv().unwrap());
    let mut sel = Select::new();
    sel.send(&s);
    let oper = sel.select();
    oper.send(&s, "hello".to_string()).unwrap();
    assert_eq!(receiver.join().unwrap(), "hello");
}

/// A disconnect wakes a blocked select, whose operation then reports it.
#[test]
fn disconnect_wakes_a_blocked_select() {
    let (s, r) = bounded::<u8>(0);
    let dropper = thread::spawn(move || drop(s));
    let mut sel = Select::new();
    sel.recv(&r);
    let oper = sel.select();
    assert_eq!(oper.recv(&r), Err(RecvError));
    dropper.join().unwrap();
}

/// `ready` reports a channel that became ready while it waited, and
/// `select_timeout` over an idle channel gives up without taking
/// anything.
#[test]
fn ready_wakes_and_timeout_gives_up() {
    let (s, r) = unbounded::<u8>();
    let sender = thread::spawn(move || s.send(9).unwrap());
    let mut sel = Select::new();
    let index = sel.recv(&r);
    assert_eq!(sel.ready(), index);
    assert_eq!(r.try_recv(), Ok(9));
    sender.join().unwrap();

    let (_idle_s, idle_r) = bounded::<u8>(1);
    let mut sel = Select::new();
    sel.recv(&idle_r);
    assert!(sel.select_timeout(Duration::from_millis(5)).is_err());
    assert!(sel.ready_timeout(Duration::from_millis(5)).is_err());
}
