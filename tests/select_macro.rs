//! Runtime behaviour of `select!` and `select_biased!`.

mod common;

use chan::{
    after, bounded, never, select, select_biased, tick, unbounded, Receiver, RecvError, SendError,
    Sender,
};
use common::{assert_elapsed, ms, received_once, SLACK};
use std::ops::Deref;
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn recv_arm() {
    let (s, r) = unbounded();
    s.send(1).unwrap();
    let v = select! {
        recv(r) -> msg => msg,
    };
    assert_eq!(v, Ok(1));
}

#[test]
fn send_arm() {
    let (s, r) = bounded(1);
    let res: Result<(), SendError<i32>> = select! {
        send(s, 5) -> res => res,
    };
    assert_eq!(res, Ok(()));
    assert_eq!(r.try_recv(), Ok(5));
}

#[test]
fn picks_the_ready_arm() {
    let (s1, r1) = bounded::<i32>(0);
    let (s2, r2) = unbounded::<i32>();
    let (s3, _r3) = bounded::<i32>(0);
    s2.send(2).unwrap();
    let which = select! {
        recv(r1) -> _ => 1,
        recv(r2) -> m => { assert_eq!(m, Ok(2)); 2 }
        send(s3, 0) -> _ => 3,
    };
    assert_eq!(which, 2);
    drop(s1);
}

#[test]
fn blocks_until_a_message_arrives() {
    let (s, r) = bounded(0);
    let (_s2, r2) = bounded::<i32>(0);
    let start = Instant::now();
    let t = thread::spawn(move || {
        thread::sleep(ms(50));
        s.send(7).unwrap();
    });
    select! {
        recv(r2) -> _ => panic!("wrong arm"),
        recv(r) -> m => assert_eq!(m, Ok(7)),
    }
    assert!(start.elapsed() >= ms(30));
    t.join().unwrap();
}

#[test]
fn default_arm_when_nothing_ready() {
    let (s, r) = bounded::<i32>(0);
    let v = select! {
        recv(r) -> _ => 1,
        send(s, 2) -> _ => 2,
        default => 3,
    };
    assert_eq!(v, 3);
    let v = select! {
        recv(r) -> _ => 1,
        default() => 4,
    };
    assert_eq!(v, 4);
}

#[test]
fn default_arm_not_taken_when_ready() {
    let (s, r) = bounded(1);
    s.send(1).unwrap();
    let v = select! {
        recv(r) -> m => m.unwrap(),
        default => 0,
    };
    assert_eq!(v, 1);
}

#[test]
fn default_only() {
    let hit = select! {
        default => true,
    };
    assert!(hit);
    let start = Instant::now();
    let v = select! {
        default(ms(100)) => 5,
    };
    assert_eq!(v, 5);
    assert_elapsed(start, ms(100));
}

#[test]
fn default_with_timeout() {
    let (_s, r) = unbounded::<i32>();
    let start = Instant::now();
    let v = select! {
        recv(r) -> _ => 1,
        default(ms(100)) => 2,
    };
    assert_eq!(v, 2);
    assert_elapsed(start, ms(100));

    let (s, r) = unbounded::<i32>();
    let t = thread::spawn(move || {
        thread::sleep(ms(50));
        s.send(9).unwrap();
    });
    let v = select! {
        recv(r) -> m => m.unwrap(),
        default(Duration::from_secs(10)) => 0,
    };
    assert_eq!(v, 9);
    t.join().unwrap();

    // A huge timeout does not panic.
    let (s, r) = unbounded::<i32>();
    let t = thread::spawn(move || {
        thread::sleep(ms(30));
        s.send(1).unwrap();
    });
    let v = select! {
        recv(r) -> m => m.unwrap(),
        default(Duration::MAX) => 0,
    };
    assert_eq!(v, 1);
    t.join().unwrap();
}

#[test]
fn default_timeout_zero_takes_ready_message() {
    let (s, r) = unbounded();
    s.send(3).unwrap();
    let v = select! {
        recv(r) -> m => m.unwrap(),
        default(Duration::ZERO) => 0,
    };
    assert_eq!(v, 3);
}

