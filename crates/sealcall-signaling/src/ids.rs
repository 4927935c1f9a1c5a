//! Typed identifiers and bounded payload types. Each validates on construction and on
//! deserialisation, so a parsed message never holds an out-of-range value.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{
    MAX_CANDIDATE_BYTES, MAX_CONTROL_BYTES, MAX_HANDSHAKE_BYTES, MAX_ID_CHARS, MAX_SDP_BYTES,
};

fn valid_id(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("id is empty".to_owned());
    }
    if text.len() > MAX_ID_CHARS {
        return Err(format!("id is longer than {MAX_ID_CHARS} characters"));
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("id may contain only ASCII letters, digits, '-' and '_'".to_owned());
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates an id: 1 to [`MAX_ID_CHARS`](crate::MAX_ID_CHARS) ASCII letters,
            /// digits, `-` or `_` (so it also fits the handshake's 64-byte id fields).
            pub fn new(text: &str) -> Result<Self, String> {
                valid_id(text)?;
                Ok(Self(text.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                valid_id(&value)?;
                Ok(Self(value))
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

id_type!(
    /// A call, as assigned by the server when it accepts an invite (random, 32 hex digits).
    CallId
);
id_type!(
    /// A registered device, as assigned by the server at registration.
    DeviceId
);

/// An Ed25519 device identity public key (32 bytes), as published in the directory. Travels as
/// 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdentityKey(pub [u8; 32]);

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey({})", hex::encode(self.0))
    }
}

impl Serialize for IdentityKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for IdentityKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let mut key = [0u8; 32];
        hex::decode_to_slice(&text, &mut key)
            .map_err(|_| serde::de::Error::custom("identity key must be 64 hex digits"))?;
        Ok(Self(key))
    }
}

macro_rules! bounded_bytes {
    ($(#[$doc:meta])* $name:ident, $max:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(Vec<u8>);

        impl $name {
            /// Wraps the bytes, checking the length.
            pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
                if bytes.is_empty() || bytes.len() > $max {
                    return Err(format!("{} must be 1 to {} bytes", $what, $max));
                }
                Ok(Self(bytes))
            }

            /// The bytes.
            pub fn as_bytes(&self) -> &[u8] {
                &self.0
            }

            /// The bytes, owned.
            pub fn into_bytes(self) -> Vec<u8> {
                self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&BASE64.encode(&self.0))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                // Reject before decoding anything absurdly long (base64 grows 4/3).
                if text.len() > ($max as usize).div_ceil(3) * 4 {
                    return Err(serde::de::Error::custom(format!(
                        "{} must be 1 to {} bytes",
                        $what, $max
                    )));
                }
                let bytes = BASE64.decode(text.as_bytes()).map_err(|_| {
                    serde::de::Error::custom(concat!($what, " must be standard base64"))
                })?;
                Self::new(bytes).map_err(serde::de::Error::custom)
            }
        }
    };
}

bounded_bytes!(
    /// An end-to-end handshake message (`sealcall_e2ee::HandshakeMessage` encoding), opaque to
    /// the server: it forwards the bytes and can neither read nor forge them (they are signed by
    /// the devices' identity keys). Travels as standard base64; 1 to
    /// [`MAX_HANDSHAKE_BYTES`](crate::MAX_HANDSHAKE_BYTES) bytes.
    HandshakeBytes,
    MAX_HANDSHAKE_BYTES,
    "handshake data"
);

bounded_bytes!(
    /// A sealed control message (`sealcall_e2ee::ControlSealer` output) from one device of a
    /// call to the other: hold, resume, transfer, recording notices. Opaque to the server, which
    /// forwards it and can drop it but can neither read, forge, replay nor reorder it. Travels
    /// as standard base64; 1 to [`MAX_CONTROL_BYTES`](crate::MAX_CONTROL_BYTES) bytes.
    ControlBytes,
    MAX_CONTROL_BYTES,
    "control data"
);

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $max:expr, $what:literal, $allow_empty:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates the length (bytes of UTF-8).
            pub fn new(text: impl Into<String>) -> Result<Self, String> {
                let text = text.into();
                if (!$allow_empty && text.is_empty()) || text.len() > $max {
                    return Err(format!(
                        "{} must be {} to {} bytes",
                        $what,
                        if $allow_empty { 0 } else { 1 },
                        $max
                    ));
                }
                Ok(Self(text))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

bounded_text!(
    /// A session description (SDP), 1 to [`MAX_SDP_BYTES`](crate::MAX_SDP_BYTES) bytes.
    SdpText,
    MAX_SDP_BYTES,
    "sdp",
    false
);
bounded_text!(
    /// An ICE candidate line (`candidate:…`), 0 to
    /// [`MAX_CANDIDATE_BYTES`](crate::MAX_CANDIDATE_BYTES) bytes; empty means end of candidates.
    CandidateText,
    MAX_CANDIDATE_BYTES,
    "candidate",
    true
);
bounded_text!(
    /// A media stream identification tag (`a=mid`), 1 to 64 bytes.
    MidText,
    64,
    "sdp_mid",
    false
);
