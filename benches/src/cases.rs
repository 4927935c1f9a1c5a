//! One [`FrameCase`] per implementation, all measured by the same loops.
//!
//! Every case owns a hot buffer for protect and a ring of fresh protected frames for unprotect
//! (see the crate docs for why). Nothing in a timed loop allocates, except where the measured
//! API itself allocates per frame (SRTP's `encrypt_rtp`/`decrypt_rtp` return a new buffer, the
//! `sframe` crate's validated decrypt does not).

use core::hint::black_box;
use core::ops::Range;
use core::time::Duration;
use std::time::Instant;

use sealcall_e2ee::testing::TestRng;
use sealcall_e2ee::{
    AeadBackend, CipherSuite, DeviceIdentity, FrameReceiver, FrameSender, MAX_HEADER_LEN,
    MediaKind, NONCE_LEN, PostQuantum, Session, StreamConfig, TAG_LEN,
};

use crate::extras::handshake;
use crate::{BenchError, Result};

/// The time every frame is protected and unprotected at. The crate never reads a clock; a fixed
/// `now` keeps the time-based rekey from firing (the frame-count schedule still runs).
const NOW: Duration = Duration::ZERO;

/// A benchmarked implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "kind", content = "backend", rename_all = "kebab-case")]
pub enum Implementation {
    /// Sealcall's `FrameSender::protect` / `FrameReceiver::unprotect` (SFrame header, counter,
    /// rekey schedule, replay window) on one AEAD backend.
    Sealcall(#[serde(serialize_with = "ser_backend")] AeadBackend),
    /// The AEAD call alone on the same payload: no header, no AAD, no replay check. The floor.
    RawAead(#[serde(serialize_with = "ser_backend")] AeadBackend),
    /// The AEAD call with a 4-byte AAD standing in for the SFrame header (RFC 9605 authenticates
    /// the header), still without any framing code: splits the framing overhead into what the
    /// AEAD spends on the header and what Sealcall's own code costs.
    RawAeadHeaderAad(#[serde(serialize_with = "ser_backend")] AeadBackend),
    /// The `sframe` crate (RFC 9605) with its default `ring` backend and its replay protection.
    SframeCrate,
    /// webrtc-rs' SRTP (`rtc-srtp`, `ring` provider), AEAD_AES_128_GCM (or _256_GCM), RTP packet
    /// with a 12-byte header and the frame as payload, 64-packet replay window on receive.
    Srtp,
}

fn ser_backend<S: serde::Serializer>(
    backend: &AeadBackend,
    s: S,
) -> core::result::Result<S::Ok, S::Error> {
    s.serialize_str(backend.name())
}

impl Implementation {
    /// A short label for tables and benchmark ids.
    pub fn label(self) -> String {
        match self {
            Self::Sealcall(b) => format!("sealcall/{}", b.name()),
            Self::RawAead(b) => format!("raw-aead/{}", b.name()),
            Self::RawAeadHeaderAad(b) => format!("raw-aead+aad/{}", b.name()),
            Self::SframeCrate => "sframe-crate/ring".to_owned(),
            Self::Srtp => "rtc-srtp/ring".to_owned(),
        }
    }

    /// Every implementation this build can measure: Sealcall and the floor on each available
    /// backend, then the sframe crate and SRTP.
    pub fn all() -> Vec<Implementation> {
        let mut out: Vec<_> = AeadBackend::available()
            .iter()
            .map(|&b| Implementation::Sealcall(b))
            .collect();
        out.extend(
            AeadBackend::available()
                .iter()
                .map(|&b| Implementation::RawAead(b)),
        );
        out.extend(
            AeadBackend::available()
                .iter()
                .map(|&b| Implementation::RawAeadHeaderAad(b)),
        );
        out.push(Implementation::SframeCrate);
        out.push(Implementation::Srtp);
        out
    }
}

/// One implementation keyed and ready for frames of one size.
pub trait FrameCase {
    /// Protects one frame in the hot buffer; returns the protected length.
    fn protect(&mut self) -> Result<usize>;

    /// Frames in the unprotect ring.
    fn ring_len(&self) -> usize;

    /// Refills the ring with freshly protected frames whose counters follow the previous ones.
    fn refill(&mut self) -> Result<()>;

    /// Unprotects ring slot `slot` (which [`refill`](Self::refill) filled); returns the plaintext
    /// length.
    fn unprotect(&mut self, slot: usize) -> Result<usize>;

    /// Times `iters` protects back to back.
    fn time_protect(&mut self, iters: u64) -> Result<Duration> {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(self.protect()?);
        }
        Ok(start.elapsed())
    }

    /// Times one protect.
    fn time_one_protect(&mut self) -> Result<Duration> {
        let start = Instant::now();
        black_box(self.protect()?);
        Ok(start.elapsed())
    }

    /// Times one unprotect of ring slot `slot` (refill first when starting over at slot 0).
    fn time_one_unprotect(&mut self, slot: usize) -> Result<Duration> {
        if slot == 0 {
            self.refill()?;
        }
        let start = Instant::now();
        black_box(self.unprotect(slot)?);
        Ok(start.elapsed())
    }

    /// Times `iters` unprotects: refills the ring untimed, times unprotecting it in order, and
    /// repeats until `iters` frames were opened.
    fn time_unprotect(&mut self, iters: u64) -> Result<Duration> {
        let ring = self.ring_len() as u64;
        let mut total = Duration::ZERO;
        let mut done = 0u64;
        while done < iters {
            self.refill()?;
            let n = ring.min(iters - done) as usize;
            let start = Instant::now();
            for slot in 0..n {
                black_box(self.unprotect(slot)?);
            }
            total += start.elapsed();
            done += n as u64;
        }
        Ok(total)
    }
}

/// How many frames a ring holds: about 256 KiB of frames (well inside L2), 2 to 256 frames.
pub fn ring_len_for(size: usize) -> usize {
    ((256 * 1024) / (size + 64)).clamp(2, 256)
}

/// Keys `implementation` for frames of `size` bytes under `suite` and checks one round trip.
pub fn new_case(
    implementation: Implementation,
    suite: CipherSuite,
    size: usize,
) -> Result<Box<dyn FrameCase>> {
    let case: Box<dyn FrameCase> = match implementation {
        Implementation::Sealcall(backend) => Box::new(SealcallCase::new(backend, suite, size)?),
        Implementation::RawAead(backend) => Box::new(RawAeadCase::new(backend, suite, size, 0)?),
        Implementation::RawAeadHeaderAad(backend) => {
            Box::new(RawAeadCase::new(backend, suite, size, HEADER_AAD_LEN)?)
        }
        Implementation::SframeCrate => Box::new(SframeCrateCase::new(suite, size)?),
        Implementation::Srtp => Box::new(SrtpCase::new(suite, size)?),
    };
    checked(case, implementation, &[size])
}

/// Keys `implementation` for a trace of frame sizes (a real stream's frames, in order) and
/// checks one round trip: protect cycles through the sizes, and the unprotect ring holds the
/// whole trace once. Sealcall and the raw AEAD floors only.
pub fn new_trace_case(
    implementation: Implementation,
    suite: CipherSuite,
    media: MediaKind,
    sizes: &[usize],
) -> Result<Box<dyn FrameCase>> {
    if sizes.is_empty() {
        return Err(BenchError::new("a trace needs at least one frame"));
    }
    let case: Box<dyn FrameCase> = match implementation {
        Implementation::Sealcall(backend) => Box::new(SealcallCase::with_sizes(
            backend,
            suite,
            media,
            sizes,
            sizes.len(),
        )?),
        Implementation::RawAead(backend) => Box::new(RawAeadCase::with_sizes(
            backend,
            suite,
            sizes,
            sizes.len(),
            0,
        )?),
        Implementation::RawAeadHeaderAad(backend) => Box::new(RawAeadCase::with_sizes(
            backend,
            suite,
            sizes,
            sizes.len(),
            HEADER_AAD_LEN,
        )?),
        other => {
            return Err(BenchError::new(format!(
                "{} is measured at fixed sizes only",
                other.label()
            )));
        }
    };
    checked(case, implementation, sizes)
}

/// One protect and one full ring round trip, so a broken set-up fails here, not mid-timing.
/// Ring slot `i` must open to `sizes[i % sizes.len()]` bytes.
fn checked(
    mut case: Box<dyn FrameCase>,
    implementation: Implementation,
    sizes: &[usize],
) -> Result<Box<dyn FrameCase>> {
    case.protect()?;
    case.refill()?;
    for slot in 0..case.ring_len() {
        let len = case.unprotect(slot)?;
        let expected = sizes[slot % sizes.len()];
        if len != expected {
            return Err(BenchError::new(format!(
                "{}: unprotect returned {len} bytes, expected {expected}",
                implementation.label()
            )));
        }
    }
    Ok(case)
}

/// The next index of a trace of `len` sizes (no division on the timed path).
#[inline]
fn next_index(i: usize, len: usize) -> usize {
    if i + 1 >= len { 0 } else { i + 1 }
}

/// A pattern payload (the content does not change AES-GCM's speed).
fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 131 + 7) as u8).collect()
}

