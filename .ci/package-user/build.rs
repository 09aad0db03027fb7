fn main() -> Result<(), restate_codegen::Error> {
    restate_codegen::configure()
        .contract_lock("restate-contract.lock")
        .compile(&["proto/greeter.proto"], &["proto"])
}
