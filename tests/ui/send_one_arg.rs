use chan::{select, unbounded};

fn main() {
    let (s, _r) = unbounded::<i32>();
    select! {
        send(s) -> _ => {}
    }
}
