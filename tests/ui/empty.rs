use chan::select;

fn main() {
    select! {}
}
