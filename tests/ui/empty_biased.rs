use chan::select_biased;

fn main() {
    let _ = select_biased! {};
}
