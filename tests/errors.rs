//! Error types (texts, derives, methods, conversions) and static trait
//! properties of the public types.

use chan::{
    bounded, never, unbounded, IntoIter, Iter, ReadyTimeoutError, Receiver, RecvError,
    RecvTimeoutError, Select, SelectTimeoutError, SelectedOperation, SendError, SendTimeoutError,
    Sender, TryIter, TryReadyError, TryRecvError, TrySelectError, TrySendError,
};
use std::cell::{Cell, UnsafeCell};
use std::error::Error;
use std::iter::FusedIterator;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::rc::Rc;

/// A message type that implements neither `Debug`, `Clone` nor `Sync`.
struct Opaque(#[allow(dead_code)] Cell<u8>);

fn is_error<E: Error>() {}
fn is_send_sync<T: Send + Sync>() {}
fn is_unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}
fn is_clone<T: Clone>() {}
fn cloned<T: Clone>(t: &T) -> T {
    t.clone()
}
fn is_debug<T: std::fmt::Debug>() {}
fn is_fused<T: FusedIterator>() {}
fn is_iterator<T: Iterator>() {}

// crossbeam-channel 0.5.17 writes the send errors' Debug text through
// `<str as Debug>::fmt`, so the text includes the double quotes, e.g.
// `format!("{:?}", SendError(1)) == "\"SendError(..)\""`. A drop-in
// replacement must print exactly the same thing.

#[test]
fn send_error() {
    let e = SendError(5);
    assert_eq!(e.to_string(), "sending on a disconnected channel");
    assert_eq!(format!("{e:?}"), "\"SendError(..)\"");
    assert_eq!(e.0, 5);
    let copy = e;
    assert_eq!(copy, cloned(&e));
    assert_ne!(SendError(1), SendError(2));
    assert_eq!(e.into_inner(), 5);
    // Debug does not require `T: Debug`, and Error only `T: Send`.
    assert_eq!(
        format!("{:?}", SendError(Opaque(Cell::new(0)))),
        "\"SendError(..)\""
    );
    is_error::<SendError<Opaque>>();
    is_error::<SendError<String>>();
}

#[test]
fn try_send_error() {
    let full = TrySendError::Full(1);
    let disc = TrySendError::Disconnected(2);
    assert_eq!(full.to_string(), "sending on a full channel");
    assert_eq!(disc.to_string(), "sending on a disconnected channel");
    assert_eq!(format!("{full:?}"), "\"Full(..)\"");
    assert_eq!(format!("{disc:?}"), "\"Disconnected(..)\"");
    assert!(full.is_full() && !full.is_disconnected());
    assert!(disc.is_disconnected() && !disc.is_full());
    let copy = full;
    assert_eq!(copy, cloned(&full));
    assert_ne!(full, TrySendError::Disconnected(1));
    assert_eq!(full.into_inner(), 1);
    assert_eq!(disc.into_inner(), 2);
    assert_eq!(
        TrySendError::from(SendError(3)),
        TrySendError::Disconnected(3)
    );
    let e: TrySendError<Opaque> = TrySendError::Full(Opaque(Cell::new(0)));
    assert_eq!(format!("{e:?}"), "\"Full(..)\"");
    is_error::<TrySendError<Opaque>>();
}

#[test]
fn send_timeout_error() {
    let t = SendTimeoutError::Timeout(1);
    let d = SendTimeoutError::Disconnected(2);
    assert_eq!(t.to_string(), "timed out waiting on send operation");
    assert_eq!(d.to_string(), "sending on a disconnected channel");
    assert_eq!(format!("{t:?}"), "\"SendTimeoutError(..)\"");
    assert_eq!(format!("{d:?}"), "\"SendTimeoutError(..)\"");
    assert!(t.is_timeout() && !t.is_disconnected());
    assert!(d.is_disconnected() && !d.is_timeout());
    let copy = t;
    assert_eq!(copy, cloned(&t));
    assert_ne!(t, SendTimeoutError::Disconnected(1));
    assert_eq!(t.into_inner(), 1);
    assert_eq!(d.into_inner(), 2);
    assert_eq!(
        SendTimeoutError::from(SendError(3)),
        SendTimeoutError::Disconnected(3)
    );
    is_error::<SendTimeoutError<Opaque>>();
}

