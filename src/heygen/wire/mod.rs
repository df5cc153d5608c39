//! HeyGen v3 wire types: the JSON exactly as the API sends and accepts it.
//!
//! Request types reject unknown fields and serialize without nulls, so a body
//! reelflow builds carries only fields HeyGen documents. Response types are
//! lenient: they accept the documented fields, tolerate spelling variants the
//! reference lists, and keep any field HeyGen adds later in `extra`, so that
//! `--json` output and results carry it through.

mod avatar;
mod batch;
mod enums;
mod envelope;
mod folder;
mod template;
mod user;
mod video;
mod voice;
mod webhook;

pub use avatar::*;
pub use batch::*;
pub use enums::*;
pub use envelope::*;
pub use folder::*;
pub use template::*;
pub use user::*;
pub use video::*;
pub use voice::*;
pub use webhook::*;
