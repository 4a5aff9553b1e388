//! Compiles `proto/domain.proto` with prost (protox parses it; no system protoc needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/domain.proto");
    let descriptors = protox::compile(["domain.proto"], ["proto"])?;
    prost_build::Config::new()
        .enable_type_names()
        .type_name_domain(["."], "type.googleapis.com")
        .compile_fds(descriptors)?;
    Ok(())
}
