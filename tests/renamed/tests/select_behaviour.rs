#![forbid(unsafe_code)]
// Strict lints that user crates may enable: the expansion must not trip them.
#![deny(
    unused_qualifications,
    unused_results,
    trivial_casts,
    variant_size_differences,
    let_underscore_drop,
    elided_lifetimes_in_paths,
    unused_lifetimes,
    clippy::pedantic
)]
#![allow(clippy::items_after_statements, clippy::many_single_char_names)]
//! Runtime behaviour of `select!` and `select_biased!`: evaluation order,
//! laziness of send messages, accepted channel expressions, control flow in
//! bodies, nesting, bias, arm count, and more.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::ops::Deref;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{
    bounded, never, select, select_biased, unbounded, Receiver, RecvError, SendError, Sender,
};

#[test]
fn recv_send_default() {
    let (s, r) = unbounded::<i32>();
    let got = select! {
        recv(r) -> msg => Some(msg),
        default => None,
    };
    assert_eq!(got, None);
    s.send(7).unwrap();
    let got = select! {
        recv(r) -> msg => Some(msg),
        default() => None,
    };
    assert_eq!(got, Some(Ok(7)));
    let (s2, r2) = bounded::<i32>(1);
    let res = select! {
        send(s2, 5) -> res => res,
    };
    assert_eq!(res, Ok(()));
    assert_eq!(r2.recv(), Ok(5));
    drop(r2);
    let res = select! { send(s2, 6,) -> res => res, };
    assert_eq!(res, Err(SendError(6)));
    drop(s);
    let res: Result<i32, RecvError> = select! { recv(r,) -> res => res };
    assert_eq!(res, Err(RecvError));
}

#[test]
fn default_alone() {
    assert_eq!(select! { default => 1 }, 1);
    assert_eq!(select! { default() => { 2 } }, 2);
    assert_eq!(select_biased! { default => 3, }, 3);
    let start = Instant::now();
    let v = select! { default(Duration::from_millis(50)) => 4 };
    assert_eq!(v, 4);
    assert!(start.elapsed() >= Duration::from_millis(50));
}

#[test]
fn timeout() {
    let (_s, r) = unbounded::<i32>();
    let start = Instant::now();
    let v = select! {
        recv(r) -> _ => 0,
        default(Duration::from_millis(50)) => 1,
    };
    assert_eq!(v, 1);
    assert!(start.elapsed() >= Duration::from_millis(50));
    let (s, r) = unbounded::<i32>();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        s.send(9).unwrap();
    });
    let v = select! {
        default(Duration::from_secs(10),) => None,
        recv(r) -> m => m.ok(),
    };
    assert_eq!(v, Some(9));
    h.join().unwrap();
}

#[test]
fn evaluation_order_and_count() {
    let log = RefCell::new(Vec::new());
    let (s1, r1) = unbounded::<i32>();
    let (s2, r2) = unbounded::<i32>();
    s2.send(1).unwrap();
    let pick = |name: &'static str, r: &Receiver<i32>| {
        log.borrow_mut().push(name);
        r.clone()
    };
    let pick_s = |name: &'static str, s: &Sender<i32>| {
        log.borrow_mut().push(name);
        s.clone()
    };
    let msg_evaluated = Cell::new(false);
    let v = select! {
        recv(pick("a", &r1)) -> _ => 0,
        send(pick_s("b", &s1), { msg_evaluated.set(true); 5 }) -> _ => 1,
        default({ log.borrow_mut().push("t"); Duration::from_secs(1) }) => 2,
        recv(pick("c", &r2)) -> m => m.unwrap() * 10,
    };
    // s1 is unbounded so the send is also ready; either may win.
    assert!(v == 1 || v == 10, "{v}");
    assert_eq!(*log.borrow(), ["a", "b", "t", "c"]);
    assert_eq!(msg_evaluated.get(), v == 1);
}

