//! `Select` and `SelectedOperation`: one blocking wait over many operations.
//!
//! Protocol, for `select`: try each operation once in a uniformly random
//! order (a permutation drawn afresh for every call; the written order when
//! biased), so that every ready operation is equally likely to win. If none
//! is ready, register one `Context` with every operation in the same order,
//! each under its own `Operation` id (the address of its entry in the
//! handle list), re-checking as it goes; a partner that completes one of
//! several registrations on its channel picks the first it finds, so the
//! random order keeps that choice uniform too. Park until a partner
//! claims the context for one operation (or a disconnect, a timer deadline
//! or the timeout wakes us); unregister everywhere; then `accept` the
//! operation that claimed us, or try every operation again. The winning
//! reservation travels in a `Token` inside the `SelectedOperation`, which
//! the caller completes with the matching handle.
//!
//! Giving up (`try_select`, or a timeout that has passed) is linearizable:
//! after a failed round of attempts, the engine observes every operation
//! twice (`SelectHandle::observe`) and reports failure only if both rounds
//! found every operation blocked with the same state stamps. Stamps only
//! repeat when the blocking state did not change, so at one moment between
//! the two rounds no operation could proceed. Any change sends the engine
//! back to the attempts; each such retry means another thread completed
//! an operation on one of the channels (lock-free, not wait-free).
//!
//! `ready` does the same with `watch`/`unwatch`: it reports an operation
//! that would not block, without performing it.

use chan_core::internal::{
    probes, random_below, read, receiver_channel_id, sender_channel_id, sleep_until, write,
    Context, Operation, Readiness, SelectHandle, Selected, Token,
};
use chan_core::{
    ReadyTimeoutError, Receiver, RecvError, SelectTimeoutError, SendError, Sender, TryReadyError,
    TrySelectError,
};
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::mem;
use std::mem::MaybeUninit;
use std::slice;
use std::time::{Duration, Instant};

/// How long a select may wait.
#[derive(Clone, Copy)]
enum Timeout {
    Now,
    Never,
    At(Instant),
}

/// Which channel an operation uses, and which side of it: the channel's
/// id (an even number), with the lowest bit set for a receive.
///
/// One word, not a word and a byte: with a byte, `select` ended its result
/// with a one-byte store, and the caller's copy of the result, made right
/// after in 16-byte loads, waited for that store to reach the cache (a
/// load cannot take its data from a narrower store still in flight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OperationId(usize);

impl OperationId {
    /// Sending on the channel `channel_id`.
    fn send(channel_id: usize) -> OperationId {
        debug_assert_eq!(channel_id & 1, 0, "channel ids are even");
        OperationId(channel_id)
    }

    /// Receiving from the channel `channel_id`.
    fn recv(channel_id: usize) -> OperationId {
        debug_assert_eq!(channel_id & 1, 0, "channel ids are even");
        OperationId(channel_id | 1)
    }
}

/// How many operations a `Select` holds without allocating: most selects
/// have two to four arms.
const INLINE_ENTRIES: usize = 4;

/// One operation added to a `Select`.
#[derive(Clone, Copy)]
pub(crate) struct Entry<'a> {
    pub(crate) handle: &'a dyn SelectHandle,
    pub(crate) index: usize,
    operation: OperationId,
    /// The stamp of the last `observe` that found the operation blocked,
    /// for the second round of a linearizable give-up.
    blocked_stamp: u128,
}

/// The operations of a `Select`, in the order they were added: up to
/// `INLINE_ENTRIES` inside the `Select`, more in a `Vec` (then all of them).
///
/// Not a `smallvec::SmallVec`: a type with a `Drop` impl keeps every borrow
/// it holds alive until it is dropped, while crossbeam-channel's `Select`
/// holds a `Vec`, whose drop is declared not to touch what its elements
/// borrow; so with crossbeam a channel may be moved while a finished
/// `Select` that borrowed it is still in scope, and a drop-in must allow
/// the same. `Entry` is `Copy`, so this type needs no `Drop` impl.
#[derive(Clone)]
pub(crate) struct Entries<'a> {
    /// The first `inline_len` are initialised.
    inline: [MaybeUninit<Entry<'a>>; INLINE_ENTRIES],
    inline_len: usize,
    /// Every operation once there were more than `INLINE_ENTRIES`; then
    /// `inline_len` is 0. Empty (and unallocated) before.
    spilled: Vec<Entry<'a>>,
}

