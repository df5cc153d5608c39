//! Open string enums: values HeyGen documents, their alternative spellings,
//! and a catch-all so that a value added by HeyGen never breaks parsing.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares an enum of known string values with aliases and an `Other` arm.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $canon:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of reelflow does not know.
            Other(String),
        }

        impl $name {
            /// The canonical spelling of this value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $canon, )+
                    Self::Other(s) => s,
                }
            }

            /// Parses a value, accepting every documented spelling.
            pub fn parse(s: &str) -> Self {
                match s {
                    $( $canon $(| $alias)* => Self::$variant, )+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok(Self::parse(&s))
            }
        }
    };
}

open_enum! {
    /// Video status as any v3 endpoint reports it.
    ///
    /// The create call answers `waiting`, `GET /v3/videos/{id}` uses
    /// `pending|processing|completed|failed`, and the bulk statuses endpoint
    /// says `queued` and `not_found` (v3-reference §2). Only `completed` and
    /// `failed` are terminal; everything else means "still in progress".
    pub enum VideoStatus {
        /// Acknowledged by the create call.
        Waiting = "waiting",
        /// Queued (detail endpoints).
        Pending = "pending",
        /// Queued (bulk statuses endpoint).
        Queued = "queued",
        /// Rendering.
        Processing = "processing",
        /// Rendered; URLs are available.
        Completed = "completed",
        /// Rendering failed; not charged.
        Failed = "failed",
        /// Unknown or not owned by this account (bulk statuses only).
        NotFound = "not_found",
    }
}

impl VideoStatus {
    /// `completed` or `failed`: no further change will happen.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }
}

open_enum! {
    /// The kind of avatar a look belongs to. Older docs said `video_avatar`
    /// for what is now `digital_twin`.
    pub enum AvatarType {
        /// HeyGen's stock studio avatars.
        StudioAvatar = "studio_avatar",
        /// A trained video avatar.
        DigitalTwin = "digital_twin" | "video_avatar",
        /// An avatar made from a photo.
        PhotoAvatar = "photo_avatar",
    }
}

open_enum! {
    /// A rendering engine a look supports (`supported_api_engines`).
    ///
    /// The generated spec says `avatar_v|avatar_iv|avatar_iii`; docs and the
    /// April spec examples say `avatar_4_quality|avatar_4_turbo`, which are
    /// Avatar IV (v3-reference §5.2, §13.5).
    pub enum ApiEngine {
        /// Avatar V.
        AvatarV = "avatar_v",
        /// Avatar IV, the default when a request names no engine.
        AvatarIv = "avatar_iv" | "avatar_4_quality" | "avatar_4_turbo",
        /// Avatar III (Digital Twin / Photo Avatar).
        AvatarIii = "avatar_iii",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_map_to_one_variant_and_unknown_values_survive() {
        assert_eq!(ApiEngine::parse("avatar_4_quality"), ApiEngine::AvatarIv);
        assert_eq!(AvatarType::parse("video_avatar"), AvatarType::DigitalTwin);
        let odd: VideoStatus = serde_json::from_str("\"rendering_v9\"").unwrap();
        assert_eq!(odd, VideoStatus::Other("rendering_v9".into()));
        assert!(!odd.is_terminal());
        assert_eq!(serde_json::to_string(&odd).unwrap(), "\"rendering_v9\"");
    }
}
