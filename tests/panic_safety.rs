//! Panic safety: messages whose `Drop` panics, panics inside `select!` arm
//! bodies, and threads that panic while others are blocked on the same
//! channel. In every case the remaining handles keep working, no message is
//! dropped twice, and disconnection is still observed when the panicking
//! thread's handles are dropped during unwinding.
//!
//! What happens when the last handle of a channel goes while messages whose
//! `Drop` panics are still inside (crossbeam-channel's behaviour): the
//! channel is disconnected, then its messages are dropped oldest first,
//! either at once by the last receiver or, if the senders went first, when
//! the channel is freed. The first panic propagates out of the `drop` of
//! that last handle with its own payload; the messages after the panicking
//! one are leaked: their destructors never run, not even when the other
//! handles go later, so a second panicking message cannot abort the
//! process. The channel's own memory is still freed, and the senders see
//! the channel disconnected and get their messages back (`*_teardown_*`
//! tests, whose messages panic even while the thread unwinds, so that a
//! second drop after a panic would abort this test binary).
//!
//! Leaks are measured with a counting global allocator: each thread counts
//! the blocks it allocated minus those it freed, and the leak checks run on
//! one thread only.

mod common;

use chan::{bounded, select, RecvError, Select, SendError, Sender};
use chan::{TryRecvError, TrySendError};
use common::{channel, live_blocks, panic_payload, panic_text, CountingAlloc, DropTracker};
use common::{Flavor, Tracked};
use std::panic::{self, catch_unwind, AssertUnwindSafe};
use std::sync::Once;
use std::thread;
use std::time::Duration;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Replaces the panic hook (for the whole test binary) with one that
/// prints the message and location but never a backtrace: capturing and
/// symbolizing backtraces (`RUST_BACKTRACE=1`) fills caches that the leak
/// checks would count.
fn quiet_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| panic::set_hook(Box::new(|info| eprintln!("{info}"))));
}

/// Runs `f` on the current thread and checks it freed every block it
/// allocated. A panic is caught and unwound first, to warm up the panic
/// machinery's lazily allocated state.
fn assert_no_leak<R>(what: &str, f: impl FnOnce() -> R) -> R {
    quiet_panic_hook();
    let _ = catch_unwind(|| panic!("warm-up"));
    let before = live_blocks();
    let result = f();
    let after = live_blocks();
    assert_eq!(
        after - before,
        0,
        "{what}: memory blocks leaked (allocated minus freed on this thread)"
    );
    result
}

/// Runs `f`, which must panic with a message containing `expected`.
fn expect_panic<R>(expected: &str, f: impl FnOnce() -> R) {
    let text = panic_payload(f);
    assert!(
        text.contains(expected),
        "panicked with {text:?}, expected {expected:?}"
    );
}

/// Gives another thread time to block (correctness never depends on it).
fn pause() {
    thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 20 }));
}

/// The flavors of most tests: zero, array and list.
const FLAVORS: [Flavor; 3] = [Flavor::Bounded(0), Flavor::Bounded(4), Flavor::Unbounded];

/// Sends `msgs` from a helper thread (so that it also works on a zero
/// channel) and waits until all are delivered.
fn feed(s: &Sender<Tracked>, msgs: Vec<Tracked>) -> thread::JoinHandle<()> {
    let s = s.clone();
    thread::spawn(move || {
        for m in msgs {
            s.send(m).unwrap();
        }
    })
}

// ---------------------------------------------------------------------------
// (a) Messages whose drop panics
// ---------------------------------------------------------------------------

#[test]
fn panicking_drop_after_recv_leaves_channel_usable() {
    for flavor in FLAVORS {
        let t = DropTracker::new();
        let (s, r) = flavor.make();
        let feeder = feed(&s, vec![t.make(0), t.armed(1), t.make(2)]);
        assert_eq!(r.recv().unwrap().id, 0);
        let bomb = r.recv().unwrap();
        assert_eq!(bomb.id, 1);
        expect_panic("bomb 1 went off", || drop(bomb));
        assert_eq!(r.recv().unwrap().id, 2, "{flavor:?}");
        feeder.join().unwrap();
        // The channel still works both ways.
        let feeder = feed(&s, vec![t.make(3), t.make(4)]);
        assert_eq!(r.recv().unwrap().id, 3, "{flavor:?}");
        assert_eq!(r.recv().unwrap().id, 4, "{flavor:?}");
        feeder.join().unwrap();
        assert!(matches!(r.try_recv(), Err(TryRecvError::Empty)));
        drop(s);
        assert!(matches!(r.recv(), Err(RecvError)));
        drop(r);
        t.assert_all_dropped_once(flavor);
    }
}