#[test]
fn disconnected_arms_are_ready() {
    let (s, r) = unbounded::<i32>();
    drop(s);
    let v = select! {
        recv(r) -> m => m,
        default => Ok(0),
    };
    assert_eq!(v, Err(RecvError));

    let (s, r) = bounded::<i32>(0);
    drop(r);
    let v = select! {
        send(s, 4) -> res => res,
        default => Ok(()),
    };
    assert_eq!(v, Err(SendError(4)));
}

#[test]
fn disconnection_wakes_blocked_select() {
    let (s, r) = bounded::<i32>(0);
    let (_s2, r2) = unbounded::<i32>();
    let t = thread::spawn(move || {
        select! {
            recv(r2) -> _ => None,
            recv(r) -> m => Some(m),
        }
    });
    thread::sleep(ms(50));
    let start = Instant::now();
    drop(s);
    assert_eq!(t.join().unwrap(), Some(Err(RecvError)));
    assert!(start.elapsed() < SLACK);

    let (s, r) = bounded::<i32>(1);
    s.send(0).unwrap();
    let t = thread::spawn(move || {
        select! {
            send(s, 1) -> res => res,
        }
    });
    thread::sleep(ms(50));
    drop(r);
    assert_eq!(t.join().unwrap(), Err(SendError(1)));
}

/// True if `hits` of `n` fair coin flips is within 6 standard deviations
/// (3 * sqrt(n)) of n / 2: a fair selection fails it with a probability
/// under 1e-8; one that gives an arm 55% fails it (on average) from
/// n = 3,600 on, so at the native n = 10,000.
fn fair_share(hits: usize, n: usize) -> bool {
    hits.abs_diff(n / 2) <= 3 * (n as f64).sqrt() as usize
}

#[test]
fn unbiased_select_is_fair() {
    const N: usize = if cfg!(miri) { 200 } else { 10_000 };
    let (s1, r1) = unbounded();
    let (s2, r2) = unbounded();
    for _ in 0..N {
        s1.send(()).unwrap();
        s2.send(()).unwrap();
    }
    let mut hits = [0usize; 2];
    for _ in 0..N {
        select! {
            recv(r1) -> _ => hits[0] += 1,
            recv(r2) -> _ => hits[1] += 1,
        }
    }
    for h in hits {
        assert!(fair_share(h, N), "unfair: {hits:?}");
    }
}

#[test]
fn unbiased_select_is_fair_with_default() {
    const N: usize = if cfg!(miri) { 200 } else { 10_000 };
    let (s1, r1) = bounded(N);
    let (s2, r2) = bounded(N);
    for _ in 0..N {
        s1.send(()).unwrap();
        s2.send(()).unwrap();
    }
    let mut hits = [0usize; 2];
    for _ in 0..N {
        select! {
            recv(r1) -> _ => hits[0] += 1,
            recv(r2) -> _ => hits[1] += 1,
            default => panic!("both arms are ready"),
        }
    }
    for h in hits {
        assert!(fair_share(h, N), "unfair: {hits:?}");
    }
}

#[test]
fn unbiased_send_arms_are_fair() {
    const N: usize = if cfg!(miri) { 200 } else { 10_000 };
    let (s1, r1) = unbounded::<()>();
    let (s2, r2) = unbounded::<()>();
    for _ in 0..N {
        select! {
            send(s1, ()) -> _ => {}
            send(s2, ()) -> _ => {}
        }
    }
    for len in [r1.len(), r2.len()] {
        assert!(fair_share(len, N), "unfair: {}", len);
    }
}

