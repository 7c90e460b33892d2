fn main() {
    let (_s, r) = chan::unbounded::<i32>();
    chan::select_async! {
        recv(r) -> msg => drop(msg),
    }
}