/// Fills an array or list channel with `n` messages, message `bomb` armed.
fn fill(t: &DropTracker, s: &Sender<Tracked>, n: usize, bomb: usize) {
    for id in 0..n {
        let m = if id == bomb { t.armed(id) } else { t.make(id) };
        s.try_send(m).unwrap();
    }
}

/// A panicking message received and dropped by the user, while other
/// messages stay queued and are dropped with the channel: nothing leaks.
/// (Also shows the leak check has no false positives, panics included.)
#[test]
fn panicking_drop_outside_channel_leaks_nothing() {
    for cap in [Some(8), None] {
        let what = format!("cap {cap:?}");
        let t = DropTracker::new();
        assert_no_leak(&what, || {
            let (s, r) = channel(cap);
            fill(&t, &s, 6, 1);
            assert_eq!(r.recv().unwrap().id, 0);
            let bomb = r.recv().unwrap();
            expect_panic("bomb 1 went off", || drop(bomb));
            assert_eq!(r.recv().unwrap().id, 2);
            s.send(t.make(6)).unwrap();
            assert_eq!(s.len(), 4, "{what}");
            drop(s);
            drop(r);
        });
        t.assert_all_dropped_once(&what);
    }
}

/// A message for the teardown tests. Its drop is counted in the tracker
/// and, if armed, panics: on the first call, whether or not the thread is
/// already unwinding (so a second armed message dropped after the first
/// one's panic would abort the test process). It borrows its tracker
/// instead of owning a share of it, so a leaked `Mine` owns no heap memory
/// and the leak checks (and Miri's) see only what the channel leaks.
struct Mine<'t> {
    id: usize,
    armed: bool,
    tracker: &'t DropTracker,
}

// Made by the shared tracker, like its `Tracked` messages.
impl DropTracker {
    fn mine(&self, id: usize, armed: bool) -> Mine<'_> {
        self.count_created(id);
        Mine {
            id,
            armed,
            tracker: self,
        }
    }
}

impl std::fmt::Debug for Mine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mine({})", self.id)
    }
}

impl Drop for Mine<'_> {
    fn drop(&mut self) {
        self.tracker.count_drop(self.id);
        if self.armed {
            panic!("bomb {} went off", self.id);
        }
    }
}

/// Which handle goes last in a teardown.
#[derive(Clone, Copy, Debug)]
enum Order {
    /// The last receiver goes while senders remain (it discards the
    /// messages); the senders go afterwards and free the channel.
    ReceiverFirst,
    /// The senders go first; the last receiver then frees the channel
    /// with the messages still inside.
    SendersFirst,
}

