//! The promises of `Select` and `select!` that go beyond examples, each
//! raced in the window where it could break:
//!
//! - **A select that gives up was right to.** `try_select`, `try_ready`,
//!   the timeout and deadline variants and `select!` with `default` or
//!   `default(timeout)` report "nothing ready" only if, at some moment
//!   during the call, none of their operations could proceed. Raced by a
//!   thread that makes one channel ready and then empties the other while
//!   the select looks at them (`give_up_*`).
//! - **Unbiased selection is uniform** among the operations that can
//!   proceed: in the pass over ready operations, and when the select
//!   blocks and a partner picks one of its registrations, including
//!   several operations on one channel (`fair_*`). Biased selection keeps
//!   strict order (`biased_*`).
//!
//! The bounds of the statistical tests are more than ten standard
//! deviations from what a uniform choice gives, so they cannot flake, while
//! the biased choices they guard against (the rotation and fixed
//! registration order chan had before) miss them by far.
//!
//! `CHAN_RACE_ROUNDS` sets the rounds of each give-up race (default
//! 100,000 in release builds, 3,000 in debug builds).
//!
//! Not for Miri: these are races and statistics over many rounds, and the
//! unsafe code they go through is covered there by the unit tests.
#![cfg(not(miri))]

use chan::{bounded, select, select_biased, unbounded, Receiver, Select, Sender, TrySendError};
use std::hint::spin_loop;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Giving up is linearizable
// ---------------------------------------------------------------------------

fn race_rounds() -> usize {
    std::env::var("CHAN_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) {
            3_000
        } else {
            100_000
        })
}

/// A select that may give up, over `recv(x)` and `recv(y)`. Returns
/// `Some(message)` for a completed receive, `Some(0)` for a `ready` variant
/// that reported an operation (which it does not perform), `None` if it
/// gave up.
type GiveUpSelect = fn(&Receiver<u32>, &Receiver<u32>) -> Option<u32>;

fn complete(oper: chan::SelectedOperation<'_>, x: &Receiver<u32>, y: &Receiver<u32>) -> u32 {
    // Indices: x was added first (0), y second (1).
    if oper.index() == 0 {
        oper.recv(x).unwrap()
    } else {
        oper.recv(y).unwrap()
    }
}

fn with_select<'a>(x: &'a Receiver<u32>, y: &'a Receiver<u32>, biased: bool) -> Select<'a> {
    let mut sel = if biased {
        Select::new_biased()
    } else {
        Select::new()
    };
    assert_eq!(sel.recv(x), 0);
    assert_eq!(sel.recv(y), 1);
    sel
}

const GIVE_UP_VARIANTS: &[(&str, GiveUpSelect)] = &[
    ("Select::try_select", |x, y| {
        let mut sel = with_select(x, y, false);
        let oper = sel.try_select().ok()?;
        Some(complete(oper, x, y))
    }),
    ("Select::new_biased().try_select", |x, y| {
        let mut sel = with_select(x, y, true);
        let oper = sel.try_select().ok()?;
        Some(complete(oper, x, y))
    }),
    ("Select::select_timeout(0)", |x, y| {
        let mut sel = with_select(x, y, false);
        let oper = sel.select_timeout(Duration::ZERO).ok()?;
        Some(complete(oper, x, y))
    }),
    ("Select::select_deadline(now)", |x, y| {
        let mut sel = with_select(x, y, false);
        let oper = sel.select_deadline(Instant::now()).ok()?;
        Some(complete(oper, x, y))
    }),
    ("Select::try_ready", |x, y| {
        with_select(x, y, false).try_ready().ok().map(|_| 0)
    }),
    ("Select::ready_timeout(0)", |x, y| {
        let mut sel = with_select(x, y, false);
        sel.ready_timeout(Duration::ZERO).ok().map(|_| 0)
    }),
    ("Select::ready_deadline(now)", |x, y| {
        let mut sel = with_select(x, y, false);
        sel.ready_deadline(Instant::now()).ok().map(|_| 0)
    }),
    ("select! with default", |x, y| {
        select! {
            recv(x) -> msg => Some(msg.unwrap()),
            recv(y) -> msg => Some(msg.unwrap()),
            default => None,
        }
    }),
    ("select! with default(0)", |x, y| {
        select! {
            recv(x) -> msg => Some(msg.unwrap()),
            recv(y) -> msg => Some(msg.unwrap()),
            default(Duration::ZERO) => None,
        }
    }),
    ("select! with default(1us)", |x, y| {
        select! {
            recv(x) -> msg => Some(msg.unwrap()),
            recv(y) -> msg => Some(msg.unwrap()),
            default(Duration::from_micros(1)) => None,
        }
    }),
    ("select_biased! with default", |x, y| {
        select_biased! {
            recv(x) -> msg => Some(msg.unwrap()),
            recv(y) -> msg => Some(msg.unwrap()),
            default => None,
        }
    }),
];