#[test]
fn biased_select_picks_first_ready_arm() {
    let (s1, r1) = unbounded();
    let (s2, r2) = unbounded();
    let (s3, _r3) = bounded::<i32>(0);
    const N: i32 = if cfg!(miri) { 100 } else { 1000 };
    for i in 0..N {
        s1.send(i).unwrap();
        s2.send(i).unwrap();
    }
    for i in 0..N {
        select_biased! {
            send(s3, 0) -> _ => panic!("not ready"),
            recv(r2) -> m => assert_eq!(m, Ok(i)),
            recv(r1) -> _ => panic!("second ready arm chosen"),
        }
    }
    // Once the first is empty, the next ready arm is chosen.
    let v = select_biased! {
        recv(r2) -> _ => -1,
        recv(r1) -> m => m.unwrap(),
    };
    assert_eq!(v, 0);
    let v = select_biased! {
        recv(r2) -> _ => 1,
        default => 2,
    };
    assert_eq!(v, 2);
    // select_biased! with a timeout.
    let start = Instant::now();
    let v = select_biased! {
        recv(r2) -> _ => 1,
        default(ms(50)) => 2,
    };
    assert_eq!(v, 2);
    assert_elapsed(start, ms(50));
}

#[test]
#[allow(clippy::never_loop)] // the labelled `break` from inside `select!` is the point
fn control_flow_in_bodies() {
    let (s, r) = unbounded();
    for i in 0..10 {
        s.send(i).unwrap();
    }
    drop(s);
    let mut seen = Vec::new();
    loop {
        select! {
            recv(r) -> m => match m {
                Ok(v) if v % 2 == 0 => continue,
                Ok(v) => seen.push(v),
                Err(_) => break,
            },
        }
    }
    assert_eq!(seen, vec![1, 3, 5, 7, 9]);

    fn first_even(r: &Receiver<i32>) -> Option<i32> {
        loop {
            select! {
                recv(r) -> m => {
                    let v = m.ok()?;
                    if v % 2 == 0 {
                        return Some(v);
                    }
                }
            }
        }
    }
    let (s, r) = unbounded();
    for v in [1, 3, 4, 5] {
        s.send(v).unwrap();
    }
    assert_eq!(first_even(&r), Some(4));
    drop(s);
    assert_eq!(first_even(&r), None);

    fn question_mark(r: &Receiver<i32>) -> Result<i32, RecvError> {
        let v = select! {
            recv(r) -> m => m?,
        };
        Ok(v + 1)
    }
    let (s, r) = bounded(1);
    s.send(1).unwrap();
    assert_eq!(question_mark(&r), Ok(2));
    drop(s);
    assert_eq!(question_mark(&r), Err(RecvError));

    // Labelled break out of the macro with a value.
    let (s, r) = unbounded();
    s.send(8).unwrap();
    let v = 'outer: loop {
        select! {
            recv(r) -> m => break 'outer m.unwrap() * 2,
        }
    };
    assert_eq!(v, 16);
}

#[test]
fn channel_expressions_evaluated_once() {
    let (s, r) = bounded(0);
    let (_s2, r2) = bounded::<i32>(0);
    let mut calls = [0; 3];
    let t = thread::spawn(move || {
        thread::sleep(ms(50));
        s.send(1).unwrap();
    });
    select! {
        recv({ calls[0] += 1; &r2 }) -> _ => panic!(),
        recv({ calls[1] += 1; &r }) -> m => assert_eq!(m, Ok(1)),
        default({ calls[2] += 1; Duration::from_secs(10) }) => panic!("timed out"),
    }
    assert_eq!(calls, [1, 1, 1]);
    t.join().unwrap();

    let (s, r) = bounded::<i32>(1);
    let mut sends = 0;
    select! {
        send({ sends += 1; &s }, 3) -> res => res.unwrap(),
    }
    assert_eq!(sends, 1);
    assert_eq!(r.recv(), Ok(3));
}

#[test]
fn send_message_evaluated_only_if_arm_wins() {
    let (s_full, _r_full) = bounded(1);
    s_full.send(0).unwrap();
    let (s_ok, r_ok) = bounded(1);
    let mut evaluated = [0; 2];
    select! {
        send(s_full, { evaluated[0] += 1; 1 }) -> _ => panic!("full"),
        send(s_ok, { evaluated[1] += 1; 2 }) -> res => res.unwrap(),
    }
    assert_eq!(evaluated, [0, 1]);
    assert_eq!(r_ok.recv(), Ok(2));

    let mut evaluated = 0;
    let v = select! {
        send(s_full, { evaluated += 1; 5 }) -> _ => 1,
        default => 2,
    };
    assert_eq!((v, evaluated), (2, 0));

    // A non-Copy message moved into a losing arm is not consumed.
    let msg = String::from("hello");
    let (s_str, _r_str) = bounded::<String>(0);
    let v = select! {
        send(s_str, msg.clone()) -> _ => 1,
        default => 2,
    };
    assert_eq!(v, 2);
    assert_eq!(msg, "hello");
}