/// The media kind a frame of this size would travel as.
pub fn media_for(size: usize) -> MediaKind {
    match size {
        0..=512 => MediaKind::Audio,
        513..=65536 => MediaKind::Video,
        _ => MediaKind::Screen,
    }
}

/// Runs the whole handshake between two fresh identities and returns both sessions
/// (caller's, callee's).
pub fn handshake_sessions(config: StreamConfig, seed: &[u8]) -> Result<(Session, Session)> {
    let mut rng = TestRng::new(seed);
    let alice = DeviceIdentity::generate(&mut rng);
    let bob = DeviceIdentity::generate(&mut rng);
    let outcome = handshake(&mut rng, &alice, &bob, config.suite, PostQuantum::Offered)?;
    let e = BenchError::ctx("session");
    Ok((
        outcome.caller.into_session(config).map_err(&e)?,
        outcome.callee.into_session(config).map_err(&e)?,
    ))
}

/// A caller's sender and the callee's matching receiver for one media kind, from a real
/// handshake.
pub fn sender_receiver(
    backend: AeadBackend,
    suite: CipherSuite,
    media: MediaKind,
) -> Result<(FrameSender, FrameReceiver)> {
    let config = StreamConfig {
        backend,
        suite,
        ..StreamConfig::default()
    };
    let (alice, bob) = handshake_sessions(config, b"sealcall-benches")?;
    let (senders, _) = alice.split();
    let (_, receivers) = bob.split();
    let [sa, sv, ss] = senders.into_inner();
    let [ra, rv, rs] = receivers.into_inner();
    Ok(match media {
        MediaKind::Audio => (sa, ra),
        MediaKind::Video => (sv, rv),
        MediaKind::Screen => (ss, rs),
    })
}