impl<'a> Entries<'a> {
    fn new() -> Self {
        Entries {
            inline: [const { MaybeUninit::uninit() }; INLINE_ENTRIES],
            inline_len: 0,
            spilled: Vec::new(),
        }
    }

    #[inline]
    fn push(&mut self, entry: Entry<'a>) {
        if self.spilled.is_empty() && self.inline_len < INLINE_ENTRIES {
            self.inline[self.inline_len] = MaybeUninit::new(entry);
            self.inline_len += 1;
            return;
        }
        self.push_spilled(entry);
    }

    /// `push` once the inline entries are full.
    #[cold]
    #[inline(never)]
    fn push_spilled(&mut self, entry: Entry<'a>) {
        if self.spilled.is_empty() {
            let mut spilled = Vec::with_capacity(2 * INLINE_ENTRIES);
            spilled.extend_from_slice(self.as_slice());
            self.spilled = spilled;
            self.inline_len = 0;
        }
        self.spilled.push(entry);
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[Entry<'a>] {
        if self.inline_len == 0 {
            return &self.spilled;
        }
        // SAFETY: the first `inline_len` inline entries are initialised, and
        // `MaybeUninit<Entry>` has the layout of `Entry`.
        unsafe { slice::from_raw_parts(self.inline.as_ptr().cast::<Entry<'a>>(), self.inline_len) }
    }

    #[inline]
    pub(crate) fn as_mut_slice(&mut self) -> &mut [Entry<'a>] {
        if self.inline_len == 0 {
            return &mut self.spilled;
        }
        // SAFETY: as in `as_slice`; `&mut self` makes the borrow unique.
        unsafe {
            slice::from_raw_parts_mut(
                self.inline.as_mut_ptr().cast::<Entry<'a>>(),
                self.inline_len,
            )
        }
    }

    /// Removes the entry at `position`, keeping the order of the others.
    fn remove(&mut self, position: usize) {
        if self.inline_len == 0 {
            self.spilled.remove(position);
        } else {
            assert!(position < self.inline_len, "no entry at this position");
            self.inline
                .copy_within(position + 1..self.inline_len, position);
            self.inline_len -= 1;
        }
    }
}

/// Waits on several send and receive operations at once.
///
/// Add operations with [`send`](Select::send) and [`recv`](Select::recv),
/// each returning the index that identifies it, then call
/// [`select`](Select::select) (or a `try_`/timeout variant) to block until
/// one of them can proceed. The chosen operation must then be completed on
/// the returned [`SelectedOperation`] with the same channel.
///
/// The `select!` macro builds on this type and is easier to use.
///
/// ```
/// use chan_select::Select;
/// use std::thread;
/// use std::time::Duration;
///
/// let (s1, r1) = chan_core::unbounded();
/// let (s2, r2) = chan_core::unbounded();
/// thread::spawn(move || {
///     thread::sleep(Duration::from_millis(10));
///     s1.send(1).unwrap();
/// });
/// thread::spawn(move || {
///     thread::sleep(Duration::from_millis(20));
///     s2.send(2).unwrap();
/// });
///
/// let mut sel = Select::new();
/// let oper1 = sel.recv(&r1);
/// let oper2 = sel.recv(&r2);
/// let oper = sel.select();
/// match oper.index() {
///     i if i == oper1 => assert_eq!(oper.recv(&r1), Ok(1)),
///     i if i == oper2 => assert_eq!(oper.recv(&r2), Ok(2)),
///     _ => unreachable!(),
/// }
/// ```
pub struct Select<'a> {
    /// The operations, in the order they were added. Up to
    /// `INLINE_ENTRIES` live inside the `Select`, so that a `select!` (which
    /// builds a `Select` at every call) does not allocate.
    pub(crate) entries: Entries<'a>,
    next_index: usize,
    pub(crate) biased: bool,
}

// SAFETY: a `Select` holds only shared references to channel handles, whose
// methods are all thread-safe, and indices; it is the same contract as
// crossbeam-channel's `Select`.
unsafe impl Send for Select<'_> {}
// SAFETY: as above; `&Select` gives no access to the handles at all.
unsafe impl Sync for Select<'_> {}

impl<'a> Select<'a> {
    /// Creates an empty `Select` that picks uniformly at random among the
    /// operations that can proceed.
    ///
    /// ```
    /// let sel = chan_select::Select::new();
    /// # drop(sel);
    /// ```
    #[inline]
    pub fn new() -> Select<'a> {
        Select {
            entries: Entries::new(),
            next_index: 0,
            biased: false,
        }
    }

    /// Creates an empty `Select` that always picks the first ready operation
    /// in the order they were added.
    ///
    /// ```
    /// use chan_select::Select;
    /// let (s1, r1) = chan_core::unbounded();
    /// let (s2, r2) = chan_core::unbounded();
    /// s1.send(1).unwrap();
    /// s2.send(2).unwrap();
    /// let mut sel = Select::new_biased();
    /// let first = sel.recv(&r1);
    /// sel.recv(&r2);
    /// let oper = sel.select();
    /// assert_eq!(oper.index(), first);
    /// assert_eq!(oper.recv(&r1), Ok(1));
    /// ```
    pub fn new_biased() -> Select<'a> {
        Select {
            biased: true,
            ..Select::new()
        }
    }

