//! Unit tests of the array flavor (`array.rs`).

use super::*;
use crate::batch::Staged;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::Arc as StdArc;

struct DropCounter(StdArc<StdAtomicUsize>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn fills_and_wraps_around() {
    let chan = Channel::with_capacity(3);
    for round in 0..10 {
        for i in 0..3 {
            chan.try_send(round * 3 + i).unwrap();
        }
        assert!(chan.is_full());
        assert_eq!(chan.len(), 3);
        assert_eq!(chan.try_send(99), Err(TrySendError::Full(99)));
        for i in 0..3 {
            assert_eq!(chan.try_recv(), Ok(round * 3 + i));
        }
        assert!(chan.is_empty());
        assert_eq!(chan.try_recv(), Err(TryRecvError::Empty));
    }
}

#[test]
fn next_position_steps_through_each_lap() {
    for cap in [1usize, 2, 3, 4, 7, 8, 1024] {
        let chan = Channel::<u8>::with_capacity(cap);
        let mut position = 0u64;
        for step in 0..3 * cap as u64 + 2 {
            let (lap, index) = (step / cap as u64, step % cap as u64);
            assert_eq!(position, lap * chan.one_lap + index, "cap {cap}");
            assert_eq!(position & chan.disconnect_bit, 0);
            position = chan.next_position(position);
        }
    }
}

#[test]
fn position_after_counts_slots_across_the_lap_end() {
    let caps: &[usize] = if cfg!(miri) {
        &[1, 3, 10]
    } else {
        &[1, 3, 8, 10, 1024]
    };
    for &cap in caps {
        let chan = Channel::<u8>::with_capacity(cap);
        let mut start = 0u64;
        for _ in 0..2 * cap + 1 {
            let mut stepped = start;
            for steps in 0..cap as u64 {
                assert_eq!(chan.position_after(start, steps), stepped, "cap {cap}");
                stepped = chan.next_position(stepped);
            }
            start = chan.next_position(start);
        }
    }
}

#[test]
fn the_room_run_spans_two_lines_of_small_slots_only() {
    // 16-byte slots (a u64 stamp and a word): eight to two lines.
    assert_eq!(room_run(16, 1024), 8);
    assert_eq!(room_run(8, 1024), 16);
    // At most a quarter of the ring, and nothing under two slots.
    assert_eq!(room_run(16, 16), 4);
    assert_eq!(room_run(16, 7), 0);
    assert_eq!(room_run(16, 1), 0);
    // Slots of a line or more do not share lines with their neighbours.
    assert_eq!(room_run(72, 1024), 0);
    assert_eq!(room_run(64, 1024), 0);
    assert_eq!(
        Channel::<usize>::with_capacity(1024).room_run(),
        room_run(mem::size_of::<Slot<usize>>(), 1024)
    );
}

#[test]
fn a_full_sender_takes_a_single_freed_slot() {
    // The sender would like `room_run` slots free before it writes; the
    // receiver frees one and then waits for that very message, so the
    // sender must settle for the one slot.
    let chan = StdArc::new(Channel::<usize>::with_capacity(64));
    assert!(chan.room_run() >= 2);
    for i in 0..64 {
        chan.send(i, None).unwrap();
    }
    let sender = {
        let chan = chan.clone();
        std::thread::spawn(move || chan.send(64, None).unwrap())
    };
    assert_eq!(chan.recv(None), Ok(0));
    sender.join().unwrap();
    for i in 1..=64 {
        assert_eq!(chan.recv(None), Ok(i));
    }
}

#[test]
fn a_sender_waiting_for_a_run_settles_for_each_single_freed_slot() {
    // The exact window of `spin_while_full`: a sender that finds the ring
    // full spins for `room_run` free slots while the receiver frees one
    // and then waits for that very send. Round after round the sender
    // announces its send and the receiver frees one slot as soon as it
    // sees that, so the free lands while the sender is about to spin,
    // spinning, or registered. From the second round on the sender's spin
    // budget (taught by the round before, whose slot was free when it
    // looked) lets the run wait happen. A sender that insisted on the run
    // would never send; one that misplaced a message would break the
    // order checked at the end.
    use std::sync::atomic::AtomicUsize;
    use std::time::{Duration, Instant};
    const CAP: usize = 64;
    let rounds = if cfg!(miri) { 8 } else { 300 };
    let chan = StdArc::new(Channel::<usize>::with_capacity(CAP));
    assert!(chan.room_run() >= 2);
    for i in 0..CAP {
        chan.send(i, None).unwrap();
    }
    let announced = StdArc::new(AtomicUsize::new(0));
    let sent = StdArc::new(AtomicUsize::new(0));
    let sender = {
        let (chan, announced, sent) = (chan.clone(), announced.clone(), sent.clone());
        std::thread::spawn(move || {
            for round in 0..rounds {
                announced.store(round + 1, Ordering::SeqCst);
                chan.send(CAP + round, None).unwrap();
                sent.store(round + 1, Ordering::SeqCst);
            }
        })
    };
    // A hang guard, not a timing assertion: a correct sender takes
    // microseconds.
    let wait_for = |counter: &AtomicUsize, value: usize, what: &str| {
        let start = Instant::now();
        while counter.load(Ordering::SeqCst) < value {
            assert!(start.elapsed() < Duration::from_secs(60), "{what}");
            std::hint::spin_loop();
        }
    };
    for round in 0..rounds {
        wait_for(&announced, round + 1, "the sender stopped announcing");
        assert_eq!(chan.recv(None), Ok(round));
        wait_for(&sent, round + 1, "a sender with one free slot did not send");
    }
    sender.join().unwrap();
    for i in rounds..CAP + rounds {
        assert_eq!(chan.recv(None), Ok(i));
    }
    assert_eq!(chan.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn one_slot_ring_alternates_across_laps() {
    let chan = Channel::with_capacity(1);
    for i in 0..10 {
        chan.try_send(i).unwrap();
        assert_eq!(chan.try_send(99), Err(TrySendError::Full(99)));
        assert_eq!(chan.len(), 1);
        assert_eq!(chan.try_recv(), Ok(i));
        assert_eq!(chan.try_recv(), Err(TryRecvError::Empty));
    }
    assert!(chan.disconnect_senders());
    assert_eq!(chan.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn disconnect_drains_then_fails() {
    let chan = Channel::with_capacity(2);
    chan.try_send(1).unwrap();
    assert!(chan.disconnect_senders());
    assert!(!chan.disconnect_senders());
    assert_eq!(chan.try_recv(), Ok(1));
    assert_eq!(chan.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(chan.try_send(2), Err(TrySendError::Disconnected(2)));
}

#[test]
fn messages_dropped_once_by_drop_and_by_receiver_disconnect() {
    let drops = StdArc::new(StdAtomicUsize::new(0));
    let chan = Channel::with_capacity(4);
    for _ in 0..3 {
        chan.try_send(DropCounter(drops.clone())).ok().unwrap();
    }
    drop(chan.try_recv().ok().unwrap());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    drop(chan);
    assert_eq!(drops.load(Ordering::SeqCst), 3);

    let chan = Channel::with_capacity(2);
    chan.try_send(DropCounter(drops.clone())).ok().unwrap();
    chan.try_send(DropCounter(drops.clone())).ok().unwrap();
    chan.disconnect_receivers();
    assert_eq!(drops.load(Ordering::SeqCst), 5);
    drop(chan);
    assert_eq!(drops.load(Ordering::SeqCst), 5);
}

#[test]
fn blocked_sender_and_receiver_are_woken() {
    let chan = StdArc::new(Channel::with_capacity(1));
    let count = if cfg!(miri) { 50 } else { 20_000 };
    let producer = {
        let chan = chan.clone();
        std::thread::spawn(move || {
            for i in 0..count {
                chan.send(i, None).unwrap();
            }
        })
    };
    for i in 0..count {
        assert_eq!(chan.recv(None), Ok(i));
    }
    producer.join().unwrap();
}

#[test]
fn send_hands_off_to_a_blocked_receiver_only_when_the_buffer_is_empty() {
    let chan = StdArc::new(Channel::with_capacity(2));
    let consumer = {
        let chan = chan.clone();
        std::thread::spawn(move || (chan.recv(None), chan.recv(None), chan.recv(None)))
    };
    // The receiver waits on an empty buffer: once it sleeps (before, it is
    // left to receive for itself), the message goes to its packet, and the
    // ring is never touched.
    let mut msg = 1;
    while let Err(back) = chan.send_to_blocked_receiver(msg) {
        msg = back;
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(chan.tail.load(Ordering::SeqCst), 0);
    assert_eq!(chan.head.load(Ordering::SeqCst), 0);
    chan.send(2, None).unwrap();
    chan.send(3, None).unwrap();
    assert_eq!(consumer.join().unwrap(), (Ok(1), Ok(2), Ok(3)));
    // Nobody waits any more: no handoff.
    assert_eq!(chan.send_to_blocked_receiver(4), Err(4));
    assert!(chan.is_empty());

    // A receiver registered while the buffer holds a message (a race a
    // plain `recv` can lose) is not handed a newer message, which would
    // overtake the buffered one.
    chan.send(5, None).unwrap();
    let other_thread = std::thread::spawn(Context::for_current_thread)
        .join()
        .unwrap();
    let packet = Packet::<i32>::on_stack(None);
    let mut hook = 0u8;
    let oper = Operation::hook(&mut hook);
    let address = &packet as *const Packet<i32> as *mut ();
    chan.receivers
        .register_with_packet(oper, address, &other_thread);
    assert_eq!(chan.send_to_blocked_receiver(6), Err(6));
    assert!(chan.receivers.unregister(oper).is_some());
    // SAFETY: unregistered unselected: nobody else can reach the packet.
    assert_eq!(unsafe { packet.take() }, None);
    assert_eq!(chan.recv(None), Ok(5));
}

fn reserve_send(chan: &Channel<DropCounter>) -> Token {
    let mut token = Token::default();
    assert!(chan.start_send(&mut token));
    token
}

#[test]
fn cancelled_last_send_frees_its_slot() {
    let drops = StdArc::new(StdAtomicUsize::new(0));
    let chan = Channel::with_capacity(1);
    let mut token = reserve_send(&chan);
    assert!(chan.is_full());
    // SAFETY: reserved just above, not completed.
    unsafe { chan.cancel_send(&mut token) };
    assert!(chan.is_empty());
    assert!(matches!(chan.try_recv(), Err(TryRecvError::Empty)));
    chan.try_send(DropCounter(drops.clone())).ok().unwrap();
    assert!(chan.try_recv().is_ok());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn cancelled_send_before_a_later_send_is_skipped() {
    let drops = StdArc::new(StdAtomicUsize::new(0));
    let chan = Channel::with_capacity(2);
    let mut first = reserve_send(&chan);
    let mut second = reserve_send(&chan);
    // SAFETY: both reserved just above; each completed or cancelled once.
    unsafe {
        chan.cancel_send(&mut first);
        chan.write(&mut second, DropCounter(drops.clone()))
            .ok()
            .unwrap();
    }
    // The skipped slot still takes room until a receiver passes it.
    assert!(matches!(
        chan.try_send(DropCounter(drops.clone())),
        Err(TrySendError::Full(_))
    ));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(chan.try_recv().is_ok());
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert!(matches!(chan.try_recv(), Err(TryRecvError::Empty)));
    chan.try_send(DropCounter(drops.clone())).ok().unwrap();
    chan.try_send(DropCounter(drops.clone())).ok().unwrap();
    assert_eq!(chan.len(), 2);
    drop(chan);
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

#[test]
fn skipped_and_leaked_reservations_are_not_dropped_as_messages() {
    let drops = StdArc::new(StdAtomicUsize::new(0));
    // Dropped by `disconnect_receivers`, then by `Drop`.
    for disconnect_first in [true, false] {
        let chan = Channel::with_capacity(4);
        chan.try_send(DropCounter(drops.clone())).ok().unwrap();
        let mut skipped = reserve_send(&chan);
        let _leaked = reserve_send(&chan);
        // SAFETY: reserved just above, not completed.
        unsafe { chan.cancel_send(&mut skipped) };
        if disconnect_first {
            chan.disconnect_receivers();
        }
        drop(chan);
    }
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn cancelled_receive_drops_its_message() {
    let drops = StdArc::new(StdAtomicUsize::new(0));
    let chan = Channel::with_capacity(1);
    chan.try_send(DropCounter(drops.clone())).ok().unwrap();
    let mut token = Token::default();
    assert!(chan.start_recv(&mut token));
    // SAFETY: reserved just above, not completed.
    unsafe { chan.cancel_recv(&mut token) };
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(chan.is_empty());
    chan.try_send(DropCounter(drops.clone())).ok().unwrap();
    drop(chan);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

/// Counts its drops in a borrowed counter (so a leaked one owns no
/// memory); if armed, its drop panics, even while unwinding.
struct Bomb<'a>(&'a StdAtomicUsize, bool);

impl Drop for Bomb<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        if self.1 {
            panic!("drop of a message panicked");
        }
    }
}

#[test]
fn panicking_drop_leaks_the_rest() {
    // The ring wrapped around, positions 1 and 2 of 4 armed.
    let fill = |drops| {
        let chan = Channel::with_capacity(4);
        for _ in 0..3 {
            assert!(chan.try_send(Bomb(drops, false)).is_ok());
            drop(chan.try_recv().ok().unwrap());
        }
        for position in 0..4 {
            let armed = position == 1 || position == 2;
            assert!(chan.try_send(Bomb(drops, armed)).is_ok());
        }
        chan
    };

    // Discarded by the last receiver: the first panic propagates, the
    // rest are never dropped, not even by `Drop`.
    let drops = StdAtomicUsize::new(0);
    let chan = fill(&drops);
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| chan.disconnect_receivers()));
    assert!(result.is_err());
    assert_eq!(drops.load(Ordering::SeqCst), 5);
    assert!(chan.is_empty());
    assert!(matches!(
        chan.try_send(Bomb(&drops, false)),
        Err(TrySendError::Disconnected(_))
    ));
    assert_eq!(drops.load(Ordering::SeqCst), 6);
    drop(chan);
    assert_eq!(drops.load(Ordering::SeqCst), 6);

    // The same when the channel itself is dropped.
    let drops = StdAtomicUsize::new(0);
    let chan = fill(&drops);
    let result = std::panic::catch_unwind(AssertUnwindSafe(move || drop(chan)));
    assert!(result.is_err());
    assert_eq!(drops.load(Ordering::SeqCst), 5);
}

#[test]
fn capacity_too_large_panics() {
    let result = std::panic::catch_unwind(|| Channel::<u8>::with_capacity(usize::MAX));
    let err = result.err().unwrap();
    let message = err
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| err.downcast_ref::<String>().cloned());
    assert_eq!(
        message.as_deref(),
        Some("bounded channel capacity is too large")
    );
}

/// A tiny deterministic generator for batch sizes.
fn next_size(state: &mut u64, max: usize) -> usize {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*state >> 33) as usize % max + 1
}

#[test]
fn batches_wrap_around_and_keep_order() {
    for cap in [1usize, 2, 3, 7, 8] {
        let chan = Channel::with_capacity(cap);
        let (mut next_sent, mut next_received) = (0u64, 0u64);
        let mut state = cap as u64;
        let mut received = Vec::new();
        // Under Miri 40 rounds still wrap the largest ring many times.
        for _ in 0..if cfg!(miri) { 40 } else { 200 } {
            let mut batch =
                Staged::of((0..next_size(&mut state, 2 * cap) as u64).map(|i| next_sent + i));
            let offered = batch.len();
            let to_lap_end = |counter: &AtomicU64| {
                cap - (counter.load(Ordering::Relaxed) & chan.index_mask) as usize
            };
            let free_in_row = (cap - chan.len()).min(to_lap_end(&chan.tail));
            let sent = chan.send_batch(&mut batch).unwrap();
            // A batch takes every free slot to the end of the lap, up to
            // its length.
            assert_eq!(sent, offered.min(free_in_row), "cap {cap}");
            assert_eq!(batch.len(), offered - sent);
            next_sent += sent as u64;
            let limit = next_size(&mut state, 2 * cap);
            let in_row = to_lap_end(&chan.head);
            let run = chan.recv_batch(&mut received, limit);
            let got = run.taken;
            let available = next_sent as usize - next_received as usize;
            assert_eq!(got, limit.min(available).min(in_row), "cap {cap}");
            // It ended at the newest message exactly when neither the
            // limit nor the lap's end cut it short.
            assert_eq!(run.at_end, available < limit.min(in_row), "cap {cap}");
            next_received += got as u64;
        }
        while chan.recv_batch(&mut received, cap).taken > 0 {}
        assert_eq!(received, (0..next_sent).collect::<Vec<_>>(), "cap {cap}");
        assert!(chan.is_empty());
    }
}

#[test]
fn a_full_channel_takes_no_batch_and_a_closed_one_refuses_it() {
    let chan = Channel::with_capacity(2);
    let mut batch = Staged::of(0..3);
    assert_eq!(chan.send_batch(&mut batch), Ok(2));
    assert_eq!(chan.send_batch(&mut batch), Ok(0));
    assert_eq!(batch.len(), 1);
    assert!(chan.close());
    assert!(!chan.close());
    assert_eq!(chan.send_batch(&mut batch), Err(()));
    // Closed, the messages sent before are still there.
    let mut received = Vec::new();
    assert_eq!(chan.recv_batch(&mut received, 10).taken, 2);
    assert_eq!(received, [0, 1]);
    assert_eq!(chan.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn a_receive_batch_stops_at_a_skipped_send() {
    let chan = Channel::with_capacity(4);
    chan.try_send(1).unwrap();
    let mut token = Token::default();
    assert!(chan.start_send(&mut token));
    chan.try_send(3).unwrap();
    // SAFETY: reserved by `start_send` above, never completed.
    unsafe { chan.cancel_send(&mut token) };
    let mut received = Vec::new();
    assert_eq!(chan.recv_batch(&mut received, 4).taken, 1);
    // The single receive steps over the skipped slot.
    assert_eq!(chan.try_recv(), Ok(3));
    assert_eq!(received, [1]);
}

#[test]
fn batch_sent_messages_are_dropped_once_with_the_channel() {
    let drops = StdArc::new(StdAtomicUsize::new(0));
    let chan = Channel::with_capacity(8);
    let mut batch = Staged::of((0..6).map(|_| DropCounter(drops.clone())));
    assert_eq!(chan.send_batch(&mut batch), Ok(6));
    let mut received = Vec::new();
    assert_eq!(chan.recv_batch(&mut received, 2).taken, 2);
    drop(received);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    drop(chan);
    assert_eq!(drops.load(Ordering::SeqCst), 6);
}

#[test]
fn concurrent_batches_deliver_every_message_once_in_order() {
    let per_producer = if cfg!(miri) { 60 } else { 20_000 };
    let chan = StdArc::new(Channel::with_capacity(5));
    let producers: Vec<_> = (0..2u64)
        .map(|id| {
            let chan = chan.clone();
            std::thread::spawn(move || {
                let mut state = id + 1;
                let mut next = 0;
                while next < per_producer {
                    let size = next_size(&mut state, 8).min((per_producer - next) as usize);
                    let mut batch = Staged::of((next..next + size as u64).map(|seq| (id, seq)));
                    while !batch.is_empty() {
                        if chan.send_batch(&mut batch).unwrap() == 0 {
                            std::thread::yield_now();
                        }
                    }
                    next += size as u64;
                }
            })
        })
        .collect();
    let mut received = Vec::new();
    let mut last = [None::<u64>; 2];
    while received.len() < 2 * per_producer as usize {
        let start = received.len();
        if chan.recv_batch(&mut received, 4).taken == 0 {
            std::thread::yield_now();
        }
        for &(id, seq) in &received[start..] {
            assert!(last[id as usize].map_or(true, |prev| prev < seq));
            last[id as usize] = Some(seq);
        }
    }
    for producer in producers {
        producer.join().unwrap();
    }
    assert_eq!(last, [Some(per_producer - 1); 2]);
}
