//! The channel implementations under test, behind one small set of traits.
//!
//! Every contender implements [`Channel`] (make a channel, send, receive, clone a
//! sender). Those whose receivers can be cloned (multi-consumer channels) also
//! implement [`MultiConsumer`], and those with a select operation implement
//! [`Selecting`]. A workload is written once against the weakest trait it needs;
//! a contender lacking the trait simply cannot run it (the harness reports N/A).

/// A channel implementation: construction and the blocking send/receive pair.
pub trait Channel: 'static {
    /// Name shown in the result tables.
    const NAME: &'static str;
    /// Sending half. Cloning it gives another producer.
    type Tx<T: Send + 'static>: Clone + Send + 'static;
    /// Receiving half.
    type Rx<T: Send + 'static>: Send + 'static;

    /// A channel holding at most `cap` messages (`cap == 0`: rendezvous).
    fn bounded<T: Send + 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>);
    /// A channel without a capacity limit.
    fn unbounded<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>);
    /// Sends `msg`, blocking while the channel is full.
    ///
    /// # Panics
    /// If every receiver is gone: no workload ever sends to a dead channel.
    fn send<T: Send + 'static>(tx: &Self::Tx<T>, msg: T);
    /// Receives a message, blocking while the channel is empty; `None` once the
    /// channel is empty and every sender is gone.
    fn recv<T: Send + 'static>(rx: &Self::Rx<T>) -> Option<T>;
}

/// A channel whose receiver can be cloned, so several threads consume one channel.
pub trait MultiConsumer: Channel {
    /// Another receiver of the same channel.
    fn clone_rx<T: Send + 'static>(rx: &Self::Rx<T>) -> Self::Rx<T>;
}

/// A channel with a select operation over several channels.
///
/// The operations run a whole loop so that an implementation can build its
/// selector once and reuse it when its API allows that.
pub trait Selecting: MultiConsumer {
    /// Receives `count` messages in total, each from whichever of `rxs` is ready
    /// first, and hands each one to `each`.
    ///
    /// # Panics
    /// If a selected channel is disconnected (workloads keep all senders alive).
    fn select_recv<T: Send + Clone + 'static>(
        rxs: &[Self::Rx<T>],
        count: usize,
        each: impl FnMut(T),
    );
    /// Sends every message of `msgs`, each into whichever of `txs` is ready first.
    ///
    /// # Panics
    /// If a selected channel is disconnected (workloads keep all receivers alive).
    fn select_send<T: Send + Clone + 'static>(txs: &[Self::Tx<T>], msgs: impl Iterator<Item = T>);
}

/// Implements the three traits for a crate with crossbeam-channel's API
/// (crossbeam-channel itself and chan, which is a drop-in replacement).
macro_rules! crossbeam_like {
    ($(#[$doc:meta])* $ty:ident, $krate:ident, $name:literal) => {
        $(#[$doc])*
        pub struct $ty;

        impl Channel for $ty {
            const NAME: &'static str = $name;
            type Tx<T: Send + 'static> = $krate::Sender<T>;
            type Rx<T: Send + 'static> = $krate::Receiver<T>;

            fn bounded<T: Send + 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
                $krate::bounded(cap)
            }
            fn unbounded<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
                $krate::unbounded()
            }
            #[inline]
            fn send<T: Send + 'static>(tx: &Self::Tx<T>, msg: T) {
                if tx.send(msg).is_err() {
                    panic!("{}: send on a disconnected channel", $name);
                }
            }
            #[inline]
            fn recv<T: Send + 'static>(rx: &Self::Rx<T>) -> Option<T> {
                rx.recv().ok()
            }
        }

        impl MultiConsumer for $ty {
            fn clone_rx<T: Send + 'static>(rx: &Self::Rx<T>) -> Self::Rx<T> {
                rx.clone()
            }
        }

        impl Selecting for $ty {
            fn select_recv<T: Send + Clone + 'static>(
                rxs: &[Self::Rx<T>],
                count: usize,
                mut each: impl FnMut(T),
            ) {
                let mut sel = $krate::Select::new();
                for rx in rxs {
                    sel.recv(rx);
                }
                for _ in 0..count {
                    let op = sel.select();
                    let index = op.index();
                    match op.recv(&rxs[index]) {
                        Ok(msg) => each(msg),
                        Err(_) => panic!("{}: selected a disconnected receiver", $name),
                    }
                }
            }
            fn select_send<T: Send + Clone + 'static>(
                txs: &[Self::Tx<T>],
                msgs: impl Iterator<Item = T>,
            ) {
                let mut sel = $krate::Select::new();
                for tx in txs {
                    sel.send(tx);
                }
                for msg in msgs {
                    let op = sel.select();
                    let index = op.index();
                    if op.send(&txs[index], msg).is_err() {
                        panic!("{}: selected a disconnected sender", $name);
                    }
                }
            }
        }
    };
}

