//! The 2015-style `#[macro_use] extern crate crossbeam_channel;` import,
//! still common in code migrating from older crossbeam versions.

#[macro_use]
extern crate crossbeam_channel;

#[test]
fn macro_use_import() {
    let (s, r) = crossbeam_channel::unbounded::<i32>();
    s.send(1).unwrap();
    let got = select! {
        recv(r) -> msg => msg.unwrap(),
        default => 0,
    };
    assert_eq!(got, 1);
    let got = select_biased! {
        recv(r) -> msg => msg.unwrap(),
        default => 0,
    };
    assert_eq!(got, 0);
}