    #[inline]
    fn add(&mut self, handle: &'a dyn SelectHandle, operation: OperationId) -> usize {
        let index = self.next_index;
        self.next_index += 1;
        self.entries.push(Entry {
            handle,
            index,
            operation,
            blocked_stamp: 0,
        });
        index
    }

    /// Adds a send operation and returns its index.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded::<i32>();
    /// let mut sel = chan_select::Select::new();
    /// let index = sel.send(&s);
    /// let oper = sel.select();
    /// assert_eq!(oper.index(), index);
    /// oper.send(&s, 3).unwrap();
    /// assert_eq!(r.recv(), Ok(3));
    /// ```
    #[inline]
    pub fn send<T>(&mut self, s: &'a Sender<T>) -> usize {
        self.add(s, OperationId::send(sender_channel_id(s)))
    }

    /// Adds a receive operation and returns its index.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded();
    /// s.send(4).unwrap();
    /// let mut sel = chan_select::Select::new();
    /// let index = sel.recv(&r);
    /// let oper = sel.select();
    /// assert_eq!(oper.index(), index);
    /// assert_eq!(oper.recv(&r), Ok(4));
    /// ```
    #[inline]
    pub fn recv<T>(&mut self, r: &'a Receiver<T>) -> usize {
        self.add(r, OperationId::recv(receiver_channel_id(r)))
    }

    /// Removes the operation with the given index. Indices of the other
    /// operations do not change, and the index is not reused.
    ///
    /// # Panics
    /// Panics if no operation was ever given this index, or if it was
    /// already removed.
    ///
    /// ```
    /// use chan_select::Select;
    /// let (s, r) = chan_core::unbounded::<i32>();
    /// let mut sel = Select::new();
    /// let gone = sel.recv(&r);
    /// let kept = sel.send(&s);
    /// sel.remove(gone);
    /// let oper = sel.select();
    /// assert_eq!(oper.index(), kept);
    /// oper.send(&s, 1).unwrap();
    /// ```
    pub fn remove(&mut self, index: usize) {
        assert!(
            index < self.next_index,
            "index out of bounds; {} >= {}",
            index,
            self.next_index,
        );
        let position = self
            .entries
            .as_slice()
            .iter()
            .position(|entry| entry.index == index)
            .expect("no operation with this index");
        self.entries.remove(position);
    }

