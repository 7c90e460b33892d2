//! Unit tests of the zero flavor (`zero.rs`).

use super::*;
use crate::sync::Ordering;
use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::Arc as StdArc;
use std::thread;
use std::time::Duration;

const N: usize = if cfg!(miri) { 40 } else { 20_000 };

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn after(n: u64) -> Option<Instant> {
    Some(Instant::now() + ms(n))
}

struct DropCounter(StdArc<StdAtomicUsize>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Waits until some thread is registered on the given side.
fn until(mut condition: impl FnMut() -> bool) {
    while !condition() {
        thread::sleep(ms(1));
    }
}

fn sender_waiting<T>(chan: &Channel<T>) -> bool {
    chan.receiver().is_ready()
}

fn receiver_waiting<T>(chan: &Channel<T>) -> bool {
    chan.sender().is_ready()
}

#[test]
fn shape() {
    let chan = Channel::<i32>::new();
    assert_eq!(chan.len(), 0);
    assert_eq!(chan.capacity(), Some(0));
    assert!(chan.is_empty());
    assert!(chan.is_full());
    assert!(!chan.is_disconnected());
    assert!(!chan.sender().is_ready());
    assert!(!chan.receiver().is_ready());
    assert_eq!(chan.sender().deadline(), None);
    assert!(ZeroToken::default().0.is_null());
    assert!(format!("{:?}", ZeroToken::default()).starts_with("ZeroToken("));
}

#[test]
fn try_ops_need_a_partner() {
    let chan = Channel::new();
    assert_eq!(chan.try_send(1), Err(TrySendError::Full(1)));
    assert_eq!(chan.try_recv(), Err(TryRecvError::Empty));
    let mut token = Token::default();
    assert!(!chan.start_send(&mut token));
    assert!(!chan.start_recv(&mut token));
}

#[test]
fn disconnect_is_reported_once() {
    let chan = Channel::new();
    assert!(chan.disconnect());
    assert!(!chan.disconnect());
    assert!(chan.is_disconnected());
    assert_eq!(chan.try_send(1), Err(TrySendError::Disconnected(1)));
    assert_eq!(chan.send(2, None), Err(SendTimeoutError::Disconnected(2)));
    assert_eq!(chan.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(chan.recv(None), Err(RecvTimeoutError::Disconnected));
    assert!(chan.sender().is_ready());
    assert!(chan.receiver().is_ready());
    let mut token = Token::default();
    assert!(chan.start_send(&mut token));
    // SAFETY: reserved above on this channel.
    assert_eq!(unsafe { chan.write(&mut token, 3) }, Err(3));
    assert!(chan.start_recv(&mut token));
    // SAFETY: reserved above on this channel.
    assert_eq!(unsafe { chan.read(&mut token) }, Err(()));
}

#[test]
fn timeouts_give_the_message_back() {
    let chan = Channel::new();
    let start = Instant::now();
    assert_eq!(chan.send(7, after(20)), Err(SendTimeoutError::Timeout(7)));
    assert!(start.elapsed() >= ms(20));
    let start = Instant::now();
    assert_eq!(chan.recv(after(20)), Err(RecvTimeoutError::Timeout));
    assert!(start.elapsed() >= ms(20));
    // A deadline in the past fails at once.
    let past = Some(Instant::now());
    assert_eq!(chan.send(8, past), Err(SendTimeoutError::Timeout(8)));
    assert_eq!(chan.recv(past), Err(RecvTimeoutError::Timeout));
    // Nothing is left registered.
    assert!(!sender_waiting(&chan));
    assert!(!receiver_waiting(&chan));
}

#[test]
fn blocked_receiver_meets_sender() {
    let chan = Channel::new();
    thread::scope(|s| {
        let receiver = s.spawn(|| chan.recv(None));
        until(|| receiver_waiting(&chan));
        assert_eq!(chan.send(5, None), Ok(()));
        assert_eq!(receiver.join().unwrap(), Ok(5));

        let receiver = s.spawn(|| chan.recv(after(10_000)));
        until(|| receiver_waiting(&chan));
        assert_eq!(chan.try_send(6), Ok(()));
        assert_eq!(receiver.join().unwrap(), Ok(6));
    });
}

#[test]
fn blocked_sender_meets_receiver() {
    let chan = Channel::new();
    thread::scope(|s| {
        let sender = s.spawn(|| chan.send(String::from("a"), None));
        until(|| sender_waiting(&chan));
        assert_eq!(chan.recv(None).as_deref(), Ok("a"));
        assert_eq!(sender.join().unwrap(), Ok(()));

        let sender = s.spawn(|| chan.send(String::from("b"), after(10_000)));
        until(|| sender_waiting(&chan));
        assert_eq!(chan.try_recv().as_deref(), Ok("b"));
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
}

#[test]
fn disconnect_wakes_blocked_threads() {
    let chan = Channel::new();
    let receiver_chan = Channel::<i32>::new();
    thread::scope(|s| {
        let sender = s.spawn(|| chan.send(1, None));
        until(|| sender_waiting(&chan));
        let receiver = s.spawn(|| receiver_chan.recv(None));
        until(|| receiver_waiting(&receiver_chan));
        assert!(chan.disconnect());
        assert!(receiver_chan.disconnect());
        assert_eq!(
            sender.join().unwrap(),
            Err(SendTimeoutError::Disconnected(1))
        );
        assert_eq!(
            receiver.join().unwrap(),
            Err(RecvTimeoutError::Disconnected)
        );
    });
}

#[test]
fn many_threads_lose_nothing() {
    let chan = Channel::new();
    let threads = 3;
    let per_thread = N / threads;
    let received = StdAtomicUsize::new(0);
    let sum = StdAtomicUsize::new(0);
    thread::scope(|s| {
        for t in 0..threads {
            let chan = &chan;
            s.spawn(move || {
                for i in 0..per_thread {
                    chan.send(t * per_thread + i, None).unwrap();
                }
            });
        }
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    let value = chan.recv(None).unwrap();
                    sum.fetch_add(value, Ordering::Relaxed);
                    received.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let total = threads * per_thread;
    assert_eq!(received.load(Ordering::Relaxed), total);
    assert_eq!(sum.load(Ordering::Relaxed), total * (total - 1) / 2);
    assert!(!sender_waiting(&chan) && !receiver_waiting(&chan));
}

#[test]
fn racing_timeouts_and_try_ops_drop_everything_once() {
    let drops = StdArc::new(StdAtomicUsize::new(0));
    let created = StdAtomicUsize::new(0);
    let delivered = StdAtomicUsize::new(0);
    let chan = Channel::new();
    let rounds = N / 4;
    thread::scope(|s| {
        for id in 0..2 {
            let (chan, drops, created) = (&chan, &drops, &created);
            s.spawn(move || {
                for i in 0..rounds {
                    created.fetch_add(1, Ordering::Relaxed);
                    let msg = DropCounter(drops.clone());
                    let result = match (i + id) % 3 {
                        0 => chan.send(msg, None).map_err(|e| e.into_inner()),
                        1 => chan.send(msg, after(1)).map_err(|e| e.into_inner()),
                        _ => chan.try_send(msg).map_err(|e| e.into_inner()),
                    };
                    // A failed send gives the message back; drop it here.
                    drop(result);
                }
            });
        }
        for id in 0..2 {
            let (chan, delivered) = (&chan, &delivered);
            s.spawn(move || loop {
                let result = match id {
                    0 => chan.recv(after(1)).map_err(|e| e.is_disconnected()),
                    _ => chan.try_recv().map_err(|e| e.is_disconnected()),
                };
                match result {
                    Ok(msg) => {
                        delivered.fetch_add(1, Ordering::Relaxed);
                        drop(msg);
                    }
                    Err(true) => break,
                    Err(false) => thread::yield_now(),
                }
            });
        }
        // Blocking senders end only when a receiver took their message.
        // Disconnect once every sender is done.
        s.spawn(|| {
            until(|| created.load(Ordering::SeqCst) == 2 * rounds && !sender_waiting(&chan));
            thread::sleep(ms(20));
            chan.disconnect();
        });
    });
    assert_eq!(drops.load(Ordering::SeqCst), 2 * rounds);
    assert!(delivered.load(Ordering::SeqCst) >= rounds / 3);
}

/// The select protocol with a registered receiver (heap packet) that a
/// plain sender selects.
#[test]
fn select_receiver_is_fed_by_sender() {
    let drops = StdArc::new(StdAtomicUsize::new(0));
    let chan = Channel::new();
    thread::scope(|s| {
        Context::with(|cx| {
            let mut hook = 0u8;
            let oper = Operation::hook(&mut hook);
            let r = chan.receiver();
            assert!(!r.register(oper, cx));
            let counter = DropCounter(drops.clone());
            let chan = &chan;
            let sender = s.spawn(move || chan.send(counter, None).is_ok());
            assert_eq!(cx.wait_until(None), Selected::Operation(oper));
            r.unregister(oper); // already removed by the sender: no-op
            let mut token = Token::default();
            assert!(r.accept(&mut token, cx));
            // SAFETY: accepted on this channel.
            let msg = unsafe { chan.read(&mut token) }.ok().unwrap();
            assert!(sender.join().unwrap());
            assert_eq!(drops.load(Ordering::SeqCst), 0);
            drop(msg);
        });
    });
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

/// The select protocol with a registered sender (heap packet) that a
/// plain receiver selects; the sender writes after accepting.
#[test]
fn select_sender_feeds_receiver() {
    let chan = Channel::new();
    thread::scope(|s| {
        Context::with(|cx| {
            let mut hooks = [0u8; 2];
            let send_oper = Operation::hook(&mut hooks[0]);
            let recv_oper = Operation::hook(&mut hooks[1]);
            let (tx, rx) = (chan.sender(), chan.receiver());
            // Send and receive on the same channel in one select: they
            // must not pair with each other.
            assert!(!tx.register(send_oper, cx));
            assert!(!rx.register(recv_oper, cx));
            assert!(!tx.is_ready() && !rx.is_ready());
            assert_eq!(chan.try_send(vec![0]), Err(TrySendError::Full(vec![0])));
            assert_eq!(chan.try_recv(), Err(TryRecvError::Empty));

            let chan = &chan;
            let receiver = s.spawn(move || chan.recv(None));
            assert_eq!(cx.wait_until(None), Selected::Operation(send_oper));
            rx.unregister(recv_oper); // frees the unselected heap packet
            tx.unregister(send_oper);
            let mut token = Token::default();
            assert!(tx.accept(&mut token, cx));
            // SAFETY: accepted on this channel.
            assert_eq!(unsafe { chan.write(&mut token, vec![1, 2, 3]) }, Ok(()));
            assert_eq!(receiver.join().unwrap(), Ok(vec![1, 2, 3]));
        });
    });
}

/// An active select operation (`start_send`/`start_recv`) pairing with
/// blocked threads and with registered select operations.
#[test]
fn start_and_complete_against_waiters() {
    let chan = Channel::new();
    thread::scope(|s| {
        // Blocked receiver (stack packet).
        let receiver = s.spawn(|| chan.recv(None));
        until(|| receiver_waiting(&chan));
        let mut token = Token::default();
        assert!(chan.start_send(&mut token));
        // SAFETY: reserved on this channel.
        assert_eq!(unsafe { chan.write(&mut token, 10) }, Ok(()));
        assert_eq!(receiver.join().unwrap(), Ok(10));

        // Blocked sender (stack packet).
        let sender = s.spawn(|| chan.send(11, None));
        until(|| sender_waiting(&chan));
        assert!(chan.start_recv(&mut token));
        // SAFETY: reserved on this channel.
        assert_eq!(unsafe { chan.read(&mut token) }, Ok(11));
        assert_eq!(sender.join().unwrap(), Ok(()));

        // Registered select receiver (heap packet).
        let select_receiver = s.spawn(|| {
            Context::with(|cx| {
                let mut hook = 0u8;
                let oper = Operation::hook(&mut hook);
                let r = chan.receiver();
                if r.register(oper, cx) {
                    let _ = cx.try_select(Selected::Aborted);
                }
                assert_eq!(cx.wait_until(None), Selected::Operation(oper));
                let mut token = Token::default();
                assert!(r.accept(&mut token, cx));
                // SAFETY: accepted on this channel.
                unsafe { chan.read(&mut token) }
            })
        });
        until(|| receiver_waiting(&chan));
        assert!(chan.start_send(&mut token));
        // SAFETY: reserved on this channel.
        assert_eq!(unsafe { chan.write(&mut token, 12) }, Ok(()));
        assert_eq!(select_receiver.join().unwrap(), Ok(12));

        // Registered select sender (heap packet), read by `start_recv`.
        let select_sender = s.spawn(|| {
            Context::with(|cx| {
                let mut hook = 0u8;
                let oper = Operation::hook(&mut hook);
                let tx = chan.sender();
                if tx.register(oper, cx) {
                    let _ = cx.try_select(Selected::Aborted);
                }
                assert_eq!(cx.wait_until(None), Selected::Operation(oper));
                let mut token = Token::default();
                assert!(tx.accept(&mut token, cx));
                // SAFETY: accepted on this channel.
                unsafe { chan.write(&mut token, 13) }
            })
        });
        until(|| sender_waiting(&chan));
        assert!(chan.start_recv(&mut token));
        // SAFETY: reserved on this channel.
        assert_eq!(unsafe { chan.read(&mut token) }, Ok(13));
        assert_eq!(select_sender.join().unwrap(), Ok(()));
    });
}

/// Registrations that are never selected free their packets, including
/// after a disconnect.
#[test]
fn unselected_registrations_are_freed() {
    let chan = Channel::<String>::new();
    Context::with(|cx| {
        let mut hooks = [0u8; 2];
        let a = Operation::hook(&mut hooks[0]);
        let b = Operation::hook(&mut hooks[1]);
        assert!(!chan.sender().register(a, cx));
        assert!(!chan.receiver().register(b, cx));
        assert!(chan.disconnect());
        assert_eq!(cx.selected(), Selected::Disconnected);
        chan.sender().unregister(a);
        chan.receiver().unregister(b);
        // Registering on a disconnected channel reports readiness.
        assert!(chan.receiver().register(b, cx));
        chan.receiver().unregister(b);
    });
}

#[test]
fn observers_see_a_waiting_partner() {
    let chan = Channel::new();
    thread::scope(|s| {
        Context::with(|cx| {
            let mut hook = 0u8;
            let oper = Operation::hook(&mut hook);
            let r = chan.receiver();
            assert!(!r.watch(oper, cx));
            let chan = &chan;
            let sender = s.spawn(move || chan.send(3, None));
            assert_eq!(cx.wait_until(None), Selected::Operation(oper));
            r.unwatch(oper);
            assert!(r.is_ready());
            assert_eq!(chan.try_recv(), Ok(3));
            assert_eq!(sender.join().unwrap(), Ok(()));
        });
    });
}

/// Runs `f` as a select operation registered on `handle` in another
/// thread: register, wait to be selected, accept, then `f` completes
/// (or cancels) the reservation.
fn spawn_select<'scope, H, R>(
    s: &'scope thread::Scope<'scope, '_>,
    handle: H,
    f: impl FnOnce(&mut Token) -> R + Send + 'scope,
) -> thread::ScopedJoinHandle<'scope, R>
where
    H: SelectHandle + Send + 'scope,
    R: Send + 'scope,
{
    s.spawn(move || {
        Context::with(|cx| {
            let mut hook = 0u8;
            let oper = Operation::hook(&mut hook);
            assert!(!handle.register(oper, cx));
            assert_eq!(cx.wait_until(None), Selected::Operation(oper));
            let mut token = Token::default();
            assert!(handle.accept(&mut token, cx));
            f(&mut token)
        })
    })
}

#[test]
fn cancelled_reservations_let_blocked_threads_retry() {
    let drops = StdArc::new(StdAtomicUsize::new(0));
    let chan = Channel::new();
    thread::scope(|s| {
        // A blocked receiver whose sender gives up waits for the next.
        let receiver = s.spawn(|| chan.recv(None).map(|msg: DropCounter| drop(msg)));
        until(|| receiver_waiting(&chan));
        let mut token = Token::default();
        assert!(chan.start_send(&mut token));
        // SAFETY: reserved on this channel.
        unsafe { chan.cancel_send(&mut token) };
        until(|| receiver_waiting(&chan));
        assert!(chan.send(DropCounter(drops.clone()), None).is_ok());
        assert_eq!(receiver.join().unwrap(), Ok(()));
        assert_eq!(drops.load(Ordering::SeqCst), 1);

        // A blocked sender whose receiver gives up keeps its message.
        let counter = DropCounter(drops.clone());
        let sender = s.spawn(|| chan.send(counter, None).is_ok());
        until(|| sender_waiting(&chan));
        assert!(chan.start_recv(&mut token));
        // SAFETY: reserved on this channel.
        unsafe { chan.cancel_recv(&mut token) };
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        until(|| sender_waiting(&chan));
        drop(chan.recv(None).ok().unwrap());
        assert!(sender.join().unwrap());
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn cancelled_select_senders_and_receivers() {
    let drops = StdArc::new(StdAtomicUsize::new(0));
    let chan = Channel::<DropCounter>::new();
    thread::scope(|s| {
        let chan = &chan;
        // A select sender selected by a blocking receive cancels: the
        // receiver takes the next message instead.
        // SAFETY: accepted on this channel.
        let select_sender = spawn_select(s, chan.sender(), move |token| unsafe {
            chan.cancel_send(token)
        });
        until(|| sender_waiting(chan));
        let receiver = s.spawn(move || chan.recv(None).is_ok());
        select_sender.join().unwrap();
        until(|| receiver_waiting(chan));
        chan.send(DropCounter(drops.clone()), None).ok().unwrap();
        assert!(receiver.join().unwrap());
        assert_eq!(drops.load(Ordering::SeqCst), 1);

        // A select receiver fed by a sender then cancelled drops the
        // message (the send had already succeeded).
        // SAFETY: accepted on this channel.
        let select_receiver = spawn_select(s, chan.receiver(), move |token| unsafe {
            chan.cancel_recv(token)
        });
        until(|| receiver_waiting(chan));
        chan.send(DropCounter(drops.clone()), None).ok().unwrap();
        select_receiver.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 2);

        // A select receiver whose (active) sender cancels falls back to
        // a plain receive.
        // SAFETY: accepted on this channel.
        let select_receiver = spawn_select(s, chan.receiver(), move |token| unsafe {
            chan.read(token).is_ok()
        });
        until(|| receiver_waiting(chan));
        let mut token = Token::default();
        assert!(chan.start_send(&mut token));
        // SAFETY: reserved on this channel.
        unsafe { chan.cancel_send(&mut token) };
        until(|| receiver_waiting(chan));
        chan.send(DropCounter(drops.clone()), None).ok().unwrap();
        assert!(select_receiver.join().unwrap());
        assert_eq!(drops.load(Ordering::SeqCst), 3);

        // Both sides of a select-to-select pairing give up: the packet
        // is freed once.
        // SAFETY: accepted on this channel.
        let select_sender = spawn_select(s, chan.sender(), move |token| unsafe {
            chan.cancel_send(token)
        });
        until(|| sender_waiting(chan));
        assert!(chan.start_recv(&mut token));
        // SAFETY: reserved on this channel.
        unsafe { chan.cancel_recv(&mut token) };
        select_sender.join().unwrap();

        // The active receiver gives up after the select sender wrote:
        // the message is dropped once.
        let counter = DropCounter(drops.clone());
        // SAFETY: accepted on this channel.
        let select_sender = spawn_select(s, chan.sender(), move |token| unsafe {
            chan.write(token, counter).is_ok()
        });
        until(|| sender_waiting(chan));
        assert!(chan.start_recv(&mut token));
        assert!(select_sender.join().unwrap());
        assert_eq!(drops.load(Ordering::SeqCst), 3);
        // SAFETY: reserved on this channel.
        unsafe { chan.cancel_recv(&mut token) };
        assert_eq!(drops.load(Ordering::SeqCst), 4);
    });
    assert!(!sender_waiting(&chan) && !receiver_waiting(&chan));
}
