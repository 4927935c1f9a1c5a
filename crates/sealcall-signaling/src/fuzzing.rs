//! The body of the `signaling_message` fuzz target, shared with the seed tests.

use crate::{encode_client, encode_server, parse_client_message, parse_server_message};

/// Parses `data` as a client and as a server message. Whatever parses must encode and parse back
/// to the same value; nothing may panic. Panics (which the fuzzer reports) only if that
/// round-trip invariant breaks.
pub fn parse_any(data: &[u8]) {
    if let Ok(msg) = parse_client_message(data) {
        let text = encode_client(&msg).unwrap_or_default();
        assert_eq!(
            parse_client_message(text.as_bytes()).ok().as_ref(),
            Some(&msg),
            "client message did not round-trip"
        );
    }
    if let Ok(msg) = parse_server_message(data) {
        let text = encode_server(&msg).unwrap_or_default();
        assert_eq!(
            parse_server_message(text.as_bytes()).ok().as_ref(),
            Some(&msg),
            "server message did not round-trip"
        );
    }
}
