//! Deterministic helpers for tests, examples and frozen vectors. Not for production use.

use core::convert::Infallible;

use rand_core::{TryCryptoRng, TryRng};
use sha2::{Digest, Sha256};

/// A deterministic byte stream (SHA-256 in counter mode over a seed) that implements
/// [`rand_core::CryptoRng`] so tests and the frozen vectors in docs/PROTOCOL.md are
/// reproducible. Never use it for real keys.
pub struct TestRng {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

/// A [`TestRng`] for a seed number.
pub fn __test_rng(seed: u64) -> TestRng {
    TestRng::new(&seed.to_be_bytes())
}

impl TestRng {
    /// A stream for any seed bytes.
    pub fn new(seed: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(b"Sealcall test rng");
        h.update(seed);
        Self {
            seed: h.finalize().into(),
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    fn next_byte(&mut self) -> u8 {
        if self.used == 32 {
            let mut h = Sha256::new();
            h.update(self.seed);
            h.update(self.counter.to_be_bytes());
            self.block = h.finalize().into();
            self.counter += 1;
            self.used = 0;
        }
        let b = self.block[self.used];
        self.used += 1;
        b
    }
}

impl TryRng for TestRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for d in dst {
            *d = self.next_byte();
        }
        Ok(())
    }
}

impl TryCryptoRng for TestRng {}

/// Fuzz body: parse an SFrame header from arbitrary bytes; a parsed header must re-encode to the
/// same bytes.
pub fn fuzz_header(data: &[u8]) {
    if let Ok((header, len)) = crate::Header::parse(data) {
        let mut out = [0u8; crate::MAX_HEADER_LEN];
        let n = header.encode(&mut out).unwrap_or(0);
        assert_eq!(&out[..n], &data[..len], "header must round-trip");
    }
}

/// Whether `after` is what the crate documents for a frame `before` that was refused with
/// `error`: after [`crate::Error::AuthenticationFailed`] the header and tag are unchanged and the
/// ciphertext between them is zeroed; after any other error the frame is unchanged.
pub fn refused_as_documented(before: &[u8], after: &[u8], error: &crate::Error) -> bool {
    if *error != crate::Error::AuthenticationFailed {
        return before == after;
    }
    let Ok((_, hlen)) = crate::Header::parse(before) else {
        return false;
    };
    let Some(tag_at) = before
        .len()
        .checked_sub(crate::TAG_LEN)
        .filter(|&t| t >= hlen)
    else {
        return false;
    };
    before.len() == after.len()
        && before[..hlen] == after[..hlen]
        && before[tag_at..] == after[tag_at..]
        && after[hlen..tag_at].iter().all(|&b| b == 0)
}

/// Fuzz body: feed arbitrary bytes to a receiver as a protected frame. Nothing may panic, and a
/// refused frame must be left as [`refused_as_documented`] says.
pub fn fuzz_unprotect(data: &[u8]) {
    use crate::{AeadBackend, BaseKey, CipherSuite, SframeKey};
    let Ok(base) = BaseKey::from_bytes(b"sealcall fuzz base key") else {
        return;
    };
    let Ok(mut key) = SframeKey::new(
        AeadBackend::RustCrypto,
        CipherSuite::Aes128GcmSha256,
        &base,
        0,
    ) else {
        return;
    };
    let mut frame = data.to_vec();
    if let Err(e) = key.unprotect(&[], &mut frame) {
        assert!(
            refused_as_documented(data, &frame, &e),
            "a refused frame must be left as documented ({e})"
        );
    }
    let Some(mut rx) = fuzz_receiver() else {
        return;
    };
    let mut frame = data.to_vec();
    if let Err(e) = rx.unprotect(core::time::Duration::ZERO, &[], &mut frame) {
        assert!(
            refused_as_documented(data, &frame, &e),
            "a refused frame must be left as documented ({e})"
        );
    }
}

fn fuzz_receiver() -> Option<crate::FrameReceiver> {
    crate::FrameReceiver::new(
        crate::StreamConfig::default(),
        crate::Direction::CallerToCallee,
        crate::MediaKind::Audio,
        crate::keys::Secret32([7u8; 32]),
    )
    .ok()
}

/// Fuzz body: parse a handshake message from arbitrary bytes; a parsed message must re-encode to
/// the same bytes, and every state machine must refuse or accept it without panicking.
pub fn fuzz_handshake_message(data: &[u8]) {
    use crate::*;
    if let Ok(msg) = HandshakeMessage::parse(data) {
        assert_eq!(
            msg.encode().ok().as_deref(),
            Some(data),
            "message must round-trip"
        );
    }
    let mut rng = TestRng::new(b"fuzz");
    let me = DeviceIdentity::generate(&mut rng);
    let params = HandshakeParams {
        suite: CipherSuite::Aes128GcmSha256,
        call_id: data.get(2..10).unwrap_or(b"call").to_vec(),
        local_device: b"fuzz-device".to_vec(),
        intent: Intent::EndToEnd,
        dtls_fingerprint: [0x5c; 32],
        post_quantum: PostQuantum::Offered,
        expected_peer: None,
    };
    let _ = CalleeHandshake::respond(&mut rng, &me, params.clone(), data);
    if let Ok((caller, _commit)) = CallerHandshake::start(&mut rng, &me, params) {
        let _ = caller.on_response(&me, data);
    }
}

/// Runs a complete honest handshake between two fresh identities drawn from `seed` (call id
/// `call`, devices `a` and `b`, suite 0x0004; the caller states `caller_intent`, the callee
/// `EndToEnd`) and returns the (caller, callee) [`crate::Completed`] results.
pub fn completed_pair(
    seed: &[u8],
    caller_intent: crate::Intent,
) -> crate::Result<(crate::Completed, crate::Completed)> {
    use crate::*;
    let mut rng = TestRng::new(seed);
    let a = DeviceIdentity::generate(&mut rng);
    let b = DeviceIdentity::generate(&mut rng);
    let params = |device: &[u8], intent: Intent| HandshakeParams {
        suite: CipherSuite::Aes128GcmSha256,
        call_id: b"call".to_vec(),
        local_device: device.to_vec(),
        intent,
        dtls_fingerprint: [0x5c; 32],
        post_quantum: PostQuantum::Offered,
        expected_peer: None,
    };
    let (caller, commit) = CallerHandshake::start(&mut rng, &a, params(b"a", caller_intent))?;
    let (callee, response) =
        CalleeHandshake::respond(&mut rng, &b, params(b"b", Intent::EndToEnd), &commit)?;
    let (caller, reveal) = caller.on_response(&a, &response)?;
    let (callee_done, confirm) = callee.complete(&b, &reveal)?;
    let caller_done = caller.complete(&confirm)?;
    Ok((caller_done, callee_done))
}

/// [`completed_pair`] with both intents `EndToEnd`: the (caller, callee) keys. For tests and
/// benches of the layers above.
pub fn established_pair(seed: &[u8]) -> crate::Result<(crate::Established, crate::Established)> {
    let (a, b) = completed_pair(seed, crate::Intent::EndToEnd)?;
    Ok((a.into_end_to_end()?, b.into_end_to_end()?))
}

/// The two ends of a control channel keyed from a fixed PRK (no handshake: cheap enough for a
/// fuzz target's every input): (caller, callee).
pub fn control_pair() -> crate::Result<(crate::ControlChannel, crate::ControlChannel)> {
    let prk = [0x7c; 32];
    let suite = crate::CipherSuite::Aes128GcmSha256;
    Ok((
        crate::ControlChannel::derive(&prk, suite, crate::Role::Caller)?,
        crate::ControlChannel::derive(&prk, suite, crate::Role::Callee)?,
    ))
}

/// A genuine sealed control message of [`control_pair`]'s caller, for seed corpora.
pub fn sealed_control_seed(plaintext: &[u8]) -> crate::Result<Vec<u8>> {
    let (caller, _) = control_pair()?;
    caller.split().0.seal(plaintext)
}

/// Fuzz body: open arbitrary bytes as a control message on a fresh channel; nothing may panic,
/// nothing but a genuine message may open (the only genuine ones at sequence 0 are the
/// caller's), and a refusal leaves the opener able to open the honest next message.
pub fn fuzz_control_open(data: &[u8]) {
    let Ok((caller, callee)) = control_pair() else {
        return;
    };
    let (mut sealer, _) = caller.split();
    let (_, mut opener) = callee.split();
    let opened = opener.open(data);
    if let Ok(o) = &opened {
        // Only a message the caller really sealed opens: sealing the same plaintext at the
        // same sequence number must give exactly these bytes.
        let mut again = sealer.seal(&o.plaintext);
        for _ in 0..o.seq.min(4) {
            again = sealer.seal(&o.plaintext);
        }
        assert!(
            o.seq < 4 && again.as_deref().ok() == Some(data),
            "bytes that were not sealed by the other side opened"
        );
        return;
    }
    if let Ok(sealed) = sealer.seal(data.get(..crate::MAX_CONTROL_PLAINTEXT).unwrap_or(data)) {
        let honest = opener.open(&sealed);
        assert!(
            matches!(&honest, Ok(o) if o.seq == 0 && o.missed == 0),
            "the honest message failed after a refusal"
        );
    }
}

/// [`established_pair`] turned into (caller, callee) sessions with `config`.
pub fn session_pair(
    seed: &[u8],
    config: crate::StreamConfig,
) -> crate::Result<(crate::Session, crate::Session)> {
    let (a, b) = established_pair(seed)?;
    Ok((a.into_session(config)?, b.into_session(config)?))
}
