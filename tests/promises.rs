//! The promises of crossbeam-channel 0.5's documentation (and, where it is
//! silent, Go's and `std::sync::mpsc`'s channel semantics), each pinned by a
//! test that fails when the promise breaks, not only when an example does.
//!
//! Sources: "cb" is crossbeam-channel 0.5's rustdoc (crate page sections
//! named, or the item), "go" the Go memory model / spec, "contract" is
//! `/work/shared/api-contract.md`, "README" chan's Guarantees section.
//! Tests in this file are marked **new**; the others already existed.
//!
//! - Exactly once: every accepted message is received once or dropped once;
//!   a failed send hands the message back (README; cb `TrySendError`, "The
//!   returned error contains the original message") —
//!   mpmc.rs::mpmc_* (all flavors), stress.rs::stress_*,
//!   drops.rs::failed_sends_return_the_message,
//!   drops.rs::concurrent_teardown_with_messages_in_flight; **new**
//!   `timed_and_try_operations_deliver_exactly_what_they_report`.
//! - Messages of one sender arrive in order, as seen by any one receiver
//!   (README; cb module docs examples) — array.rs::fifo_per_sender_across_threads,
//!   list.rs::fifo_per_sender_across_threads, zero.rs::fifo_per_sender,
//!   mpmc.rs::mpmc_* (per-producer order at each of 4 consumers, every flavor).
//! - "Cloning only creates a new handle to the same sending or receiving
//!   side. It does not create a separate stream of messages" (cb, Sharing
//!   channels) — **new** `clones_share_one_stream_in_program_order`.
//! - A channel is one FIFO queue: a send that starts after another send
//!   returned is received after it, even from another sender (linearizable
//!   FIFO; go "channels act as first-in-first-out queues") — **new**
//!   `fifo_holds_across_senders_for_sends_ordered_in_time`.
//! - Likewise for receives ordered in time on different receivers — **new**
//!   `fifo_holds_across_receivers_for_receives_ordered_in_time`.
//! - `len` "returns the number of messages in the channel", `is_empty`,
//!   `is_full` (cb `Sender`/`Receiver`), consistent with concurrent sends and
//!   receives (linearizable); zero-capacity "always empty" and "always
//!   full"; unbounded never full — single-threaded: array.rs::capacity_len_full_empty,
//!   zero.rs::capacity_len_always_empty_and_full, list.rs::never_full_capacity_none;
//!   under races: **new** `len_is_empty_is_full_are_linearizable`.
//! - `bounded(cap)`: "a buffer that can hold at most `cap` messages at a
//!   time" (cb `bounded`) — array.rs::large_capacity_fills_exactly (one
//!   thread); **new** `racing_try_sends_fill_exactly_the_capacity`,
//!   `len_is_empty_is_full_are_linearizable`, `send_returns_only_after_room_was_made`.
//! - `send`: "If the channel is full ... this call will block until the send
//!   operation can proceed"; zero capacity: "wait for a receive operation to
//!   appear"; `recv` likewise blocks until a message (cb) —
//!   array.rs::blocked_sender_unblocks_when_room_appears,
//!   zero.rs::send_blocks_until_received (both by a 50-100 ms pause); by
//!   ordering, under races: **new** `send_returns_only_after_room_was_made`.
//! - Zero capacity `try_send`/`try_recv` succeed "only if there happens to
//!   be a receive [send] operation on the other side ... at the same time"
//!   (cb) — zero.rs::try_send_fails_without_waiting_receiver,
//!   zero.rs::try_send_succeeds_when_receiver_waits,
//!   zero.rs::try_recv_succeeds_when_sender_waits; a success racing a timing-out
//!   partner is really delivered: **new**
//!   `timed_and_try_operations_deliver_exactly_what_they_report`.
//! - Disconnection: "When all senders or all receivers ... get dropped, the
//!   channel becomes disconnected. No more messages can be sent, but any
//!   remaining messages can still be received. Send and receive operations
//!   on a disconnected channel never block." (cb, Disconnection) —
//!   array.rs::try_recv_empty_then_disconnected_after_drain,
//!   array.rs::disconnected_even_when_full, list.rs::disconnect_by_sender_keeps_queued_messages,
//!   zero.rs::disconnect_errors, array.rs::dropping_one_clone_keeps_channel_connected;
//!   a final send racing the last sender's drop while the receiver is
//!   blocked: **new** `last_sender_drop_racing_a_final_send_loses_nothing`.
//! - "If the channel becomes disconnected, this call will wake up and return
//!   an error. The returned error contains the original message" (cb
//!   `send`, `recv`, the timed forms, `iter`) —
//!   array.rs/zero.rs::blocked_{receiver,sender}_woken_by_disconnect,
//!   list.rs::blocked_receivers_woken_by_send_and_disconnect,
//!   drops.rs::blocked_senders_get_messages_back_on_disconnect,
//!   iter.rs::iter_blocks_and_ends_on_disconnect,
//!   select.rs::disconnect_wakes_blocked_select; a blocked send racing the
//!   last receiver's drop: **new** `last_receiver_drop_racing_a_blocked_send_loses_nothing`.
//! - Messages still inside when the last receiver goes are dropped
//!   (README; crossbeam #669/#1084, flume #89) —
//!   drops.rs::queued_messages_dropped_with_channel,
//!   drops.rs::unbounded_drops_queued_messages_when_last_receiver_goes,
//!   drops.rs::list_partially_consumed_across_blocks.
//! - `recv_timeout`/`recv_deadline` return an available message even if the
//!   deadline already passed (contract) — array.rs::recv_timeout_returns_available_message_even_if_expired,
//!   list.rs::recv_timeout_and_deadline, zero.rs::recv_timeout_zero_takes_waiting_sender_message,
//!   zero.rs::send_timeout_zero_hands_over_to_waiting_receiver,
//!   array.rs::send_timeout_succeeds_with_room_even_with_zero_timeout; for
//!   due timer channels: **new** `due_timers_deliver_even_with_an_expired_deadline`.
//! - With an expired deadline, a disconnected channel still reports
//!   `Disconnected`, not `Timeout` (cb `RecvTimeoutError::Timeout`: "the
//!   channel is empty and the operation timed out"; "operations on a
//!   disconnected channel never block") — **new**
//!   `disconnection_wins_over_an_expired_deadline`.
//! - Timed operations block "until the operation can proceed or the
//!   operation times out" (cb): never before the deadline —
//!   array.rs::send_timeout_and_deadline_on_full_channel,
//!   array.rs::recv_timeout_and_deadline_on_empty_channel,
//!   zero.rs::timeouts_expire_without_partner, list.rs::recv_timeout_and_deadline
//!   (uncontended); when a competitor takes the wake-up: **new**
//!   `timeouts_never_fire_early_when_a_competitor_wins`.
//! - `Duration`s too large for an `Instant` block like the untimed
//!   operation (cb `send_timeout`/`recv_timeout` source; contract) —
//!   array.rs/list.rs/zero.rs::huge_timeouts_do_not_panic,
//!   select.rs::huge_timeouts_do_not_panic.
//! - `iter`: "Each call to next blocks waiting for the next message ...
//!   if the channel becomes empty and disconnected, it returns None without
//!   blocking"; `Iter`/`IntoIter` fused (cb) — iter.rs::iter_blocks_and_ends_on_disconnect,
//!   iter.rs::iter_drains_messages_queued_before_disconnect, iter.rs::iter_is_fused_after_disconnect,
//!   iter.rs::into_iter_consumes_receiver, iter.rs::into_iter_is_fused,
//!   iter.rs::for_loop_over_reference; racing the last drop: **new**
//!   `last_sender_drop_racing_a_final_send_loses_nothing` (iter mode).
//! - `try_iter`: "The iterator never blocks waiting for the next message";
//!   not fused (cb) — iter.rs::try_iter_does_not_block,
//!   iter.rs::try_iter_stops_at_first_empty_and_resumes; on timer channels:
//!   **new** `try_iter_never_blocks_on_timer_channels`.
//! - `after`: "Exactly one message will be sent into the channel after
//!   `duration` elapses. The message is the instant at which it is sent";
//!   "never gets disconnected" (cb) — timers.rs::after_delivers_once_at_scheduled_instant
//!   (bounds by receive time only), timers.rs::after_zero_is_ready_immediately;
//!   the scheduled instant, not the receive time: **new**
//!   `after_and_tick_deliver_the_scheduled_instant_not_the_receive_time`.
//! - `at`: "The message is the instant at which it is sent, which is the
//!   same as `when`. If `when` is in the past, the message will be delivered
//!   instantly" (cb) — timers.rs::at_delivers_given_instant,
//!   timers.rs::at_in_the_past_is_ready.
//! - Clones of `after`/`at`/`tick` share state: the one message goes to one
//!   clone (contract) — timers.rs::after_clones_share_state,
//!   timers.rs::after_clone_in_other_thread_only_one_receives,
//!   timers.rs::tick_clones_share_state; racing clones: **new**
//!   `one_shot_timers_deliver_once_to_racing_clones`,
//!   `tick_clones_never_deliver_one_tick_twice`.
//! - `tick`: "Messages will be sent into the channel in intervals of
//!   `duration`. Each message is the instant at which it is sent"; capacity
//!   1, missed ticks are not queued (cb; contract) —
//!   timers.rs::tick_delivers_periodically, timers.rs::tick_does_not_accumulate_missed_ticks;
//!   **new** `after_and_tick_deliver_the_scheduled_instant_not_the_receive_time`.
//! - `after`/`tick` with an overflowing duration behave like `never()`
//!   (contract) — timers.rs::after_overflow_behaves_like_never,
//!   timers.rs::tick_overflow_behaves_like_never.
//! - `never`: "never delivers messages ... capacity of 0 and never gets
//!   disconnected"; all `never()` receivers are the same channel (cb;
//!   contract) — timers.rs::never_never_delivers, timers.rs::never_capacity_and_len,
//!   timers.rs::never_is_the_same_channel_everywhere, select.rs::never_alone_times_out;
//!   with a deadline already passed and through `try_iter`: **new**
//!   `try_iter_never_blocks_on_timer_channels`, `due_timers_deliver_even_with_an_expired_deadline`.
//! - Capacities and lengths per flavor (contract) — array.rs::capacity_len_full_empty,
//!   zero.rs::capacity_len_always_empty_and_full, list.rs::never_full_capacity_none,
//!   timers.rs::after_capacity_and_len, timers.rs::never_capacity_and_len;
//!   `bounded(usize::MAX)` panics — array.rs::capacity_too_large_panics.
//! - `same_channel`: "Returns true if senders [receivers] belong to the same
//!   channel" (cb) — array.rs/list.rs/zero.rs::same_channel,
//!   timers.rs::after_clones_share_state, timers.rs::never_is_the_same_channel_everywhere;
//!   across flavors and timer kinds: **new** `same_channel_tells_every_channel_apart`.
//! - A send and a receive on one zero-capacity channel in one select do not
//!   pair with each other (contract) — select.rs::zero_send_and_recv_in_one_select_do_not_pair,
//!   select_macro.rs::zero_send_and_recv_same_channel_do_not_pair (alone);
//!   with a partner doing the same: **new**
//!   `zero_select_with_both_directions_pairs_only_with_another_thread`.
//! - "An operation is considered to be ready if it doesn't have to block ...
//!   even when it will simply return an error because the channel is
//!   disconnected" (cb, Selection) — select.rs::disconnected_channels_are_ready,
//!   select_macro.rs::disconnected_arms_are_ready.
//! - `SelectedOperation`: dropping it uncompleted panics; completing it with
//!   a handle of another channel panics (cb `SelectedOperation`; contract) —
//!   select.rs::dropping_uncompleted_selected_operation_panics,
//!   select.rs::wrong_receiver_panics, select.rs::wrong_sender_panics,
//!   select.rs::chan_only_abandoned_selected_operation_releases_reservation.
//! - `Select::select`/`ready` on an empty `Select` panic; indices start at 0
//!   and are never reused; `ready` does not complete the operation (cb
//!   `Select`) — select.rs::empty_select_blocking_panics,
//!   select.rs::empty_ready_blocking_panics, select.rs::indices_are_sequential_and_never_reused,
//!   select.rs::ready_does_not_complete_the_operation.
//! - Memory model: "A send on a channel is synchronized before the
//!   completion of the corresponding receive"; "The kth receive on a channel
//!   with capacity C is synchronized before the completion of the k+Cth send";
//!   "The closing of a channel is synchronized before a receive that returns
//!   because the channel is closed" (go) — **new**
//!   `send_happens_before_the_matching_receive_returns`,
//!   `kth_receive_happens_before_send_k_plus_capacity_returns`,
//!   `last_sender_drop_happens_before_disconnected_receive`.
//! - Unbounded sends never block (std `mpsc::Sender::send`: "This method
//!   will never block the current thread") — list.rs::send_never_blocks.
//!
//! Left to other suites on purpose: select fairness and randomness,
//! linearizability of non-blocking/timed select, panicking `Drop`
//! (tests/panic_safety.rs).
//!
//! No test here asserts an upper bound on elapsed time; hangs are caught by
//! a 60 s watchdog ([`HANG_LIMIT`]), far above the normal run time.

