//! Loom models of the list flavor's internals (`list.rs`), run by
//! `scripts/loom.sh` with the other models.

use super::*;
use crate::internal::model;
use loom::sync::atomic::AtomicUsize as LoomAtomicUsize;
use loom::sync::Arc as LoomArc;
use loom::thread;

struct Counted(LoomArc<LoomAtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn two_readers_release_a_block_while_a_sender_reuses_it() {
    model(2, || {
        let chan = LoomArc::new(Channel::new());
        // Fill the first block and all but the last slot of the second.
        for i in 0..2 * BLOCK_CAP - 1 {
            chan.try_send(i).unwrap();
        }
        // Read slots 0..29 here; slots 29 and 30 race in two threads,
        // so either may complete the read count and keep the block
        // as the spare, while the sender below claims the second
        // block's last slot and so obtains a third block: the spare if
        // the count is complete, else a new one.
        for i in 0..BLOCK_CAP - 2 {
            assert_eq!(chan.try_recv(), Ok(i));
        }
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let chan = chan.clone();
                thread::spawn(move || chan.try_recv().unwrap())
            })
            .collect();
        let sender = {
            let chan = chan.clone();
            thread::spawn(move || {
                chan.try_send(2 * BLOCK_CAP - 1).unwrap();
                chan.try_send(2 * BLOCK_CAP).unwrap();
            })
        };
        let mut got: Vec<usize> = readers.into_iter().map(|r| r.join().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, [BLOCK_CAP - 2, BLOCK_CAP - 1]);
        sender.join().unwrap();
        for i in BLOCK_CAP..2 * BLOCK_CAP + 1 {
            assert_eq!(chan.try_recv(), Ok(i));
        }
        assert_eq!(chan.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn receiver_and_sender_cross_a_block_end() {
    model(2, || {
        let chan = LoomArc::new(Channel::new());
        for i in 0..BLOCK_CAP - 1 {
            chan.try_send(i).unwrap();
        }
        let sender = {
            let chan = chan.clone();
            thread::spawn(move || {
                chan.send(BLOCK_CAP - 1, None).unwrap();
                chan.send(BLOCK_CAP, None).unwrap();
                chan.disconnect_senders();
            })
        };
        for i in 0..BLOCK_CAP + 1 {
            assert_eq!(chan.recv(None), Ok(i));
        }
        assert_eq!(chan.recv(None), Err(RecvTimeoutError::Disconnected));
        sender.join().unwrap();
    });
}

#[test]
fn two_senders_cross_a_block_end() {
    // With one slot left in the first block, the sender that claims it
    // installs the second block while the other sends into that block:
    // whichever loads the moved `tail` must also see the new block
    // pointer (published before `tail` moves on), or it writes into the
    // first block over a message not yet received.
    model(2, || {
        let chan = LoomArc::new(Channel::new());
        for i in 0..BLOCK_CAP - 1 {
            chan.try_send(i).unwrap();
        }
        let senders: Vec<_> = [BLOCK_CAP - 1, BLOCK_CAP]
            .into_iter()
            .map(|msg| {
                let chan = chan.clone();
                thread::spawn(move || chan.try_send(msg).unwrap())
            })
            .collect();
        for sender in senders {
            sender.join().unwrap();
        }
        for i in 0..BLOCK_CAP - 1 {
            assert_eq!(chan.try_recv(), Ok(i));
        }
        let mut last = [chan.try_recv().unwrap(), chan.try_recv().unwrap()];
        last.sort_unstable();
        assert_eq!(last, [BLOCK_CAP - 1, BLOCK_CAP]);
        assert_eq!(chan.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn two_receivers_cross_a_block_end() {
    // The receiver that claims the first block's last slot moves `head`
    // to the second block (pointer first, then index) while the other
    // receives from the second block: whichever loads the moved `head`
    // must also see the new block pointer.
    model(2, || {
        let chan = LoomArc::new(Channel::new());
        for i in 0..BLOCK_CAP + 1 {
            chan.try_send(i).unwrap();
        }
        for i in 0..BLOCK_CAP - 1 {
            assert_eq!(chan.try_recv(), Ok(i));
        }
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let chan = chan.clone();
                thread::spawn(move || chan.try_recv().unwrap())
            })
            .collect();
        let mut got: Vec<usize> = receivers.into_iter().map(|r| r.join().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, [BLOCK_CAP - 1, BLOCK_CAP]);
        assert_eq!(chan.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn receivers_disconnect_while_a_sender_crosses_a_block_end() {
    model(2, || {
        let drops = LoomArc::new(LoomAtomicUsize::new(0));
        let chan = LoomArc::new(Channel::new());
        for _ in 0..BLOCK_CAP - 1 {
            chan.try_send(Counted(drops.clone())).unwrap();
        }
        let sender = {
            let chan = chan.clone();
            let drops = drops.clone();
            thread::spawn(move || {
                for _ in 0..2 {
                    // A rejected message comes back and is dropped here.
                    let _ = chan.try_send(Counted(drops.clone()));
                }
            })
        };
        assert!(chan.disconnect_receivers());
        sender.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), BLOCK_CAP + 1);
        drop(chan);
        assert_eq!(drops.load(Ordering::SeqCst), BLOCK_CAP + 1);
    });
}
