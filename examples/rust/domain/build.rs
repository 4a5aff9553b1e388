//! Compiles the examples' shared `examples/proto/domain.proto` (the messages every example
//! language uses) with prost (protox parses it; no system protoc needed), and keeps its
//! encoded descriptors for the components to embed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    println!("cargo:rerun-if-changed={}", protos.join("domain.proto").display());
    let descriptors = protox::compile(["domain.proto"], [&protos])?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("domain.fds"), prost::Message::encode_to_vec(&descriptors))?;
    prost_build::Config::new()
        .enable_type_names()
        .type_name_domain(["."], "type.googleapis.com")
        .compile_fds(descriptors)?;
    Ok(())
}