#[test]
fn recv_error() {
    assert_eq!(
        RecvError.to_string(),
        "receiving on an empty and disconnected channel"
    );
    assert_eq!(format!("{RecvError:?}"), "RecvError");
    let copy = RecvError;
    assert_eq!(copy, cloned(&RecvError));
    is_error::<RecvError>();
}

#[test]
fn try_recv_error() {
    let e = TryRecvError::Empty;
    let d = TryRecvError::Disconnected;
    assert_eq!(e.to_string(), "receiving on an empty channel");
    assert_eq!(
        d.to_string(),
        "receiving on an empty and disconnected channel"
    );
    assert_eq!(format!("{e:?}"), "Empty");
    assert_eq!(format!("{d:?}"), "Disconnected");
    assert!(e.is_empty() && !e.is_disconnected());
    assert!(d.is_disconnected() && !d.is_empty());
    assert_ne!(e, d);
    let copy = e;
    assert_eq!(copy, cloned(&e));
    assert_eq!(TryRecvError::from(RecvError), TryRecvError::Disconnected);
    is_error::<TryRecvError>();
}

#[test]
fn recv_timeout_error() {
    let t = RecvTimeoutError::Timeout;
    let d = RecvTimeoutError::Disconnected;
    assert_eq!(t.to_string(), "timed out waiting on receive operation");
    assert_eq!(d.to_string(), "channel is empty and disconnected");
    assert_eq!(format!("{t:?}"), "Timeout");
    assert_eq!(format!("{d:?}"), "Disconnected");
    assert!(t.is_timeout() && !t.is_disconnected());
    assert!(d.is_disconnected() && !d.is_timeout());
    assert_ne!(t, d);
    let copy = t;
    assert_eq!(copy, cloned(&t));
    assert_eq!(
        RecvTimeoutError::from(RecvError),
        RecvTimeoutError::Disconnected
    );
    is_error::<RecvTimeoutError>();
}

#[test]
fn select_errors() {
    assert_eq!(
        TrySelectError.to_string(),
        "all operations in select would block"
    );
    assert_eq!(format!("{TrySelectError:?}"), "TrySelectError");
    assert_eq!(
        SelectTimeoutError.to_string(),
        "timed out waiting on select"
    );
    assert_eq!(format!("{SelectTimeoutError:?}"), "SelectTimeoutError");
    assert_eq!(format!("{TryReadyError:?}"), "TryReadyError");
    assert_eq!(format!("{ReadyTimeoutError:?}"), "ReadyTimeoutError");
    let (a, b, c, d) = (
        TrySelectError,
        SelectTimeoutError,
        TryReadyError,
        ReadyTimeoutError,
    );
    let (a2, b2, c2, d2) = (a, b, c, d);
    assert_eq!(
        (a, b, c, d),
        (cloned(&a2), cloned(&b2), cloned(&c2), cloned(&d2))
    );
    is_error::<TrySelectError>();
    is_error::<SelectTimeoutError>();
}

#[test]
fn errors_work_with_question_mark() {
    fn send_fails() -> Result<(), Box<dyn Error + Send + Sync>> {
        let (s, r) = unbounded::<String>();
        drop(r);
        s.send("x".to_string())?;
        Ok(())
    }
    fn recv_fails() -> Result<i32, Box<dyn Error>> {
        let (s, r) = bounded::<i32>(1);
        drop(s);
        Ok(r.recv()?)
    }
    fn try_send_converts() -> Result<(), TrySendError<i32>> {
        let (s, r) = unbounded();
        drop(r);
        s.send(7)?;
        Ok(())
    }
    assert_eq!(
        send_fails().unwrap_err().to_string(),
        "sending on a disconnected channel"
    );
    assert_eq!(
        recv_fails().unwrap_err().to_string(),
        "receiving on an empty and disconnected channel"
    );
    assert_eq!(try_send_converts(), Err(TrySendError::Disconnected(7)));
}

