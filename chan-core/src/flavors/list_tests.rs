//! Unit tests of the list flavor (`list.rs`).

use super::*;
use crate::batch::Staged;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::Arc as StdArc;
use std::thread;
use std::time::Duration;

/// Scales iteration counts down under miri.
const fn scaled(n: usize) -> usize {
    if cfg!(miri) {
        n / 50 + 40
    } else {
        n
    }
}

/// Counts its drops; optionally panics when dropped.
struct Tracked {
    drops: StdArc<StdAtomicUsize>,
    panic_on_drop: bool,
}

impl Tracked {
    fn new(drops: &StdArc<StdAtomicUsize>) -> Self {
        Tracked {
            drops: drops.clone(),
            panic_on_drop: false,
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panic_on_drop {
            panic!("drop of a message panicked");
        }
    }
}

fn spares<T>(chan: &Channel<T>) -> usize {
    chan.spare
        .iter()
        .filter(|spare| !spare.load(Ordering::SeqCst).is_null())
        .count()
}

/// True if every flag and link of `block` is as a new block's.
fn is_empty_block<T>(block: &Block<T>) -> bool {
    block.next.load(Ordering::SeqCst).is_null()
        && block.next_deferred.load(Ordering::SeqCst).is_null()
        && block.groups.iter().all(|group| {
            group
                .written
                .iter()
                .all(|written| !written.load(Ordering::SeqCst))
        })
        && block
            .read
            .iter()
            .all(|read| read.load(Ordering::SeqCst) == 0)
}

fn live_blocks<T>(chan: &Channel<T>) -> usize {
    chan.stats.allocated.load(Ordering::SeqCst) - chan.stats.freed.load(Ordering::SeqCst)
}

#[test]
fn a_token_stored_in_one_piece_keeps_its_block_and_offset() {
    let block = Block::<u64>::alloc();
    let mut token = ListToken::default();
    assert!(token.claim::<u64>().block.is_null());
    token.store(ListToken::new(HeadClaim {
        block,
        offset: BLOCK_CAP - 2,
    }));
    let claim = token.claim::<u64>();
    assert_eq!((claim.block, claim.offset), (block, BLOCK_CAP - 2));
    // The pointer read back is usable: its provenance survived the store.
    // SAFETY: `block` is live and nobody else has it.
    let (_, written) = unsafe { &*claim.block }.slot(claim.offset);
    assert!(!written.load(Ordering::Relaxed));
    // SAFETY: allocated by `Block::alloc` above, freed once.
    unsafe { Block::free(block) };
}

#[test]
fn fifo_order_and_len_across_blocks() {
    let chan = Channel::new();
    assert!(chan.is_empty());
    assert_eq!(chan.len(), 0);
    assert_eq!(chan.capacity(), None);
    assert!(!chan.is_full());
    assert_eq!(chan.try_recv(), Err(TryRecvError::Empty));
    let n = 200;
    for i in 0..n {
        chan.try_send(i).unwrap();
        assert_eq!(chan.len(), i + 1);
    }
    assert!(!chan.is_empty());
    for i in 0..n {
        assert_eq!(chan.try_recv(), Ok(i));
        assert_eq!(chan.len(), n - i - 1);
    }
    assert!(chan.is_empty());
    assert_eq!(chan.try_recv(), Err(TryRecvError::Empty));
    assert!(!chan.is_disconnected());
}

#[test]
fn len_matches_a_model_when_interleaved() {
    let chan = Channel::new();
    let mut model = std::collections::VecDeque::new();
    let mut next = 0u32;
    // A deterministic mix that crosses many block boundaries from both
    // ends at different phases.
    for step in 0..scaled(3000) {
        let sends = (step * 7 + 3) % 5;
        let recvs = (step * 3 + 1) % 5;
        for _ in 0..sends {
            chan.send(next, None).unwrap();
            model.push_back(next);
            next += 1;
        }
        for _ in 0..recvs {
            assert_eq!(chan.try_recv().ok(), model.pop_front());
        }
        assert_eq!(chan.len(), model.len());
        assert_eq!(chan.is_empty(), model.is_empty());
    }
}

#[test]
fn disconnect_senders_drains_then_fails() {
    let chan = Channel::new();
    for i in 0..40 {
        chan.try_send(i).unwrap();
    }
    assert!(chan.disconnect_senders());
    assert!(!chan.disconnect_senders());
    assert!(chan.is_disconnected());
    assert_eq!(chan.try_send(99), Err(TrySendError::Disconnected(99)));
    assert_eq!(chan.send(98, None), Err(SendTimeoutError::Disconnected(98)));
    for i in 0..40 {
        assert_eq!(chan.recv(None), Ok(i));
    }
    assert_eq!(chan.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(chan.recv(None), Err(RecvTimeoutError::Disconnected));
    let past = Instant::now();
    assert_eq!(chan.recv(Some(past)), Err(RecvTimeoutError::Disconnected));
}

#[test]
fn recv_returns_available_message_after_deadline() {
    let chan = Channel::new();
    chan.try_send(5).unwrap();
    let past = Instant::now() - Duration::from_millis(1);
    assert_eq!(chan.recv(Some(past)), Ok(5));
    assert_eq!(chan.recv(Some(past)), Err(RecvTimeoutError::Timeout));
}

#[test]
fn disconnect_receivers_drops_messages_at_once() {
    let drops = StdArc::new(StdAtomicUsize::new(0));
    let chan = Channel::new();
    for _ in 0..100 {
        chan.try_send(Tracked::new(&drops)).unwrap();
    }
    // Leave a partially read block at the head.
    for _ in 0..10 {
        drop(chan.try_recv().unwrap());
    }
    assert_eq!(drops.load(Ordering::SeqCst), 10);
    assert!(chan.disconnect_receivers());
    assert_eq!(drops.load(Ordering::SeqCst), 100);
    assert_eq!(live_blocks(&chan), 0);
    assert_eq!(chan.len(), 0);
    match chan.try_send(Tracked::new(&drops)) {
        Err(TrySendError::Disconnected(msg)) => drop(msg),
        _ => panic!("send on a disconnected channel succeeded"),
    }
    assert_eq!(drops.load(Ordering::SeqCst), 101);
    assert!(!chan.disconnect_senders());
    drop(chan);
    assert_eq!(drops.load(Ordering::SeqCst), 101);
}

#[test]
fn drop_drops_each_message_once_and_frees_blocks() {
    for &(sent, received) in &[
        (0, 0),
        (1, 0),
        (BLOCK_CAP - 1, 0),
        (BLOCK_CAP, 0),
        (BLOCK_CAP + 1, 0),
        (BLOCK_CAP, BLOCK_CAP),
        (2 * BLOCK_CAP, BLOCK_CAP),
        (2 * BLOCK_CAP, BLOCK_CAP - 1),
        (100, 45),
        (100, 100),
        (3 * BLOCK_CAP + 5, 2 * BLOCK_CAP + 1),
    ] {
        let drops = StdArc::new(StdAtomicUsize::new(0));
        let chan = Channel::new();
        for _ in 0..sent {
            chan.try_send(Tracked::new(&drops)).unwrap();
        }
        for _ in 0..received {
            drop(chan.try_recv().unwrap());
        }
        assert_eq!(drops.load(Ordering::SeqCst), received);
        let stats = chan.stats.clone();
        drop(chan);
        let allocated = stats.allocated.load(Ordering::SeqCst);
        let freed = stats.freed.load(Ordering::SeqCst);
        assert_eq!(drops.load(Ordering::SeqCst), sent, "{sent}/{received}");
        assert_eq!(allocated, freed, "{sent}/{received}: a block leaked");
    }
}

#[test]
fn steady_traffic_reuses_the_spare_block() {
    let chan = Channel::new();
    let mut next = 0usize;
    let mut expected = 0usize;
    for _ in 0..scaled(500) {
        for _ in 0..20 {
            chan.try_send(next).unwrap();
            next += 1;
        }
        for _ in 0..20 {
            assert_eq!(chan.try_recv(), Ok(expected));
            expected += 1;
        }
    }
    // The queue never spans more than two blocks, plus a spare.
    assert!(chan.stats.allocated.load(Ordering::SeqCst) <= 3);
}

#[test]
fn a_block_still_being_read_is_released_by_a_later_release() {
    let chan = Channel::new();
    for i in 0..2 * BLOCK_CAP {
        chan.try_send(i).unwrap();
    }
    // A receiver claims the first slot and is slow to read it.
    let mut slow = ListToken::default();
    assert!(chan.reserve_recv(&mut slow));
    // The rest of the first block is received, its last slot included:
    // the block cannot be released while the slow read is pending.
    for i in 1..BLOCK_CAP {
        assert_eq!(chan.try_recv(), Ok(i));
    }
    assert!(!chan.deferred.load(Ordering::SeqCst).is_null());
    assert_eq!(spares(&chan), 0);
    assert_eq!(chan.stats.freed.load(Ordering::SeqCst), 0);
    // SAFETY: `slow` holds a claim made on this channel, not completed.
    assert_eq!(unsafe { chan.read_reserved(&mut slow) }, Ok(0));
    // Nobody has released anything since: still deferred.
    assert!(!chan.deferred.load(Ordering::SeqCst).is_null());
    // The release of the second block retries the first one.
    for i in BLOCK_CAP..2 * BLOCK_CAP {
        assert_eq!(chan.try_recv(), Ok(i));
    }
    assert!(chan.deferred.load(Ordering::SeqCst).is_null());
    // Both blocks became spares; none was freed.
    assert_eq!(spares(&chan), 2);
    assert_eq!(chan.stats.freed.load(Ordering::SeqCst), 0);
    // Every flag and link of theirs was set (the first went through the
    // deferred stack), and each comes back as a new block's.
    for spare in &chan.spare {
        let block = spare.load(Ordering::SeqCst);
        if !block.is_null() {
            // SAFETY: a spare block stays allocated while the channel lives.
            assert!(is_empty_block(unsafe { &*block }));
        }
    }
    for i in 0..2 * BLOCK_CAP {
        chan.try_send(i).unwrap();
        assert_eq!(chan.try_recv(), Ok(i));
    }
    assert_eq!(chan.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn a_never_completed_receive_leaves_its_block_to_drop() {
    let chan = Channel::new();
    let stats = chan.stats.clone();
    for i in 0..BLOCK_CAP + 1 {
        chan.try_send(i).unwrap();
    }
    // A receive is reserved and never completed (a leaked select).
    let mut leaked = ListToken::default();
    assert!(chan.reserve_recv(&mut leaked));
    for i in 1..BLOCK_CAP + 1 {
        assert_eq!(chan.try_recv(), Ok(i));
    }
    assert!(!chan.deferred.load(Ordering::SeqCst).is_null());
    // The last receiver's going retries it, but its read never ends.
    assert!(chan.disconnect_receivers());
    assert!(!chan.deferred.load(Ordering::SeqCst).is_null());
    drop(chan);
    assert_eq!(
        stats.allocated.load(Ordering::SeqCst),
        stats.freed.load(Ordering::SeqCst)
    );
}

#[test]
fn memory_returns_after_a_burst() {
    let chan = Channel::new();
    let n = scaled(10_000);
    for i in 0..n {
        chan.try_send(i).unwrap();
    }
    assert!(live_blocks(&chan) >= n / BLOCK_CAP);
    for i in 0..n {
        assert_eq!(chan.try_recv(), Ok(i));
    }
    // The head block plus at most `SPARES` spares remain.
    assert!(
        live_blocks(&chan) <= 1 + SPARES,
        "{} blocks live",
        live_blocks(&chan)
    );
}

#[test]
fn zero_sized_messages() {
    let chan = Channel::new();
    for _ in 0..100 {
        chan.try_send(()).unwrap();
    }
    assert_eq!(chan.len(), 100);
    for _ in 0..100 {
        assert_eq!(chan.try_recv(), Ok(()));
    }
    assert_eq!(chan.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn large_messages_do_not_overflow_the_stack() {
    // A block of `BLOCK_CAP` such messages would not fit on this stack (the
    // room the facade's tests give; debug builds keep several copies of
    // a message in the frames of one send or receive).
    const BIG: usize = if cfg!(miri) { 1 << 12 } else { 1 << 20 };
    // Separate frames, so that the test's own temporaries do not add up.
    #[inline(never)]
    fn send(chan: &Channel<[u8; BIG]>, i: u8) {
        assert!(chan.send([i; BIG], None).is_ok());
    }
    #[inline(never)]
    fn try_recv(chan: &Channel<[u8; BIG]>) -> u8 {
        match chan.try_recv() {
            Ok(msg) => msg[BIG - 1],
            Err(_) => panic!("empty"),
        }
    }
    #[inline(never)]
    fn recv(chan: &Channel<[u8; BIG]>) -> u8 {
        match chan.recv(None) {
            Ok(msg) => msg[0],
            Err(_) => panic!("disconnected"),
        }
    }
    thread::Builder::new()
        .stack_size(16 * BIG)
        .spawn(|| {
            let chan = Channel::new();
            for i in 0..3u8 {
                send(&chan, i);
            }
            assert_eq!(try_recv(&chan), 0);
            assert_eq!(recv(&chan), 1);
            // The third is dropped with the channel.
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn recv_times_out() {
    let chan = Channel::<i32>::new();
    let start = Instant::now();
    let timeout = Duration::from_millis(20);
    assert_eq!(
        chan.recv(Some(start + timeout)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(start.elapsed() >= timeout);
}

#[test]
fn blocked_receiver_is_woken_by_send_and_by_disconnect() {
    let chan = Channel::new();
    thread::scope(|s| {
        let receiver = s.spawn(|| (chan.recv(None), chan.recv(None)));
        thread::sleep(Duration::from_millis(20));
        chan.send(1, None).unwrap();
        thread::sleep(Duration::from_millis(20));
        chan.disconnect_senders();
        assert_eq!(
            receiver.join().unwrap(),
            (Ok(1), Err(RecvTimeoutError::Disconnected))
        );
    });
}

#[test]
fn mpmc_delivers_every_message_exactly_once() {
    const SENDERS: usize = 4;
    const RECEIVERS: usize = 4;
    // Under Miri, 600 messages: still more than two blocks.
    let per_sender = if cfg!(miri) { 150 } else { 20_000 };
    let chan = Channel::new();
    let sent = StdAtomicUsize::new(0);
    let received = thread::scope(|s| {
        let receivers: Vec<_> = (0..RECEIVERS)
            .map(|_| {
                s.spawn(|| {
                    let mut got = Vec::new();
                    while let Ok(v) = chan.recv(None) {
                        got.push(v);
                    }
                    got
                })
            })
            .collect();
        let senders: Vec<_> = (0..SENDERS)
            .map(|id| {
                let chan = &chan;
                let sent = &sent;
                s.spawn(move || {
                    for i in 0..per_sender {
                        chan.send(id * per_sender + i, None).unwrap();
                    }
                    if sent.fetch_add(1, Ordering::SeqCst) + 1 == SENDERS {
                        chan.disconnect_senders();
                    }
                })
            })
            .collect();
        for sender in senders {
            sender.join().unwrap();
        }
        receivers
            .into_iter()
            .map(|r| r.join().unwrap())
            .collect::<Vec<_>>()
    });
    // Each receiver sees each sender's messages in order.
    for got in &received {
        let mut last = [None; SENDERS];
        for &v in got {
            let id = v / per_sender;
            if let Some(l) = last[id] {
                assert!(l < v);
            }
            last[id] = Some(v);
        }
    }
    let mut all: Vec<usize> = received.into_iter().flatten().collect();
    all.sort_unstable();
    assert_eq!(all, (0..SENDERS * per_sender).collect::<Vec<_>>());
    // A block whose release was deferred (a receiver was still reading
    // it) is released by the next retry, once its readers are done.
    chan.retry_deferred();
    assert!(chan.deferred.load(Ordering::SeqCst).is_null());
    assert!(live_blocks(&chan) <= 1 + SPARES);
}

#[test]
fn receivers_disconnecting_during_sends_drop_everything_once() {
    let drops = StdArc::new(StdAtomicUsize::new(0));
    let created = StdAtomicUsize::new(0);
    let chan = Channel::new();
    thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| loop {
                created.fetch_add(1, Ordering::SeqCst);
                if let Err(TrySendError::Disconnected(msg)) = chan.try_send(Tracked::new(&drops)) {
                    drop(msg);
                    break;
                }
            });
        }
        for _ in 0..scaled(2000) {
            while chan.try_recv().is_err() {
                thread::yield_now();
            }
        }
        chan.disconnect_receivers();
    });
    drop(chan);
    assert_eq!(drops.load(Ordering::SeqCst), created.load(Ordering::SeqCst));
}

#[test]
fn senders_and_receivers_disconnecting_concurrently() {
    for _ in 0..scaled(200) {
        let drops = StdArc::new(StdAtomicUsize::new(0));
        let chan = Channel::new();
        for _ in 0..40 {
            chan.try_send(Tracked::new(&drops)).unwrap();
        }
        thread::scope(|s| {
            s.spawn(|| chan.disconnect_senders());
            s.spawn(|| chan.disconnect_receivers());
        });
        drop(chan);
        assert_eq!(drops.load(Ordering::SeqCst), 40);
    }
}

/// Counts its drops in a borrowed counter (so a leaked one owns no
/// memory); if armed, its drop panics, even while unwinding.
struct Bomb<'a> {
    drops: &'a StdAtomicUsize,
    armed: bool,
}

impl Drop for Bomb<'_> {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.armed {
            panic!("drop of a message panicked");
        }
    }
}

#[test]
fn panicking_drop_leaks_the_rest_and_frees_blocks() {
    // Discarded by the last receiver: the first panic propagates, and
    // the messages after it (a second bomb among them) are never
    // dropped, not even by `Drop`.
    let drops = StdAtomicUsize::new(0);
    let chan = Channel::new();
    for i in 0..70 {
        let armed = i == 35 || i == 36;
        assert!(chan
            .try_send(Bomb {
                drops: &drops,
                armed
            })
            .is_ok());
    }
    let result = panic::catch_unwind(AssertUnwindSafe(|| chan.disconnect_receivers()));
    assert!(result.is_err());
    assert_eq!(drops.load(Ordering::SeqCst), 36);
    assert_eq!(live_blocks(&chan), 0);
    assert!(chan.is_empty());
    drop(chan);
    assert_eq!(drops.load(Ordering::SeqCst), 36);

    // The same when the channel itself is dropped, every message from
    // the fourth on armed, over several blocks.
    let drops = StdAtomicUsize::new(0);
    let chan = Channel::new();
    for i in 0..2 * BLOCK_CAP + 10 {
        assert!(chan
            .try_send(Bomb {
                drops: &drops,
                armed: i >= 3
            })
            .is_ok());
    }
    let stats = chan.stats.clone();
    let result = panic::catch_unwind(AssertUnwindSafe(move || drop(chan)));
    assert!(result.is_err());
    assert_eq!(drops.load(Ordering::SeqCst), 4);
    assert_eq!(
        stats.allocated.load(Ordering::SeqCst),
        stats.freed.load(Ordering::SeqCst)
    );
}

#[test]
fn select_handles_reserve_and_complete() {
    let chan = Channel::new();
    let (rx, tx) = (chan.receiver(), chan.sender());
    assert!(!rx.is_ready());
    assert!(tx.is_ready());
    assert_eq!(rx.deadline(), None);
    assert_eq!(tx.deadline(), None);
    let mut token = Token::default();
    assert!(!rx.try_select(&mut token));
    assert!(tx.try_select(&mut token));
    // SAFETY: reserved just above on this channel.
    unsafe { chan.write(&mut token, 1) }.unwrap();
    assert!(rx.is_ready());
    let mut token = Token::default();
    assert!(rx.try_select(&mut token));
    // SAFETY: reserved just above on this channel.
    assert_eq!(unsafe { chan.read(&mut token) }, Ok(1));

    // A send selected before the disconnection fails to complete after.
    let mut token = Token::default();
    assert!(tx.accept(&mut token, &Context::for_current_thread()));
    chan.disconnect_receivers();
    // SAFETY: reserved just above on this channel.
    assert_eq!(unsafe { chan.write(&mut token, 2) }, Err(2));
    assert!(rx.is_ready());
    let mut token = Token::default();
    assert!(rx.try_select(&mut token));
    // SAFETY: reserved just above on this channel.
    assert_eq!(unsafe { chan.read(&mut token) }, Err(()));
}

#[test]
fn cancelled_reservations_release_cleanly() {
    let drops = StdArc::new(StdAtomicUsize::new(0));
    let chan = Channel::new();
    // A cancelled send leaves no hole: the next message is received.
    let mut token = Token::default();
    assert!(chan.sender().try_select(&mut token));
    // SAFETY: reserved just above on this channel.
    unsafe { chan.cancel_send(&mut token) };
    for _ in 0..2 * BLOCK_CAP {
        chan.try_send(Tracked::new(&drops)).unwrap();
    }
    // Cancel every receive: each message is dropped once and the
    // drained blocks are released (only the head block and the spares
    // stay).
    for i in 0..2 * BLOCK_CAP {
        let mut token = Token::default();
        assert!(chan.receiver().try_select(&mut token));
        // SAFETY: reserved just above on this channel.
        unsafe { chan.cancel_recv(&mut token) };
        assert_eq!(drops.load(Ordering::SeqCst), i + 1);
    }
    assert!(chan.is_empty());
    assert!(live_blocks(&chan) <= 1 + SPARES);
    chan.try_send(Tracked::new(&drops)).unwrap();
    assert!(chan.try_recv().is_ok());
    // A cancelled receive on a disconnected channel is a no-op.
    chan.disconnect_senders();
    let mut token = Token::default();
    assert!(chan.receiver().try_select(&mut token));
    // SAFETY: reserved just above on this channel.
    unsafe { chan.cancel_recv(&mut token) };
    assert_eq!(drops.load(Ordering::SeqCst), 2 * BLOCK_CAP + 1);
}

#[test]
fn registered_receiver_is_selected_by_a_send() {
    let chan = Channel::new();
    let rx = chan.receiver();
    let mut hook = 0u8;
    let oper = Operation::hook(&mut hook);
    Context::with(|cx| {
        assert!(!rx.register(oper, cx));
        thread::scope(|s| {
            s.spawn(|| chan.send(7, None).unwrap());
        });
        assert_eq!(cx.selected(), Selected::Operation(oper));
        rx.unregister(oper);
    });
    let mut token = Token::default();
    assert!(rx.accept(&mut token, &Context::for_current_thread()));
    // SAFETY: reserved just above on this channel.
    assert_eq!(unsafe { chan.read(&mut token) }, Ok(7));

    // Observers learn about readiness too.
    let mut hook = 0u8;
    let oper = Operation::hook(&mut hook);
    Context::with(|cx| {
        assert!(!rx.watch(oper, cx));
        chan.send(8, None).unwrap();
        assert_eq!(cx.selected(), Selected::Operation(oper));
        rx.unwatch(oper);
        assert!(rx.watch(oper, cx));
        rx.unwatch(oper);
    });
}

#[test]
fn batches_cross_block_boundaries_in_order() {
    let chan = Channel::new();
    let total = scaled(3 * BLOCK_CAP + 17) as u64;
    let mut next = 0u64;
    let mut received = Vec::new();
    let mut size = 1usize;
    while next < total {
        let end = (next + size as u64).min(total);
        let mut batch = Staged::of(next..end);
        while !batch.is_empty() {
            // A batch stops before a block's last slot; the single send
            // takes that one and installs the next block.
            if chan.send_batch(&mut batch).unwrap() == 0 {
                chan.try_send(batch.pop_front().unwrap()).unwrap();
            }
        }
        next = end;
        let limit = size / 2 + 1;
        if chan.recv_batch(&mut received, limit).taken == 0 {
            if let Ok(msg) = chan.try_recv() {
                received.push(msg);
            }
        }
        size = size % 97 + 13;
    }
    loop {
        if chan.recv_batch(&mut received, 64).taken == 0 {
            match chan.try_recv() {
                Ok(msg) => received.push(msg),
                Err(_) => break,
            }
        }
    }
    assert_eq!(received, (0..total).collect::<Vec<_>>());
    assert!(live_blocks(&chan) <= 1 + SPARES);
}

#[test]
fn a_batch_on_an_empty_channel_is_at_the_end() {
    let chan = Channel::new();
    let mut received = Vec::new();
    assert_eq!(
        chan.recv_batch(&mut received, 8),
        RecvRun::LOST,
        "no block yet"
    );
    chan.try_send(1).unwrap();
    assert_eq!(chan.try_recv(), Ok(1));
    let run = chan.recv_batch(&mut received, 8);
    assert_eq!((run.taken, run.at_end), (0, true));
    assert!(received.is_empty());
}

#[test]
fn a_batch_takes_the_newest_slot_only_once_it_is_written() {
    let chan = Channel::<usize>::new();
    for i in 0..3 {
        chan.try_send(i).unwrap();
    }
    // A fourth send has claimed its slot and not written it yet.
    let (block, offset) = chan.claim_slot().unwrap();
    let mut received = Vec::new();
    let run = chan.recv_batch(&mut received, 10);
    assert_eq!(
        (run.taken, run.at_end),
        (3, true),
        "the unwritten slot is left"
    );
    assert_eq!(received, [0, 1, 2]);
    // SAFETY: the slot claimed above, ours until its flag is set; its
    // block is live (the slot is unread).
    unsafe {
        let (cell, written) = (*block).slot(offset);
        cell.with_mut(|cell| cell).cast::<usize>().write(3);
        written.store(true, Ordering::Release);
    }
    chan.try_send(4).unwrap();
    // Both written now: the newest is taken by the second claim.
    let run = chan.recv_batch(&mut received, 10);
    assert_eq!((run.taken, run.at_end), (2, true));
    assert_eq!(received, [0, 1, 2, 3, 4]);
    // A lone newest slot is the single receive's, which the caller is
    // told to go on to.
    chan.try_send(5).unwrap();
    assert_eq!(chan.recv_batch(&mut received, 10), RecvRun::LOST);
    assert_eq!(chan.try_recv(), Ok(5));
}

#[test]
fn a_batch_never_claims_a_block_last_slot_nor_past_the_tail() {
    let chan = Channel::new();
    let mut batch = Staged::of(0..BLOCK_CAP + 1);
    // The first send installs the first block.
    chan.try_send(batch.pop_front().unwrap()).unwrap();
    assert_eq!(chan.send_batch(&mut batch), Ok(BLOCK_CAP - 2));
    assert_eq!(chan.send_batch(&mut batch), Ok(0));
    let mut received = Vec::new();
    // A limit below what is there: not at the end.
    let run = chan.recv_batch(&mut received, 3);
    assert_eq!((run.taken, run.at_end), (3, false));
    // Every slot up to the tail, and it says it reached the tail.
    let run = chan.recv_batch(&mut received, usize::MAX);
    assert_eq!((run.taken, run.at_end), (BLOCK_CAP - 4, true));
    // The block's last slot is left to the single path, and a batch there
    // says nothing about the end.
    chan.try_send(batch.pop_front().unwrap()).unwrap();
    assert_eq!(chan.recv_batch(&mut received, usize::MAX), RecvRun::LOST);
    assert_eq!(chan.try_recv(), Ok(BLOCK_CAP - 1));
    assert_eq!(received, (0..BLOCK_CAP - 1).collect::<Vec<_>>());
}

#[test]
fn close_keeps_messages_and_the_last_receiver_drops_them() {
    let drops = StdArc::new(StdAtomicUsize::new(0));
    let chan = Channel::new();
    let mut batch = Staged::of((0..5).map(|_| Tracked::new(&drops)));
    assert_eq!(chan.send_batch(&mut batch), Ok(0), "no block yet");
    chan.try_send(batch.pop_front().unwrap()).ok().unwrap();
    assert_eq!(chan.send_batch(&mut batch), Ok(4));
    assert!(chan.close());
    assert_eq!(chan.send_batch(&mut batch), Err(()));
    assert!(chan.try_send(Tracked::new(&drops)).is_err());
    assert_eq!(drops.load(Ordering::SeqCst), 1, "the refused one");
    let mut received = Vec::new();
    assert_eq!(chan.recv_batch(&mut received, 2).taken, 2);
    drop(received);
    // The last receiver goes after the close: the rest are dropped now,
    // not when the last sender goes.
    assert!(!chan.disconnect_receivers());
    assert_eq!(drops.load(Ordering::SeqCst), 6);
    drop(chan);
    assert_eq!(drops.load(Ordering::SeqCst), 6);
}
