//! Maps a v3 request field (`scenes[1].input.voice_id`) back to the
//! manifest field it was rendered from (`video.scenes[1].voice`), so that
//! problems point at what the user wrote. The mapping is the provenance the
//! builder recorded when the manifest compiled ([`Provenance`]), not a
//! second hand-written copy of it.

use crate::expand::Provenance;

/// The manifest field path for a v3 request field path.
pub fn manifest_field(provenance: &Provenance, wire: &str) -> String {
    provenance.field(wire).into()
}