/// Sealcall's sender and receiver.
pub struct SealcallCase {
    sender: FrameSender,
    receiver: FrameReceiver,
    /// The frame sizes, in order (one size for a fixed-size case).
    sizes: Vec<usize>,
    /// The size index the next hot protect uses.
    next: usize,
    /// Bytes per frame slot: headroom, the largest frame and its tag.
    stride: usize,
    hot: Vec<u8>,
    ring: Vec<u8>,
    frames: Vec<Range<usize>>,
}

impl SealcallCase {
    /// Keys a sender/receiver pair through a real handshake, for frames of `size` bytes.
    pub fn new(backend: AeadBackend, suite: CipherSuite, size: usize) -> Result<Self> {
        Self::with_sizes(backend, suite, media_for(size), &[size], ring_len_for(size))
    }

    /// Keys a pair for a trace of frame sizes and a ring of `ring_len` frames (slot `i` holds
    /// a frame of `sizes[i % sizes.len()]` bytes).
    pub fn with_sizes(
        backend: AeadBackend,
        suite: CipherSuite,
        media: MediaKind,
        sizes: &[usize],
        ring_len: usize,
    ) -> Result<Self> {
        let (sender, receiver) = sender_receiver(backend, suite, media)?;
        let largest = sizes.iter().copied().max().unwrap_or(0);
        let stride = MAX_HEADER_LEN + largest + TAG_LEN;
        let mut hot = vec![0u8; stride];
        hot[MAX_HEADER_LEN..MAX_HEADER_LEN + largest].copy_from_slice(&payload(largest));
        let ring = hot.repeat(ring_len.max(1));
        Ok(Self {
            sender,
            receiver,
            sizes: sizes.to_vec(),
            next: 0,
            stride,
            hot,
            ring,
            frames: vec![0..0; ring_len.max(1)],
        })
    }
}

