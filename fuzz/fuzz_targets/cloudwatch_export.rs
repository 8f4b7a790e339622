//! AFL++ target: see `forensics::fuzzing::cloudwatch_export` for the input layout and the invariants.
fn main() {
    afl::fuzz!(|data: &[u8]| forensics::fuzzing::cloudwatch_export(data));
}