/// Waits, spinning briefly and then yielding, until `counter` reaches
/// `value`.
fn wait_for(counter: &AtomicUsize, value: usize) {
    let mut spins = 0u32;
    while counter.load(Ordering::Acquire) != value {
        if spins < 64 {
            spin_loop();
            spins += 1;
        } else {
            thread::yield_now();
        }
    }
}

/// The steal race, `rounds` times. Thread A (this one): sends on X, then
/// selects over `recv(x)` and `recv(y)`. Thread B, at the same time: sends
/// on Y, then takes X's message with `try_recv`. B's send on Y comes before
/// its theft from X, so during A's whole select at least one of the two
/// channels holds a message: the select must succeed every round. B starts
/// each round after a delay that sweeps the window over the rounds. Every
/// message is then accounted for exactly once.
fn steal_race(make: fn() -> (Sender<u32>, Receiver<u32>), name: &str, variant: GiveUpSelect) {
    let rounds = race_rounds();
    let (x_tx, x_rx) = make();
    let (y_tx, y_rx) = make();
    let started = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let thief = {
        let (started, finished, x_rx) = (started.clone(), finished.clone(), x_rx.clone());
        thread::spawn(move || {
            let mut stolen = 0usize;
            for round in 1..=rounds {
                wait_for(&started, round);
                for _ in 0..round % 48 {
                    spin_loop();
                }
                y_tx.send(2).unwrap();
                stolen += usize::from(x_rx.try_recv().is_ok());
                finished.store(round, Ordering::Release);
            }
            stolen
        })
    };

    let mut selected = 0usize;
    let mut left_over = 0usize;
    for round in 1..=rounds {
        started.store(round, Ordering::Release);
        x_tx.send(1).unwrap();
        let got = variant(&x_rx, &y_rx);
        assert!(
            got.is_some(),
            "{name}: round {round} of {rounds}: gave up while a message was ready at every moment"
        );
        if got != Some(0) {
            selected += 1;
        }
        wait_for(&finished, round);
        left_over += x_rx.try_iter().count() + y_rx.try_iter().count();
    }
    let stolen = thief.join().unwrap();
    // Two messages a round, each received exactly once.
    assert_eq!(selected + stolen + left_over, 2 * rounds, "{name}");
}

fn give_up_race_on(make: fn() -> (Sender<u32>, Receiver<u32>), flavor: &str) {
    for (variant_name, variant) in GIVE_UP_VARIANTS {
        steal_race(make, &format!("{flavor}, {variant_name}"), *variant);
    }
}

#[test]
fn give_up_is_linearizable_on_bounded_1() {
    give_up_race_on(|| bounded(1), "bounded(1)");
}

#[test]
fn give_up_is_linearizable_on_bounded_4() {
    give_up_race_on(|| bounded(4), "bounded(4)");
}

#[test]
fn give_up_is_linearizable_on_unbounded() {
    give_up_race_on(unbounded, "unbounded");
}

// ---------------------------------------------------------------------------
// Unbiased selection is uniform; biased selection is ordered
// ---------------------------------------------------------------------------

