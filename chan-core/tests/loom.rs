//! Loom models of every flavor's protocol: each explores all interleavings
//! (up to a preemption bound) of a tiny scenario and checks that no message
//! is lost, duplicated or leaked and that no wake-up is lost (a lost wake-up
//! shows up as a deadlock, which loom reports).
//!
//! Run with: `RUSTFLAGS="--cfg loom" cargo test -p chan-core --release --test loom`
#![cfg(loom)]

use chan_core::internal::{model, SelectHandle, Token};
use chan_core::{bounded, unbounded, Receiver, RecvError, Sender, TryRecvError};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use std::future::Future;

/// A message that counts its drops.
struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn two_messages(make: fn() -> (Sender<u32>, Receiver<u32>)) {
    model(3, move || {
        let (s, r) = make();
        let producer = thread::spawn(move || {
            s.send(1).unwrap();
            s.send(2).unwrap();
        });
        assert_eq!(r.recv(), Ok(1));
        assert_eq!(r.recv(), Ok(2));
        assert_eq!(r.recv(), Err(RecvError));
        producer.join().unwrap();
    });
}

fn two_senders(make: fn() -> (Sender<u32>, Receiver<u32>), preemptions: usize) {
    model(preemptions, move || {
        let (s, r) = make();
        let s2 = s.clone();
        // The senders are not joined: loom 0.7 lets `unpark` wake a
        // thread blocked in `JoinHandle::join` and then fails its own
        // assertion (`state.notified`, rt/notify.rs). A sender that chose
        // this receiver as its waiter may unpark it after the receiver has
        // already taken both messages (std allows such a late unpark: it
        // only makes a later `park` return early). Loom still runs every
        // thread to its end, and a failed send panics inside the sender.
        thread::spawn(move || s.send(1).unwrap());
        thread::spawn(move || s2.send(2).unwrap());
        let mut got = [r.recv().unwrap(), r.recv().unwrap()];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

fn receiver_disconnected_while_sender_blocked(make: fn() -> (Sender<u32>, Receiver<u32>)) {
    model(3, move || {
        let (s, r) = make();
        let producer = thread::spawn(move || {
            // Fills a bounded(1) channel or blocks on a rendezvous, until
            // the receiver goes away.
            let mut sent = 0;
            while s.send(sent).is_ok() {
                sent += 1;
            }
            sent
        });
        drop(r);
        let sent = producer.join().unwrap();
        assert!(sent <= 1);
    });
}

fn sender_disconnected_while_receiver_blocked(make: fn() -> (Sender<u32>, Receiver<u32>)) {
    model(3, move || {
        let (s, r) = make();
        let consumer = thread::spawn(move || r.recv());
        drop(s);
        assert_eq!(consumer.join().unwrap(), Err(RecvError));
    });
}

fn dropped_with_messages_inside(make: fn() -> (Sender<Counted>, Receiver<Counted>)) {
    model(3, move || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (s, r) = make();
        let producer = {
            let drops = drops.clone();
            thread::spawn(move || {
                let _ = s.try_send(Counted(drops.clone()));
                let _ = s.try_send(Counted(drops));
            })
        };
        let received = r.try_recv().is_ok();
        drop(r);
        producer.join().unwrap();
        // Two messages were created; whether received, refused or left in
        // the channel, each was dropped exactly once.
        let _ = received;
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    });
}

fn array() -> (Sender<u32>, Receiver<u32>) {
    bounded(1)
}
fn list() -> (Sender<u32>, Receiver<u32>) {
    unbounded()
}
fn zero() -> (Sender<u32>, Receiver<u32>) {
    bounded(0)
}

#[test]
fn array_two_messages() {
    two_messages(array);
}
#[test]
fn list_two_messages() {
    two_messages(list);
}
#[test]
fn zero_two_messages() {
    two_messages(zero);
}
#[test]
fn array_two_senders() {
    two_senders(array, 1);
}
#[test]
fn list_two_senders() {
    two_senders(list, 2);
}
#[test]
fn zero_two_senders() {
    two_senders(zero, 3);
}
#[test]
fn array_blocked_sender_sees_receiver_disconnect() {
    receiver_disconnected_while_sender_blocked(array);
}
#[test]
fn zero_blocked_sender_sees_receiver_disconnect() {
    receiver_disconnected_while_sender_blocked(zero);
}
#[test]
fn array_blocked_receiver_sees_sender_disconnect() {
    sender_disconnected_while_receiver_blocked(array);
}
#[test]
fn list_blocked_receiver_sees_sender_disconnect() {
    sender_disconnected_while_receiver_blocked(list);
}
#[test]
fn zero_blocked_receiver_sees_sender_disconnect() {
    sender_disconnected_while_receiver_blocked(zero);
}
#[test]
fn array_dropped_with_messages_inside() {
    dropped_with_messages_inside(|| bounded(2));
}
#[test]
fn list_dropped_with_messages_inside() {
    dropped_with_messages_inside(unbounded);
}
#[test]
fn zero_dropped_with_pending_sends() {
    dropped_with_messages_inside(|| bounded(0));
}

/// A receiver that blocks on an empty channel first (it is spawned before
/// anything is sent) is woken by the send, whichever of the two runs first.
fn blocked_receiver_woken_by_send(make: fn() -> (Sender<u32>, Receiver<u32>)) {
    model(3, move || {
        let (s, r) = make();
        let consumer = thread::spawn(move || r.recv());
        s.send(7).unwrap();
        assert_eq!(consumer.join().unwrap(), Ok(7));
        drop(s);
    });
}

#[test]
fn array_blocked_receiver_woken_by_send() {
    blocked_receiver_woken_by_send(array);
}

/// A send that finds a receiver blocked on an empty buffer hands the message
/// straight to it; the next message goes through the buffer, in order.
#[test]
fn array_send_hands_off_to_blocked_receiver() {
    model(3, || {
        let (s, r) = array();
        let consumer = thread::spawn(move || (r.recv(), r.recv()));
        // Let the consumer run until it blocks, so the send finds it waiting.
        thread::yield_now();
        s.send(7).unwrap();
        s.send(8).unwrap();
        assert_eq!(consumer.join().unwrap(), (Ok(7), Ok(8)));
    });
}
#[test]
fn list_blocked_receiver_woken_by_send() {
    blocked_receiver_woken_by_send(list);
}
#[test]
fn zero_blocked_receiver_woken_by_send() {
    blocked_receiver_woken_by_send(zero);
}

#[test]
fn zero_blocked_sender_woken_by_receive() {
    model(3, || {
        let (s, r) = zero();
        let producer = thread::spawn(move || s.send(1));
        assert_eq!(r.recv(), Ok(1));
        assert_eq!(producer.join().unwrap(), Ok(()));
    });
}

#[test]
fn array_blocked_sender_woken_by_receive() {
    model(3, || {
        let (s, r) = bounded(1);
        s.send(1).unwrap();
        let producer = thread::spawn(move || s.send(2).unwrap());
        assert_eq!(r.recv(), Ok(1));
        assert_eq!(r.recv(), Ok(2));
        producer.join().unwrap();
    });
}

/// Messages per list block under loom (`LAP` 32 minus the end position).
const LIST_BLOCK: u32 = 31;

/// An unbounded channel holding the messages `0..count`, in order.
fn unbounded_holding(count: u32) -> (Sender<u32>, Receiver<u32>) {
    let (s, r) = unbounded();
    for i in 0..count {
        s.send(i).unwrap();
    }
    (s, r)
}

/// Receives the messages of `expected` from `r`, in order.
fn recv_in_order(r: &Receiver<u32>, expected: std::ops::Range<u32>) {
    for i in expected {
        assert_eq!(r.recv(), Ok(i));
    }
}

#[test]
fn list_receiver_crosses_block_boundary() {
    // Fill a block but its last slot, then race the sender that fills it,
    // allocates the next block and sends into it against the receiver
    // draining the first.
    model(3, || {
        let (s, r) = unbounded_holding(LIST_BLOCK - 1);
        let producer = thread::spawn(move || {
            s.send(LIST_BLOCK - 1).unwrap();
            s.send(LIST_BLOCK).unwrap();
        });
        recv_in_order(&r, 0..LIST_BLOCK + 1);
        producer.join().unwrap();
        assert_eq!(r.try_recv(), Err(TryRecvError::Disconnected));
    });
}

#[test]
fn list_receivers_race_to_release_a_block() {
    // Two receivers take the last two slots of the first block: whichever
    // claimed the last slot releases the block, at once if the other has
    // finished reading, else after it has (the release of the second block
    // retries it).
    model(2, || {
        let (_s, r) = unbounded_holding(2 * LIST_BLOCK);
        recv_in_order(&r, 0..LIST_BLOCK - 2);
        let other = r.clone();
        let racer = thread::spawn(move || other.recv().unwrap());
        let mine = r.recv().unwrap();
        let theirs = racer.join().unwrap();
        assert_eq!(
            (mine.min(theirs), mine.max(theirs)),
            (LIST_BLOCK - 2, LIST_BLOCK - 1)
        );
        recv_in_order(&r, LIST_BLOCK..2 * LIST_BLOCK);
    });
}

/// A select send reserved and then given up (a dropped
/// `SelectedOperation`) races with a plain sender and a receiver: the
/// receiver gets exactly the real message, whether the given-up slot was
/// rolled back or skipped.
fn cancelled_send_races_a_sender(make: fn() -> (Sender<u32>, Receiver<u32>), preemptions: usize) {
    model(preemptions, move || {
        let (s, r) = make();
        let other = s.clone();
        let canceller = thread::spawn(move || {
            let mut token = Token::default();
            if s.try_select(&mut token) {
                // SAFETY: reserved just above by this handle, not completed.
                unsafe { s.cancel(&mut token) };
            }
        });
        let sender = thread::spawn(move || other.send(7).unwrap());
        assert_eq!(r.recv(), Ok(7));
        canceller.join().unwrap();
        sender.join().unwrap();
        assert_eq!(r.try_recv(), Err(TryRecvError::Disconnected));
    });
}

/// A select receive reserved and then given up races with a plain
/// receiver: the message is either received or dropped by the cancel,
/// exactly once.
fn cancelled_receive_races_a_receiver(make: fn() -> (Sender<Counted>, Receiver<Counted>)) {
    model(3, move || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (s, r) = make();
        s.send(Counted(drops.clone())).ok().unwrap();
        drop(s);
        let other = r.clone();
        let canceller = thread::spawn(move || {
            let mut token = Token::default();
            // A reservation either holds the message or saw the channel
            // empty and disconnected; cancelling releases either.
            if r.try_select(&mut token) {
                // SAFETY: reserved just above by this handle, not completed.
                unsafe { r.cancel(&mut token) };
            }
        });
        let received = other.recv().is_ok();
        canceller.join().unwrap();
        drop(other);
        let _ = received;
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn array_cancelled_send_races_a_sender() {
    cancelled_send_races_a_sender(|| bounded(2), 2);
}
#[test]
fn array_full_cancelled_send_races_a_sender() {
    cancelled_send_races_a_sender(array, 1);
}
#[test]
fn list_cancelled_send_races_a_sender() {
    cancelled_send_races_a_sender(list, 3);
}
#[test]
fn array_cancelled_receive_races_a_receiver() {
    cancelled_receive_races_a_receiver(|| bounded(1));
}
#[test]
fn list_cancelled_receive_races_a_receiver() {
    cancelled_receive_races_a_receiver(unbounded);
}

// Async tasks in the same wait queues (`chan_core::task`). Loom's
// `block_on` is the task: it polls on its own thread and waits on loom's
// notify until its waker is woken, so a lost task wake-up is a deadlock.

/// A task's receive, woken by a thread's send.
fn task_woken_by_thread_send(make: fn() -> (Sender<u32>, Receiver<u32>)) {
    model(3, move || {
        let (s, r) = make();
        let producer = thread::spawn(move || s.send(1).unwrap());
        assert_eq!(loom::future::block_on(r.recv_async()), Ok(1));
        assert_eq!(loom::future::block_on(r.recv_async()), Err(RecvError));
        producer.join().unwrap();
    });
}

#[test]
fn array_task_woken_by_thread_send() {
    task_woken_by_thread_send(array);
}

#[test]
fn list_task_woken_by_thread_send() {
    task_woken_by_thread_send(list);
}

#[test]
fn zero_task_woken_by_thread_send() {
    task_woken_by_thread_send(zero);
}

/// A thread's receive, woken by a task's send; on a full bounded(1) the
/// task's send waits for the thread's receive.
fn thread_woken_by_task_send(make: fn() -> (Sender<u32>, Receiver<u32>)) {
    model(3, move || {
        let (s, r) = make();
        let consumer = thread::spawn(move || (r.recv(), r.recv()));
        loom::future::block_on(async {
            s.send_async(1).await.unwrap();
            s.send_async(2).await.unwrap();
        });
        drop(s);
        assert_eq!(consumer.join().unwrap(), (Ok(1), Ok(2)));
    });
}

#[test]
fn array_thread_woken_by_task_send() {
    thread_woken_by_task_send(array);
}

#[test]
fn zero_thread_woken_by_task_send() {
    thread_woken_by_task_send(zero);
}

/// A receive future that a send's wake-up may choose, dropped without
/// being polled again: the wake-up passes to the blocked thread, which
/// gets the message (else loom reports a deadlock).
fn dropped_recv_future_passes_its_wakeup(make: fn() -> (Sender<u32>, Receiver<u32>)) {
    // Three threads with a blocking receive among them: a bound of 3 runs
    // for over ten minutes; 2 takes well under a second.
    model(2, move || {
        let (s, r) = make();
        let r2 = r.clone();
        let consumer = thread::spawn(move || r2.recv());
        let mut future = r.recv_async();
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(std::pin::Pin::new(&mut future).poll(&mut cx).is_pending());
        let producer = thread::spawn(move || s.send(1).unwrap());
        drop(future);
        assert_eq!(consumer.join().unwrap(), Ok(1));
        producer.join().unwrap();
    });
}

#[test]
fn array_dropped_recv_future_passes_its_wakeup() {
    dropped_recv_future_passes_its_wakeup(array);
}

#[test]
fn list_dropped_recv_future_passes_its_wakeup() {
    dropped_recv_future_passes_its_wakeup(list);
}

/// A zero-capacity send future dropped while a receiver may be taking its
/// message: the message is received exactly once or dropped with the
/// future, never both, never leaked.
#[test]
fn zero_dropped_send_future_sends_at_most_once() {
    model(3, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (s, r) = bounded::<Counted>(0);
        let mut future = s.send_async(Counted(drops.clone()));
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(std::pin::Pin::new(&mut future).poll(&mut cx).is_pending());
        let consumer = thread::spawn(move || r.try_recv().ok());
        drop(future);
        let received = consumer.join().unwrap();
        let was_received = received.is_some();
        drop(received);
        drop(s);
        // Exactly one drop: by the receiver or with the future.
        assert_eq!(drops.load(Ordering::SeqCst), 1, "received: {was_received}");
    });
}

// ---------------------------------------------------------------------------
// Close, close-and-drain, batches and weak handles
// ---------------------------------------------------------------------------

/// A full channel's blocked sender and a close from the receiving side:
/// the blocked send fails with its message back, the message sent before
/// the close is still received, and then the channel reports
/// disconnection. A lost wake-up of the blocked sender is a deadlock.
/// `buffered`: the channel has room for the first message.
fn close_wakes_blocked_sender(make: fn() -> (Sender<u32>, Receiver<u32>), buffered: bool) {
    model(3, move || {
        let (s, r) = make();
        if buffered {
            s.send(1).unwrap();
        }
        let producer = thread::spawn(move || s.send(2));
        assert!(r.close());
        assert_eq!(producer.join().unwrap(), Err(chan_core::SendError(2)));
        if buffered {
            assert_eq!(r.recv(), Ok(1));
        }
        assert_eq!(r.recv(), Err(RecvError));
    });
}

#[test]
fn array_close_wakes_blocked_sender() {
    close_wakes_blocked_sender(array, true);
}

#[test]
fn zero_close_wakes_blocked_sender() {
    close_wakes_blocked_sender(zero, false);
}

/// A blocked receiver and a close from a sender that sends one message
/// first, on another thread: the receiver gets the message, then the
/// disconnection, and the late send fails (a rendezvous, `buffered`
/// false, has no room for the first message: only the disconnection).
fn close_wakes_blocked_receiver(make: fn() -> (Sender<u32>, Receiver<u32>), buffered: bool) {
    model(3, move || {
        let (s, r) = make();
        let consumer = thread::spawn(move || (r.recv(), r.recv()));
        if buffered {
            s.send(1).unwrap();
        }
        assert!(s.close());
        assert!(s.send(3).is_err());
        let (first, second) = consumer.join().unwrap();
        if buffered {
            assert_eq!((first, second), (Ok(1), Err(RecvError)));
        } else {
            assert_eq!((first, second), (Err(RecvError), Err(RecvError)));
        }
    });
}

#[test]
fn array_close_wakes_blocked_receiver() {
    close_wakes_blocked_receiver(array, true);
}

#[test]
fn list_close_wakes_blocked_receiver() {
    close_wakes_blocked_receiver(list, true);
}

#[test]
fn zero_close_wakes_blocked_receiver() {
    close_wakes_blocked_receiver(zero, false);
}

/// A send racing `close_and_drain`, through the window between the
/// sender's claim of a slot and its write: the message is either refused
/// (handed back) or in the drained `Vec`, exactly once, and every message
/// is dropped exactly once.
fn send_races_close_and_drain(make: fn() -> (Sender<Counted>, Receiver<Counted>)) {
    model(3, move || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (s, r) = make();
        let message = Counted(drops.clone());
        let producer = thread::spawn(move || s.send(message).err().map(|err| err.into_inner()));
        let drained = r.close_and_drain();
        let refused = producer.join().unwrap();
        assert_eq!(drained.len() + usize::from(refused.is_some()), 1);
        assert_eq!(r.try_recv().err(), Some(TryRecvError::Disconnected));
        drop((drained, refused));
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn array_send_races_close_and_drain() {
    send_races_close_and_drain(|| bounded(2));
}

#[test]
fn list_send_races_close_and_drain() {
    send_races_close_and_drain(unbounded);
}

/// `recv_many` against a concurrent `send_all`: every message arrives once
/// and in order, however the batch claims interleave with the sends, and
/// the receiver sees the disconnection only after the last one.
fn recv_many_races_send_all(make: fn() -> (Sender<u32>, Receiver<u32>)) {
    model(2, move || {
        let (s, r) = make();
        let producer = thread::spawn(move || s.send_all([1, 2, 3]).unwrap());
        let mut got = Vec::new();
        while r.recv_many(&mut got, 2).is_ok() {}
        assert_eq!(got, [1, 2, 3]);
        producer.join().unwrap();
    });
}

#[test]
fn array_recv_many_races_send_all() {
    recv_many_races_send_all(|| bounded(2));
}

#[test]
fn list_recv_many_races_send_all() {
    recv_many_races_send_all(unbounded);
}

/// A `send_all` racing the single send that takes a list block's last
/// slot and installs the next block: a batch that loads the moved `tail`
/// must also see the new block, or it writes over the first block.
#[test]
fn list_send_all_races_a_block_install() {
    model(2, || {
        let (s, r) = unbounded_holding(LIST_BLOCK - 1);
        let other = s.clone();
        let single = thread::spawn(move || other.send(LIST_BLOCK - 1).unwrap());
        s.send_all([100, 101]).unwrap();
        single.join().unwrap();
        drop(s);
        let got: Vec<u32> = r.iter().collect();
        assert_eq!(got.len(), LIST_BLOCK as usize + 2);
        assert!(got[..LIST_BLOCK as usize - 1]
            .iter()
            .copied()
            .eq(0..LIST_BLOCK - 1));
        let mut rest = got[LIST_BLOCK as usize - 1..].to_vec();
        rest.sort_unstable();
        assert_eq!(rest, [LIST_BLOCK - 1, 100, 101]);
    });
}

/// A `recv_many` claiming the slots before a list block's last one while
/// a single receive takes that last slot, moves `head` on and releases the
/// block: the batch's reads must happen before the release (its `read`
/// flags, with release), or the block's reuse races them.
#[test]
fn list_recv_many_races_a_block_release() {
    model(2, || {
        let (_s, r) = unbounded_holding(LIST_BLOCK + 1);
        recv_in_order(&r, 0..LIST_BLOCK - 3);
        let other = r.clone();
        let batch = thread::spawn(move || {
            let mut got = Vec::new();
            other.recv_many(&mut got, 2).unwrap();
            got
        });
        let mut got = vec![r.recv().unwrap(), r.recv().unwrap()];
        got.extend(batch.join().unwrap());
        while let Ok(msg) = r.try_recv() {
            got.push(msg);
        }
        got.sort_unstable();
        assert_eq!(
            got,
            [LIST_BLOCK - 3, LIST_BLOCK - 2, LIST_BLOCK - 1, LIST_BLOCK]
        );
    });
}

/// Two receivers block on one channel while sends race them. The second
/// to register finds the wait queue already marked non-empty and does not
/// write the flag again (a fence takes the store's place in the
/// lost-wake-up guard): each send must still wake a receiver, or loom
/// reports the deadlock.
fn two_blocked_receivers(make: fn() -> (Sender<u32>, Receiver<u32>)) {
    model(1, move || {
        let (s, r) = make();
        let r2 = r.clone();
        let first = thread::spawn(move || r.recv().unwrap());
        let second = thread::spawn(move || r2.recv().unwrap());
        s.send(1).unwrap();
        s.send(2).unwrap();
        let mut got = [first.join().unwrap(), second.join().unwrap()];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

#[test]
fn array_two_blocked_receivers() {
    two_blocked_receivers(|| bounded(1));
}

#[test]
fn list_two_blocked_receivers() {
    two_blocked_receivers(unbounded);
}

/// `try_recv_many` against single sends, one of which may be mid-write in
/// the slot a batch claims: what the calls take is a prefix, in order, and
/// once the sends are done one call takes the rest (a batch that stopped at
/// the newest message never leaves a completed send behind).
///
/// The receiver yields between its calls: loom's DPOR keeps one last access
/// per atomic, so a sender that loads a word before it writes it hides the
/// receiver's earlier loads of that word, and a model whose threads never
/// wait explores a single schedule; a yield is a switch loom does explore.
fn try_recv_many_races_sends(make: fn() -> (Sender<u32>, Receiver<u32>)) {
    model(2, move || {
        let (s, r) = make();
        let producer = thread::spawn(move || {
            s.send(1).unwrap();
            s.send(2).unwrap();
            s
        });
        let mut got = Vec::new();
        for _ in 0..2 {
            let before = got.len();
            match r.try_recv_many(&mut got, 4) {
                Ok(count) => assert_eq!(count, got.len() - before),
                Err(err) => assert_eq!((err, got.len()), (TryRecvError::Empty, before)),
            }
            thread::yield_now();
        }
        let s = producer.join().unwrap();
        let missing = 2 - got.len();
        if missing > 0 {
            assert_eq!(r.try_recv_many(&mut got, 4), Ok(missing));
        }
        assert_eq!(got, [1, 2]);
        drop(s);
        assert_eq!(
            r.try_recv_many(&mut got, 4),
            Err(TryRecvError::Disconnected)
        );
    });
}

#[test]
fn array_try_recv_many_races_sends() {
    try_recv_many_races_sends(|| bounded(2));
}

/// A batch receive frees the slots it read for the next lap's senders: a
/// sender that polls with `try_send` (so no wait queue's lock orders it
/// after the receiver) writes into a freed slot only after the batch's
/// read of it, ordered by the stamp the batch stores with release.
#[test]
fn array_recv_many_frees_slots_for_a_polling_sender() {
    model(2, || {
        let (s, r) = bounded(2);
        s.send(1).unwrap();
        s.send(2).unwrap();
        let receiver = thread::spawn(move || {
            let mut got = Vec::new();
            r.recv_many(&mut got, 2).unwrap();
            (r, got)
        });
        while s.try_send(3).is_err() {
            thread::yield_now();
        }
        let (r, mut got) = receiver.join().unwrap();
        got.extend(r.try_iter());
        assert_eq!(got, [1, 2, 3]);
    });
}

#[test]
fn list_try_recv_many_races_sends() {
    try_recv_many_races_sends(unbounded);
}

/// Upgrading a weak sender while the last strong sender goes: either the
/// upgrade wins (and its send is received) or it fails and the channel is
/// disconnected for good; the allocation is freed once, after both.
#[test]
fn weak_upgrade_races_last_sender_drop() {
    model(3, || {
        let (s, r) = unbounded::<u32>();
        let weak = s.downgrade();
        let upgrader = thread::spawn(move || match weak.upgrade() {
            Some(s) => {
                s.send(7).unwrap();
                true
            }
            None => false,
        });
        drop(s);
        let upgraded = upgrader.join().unwrap();
        if upgraded {
            assert_eq!(r.recv(), Ok(7));
        }
        assert_eq!(r.recv(), Err(RecvError));
    });
}