#[test]
fn bodies_run_once_and_may_move_values() {
    let (s, r) = unbounded();
    s.send(1).unwrap();
    let owned = vec![1, 2, 3];
    let mut runs = 0;
    let taken = select! {
        recv(r) -> _ => { runs += 1; owned }
        default => { runs += 1; owned }
    };
    assert_eq!(taken, vec![1, 2, 3]);
    assert_eq!(runs, 1);
}

#[test]
fn bodies_may_drop_the_channels() {
    let (s, r) = unbounded::<i32>();
    s.send(1).unwrap();
    select! {
        recv(r) -> m => {
            assert_eq!(m, Ok(1));
            drop(r);
        }
        send(s, 2) -> _ => {
            drop(s);
        }
    }
}

#[test]
#[allow(clippy::redundant_closure_call)] // closures that move the handles are the point
fn moved_handles_from_closures() {
    let (s, r) = unbounded::<i32>();
    let v = select! {
        recv((move || r)()) -> m => m.is_err(),
        send((move || s)(), 0) -> res => res.is_ok(),
    };
    // Whichever arm ran, the temporary handles were dropped afterwards.
    assert!(v);
}

#[test]
fn shadowing_pattern() {
    let (s, r) = unbounded();
    s.send(4).unwrap();
    select! {
        recv(r) -> r => assert_eq!(r, Ok(4)),
    }
    let (s, r) = bounded(1);
    select! {
        send(s, 1) -> s => assert_eq!(s, Ok(())),
    }
    assert_eq!(r.recv(), Ok(1));
}

#[test]
fn irrefutable_patterns() {
    let (s, r) = unbounded();
    s.send((1, 2)).unwrap();
    select! {
        recv(r) -> mut m => {
            m = m.map(|(a, b)| (b, a));
            assert_eq!(m, Ok((2, 1)));
        }
    }
    s.send((3, 4)).unwrap();
    select! {
        recv(r) -> _ => {}
    }
    assert!(r.is_empty());
}

#[test]
fn temporaries_and_references() {
    // A temporary receiver whose sender is already gone.
    let v = select! {
        recv({ let (_s, r) = bounded::<i32>(1); r }) -> m => m,
    };
    assert_eq!(v, Err(RecvError));

    let v = select! {
        recv(never::<i32>()) -> _ => 1,
        default => 2,
    };
    assert_eq!(v, 2);

    let (s, r) = unbounded();
    s.send(5).unwrap();
    let rr = &&&r;
    select! {
        recv(&&&&r) -> m => assert_eq!(m, Ok(5)),
    }
    s.send(6).unwrap();
    select! {
        recv(rr) -> m => assert_eq!(m, Ok(6)),
    }
    let ss = &s;
    select! {
        send(&&ss, 7) -> res => res.unwrap(),
    }
    assert_eq!(r.recv(), Ok(7));
}

#[test]
fn boxed_and_deref_handles() {
    let (s, r) = unbounded();
    let (s, r) = (Box::new(s), Box::new(r));
    select! {
        send(*s, 1) -> res => res.unwrap(),
    }
    select! {
        recv(*r) -> m => assert_eq!(m, Ok(1)),
    }

    struct MySender<T>(Sender<T>);
    struct MyReceiver<T>(Receiver<T>);
    impl<T> Deref for MySender<T> {
        type Target = Sender<T>;
        fn deref(&self) -> &Sender<T> {
            &self.0
        }
    }
    impl<T> Deref for MyReceiver<T> {
        type Target = Receiver<T>;
        fn deref(&self) -> &Receiver<T> {
            &self.0
        }
    }
    let (s, r) = bounded(1);
    let (s, r) = (MySender(s), MyReceiver(r));
    select! {
        send(s, 2) -> res => res.unwrap(),
    }
    select! {
        recv(r) -> m => assert_eq!(m, Ok(2)),
    }
}