const TRIALS: usize = 10_000;

/// Asserts that each count is within `[low, high]` percent of `total`.
fn assert_shares(what: &str, counts: &[usize], total: usize, low: usize, high: usize) {
    for (arm, &count) in counts.iter().enumerate() {
        assert!(
            count * 100 >= total * low && count * 100 <= total * high,
            "{what}: arm {arm} won {count} of {total} (expected {low}%-{high}% each): {counts:?}"
        );
    }
}

/// Four arms, of which the last two are ready: each of them must win half
/// the time. With 10,000 trials a fair coin's share has a standard
/// deviation of 0.5%, so 45%-55% is ten deviations wide on each side; the
/// rotating start chan used before gave the first ready arm 75%.
#[test]
fn fair_among_ready_arms() {
    let (_empty_a_tx, empty_a) = unbounded::<u8>();
    let (_empty_b_tx, empty_b) = bounded::<u8>(1);
    let (full_a_tx, full_a) = unbounded::<u8>();
    let (full_b_tx, full_b) = bounded::<u8>(1);
    full_a_tx.send(0).unwrap();
    full_b_tx.send(0).unwrap();

    // Each variant selects over the four receivers and returns the winner.
    type FourArmSelect = fn(&[&Receiver<u8>; 4]) -> usize;
    let variants: [(&str, FourArmSelect); 4] = [
        ("Select::select", |rs| {
            let mut sel = Select::new();
            rs.iter().for_each(|r| {
                sel.recv(r);
            });
            let oper = sel.select();
            let index = oper.index();
            oper.recv(rs[index]).unwrap();
            index
        }),
        ("Select::try_select", |rs| {
            let mut sel = Select::new();
            rs.iter().for_each(|r| {
                sel.recv(r);
            });
            let oper = sel.try_select().unwrap();
            let index = oper.index();
            oper.recv(rs[index]).unwrap();
            index
        }),
        ("Select::ready", |rs| {
            let mut sel = Select::new();
            rs.iter().for_each(|r| {
                sel.recv(r);
            });
            let index = sel.ready();
            rs[index].try_recv().unwrap();
            index
        }),
        ("select!", |rs| {
            let [a, b, c, d] = *rs;
            select! {
                recv(a) -> _ => 0,
                recv(b) -> _ => 1,
                recv(c) -> msg => { msg.unwrap(); 2 },
                recv(d) -> msg => { msg.unwrap(); 3 },
            }
        }),
    ];
    let receivers = [&empty_a, &empty_b, &full_a, &full_b];
    for (name, variant) in variants {
        let mut wins = [0usize; 4];
        for _ in 0..TRIALS {
            let winner = variant(&receivers);
            wins[winner] += 1;
            // Refill the channel that was emptied.
            match winner {
                2 => full_a_tx.send(0).unwrap(),
                3 => full_b_tx.send(0).unwrap(),
                _ => panic!("{name}: selected an empty channel's arm {winner}"),
            }
        }
        assert_shares(name, &wins[2..], TRIALS, 45, 55);
    }
}

/// The same channel in several arms, with a sender waiting on it (the ready
/// pass): each of five `recv` arms on one `bounded(0)` channel wins about a
/// fifth of the time; at least 10% each (a share of 20% over 10,000 trials
/// has a standard deviation of 0.4%).
#[test]
fn fair_among_duplicate_arms_with_a_waiting_sender() {
    let (s, r) = bounded::<usize>(0);
    let sender = thread::spawn(move || {
        for n in 0..TRIALS {
            s.send(n).unwrap();
        }
    });
    let mut wins = [0usize; 5];
    let mut received = 0;
    while received < TRIALS {
        let mut sel = Select::new();
        for _ in 0..5 {
            sel.recv(&r);
        }
        // Succeeds only while the sender waits: the ready pass.
        match sel.try_select() {
            Ok(oper) => {
                wins[oper.index()] += 1;
                assert_eq!(oper.recv(&r), Ok(received));
                received += 1;
            }
            Err(_) => thread::yield_now(),
        }
    }
    sender.join().unwrap();
    assert_shares("5 recv arms, sender waiting", &wins, TRIALS, 10, 30);
}

