//! AFL++ target: see `forensics::fuzzing::config` for the input layout and the invariants.
fn main() {
    afl::fuzz!(|data: &[u8]| forensics::fuzzing::config(data));
}