    /// Completes one ready operation without blocking, if any is ready.
    ///
    /// It fails only if, at some moment during the call, no operation could
    /// proceed: after a failed round of attempts it observes every operation
    /// twice and gives up only if both rounds found each one blocked in an
    /// unchanged state. The timeout and deadline variants, and the `ready`
    /// family, give up the same way.
    ///
    /// ```
    /// let (_s, r) = chan_core::unbounded::<i32>();
    /// let mut sel = chan_select::Select::new();
    /// sel.recv(&r);
    /// assert!(sel.try_select().is_err());
    /// ```
    pub fn try_select(&mut self) -> Result<SelectedOperation<'a>, TrySelectError> {
        run_select(self.entries.as_mut_slice(), Timeout::Now, self.biased).ok_or(TrySelectError)
    }

    /// Blocks until one operation can proceed and returns it, reserved.
    ///
    /// # Panics
    /// Panics if no operation was added.
    ///
    /// ```
    /// let (s, r) = chan_core::bounded(1);
    /// let mut sel = chan_select::Select::new();
    /// let send = sel.send(&s);
    /// let oper = sel.select();
    /// assert_eq!(oper.index(), send);
    /// oper.send(&s, "x").unwrap();
    /// assert_eq!(r.recv(), Ok("x"));
    /// ```
    pub fn select(&mut self) -> SelectedOperation<'a> {
        assert!(
            !self.entries.as_slice().is_empty(),
            "no operations have been added to `Select`"
        );
        run_select(self.entries.as_mut_slice(), Timeout::Never, self.biased)
            .expect("a select without deadline returned nothing")
    }

    /// Blocks at most `timeout` until one operation can proceed. An empty
    /// `Select` sleeps for the timeout, then fails.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_s, r) = chan_core::unbounded::<i32>();
    /// let mut sel = chan_select::Select::new();
    /// sel.recv(&r);
    /// assert!(sel.select_timeout(Duration::from_millis(1)).is_err());
    /// ```
    pub fn select_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.select_deadline(deadline),
            None => Ok(self.select()),
        }
    }

    /// Blocks until `deadline` at most until one operation can proceed.
    ///
    /// ```
    /// use std::time::Instant;
    /// let (s, r) = chan_core::unbounded();
    /// s.send(1).unwrap();
    /// let mut sel = chan_select::Select::new();
    /// sel.recv(&r);
    /// let oper = sel.select_deadline(Instant::now()).unwrap();
    /// assert_eq!(oper.recv(&r), Ok(1));
    /// ```
    pub fn select_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        run_select(
            self.entries.as_mut_slice(),
            Timeout::At(deadline),
            self.biased,
        )
        .ok_or(SelectTimeoutError)
    }

    /// Returns the index of an operation that is ready now, without
    /// performing it.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded::<i32>();
    /// let mut sel = chan_select::Select::new();
    /// let index = sel.recv(&r);
    /// assert!(sel.try_ready().is_err());
    /// s.send(1).unwrap();
    /// assert_eq!(sel.try_ready(), Ok(index));
    /// ```
    pub fn try_ready(&mut self) -> Result<usize, TryReadyError> {
        run_ready(self.entries.as_mut_slice(), Timeout::Now, self.biased).ok_or(TryReadyError)
    }

    /// Blocks until some operation is ready and returns its index, without
    /// performing it. Another thread may take the message first, so the
    /// caller should then use a non-blocking operation and retry.
    ///
    /// # Panics
    /// Panics if no operation was added.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded();
    /// s.send(1).unwrap();
    /// let mut sel = chan_select::Select::new();
    /// let index = sel.recv(&r);
    /// assert_eq!(sel.ready(), index);
    /// assert_eq!(r.try_recv(), Ok(1));
    /// ```
    pub fn ready(&mut self) -> usize {
        assert!(
            !self.entries.as_slice().is_empty(),
            "no operations have been added to `Select`"
        );
        run_ready(self.entries.as_mut_slice(), Timeout::Never, self.biased)
            .expect("a ready without deadline returned nothing")
    }

    /// Like [`ready`](Select::ready), waiting at most `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_s, r) = chan_core::unbounded::<i32>();
    /// let mut sel = chan_select::Select::new();
    /// sel.recv(&r);
    /// assert!(sel.ready_timeout(Duration::from_millis(1)).is_err());
    /// ```
    pub fn ready_timeout(&mut self, timeout: Duration) -> Result<usize, ReadyTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.ready_deadline(deadline),
            None => Ok(self.ready()),
        }
    }

    /// Like [`ready`](Select::ready), waiting until `deadline` at most.
    ///
    /// ```
    /// use std::time::Instant;
    /// let (s, r) = chan_core::bounded::<i32>(1);
    /// let mut sel = chan_select::Select::new();
    /// let index = sel.send(&s);
    /// assert_eq!(sel.ready_deadline(Instant::now()), Ok(index));
    /// # drop(r);
    /// ```
    pub fn ready_deadline(&mut self, deadline: Instant) -> Result<usize, ReadyTimeoutError> {
        run_ready(
            self.entries.as_mut_slice(),
            Timeout::At(deadline),
            self.biased,
        )
        .ok_or(ReadyTimeoutError)
    }

    /// Empties this `Select` for use with handles of another lifetime. Up to
    /// four operations are stored inside the `Select` itself, so reusing it
    /// for so many does not allocate.
    ///
    /// ```
    /// let (_s, r) = chan_core::unbounded::<i32>();
    /// let mut sel = chan_select::Select::new();
    /// sel.recv(&r);
    /// let mut sel = sel.recycle();
    /// assert!(sel.try_select().is_err());
    /// ```
    pub fn recycle<'b>(self) -> Select<'b> {
        Select {
            entries: Entries::new(),
            next_index: 0,
            biased: self.biased,
        }
    }
}