mod common;

use chan::{
    after, at, bounded, never, tick, Receiver, RecvError, RecvTimeoutError, Select, SendError,
    SendTimeoutError, Sender, TryRecvError, TrySendError,
};
use common::{ms, within, DropTracker, Flavor, Tracked};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// `normal` normally, `miri` under miri.
const fn count(normal: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        normal
    }
}

/// The channel flavors every promise is checked on.
const FLAVORS: [Flavor; 4] = common::flavors(3);

/// Far above any normal run time: only a lost wake-up or a deadlock gets
/// here.
const HANG_LIMIT: Duration = Duration::from_secs(60);

/// Spins (yielding) until `cond` holds.
fn spin_until(mut cond: impl FnMut() -> bool) {
    while !cond() {
        thread::yield_now();
    }
}

/// Violations seen on helper threads. They are recorded rather than
/// panicking there, so that a failure cannot leave a partner blocked and
/// turn into a hang; the test asserts the list is empty at the end.
#[derive(Clone, Default)]
struct Violations(Arc<Mutex<Vec<String>>>);

impl Violations {
    fn check(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            let mut v = self.0.lock().unwrap();
            if v.len() < 10 {
                v.push(what());
            }
        }
    }

    fn assert_none(&self, what: &str) {
        let v = self.0.lock().unwrap();
        assert!(v.is_empty(), "{what}: {} violation(s): {:#?}", v.len(), *v);
    }
}