#[test]
fn message_not_evaluated_when_losing() {
    let (s, _r) = bounded::<String>(0);
    let (s2, r2) = unbounded::<u8>();
    s2.send(1).unwrap();
    let mut made = 0;
    for _ in 0..20 {
        let v = select! {
            send(s, { made += 1; String::from("x") }) -> _ => 0,
            recv(r2) -> _ => 1,
            default => 2,
        };
        assert_ne!(v, 0);
    }
    assert_eq!(made, 0);
}

struct Wrapper(Receiver<i32>);
impl Deref for Wrapper {
    type Target = Receiver<i32>;
    fn deref(&self) -> &Receiver<i32> {
        &self.0
    }
}

struct Holder {
    r: Receiver<i32>,
}

#[test]
fn channel_expression_forms() {
    let (s, r) = unbounded();
    for i in 0..6 {
        s.send(i).unwrap();
    }
    let boxed = Box::new(r.clone());
    let wrapper = Wrapper(r.clone());
    let make = || r.clone();
    let v0 = select! { recv(&&&&r) -> m => m.unwrap() };
    let v1 = select! { recv(*boxed) -> m => m.unwrap() };
    let v2 = select! { recv(wrapper) -> m => m.unwrap() };
    let v3 = select! { recv(make()) -> m => m.unwrap() };
    let v4 = select! { recv(Holder { r: r.clone() }.r) -> m => m.unwrap() };
    let v5 = select! { recv(Wrapper(r.clone())) -> m => m.unwrap() };
    assert_eq!([v0, v1, v2, v3, v4, v5], [0, 1, 2, 3, 4, 5]);
    let sender_box: Box<Sender<i32>> = Box::new(s.clone());
    select! { send(&*sender_box, 8) -> res => res.unwrap() }
    select! { send(s.clone(), 9) -> res => res.unwrap() }
    assert_eq!(r.try_iter().collect::<Vec<_>>(), [8, 9]);
}

#[test]
fn element_types_inferred_from_later_use() {
    let (s, r) = unbounded();
    let (s2, r2) = unbounded();
    s.send(1u64).unwrap();
    select! {
        recv(r) -> m => s2.send(m.unwrap()).unwrap(),
        recv(r2) -> _ => panic!("r2 was empty"),
    }
    let x: u64 = r2.recv().unwrap();
    assert_eq!(x, 1);
}

#[test]
fn pattern_shadows_channel() {
    let (s, r) = unbounded();
    s.send(3).unwrap();
    let v = select! { recv(r) -> r => r.unwrap() };
    assert_eq!(v, 3);
    s.send(4).unwrap();
    let v = select! { recv(r) -> (Ok(_) | Err(_)) => 5 };
    assert_eq!(v, 5);
    s.send(6).unwrap();
    let v = select! { recv(r) -> ref m => *m.as_ref().unwrap() };
    assert_eq!(v, 6);
}

#[test]
fn control_flow_acts_on_enclosing_code() {
    let (s, r) = unbounded();
    for i in 0..10 {
        s.send(i).unwrap();
    }
    let mut seen = Vec::new();
    loop {
        select! {
            recv(r) -> m => {
                let m = m.unwrap();
                if m % 2 == 0 {
                    continue;
                }
                if m > 6 {
                    break;
                }
                seen.push(m);
            }
        }
    }
    assert_eq!(seen, [1, 3, 5]);

    fn first(r: &Receiver<i32>) -> i32 {
        select! {
            recv(r) -> m => return m.unwrap() * 100,
            default => {}
        }
        -1
    }
    assert_eq!(r.try_iter().collect::<Vec<_>>(), [8, 9]);
    s.send(2).unwrap();
    assert_eq!(first(&r), 200);
    assert_eq!(first(&r), -1);

    fn question(r: &Receiver<i32>) -> Result<i32, RecvError> {
        let v = select! { recv(r) -> m => m? + 1 };
        Ok(v)
    }
    let (s3, r3) = unbounded();
    s3.send(1).unwrap();
    assert_eq!(question(&r3), Ok(2));
    drop(s3);
    assert_eq!(question(&r3), Err(RecvError));

    let v = 'outer: {
        select! { default => break 'outer 7 }
    };
    assert_eq!(v, 7);
}