#[test]
fn handle_debug_texts() {
    let (s, r) = unbounded::<Opaque>();
    assert_eq!(format!("{s:?}"), "Sender { .. }");
    assert_eq!(format!("{r:?}"), "Receiver { .. }");
    // Formatted with `pad`, so width and alignment apply.
    assert_eq!(format!("{s:>15?}|"), "  Sender { .. }|");
    assert_eq!(format!("{r:<18?}|"), "Receiver { .. }   |");
    assert_eq!(format!("{:?}", r.iter()), "Iter { .. }");
    assert_eq!(format!("{:?}", r.try_iter()), "TryIter { .. }");
    assert_eq!(format!("{:?}", r.clone().into_iter()), "IntoIter { .. }");
    assert_eq!(format!("{:?}", Select::new()), "Select { .. }");
    assert_eq!(format!("{:?}", never::<Opaque>()), "Receiver { .. }");

    let (s, r) = bounded::<i32>(1);
    s.send(1).unwrap();
    let mut sel = Select::new();
    sel.recv(&r);
    let op = sel.select();
    assert_eq!(format!("{op:?}"), "SelectedOperation { .. }");
    assert_eq!(op.recv(&r), Ok(1));
}

#[test]
fn static_trait_properties() {
    // Send + Sync whenever T: Send, even if T is not Sync.
    is_send_sync::<Sender<Cell<u8>>>();
    is_send_sync::<Receiver<Cell<u8>>>();
    is_send_sync::<Sender<Box<dyn std::any::Any + Send>>>();
    is_send_sync::<Select<'static>>();

    // Unwind safe for every T.
    is_unwind_safe::<Sender<UnsafeCell<u8>>>();
    is_unwind_safe::<Receiver<UnsafeCell<u8>>>();
    is_unwind_safe::<Sender<&'static mut u8>>();
    is_unwind_safe::<Receiver<&'static mut u8>>();
    is_unwind_safe::<Sender<Rc<Cell<u8>>>>();

    // Clone and Debug without bounds on T.
    is_clone::<Sender<Opaque>>();
    is_clone::<Receiver<Opaque>>();
    is_debug::<Sender<Opaque>>();
    is_debug::<Receiver<Opaque>>();
    is_clone::<Select<'static>>();
    is_debug::<Select<'static>>();
    is_debug::<SelectedOperation<'static>>();

    // Iterators.
    is_fused::<Iter<'static, Opaque>>();
    is_fused::<IntoIter<Opaque>>();
    is_iterator::<TryIter<'static, Opaque>>();
    is_debug::<Iter<'static, Opaque>>();
    is_debug::<TryIter<'static, Opaque>>();
    is_debug::<IntoIter<Opaque>>();

    fn iter_type<'a, T>(r: &'a Receiver<T>) -> Iter<'a, T> {
        r.into_iter()
    }
    fn into_iter_type<T>(r: Receiver<T>) -> IntoIter<T> {
        r.into_iter()
    }
    let (s, r) = unbounded::<Rc<u8>>();
    s.send(Rc::new(1)).unwrap();
    drop(s);
    assert_eq!(iter_type(&r).count(), 1);
    assert_eq!(into_iter_type(r).count(), 0);

    let default: Select<'static> = Select::default();
    let _ = default.clone();
    let _ = Select::new_biased();
}

#[test]
fn clone_does_not_need_clone_messages() {
    let (s, r) = unbounded::<Opaque>();
    let s2 = s.clone();
    let r2 = r.clone();
    s2.send(Opaque(Cell::new(3))).unwrap();
    assert_eq!(r2.recv().unwrap().0.get(), 3);
    drop((s, r));
}
