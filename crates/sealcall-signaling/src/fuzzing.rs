//! The body of the `signaling_message` fuzz target, shared with the seed tests.

use crate::{
    SignalingError, encode_client, encode_peer, encode_server, parse_client_message,
    parse_peer_message, parse_server_message,
};

/// Parses `data` as a client, a server and a peer message. Whatever parses must encode and
/// parse back to the same value; nothing may panic. Panics (which the fuzzer reports) only if
/// that round-trip invariant breaks.
pub fn parse_any(data: &[u8]) {
    round_trip(data, parse_client_message, encode_client, "client");
    round_trip(data, parse_server_message, encode_server, "server");
    round_trip(data, parse_peer_message, encode_peer, "peer");
}

fn round_trip<T: PartialEq + core::fmt::Debug>(
    data: &[u8],
    parse: fn(&[u8]) -> Result<T, SignalingError>,
    encode: fn(&T) -> Result<String, SignalingError>,
    what: &str,
) {
    if let Ok(msg) = parse(data) {
        let text = encode(&msg).unwrap_or_default();
        assert_eq!(
            parse(text.as_bytes()).ok().as_ref(),
            Some(&msg),
            "{what} message did not round-trip"
        );
    }
}
