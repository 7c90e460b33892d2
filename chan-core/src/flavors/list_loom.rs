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

/// A channel holding the messages `0..count`, in order.
fn holding(count: usize) -> LoomArc<Channel<usize>> {
    let chan = LoomArc::new(Channel::new());
    for i in 0..count {
        chan.try_send(i).unwrap();
    }
    chan
}

/// Takes the messages of `expected` from `chan`, in order, without
/// blocking.
fn receive_in_order(chan: &Channel<usize>, expected: std::ops::Range<usize>) {
    for i in expected {
        assert_eq!(chan.try_recv(), Ok(i));
    }
}

/// Runs `op` on a thread of its own, with its own handle to `chan`.
fn spawn_with<R: Send + 'static>(
    chan: &LoomArc<Channel<usize>>,
    op: impl FnOnce(&Channel<usize>) -> R + Send + 'static,
) -> thread::JoinHandle<R> {
    let chan = chan.clone();
    thread::spawn(move || op(&chan))
}

#[test]
fn two_readers_release_a_block_while_a_sender_reuses_it() {
    model(2, || {
        // Fill the first block and all but the last slot of the second.
        let chan = holding(2 * BLOCK_CAP - 1);
        // Read slots 0..29 here; slots 29 and 30 race in two threads,
        // so either may complete the read count and keep the block
        // as the spare, while the sender below claims the second
        // block's last slot and so obtains a third block: the spare if
        // the count is complete, else a new one.
        receive_in_order(&chan, 0..BLOCK_CAP - 2);
        let readers = [(); 2].map(|()| spawn_with(&chan, |chan| chan.try_recv().unwrap()));
        let sender = spawn_with(&chan, |chan| {
            chan.try_send(2 * BLOCK_CAP - 1).unwrap();
            chan.try_send(2 * BLOCK_CAP).unwrap();
        });
        let mut got = readers.map(|r| r.join().unwrap());
        got.sort_unstable();
        assert_eq!(got, [BLOCK_CAP - 2, BLOCK_CAP - 1]);
        sender.join().unwrap();
        receive_in_order(&chan, BLOCK_CAP..2 * BLOCK_CAP + 1);
        assert_eq!(chan.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn receiver_and_sender_cross_a_block_end() {
    model(2, || {
        let chan = holding(BLOCK_CAP - 1);
        let sender = spawn_with(&chan, |chan| {
            chan.send(BLOCK_CAP - 1, None).unwrap();
            chan.send(BLOCK_CAP, None).unwrap();
            chan.disconnect_senders();
        });
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
        let chan = holding(BLOCK_CAP - 1);
        let senders = [BLOCK_CAP - 1, BLOCK_CAP]
            .map(|msg| spawn_with(&chan, move |chan| chan.try_send(msg).unwrap()));
        for sender in senders {
            sender.join().unwrap();
        }
        receive_in_order(&chan, 0..BLOCK_CAP - 1);
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
        let chan = holding(BLOCK_CAP + 1);
        receive_in_order(&chan, 0..BLOCK_CAP - 1);
        let receivers = [(); 2].map(|()| spawn_with(&chan, |chan| chan.try_recv().unwrap()));
        let mut got = receivers.map(|r| r.join().unwrap());
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
