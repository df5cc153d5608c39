//! Manifests: the model, loading with located diagnostics, the field
//! locator, and the generated JSON Schema.

pub mod dupkeys;
pub mod indent;
pub mod load;
pub mod locate;
pub mod model;
pub mod path;
pub mod schema;

pub use load::{LoadError, LoadedManifest, load};
pub use model::Manifest;
pub use path::FieldPath;
