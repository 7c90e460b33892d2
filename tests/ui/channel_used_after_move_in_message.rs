use chan::{select, unbounded, Receiver};

fn main() {
    let (s, _r) = unbounded::<Receiver<i32>>();
    let (_s2, r2) = unbounded::<i32>();
    select! {
        recv(r2) -> _ => {}
        send(s, r2) -> _ => {}
    }
}
