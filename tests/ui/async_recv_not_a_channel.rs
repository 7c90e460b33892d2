fn main() {
    let not_a_channel = 5u8;
    let _ = async move {
        chan::select_biased_async! {
            recv(not_a_channel) -> msg => drop(msg),
        }
    };
}
