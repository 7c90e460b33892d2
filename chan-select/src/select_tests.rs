//! Unit tests of the select engine (`select.rs`).

use super::*;
use chan_core::{after, bounded, never, unbounded};
use std::thread;

/// The whole visiting order of `len` entries.
fn draw_order(len: usize, biased: bool) -> Vec<usize> {
    let mut order = VisitOrder::new(len, biased);
    (0..len).map(|place| order.position(place)).collect()
}

#[test]
fn visiting_order_is_a_permutation() {
    for len in (0..40).chain([100]) {
        for biased in [false, true] {
            let mut order = draw_order(len, biased);
            if biased {
                assert_eq!(order, (0..len).collect::<Vec<_>>());
            }
            order.sort_unstable();
            assert_eq!(order, (0..len).collect::<Vec<_>>());
        }
    }
}

/// Every order of three entries is equally likely: 60,000 draws, each of
/// the 6 orders expected 10,000 times (standard deviation about 91); the
/// bounds are 11 deviations away, so only a biased order fails them. A
/// rotation from a random start (what select did before) makes 3 of the 6
/// orders and fails at once.
#[test]
#[cfg_attr(miri, ignore = "statistics, no unsafe code: too slow under miri")]
fn every_visiting_order_is_equally_likely() {
    let mut counts = std::collections::HashMap::new();
    for _ in 0..60_000 {
        *counts.entry(draw_order(3, false)).or_insert(0u32) += 1;
    }
    assert_eq!(counts.len(), 6, "{counts:?}");
    assert!(
        counts.values().all(|&n| (9_000..=11_000).contains(&n)),
        "{counts:?}"
    );
}

/// Past the inline capacity the order spills to the heap and stays
/// uniform: each of 40 entries comes first about 1 time in 40 (40,000
/// draws: 1,000 expected, standard deviation about 31).
#[test]
#[cfg_attr(miri, ignore = "statistics, no unsafe code: too slow under miri")]
fn spilled_visiting_order_is_uniform() {
    let mut firsts = [0u32; 40];
    for _ in 0..40_000 {
        let mut order = VisitOrder::new(40, false);
        firsts[order.position(0)] += 1;
    }
    assert!(
        firsts.iter().all(|&n| (650..=1_350).contains(&n)),
        "{firsts:?}"
    );
}

/// Threads draw different sequences: two fresh threads drawing three
/// orders of 12 entries agree on all three with probability (1/12!)^3.
#[test]
fn threads_draw_different_orders() {
    let draw = || {
        thread::spawn(|| (0..3).map(|_| draw_order(12, false)).collect::<Vec<_>>())
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
        earliest_deadline(sel.entries.as_slice(), Timeout::Never),
        later.deadline()
    );
    assert_eq!(
        earliest_deadline(sel.entries.as_slice(), Timeout::Now),
        later.deadline()
    );
    sel.recv(&soon);
    let timeout = Instant::now() + Duration::from_secs(10);
    assert_eq!(
        earliest_deadline(sel.entries.as_slice(), Timeout::At(timeout)),
        soon.deadline()
    );
    let mut without_timers = Select::new();
    without_timers.recv(&idle);
    assert_eq!(
        earliest_deadline(without_timers.entries.as_slice(), Timeout::At(timeout)),
        Some(timeout)
    );
    assert_eq!(
        earliest_deadline(without_timers.entries.as_slice(), Timeout::Never),
        None
    );
}

/// A select blocked on three flavors at once is woken by a send on each
/// in turn and receives exactly what was sent.
///
/// The sender waits for each message to be received before it sends the
/// next, and keeps every sender alive until the last one was received: a
/// channel whose senders are gone is itself a ready receive (it reports the
/// disconnection), so with the senders dropped early a select may rightly
/// pick an empty, disconnected arm.
#[test]
fn blocked_select_is_woken_by_each_flavor() {
    let (array_s, array_r) = bounded::<u32>(1);
    let (list_s, list_r) = unbounded::<u32>();
    let (zero_s, zero_r) = bounded::<u32>(0);
    let (received_s, received_r) = bounded::<()>(0);
    let sender = thread::spawn(move || {
        array_s.send(1).unwrap();
        received_r.recv().unwrap();
        list_s.send(2).unwrap();
        received_r.recv().unwrap();
        zero_s.send(3).unwrap();
        received_r.recv().unwrap();
        (array_s, list_s, zero_s)
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
        received_s.send(()).unwrap();
    }
    drop(sender.join().unwrap());
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

/// The inline storage keeps the order of the operations across the spill
/// to the heap and across removals, on both sides of the spill.
#[test]
fn entries_keep_their_order_inline_and_spilled() {
    let channels: Vec<_> = (0..7).map(|_| unbounded::<usize>()).collect();
    for count in [1, INLINE_ENTRIES, INLINE_ENTRIES + 1, 7] {
        let mut sel = Select::new_biased();
        for (_, r) in &channels[..count] {
            sel.recv(r);
        }
        let indices = |sel: &Select<'_>| -> Vec<usize> {
            sel.entries
                .as_slice()
                .iter()
                .map(|entry| entry.index)
                .collect()
        };
        assert_eq!(indices(&sel), (0..count).collect::<Vec<_>>());
        // Remove the first operation, then one in the middle.
        sel.remove(0);
        if count > 2 {
            sel.remove(count / 2);
        }
        let expected: Vec<usize> = (1..count)
            .filter(|&i| count <= 2 || i != count / 2)
            .collect();
        assert_eq!(indices(&sel), expected);
        // The biased select picks the first remaining ready operation: every
        // channel holds a message, so the order decides.
        for (s, _) in &channels[..count] {
            s.send(1).unwrap();
        }
        if let Some(&first) = expected.first() {
            let oper = sel.try_select().unwrap();
            assert_eq!(oper.index(), first);
            assert_eq!(oper.recv(&channels[first].1), Ok(1));
        }
        for (_, r) in &channels {
            while r.try_recv().is_ok() {}
        }
    }
}

/// As with crossbeam-channel's `Select` (a `Vec`), a channel can be moved
/// while a finished `Select` that borrowed it is still in scope: `Select`
/// has no `Drop` impl that would keep the borrow alive. This test fails by
/// not compiling.
#[test]
fn a_channel_moves_while_a_finished_select_is_in_scope() {
    let (s, r) = unbounded();
    s.send(5).unwrap();
    let mut sel = Select::new();
    let index = sel.recv(&r);
    let oper = sel.select();
    assert_eq!(oper.index(), index);
    assert_eq!(oper.recv(&r), Ok(5));
    let moved = r;
    drop(moved);
}

/// Channel ids leave the lowest bit to `OperationId`, for every flavor.
#[test]
fn channel_ids_are_even() {
    use chan_core::internal::{receiver_channel_id, sender_channel_id};
    let (s0, r0) = bounded::<u8>(0);
    let (s1, r1) = bounded::<u8>(1);
    let (su, ru) = unbounded::<u8>();
    for id in [
        sender_channel_id(&s0),
        sender_channel_id(&s1),
        sender_channel_id(&su),
        receiver_channel_id(&r0),
        receiver_channel_id(&r1),
        receiver_channel_id(&ru),
        receiver_channel_id(&after(std::time::Duration::from_secs(1))),
        receiver_channel_id(&chan_core::tick(std::time::Duration::from_secs(1))),
        receiver_channel_id(&never::<u8>()),
    ] {
        assert_eq!(id & 1, 0, "{id:#x}");
        assert_ne!(OperationId::send(id), OperationId::recv(id));
    }
}
