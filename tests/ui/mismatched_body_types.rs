use chan::{select, unbounded};

fn main() {
    let (_s, r) = unbounded::<i32>();
    let value = select! {
        recv(r) -> msg => msg.unwrap(),
        default => "nothing",
    };
    drop(value);
}