impl Clone for Select<'_> {
    fn clone(&self) -> Self {
        Select {
            entries: self.entries.clone(),
            next_index: self.next_index,
            biased: self.biased,
        }
    }
}

impl Default for Select<'_> {
    fn default() -> Self {
        Select::new()
    }
}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Select { .. }")
    }
}

/// The order in which one call visits its entries: a uniformly random
/// permutation of their positions, or the written order when biased.
///
/// The permutation is drawn lazily, front to back (Fisher-Yates): the k-th
/// visit swaps a random one of the positions not yet visited into place k.
/// A select whose first visit succeeds, the common case, draws one random
/// number; one that blocks has drawn the whole permutation by then and
/// registers in the same order. The entries themselves never move (their
/// addresses are the `Operation` ids). Up to `INLINE_ORDER` entries the
/// positions live on the stack; longer orders reuse the positions the
/// thread kept from the last one (`SPILLED_ORDER`). So no call allocates
/// once the thread has drawn an order that long.
pub(crate) struct VisitOrder {
    len: usize,
    /// Places `0..drawn` hold their final positions.
    drawn: usize,
    inline: [u8; INLINE_ORDER],
    /// The positions when there are more than `INLINE_ORDER` entries.
    spilled: Vec<usize>,
}

/// Entries whose visiting order fits on the stack.
const INLINE_ORDER: usize = 32;

std::thread_local! {
    /// The positions of the last order over more than `INLINE_ORDER`
    /// entries, kept so that drawing the next one does not allocate.
    static SPILLED_ORDER: Cell<Vec<usize>> = const { Cell::new(Vec::new()) };
}

impl Drop for VisitOrder {
    fn drop(&mut self) {
        if self.spilled.capacity() > 0 {
            let positions = mem::take(&mut self.spilled);
            let _ = SPILLED_ORDER.try_with(|kept| kept.set(positions));
        }
    }
}

impl VisitOrder {
    /// An order whose first place holds `first` (drawn by the caller: 0
    /// when biased, else uniformly at random).
    fn starting_with(len: usize, biased: bool, first: usize) -> VisitOrder {
        let mut order = VisitOrder::new(len, biased);
        if !biased {
            order.draw(0, first);
        }
        order
    }

    pub(crate) fn new(len: usize, biased: bool) -> VisitOrder {
        let mut inline = [0u8; INLINE_ORDER];
        for (place, position) in inline.iter_mut().enumerate() {
            *position = place as u8;
        }
        let mut spilled = Vec::new();
        if len > INLINE_ORDER {
            // The thread's kept positions, if no other order has them (a
            // select nested in a message's drop gets fresh ones).
            spilled = SPILLED_ORDER.try_with(Cell::take).unwrap_or_default();
            spilled.clear();
            spilled.extend(0..len);
        }
        VisitOrder {
            len,
            drawn: if biased { len } else { 0 },
            inline,
            spilled,
        }
    }

    /// The position of the entry to visit at `place` (`place < len`).
    #[inline]
    pub(crate) fn position(&mut self, place: usize) -> usize {
        if place >= self.drawn {
            debug_assert_eq!(place, self.drawn, "places are visited in order");
            self.draw(place, place + random_below(self.len - place));
        }
        if self.spilled.is_empty() {
            usize::from(self.inline[place])
        } else {
            self.spilled[place]
        }
    }

