use chan::{select, unbounded};

fn main() {
    let (_s, r) = unbounded::<i32>();
    let (_s2, r2) = unbounded::<i32>();
    let n = select! {
        recv(r) -> _ => 1
        recv(r2) -> _ => 2,
    };
    drop(n);
}
