//! Loom models of the zero flavor's internals (`zero.rs`), run by
//! `scripts/loom.sh` with the other models.

use super::*;
use crate::internal::model;
use loom::thread;

/// A select-like operation on one side: try, else register a heap packet
/// and block; `complete` finishes the reservation it got.
fn select_one<R>(side: Side<'_, u32>, complete: impl Fn(&mut Token) -> R) -> R {
    loop {
        let mut token = Token::default();
        if side.try_select(&mut token) {
            return complete(&mut token);
        }
        let done = Context::with(|cx| {
            let mut hook = 0u8;
            let oper = Operation::hook(&mut hook);
            if side.register(oper, cx) {
                let _ = cx.try_select(Selected::Aborted);
            }
            match cx.wait_until(None) {
                Selected::Operation(_) => {
                    let mut token = Token::default();
                    assert!(side.accept(&mut token, cx));
                    Some(complete(&mut token))
                }
                _ => {
                    side.unregister(oper);
                    None
                }
            }
        });
        if let Some(result) = done {
            return result;
        }
    }
}

/// A select-like receive.
fn select_recv(chan: &Channel<u32>) -> Result<u32, ()> {
    // SAFETY: `select_one` completes only reservations made on this
    // channel's receiving side.
    select_one(chan.receiver(), |token| unsafe { chan.read(token) })
}

/// A select-like send.
fn select_send(chan: &Channel<u32>, msg: u32) -> Result<(), u32> {
    // SAFETY: `select_one` completes only reservations made on this
    // channel's sending side.
    select_one(chan.sender(), |token| unsafe { chan.write(token, msg) })
}

#[test]
fn plain_send_meets_select_recv() {
    model(2, || {
        let chan = loom::sync::Arc::new(Channel::new());
        let sender = {
            let chan = chan.clone();
            thread::spawn(move || chan.send(7, None).is_ok())
        };
        assert_eq!(select_recv(&chan), Ok(7));
        assert!(sender.join().unwrap());
    });
}

#[test]
fn select_send_meets_plain_recv() {
    model(2, || {
        let chan = loom::sync::Arc::new(Channel::new());
        let sender = {
            let chan = chan.clone();
            thread::spawn(move || select_send(&chan, 8))
        };
        assert_eq!(chan.recv(None), Ok(8));
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
}

#[test]
fn select_send_meets_select_recv() {
    model(2, || {
        let chan = loom::sync::Arc::new(Channel::new());
        let sender = {
            let chan = chan.clone();
            thread::spawn(move || select_send(&chan, 9))
        };
        assert_eq!(select_recv(&chan), Ok(9));
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
}

#[test]
fn disconnect_races_select_recv() {
    model(2, || {
        let chan = loom::sync::Arc::new(Channel::<u32>::new());
        let closer = {
            let chan = chan.clone();
            thread::spawn(move || assert!(chan.disconnect()))
        };
        assert_eq!(select_recv(&chan), Err(()));
        closer.join().unwrap();
    });
}

#[test]
fn cancelled_send_lets_receiver_retry() {
    model(2, || {
        let chan = loom::sync::Arc::new(Channel::new());
        let receiver = {
            let chan = chan.clone();
            thread::spawn(move || chan.recv(None))
        };
        let mut token = Token::default();
        // Cancel one reservation if the receiver is already waiting,
        // then hand over a message for real.
        if chan.start_send(&mut token) {
            // SAFETY: reserved on this channel.
            unsafe { chan.cancel_send(&mut token) };
        }
        assert!(chan.send(5, None).is_ok());
        assert_eq!(receiver.join().unwrap(), Ok(5));
    });
}

#[test]
fn cancelled_receive_gives_the_sender_its_message_back() {
    model(2, || {
        let chan = loom::sync::Arc::new(Channel::new());
        let sender = {
            let chan = chan.clone();
            thread::spawn(move || chan.send(6, None).is_ok())
        };
        let mut token = Token::default();
        // Give up one reservation of the blocked sender's packet (it must
        // keep its message and wait again), then receive for real.
        if chan.start_recv(&mut token) {
            // SAFETY: reserved on this channel.
            unsafe { chan.cancel_recv(&mut token) };
        }
        assert_eq!(chan.recv(None), Ok(6));
        assert!(sender.join().unwrap());
    });
}