    /// One Fisher-Yates step: `place`, the next undrawn one, gets the
    /// position now at `pick` (`place <= pick < len`).
    #[inline]
    fn draw(&mut self, place: usize, pick: usize) {
        if self.spilled.is_empty() {
            self.inline.swap(place, pick);
        } else {
            self.spilled.swap(place, pick);
        }
        self.drawn = place + 1;
    }
}

/// What a select over no operations does: sleep until the timeout (forever
/// if there is none).
fn wait_out(timeout: Timeout) {
    match timeout {
        Timeout::Now => {}
        Timeout::Never => sleep_until(None),
        Timeout::At(when) => sleep_until(Some(when)),
    }
}

/// True once the caller may not wait any longer.
fn timed_out(timeout: Timeout) -> bool {
    match timeout {
        Timeout::Now => true,
        Timeout::Never => false,
        Timeout::At(when) => Instant::now() >= when,
    }
}

/// The earliest of the timeout and the entries' own deadlines.
fn earliest_deadline(entries: &[Entry<'_>], timeout: Timeout) -> Option<Instant> {
    let mut deadline = match timeout {
        Timeout::At(when) => Some(when),
        Timeout::Now | Timeout::Never => None,
    };
    for entry in entries {
        if let Some(when) = entry.handle.deadline() {
            deadline = Some(deadline.map_or(when, |d| d.min(when)));
        }
    }
    deadline
}

pub(crate) fn selected<'a>(token: Token, entry: &Entry<'a>) -> SelectedOperation<'a> {
    SelectedOperation {
        token,
        handle: entry.handle,
        index: entry.index,
        operation: entry.operation,
        _marker: PhantomData,
    }
}

fn run_select<'a>(
    entries: &mut [Entry<'a>],
    timeout: Timeout,
    biased: bool,
) -> Option<SelectedOperation<'a>> {
    if entries.is_empty() {
        wait_out(timeout);
        return None;
    }
    // The first visit, which usually wins, before any order is built: the
    // first place of a uniformly random permutation is a uniformly random
    // entry, and the order drawn later goes on from it.
    let first = if biased {
        0
    } else {
        random_below(entries.len())
    };
    let mut token = Token::default();
    if entries[first].handle.try_select(&mut token) {
        return Some(selected(token, &entries[first]));
    }
    let mut order = VisitOrder::starting_with(entries.len(), biased, first);
    let mut from_place = 1;
    loop {
        for place in from_place..entries.len() {
            let entry = &entries[order.position(place)];
            if entry.handle.try_select(&mut token) {
                return Some(selected(token, entry));
            }
        }
        from_place = 0;
        if timed_out(timeout) {
            if record_blocked(entries) && still_blocked(entries) {
                return None;
            }
            continue;
        }

        let chosen = Context::with(|cx| {
            let (state, ready_position) = register_and_wait(
                entries,
                &mut order,
                timeout,
                cx,
                Subscription {
                    subscribe: |handle, oper, cx| handle.register(oper, cx),
                    unsubscribe: |handle, oper| handle.unregister(oper),
                    // Stop waiting and retry the operation that looked ready.
                    when_ready: |_| Selected::Aborted,
                },
            );
            match state {
                Selected::Waiting => unreachable!("woken while still waiting"),
                Selected::Aborted => ready_position
                    .filter(|&position| entries[position].handle.try_select(&mut token)),
                Selected::Disconnected => None,
                Selected::Operation(oper) => entries.iter_mut().position(|entry| {
                    Operation::hook(entry) == oper && entry.handle.accept(&mut token, cx)
                }),
            }
        });
        if let Some(position) = chosen {
            return Some(selected(token, &entries[position]));
        }
    }
}