impl FrameCase for SealcallCase {
    #[inline]
    fn protect(&mut self) -> Result<usize> {
        let size = self.sizes[self.next];
        self.next = next_index(self.next, self.sizes.len());
        let payload = MAX_HEADER_LEN..MAX_HEADER_LEN + size;
        let out = self
            .sender
            .protect(NOW, &[], &mut self.hot, payload)
            .map_err(BenchError::ctx("sealcall protect"))?;
        Ok(out.len())
    }

    fn ring_len(&self) -> usize {
        self.frames.len()
    }

    fn refill(&mut self) -> Result<()> {
        for (i, frame) in self.frames.iter_mut().enumerate() {
            let base = i * self.stride;
            let size = self.sizes[i % self.sizes.len()];
            let payload = base + MAX_HEADER_LEN..base + MAX_HEADER_LEN + size;
            *frame = self
                .sender
                .protect(NOW, &[], &mut self.ring, payload)
                .map_err(BenchError::ctx("sealcall protect"))?;
        }
        Ok(())
    }

    #[inline]
    fn unprotect(&mut self, slot: usize) -> Result<usize> {
        let range = self.frames[slot].clone();
        let plain = self
            .receiver
            .unprotect(NOW, &[], &mut self.ring[range])
            .map_err(BenchError::ctx("sealcall unprotect"))?;
        Ok(plain.len())
    }
}

/// A keyed AEAD for the floor: the library call and nothing else. Not boxed, like the crypto
/// core's own cipher, so the floor has no extra indirection.
#[allow(clippy::large_enum_variant)]
enum RawCipher {
    Aes128(aes_gcm::Aes128Gcm),
    Aes256(aes_gcm::Aes256Gcm),
    #[cfg(feature = "aws-lc")]
    AwsLc(aws_lc_rs::aead::LessSafeKey),
}

impl RawCipher {
    fn new(backend: AeadBackend, suite: CipherSuite) -> Result<Self> {
        use aes_gcm::KeyInit;
        let key = [0x42u8; 32];
        let key = &key[..suite.key_len()];
        let e = BenchError::ctx("raw key");
        match backend {
            AeadBackend::RustCrypto => match suite {
                CipherSuite::Aes128GcmSha256 => Ok(Self::Aes128(
                    aes_gcm::Aes128Gcm::new_from_slice(key).map_err(e)?,
                )),
                CipherSuite::Aes256GcmSha512 => Ok(Self::Aes256(
                    aes_gcm::Aes256Gcm::new_from_slice(key).map_err(e)?,
                )),
                #[allow(unreachable_patterns)]
                _ => Err(BenchError::new("unknown suite")),
            },
            #[cfg(feature = "aws-lc")]
            AeadBackend::AwsLc => {
                use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, LessSafeKey, UnboundKey};
                let alg = match suite {
                    CipherSuite::Aes256GcmSha512 => &AES_256_GCM,
                    _ => &AES_128_GCM,
                };
                let key = UnboundKey::new(alg, key).map_err(BenchError::ctx("raw key"))?;
                Ok(Self::AwsLc(LessSafeKey::new(key)))
            }
            #[allow(unreachable_patterns)]
            _ => Err(BenchError::new(format!(
                "backend {} is not in this build",
                backend.name()
            ))),
        }
    }

    /// Seals `buf[..len]` in place and writes the tag to `buf[len..len + TAG_LEN]`.
    #[inline]
    fn seal(&self, nonce: [u8; NONCE_LEN], aad: &[u8], buf: &mut [u8], len: usize) -> Result<()> {
        let (body, rest) = buf.split_at_mut(len);
        let tag_out = &mut rest[..TAG_LEN];
        match self {
            Self::Aes128(c) => {
                use aes_gcm::aead::AeadInOut;
                let tag = c
                    .encrypt_inout_detached(&nonce.into(), aad, body.into())
                    .map_err(BenchError::ctx("raw seal"))?;
                tag_out.copy_from_slice(&tag);
            }
            Self::Aes256(c) => {
                use aes_gcm::aead::AeadInOut;
                let tag = c
                    .encrypt_inout_detached(&nonce.into(), aad, body.into())
                    .map_err(BenchError::ctx("raw seal"))?;
                tag_out.copy_from_slice(&tag);
            }
            #[cfg(feature = "aws-lc")]
            Self::AwsLc(k) => {
                use aws_lc_rs::aead::{Aad, Nonce};
                let tag = k
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(aad),
                        body,
                    )
                    .map_err(BenchError::ctx("raw seal"))?;
                tag_out.copy_from_slice(tag.as_ref());
            }
        }
        Ok(())
    }

    /// Opens `buf[..len]` with the tag at `buf[len..len + TAG_LEN]`, in place.
    #[inline]
    fn open(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        len: usize,
    ) -> Result<usize> {
        match self {
            Self::Aes128(c) => {
                use aes_gcm::aead::AeadInOut;
                let (body, rest) = buf.split_at_mut(len);
                let mut tag = [0u8; TAG_LEN];
                tag.copy_from_slice(&rest[..TAG_LEN]);
                c.decrypt_inout_detached(&nonce.into(), aad, body.into(), &tag.into())
                    .map_err(BenchError::ctx("raw open"))?;
            }
            Self::Aes256(c) => {
                use aes_gcm::aead::AeadInOut;
                let (body, rest) = buf.split_at_mut(len);
                let mut tag = [0u8; TAG_LEN];
                tag.copy_from_slice(&rest[..TAG_LEN]);
                c.decrypt_inout_detached(&nonce.into(), aad, body.into(), &tag.into())
                    .map_err(BenchError::ctx("raw open"))?;
            }
            #[cfg(feature = "aws-lc")]
            Self::AwsLc(k) => {
                use aws_lc_rs::aead::{Aad, Nonce};
                k.open_in_place(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(aad),
                    &mut buf[..len + TAG_LEN],
                )
                .map_err(BenchError::ctx("raw open"))?;
            }
        }
        Ok(len)
    }
}

