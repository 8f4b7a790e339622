//! AFL++ target: see `forensics::fuzzing::cloudtrail` for the invariants.
fn main() {
    afl::fuzz!(|data: &[u8]| forensics::fuzzing::cloudtrail(data));
}