/// Tears down, in both orders, an array (`cap: Some`) or list (`None`)
/// channel through which `passed` messages have gone already (so that an
/// array's ring has wrapped around and a list's head is inside a block),
/// holding `n` messages; those at the positions in `armed` (0 = oldest)
/// panic when dropped.
///
/// Checks the contract: the first armed message's panic propagates out of
/// the drop of the last handle with its own payload; the messages before it
/// were dropped exactly once, those after it (armed or not) never, not even
/// once every handle is gone; the senders see the disconnection and get
/// their messages back; the channel frees all its memory.
fn teardown(cap: Option<usize>, passed: usize, n: usize, armed: &[usize]) {
    for order in [Order::ReceiverFirst, Order::SendersFirst] {
        let what = format!("cap {cap:?}, {passed} passed, {n} inside, armed {armed:?}, {order:?}");
        let first = *armed.iter().min().expect("at least one armed message");
        // Ids: the messages that passed, then the `n` inside.
        let first_id = passed + first;
        let t = DropTracker::new();
        // Dropped once up to the first armed message, never after it.
        let check = |when: &str| {
            for id in 0..passed + n {
                let expected = u32::from(id <= first_id);
                assert_eq!(t.drops_of(id), expected, "{what}, {when}: drops of {id}");
            }
        };
        assert_no_leak(&what, || {
            let (s, r) = channel(cap);
            for id in 0..passed {
                s.send(t.mine(id, false)).unwrap();
                assert_eq!(r.recv().unwrap().id, id, "{what}");
            }
            for (position, id) in (passed..passed + n).enumerate() {
                s.try_send(t.mine(id, armed.contains(&position))).unwrap();
            }
            assert_eq!(s.len(), n, "{what}");
            let s2 = s.clone();
            drop(r.clone()); // not the last receiver: nothing happens
            match order {
                Order::ReceiverFirst => {
                    let text = panic_payload(|| drop(r));
                    assert_eq!(text, format!("bomb {first_id} went off"), "{what}");
                    // The leaked messages are not counted as inside.
                    assert!(s.is_empty(), "{what}: len {} after the teardown", s.len());
                    match s.send(t.mine(passed + n, false)) {
                        Err(SendError(m)) => assert_eq!(m.id, passed + n, "{what}"),
                        Ok(()) => panic!("{what}: send succeeded on a disconnected channel"),
                    }
                    match s2.try_send(t.mine(passed + n + 1, false)) {
                        Err(TrySendError::Disconnected(m)) => {
                            assert_eq!(m.id, passed + n + 1, "{what}")
                        }
                        other => panic!("{what}: unexpected {other:?}"),
                    }
                    assert_eq!(t.drops_of(passed + n), 1, "{what}");
                    assert_eq!(t.drops_of(passed + n + 1), 1, "{what}");
                    check("after the last receiver");
                    // Freeing the channel drops none of the leaked messages.
                    drop(s);
                    drop(s2);
                }
                Order::SendersFirst => {
                    drop(s);
                    drop(s2);
                    if first > 0 {
                        // One message received normally, the rest inside.
                        assert_eq!(r.recv().unwrap().id, passed, "{what}");
                    }
                    let text = panic_payload(|| drop(r));
                    assert_eq!(text, format!("bomb {first_id} went off"), "{what}");
                }
            }
        });
        check("after every handle");
    }
}

/// Every position from `from` to `n - 1`.
fn every(from: usize, n: usize) -> Vec<usize> {
    (from..n).collect()
}

/// Two panicking messages inside an array channel (one where no second
/// fits after the first): the second one's drop never runs.
#[test]
fn array_teardown_with_two_panicking_messages() {
    // One slot; then the ring wrapped around, the first bomb at the first,
    // a middle and the last position, and the bombs adjacent or apart.
    teardown(Some(1), 0, 1, &[0]);
    teardown(Some(1), 3, 1, &[0]);
    teardown(Some(2), 1, 2, &[0, 1]);
    teardown(Some(3), 2, 3, &[0, 2]);
    teardown(Some(3), 2, 3, &[1, 2]);
    teardown(Some(8), 0, 8, &[0, 1]);
    teardown(Some(8), 5, 8, &[3, 4]);
    teardown(Some(8), 5, 8, &[3, 6]);
    teardown(Some(8), 13, 6, &[2, 5]);
    teardown(Some(8), 5, 8, &[7]);
}

/// Every message inside an array channel (from some position on) panics
/// when dropped: only the first one's drop runs.
#[test]
fn array_teardown_where_every_message_panics() {
    teardown(Some(1), 1, 1, &every(0, 1));
    teardown(Some(4), 3, 4, &every(0, 4));
    teardown(Some(8), 6, 8, &every(0, 8));
    teardown(Some(8), 6, 8, &every(3, 8));
    teardown(Some(16), 9, 11, &every(1, 11));
}

/// Slots per list block (`chan-core/src/flavors/list.rs`, `BLOCK_CAP`).
const LIST_BLOCK: usize = 255;