fn counter_nonce(ctr: u64) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    nonce[NONCE_LEN - 8..].copy_from_slice(&ctr.to_be_bytes());
    nonce
}

/// AAD length of [`Implementation::RawAeadHeaderAad`]: a typical SFrame header (config byte and
/// a 3-byte counter).
pub const HEADER_AAD_LEN: usize = 4;

/// The raw AEAD call: the floor that any framing adds to.
pub struct RawAeadCase {
    cipher: RawCipher,
    aad: [u8; HEADER_AAD_LEN],
    aad_len: usize,
    /// The frame sizes, in order (one size for a fixed-size case).
    sizes: Vec<usize>,
    /// The size index the next hot protect uses.
    next: usize,
    /// Bytes per frame slot: the largest frame and its tag.
    stride: usize,
    ctr: u64,
    hot: Vec<u8>,
    ring: Vec<u8>,
    ctrs: Vec<u64>,
    /// Each ring slot's frame size (looked up, not computed, on the timed path).
    lens: Vec<usize>,
}

impl RawAeadCase {
    /// Keys the backend's AEAD directly; `aad_len` bytes of AAD (at most [`HEADER_AAD_LEN`]).
    pub fn new(
        backend: AeadBackend,
        suite: CipherSuite,
        size: usize,
        aad_len: usize,
    ) -> Result<Self> {
        Self::with_sizes(backend, suite, &[size], ring_len_for(size), aad_len)
    }

    /// The same for a trace of frame sizes and a ring of `ring_len` frames (slot `i` holds a
    /// frame of `sizes[i % sizes.len()]` bytes).
    pub fn with_sizes(
        backend: AeadBackend,
        suite: CipherSuite,
        sizes: &[usize],
        ring_len: usize,
        aad_len: usize,
    ) -> Result<Self> {
        let largest = sizes.iter().copied().max().unwrap_or(0);
        let mut hot = payload(largest);
        hot.resize(largest + TAG_LEN, 0);
        Ok(Self {
            cipher: RawCipher::new(backend, suite)?,
            aad: [0x0b, 0x12, 0x34, 0x56],
            aad_len: aad_len.min(HEADER_AAD_LEN),
            sizes: sizes.to_vec(),
            next: 0,
            stride: largest + TAG_LEN,
            ctr: 0,
            ring: hot.repeat(ring_len.max(1)),
            hot,
            ctrs: vec![0; ring_len.max(1)],
            lens: (0..ring_len.max(1))
                .map(|i| sizes[i % sizes.len()])
                .collect(),
        })
    }
}

