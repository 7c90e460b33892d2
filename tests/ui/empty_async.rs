fn main() {
    let _ = async {
        chan::select_async! {}
    };
}
