//! AFL++ target: see `forensics::fuzzing::postgres_csv` for the input layout and the invariants.
fn main() {
    afl::fuzz!(|data: &[u8]| forensics::fuzzing::postgres_csv(data));
}