impl FrameCase for RawAeadCase {
    #[inline]
    fn protect(&mut self) -> Result<usize> {
        let size = self.sizes[self.next];
        self.next = next_index(self.next, self.sizes.len());
        self.ctr += 1;
        let aad = &self.aad[..self.aad_len];
        self.cipher
            .seal(counter_nonce(self.ctr), aad, &mut self.hot, size)?;
        Ok(size + TAG_LEN)
    }

    fn ring_len(&self) -> usize {
        self.ctrs.len()
    }

    fn refill(&mut self) -> Result<()> {
        for ((slot, ctr), &size) in self
            .ring
            .chunks_mut(self.stride)
            .zip(self.ctrs.iter_mut())
            .zip(&self.lens)
        {
            self.ctr += 1;
            *ctr = self.ctr;
            let aad = &self.aad[..self.aad_len];
            self.cipher.seal(counter_nonce(self.ctr), aad, slot, size)?;
        }
        Ok(())
    }

    #[inline]
    fn unprotect(&mut self, slot: usize) -> Result<usize> {
        let size = self.lens[slot];
        let buf = &mut self.ring[slot * self.stride..(slot + 1) * self.stride];
        let aad = &self.aad[..self.aad_len];
        self.cipher
            .open(counter_nonce(self.ctrs[slot]), aad, buf, size)
    }
}

/// The `sframe` crate: `MediaFrameView::encrypt_into` and
/// `EncryptedFrameView::validated_decrypt_into` with `ReplayAttackProtection`, reusing output
/// buffers.
pub struct SframeCrateCase {
    enc_key: sframe::key::EncryptionKey,
    dec_key: sframe::key::DecryptionKey,
    counter: sframe::frame::MonotonicCounter,
    validator: sframe::frame::validation::ReplayAttackProtection,
    payload: Vec<u8>,
    out: Vec<u8>,
    ring: Vec<Vec<u8>>,
    plain: Vec<u8>,
}

const SFRAME_KID: u64 = 3;

impl SframeCrateCase {
    /// Derives the sframe crate's keys for `suite` from a fixed secret.
    pub fn new(suite: CipherSuite, size: usize) -> Result<Self> {
        use sframe::frame::validation::{ReplayAttackProtection, Tolerance};
        let suite = match suite {
            CipherSuite::Aes256GcmSha512 => sframe::CipherSuite::AesGcm256Sha512,
            _ => sframe::CipherSuite::AesGcm128Sha256,
        };
        let secret = [0x42u8; 32];
        let e = BenchError::ctx("sframe crate key");
        let tolerance = Tolerance::try_new(128).map_err(&e)?;
        let capacity = size + 64;
        Ok(Self {
            enc_key: sframe::key::EncryptionKey::derive_from(suite, SFRAME_KID, secret)
                .map_err(&e)?,
            dec_key: sframe::key::DecryptionKey::derive_from(suite, SFRAME_KID, secret)
                .map_err(&e)?,
            counter: sframe::frame::MonotonicCounter::default(),
            validator: ReplayAttackProtection::new(SFRAME_KID, tolerance),
            payload: payload(size),
            out: Vec::with_capacity(capacity),
            ring: (0..ring_len_for(size))
                .map(|_| Vec::with_capacity(capacity))
                .collect(),
            plain: Vec::with_capacity(capacity),
        })
    }
}

impl FrameCase for SframeCrateCase {
    #[inline]
    fn protect(&mut self) -> Result<usize> {
        let e = BenchError::ctx("sframe crate encrypt");
        let frame =
            sframe::frame::MediaFrameView::try_new(&mut self.counter, &self.payload).map_err(&e)?;
        let encrypted = frame
            .encrypt_into(&self.enc_key, &mut self.out)
            .map_err(&e)?;
        Ok(encrypted.cipher_text().len())
    }

    fn ring_len(&self) -> usize {
        self.ring.len()
    }

