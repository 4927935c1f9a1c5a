//! Whole-operation routines: the handshake (X25519 alone or the X25519 + ML-KEM-768 hybrid),
//! ML-KEM-768 key generation, encapsulation and decapsulation, one rekey, and Opus encode +
//! protect.

use core::hint::black_box;
use core::time::Duration;
use std::time::Instant;

use sealcall_e2ee::testing::TestRng;
use sealcall_e2ee::{
    AeadBackend, CalleeHandshake, CallerHandshake, CipherSuite, DeviceIdentity, Established,
    FrameSender, HandshakeParams, Intent, KEM_CIPHERTEXT_LEN, KemDecapsulationKey, KeyAgreement,
    MediaKind, PostQuantum, kem_encapsulate,
};

use crate::cases::sender_receiver;
use crate::{BenchError, Result};

/// Something timed as a whole, `iters` times back to back.
pub trait Routine {
    /// Runs the routine `iters` times and returns the elapsed time.
    fn run(&mut self, iters: u64) -> Result<Duration>;
}

/// Times `iters` calls of `once`, keeping each result alive with [`black_box`].
fn time_iters<T>(iters: u64, mut once: impl FnMut() -> Result<T>) -> Result<Duration> {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(once()?);
    }
    Ok(start.elapsed())
}

/// The call id every benchmark handshake uses.
pub const BENCH_CALL_ID: &[u8] = b"bench-call";
/// The caller's device id in every benchmark handshake.
pub const BENCH_CALLER_DEVICE: &[u8] = b"alice";
/// The callee's device id in every benchmark handshake.
pub const BENCH_CALLEE_DEVICE: &[u8] = b"bob";

/// The short name of a key agreement: `x25519` or `x25519+ml-kem-768`.
pub const fn key_agreement_name(agreement: KeyAgreement) -> &'static str {
    match agreement {
        KeyAgreement::X25519 => "x25519",
        KeyAgreement::X25519MlKem768 => "x25519+ml-kem-768",
    }
}

/// The key agreement a handshake reaches when both sides say `post_quantum`.
pub const fn agreement_for(post_quantum: PostQuantum) -> KeyAgreement {
    if post_quantum.is_capable() {
        KeyAgreement::X25519MlKem768
    } else {
        KeyAgreement::X25519
    }
}

/// The encoded size in bytes of each handshake message, as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MessageSizes {
    /// Caller to callee, first.
    pub commit: usize,
    /// Callee to caller.
    pub response: usize,
    /// Caller to callee, second.
    pub reveal: usize,
    /// Callee to caller, last.
    pub confirm: usize,
}

impl MessageSizes {
    /// All four messages together.
    pub const fn total(&self) -> usize {
        self.commit + self.response + self.reveal + self.confirm
    }
}

/// One finished handshake: both sides' keys and the sizes of the messages they exchanged.
pub struct HandshakeOutcome {
    /// The caller's keys.
    pub caller: Established,
    /// The callee's keys.
    pub callee: Established,
    /// The encoded messages' sizes.
    pub sizes: MessageSizes,
}

/// Runs the whole handshake between `alice` (caller) and `bob` (callee), both saying
/// `post_quantum`, with the benchmark ids ([`BENCH_CALL_ID`] and the device ids), and checks that
/// both sides agree on the security code and reach [`agreement_for`]`(post_quantum)`.
pub fn handshake(
    rng: &mut TestRng,
    alice: &DeviceIdentity,
    bob: &DeviceIdentity,
    suite: CipherSuite,
    post_quantum: PostQuantum,
) -> Result<HandshakeOutcome> {
    let params = |device: &[u8]| HandshakeParams {
        suite,
        call_id: BENCH_CALL_ID.to_vec(),
        local_device: device.to_vec(),
        intent: Intent::EndToEnd,
        dtls_fingerprint: [0x5c; 32],
        post_quantum,
        expected_peer: None,
    };
    let e = BenchError::ctx("handshake");
    let (caller, commit) =
        CallerHandshake::start(&mut *rng, alice, params(BENCH_CALLER_DEVICE)).map_err(&e)?;
    let (callee, response) =
        CalleeHandshake::respond(&mut *rng, bob, params(BENCH_CALLEE_DEVICE), &commit)
            .map_err(&e)?;
    let (caller, reveal) = caller.on_response(alice, &response).map_err(&e)?;
    let (callee_keys, confirm) = callee.on_reveal(bob, &reveal).map_err(&e)?;
    let caller_keys = caller.on_confirm(&confirm).map_err(&e)?;
    if caller_keys.security_code() != callee_keys.security_code() {
        return Err(BenchError::new("handshake: security codes differ"));
    }
    let expected = agreement_for(post_quantum);
    for keys in [&caller_keys, &callee_keys] {
        if keys.verified().key_agreement != expected {
            return Err(BenchError::new(format!(
                "handshake: agreed {}, expected {}",
                key_agreement_name(keys.verified().key_agreement),
                key_agreement_name(expected)
            )));
        }
    }
    Ok(HandshakeOutcome {
        caller: caller_keys,
        callee: callee_keys,
        sizes: MessageSizes {
            commit: commit.len(),
            response: response.len(),
            reveal: reveal.len(),
            confirm: confirm.len(),
        },
    })
}