#[test]
fn bodies_may_move_and_drop_channels() {
    let (s, r) = unbounded::<String>();
    let text = String::from("moved");
    s.send(String::from("a")).unwrap();
    let out = select! {
        recv(r) -> m => {
            drop(r);
            drop(s);
            m.unwrap() + &text
        }
    };
    drop(text);
    assert_eq!(out, "amoved");
}

#[test]
fn nesting() {
    let (s1, r1) = unbounded::<i32>();
    let (s2, r2) = unbounded::<i32>();
    s1.send(1).unwrap();
    s2.send(2).unwrap();
    let v = select_biased! {
        recv(r1) -> a => select! {
            recv(r2) -> b => a.unwrap() + b.unwrap(),
            default => -1,
        },
        recv(r2) -> _ => -2,
    };
    assert_eq!(v, 3);
}

#[test]
fn biased_prefers_first() {
    let (s1, r1) = unbounded::<i32>();
    let (s2, r2) = unbounded::<i32>();
    for i in 0..50 {
        s1.send(i).unwrap();
        s2.send(i).unwrap();
    }
    for _ in 0..50 {
        let v = select_biased! {
            recv(r2) -> _ => 2,
            recv(r1) -> _ => 1,
        };
        assert_eq!(v, 2);
    }
}

#[test]
fn unbiased_is_fair_enough() {
    let (s1, r1) = unbounded::<i32>();
    let (s2, r2) = unbounded::<i32>();
    for i in 0..200 {
        s1.send(i).unwrap();
        s2.send(i).unwrap();
    }
    let mut counts = [0; 2];
    for _ in 0..200 {
        select! {
            recv(r1) -> _ => counts[0] += 1,
            recv(r2) -> _ => counts[1] += 1,
        }
    }
    assert!(counts[0] > 20 && counts[1] > 20, "{counts:?}");
}

#[test]
fn no_arm_limit() {
    let chans: Vec<(Sender<usize>, Receiver<usize>)> = (0..40).map(|_| unbounded()).collect();
    chans[37].0.send(37).unwrap();
    let r = |i: usize| &chans[i].1;
    let v = select! {
        recv(r(0)) -> m => m.unwrap(), recv(r(1)) -> m => m.unwrap(), recv(r(2)) -> m => m.unwrap(),
        recv(r(3)) -> m => m.unwrap(), recv(r(4)) -> m => m.unwrap(), recv(r(5)) -> m => m.unwrap(),
        recv(r(6)) -> m => m.unwrap(), recv(r(7)) -> m => m.unwrap(), recv(r(8)) -> m => m.unwrap(),
        recv(r(9)) -> m => m.unwrap(), recv(r(10)) -> m => m.unwrap(), recv(r(11)) -> m => m.unwrap(),
        recv(r(12)) -> m => m.unwrap(), recv(r(13)) -> m => m.unwrap(), recv(r(14)) -> m => m.unwrap(),
        recv(r(15)) -> m => m.unwrap(), recv(r(16)) -> m => m.unwrap(), recv(r(17)) -> m => m.unwrap(),
        recv(r(18)) -> m => m.unwrap(), recv(r(19)) -> m => m.unwrap(), recv(r(20)) -> m => m.unwrap(),
        recv(r(21)) -> m => m.unwrap(), recv(r(22)) -> m => m.unwrap(), recv(r(23)) -> m => m.unwrap(),
        recv(r(24)) -> m => m.unwrap(), recv(r(25)) -> m => m.unwrap(), recv(r(26)) -> m => m.unwrap(),
        recv(r(27)) -> m => m.unwrap(), recv(r(28)) -> m => m.unwrap(), recv(r(29)) -> m => m.unwrap(),
        recv(r(30)) -> m => m.unwrap(), recv(r(31)) -> m => m.unwrap(), recv(r(32)) -> m => m.unwrap(),
        recv(r(33)) -> m => m.unwrap(), recv(r(34)) -> m => m.unwrap(), recv(r(35)) -> m => m.unwrap(),
        recv(r(36)) -> m => m.unwrap(), recv(r(37)) -> m => m.unwrap() * 2, recv(r(38)) -> m => m.unwrap(),
        recv(r(39)) -> m => m.unwrap(),
    };
    assert_eq!(v, 74);
}