/// Runs list teardowns of `n` messages, `(passed, armed)` each. Not under
/// Miri, where one such case takes minutes; there the unit test
/// `flavors::list::tests::panicking_drop_leaks_the_rest_and_frees_blocks` covers
/// several blocks.
fn list_teardowns(n: usize, cases: &[(usize, Vec<usize>)]) {
    let run = if cfg!(miri) { 0 } else { cases.len() };
    for (passed, armed) in &cases[..run] {
        teardown(None, *passed, n, armed);
    }
}

/// As `array_teardown_with_two_panicking_messages`, over three list blocks.
#[test]
fn list_teardown_with_two_panicking_messages() {
    // Three blocks; the bombs across a block boundary, in the first, a
    // middle and the last block; the head at a block's start or inside.
    let n = 2 * LIST_BLOCK + 90;
    list_teardowns(
        n,
        &[
            (0, vec![LIST_BLOCK - 1, LIST_BLOCK]),
            (30, vec![40, 2 * LIST_BLOCK + 10]),
            (0, vec![0, 1]),
            (100, vec![2, 3]),
            (100, vec![300, 301]),
            (0, vec![n - 2, n - 1]),
            (10, vec![n - 1]),
        ],
    );
    teardown(None, LIST_BLOCK, 3, &[0, 2]);
}

/// As `array_teardown_where_every_message_panics`, over three list blocks.
#[test]
fn list_teardown_where_every_message_panics() {
    let n = 2 * LIST_BLOCK + 90;
    teardown(None, 0, 1, &every(0, 1));
    list_teardowns(
        n,
        &[(120, every(200, n)), (0, every(0, n)), (7, every(n - 3, n))],
    );
}

/// Senders blocked on a zero channel, each holding a message whose drop
/// panics, when the last receiver goes: the channel holds nothing, so
/// dropping the receiver does not panic; each sender gets its own message
/// back (and its thread panics dropping it, alone); the other senders see
/// the disconnection. Nothing aborts.
#[test]
fn zero_blocked_senders_get_panicking_messages_back() {
    let t = DropTracker::new();
    let (s, r) = bounded(0);
    thread::scope(|scope| {
        let blocked: Vec<_> = (0..2)
            .map(|id| {
                let (s, m) = (s.clone(), t.mine(id, true));
                scope.spawn(move || {
                    let back = s.send(m).expect_err("send on a channel with no receiver");
                    assert_eq!(back.0.id, id);
                    // `back` goes off here, while `s` is still alive.
                })
            })
            .collect();
        pause();
        drop(r);
        for (id, h) in blocked.into_iter().enumerate() {
            let payload = h
                .join()
                .expect_err("the sender thread should have panicked");
            assert_eq!(panic_text(&*payload), format!("bomb {id} went off"));
        }
    });
    assert_eq!((t.drops_of(0), t.drops_of(1)), (1, 1));
    match s.try_send(t.mine(2, false)) {
        Err(TrySendError::Disconnected(m)) => assert_eq!(m.id, 2),
        other => panic!("unexpected {other:?}"),
    }
    drop(s);
    t.assert_all_dropped_once("zero");
}

/// A panicking message received through `Select` and dropped in user code:
/// the channel stays usable for the other handles.
#[test]
fn panicking_drop_after_select_recv() {
    for flavor in FLAVORS {
        let t = DropTracker::new();
        let (s, r) = flavor.make();
        let r2 = r.clone();
        let feeder = feed(&s, vec![t.armed(0), t.make(1)]);
        expect_panic("bomb 0 went off", || {
            let mut sel = Select::new();
            let i = sel.recv(&r);
            let oper = sel.select();
            assert_eq!(oper.index(), i);
            let m = oper.recv(&r).unwrap();
            assert_eq!(m.id, 0);
        });
        assert_eq!(r2.recv().unwrap().id, 1, "{flavor:?}");
        feeder.join().unwrap();
        drop(s);
        assert!(matches!(r.recv(), Err(RecvError)));
        t.assert_all_dropped_once(flavor);
    }
}

// ---------------------------------------------------------------------------
// (b) A panic inside a select! arm body
// ---------------------------------------------------------------------------

