//! `reelflow schema`.

use crate::exit;
use crate::manifest::schema::schema_json;

/// Prints schema.json.
pub fn run() -> u8 {
    print!("{}", schema_json());
    exit::SUCCESS
}