/// Asserts that `got` is exactly `0..n`, naming the first difference.
fn assert_is_range(got: &[usize], n: usize, what: &str) {
    if let Some(i) = (0..got.len().min(n)).find(|&i| got[i] != i) {
        panic!("{what}: position {i} holds {} (expected {i})", got[i]);
    }
    assert_eq!(got.len(), n, "{what}: wrong number of messages");
}

// ---------------------------------------------------------------------------
// Order
// ---------------------------------------------------------------------------

/// The crate docs' example: three clones of each side in one thread are one
/// stream, in program order.
#[test]
fn clones_share_one_stream_in_program_order() {
    for flavor in [Flavor::Bounded(3), Flavor::Unbounded] {
        let (s1, r1) = flavor.make();
        let (s2, r2) = (s1.clone(), r1.clone());
        let (s3, r3) = (s2.clone(), r2.clone());
        s1.send(10).unwrap();
        s2.send(20).unwrap();
        s3.send(30).unwrap();
        assert_eq!(r3.recv(), Ok(10), "{flavor:?}");
        assert_eq!(r1.recv(), Ok(20), "{flavor:?}");
        assert_eq!(r2.recv(), Ok(30), "{flavor:?}");
        assert!(
            r1.is_empty() && r2.is_empty() && r3.is_empty(),
            "{flavor:?}"
        );
    }
    // Zero capacity needs a partner thread for each message.
    let (s1, r1) = bounded(0);
    let (s2, r2) = (s1.clone(), r1.clone());
    let t = thread::spawn(move || {
        s1.send(10).unwrap();
        s2.send(20).unwrap();
    });
    assert_eq!(r2.recv(), Ok(10));
    assert_eq!(r1.recv(), Ok(20));
    t.join().unwrap();
}

