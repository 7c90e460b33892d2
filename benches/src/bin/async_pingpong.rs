//! Single-thread async ping-pong, for instruction counts: two tasks on
//! futures' `LocalPool` bounce a counter over two `bounded(1)` channels, so
//! every receive waits and every send wakes the other task. A round trip is
//! two waits, two wakes and four polls of the contender's futures, plus the
//! executor's own work, which is the same for every contender.
//!
//! Usage: `async_pingpong CONTENDER K` (chan, flume, kanal, async-channel);
//! count instructions per round trip with two runs that differ only in K:
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/async_pingpong chan 10000
//! ```
//!
//! `scripts/instructions.sh` guards chan's count (`async pingpong`).

use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

/// Spawns the two tasks for one contender's async `send`/`recv` calls.
macro_rules! pingpong {
    ($spawner:expr, $k:expr, $make:expr, $send:ident, $recv:ident) => {{
        let (s1, r1) = $make;
        let (s2, r2) = $make;
        let k: u64 = $k;
        $spawner
            .spawn_local(async move {
                for i in 0..k {
                    s1.$send(i).await.unwrap();
                    assert_eq!(r2.$recv().await.unwrap(), i, "a message was lost");
                }
            })
            .unwrap();
        $spawner
            .spawn_local(async move {
                while let Ok(i) = r1.$recv().await {
                    s2.$send(i).await.unwrap();
                }
            })
            .unwrap();
    }};
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: async_pingpong chan|flume|kanal|async-channel K";
    let [contender, k] = args.as_slice() else {
        panic!("{usage}");
    };
    let k: u64 = k.parse().expect("K must be a number");
    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    match contender.as_str() {
        "chan" => pingpong!(spawner, k, chan::bounded::<u64>(1), send_async, recv_async),
        "flume" => pingpong!(spawner, k, flume::bounded::<u64>(1), send_async, recv_async),
        "kanal" => pingpong!(spawner, k, kanal::bounded_async::<u64>(1), send, recv),
        "async-channel" => pingpong!(spawner, k, async_channel::bounded::<u64>(1), send, recv),
        other => panic!("unknown contender {other}; {usage}"),
    }
    pool.run();
    println!("{contender}: {k} round trips");
}
