use chan::{select, unbounded};

fn main() {
    let (_s, r) = unbounded::<i32>();
    select! {
        recv(r) -> _ => {}
        foo(r) -> _ => {}
    }
}