/// Races: two senders hand a turn to each other through an atomic, so each
/// send starts only after the other sender's previous send returned. A
/// queue whose slot order can differ from completion order (or one buffer
/// per sender) delivers a later message first.
#[test]
fn fifo_holds_across_senders_for_sends_ordered_in_time() {
    for flavor in FLAVORS {
        within(HANG_LIMIT, "fifo across senders", move || {
            let n = count(5000, 30);
            let (s, r) = flavor.make::<usize>();
            let turn = Arc::new(AtomicUsize::new(0));
            let producers: Vec<_> = (0..2)
                .map(|p| {
                    let (s, turn) = (s.clone(), turn.clone());
                    thread::spawn(move || {
                        for k in (p..n).step_by(2) {
                            spin_until(|| turn.load(Ordering::SeqCst) == k);
                            s.send(k).unwrap();
                            turn.store(k + 1, Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            drop(s);
            let got: Vec<usize> = r.iter().collect();
            for p in producers {
                p.join().unwrap();
            }
            assert_is_range(&got, n, &format!("{flavor:?}"));
        });
    }
}

/// Races: two receivers hand a turn to each other, so each receive starts
/// only after the other receiver's previous receive returned. One producer
/// sends 0, 1, 2, ...: the k-th receive in time must return k.
#[test]
fn fifo_holds_across_receivers_for_receives_ordered_in_time() {
    for flavor in FLAVORS {
        within(HANG_LIMIT, "fifo across receivers", move || {
            let n = count(5000, 30);
            let (s, r) = flavor.make::<usize>();
            let producer = thread::spawn(move || {
                for i in 0..n {
                    s.send(i).unwrap();
                }
            });
            let turn = Arc::new(AtomicUsize::new(0));
            let bad = Violations::default();
            let consumers: Vec<_> = (0..2)
                .map(|c| {
                    let (r, turn, bad) = (r.clone(), turn.clone(), bad.clone());
                    thread::spawn(move || {
                        for k in (c..n).step_by(2) {
                            spin_until(|| turn.load(Ordering::SeqCst) == k);
                            let got = r.recv();
                            bad.check(got == Ok(k), || {
                                format!("{flavor:?}: receive #{k} returned {got:?}")
                            });
                            turn.store(k + 1, Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            for c in consumers {
                c.join().unwrap();
            }
            producer.join().unwrap();
            bad.assert_none("fifo across receivers");
        });
    }
}

// ---------------------------------------------------------------------------
// Capacity, len, is_empty, is_full
// ---------------------------------------------------------------------------

/// Operation counters: each side bumps "started" just before an operation
/// and "done" just after it succeeded. Any linearizable channel then holds,
/// at the moment a query takes effect, at least
/// `sends_done(before) - recvs_started(after)` and at most
/// `sends_started(after) - recvs_done(before)` messages.
#[derive(Default)]
struct Ops {
    sends_started: AtomicUsize,
    sends_done: AtomicUsize,
    recvs_started: AtomicUsize,
    recvs_done: AtomicUsize,
}

impl Ops {
    /// Runs `query` and returns its result with the bounds above.
    fn bracket<R>(&self, query: impl FnOnce() -> R) -> (i64, i64, R) {
        let sd = self.sends_done.load(Ordering::SeqCst) as i64;
        let rd = self.recvs_done.load(Ordering::SeqCst) as i64;
        let v = query();
        let ss = self.sends_started.load(Ordering::SeqCst) as i64;
        let rs = self.recvs_started.load(Ordering::SeqCst) as i64;
        (sd - rs, ss - rd, v)
    }
}

/// Races: `len`, `is_empty` and `is_full` (through both a sender and a
/// receiver) against two producers and two consumers, each query checked
/// against the bounds that linearizability allows, and against the
/// capacity. A length computed from a torn head/tail pair, or a channel
/// briefly holding more than `cap` messages, falls outside.
#[test]
fn len_is_empty_is_full_are_linearizable() {
    for flavor in FLAVORS {
        within(HANG_LIMIT, "len linearizability", move || {
            let per_producer = count(20_000, 20);
            let total = 2 * per_producer;
            let (s, r) = flavor.make::<usize>();
            let ops = Arc::new(Ops::default());
            let claimed = Arc::new(AtomicUsize::new(0));
            let mut threads = Vec::new();
            for _ in 0..2 {
                let (s, ops) = (s.clone(), ops.clone());
                threads.push(thread::spawn(move || {
                    for i in 0..per_producer {
                        ops.sends_started.fetch_add(1, Ordering::SeqCst);
                        s.send(i).unwrap();
                        ops.sends_done.fetch_add(1, Ordering::SeqCst);
                    }
                }));
            }
            for _ in 0..2 {
                let (r, ops, claimed) = (r.clone(), ops.clone(), claimed.clone());
                threads.push(thread::spawn(move || {
                    // Each consumer claims a message before receiving it, so
                    // nobody blocks past the last one.
                    while claimed.fetch_add(1, Ordering::SeqCst) < total {
                        ops.recvs_started.fetch_add(1, Ordering::SeqCst);
                        r.recv().unwrap();
                        ops.recvs_done.fetch_add(1, Ordering::SeqCst);
                    }
                }));
            }
            let cap = flavor.cap();
            let mut observations = 0u64;
            while ops.recvs_done.load(Ordering::SeqCst) < total {
                observations += 1;
                for (side, (lo, hi, len)) in [
                    ("receiver", ops.bracket(|| r.len())),
                    ("sender", ops.bracket(|| s.len())),
                ] {
                    let len = len as i64;
                    assert!(
                        lo.max(0) <= len && len <= hi,
                        "{flavor:?}: {side}.len() = {len}, but the channel held \
                         between {lo} and {hi} messages"
                    );
                    if let Some(cap) = cap {
                        assert!(len <= cap as i64, "{flavor:?}: len {len} > cap {cap}");
                    }
                }
                for (side, (lo, hi, empty)) in [
                    ("receiver", ops.bracket(|| r.is_empty())),
                    ("sender", ops.bracket(|| s.is_empty())),
                ] {
                    if flavor.cap() == Some(0) {
                        assert!(empty, "{flavor:?}: {side}.is_empty() false");
                    } else if empty {
                        assert!(lo <= 0, "{flavor:?}: {side}.is_empty() with >= {lo} inside");
                    } else {
                        assert!(hi >= 1, "{flavor:?}: {side} not empty with <= {hi} inside");
                    }
                }
                for (side, (lo, hi, full)) in [
                    ("receiver", ops.bracket(|| r.is_full())),
                    ("sender", ops.bracket(|| s.is_full())),
                ] {
                    match cap {
                        None => assert!(!full, "{flavor:?}: {side}.is_full() on unbounded"),
                        Some(0) => assert!(full, "{flavor:?}: {side}.is_full() false"),
                        Some(cap) if full => assert!(
                            hi >= cap as i64,
                            "{flavor:?}: {side}.is_full() with <= {hi} of {cap} inside"
                        ),
                        Some(cap) => assert!(
                            lo < cap as i64,
                            "{flavor:?}: {side} not full with >= {lo} of {cap} inside"
                        ),
                    }
                }
                if cfg!(miri) {
                    thread::yield_now();
                }
            }
            for t in threads {
                t.join().unwrap();
            }
            assert!(observations > 0);
            assert!(r.is_empty() && s.is_empty(), "{flavor:?}: not drained");
        });
    }
}

/// Races: many threads `try_send` into the same free slots of a bounded
/// channel at once, nobody receiving. Exactly `cap` succeed and the others
/// get their own message back as `Full`; two senders claiming one slot
/// would make it more (or lose a message).
#[test]
fn racing_try_sends_fill_exactly_the_capacity() {
    for cap in [1usize, 3] {
        for round in 0..count(500, 4) {
            let (s, r) = bounded::<usize>(cap);
            let barrier = Barrier::new(4);
            let ok: usize = thread::scope(|scope| {
                let handles: Vec<_> = (0..4)
                    .map(|t| {
                        let (s, barrier) = (&s, &barrier);
                        scope.spawn(move || {
                            barrier.wait();
                            let mut ok = 0;
                            for k in 0..2 {
                                let msg = t * 10 + k;
                                match s.try_send(msg) {
                                    Ok(()) => ok += 1,
                                    Err(TrySendError::Full(m)) => assert_eq!(m, msg),
                                    Err(e) => panic!("unexpected {e:?}"),
                                }
                            }
                            ok
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).sum()
            });
            assert_eq!(
                ok, cap,
                "bounded({cap}) round {round}: {ok} try_sends succeeded"
            );
            assert_eq!(r.len(), cap);
            let got: HashSet<usize> = r.try_iter().collect();
            assert_eq!(
                got.len(),
                cap,
                "bounded({cap}) round {round}: lost or duplicated"
            );
        }
    }
}

/// Races: two producers (one blocking `send`, one spinning `try_send` /
/// `send_timeout`) against two consumers. Checked by order, not by time:
/// when the i-th send overall returns, at least `i - cap` receives must have
/// started (a send into a full channel waits for room); when the j-th
/// receive returns, at least `j` sends must have started (a receive on an
/// empty channel waits for a message).
#[test]
fn send_returns_only_after_room_was_made() {
    for flavor in FLAVORS {
        within(HANG_LIMIT, "send waits for room", move || {
            let per_producer = count(20_000, 20);
            let total = 2 * per_producer;
            let (s, r) = flavor.make::<usize>();
            let ops = Arc::new(Ops::default());
            let claimed = Arc::new(AtomicUsize::new(0));
            let bad = Violations::default();
            let cap = flavor.cap();
            let mut threads = Vec::new();
            for p in 0..2 {
                let (s, ops, bad) = (s.clone(), ops.clone(), bad.clone());
                threads.push(thread::spawn(move || {
                    for i in 0..per_producer {
                        ops.sends_started.fetch_add(1, Ordering::SeqCst);
                        if p == 0 {
                            s.send(i).unwrap();
                        } else {
                            let mut msg = i;
                            loop {
                                let res = if msg % 2 == 0 {
                                    s.try_send(msg).map_err(TrySendError::into_inner)
                                } else {
                                    s.send_timeout(msg, Duration::from_micros(100))
                                        .map_err(SendTimeoutError::into_inner)
                                };
                                match res {
                                    Ok(()) => break,
                                    Err(m) => {
                                        msg = m;
                                        thread::yield_now();
                                    }
                                }
                            }
                        }
                        let done = ops.sends_done.fetch_add(1, Ordering::SeqCst) + 1;
                        let started = ops.recvs_started.load(Ordering::SeqCst);
                        if let Some(cap) = cap {
                            bad.check(done <= cap + started, || {
                                format!(
                                    "{flavor:?}: send #{done} returned with only {started} \
                                     receives started (cap {cap})"
                                )
                            });
                        }
                    }
                }));
            }
            for _ in 0..2 {
                let (r, ops, claimed, bad) = (r.clone(), ops.clone(), claimed.clone(), bad.clone());
                threads.push(thread::spawn(move || {
                    while claimed.fetch_add(1, Ordering::SeqCst) < total {
                        ops.recvs_started.fetch_add(1, Ordering::SeqCst);
                        r.recv().unwrap();
                        let done = ops.recvs_done.fetch_add(1, Ordering::SeqCst) + 1;
                        let started = ops.sends_started.load(Ordering::SeqCst);
                        bad.check(done <= started, || {
                            format!(
                                "{flavor:?}: receive #{done} returned with only {started} \
                                 sends started"
                            )
                        });
                    }
                }));
            }
            for t in threads {
                t.join().unwrap();
            }
            bad.assert_none("send waits for room");
        });
    }
}

// ---------------------------------------------------------------------------
// Exactly once with try_ and timed operations
// ---------------------------------------------------------------------------

/// Races: `try_send` / `send_timeout` / `send_deadline` with timeouts of
/// tens of microseconds against `try_recv` / `recv_timeout` /
/// `recv_deadline` equally short, so that operations keep giving up right
/// as a partner arrives (on zero capacity, a `try_send` meets a receiver
/// whose timeout is expiring). The messages received must be exactly those
/// whose send reported success, in order; every failure hands back its own
/// message.
#[test]
fn timed_and_try_operations_deliver_exactly_what_they_report() {
    for flavor in FLAVORS {
        within(HANG_LIMIT, "timed exactly once", move || {
            let n = count(10_000, 30);
            let (s, r) = flavor.make::<usize>();
            let producer = thread::spawn(move || {
                let mut accepted = Vec::new();
                for i in 0..n {
                    let short = Duration::from_micros(10 + (i as u64 * 7) % 60);
                    let res = match i % 3 {
                        0 => s.try_send(i).map_err(TrySendError::into_inner),
                        1 => s
                            .send_timeout(i, short)
                            .map_err(SendTimeoutError::into_inner),
                        _ => s
                            .send_deadline(i, Instant::now() + short)
                            .map_err(SendTimeoutError::into_inner),
                    };
                    match res {
                        Ok(()) => accepted.push(i),
                        Err(m) => {
                            assert_eq!(m, i, "{flavor:?}: a failed send returned another message")
                        }
                    }
                }
                accepted
            });
            let mut got = Vec::new();
            let mut k = 0u64;
            loop {
                k += 1;
                let short = Duration::from_micros(10 + (k * 13) % 60);
                let res = match k % 3 {
                    0 => r.try_recv().map_err(|e| e.is_disconnected()),
                    1 => r.recv_timeout(short).map_err(|e| e.is_disconnected()),
                    _ => r
                        .recv_deadline(Instant::now() + short)
                        .map_err(|e| e.is_disconnected()),
                };
                match res {
                    Ok(v) => got.push(v),
                    Err(true) => break,
                    Err(false) => thread::yield_now(),
                }
            }
            let accepted = producer.join().unwrap();
            if let Some(i) = (0..got.len().min(accepted.len())).find(|&i| got[i] != accepted[i]) {
                panic!(
                    "{flavor:?}: receive #{i} got {} but the next accepted send was {}",
                    got[i], accepted[i]
                );
            }
            assert_eq!(
                got.len(),
                accepted.len(),
                "{flavor:?}: {} sends reported success, {} messages received",
                accepted.len(),
                got.len()
            );
        });
    }
}

// ---------------------------------------------------------------------------
// Disconnection
// ---------------------------------------------------------------------------

/// Races: a receiver (blocked in `recv`, `recv_timeout` or `iter`) while one
/// sender sends a final message and drops, and the other sender clone drops
/// at the same moment. Whichever drop is last, the message is received, and
/// only then does the receiver see the disconnection.
#[test]
fn last_sender_drop_racing_a_final_send_loses_nothing() {
    for flavor in FLAVORS {
        within(HANG_LIMIT, "last sender drop", move || {
            for round in 0..count(400, 3) {
                let (s, r) = flavor.make::<u32>();
                let s2 = s.clone();
                let mode = round % 3;
                let receiver = thread::spawn(move || {
                    let got: Vec<u32> = match mode {
                        0 => r.iter().collect(),
                        1 => {
                            let mut v = Vec::new();
                            loop {
                                match r.recv_timeout(HANG_LIMIT) {
                                    Ok(m) => v.push(m),
                                    Err(RecvTimeoutError::Disconnected) => break v,
                                    Err(RecvTimeoutError::Timeout) => panic!("no wake-up"),
                                }
                            }
                        }
                        _ => {
                            let mut v = Vec::new();
                            while let Ok(m) = r.recv() {
                                v.push(m);
                            }
                            v
                        }
                    };
                    // Once reported, disconnection stays.
                    assert_eq!(r.try_recv(), Err(TryRecvError::Disconnected));
                    got
                });
                let barrier = Arc::new(Barrier::new(2));
                let b = barrier.clone();
                let last = thread::spawn(move || {
                    b.wait();
                    s.send(7).unwrap();
                    drop(s);
                });
                barrier.wait();
                drop(s2);
                last.join().unwrap();
                assert_eq!(
                    receiver.join().unwrap(),
                    vec![7],
                    "{flavor:?} round {round} (mode {mode})"
                );
            }
        });
    }
}

/// Races: a sender blocked in `send` on a full channel while the last
/// receiver takes one message and drops, and another receiver clone drops
/// at the same moment. The send either succeeds (its message was taken, or
/// is dropped with the channel) or fails handing back that very message;
/// either way every message is dropped exactly once and nothing hangs.
#[test]
fn last_receiver_drop_racing_a_blocked_send_loses_nothing() {
    for cap in [0usize, 1, 3] {
        within(HANG_LIMIT, "last receiver drop", move || {
            for round in 0..count(400, 3) {
                let t = DropTracker::new();
                let (s, r) = bounded::<Tracked>(cap);
                for i in 0..cap {
                    s.send(t.make(i)).unwrap();
                }
                let r2 = r.clone();
                let msg = t.make(100);
                let sender = thread::spawn(move || match s.send(msg) {
                    Ok(()) => None,
                    Err(SendError(m)) => Some(m.id),
                });
                let barrier = Arc::new(Barrier::new(2));
                let b = barrier.clone();
                let receiver = thread::spawn(move || {
                    b.wait();
                    let id = r.recv().unwrap().id;
                    drop(r);
                    id
                });
                barrier.wait();
                drop(r2);
                let taken = receiver.join().unwrap();
                let returned = sender.join().unwrap();
                if cap == 0 {
                    // The only receive pairs with the only send.
                    assert_eq!((taken, returned), (100, None), "round {round}");
                } else {
                    assert_eq!(taken, 0, "bounded({cap}) round {round}: not FIFO");
                    assert!(
                        returned.is_none() || returned == Some(100),
                        "bounded({cap}) round {round}: send returned {returned:?}"
                    );
                }
                assert_eq!(t.alive(), 0, "bounded({cap}) round {round}: leaked");
                t.assert_all_dropped_once(format_args!("cap {cap}, round {round}"));
            }
        });
    }
}

/// Not a race: the order of checks. With the deadline already passed, an
/// empty disconnected channel must say `Disconnected` (operations on a
/// disconnected channel never block, and `Timeout` means "empty and timed
/// out"), a full one whose receivers are gone too; a message still inside
/// is returned first.
#[test]
fn disconnection_wins_over_an_expired_deadline() {
    let past = || {
        Instant::now()
            .checked_sub(ms(10))
            .unwrap_or_else(Instant::now)
    };
    for flavor in FLAVORS {
        // Receivers: one message left, then disconnected.
        let (s, r) = flavor.make::<i32>();
        if flavor.cap() != Some(0) {
            s.send(1).unwrap();
        }
        drop(s);
        if flavor.cap() != Some(0) {
            assert_eq!(r.recv_deadline(past()), Ok(1), "{flavor:?}");
        }
        assert_eq!(
            r.recv_timeout(Duration::ZERO),
            Err(RecvTimeoutError::Disconnected),
            "{flavor:?}"
        );
        assert_eq!(
            r.recv_deadline(past()),
            Err(RecvTimeoutError::Disconnected),
            "{flavor:?}"
        );

        // Senders: full (where that exists), then the receiver goes.
        let (s, r) = flavor.make::<i32>();
        if let Some(cap) = flavor.cap() {
            for i in 0..cap {
                s.send(i as i32).unwrap();
            }
        }
        drop(r);
        assert_eq!(
            s.send_timeout(8, Duration::ZERO),
            Err(SendTimeoutError::Disconnected(8)),
            "{flavor:?}"
        );
        assert_eq!(
            s.send_deadline(9, past()),
            Err(SendTimeoutError::Disconnected(9)),
            "{flavor:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------

/// Races: two threads wait with the same deadline on one channel; one
/// message (or one free slot) arrives and wakes them, one wins. The loser
/// goes back to waiting and may only report a timeout once its deadline has
/// really passed. Lower bounds only.
#[test]
fn timeouts_never_fire_early_when_a_competitor_wins() {
    let wait = ms(200);
    let mut threads = Vec::new();
    for flavor in FLAVORS {
        // Two receivers, one message.
        threads.push(thread::spawn(move || {
            let (s, r) = flavor.make::<u8>();
            let r2 = r.clone();
            let deadline = Instant::now() + wait;
            let a = thread::spawn(move || (r.recv_deadline(deadline), Instant::now(), deadline));
            let b = thread::spawn(move || {
                let limit = Instant::now() + wait;
                (r2.recv_timeout(wait), Instant::now(), limit)
            });
            thread::sleep(ms(30));
            assert_eq!(s.send_timeout(1, HANG_LIMIT), Ok(()), "{flavor:?}");
            let results = [a.join().unwrap(), b.join().unwrap()];
            let wins = results.iter().filter(|(res, ..)| *res == Ok(1)).count();
            assert_eq!(wins, 1, "{flavor:?}: {results:?}");
            for (res, now, limit) in results {
                if res.is_err() {
                    assert_eq!(res, Err(RecvTimeoutError::Timeout), "{flavor:?}");
                    assert!(
                        now >= limit,
                        "{flavor:?}: recv timed out {:?} early",
                        limit - now
                    );
                }
            }
        }));
        // Two senders, one free slot (or one receive on zero capacity).
        let Some(cap) = flavor.cap() else { continue };
        threads.push(thread::spawn(move || {
            let (s, r) = flavor.make::<u8>();
            for _ in 0..cap {
                s.send(0).unwrap();
            }
            let s2 = s.clone();
            let deadline = Instant::now() + wait;
            let a = thread::spawn(move || (s.send_deadline(1, deadline), Instant::now(), deadline));
            let b = thread::spawn(move || {
                let limit = Instant::now() + wait;
                (s2.send_timeout(2, wait), Instant::now(), limit)
            });
            thread::sleep(ms(30));
            let first = r.recv_timeout(HANG_LIMIT).unwrap();
            let results = [a.join().unwrap(), b.join().unwrap()];
            let wins = results.iter().filter(|(res, ..)| res.is_ok()).count();
            assert_eq!(wins, 1, "{flavor:?}: {results:?}");
            for (i, (res, now, limit)) in results.into_iter().enumerate() {
                match res {
                    Ok(()) if cap == 0 => assert_eq!(first, i as u8 + 1, "{flavor:?}"),
                    Ok(()) => assert_eq!(first, 0, "{flavor:?}"),
                    Err(e) => {
                        assert_eq!(e, SendTimeoutError::Timeout(i as u8 + 1), "{flavor:?}");
                        assert!(
                            now >= limit,
                            "{flavor:?}: send timed out {:?} early",
                            limit - now
                        );
                    }
                }
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
}

// ---------------------------------------------------------------------------
// Timer channels
// ---------------------------------------------------------------------------

/// Not a race but a value: `after` and `tick` deliver the instant at which
/// the message was scheduled, even when it is received much later, and a
/// late `tick` receiver gets that one missed tick, not a queue of them;
/// the tick after it is scheduled after the late receipt.
#[test]
fn after_and_tick_deliver_the_scheduled_instant_not_the_receive_time() {
    let d = ms(40);
    let late = ms(250);

    let before = Instant::now();
    let r = after(d);
    let made = Instant::now();
    thread::sleep(late);
    let got = r.recv().unwrap();
    assert!(
        got >= before + d && got <= made + d,
        "after: delivered {:?} after creation, scheduled {d:?}",
        got - before
    );
    assert_eq!(
        r.try_recv(),
        Err(TryRecvError::Empty),
        "after: second message"
    );

    let before = Instant::now();
    let r = tick(d);
    let made = Instant::now();
    thread::sleep(late);
    let asked = Instant::now();
    let first = r.recv().unwrap();
    assert!(
        first >= before + d && first <= made + d,
        "tick: first tick {:?} after creation, scheduled {d:?}",
        first - before
    );
    assert_eq!(
        r.try_recv(),
        Err(TryRecvError::Empty),
        "tick: missed ticks queued"
    );
    let second = r.recv().unwrap();
    let received = Instant::now();
    assert!(second >= first + d, "tick: ticks closer than the period");
    assert!(
        second > asked,
        "tick: second tick {:?} is a stale one from before the late receive",
        second - before
    );
    assert!(
        second <= received,
        "tick: delivered instant is in the future"
    );
}

/// Races: four clones of one due `at` / `after` channel receive at the same
/// moment (`try_recv` and `recv_timeout(0)`). Exactly one gets the message,
/// and it is the scheduled instant.
#[test]
fn one_shot_timers_deliver_once_to_racing_clones() {
    for round in 0..count(500, 4) {
        let when = Instant::now();
        let r = if round % 2 == 0 {
            at(when)
        } else {
            after(Duration::ZERO)
        };
        let barrier = Barrier::new(4);
        let got: Vec<Instant> = thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|k| {
                    let (r, barrier) = (r.clone(), &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        if k % 2 == 0 {
                            r.try_recv().ok()
                        } else {
                            r.recv_timeout(Duration::ZERO).ok()
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().unwrap())
                .collect()
        });
        assert_eq!(
            got.len(),
            1,
            "round {round}: {} clones got the message",
            got.len()
        );
        if round % 2 == 0 {
            assert_eq!(
                got[0], when,
                "round {round}: at() delivered another instant"
            );
        } else {
            assert!(got[0] >= when, "round {round}");
        }
        assert_eq!(r.try_recv(), Err(TryRecvError::Empty), "round {round}");
    }
}

/// Races: three clones of one `tick` receive concurrently (blocking). Each
/// tick is delivered to one clone only: no two clones return the same
/// instant, and each clone sees increasing instants.
#[test]
fn tick_clones_never_deliver_one_tick_twice() {
    within(HANG_LIMIT, "tick clones", || {
        let per_thread = count(10, 3);
        let r = tick(ms(2));
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let r = r.clone();
                thread::spawn(move || {
                    (0..per_thread)
                        .map(|_| r.recv().unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all = HashSet::new();
        for h in handles {
            let v = h.join().unwrap();
            assert!(
                v.windows(2).all(|w| w[0] < w[1]),
                "a clone went back in time"
            );
            for t in v {
                assert!(all.insert(t), "one tick delivered twice");
            }
        }
        assert_eq!(all.len(), 3 * per_thread);
    });
}

/// Not a race: a due timer message is "available", so a receive whose
/// deadline has already passed still returns it (like any channel); an
/// undue or spent timer, and `never`, time out at once.
#[test]
fn due_timers_deliver_even_with_an_expired_deadline() {
    let past = || {
        Instant::now()
            .checked_sub(ms(5))
            .unwrap_or_else(Instant::now)
    };
    let when = Instant::now();
    let r = at(when);
    assert_eq!(r.recv_deadline(past()), Ok(when), "at");
    assert_eq!(
        r.recv_deadline(past()),
        Err(RecvTimeoutError::Timeout),
        "at, spent"
    );

    let r = after(Duration::ZERO);
    assert!(r.recv_timeout(Duration::ZERO).is_ok(), "after(0)");
    assert_eq!(
        r.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );

    let r = tick(ms(5));
    thread::sleep(ms(20));
    assert!(r.recv_deadline(past()).is_ok(), "tick: a due tick");
    assert_eq!(
        r.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout),
        "tick: no queued tick"
    );

    let r = after(Duration::from_secs(100));
    assert_eq!(
        r.recv_deadline(past()),
        Err(RecvTimeoutError::Timeout),
        "after, undue"
    );
    let r = never::<i32>();
    assert_eq!(
        r.recv_deadline(past()),
        Err(RecvTimeoutError::Timeout),
        "never"
    );
    assert_eq!(
        r.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout),
        "never"
    );
}

/// Not a race: `try_iter` over timers that are not due (and `never`) ends at
/// once instead of waiting for the next message; over a due one it yields
/// exactly that one message.
#[test]
fn try_iter_never_blocks_on_timer_channels() {
    let far = Duration::from_secs(3600);
    assert_eq!(after(far).try_iter().count(), 0);
    assert_eq!(tick(far).try_iter().count(), 0);
    assert_eq!(at(Instant::now() + far).try_iter().count(), 0);
    assert_eq!(never::<u8>().try_iter().count(), 0);
    assert_eq!(at(Instant::now()).try_iter().count(), 1);
    assert_eq!(after(Duration::ZERO).try_iter().count(), 1);
    let r = tick(ms(1));
    thread::sleep(ms(20));
    assert_eq!(r.try_iter().count(), 1, "tick: missed ticks were queued");
}

// ---------------------------------------------------------------------------
// same_channel
// ---------------------------------------------------------------------------

/// Not a race: every pair of distinct channels (each flavor, each timer
/// kind) compares unequal, every clone equal, and all `never()` equal.
#[test]
fn same_channel_tells_every_channel_apart() {
    let sides: Vec<(Sender<Instant>, Receiver<Instant>)> =
        FLAVORS.iter().map(|f| f.make()).collect();
    let mut receivers: Vec<Receiver<Instant>> = sides.iter().map(|(_, r)| r.clone()).collect();
    receivers.extend([
        after(ms(10)),
        after(ms(10)),
        at(Instant::now()),
        tick(ms(10)),
        tick(ms(10)),
    ]);
    for (i, a) in receivers.iter().enumerate() {
        for (j, b) in receivers.iter().enumerate() {
            assert_eq!(a.same_channel(b), i == j, "receivers {i} and {j}");
        }
        assert!(a.same_channel(&a.clone()), "receiver {i} and its clone");
        assert!(!a.same_channel(&never()), "receiver {i} and never()");
    }
    for (i, (a, _)) in sides.iter().enumerate() {
        for (j, (b, _)) in sides.iter().enumerate() {
            assert_eq!(a.same_channel(b), i == j, "senders {i} and {j}");
        }
        assert!(a.same_channel(&a.clone()), "sender {i} and its clone");
    }
    assert!(never::<Instant>().same_channel(&never()));
}

// ---------------------------------------------------------------------------
// Select on one zero-capacity channel in both directions
// ---------------------------------------------------------------------------

/// Races: two threads each select over `send` and `recv` on the same
/// zero-capacity channel, round after round. A select may only pair with
/// the *other* thread's select: every round, one thread sends and the other
/// receives exactly that message. A select that paired with itself would
/// lose the message or leave the other thread without a partner.
#[test]
fn zero_select_with_both_directions_pairs_only_with_another_thread() {
    within(HANG_LIMIT, "zero select pairing", || {
        let rounds = count(2000, 8);
        let (s, r) = bounded::<usize>(0);
        let run = move |me: usize, s: Sender<usize>, r: Receiver<usize>| {
            let mut outcomes = Vec::with_capacity(rounds);
            for round in 0..rounds {
                let mut sel = Select::new();
                let si = sel.send(&s);
                let ri = sel.recv(&r);
                let op = sel
                    .select_timeout(Duration::from_secs(20))
                    .unwrap_or_else(|_| panic!("thread {me} round {round}: no partner"));
                if op.index() == si {
                    op.send(&s, me * 1_000_000 + round).unwrap();
                    outcomes.push(None);
                } else {
                    assert_eq!(op.index(), ri);
                    outcomes.push(Some(op.recv(&r).unwrap()));
                }
            }
            outcomes
        };
        let other = {
            let (s, r) = (s.clone(), r.clone());
            thread::spawn(move || run(1, s, r))
        };
        let mine = run(0, s, r);
        let theirs = other.join().unwrap();
        for (round, pair) in mine.into_iter().zip(theirs).enumerate() {
            match pair {
                (None, Some(v)) => assert_eq!(v, round, "round {round}"),
                (Some(v), None) => assert_eq!(v, 1_000_000 + round, "round {round}"),
                pair => panic!("round {round}: outcomes {pair:?}"),
            }
        }
    });
}

// ---------------------------------------------------------------------------
// Memory model (Go's rules; crossbeam is silent)
// ---------------------------------------------------------------------------

/// Races: a relaxed store made before each send, read after the matching
/// receive. Without a release/acquire edge from send to receive, a weak
/// memory model (miri's) may show the old value.
#[test]
fn send_happens_before_the_matching_receive_returns() {
    for flavor in FLAVORS {
        within(HANG_LIMIT, "send hb recv", move || {
            let n = count(10_000, 20);
            let (s, r) = flavor.make::<usize>();
            let data = Arc::new(AtomicUsize::new(0));
            let d = data.clone();
            let producer = thread::spawn(move || {
                for i in 1..=n {
                    d.store(i, Ordering::Relaxed);
                    s.send(i).unwrap();
                }
            });
            for v in r.iter() {
                let seen = data.load(Ordering::Relaxed);
                assert!(
                    seen >= v,
                    "{flavor:?}: received {v} but its write shows {seen}"
                );
            }
            producer.join().unwrap();
        });
    }
}

/// Races: the consumer makes a relaxed store before its k-th receive; the
/// producer, once its (k + cap)-th send returned, must see it (the send
/// could only complete after that receive made room).
#[test]
fn kth_receive_happens_before_send_k_plus_capacity_returns() {
    for flavor in [Flavor::Bounded(0), Flavor::Bounded(1), Flavor::Bounded(3)] {
        within(HANG_LIMIT, "recv hb send", move || {
            let n = count(10_000, 20);
            let cap = flavor.cap().unwrap();
            let (s, r) = flavor.make::<usize>();
            let progress = Arc::new(AtomicUsize::new(0));
            let bad = Violations::default();
            let (p, b) = (progress.clone(), bad.clone());
            let consumer = thread::spawn(move || {
                for k in 0..n {
                    // k + 1 receives have begun.
                    p.store(k + 1, Ordering::Relaxed);
                    let got = r.recv();
                    b.check(got == Ok(k), || {
                        format!("{flavor:?}: receive {k} got {got:?}")
                    });
                }
            });
            for j in 0..n {
                s.send(j).unwrap();
                // Sends 0..=j are done, so receives 0..=j-cap are too.
                if j + 1 > cap {
                    let seen = progress.load(Ordering::Relaxed);
                    bad.check(seen > j - cap, || {
                        format!("{flavor:?}: send {j} returned, receive {} unseen", j - cap)
                    });
                }
            }
            consumer.join().unwrap();
            bad.assert_none("recv hb send");
        });
    }
}

/// Races: a relaxed store made before the last sender is dropped, read
/// after a receive reported the disconnection.
#[test]
fn last_sender_drop_happens_before_disconnected_receive() {
    for flavor in FLAVORS {
        within(HANG_LIMIT, "drop hb disconnected", move || {
            for round in 0..count(500, 4) {
                let (s, r) = flavor.make::<u8>();
                let flag = Arc::new(AtomicBool::new(false));
                let f = flag.clone();
                let t = thread::spawn(move || {
                    f.store(true, Ordering::Relaxed);
                    drop(s);
                });
                assert_eq!(r.recv(), Err(RecvError), "{flavor:?}");
                assert!(
                    flag.load(Ordering::Relaxed),
                    "{flavor:?} round {round}: disconnection seen before the write"
                );
                t.join().unwrap();
            }
        });
    }
}
