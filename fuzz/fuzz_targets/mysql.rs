//! AFL++ target: see `forensics::fuzzing::mysql` for the input layout and the invariants.
fn main() {
    afl::fuzz!(|data: &[u8]| forensics::fuzzing::mysql(data));
}
