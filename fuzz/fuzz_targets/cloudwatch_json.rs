//! AFL++ target: see `forensics::fuzzing::cloudwatch_json` for the input layout and the invariants.
fn main() {
    afl::fuzz!(|data: &[u8]| forensics::fuzzing::cloudwatch_json(data));
}