crossbeam_like!(
    /// chan, the crate this workspace builds.
    Chan,
    chan,
    "chan"
);
crossbeam_like!(
    /// crossbeam-channel 0.5, the baseline every ratio refers to.
    Crossbeam,
    crossbeam_channel,
    "crossbeam"
);

/// flume: MPMC with a `Selector` that is rebuilt for every operation.
pub struct Flume;

impl Channel for Flume {
    const NAME: &'static str = "flume";
    type Tx<T: Send + 'static> = flume::Sender<T>;
    type Rx<T: Send + 'static> = flume::Receiver<T>;

    fn bounded<T: Send + 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        flume::bounded(cap)
    }
    fn unbounded<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        flume::unbounded()
    }
    #[inline]
    fn send<T: Send + 'static>(tx: &Self::Tx<T>, msg: T) {
        if tx.send(msg).is_err() {
            panic!("flume: send on a disconnected channel");
        }
    }
    #[inline]
    fn recv<T: Send + 'static>(rx: &Self::Rx<T>) -> Option<T> {
        rx.recv().ok()
    }
}

impl MultiConsumer for Flume {
    fn clone_rx<T: Send + 'static>(rx: &Self::Rx<T>) -> Self::Rx<T> {
        rx.clone()
    }
}

impl Selecting for Flume {
    fn select_recv<T: Send + Clone + 'static>(
        rxs: &[Self::Rx<T>],
        count: usize,
        mut each: impl FnMut(T),
    ) {
        for _ in 0..count {
            // A `Selector` is consumed by `wait`, so it is built per message.
            let sel = rxs
                .iter()
                .fold(flume::Selector::new(), |sel, rx| sel.recv(rx, |r| r.ok()));
            match sel.wait() {
                Some(msg) => each(msg),
                None => panic!("flume: selected a disconnected receiver"),
            }
        }
    }
    fn select_send<T: Send + Clone + 'static>(txs: &[Self::Tx<T>], msgs: impl Iterator<Item = T>) {
        for msg in msgs {
            // Every send arm owns its own copy of the message; one is sent.
            let sel = txs.iter().fold(flume::Selector::new(), |sel, tx| {
                sel.send(tx, msg.clone(), |r| r.is_ok())
            });
            if !sel.wait() {
                panic!("flume: selected a disconnected sender");
            }
        }
    }
}

/// kanal: MPMC, no select over several channels.
pub struct Kanal;

impl Channel for Kanal {
    const NAME: &'static str = "kanal";
    type Tx<T: Send + 'static> = kanal::Sender<T>;
    type Rx<T: Send + 'static> = kanal::Receiver<T>;

    fn bounded<T: Send + 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        kanal::bounded(cap)
    }
    fn unbounded<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        kanal::unbounded()
    }
    #[inline]
    fn send<T: Send + 'static>(tx: &Self::Tx<T>, msg: T) {
        if tx.send(msg).is_err() {
            panic!("kanal: send on a disconnected channel");
        }
    }
    #[inline]
    fn recv<T: Send + 'static>(rx: &Self::Rx<T>) -> Option<T> {
        rx.recv().ok()
    }
}

impl MultiConsumer for Kanal {
    fn clone_rx<T: Send + 'static>(rx: &Self::Rx<T>) -> Self::Rx<T> {
        rx.clone()
    }
}

/// `std::sync::mpsc`: `sync_channel` for bounded flavors, `channel` for unbounded.
/// Single consumer and no select, so it runs only the MPSC-shaped workloads.
pub struct Std;

/// The sending half of a [`Std`] channel: std has distinct types for the
/// bounded and the unbounded flavor.
pub enum StdTx<T> {
    /// From `std::sync::mpsc::sync_channel`.
    Bounded(std::sync::mpsc::SyncSender<T>),
    /// From `std::sync::mpsc::channel`.
    Unbounded(std::sync::mpsc::Sender<T>),
}

impl<T> Clone for StdTx<T> {
    fn clone(&self) -> Self {
        match self {
            StdTx::Bounded(tx) => StdTx::Bounded(tx.clone()),
            StdTx::Unbounded(tx) => StdTx::Unbounded(tx.clone()),
        }
    }
}

impl Channel for Std {
    const NAME: &'static str = "std";
    type Tx<T: Send + 'static> = StdTx<T>;
    type Rx<T: Send + 'static> = std::sync::mpsc::Receiver<T>;

    fn bounded<T: Send + 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(cap);
        (StdTx::Bounded(tx), rx)
    }
    fn unbounded<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        let (tx, rx) = std::sync::mpsc::channel();
        (StdTx::Unbounded(tx), rx)
    }
    #[inline]
    fn send<T: Send + 'static>(tx: &Self::Tx<T>, msg: T) {
        let sent = match tx {
            StdTx::Bounded(tx) => tx.send(msg).is_ok(),
            StdTx::Unbounded(tx) => tx.send(msg).is_ok(),
        };
        if !sent {
            panic!("std: send on a disconnected channel");
        }
    }
    #[inline]
    fn recv<T: Send + 'static>(rx: &Self::Rx<T>) -> Option<T> {
        rx.recv().ok()
    }
}
