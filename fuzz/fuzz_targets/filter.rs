//! AFL++ target: see `forensics::fuzzing::filter` for the input layout and the invariants.
fn main() {
    afl::fuzz!(|data: &[u8]| forensics::fuzzing::filter(data));
}