/// The whole handshake, both sides in one thread: commit, response, reveal, confirm, both key
/// schedules and the security code, with ML-KEM-768 (both sides [`PostQuantum::Offered`]) or
/// without (both [`PostQuantum::Unavailable`]). Identities exist already (a device has one); the
/// ephemeral X25519 keys, the ML-KEM key pair and encapsulation and the nonces are fresh every
/// time, from a deterministic [`TestRng`] so runs are reproducible (the OS random source would
/// add a few `getrandom` calls).
pub struct HandshakeRoutine {
    rng: TestRng,
    alice: DeviceIdentity,
    bob: DeviceIdentity,
    suite: CipherSuite,
    post_quantum: PostQuantum,
}

impl HandshakeRoutine {
    /// Two identities for `suite`; both sides will say `post_quantum`.
    pub fn new(suite: CipherSuite, post_quantum: PostQuantum) -> Self {
        let mut rng = TestRng::new(b"sealcall-benches handshake");
        let alice = DeviceIdentity::generate(&mut rng);
        let bob = DeviceIdentity::generate(&mut rng);
        Self {
            rng,
            alice,
            bob,
            suite,
            post_quantum,
        }
    }

    /// One handshake, checked (see [`handshake`]).
    pub fn outcome(&mut self) -> Result<HandshakeOutcome> {
        handshake(
            &mut self.rng,
            &self.alice,
            &self.bob,
            self.suite,
            self.post_quantum,
        )
    }

    /// One handshake; returns the security code's digits' first byte (so nothing is optimised
    /// away).
    pub fn once(&mut self) -> Result<u8> {
        let outcome = self.outcome()?;
        Ok(outcome
            .caller
            .security_code()
            .digits()
            .as_bytes()
            .first()
            .copied()
            .unwrap_or(0))
    }
}

impl Routine for HandshakeRoutine {
    fn run(&mut self, iters: u64) -> Result<Duration> {
        time_iters(iters, || self.once())
    }
}

/// An ML-KEM-768 operation, as the handshake calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KemOp {
    /// [`KemDecapsulationKey::generate`] (the caller, per call), dropped (and erased) after.
    Keygen,
    /// [`kem_encapsulate`] to an encapsulation key (the callee), including its input check.
    Encapsulate,
    /// [`KemDecapsulationKey::decapsulate`] of a ciphertext (the caller).
    Decapsulate,
}

impl KemOp {
    /// All three, in handshake order.
    pub const ALL: [KemOp; 3] = [KemOp::Keygen, KemOp::Encapsulate, KemOp::Decapsulate];

    /// A short name.
    pub const fn name(self) -> &'static str {
        match self {
            KemOp::Keygen => "keygen",
            KemOp::Encapsulate => "encapsulate",
            KemOp::Decapsulate => "decapsulate",
        }
    }
}

/// One ML-KEM-768 operation through Sealcall's wrapper (`sealcall_e2ee::{KemDecapsulationKey,
/// kem_encapsulate}`), randomness from a deterministic [`TestRng`]. Decapsulation opens the same
/// valid ciphertext every time (it has no state, and FIPS 203 decapsulation always re-encrypts
/// and compares, so a valid ciphertext costs what any other does).
pub struct MlKemRoutine {
    op: KemOp,
    rng: TestRng,
    key: KemDecapsulationKey,
    ciphertext: Box<[u8; KEM_CIPHERTEXT_LEN]>,
}

impl MlKemRoutine {
    /// A key pair and a ciphertext to it, checked to decapsulate to the encapsulated secret.
    pub fn new(op: KemOp) -> Result<Self> {
        let mut rng = TestRng::new(b"sealcall-benches ml-kem");
        let key = KemDecapsulationKey::generate(&mut rng);
        let (ciphertext, sent) = kem_encapsulate(&mut rng, key.encapsulation_key())
            .map_err(BenchError::ctx("ml-kem"))?;
        if key.decapsulate(&ciphertext).as_bytes() != sent.as_bytes() {
            return Err(BenchError::new("ml-kem: decapsulation disagrees"));
        }
        Ok(Self {
            op,
            rng,
            key,
            ciphertext,
        })
    }

    /// The operation once; returns a byte of its output (so nothing is optimised away).
    pub fn once(&mut self) -> Result<u8> {
        Ok(match self.op {
            KemOp::Keygen => KemDecapsulationKey::generate(&mut self.rng).encapsulation_key()[0],
            KemOp::Encapsulate => {
                let (ciphertext, secret) =
                    kem_encapsulate(&mut self.rng, self.key.encapsulation_key())
                        .map_err(BenchError::ctx("ml-kem encapsulate"))?;
                ciphertext[0] ^ secret.as_bytes()[0]
            }
            KemOp::Decapsulate => self.key.decapsulate(&self.ciphertext).as_bytes()[0],
        })
    }
}

