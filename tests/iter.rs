//! `iter`, `try_iter`, `into_iter` and `for x in &r`.

mod common;

use chan::{bounded, unbounded};
use common::{flavors, ms};
use std::collections::HashSet;
use std::thread;
use std::time::Instant;

#[test]
fn iter_blocks_and_ends_on_disconnect() {
    for flavor in flavors(3) {
        let (s, r) = flavor.make::<i32>();
        let start = Instant::now();
        let t = thread::spawn(move || {
            for i in 0..5 {
                thread::sleep(ms(10));
                s.send(i).unwrap();
            }
        });
        let v: Vec<i32> = r.iter().collect();
        assert_eq!(v, vec![0, 1, 2, 3, 4]);
        assert!(start.elapsed() >= ms(50), "iter did not wait for messages");
        t.join().unwrap();
    }
}

#[test]
fn iter_drains_messages_queued_before_disconnect() {
    let (s, r) = bounded(10);
    for i in 0..10 {
        s.send(i).unwrap();
    }
    drop(s);
    let mut it = r.iter();
    assert_eq!(it.by_ref().take(4).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    assert_eq!(it.collect::<Vec<_>>(), vec![4, 5, 6, 7, 8, 9]);
}

#[test]
fn iter_is_fused_after_disconnect() {
    let (s, r) = unbounded::<i32>();
    s.send(1).unwrap();
    drop(s);
    let mut it = r.iter();
    assert_eq!(it.next(), Some(1));
    assert_eq!(it.next(), None);
    assert_eq!(it.next(), None);
}

#[test]
fn try_iter_stops_at_first_empty_and_resumes() {
    let (s, r) = unbounded();
    s.send(1).unwrap();
    s.send(2).unwrap();
    let mut it = r.try_iter();
    assert_eq!(it.next(), Some(1));
    assert_eq!(it.next(), Some(2));
    assert_eq!(it.next(), None);
    // Not fused: new messages show up through the same iterator.
    s.send(3).unwrap();
    assert_eq!(it.next(), Some(3));
    assert_eq!(it.next(), None);
    drop(s);
    assert_eq!(it.next(), None);
}

#[test]
fn try_iter_does_not_block() {
    for flavor in flavors(3) {
        let (s, r) = flavor.make::<i32>();
        let start = Instant::now();
        assert_eq!(r.try_iter().count(), 0);
        assert!(start.elapsed() < ms(500));
        drop(s);
        assert_eq!(r.try_iter().count(), 0);
    }
}

#[test]
fn try_iter_takes_only_what_is_there() {
    let (s, r) = bounded(5);
    for i in 0..5 {
        s.send(i).unwrap();
    }
    assert_eq!(r.try_iter().collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    assert!(r.is_empty());
    // The channel is still connected and usable.
    s.send(9).unwrap();
    assert_eq!(r.recv(), Ok(9));
}

#[test]
fn into_iter_consumes_receiver() {
    for flavor in flavors(3) {
        let (s, r) = flavor.make::<i32>();
        let t = thread::spawn(move || {
            for i in 0..100 {
                s.send(i).unwrap();
            }
        });
        let v: Vec<i32> = r.into_iter().collect();
        assert_eq!(v, (0..100).collect::<Vec<_>>());
        t.join().unwrap();
    }
}

#[test]
fn into_iter_is_fused() {
    let (s, r) = bounded(1);
    s.send(5).unwrap();
    drop(s);
    let mut it = r.into_iter();
    assert_eq!(it.next(), Some(5));
    assert_eq!(it.next(), None);
    assert_eq!(it.next(), None);
}

#[test]
fn for_loop_over_reference() {
    let (s, r) = unbounded();
    let t = thread::spawn(move || {
        for i in 1..=10 {
            s.send(i).unwrap();
        }
    });
    let mut sum = 0;
    for x in &r {
        sum += x;
    }
    assert_eq!(sum, 55);
    t.join().unwrap();
    // The receiver is still usable after the loop.
    assert!(r.recv().is_err());
}

#[test]
fn for_loop_by_value() {
    let (s, r) = bounded(2);
    let t = thread::spawn(move || {
        for i in 0..20 {
            s.send(i).unwrap();
        }
    });
    let mut n = 0;
    for x in r {
        assert_eq!(x, n);
        n += 1;
    }
    assert_eq!(n, 20);
    t.join().unwrap();
}

#[test]
fn several_receivers_iterate_disjoint_messages() {
    const MESSAGES: i32 = if cfg!(miri) { 60 } else { 3000 };
    for flavor in flavors(3) {
        let (s, r) = flavor.make::<i32>();
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let r = r.clone();
                thread::spawn(move || r.iter().collect::<Vec<i32>>())
            })
            .collect();
        drop(r);
        for i in 0..MESSAGES {
            s.send(i).unwrap();
        }
        drop(s);
        let mut seen = HashSet::new();
        for c in consumers {
            let v = c.join().unwrap();
            // Each consumer sees increasing values (single producer).
            assert!(v.windows(2).all(|w| w[0] < w[1]));
            for x in v {
                assert!(seen.insert(x), "{x} received twice");
            }
        }
        assert_eq!(seen.len(), MESSAGES as usize);
    }
}

#[test]
fn iterator_adapters_work() {
    let (s, r) = unbounded();
    for i in 0..10 {
        s.send(i).unwrap();
    }
    let evens: Vec<i32> = r.iter().filter(|x| x % 2 == 0).take(3).collect();
    assert_eq!(evens, vec![0, 2, 4]);
    // Messages consumed by the adapter chain are gone; the rest remain.
    assert_eq!(r.try_iter().collect::<Vec<_>>(), vec![5, 6, 7, 8, 9]);
}
