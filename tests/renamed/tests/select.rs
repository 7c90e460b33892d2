//! `select!` and friends used exactly as code written for crossbeam-channel
//! 0.5 uses them, with `chan` renamed to `crossbeam-channel` in Cargo.toml.

#![forbid(unsafe_code)]

use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{
    after, bounded, never, select, tick, unbounded, Receiver, RecvError, Select, SendError, Sender,
};

#[test]
fn select_macro_by_path() {
    let (s, r) = unbounded();
    s.send("hello").unwrap();
    let got = crossbeam_channel::select! {
        recv(r) -> msg => msg,
        default => Err(RecvError),
    };
    assert_eq!(got, Ok("hello"));
}

#[test]
fn select_macro_imported() {
    let (s1, r1) = unbounded::<i32>();
    let (s2, r2) = bounded::<i32>(1);
    // The thread hands its sender back, and it is dropped only after both
    // selects: a receive on an empty, disconnected channel is ready, so with
    // `s1` gone after the first select took the 10, the second could pick
    // `recv(r1)` and unwrap `Err(RecvError)`.
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        s1.send(10).unwrap();
        s1
    });
    let mut got = Vec::new();
    for _ in 0..2 {
        select! {
            recv(r1) -> msg => got.push(msg.unwrap()),
            send(s2, 20) -> res => res.unwrap(),
        }
    }
    drop(sender.join().unwrap());
    assert_eq!(got, [10]);
    assert_eq!(r2.try_recv(), Ok(20));
}

#[test]
fn select_biased_by_path() {
    let (s1, r1) = unbounded();
    let (s2, r2) = unbounded();
    for i in 0..3 {
        s1.send(i).unwrap();
        s2.send(i + 10).unwrap();
    }
    let mut order = Vec::new();
    for _ in 0..6 {
        crossbeam_channel::select_biased! {
            recv(r2) -> msg => order.push(msg.unwrap()),
            recv(r1) -> msg => order.push(msg.unwrap()),
        }
    }
    assert_eq!(order, [10, 11, 12, 0, 1, 2]);
}

#[test]
fn timers_in_select() {
    let start = Instant::now();
    let timeout = after(Duration::from_millis(30));
    let ticker = tick(Duration::from_millis(5));
    let mut ticks = 0;
    loop {
        select! {
            recv(ticker) -> _ => ticks += 1,
            recv(timeout) -> _ => break,
            recv(never::<()>()) -> _ => unreachable!(),
        }
    }
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert!(ticks >= 1);
}

#[test]
fn default_timeout() {
    let (_s, r) = unbounded::<i32>();
    let start = Instant::now();
    let got = select! {
        recv(r) -> msg => msg.ok(),
        default(Duration::from_millis(20)) => None,
    };
    assert_eq!(got, None);
    assert!(start.elapsed() >= Duration::from_millis(20));
}

#[test]
fn disconnected_arms() {
    let (s, r) = unbounded::<u8>();
    drop(r);
    let res = select! { send(s, 1) -> res => res };
    assert_eq!(res, Err(SendError(1)));
    let (s, r) = unbounded::<u8>();
    drop(s);
    let res = select! { recv(r) -> r => r };
    assert_eq!(res, Err(RecvError));
}

#[test]
fn internal_macro_is_exported() {
    let (s, r) = unbounded::<i32>();
    s.send(3).unwrap();
    let got = crossbeam_channel::crossbeam_channel_internal! {
        recv(r) -> msg => msg.unwrap(),
    };
    assert_eq!(got, 3);
}

#[test]
fn select_struct_by_hand() {
    let (s1, r1) = unbounded::<i32>();
    let (s2, r2): (Sender<i32>, Receiver<i32>) = unbounded();
    s2.send(7).unwrap();
    let mut sel = Select::new();
    let i1 = sel.recv(&r1);
    let i2 = sel.recv(&r2);
    let oper = sel.select();
    assert_eq!(oper.index(), i2);
    assert_ne!(i1, i2);
    assert_eq!(oper.recv(&r2), Ok(7));
    drop(s1);
}

#[test]
fn reexported_path_from_library() {
    let (s, r) = unbounded();
    let (_s2, r2) = unbounded();
    s.send('x').unwrap();
    assert_eq!(
        chan_renamed_test::first_of(&r, &r2, Duration::from_secs(1)),
        Some('x')
    );
}

mod via_reexport {
    // A local re-export of the renamed crate, used by path.
    use chan_renamed_test::channels::reexported;

    #[test]
    fn select_through_local_alias() {
        let (s, r) = reexported::unbounded::<i32>();
        s.send(1).unwrap();
        let got = reexported::select! {
            recv(r) -> msg => msg.unwrap(),
            default => 0,
        };
        assert_eq!(got, 1);
        let got = reexported::select_biased! {
            recv(r) -> msg => msg.unwrap(),
            default => 0,
        };
        assert_eq!(got, 0);
    }
}

mod without_prelude {
    #![no_implicit_prelude]

    // The expansion names everything by absolute path, so it needs no prelude.
    pub fn poll(r: &::crossbeam_channel::Receiver<i32>, t: ::std::time::Duration) -> i32 {
        ::crossbeam_channel::select! {
            recv(r) -> msg => msg.unwrap_or(-1),
            default(t) => 0,
        }
    }

    pub fn poll_biased(r: &::crossbeam_channel::Receiver<i32>) -> i32 {
        ::crossbeam_channel::select_biased! {
            recv(r) -> msg => msg.unwrap_or(-1),
            default => 0,
        }
    }
}

#[test]
fn expansion_needs_no_prelude() {
    let (s, r) = unbounded();
    s.send(4).unwrap();
    assert_eq!(without_prelude::poll(&r, Duration::from_millis(5)), 4);
    assert_eq!(without_prelude::poll(&r, Duration::from_millis(5)), 0);
    s.send(5).unwrap();
    assert_eq!(without_prelude::poll_biased(&r), 5);
    drop(s);
    assert_eq!(without_prelude::poll_biased(&r), -1);
}

/// The async macros resolve the runtime crate under the user's name too.
#[test]
fn select_async_macro_under_the_renamed_dependency() {
    let (s, r) = crossbeam_channel::bounded(1);
    let (_quiet, never_sent) = crossbeam_channel::unbounded::<i32>();
    let producer = thread::spawn(move || s.send(7).unwrap());
    let got = futures::executor::block_on(async {
        crossbeam_channel::select_async! {
            recv(r) -> msg => msg.unwrap(),
            recv(never_sent) -> _ => unreachable!("nothing is sent here"),
        }
    });
    assert_eq!(got, 7);
    producer.join().unwrap();
    let got = futures::executor::block_on(async {
        crossbeam_channel::select_biased_async! {
            recv(never_sent) -> _ => 0,
            default => 1,
        }
    });
    assert_eq!(got, 1);
}
