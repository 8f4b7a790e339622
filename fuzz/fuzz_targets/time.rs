//! AFL++ target: see `forensics::fuzzing::time` for the input layout and the invariants.
fn main() {
    afl::fuzz!(|data: &[u8]| forensics::fuzzing::time(data));
}
