//! Request/response: each request carries its own reply channel.
//!
//! A server thread owns some state (here: a key-value store) and serves
//! requests from one channel. Clients do not share a reply channel; instead
//! every request carries a `Sender` of a fresh `bounded(1)` channel, and the
//! client waits on the matching `Receiver`. A capacity of one is enough for a
//! single reply and lets the server answer without ever blocking, even if the
//! client has given up (the reply is then simply dropped with the channel).
//!
//! Several client threads each store and read back their own keys and check
//! every answer. At the end the main thread asks the server for its statistics
//! and checks the counts; any mismatch panics (non-zero exit). The server
//! stops when every client has dropped its request `Sender`.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release --example request_response
//! ```

use std::collections::HashMap;
use std::thread;
use std::time::Duration;

use chan::{bounded, unbounded, Receiver, Sender};

/// Number of client threads.
const CLIENTS: u64 = 4;
/// Keys written (and read back) by each client.
const KEYS_PER_CLIENT: u64 = 20_000;

/// Everything the server understands. Each variant carries the sender on
/// which the server must reply.
enum Request {
    /// Store `value` under `key`; replies with the previous value, if any.
    Put {
        key: u64,
        value: u64,
        reply: Sender<Option<u64>>,
    },
    /// Look `key` up.
    Get {
        key: u64,
        reply: Sender<Option<u64>>,
    },
    /// Report how many requests of each kind have been served.
    Stats { reply: Sender<Stats> },
}

/// Counters kept by the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Stats {
    puts: u64,
    gets: u64,
    keys: u64,
}

/// The server loop: runs until every request sender is gone.
fn serve(requests: Receiver<Request>) -> Stats {
    let mut store = HashMap::new();
    let mut stats = Stats::default();
    for request in requests {
        // A failed reply means that client stopped waiting; that is its
        // business, so the error is ignored.
        match request {
            Request::Put { key, value, reply } => {
                stats.puts += 1;
                let _ = reply.send(store.insert(key, value));
            }
            Request::Get { key, reply } => {
                stats.gets += 1;
                let _ = reply.send(store.get(&key).copied());
            }
            Request::Stats { reply } => {
                stats.keys = store.len() as u64;
                let _ = reply.send(stats);
            }
        }
    }
    stats.keys = store.len() as u64;
    stats
}

/// Send `request` built around a fresh reply channel and wait for the answer.
fn call<R>(server: &Sender<Request>, make: impl FnOnce(Sender<R>) -> Request) -> R {
    let (reply_tx, reply_rx) = bounded(1);
    server.send(make(reply_tx)).expect("server is gone");
    reply_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("no reply from the server within 10 s")
}

fn client(id: u64, server: Sender<Request>) {
    let key_of = |i: u64| id * KEYS_PER_CLIENT + i;
    let value_of = |i: u64| (id << 32) ^ i.wrapping_mul(0x9E37_79B9);

    for i in 0..KEYS_PER_CLIENT {
        let previous = call(&server, |reply| Request::Put {
            key: key_of(i),
            value: value_of(i),
            reply,
        });
        assert_eq!(
            previous,
            None,
            "client {id}: key {} already existed",
            key_of(i)
        );
    }
    for i in 0..KEYS_PER_CLIENT {
        let got = call(&server, |reply| Request::Get {
            key: key_of(i),
            reply,
        });
        assert_eq!(
            got,
            Some(value_of(i)),
            "client {id}: wrong value for key {}",
            key_of(i)
        );
    }
    // A key nobody wrote.
    let missing = call(&server, |reply| Request::Get {
        key: u64::MAX - id,
        reply,
    });
    assert_eq!(missing, None, "client {id}: found a key nobody wrote");
}

fn main() {
    // Unbounded request queue: clients wait on their reply anyway, so at most
    // one request per client is ever queued.
    let (request_tx, request_rx) = unbounded();
    let server = thread::spawn(move || serve(request_rx));

    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let request_tx = request_tx.clone();
            thread::spawn(move || client(id, request_tx))
        })
        .collect();
    for c in clients {
        c.join().expect("a client failed");
    }

    // Ask while the server is still running, then let it shut down.
    let live = call(&request_tx, |reply| Request::Stats { reply });
    drop(request_tx);
    let final_stats = server.join().expect("server panicked");

    let expected = Stats {
        puts: CLIENTS * KEYS_PER_CLIENT,
        gets: CLIENTS * (KEYS_PER_CLIENT + 1),
        keys: CLIENTS * KEYS_PER_CLIENT,
    };
    println!("request_response: {CLIENTS} clients, 1 server");
    println!(
        "  served {} puts and {} gets; store holds {} keys",
        live.puts, live.gets, live.keys
    );
    assert_eq!(live, expected, "server statistics are wrong");
    assert_eq!(
        final_stats, expected,
        "server statistics changed after the last client"
    );
    println!("  every reply matched its request");
    println!("OK");
}