#[test]
fn element_types_inferred_from_later_use() {
    let (s, r) = unbounded();
    select! {
        recv(r) -> _ => {}
        default => {}
    }
    s.send(String::from("x")).unwrap();

    let (s, r) = unbounded();
    select! {
        send(s, ()) -> _ => {}
    }
    r.recv().unwrap();
}

#[test]
fn trailing_commas_and_block_bodies() {
    let (s, r) = unbounded::<i32>();
    let v = select! {
        send(s, 1,) -> _ => 1,
        recv(r,) -> _ => 2,
    };
    assert!(v == 1 || v == 2);
    let v = select! {
        recv(r) -> _ => { 3 }
        default(ms(1),) => { 4 }
    };
    assert!(v == 3 || v == 4);
}

#[test]
fn same_channel_in_several_arms() {
    let (s, r) = unbounded();
    s.send(1).unwrap();
    let v = select! {
        recv(r) -> m => m.unwrap() * 10,
        recv(r) -> m => m.unwrap() * 100,
    };
    assert!(v == 10 || v == 100);
    let v = select! {
        recv(r) -> _ => 1,
        recv(r) -> _ => 2,
        default => 3,
    };
    assert_eq!(v, 3);
}

#[test]
fn zero_send_and_recv_same_channel_do_not_pair() {
    let (s, r) = bounded::<i32>(0);
    let start = Instant::now();
    let v = select! {
        send(s, 1) -> _ => 1,
        recv(r) -> _ => 2,
        default(ms(100)) => 3,
    };
    assert_eq!(v, 3);
    assert_elapsed(start, ms(100));
}

#[test]
fn nested_select() {
    let (s1, r1) = unbounded();
    let (s2, r2) = unbounded();
    s1.send(1).unwrap();
    s2.send(2).unwrap();
    let v = select! {
        recv(r1) -> a => select! {
            recv(r2) -> b => a.unwrap() + b.unwrap(),
        },
    };
    assert_eq!(v, 3);
}

#[test]
fn timers_in_select() {
    let start = Instant::now();
    let timeout = after(ms(100));
    let (_s, r) = unbounded::<i32>();
    let v = select! {
        recv(r) -> _ => None,
        recv(timeout) -> when => Some(when.unwrap()),
    };
    let when = v.unwrap();
    assert!(when >= start + ms(100));
    assert_elapsed(start, ms(100));

    let ticker = tick(ms(20));
    let mut ticks = 0;
    while ticks < 3 {
        select! {
            recv(ticker) -> t => { t.unwrap(); ticks += 1; }
            recv(never::<()>()) -> _ => unreachable!(),
        }
    }
}

#[test]
fn many_arms() {
    let chans: Vec<(Sender<usize>, Receiver<usize>)> = (0..12).map(|_| bounded(1)).collect();
    let c = &chans;
    for target in [0, 5, 11] {
        c[target].0.send(target).unwrap();
        let v = select! {
            recv(c[0].1) -> m => m, recv(c[1].1) -> m => m, recv(c[2].1) -> m => m,
            recv(c[3].1) -> m => m, recv(c[4].1) -> m => m, recv(c[5].1) -> m => m,
            recv(c[6].1) -> m => m, recv(c[7].1) -> m => m, recv(c[8].1) -> m => m,
            recv(c[9].1) -> m => m, recv(c[10].1) -> m => m, recv(c[11].1) -> m => m,
            default(SLACK) => Err(RecvError),
        };
        assert_eq!(v, Ok(target));
    }
}

