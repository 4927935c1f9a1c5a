//! Whole-operation routines: the handshake, one rekey, and Opus encode + protect.

use core::hint::black_box;
use core::time::Duration;
use std::time::Instant;

use sealcall_e2ee::testing::TestRng;
use sealcall_e2ee::{
    AeadBackend, CalleeHandshake, CallerHandshake, CipherSuite, DeviceIdentity, FrameSender,
    HandshakeParams, Intent, MediaKind,
};

use crate::cases::sender_receiver;
use crate::{BenchError, Result};

/// Something timed as a whole, `iters` times back to back.
pub trait Routine {
    /// Runs the routine `iters` times and returns the elapsed time.
    fn run(&mut self, iters: u64) -> Result<Duration>;
}

/// The whole handshake, both sides in one thread: commit, response, reveal, confirm, both key
/// schedules and the security code. Identities exist already (a device has one); the ephemeral
/// X25519 keys and nonces are fresh every time, from a deterministic [`TestRng`] so runs are
/// reproducible (the OS random source would add a few `getrandom` calls).
pub struct HandshakeRoutine {
    rng: TestRng,
    alice: DeviceIdentity,
    bob: DeviceIdentity,
    suite: CipherSuite,
}

impl HandshakeRoutine {
    /// Two identities for `suite`.
    pub fn new(suite: CipherSuite) -> Self {
        let mut rng = TestRng::new(b"sealcall-benches handshake");
        let alice = DeviceIdentity::generate(&mut rng);
        let bob = DeviceIdentity::generate(&mut rng);
        Self {
            rng,
            alice,
            bob,
            suite,
        }
    }

    /// One handshake; returns the security code's digits' first byte (so nothing is optimised
    /// away) after checking both sides agree.
    pub fn once(&mut self) -> Result<u8> {
        let params = |device: &[u8]| HandshakeParams {
            suite: self.suite,
            call_id: b"bench-call".to_vec(),
            local_device: device.to_vec(),
            intent: Intent::EndToEnd,
            dtls_fingerprint: [0x5c; 32],
            post_quantum: sealcall_e2ee::PostQuantum::Offered,
            expected_peer: None,
        };
        let e = BenchError::ctx("handshake");
        let (caller, commit) =
            CallerHandshake::start(&mut self.rng, &self.alice, params(b"alice")).map_err(&e)?;
        let (callee, response) =
            CalleeHandshake::respond(&mut self.rng, &self.bob, params(b"bob"), &commit)
                .map_err(&e)?;
        let (caller, reveal) = caller.on_response(&self.alice, &response).map_err(&e)?;
        let (bob_keys, confirm) = callee.on_reveal(&self.bob, &reveal).map_err(&e)?;
        let alice_keys = caller.on_confirm(&confirm).map_err(&e)?;
        if alice_keys.security_code() != bob_keys.security_code() {
            return Err(BenchError::new("handshake: security codes differ"));
        }
        Ok(alice_keys
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
        let start = Instant::now();
        for _ in 0..iters {
            black_box(self.once()?);
        }
        Ok(start.elapsed())
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
            let start = Instant::now();
            for _ in 0..iters {
                black_box(self.once()?);
            }
            Ok(start.elapsed())
        }
    }
}
