//! Compiles `proto/` with protox (a pure-Rust protobuf compiler), so no system `protoc`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        "rentory/identity/v1/identity.proto",
        "rentory/kyc/v1/kyc.proto",
        "rentory/ai/v1/ai.proto",
        "rentory/listings/v1/listings.proto",
        "rentory/chat/v1/chat.proto",
        "rentory/payments/v1/payments.proto",
        "rentory/lease/v1/lease.proto",
        "rentory/events/v1/events.proto",
    ];
    let descriptors = protox::compile(files, [&root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
