//! Loom models of the zero flavor's internals (`zero.rs`), run by
//! `scripts/loom.sh` with the other models.

use super::*;
use crate::internal::model;
use loom::thread;

/// A select-like receive: try, else register a heap packet and block.
fn select_recv(chan: &Channel<u32>) -> Result<u32, ()> {
    let r = chan.receiver();
    loop {
        let mut token = Token::default();
        if r.try_select(&mut token) {
            // SAFETY: reserved on this channel.
            return unsafe { chan.read(&mut token) };
        }
        let done = Context::with(|cx| {
            let mut hook = 0u8;
            let oper = Operation::hook(&mut hook);
            if r.register(oper, cx) {
                let _ = cx.try_select(Selected::Aborted);
            }
            match cx.wait_until(None) {
                Selected::Operation(_) => {
                    let mut token = Token::default();
                    assert!(r.accept(&mut token, cx));
                    // SAFETY: accepted on this channel.
                    Some(unsafe { chan.read(&mut token) })
                }
                _ => {
                    r.unregister(oper);
                    None
                }
            }
        });
        if let Some(result) = done {
            return result;
        }
    }
}

/// A select-like send, the mirror image of `select_recv`.
fn select_send(chan: &Channel<u32>, msg: u32) -> Result<(), u32> {
    let s = chan.sender();
    loop {
        let mut token = Token::default();
        if s.try_select(&mut token) {
            // SAFETY: reserved on this channel.
            return unsafe { chan.write(&mut token, msg) };
        }
        let done = Context::with(|cx| {
            let mut hook = 0u8;
            let oper = Operation::hook(&mut hook);
            if s.register(oper, cx) {
                let _ = cx.try_select(Selected::Aborted);
            }
            match cx.wait_until(None) {
                Selected::Operation(_) => {
                    let mut token = Token::default();
                    assert!(s.accept(&mut token, cx));
                    // SAFETY: accepted on this channel.
                    Some(unsafe { chan.write(&mut token, msg) })
                }
                _ => {
                    s.unregister(oper);
                    None
                }
            }
        });
        if let Some(result) = done {
            return result;
        }
    }
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