/// Five `recv` arms on one `bounded(0)` channel while the select is blocked
/// (the registration path): the sender only hands over its message with
/// `try_send`, which succeeds only when a receiver is already waiting, so
/// every message goes to a registered arm, chosen by the sender among the
/// five registrations. Each wins at least 10%.
#[test]
fn fair_among_duplicate_arms_of_a_blocked_select() {
    let (s, r) = bounded::<usize>(0);
    let sender = thread::spawn(move || {
        for n in 0..TRIALS {
            let mut msg = n;
            loop {
                match s.try_send(msg) {
                    Ok(()) => break,
                    Err(TrySendError::Full(back)) => {
                        msg = back;
                        thread::yield_now();
                    }
                    Err(TrySendError::Disconnected(_)) => panic!("receiver gone"),
                }
            }
        }
    });
    let mut wins = [0usize; 5];
    for n in 0..TRIALS {
        let mut sel = Select::new();
        for _ in 0..5 {
            sel.recv(&r);
        }
        let oper = sel.select();
        wins[oper.index()] += 1;
        assert_eq!(oper.recv(&r), Ok(n));
    }
    sender.join().unwrap();
    assert_shares("5 recv arms, select blocked", &wins, TRIALS, 10, 30);
}

/// Two `send` arms to one `bounded(0)` channel, `send(s, 0)` and
/// `send(s, 1)`, with a slow receiver: it takes a message only with
/// `try_recv`, which succeeds only when the select is already blocked with
/// both sends registered. Both values must arrive at least 10% of the time
/// (fixed registration order made one of them win every time).
#[test]
fn fair_among_duplicate_send_arms_with_a_slow_receiver() {
    let (s, r) = bounded::<usize>(0);
    let receiver = thread::spawn(move || {
        let mut values = [0usize; 2];
        for _ in 0..TRIALS {
            loop {
                match r.try_recv() {
                    Ok(value) => {
                        values[value] += 1;
                        break;
                    }
                    Err(_) => thread::yield_now(),
                }
            }
        }
        values
    });
    for _ in 0..TRIALS {
        select! {
            send(s, 0) -> res => res.unwrap(),
            send(s, 1) -> res => res.unwrap(),
        }
    }
    let values = receiver.join().unwrap();
    assert_shares("2 send arms, slow receiver", &values, TRIALS, 10, 90);
}

/// Biased selection takes the first ready arm in written order, every
/// time, in the ready pass and after blocking.
#[test]
fn biased_selection_keeps_written_order() {
    let (s1, r1) = unbounded::<u8>();
    let (s2, r2) = unbounded::<u8>();
    for _ in 0..100 {
        s1.send(1).unwrap();
        s2.send(2).unwrap();
        let got = select_biased! {
            recv(r2) -> msg => msg.unwrap(),
            recv(r1) -> msg => msg.unwrap(),
        };
        assert_eq!(got, 2);
        let mut sel = Select::new_biased();
        sel.recv(&r1);
        sel.recv(&r2);
        let oper = sel.try_select().unwrap();
        assert_eq!(oper.index(), 0);
        assert_eq!(oper.recv(&r1), Ok(1));
    }
    // Five arms on one rendezvous channel, the select blocked: the first
    // registration is the one a sender picks.
    let (s, r) = bounded::<u8>(0);
    let sender = thread::spawn(move || {
        for _ in 0..50 {
            while s.try_send(0).is_err() {
                thread::yield_now();
            }
        }
    });
    for _ in 0..50 {
        let mut sel = Select::new_biased();
        for _ in 0..5 {
            sel.recv(&r);
        }
        let oper = sel.select();
        assert_eq!(oper.index(), 0);
        oper.recv(&r).unwrap();
    }
    sender.join().unwrap();
}
