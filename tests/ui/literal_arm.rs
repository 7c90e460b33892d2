use chan::select;

fn main() {
    select! {
        5 => {}
    }
}
