//! Misuse that must not compile.

#[test]
fn shared_handlers_cannot_write_state() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