#[test]
fn same_channel_twice_and_never() {
    let (s, r) = unbounded::<i32>();
    s.send(1).unwrap();
    let v = select! {
        recv(r) -> m => m.unwrap(),
        recv(r) -> m => m.unwrap() + 10,
        recv(never::<i32>()) -> _ => 100,
    };
    assert!(v == 1 || v == 11);
}

#[test]
fn any_message_type() {
    let (s, r) = unbounded::<Box<dyn Any>>();
    select! { send(s, Box::new(5u8)) -> res => assert!(res.is_ok()) }
    let v = select! { recv(r) -> m => *m.unwrap().downcast::<u8>().unwrap() };
    assert_eq!(v, 5);
}

fn generic_forward<T>(r: &Receiver<T>, s: &Sender<T>) -> bool {
    select! {
        recv(r) -> m => match m {
            Ok(m) => s.send(m).is_ok(),
            Err(_) => false,
        }
        default => false,
    }
}

#[test]
fn generic_code() {
    let (s1, r1) = unbounded::<Vec<u8>>();
    let (s2, r2) = unbounded::<Vec<u8>>();
    s1.send(vec![1]).unwrap();
    assert!(generic_forward(&r1, &s2));
    assert!(!generic_forward(&r1, &s2));
    assert_eq!(r2.recv(), Ok(vec![1]));
}

#[test]
fn blocking_send_and_recv_across_threads() {
    let (s, r) = bounded::<i32>(0);
    let h = thread::spawn(move || {
        let v = select! { recv(r) -> m => m.unwrap() };
        v * 2
    });
    select! { send(s, 21) -> res => res.unwrap() }
    assert_eq!(h.join().unwrap(), 42);
}

#[test]
fn internal_macro() {
    let (s, r) = unbounded::<i32>();
    s.send(1).unwrap();
    let v =
        crossbeam_channel::crossbeam_channel_internal! { recv(r) -> m => m.unwrap(), default => 0 };
    assert_eq!(v, 1);
}

#[test]
fn statement_position_and_unit_bodies() {
    let (s, r) = unbounded::<i32>();
    let mut total = 0;
    s.send(5).unwrap();
    select! {
        recv(r) -> m => total += m.unwrap(),
        default => {}
    }
    select! {
        recv(r) -> _ => unreachable!(),
        default => total += 1
    }
    assert_eq!(total, 6);
}

struct Worker {
    jobs: Receiver<u32>,
    results: Sender<u32>,
}

impl Worker {
    /// Selects on fields behind `&self`: the channels must be borrowed, not moved.
    fn step(&self) -> bool {
        select! {
            recv(self.jobs) -> job => match job {
                Ok(job) => self.results.send(job * 2).is_ok(),
                Err(_) => false,
            },
            default => false,
        }
    }
}

#[test]
fn channels_behind_a_reference() {
    let (job_sender, jobs) = unbounded();
    let (results, result_r) = unbounded();
    let worker = Worker { jobs, results };
    job_sender.send(21).unwrap();
    assert!(worker.step());
    assert!(!worker.step());
    assert_eq!(result_r.try_recv(), Ok(42));
}
