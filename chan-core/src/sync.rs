//! The one place where chan gets its atomics, cells, locks and thread parking.
//!
//! Built normally, these are the standard library's (and parking_lot's mutex);
//! built with `--cfg loom`, they are loom's, so that the model checker sees
//! every synchronising operation the channels perform. Nothing else in chan
//! may use `std::sync::atomic`, `std::cell::UnsafeCell` or `std::thread`
//! parking directly.

#[cfg(not(loom))]
pub use core::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
#[cfg(loom)]
pub use loom::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};

#[cfg(loom)]
pub use loom::sync::Arc;
#[cfg(not(loom))]
pub use std::sync::Arc;

#[cfg(loom)]
pub use loom::thread::{current, park, yield_now, Thread};
#[cfg(not(loom))]
pub use std::thread::{current, park, yield_now, Thread};

/// Parks the current thread for at most `timeout`.
///
/// Loom has no notion of time: there a timed park is a yield, and callers
/// re-check their deadline in a loop.
#[cfg(not(loom))]
pub fn park_timeout(timeout: std::time::Duration) {
    std::thread::park_timeout(timeout)
}
#[cfg(loom)]
pub fn park_timeout(_timeout: std::time::Duration) {
    loom::thread::yield_now()
}

/// Tells the processor (or loom) that this thread is spinning.
#[inline]
pub fn spin_loop() {
    #[cfg(not(loom))]
    core::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// A mutual-exclusion lock whose `lock` cannot fail.
///
/// No code that runs under a chan lock calls user code, so a lock is never
/// poisoned. It is parking_lot's mutex in normal builds; std's under Miri
/// (Miri rejects the variadic `futex` syscall parking_lot_core makes, see
/// rust-lang/rust#161734); and loom's under loom, acquired by a yielding
/// `try_lock` loop, because loom 0.7's `unpark` can wake a thread that is
/// blocked on a held loom mutex, which then fails loom's own "expected to be
/// able to acquire lock" assertion (tokio-rs/loom#249).
#[derive(Default)]
pub struct Mutex<T>(
    #[cfg(all(not(loom), not(miri)))] parking_lot::Mutex<T>,
    #[cfg(all(not(loom), miri))] std::sync::Mutex<T>,
    #[cfg(loom)] loom::sync::Mutex<T>,
);

#[cfg(all(not(loom), not(miri)))]
pub type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
#[cfg(all(not(loom), miri))]
pub type MutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;
#[cfg(loom)]
pub type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    /// Creates a new unlocked mutex.
    pub fn new(value: T) -> Self {
        #[cfg(all(not(loom), not(miri)))]
        return Mutex(parking_lot::Mutex::new(value));
        #[cfg(all(not(loom), miri))]
        return Mutex(std::sync::Mutex::new(value));
        #[cfg(loom)]
        return Mutex(loom::sync::Mutex::new(value));
    }

    /// Acquires the lock, blocking the thread until it is free.
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(all(not(loom), not(miri)))]
        return self.0.lock();
        #[cfg(all(not(loom), miri))]
        return self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        #[cfg(loom)]
        loop {
            match self.0.try_lock() {
                Ok(guard) => return guard,
                Err(std::sync::TryLockError::WouldBlock) => loom::thread::yield_now(),
                Err(std::sync::TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
            }
        }
    }
}

/// An `UnsafeCell` with loom's closure-based access API.
#[cfg(not(loom))]
#[derive(Debug)]
pub struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// Wraps a value.
    #[inline]
    pub const fn new(value: T) -> Self {
        UnsafeCell(core::cell::UnsafeCell::new(value))
    }

    /// Gives `f` a shared raw pointer to the contents.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Gives `f` a mutable raw pointer to the contents.
    #[inline]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
#[cfg(loom)]
pub use loom::cell::UnsafeCell;

/// A number that identifies the calling thread while it lives.
///
/// It is the address of a thread-local byte: cheap to read and never shared
/// by two live threads.
#[inline]
pub fn current_thread_id() -> usize {
    #[cfg(not(loom))]
    std::thread_local! { static THREAD_MARKER: u8 = const { 0 }; }
    #[cfg(loom)]
    loom::thread_local! { static THREAD_MARKER: u8 = 0; }
    THREAD_MARKER.with(|marker| marker as *const u8 as usize)
}
