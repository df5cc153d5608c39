//! `schema.json`: the manifest's JSON Schema (draft-07), generated from the
//! same types serde reads, for editors (yaml-language-server) and CI.

use schemars::generate::SchemaSettings;

use super::model::Manifest;

/// The schema as pretty JSON with a trailing newline, exactly as
/// `schema.json` holds it.
pub fn schema_json() -> String {
    let generator = SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<Manifest>();
    let mut out = serde_json::to_string_pretty(&schema).unwrap_or_default();
    out.push('\n');
    out
}
