//! Compiles `proto/domain.proto` with prost (protox parses it; no system protoc needed), and
//! keeps its encoded descriptors for the components to embed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/domain.proto");
    let descriptors = protox::compile(["domain.proto"], ["proto"])?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("domain.fds"), prost::Message::encode_to_vec(&descriptors))?;
    prost_build::Config::new()
        .enable_type_names()
        .type_name_domain(["."], "type.googleapis.com")
        .compile_fds(descriptors)?;
    Ok(())
}
