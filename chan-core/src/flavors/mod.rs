//! The channel flavors, one per file. Each file opens with its algorithm
//! and invariants; `channel.rs` dispatches the public `Sender`/`Receiver`
//! to them, and the select engine drives them through `SelectHandle`
//! (`handle.rs`).
//!
//! | flavor | channel | blocking |
//! |---|---|---|
//! | `array` | `bounded(n)`, n >= 1: a lock-free ring of stamped slots | wait queues; a blocked side's operation may be completed for it |
//! | `list` | `unbounded()`: a lock-free linked list of blocks | receivers only; sends never block |
//! | `zero` | `bounded(0)`: a rendezvous under one lock | a packet handed from thread to thread |
//! | `at` | `after`, `at`: one message at an instant | sleeps; select learns the deadline |
//! | `tick` | `tick`: a message every period | sleeps; select learns the deadline |
//! | `never` | `never()`: nothing, ever | sleeps |
//!
//! What every flavor offers the facade: `try_send`/`send` and
//! `try_recv`/`recv` (with an optional deadline) where the direction
//! exists, `len`, `capacity`, `is_empty`, `is_full`, the two-phase
//! operations the select engine completes (`start_send`/`write`/
//! `cancel_send`, `start_recv`/`read`/`cancel_recv`), and a
//! `SelectHandle` per side.

pub mod array;
pub mod at;
pub mod list;
pub mod never;
pub mod tick;
pub mod zero;
