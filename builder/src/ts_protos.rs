//! `.proto` files as TypeScript modules for JavaScript actors: one module per protobuf
//! package (`@proto/<package>` in the actor's imports), exporting for each message an
//! interface of its fields (for editors; esbuild strips it) and, under the same name, its
//! `MessageType` (`create`, `toBinary`, `fromBinary`), which the SDK looks up by name in
//! the embedded descriptor set. Enums become TypeScript enums.
//!
//! Field names and types follow @bufbuild/protobuf's representation: lowerCamelCase names,
//! 64-bit integers as `bigint`, `bytes` as `Uint8Array`, maps as records, a `oneof` as
//! `{ case, value }`, a message field as the message or `undefined`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorSet};

/// A generated module: the package it is imported as (`@proto/<package>`) and its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsModule {
    /// The protobuf package (or the file's stem for a file without one).
    pub package: String,
    /// The TypeScript source.
    pub source: String,
}

/// protoCamelCase, as @bufbuild/protobuf names fields: `snake_case` → `snakeCase`.
fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Where a fully qualified type is declared, and its name in a module.
struct Names {
    /// `.pkg.Outer.Inner` → (package, `Outer_Inner`, is a map entry).
    types: BTreeMap<String, (String, String, bool)>,
}

impl Names {
    fn collect(set: &FileDescriptorSet) -> Names {
        fn messages(names: &mut Names, package: &str, prefix: &str, local: &str, message: &DescriptorProto) {
            let full = format!("{prefix}.{}", message.name());
            let name = if local.is_empty() { message.name().to_owned() } else { format!("{local}_{}", message.name()) };
            let map_entry = message.options.as_ref().is_some_and(|options| options.map_entry());
            names.types.insert(full.clone(), (package.to_owned(), name.clone(), map_entry));
            for nested in &message.nested_type {
                messages(names, package, &full, &name, nested);
            }
            for enumeration in &message.enum_type {
                let full = format!("{full}.{}", enumeration.name());
                names.types.insert(full, (package.to_owned(), format!("{name}_{}", enumeration.name()), false));
            }
        }
        let mut names = Names { types: BTreeMap::new() };
        for file in &set.file {
            let package = file.package();
            let prefix = if package.is_empty() { String::new() } else { format!(".{package}") };
            for message in &file.message_type {
                messages(&mut names, package, &prefix, "", message);
            }
            for enumeration in &file.enum_type {
                names.types.insert(
                    format!("{prefix}.{}", enumeration.name()),
                    (package.to_owned(), enumeration.name().to_owned(), false),
                );
            }
        }
        names
    }

    /// The TypeScript type of a message or enum named `full` as seen from `package`.
    fn reference(&self, full: &str, package: &str, fallback: &str) -> String {
        match self.types.get(full) {
            Some((owner, name, _)) if owner == package => name.clone(),
            _ => fallback.to_owned(),
        }
    }
}

fn scalar(field: &FieldDescriptorProto, names: &Names, package: &str) -> String {
    match field.r#type() {
        Type::Double | Type::Float | Type::Int32 | Type::Uint32 | Type::Sint32 | Type::Fixed32 | Type::Sfixed32 => {
            "number".into()
        }
        Type::Int64 | Type::Uint64 | Type::Sint64 | Type::Fixed64 | Type::Sfixed64 => "bigint".into(),
        Type::Bool => "boolean".into(),
        Type::String => "string".into(),
        Type::Bytes => "Uint8Array".into(),
        Type::Enum => names.reference(field.type_name(), package, "number"),
        Type::Message | Type::Group => names.reference(field.type_name(), package, "object"),
    }
}

fn field_type(field: &FieldDescriptorProto, names: &Names, package: &str, set: &FileDescriptorSet) -> String {
    let repeated = field.label() == Label::Repeated;
    if repeated
        && field.r#type() == Type::Message
        && let Some(entry) = map_entry(set, field.type_name())
    {
        let value = scalar(&entry.field[1], names, package);
        return format!("{{ [key: string]: {value} }}");
    }
    let base = scalar(field, names, package);
    if repeated {
        format!("{base}[]")
    } else if field.r#type() == Type::Message {
        format!("{base} | undefined")
    } else {
        base
    }
}

/// The map-entry message named `full`, if it is one.
fn map_entry<'a>(set: &'a FileDescriptorSet, full: &str) -> Option<&'a DescriptorProto> {
    fn find<'a>(prefix: &str, messages: &'a [DescriptorProto], full: &str) -> Option<&'a DescriptorProto> {
        messages.iter().find_map(|message| {
            let name = format!("{prefix}.{}", message.name());
            if name == full {
                return message.options.as_ref().is_some_and(|options| options.map_entry()).then_some(message);
            }
            full.starts_with(&format!("{name}.")).then(|| find(&name, &message.nested_type, full)).flatten()
        })
    }
    set.file.iter().find_map(|file| {
        let prefix = if file.package().is_empty() { String::new() } else { format!(".{}", file.package()) };
        find(&prefix, &file.message_type, full)
    })
}

fn write_enum(out: &mut String, name: &str, full: &str, enumeration: &EnumDescriptorProto) {
    let _ = writeln!(out, "/** `{full}` */\nexport enum {name} {{");
    for value in &enumeration.value {
        let _ = writeln!(out, "  {} = {},", value.name(), value.number());
    }
    out.push_str("}\n\n");
}