#[test]
fn panic_in_select_recv_arm_body() {
    const N: usize = 10;
    for flavor in FLAVORS {
        let what = format!("{flavor:?}");
        let t = DropTracker::new();
        let (s, r) = flavor.make::<Tracked>();
        let (_s_idle, r_idle) = flavor.make::<Tracked>();
        let feeder = feed(&s, (0..N).map(|i| t.make(i)).collect());
        let mut received = Vec::new();
        for i in 0..N {
            let result = catch_unwind(AssertUnwindSafe(|| {
                select! {
                    recv(r_idle) -> _ => unreachable!("idle channel"),
                    recv(r) -> m => {
                        let m = m.unwrap();
                        received.push(m.id);
                        if m.id % 3 == 1 {
                            // `m` is dropped while unwinding.
                            panic!("arm body for {}", m.id);
                        }
                    }
                }
            }));
            assert_eq!(result.is_err(), i % 3 == 1, "{what}: message {i}");
            // The message received before the panic was dropped exactly once.
            assert_eq!(t.drops_of(i), 1, "{what}: message {i}");
        }
        feeder.join().unwrap();
        assert_eq!(received, (0..N).collect::<Vec<_>>(), "{what}");
        // The channel still works.
        let feeder = feed(&s, vec![t.make(N)]);
        let m = select! { recv(r) -> m => m.unwrap() };
        assert_eq!(m.id, N, "{what}");
        feeder.join().unwrap();
        drop(m);
        drop(s);
        assert!(matches!(r.recv(), Err(RecvError)), "{what}");
        t.assert_all_dropped_once(&what);
    }
}

#[test]
fn panic_in_select_send_arm_body() {
    const N: usize = 10;
    for flavor in FLAVORS {
        let what = format!("{flavor:?}");
        let t = DropTracker::new();
        let (s, r) = flavor.make::<Tracked>();
        let (s_full, _r_full) = bounded::<Tracked>(0);
        // A receiver thread (needed for the zero flavor).
        let consumer = {
            let r = r.clone();
            thread::spawn(move || r.iter().map(|m| m.id).collect::<Vec<_>>())
        };
        for i in 0..N {
            let result = catch_unwind(AssertUnwindSafe(|| {
                select! {
                    send(s_full, t.make(1000)) -> _ => unreachable!("nobody receives"),
                    send(s, t.make(i)) -> res => {
                        res.unwrap();
                        if i % 3 == 0 {
                            panic!("arm body after sending {i}");
                        }
                    }
                }
            }));
            assert_eq!(result.is_err(), i % 3 == 0, "{what}: message {i}");
        }
        drop(s);
        drop(r);
        let got = consumer.join().unwrap();
        // Each message sent before a panic arrived exactly once, in order.
        assert_eq!(got, (0..N).collect::<Vec<_>>(), "{what}");
        // The message of the losing send arm was never even made.
        assert_eq!(t.created(), N, "{what}");
        t.assert_all_dropped_once(&what);
    }
}

/// A panic in the body of a `select!` arm that received a disconnection:
/// the select can be used again afterwards and still reports it.
#[test]
fn panic_in_select_arm_body_on_disconnect() {
    for flavor in FLAVORS {
        let (s, r) = flavor.make::<i32>();
        drop(s);
        for _ in 0..3 {
            expect_panic("saw disconnect", || {
                select! {
                    recv(r) -> m => {
                        assert_eq!(m, Err(RecvError));
                        panic!("saw disconnect");
                    }
                }
            });
        }
        assert_eq!(r.try_recv(), Err(TryRecvError::Disconnected), "{flavor:?}");
    }
}

// ---------------------------------------------------------------------------
// (c) Threads that panic while others are blocked on the same channel
// ---------------------------------------------------------------------------

/// A producer sends some messages then panics; its sender drops while
/// unwinding, and a receiver blocked in `recv` sees the disconnection.
#[test]
fn sender_thread_panics_receiver_blocked_in_recv() {
    for flavor in FLAVORS {
        let t = DropTracker::new();
        let (s, r) = flavor.make::<Tracked>();
        let producer = {
            let t = t.clone();
            thread::spawn(move || {
                pause();
                s.send(t.make(0)).unwrap();
                s.send(t.make(1)).unwrap();
                panic!("producer failed");
            })
        };
        assert_eq!(r.recv().unwrap().id, 0, "{flavor:?}");
        assert_eq!(r.recv().unwrap().id, 1, "{flavor:?}");
        // Blocks until the producer's sender is dropped by its unwinding.
        assert_eq!(r.recv().unwrap_err(), RecvError, "{flavor:?}");
        let payload = producer.join().unwrap_err();
        assert_eq!(panic_text(&*payload), "producer failed");
        t.assert_all_dropped_once(flavor);
    }
}