fn run_ready(entries: &mut [Entry<'_>], timeout: Timeout, biased: bool) -> Option<usize> {
    if entries.is_empty() {
        wait_out(timeout);
        return None;
    }
    // The first visit before any order is built, as in `run_select`.
    let first = if biased {
        0
    } else {
        random_below(entries.len())
    };
    if !observe_blocked(&mut entries[first]) {
        return Some(entries[first].index);
    }
    let mut order = VisitOrder::starting_with(entries.len(), biased, first);
    let mut from_place = 1;
    loop {
        // One round of observations: the first ready operation is the
        // answer; if every one is blocked, their stamps are recorded.
        for place in from_place..entries.len() {
            let entry = &mut entries[order.position(place)];
            if !observe_blocked(entry) {
                return Some(entry.index);
            }
        }
        from_place = 0;
        if timed_out(timeout) {
            if still_blocked(entries) {
                return None;
            }
            continue;
        }

        let chosen = Context::with(|cx| {
            let (state, _) = register_and_wait(
                entries,
                &mut order,
                timeout,
                cx,
                Subscription {
                    subscribe: |handle, oper, cx| handle.watch(oper, cx),
                    unsubscribe: |handle, oper| handle.unwatch(oper),
                    // Readiness is the answer itself.
                    when_ready: Selected::Operation,
                },
            );
            match state {
                Selected::Operation(oper) => entries
                    .iter_mut()
                    .position(|entry| Operation::hook(entry) == oper)
                    .map(|position| entries[position].index),
                _ => None,
            }
        });
        if chosen.is_some() {
            return chosen;
        }
    }
}

/// Observes the entry's operation; if it is blocked, records the stamp and
/// returns true.
fn observe_blocked(entry: &mut Entry<'_>) -> bool {
    match entry.handle.observe() {
        Readiness::Ready => false,
        Readiness::Blocked(stamp) => {
            entry.blocked_stamp = stamp;
            true
        }
    }
}

/// The first round of a give-up: true if every operation is blocked (their
/// stamps recorded), false as soon as one may proceed.
fn record_blocked(entries: &mut [Entry<'_>]) -> bool {
    entries.iter_mut().all(observe_blocked)
}

/// The second round of a give-up, after `record_blocked` (or a round of
/// `observe_blocked` on every entry) returned true: true if every operation
/// is still blocked with the stamp recorded, which proves that at one
/// moment between the rounds none of them could proceed.
fn still_blocked(entries: &[Entry<'_>]) -> bool {
    entries
        .iter()
        .all(|entry| entry.handle.observe() == Readiness::Blocked(entry.blocked_stamp))
}

/// How `register_and_wait` puts an entry on its channel's wait list and
/// takes it off again: operations for `select`, readiness for `ready`.
struct Subscription {
    /// Adds the entry; true if its operation may already be ready.
    subscribe: fn(&dyn SelectHandle, Operation, &Context) -> bool,
    /// Removes the entry.
    unsubscribe: fn(&dyn SelectHandle, Operation),
    /// The selection this thread claims for itself when an entry reports
    /// it may be ready while subscribing.
    when_ready: fn(Operation) -> Selected,
}

/// Subscribes every entry in `order` until one may already be ready or a
/// partner has chosen this thread, waits (until the earliest deadline) if
/// neither happened, and unsubscribes every entry it subscribed.
///
/// Returns the final selection and, if an entry reported itself ready and
/// this thread's claim of `when_ready` won, that entry's position.
fn register_and_wait(
    entries: &mut [Entry<'_>],
    order: &mut VisitOrder,
    timeout: Timeout,
    cx: &Context,
    subscription: Subscription,
) -> (Selected, Option<usize>) {
    let mut state = Selected::Waiting;
    let mut subscribed = 0;
    let mut ready_position = None;
    for place in 0..entries.len() {
        let position = order.position(place);
        let entry = &mut entries[position];
        subscribed += 1;
        let oper = Operation::hook(entry);
        if (subscription.subscribe)(entry.handle, oper, cx) {
            // Ready while we subscribed: stop unless a partner already
            // chose us.
            let claim = (subscription.when_ready)(oper);
            state = match cx.try_select(claim) {
                Ok(()) => {
                    ready_position = Some(position);
                    claim
                }
                Err(partner) => partner,
            };
            break;
        }
        state = cx.selected();
        if state != Selected::Waiting {
            break;
        }
    }
    if state == Selected::Waiting {
        probes::count(probes::Event::SelectWait);
        state = cx.wait_until(earliest_deadline(entries, timeout));
    }
    for place in 0..subscribed {
        let entry = &mut entries[order.position(place)];
        let oper = Operation::hook(entry);
        (subscription.unsubscribe)(entry.handle, oper);
    }
    (state, ready_position)
}

/// An operation chosen by a [`Select`], reserved and waiting to be
/// completed with [`send`](SelectedOperation::send) or
/// [`recv`](SelectedOperation::recv) on the same channel.
///
/// Dropping it without completing the operation panics, after releasing
/// the reservation so the channel stays usable (a reserved receive's
/// message is dropped, a reserved send sends nothing).
///
/// ```
/// let (s, r) = chan_core::unbounded();
/// s.send(1).unwrap();
/// let mut sel = chan_select::Select::new();
/// let index = sel.recv(&r);
/// let oper = sel.select();
/// assert_eq!(oper.index(), index);
/// assert_eq!(oper.recv(&r), Ok(1));
/// ```
#[must_use]
pub struct SelectedOperation<'a> {
    token: Token,
    /// The handle whose reservation `token` holds, to cancel it on drop.
    handle: &'a dyn SelectHandle,
    index: usize,
    operation: OperationId,
    /// Borrows the `Select`'s handles, and is neither `Send` nor `Sync`.
    _marker: PhantomData<(&'a (), *mut ())>,
}

impl SelectedOperation<'_> {
    /// The index of the chosen operation, as returned when it was added.
    ///
    /// ```
    /// let (s, r) = chan_core::bounded::<i32>(1);
    /// let mut sel = chan_select::Select::new();
    /// let recv = sel.recv(&r);
    /// let send = sel.send(&s);
    /// // The channel is empty, so only the send can proceed.
    /// let oper = sel.select();
    /// assert_eq!(oper.index(), send);
    /// assert_ne!(oper.index(), recv);
    /// oper.send(&s, 1).unwrap();
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// Completes the chosen send operation with `msg`.
    ///
    /// `s` must be a sender of the channel whose send was chosen (any clone
    /// of it will do). Fails, giving the message back, if the channel got
    /// disconnected.
    ///
    /// # Panics
    /// Panics with "passed a sender that wasn't selected" otherwise.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded();
    /// let mut sel = chan_select::Select::new();
    /// sel.send(&s);
    /// let oper = sel.select();
    /// oper.send(&s.clone(), 9).unwrap();
    /// assert_eq!(r.recv(), Ok(9));
    /// ```
    pub fn send<T>(mut self, s: &Sender<T>, msg: T) -> Result<(), SendError<T>> {
        assert!(
            self.operation == OperationId::send(sender_channel_id(s)),
            "passed a sender that wasn't selected",
        );
        // SAFETY: the token holds the send reservation made on this very
        // channel (checked above), not completed yet.
        let result = unsafe { write(s, &mut self.token, msg) };
        mem::forget(self);
        result.map_err(SendError)
    }

    /// Completes the chosen receive operation.
    ///
    /// `r` must be a receiver of the channel whose receive was chosen (any
    /// clone of it will do). Fails if the channel is empty and disconnected.
    ///
    /// # Panics
    /// Panics with "passed a receiver that wasn't selected" otherwise.
    ///
    /// ```
    /// let (s, r) = chan_core::unbounded();
    /// drop(s);
    /// let mut sel = chan_select::Select::new();
    /// sel.recv(&r);
    /// let oper = sel.select();
    /// assert_eq!(oper.recv(&r), Err::<i32, _>(chan_core::RecvError));
    /// ```
    pub fn recv<T>(mut self, r: &Receiver<T>) -> Result<T, RecvError> {
        assert!(
            self.operation == OperationId::recv(receiver_channel_id(r)),
            "passed a receiver that wasn't selected",
        );
        // SAFETY: the token holds the receive reservation made on this very
        // channel (checked above), not completed yet.
        let result = unsafe { read(r, &mut self.token) };
        mem::forget(self);
        result.map_err(|()| RecvError)
    }
}

impl fmt::Debug for SelectedOperation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("SelectedOperation { .. }")
    }
}

impl Drop for SelectedOperation<'_> {
    fn drop(&mut self) {
        // SAFETY: the token holds the reservation made by `handle`, not
        // completed (completing forgets `self`) nor cancelled before.
        unsafe { self.handle.cancel(&mut self.token) };
        // While unwinding (say, from a wrong-channel assertion) a second
        // panic would abort the process.
        if !std::thread::panicking() {
            panic!("dropped `SelectedOperation` without completing the operation");
        }
    }
}

#[cfg(all(test, not(loom)))]
#[path = "select_tests.rs"]
mod tests;
