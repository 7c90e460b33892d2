use chan::{select, unbounded};

fn main() {
    let (s, _r) = unbounded::<i32>();
    select! {
        recv(s) -> _ => {}
    }
}