/// Same, with the receiver blocked in `select!` and in `Select`.
#[test]
fn sender_thread_panics_receiver_blocked_in_select() {
    for flavor in FLAVORS {
        for builder in [false, true] {
            let what = format!("{flavor:?}, builder {builder}");
            let (s, r) = flavor.make::<i32>();
            let (_s_idle, r_idle) = flavor.make::<i32>();
            let producer = thread::spawn(move || {
                pause();
                s.send(7).unwrap();
                panic!("producer failed");
            });
            let mut got = Vec::new();
            loop {
                let m = if builder {
                    let mut sel = Select::new();
                    let idle = sel.recv(&r_idle);
                    let i = sel.recv(&r);
                    let oper = sel.select();
                    assert_ne!(oper.index(), idle, "{what}");
                    assert_eq!(oper.index(), i, "{what}");
                    oper.recv(&r)
                } else {
                    select! {
                        recv(r_idle) -> _ => unreachable!("idle channel"),
                        recv(r) -> m => m,
                    }
                };
                match m {
                    Ok(v) => got.push(v),
                    Err(RecvError) => break,
                }
            }
            assert_eq!(got, vec![7], "{what}");
            assert!(producer.join().is_err(), "{what}");
        }
    }
}

/// A consumer thread panics while a sender is blocked on a full channel:
/// the sender gets its message back.
#[test]
fn receiver_thread_panics_sender_blocked() {
    for flavor in [Flavor::Bounded(0), Flavor::Bounded(4)] {
        let t = DropTracker::new();
        let (s, r) = flavor.make::<Tracked>();
        let cap = s.capacity().unwrap();
        for i in 0..cap {
            s.send(t.make(i)).unwrap();
        }
        let consumer = thread::spawn(move || {
            let _r = r;
            pause();
            panic!("consumer failed");
        });
        // Blocks until the consumer's receiver is dropped by its unwinding.
        match s.send(t.make(cap)) {
            Err(SendError(m)) => assert_eq!(m.id, cap, "{flavor:?}"),
            Ok(()) => panic!("{flavor:?}: send succeeded with no receiver"),
        }
        assert!(consumer.join().is_err());
        // The queued messages went with the last receiver.
        assert_eq!(t.dropped(), cap + 1, "{flavor:?}");
        drop(s);
        t.assert_all_dropped_once(flavor);
    }
}

/// A thread holding handles panics while another thread is blocked on the
/// same channel: nothing changes for the blocked thread, which receives the
/// next message and later sees the disconnection.
#[test]
fn unrelated_thread_panics_while_other_blocked() {
    for flavor in FLAVORS {
        let t = DropTracker::new();
        let (s, r) = flavor.make::<Tracked>();
        let waiter = {
            let r = r.clone();
            thread::spawn(move || r.iter().map(|m| m.id).collect::<Vec<_>>())
        };
        let (s2, r2) = (s.clone(), r.clone());
        let panicker = thread::spawn(move || {
            let _handles = (s2, r2);
            pause();
            panic!("bystander failed");
        });
        assert!(panicker.join().is_err());
        drop(r);
        s.send(t.make(0)).unwrap();
        s.send(t.make(1)).unwrap();
        drop(s);
        assert_eq!(waiter.join().unwrap(), vec![0, 1], "{flavor:?}");
        t.assert_all_dropped_once(flavor);
    }
}

/// How a woken thread waits for its message.
#[derive(Clone, Copy, Debug)]
enum Wait {
    Recv,
    SelectMacro,
    SelectBuilder,
}

