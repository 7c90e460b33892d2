use chan::{select, unbounded};

fn main() {
    let (_s, r) = unbounded::<i32>();
    select! {
        recv(r) -> _ => {}
        default(std::time::Duration::from_secs(1), std::time::Duration::from_secs(2)) => {}
    }
}