struct Context<'a> {
    names: &'a Names,
    set: &'a FileDescriptorSet,
    package: &'a str,
}

fn write_message(out: &mut String, context: &Context, full: &str, local: &str, message: &DescriptorProto) {
    if message.options.as_ref().is_some_and(|options| options.map_entry()) {
        return;
    }
    let type_name = full.trim_start_matches('.');
    let _ = writeln!(out, "/** `{type_name}` */\nexport interface {local} {{");
    let mut oneofs: BTreeMap<i32, Vec<&FieldDescriptorProto>> = BTreeMap::new();
    for field in &message.field {
        match field.oneof_index {
            Some(index) if !field.proto3_optional() => oneofs.entry(index).or_default().push(field),
            _ => {
                let optional = if field.proto3_optional() { "?" } else { "" };
                let ty = field_type(field, context.names, context.package, context.set);
                let _ = writeln!(out, "  {}{optional}: {ty};", camel(field.name()));
            }
        }
    }
    for (index, fields) in oneofs {
        let name = message.oneof_decl.get(index as usize).map_or("oneof", |decl| decl.name());
        let cases: Vec<String> = fields
            .iter()
            .map(|field| {
                let ty = scalar(field, context.names, context.package);
                format!("{{ case: \"{}\"; value: {ty} }}", camel(field.name()))
            })
            .collect();
        let _ = writeln!(out, "  {}: {} | {{ case: undefined; value?: undefined }};", camel(name), cases.join(" | "));
    }
    let _ = writeln!(out, "}}\nexport const {local} = messageType<{local}>(\"{type_name}\");\n");
    for nested in &message.nested_type {
        write_message(
            out,
            context,
            &format!("{full}.{}", nested.name()),
            &format!("{local}_{}", nested.name()),
            nested,
        );
    }
    for enumeration in &message.enum_type {
        let full = format!("{type_name}.{}", enumeration.name());
        write_enum(out, &format!("{local}_{}", enumeration.name()), &full, enumeration);
    }
}

/// One module per package of `set` (well-known types excluded).
pub fn generate_ts(set: &FileDescriptorSet) -> Vec<TsModule> {
    let names = Names::collect(set);
    let mut modules: BTreeMap<String, (Vec<String>, String)> = BTreeMap::new();
    for file in set.file.iter().filter(|file| !file.name().starts_with("google/protobuf/")) {
        let package = match file.package() {
            "" => std::path::Path::new(file.name())
                .file_stem()
                .map_or("messages".into(), |s| s.to_string_lossy().into_owned()),
            package => package.to_owned(),
        };
        let (files, out) = modules.entry(package.clone()).or_default();
        files.push(file.name().to_owned());
        let context = Context { names: &names, set, package: file.package() };
        let prefix = if file.package().is_empty() { String::new() } else { format!(".{}", file.package()) };
        for enumeration in &file.enum_type {
            let full = format!("{}.{}", file.package(), enumeration.name());
            write_enum(out, enumeration.name(), full.trim_start_matches('.'), enumeration);
        }
        for message in &file.message_type {
            write_message(out, &context, &format!("{prefix}.{}", message.name()), message.name(), message);
        }
    }
    modules
        .into_iter()
        .map(|(package, (files, body))| TsModule {
            source: format!(
                "// Generated by spawn-wasm build from {}. DO NOT EDIT.\nimport {{ messageType }} from \"spawn-wasm\";\n\n{body}",
                files.join(", ")
            ),
            package,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_become_interfaces_and_types() {
        let dir = tempfile::tempdir().unwrap();
        let proto = dir.path().join("shop.proto");
        std::fs::write(
            &proto,
            "syntax = \"proto3\";\npackage shop;\nenum Color { RED = 0; BLUE = 1; }\n\
             message Item { string item_name = 1; int64 price = 2; repeated Color colors = 3; map<string, int32> stock = 4;\n\
             Item parent = 5; oneof pick { string code = 6; int32 number = 7; } optional bool sale = 8;\n\
             message Part { bytes data = 1; } }\n",
        )
        .unwrap();
        let modules = generate_ts(&crate::compile_protos(&[proto]).unwrap());
        assert_eq!(modules.len(), 1);
        let source = &modules[0].source;
        assert_eq!(modules[0].package, "shop");
        for expected in [
            "export enum Color {\n  RED = 0,\n  BLUE = 1,\n}",
            "  itemName: string;",
            "  price: bigint;",
            "  colors: Color[];",
            "  stock: { [key: string]: number };",
            "  parent: Item | undefined;",
            "  pick: { case: \"code\"; value: string } | { case: \"number\"; value: number } | { case: undefined; value?: undefined };",
            "  sale?: boolean;",
            "export const Item = messageType<Item>(\"shop.Item\");",
            "export interface Item_Part {\n  data: Uint8Array;\n}",
            "export const Item_Part = messageType<Item_Part>(\"shop.Item.Part\");",
        ] {
            assert!(source.contains(expected), "missing {expected:?} in:\n{source}");
        }
        assert!(!source.contains("StockEntry"), "map entries are not messages of their own:\n{source}");
    }
}