#[test]
fn send_and_recv_arms_racing_across_threads() {
    let total: usize = if cfg!(miri) { 100 } else { 20_000 };
    let (s1, r1) = bounded::<usize>(0);
    let (s2, r2) = unbounded::<usize>();
    let (s3, r3) = bounded::<usize>(2);
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let (s1, s2, s3) = (s1.clone(), s2.clone(), s3.clone());
            thread::spawn(move || {
                for i in (p..total).step_by(2) {
                    if i % 5 == 0 {
                        select! {
                            send(s2, i) -> res => res.unwrap(),
                        }
                    } else {
                        select! {
                            send(s1, i) -> res => res.unwrap(),
                            send(s3, i) -> res => res.unwrap(),
                        }
                    }
                }
            })
        })
        .collect();
    drop((s1, s2, s3));
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let (r1, r2, r3) = (r1.clone(), r2.clone(), r3.clone());
            thread::spawn(move || {
                let mut got = Vec::new();
                let mut open = [true; 3];
                let dead = never::<usize>();
                while open.iter().any(|&o| o) {
                    let a = if open[0] { &r1 } else { &dead };
                    let b = if open[1] { &r2 } else { &dead };
                    let c = if open[2] { &r3 } else { &dead };
                    select! {
                        recv(a) -> m => match m { Ok(v) => got.push(v), Err(_) => open[0] = false },
                        recv(b) -> m => match m { Ok(v) => got.push(v), Err(_) => open[1] = false },
                        recv(c) -> m => match m { Ok(v) => got.push(v), Err(_) => open[2] = false },
                    }
                }
                got
            })
        })
        .collect();
    drop((r1, r2, r3));
    let seen = received_once(producers, consumers);
    assert_eq!(seen.len(), total, "messages lost");
}