impl Routine for MlKemRoutine {
    fn run(&mut self, iters: u64) -> Result<Duration> {
        time_iters(iters, || self.once())
    }
}

/// One rekey of a sender: the HKDF ratchet step, the SFrame key and salt derivation and keying
/// the AEAD for the next epoch.
pub struct RekeyRoutine {
    sender: FrameSender,
}

impl RekeyRoutine {
    /// A sender from a real handshake.
    pub fn new(backend: AeadBackend, suite: CipherSuite) -> Result<Self> {
        let (sender, _) = sender_receiver(backend, suite, MediaKind::Audio)?;
        Ok(Self { sender })
    }
}

impl Routine for RekeyRoutine {
    fn run(&mut self, iters: u64) -> Result<Duration> {
        let start = Instant::now();
        for _ in 0..iters {
            self.sender
                .rekey(Duration::ZERO)
                .map_err(BenchError::ctx("rekey"))?;
        }
        black_box(self.sender.epoch());
        Ok(start.elapsed())
    }
}

#[cfg(feature = "opus")]
pub use opus_routine::{OPUS_BITRATE, OPUS_FRAME_SAMPLES, OpusProtectRoutine};

#[cfg(feature = "opus")]
mod opus_routine {
    use super::*;
    use sealcall_e2ee::{MAX_HEADER_LEN, TAG_LEN};

    /// Samples in a 20 ms mono frame at 48 kHz.
    pub const OPUS_FRAME_SAMPLES: usize = 960;
    /// The bitrate the encoder is set to (a typical wideband voice call).
    pub const OPUS_BITRATE: i32 = 32_000;
    /// Largest Opus packet the buffer leaves room for.
    const MAX_PACKET: usize = 1275;
    /// Frames of synthetic speech-like input cycled through (one second).
    const INPUT_FRAMES: usize = 50;

    /// Opus encode of a 20 ms mono 48 kHz frame (VoIP mode, 32 kbit/s) straight into a frame
    /// buffer's payload, then Sealcall's protect in place: what a sender does per audio frame.
    pub struct OpusProtectRoutine {
        encoder: opus::Encoder,
        sender: FrameSender,
        input: Vec<i16>,
        next: usize,
        buf: Vec<u8>,
        protect: bool,
        last_len: usize,
    }

    impl OpusProtectRoutine {
        /// Encode + protect when `protect`, otherwise encode only (to show the share).
        pub fn new(backend: AeadBackend, suite: CipherSuite, protect: bool) -> Result<Self> {
            let e = BenchError::ctx("opus");
            let mut encoder =
                opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)
                    .map_err(&e)?;
            encoder
                .set_bitrate(opus::Bitrate::Bits(OPUS_BITRATE))
                .map_err(&e)?;
            let (sender, _) = sender_receiver(backend, suite, MediaKind::Audio)?;
            // A voiced-speech-like signal: a 140 Hz fundamental with harmonics and a slow
            // amplitude envelope, plus deterministic noise.
            let mut noise = 0x1234_5678u32;
            let input = (0..OPUS_FRAME_SAMPLES * INPUT_FRAMES)
                .map(|i| {
                    let t = i as f64 / 48_000.0;
                    let f0 = 140.0 * core::f64::consts::TAU * t;
                    let voice = f0.sin() + 0.5 * (2.0 * f0).sin() + 0.25 * (3.0 * f0).sin();
                    let envelope = 0.6 + 0.4 * (core::f64::consts::TAU * 3.0 * t).sin();
                    noise = noise.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    let n = f64::from((noise >> 16) as u16) / 65536.0 - 0.5;
                    ((voice * envelope * 6000.0) + n * 300.0) as i16
                })
                .collect();
            Ok(Self {
                encoder,
                sender,
                input,
                next: 0,
                buf: vec![0u8; MAX_HEADER_LEN + MAX_PACKET + TAG_LEN],
                protect,
                last_len: 0,
            })
        }

        /// Bytes of the last encoded Opus packet.
        pub fn last_packet_len(&self) -> usize {
            self.last_len
        }

        /// Encodes (and protects) the next 20 ms frame; returns the bytes produced.
        pub fn once(&mut self) -> Result<usize> {
            let pcm = &self.input[self.next * OPUS_FRAME_SAMPLES..][..OPUS_FRAME_SAMPLES];
            self.next = (self.next + 1) % INPUT_FRAMES;
            let len = self
                .encoder
                .encode(
                    pcm,
                    &mut self.buf[MAX_HEADER_LEN..MAX_HEADER_LEN + MAX_PACKET],
                )
                .map_err(BenchError::ctx("opus encode"))?;
            self.last_len = len;
            if !self.protect {
                return Ok(len);
            }
            let out = self
                .sender
                .protect(
                    Duration::ZERO,
                    &[],
                    &mut self.buf,
                    MAX_HEADER_LEN..MAX_HEADER_LEN + len,
                )
                .map_err(BenchError::ctx("protect"))?;
            Ok(out.len())
        }
    }

    impl Routine for OpusProtectRoutine {
        fn run(&mut self, iters: u64) -> Result<Duration> {
            time_iters(iters, || self.once())
        }
    }
}
