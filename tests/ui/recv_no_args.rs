use chan::select;

fn main() {
    select! {
        recv() -> _ => {}
    }
}
