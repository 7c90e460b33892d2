use chan::{select, unbounded};

fn main() {
    let (_s, r) = unbounded::<i32>();
    let (_s2, r2) = unbounded::<i32>();
    select! {
        recv(r, r2) -> _ => {}
    }
}