#[test]
fn worker_shuts_down_on_quit_channel() {
    let (jobs_s, jobs_r) = unbounded::<u64>();
    let (results_s, results_r) = unbounded::<u64>();
    let (quit_s, quit_r) = bounded::<()>(0);
    let worker = thread::spawn(move || {
        let mut handled = 0;
        loop {
            select! {
                recv(jobs_r) -> job => {
                    results_s.send(job.unwrap() * 2).unwrap();
                    handled += 1;
                }
                recv(quit_r) -> _ => return handled,
            }
        }
    });
    for i in 0..100 {
        jobs_s.send(i).unwrap();
    }
    let mut sum = 0;
    for _ in 0..100 {
        sum += results_r.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    assert_eq!(sum, 2 * (0..100).sum::<u64>());
    quit_s.send(()).unwrap();
    assert_eq!(worker.join().unwrap(), 100);
    // The worker dropped its result sender on exit.
    assert_eq!(results_r.recv(), Err(RecvError));
}

#[test]
fn worker_shuts_down_when_quit_sender_dropped() {
    let (quit_s, quit_r) = bounded::<()>(0);
    let ticker = tick(ms(5));
    let worker = thread::spawn(move || {
        let mut ticks = 0u32;
        loop {
            select! {
                recv(ticker) -> _ => ticks += 1,
                recv(quit_r) -> m => {
                    assert_eq!(m, Err(RecvError));
                    return ticks;
                }
            }
        }
    });
    thread::sleep(ms(50));
    drop(quit_s);
    let ticks = worker.join().unwrap();
    assert!(ticks >= 1);
}

#[test]
fn internal_macro_accepts_select_syntax() {
    let (s, r) = unbounded();
    s.send(1).unwrap();
    let v = chan::crossbeam_channel_internal! {
        recv(r) -> m => m.unwrap(),
        default => 0,
    };
    assert_eq!(v, 1);
}

#[forbid(unsafe_code)]
mod forbid_unsafe {
    use chan::{select, unbounded};

    #[test]
    fn select_compiles_under_forbid_unsafe_code() {
        let (s, r) = unbounded();
        s.send(1).unwrap();
        let v = select! {
            recv(r) -> m => m.unwrap(),
            send(s, 2) -> _ => 0,
            default => -1,
        };
        assert!(v == 1 || v == 0);
    }
}

// `select_async!` and `select_biased_async!`: the same arms, awaited. The
// tests with timeouts start chan's timer thread, which outlives the test
// (Miri reports that), or run 30,000 rounds: not under Miri.

#[test]
#[cfg_attr(miri, ignore)]
fn select_async_picks_uniformly_among_ready_arms() {
    let channels: Vec<(Sender<usize>, Receiver<usize>)> = (0..3).map(|_| unbounded()).collect();
    const ROUNDS: usize = 30_000;
    for (i, (s, _)) in channels.iter().enumerate() {
        for _ in 0..ROUNDS {
            s.send(i).unwrap();
        }
    }
    let (r0, r1, r2) = (&channels[0].1, &channels[1].1, &channels[2].1);
    let mut counts = [0usize; 3];
    futures::executor::block_on(async {
        for _ in 0..ROUNDS {
            let i = chan::select_async! {
                recv(r0) -> msg => msg.unwrap(),
                recv(r1) -> msg => msg.unwrap(),
                recv(r2) -> msg => msg.unwrap(),
            };
            counts[i] += 1;
        }
    });
    // Binomial(30000, 1/3): sd 82; a bound of 6 sd cannot flake, and a
    // select that preferred one arm by even 2% would break it.
    for count in counts {
        assert!(count.abs_diff(ROUNDS / 3) < 500, "{counts:?}");
    }
}

#[test]
fn select_biased_async_prefers_the_first_ready_arm() {
    let (s1, r1) = unbounded();
    let (s2, r2) = unbounded();
    for i in 0..100 {
        s1.send(i).unwrap();
        s2.send(i).unwrap();
    }
    futures::executor::block_on(async {
        for i in 0..100 {
            let got = chan::select_biased_async! {
                recv(r1) -> msg => msg.unwrap(),
                recv(r2) -> _ => panic!("the second arm won while the first was ready"),
            };
            assert_eq!(got, i);
        }
    });
}

#[test]
#[cfg_attr(miri, ignore)]
fn select_async_default_never_waits_and_a_timeout_fires() {
    let (_s, r) = unbounded::<i32>();
    futures::executor::block_on(async {
        let got = chan::select_async! {
            recv(r) -> _ => "message",
            default => "default",
        };
        assert_eq!(got, "default");

        let start = Instant::now();
        let got = chan::select_async! {
            recv(r) -> _ => "message",
            default(ms(50)) => "timeout",
        };
        assert_eq!(got, "timeout");
        assert_elapsed(start, ms(50));

        let start = Instant::now();
        chan::select_async! { default(ms(20)) => () }
        assert_elapsed(start, ms(20));
    });
}

#[test]
#[cfg_attr(miri, ignore)]
fn select_async_ready_operation_beats_an_expired_timeout() {
    // With a zero timeout the timer arm is ready at once, beside the
    // message: as with a blocking select, the operation must win, every
    // time, whichever arm the random draw visits first.
    let (s, r) = unbounded();
    futures::executor::block_on(async {
        for i in 0..500 {
            s.send(i).unwrap();
            let got = chan::select_async! {
                recv(r) -> msg => msg.ok(),
                default(Duration::ZERO) => None,
            };
            assert_eq!(got, Some(i));
        }
    });
}

#[test]
fn select_async_send_arm_is_completed_for_a_thread() {
    let (s, r) = bounded(1);
    let consumer = thread::spawn(move || (0..10).map(|_| r.recv().unwrap()).sum::<i32>());
    futures::executor::block_on(async {
        for i in 0..10 {
            chan::select_async! {
                send(s, i) -> res => res.unwrap(),
            }
        }
    });
    assert_eq!(consumer.join().unwrap(), 45);
}

#[test]
#[cfg_attr(miri, ignore)]
fn select_async_dropped_by_a_timeout_takes_nothing() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let (s, r) = bounded::<u32>(1);
    runtime.block_on(async {
        let waiting = tokio::time::timeout(ms(20), async {
            chan::select_async! {
                recv(r) -> msg => msg.unwrap(),
            }
        });
        assert!(waiting.await.is_err(), "nothing was sent");
        // The select was dropped while registered: the next message goes to
        // the next receive, not to the abandoned select.
        s.send(7).unwrap();
        let next = tokio::spawn({
            let r = r.clone();
            async move {
                chan::select_async! {
                    recv(r) -> msg => msg.unwrap(),
                }
            }
        });
        assert_eq!(next.await.unwrap(), 7);
    });
}
