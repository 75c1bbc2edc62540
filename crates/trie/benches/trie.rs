//! Trie benchmarks (filled in below).
fn main() {}
