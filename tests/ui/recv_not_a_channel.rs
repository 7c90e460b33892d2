use chan::select;

fn main() {
    let numbers = vec![1, 2, 3];
    select! {
        recv(numbers) -> _ => {}
    }
}