/// A thread blocked in a receive is woken by a message, then panics in user
/// code while holding it. The message is dropped once, during unwinding;
/// the other receiver keeps working; when the last receivers are gone the
/// senders see the disconnection on both channels the thread waited on.
#[test]
fn woken_receiver_panics_in_user_code() {
    for flavor in FLAVORS {
        for wait in [Wait::Recv, Wait::SelectMacro, Wait::SelectBuilder] {
            let what = format!("{flavor:?}, {wait:?}");
            let t = DropTracker::new();
            let (s_a, r_a) = flavor.make::<Tracked>();
            let (s_b, r_b) = flavor.make::<Tracked>();
            let r_a2 = r_a.clone();
            let worker = thread::spawn(move || {
                let m = match wait {
                    Wait::Recv => r_a.recv().unwrap(),
                    Wait::SelectMacro => select! {
                        recv(r_b) -> _ => unreachable!("nothing is sent on b"),
                        recv(r_a) -> m => m.unwrap(),
                    },
                    Wait::SelectBuilder => {
                        let mut sel = Select::new();
                        sel.recv(&r_b);
                        let i = sel.recv(&r_a);
                        let oper = sel.select();
                        assert_eq!(oper.index(), i);
                        oper.recv(&r_a).unwrap()
                    }
                };
                assert_eq!(m.id, 0);
                panic!("worker failed holding {}", m.id);
            });
            pause();
            // Only the worker is receiving, so it gets this message (on a
            // zero channel this blocks until it does).
            s_a.send(t.make(0)).unwrap();
            let payload = worker.join().unwrap_err();
            assert_eq!(panic_text(&*payload), "worker failed holding 0", "{what}");
            assert_eq!(t.drops_of(0), 1, "{what}");
            // The worker's receiver of b was its only one: b is disconnected.
            match s_b.try_send(t.make(1)) {
                Err(TrySendError::Disconnected(m)) => assert_eq!(m.id, 1, "{what}"),
                other => panic!("{what}: unexpected {other:?}"),
            }
            // The other receiver of a still works.
            let feeder = feed(&s_a, vec![t.make(2)]);
            assert_eq!(r_a2.recv().unwrap().id, 2, "{what}");
            feeder.join().unwrap();
            drop(r_a2);
            match s_a.send(t.make(3)) {
                Err(SendError(m)) => assert_eq!(m.id, 3, "{what}"),
                Ok(()) => panic!("{what}: send succeeded with no receiver"),
            }
            t.assert_all_dropped_once(&what);
        }
    }
}

/// A thread blocked in a send is woken when its message is taken, then
/// panics in user code; its sender drops while unwinding, so the receiver
/// sees every message, then the disconnection.
#[test]
fn woken_sender_panics_in_user_code() {
    for flavor in [Flavor::Bounded(0), Flavor::Bounded(4)] {
        for wait in [Wait::Recv, Wait::SelectMacro, Wait::SelectBuilder] {
            let what = format!("{flavor:?}, {wait:?}");
            let t = DropTracker::new();
            let (s, r) = flavor.make::<Tracked>();
            let (s_idle, _r_idle) = bounded::<Tracked>(0);
            let cap = s.capacity().unwrap();
            for i in 0..cap {
                s.send(t.make(i)).unwrap();
            }
            let worker = {
                let t = t.clone();
                thread::spawn(move || {
                    let m = t.make(cap);
                    // Full (or rendezvous): this blocks until main receives.
                    match wait {
                        Wait::Recv => s.send(m).unwrap(),
                        Wait::SelectMacro => select! {
                            send(s_idle, t.make(1000)) -> _ => unreachable!(),
                            send(s, m) -> res => res.unwrap(),
                        },
                        Wait::SelectBuilder => {
                            let mut sel = Select::new();
                            sel.send(&s_idle);
                            let i = sel.send(&s);
                            let oper = sel.select();
                            assert_eq!(oper.index(), i);
                            oper.send(&s, m).unwrap();
                        }
                    }
                    panic!("worker failed after sending");
                })
            };
            pause();
            let got: Vec<usize> = r.iter().map(|m| m.id).collect();
            assert_eq!(got, (0..=cap).collect::<Vec<_>>(), "{what}");
            let payload = worker.join().unwrap_err();
            assert_eq!(panic_text(&*payload), "worker failed after sending");
            drop(r);
            t.assert_all_dropped_once(&what);
        }
    }
}