    fn refill(&mut self) -> Result<()> {
        let e = BenchError::ctx("sframe crate encrypt");
        for slot in &mut self.ring {
            let frame = sframe::frame::MediaFrameView::try_new(&mut self.counter, &self.payload)
                .map_err(&e)?;
            frame.encrypt_into(&self.enc_key, slot).map_err(&e)?;
        }
        Ok(())
    }

    #[inline]
    fn unprotect(&mut self, slot: usize) -> Result<usize> {
        let e = BenchError::ctx("sframe crate decrypt");
        let frame = sframe::frame::EncryptedFrameView::try_new(&self.ring[slot]).map_err(&e)?;
        let plain = frame
            .validated_decrypt_into(&self.dec_key, &mut self.plain, &mut self.validator)
            .map_err(&e)?;
        Ok(plain.payload().len())
    }
}

/// webrtc-rs' SRTP: `Context::encrypt_rtp` / `decrypt_rtp` of an RTP packet (12-byte header, the
/// frame as payload).
pub struct SrtpCase {
    enc: rtc_srtp::context::Context,
    dec: rtc_srtp::context::Context,
    packet: Vec<u8>,
    seq: u16,
    ring: Vec<Vec<u8>>,
}

/// Length of the minimal RTP header the SRTP case uses.
pub const RTP_HEADER_LEN: usize = 12;

impl SrtpCase {
    /// Two SRTP contexts (sender, and receiver with a 64-packet replay window) on the `ring`
    /// provider.
    pub fn new(suite: CipherSuite, size: usize) -> Result<Self> {
        use rtc_srtp::protection_profile::ProtectionProfile;
        let profile = match suite {
            CipherSuite::Aes256GcmSha512 => ProtectionProfile::AeadAes256Gcm,
            _ => ProtectionProfile::AeadAes128Gcm,
        };
        let provider = rtc_crypto::default_provider().map_err(BenchError::ctx("srtp provider"))?;
        let e = BenchError::ctx("srtp context");
        let key = vec![0x42u8; profile.key_len()];
        let salt = vec![0x24u8; profile.salt_len()];
        let enc =
            rtc_srtp::context::Context::new(&key, &salt, profile, None, None, provider.crypto())
                .map_err(&e)?;
        let dec = rtc_srtp::context::Context::new(
            &key,
            &salt,
            profile,
            Some(rtc_srtp::option::srtp_replay_protection(64)),
            None,
            provider.crypto(),
        )
        .map_err(&e)?;
        let mut packet = vec![0x80, 111, 0, 0, 0, 0, 0x03, 0xc0, 0x5e, 0xa1, 0xca, 0x11];
        packet.extend_from_slice(&payload(size));
        Ok(Self {
            enc,
            dec,
            packet,
            seq: 0,
            ring: vec![Vec::with_capacity(size + 64); ring_len_for(size)],
        })
    }

    /// Moves the RTP header to the next packet: sequence number and a 20 ms timestamp step.
    fn bump(&mut self) {
        self.seq = self.seq.wrapping_add(1);
        self.packet[2..4].copy_from_slice(&self.seq.to_be_bytes());
        let timestamp = u32::from(self.seq).wrapping_mul(960);
        self.packet[4..8].copy_from_slice(&timestamp.to_be_bytes());
    }
}

impl FrameCase for SrtpCase {
    #[inline]
    fn protect(&mut self) -> Result<usize> {
        self.bump();
        let out = self
            .enc
            .encrypt_rtp(&self.packet)
            .map_err(BenchError::ctx("srtp encrypt"))?;
        Ok(out.len())
    }

    fn ring_len(&self) -> usize {
        self.ring.len()
    }

    fn refill(&mut self) -> Result<()> {
        for i in 0..self.ring.len() {
            self.bump();
            let out = self
                .enc
                .encrypt_rtp(&self.packet)
                .map_err(BenchError::ctx("srtp encrypt"))?;
            let slot = &mut self.ring[i];
            slot.clear();
            slot.extend_from_slice(&out);
        }
        Ok(())
    }

    #[inline]
    fn unprotect(&mut self, slot: usize) -> Result<usize> {
        let out = self
            .dec
            .decrypt_rtp(&self.ring[slot])
            .map_err(BenchError::ctx("srtp decrypt"))?;
        Ok(out.len() - RTP_HEADER_LEN)
    }
}
