//! Generates the counter's Rust code from `proto/counter.proto`, with its gRPC gateway, and refuses
//! proto changes that break the contract locked in `restate-contract.lock` (write it anew on
//! purpose with `RESTATE_CONTRACT_LOCK=update cargo build`).

fn main() -> Result<(), restate_codegen::Error> {
    restate_codegen::configure()
        .grpc_gateway(true)
        .contract_lock("restate-contract.lock")
        .compile(&["proto/counter.proto"], &["proto"])
}
