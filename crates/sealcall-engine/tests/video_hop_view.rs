//! Real WebRTC over loopback, real VP8: video frames end-to-end encrypted inside DTLS-SRTP, what
//! a hop holding the hop-by-hop keys sees, and a hop that swaps the camera and screen streams.
//! The frames a receiver reassembles from RTP payloads after transport decryption are exactly
//! what a relay or media server with the DTLS-SRTP keys would rebuild.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{grant, transport_pair};
use sealcall_e2ee::*;
use sealcall_engine::frames::{InboundFrames, OutboundFrames};
use sealcall_engine::media::video::packet::{Reassembler, ReassemblyConfig};
use sealcall_engine::media::video::{TestPattern, VideoStream};
use sealcall_engine::transport::TransportEvent;
use sealcall_vpx::{Decoder, Encoder, EncoderConfig, vp8_frame_info};

const FRAMES: u64 = 30;

/// The sender's and the receiver's frame protection, keyed by one honest handshake.
fn keyed() -> (OutboundFrames, InboundFrames) {
    let (alice, bob) =
        sealcall_e2ee::testing::session_pair(b"video hop view", StreamConfig::default()).unwrap();
    let (senders, _) = alice.split();
    let (_, receivers) = bob.split();
    let mut outbound = OutboundFrames::end_to_end();
    outbound.install_keys(&grant(), senders).unwrap();
    let mut inbound = InboundFrames::end_to_end();
    inbound.install_keys(&grant(), receivers).unwrap();
    (outbound, inbound)
}

/// Encodes FRAMES test-pattern frames (the first a keyframe).
fn vp8_frames(w: u32, h: u32) -> Vec<Vec<u8>> {
    let pattern = TestPattern::new(w, h).unwrap();
    let mut enc = Encoder::new(EncoderConfig::camera(w, h)).unwrap();
    let mut out = Vec::new();
    for n in 0..FRAMES {
        for f in enc.encode(&pattern.frame(n), n * 3000, false).unwrap() {
            out.push(f.data);
        }
    }
    out
}

/// Two real peer connections on loopback. Sends each frame through `outbound` under the key of
/// `protect_as` on the track of `send_on` (a swapping hop makes them differ), and returns the
/// frames B reassembles per stream, as any hop with the DTLS-SRTP keys would see them.
async fn call(
    frames: &[Vec<u8>],
    outbound: &mut OutboundFrames,
    protect_as: VideoStream,
    send_on: VideoStream,
) -> Vec<(VideoStream, Vec<u8>)> {
    let (a, _a_events, b, mut b_events) = transport_pair().await;

    for (i, f) in frames.iter().enumerate() {
        let now = Duration::from_millis(33 * i as u64);
        let payload = outbound
            .protect(now, protect_as.media_kind(), f)
            .unwrap()
            .unwrap()
            .to_vec();
        a.send_video_frame(send_on, &payload, 3000 * i as u32)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut camera = Reassembler::new(ReassemblyConfig::default());
    let mut screen = Reassembler::new(ReassemblyConfig::default());
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while seen.len() < frames.len() {
        match tokio::time::timeout_at(deadline, b_events.recv()).await {
            Ok(Some(TransportEvent::Video(p))) => {
                let r = match p.stream {
                    VideoStream::Camera => &mut camera,
                    VideoStream::Screen => &mut screen,
                };
                r.push(Duration::ZERO, p.seq, p.timestamp, &p.payload)
                    .unwrap();
                while let Some(f) = r.poll(Duration::ZERO) {
                    seen.push((p.stream, f.data));
                }
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    a.close().await.unwrap();
    b.close().await.unwrap();
    seen
}

/// Whether a fresh VP8 decoder makes a picture of `data`.
fn decodes(data: &[u8]) -> bool {
    matches!(Decoder::new().unwrap().decode(data), Ok(Some(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hop_sees_no_vp8_in_an_e2ee_call_and_plain_vp8_in_a_standard_call() {
    let frames = vp8_frames(320, 240);
    assert!(vp8_frame_info(&frames[0]).unwrap().keyframe);

    // E2EE: nothing the hop rebuilds decodes, with or without the 1-17 byte SFrame header.
    let (mut outbound, mut inbound) = keyed();
    let seen = call(
        &frames,
        &mut outbound,
        VideoStream::Camera,
        VideoStream::Camera,
    )
    .await;
    assert_eq!(seen.len(), frames.len(), "every frame reassembled");
    for (_, hop) in &seen {
        for strip in 0..=17 {
            let rest = &hop[strip.min(hop.len())..];
            assert!(
                !decodes(rest),
                "a hop decoded VP8 after stripping {strip} bytes"
            );
            assert!(
                vp8_frame_info(rest).is_none_or(|i| !i.keyframe),
                "a hop sees a VP8 keyframe header"
            );
        }
        for f in &frames {
            assert!(
                !hop.windows(16)
                    .any(|w| f.windows(16).take(64).any(|x| x == w)),
                "plaintext VP8 bytes visible to the hop"
            );
        }
    }
    // The receiver with the keys gets the exact frames back, and they decode.
    let mut dec = Decoder::new().unwrap();
    for ((_, hop), f) in seen.iter().zip(&frames) {
        let plain = inbound
            .unprotect(Duration::ZERO, MediaKind::Video, hop)
            .unwrap();
        assert_eq!(plain, &f[..]);
        assert!(dec.decode(plain).unwrap().is_some());
    }

    // Standard call: the same packetization carries plain VP8, which any hop can decode.
    let mut outbound = OutboundFrames::standard();
    let seen = call(
        &frames,
        &mut outbound,
        VideoStream::Camera,
        VideoStream::Camera,
    )
    .await;
    assert_eq!(seen.len(), frames.len());
    assert!(
        decodes(&seen[0].1),
        "a standard call's keyframe decodes at the hop"
    );
    assert_eq!(seen[0].1, frames[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hop_that_swaps_camera_and_screen_gets_refusals_never_a_wrong_picture() {
    let frames = vp8_frames(320, 240);
    let (mut outbound, mut inbound) = keyed();
    // Camera frames (camera key) arrive on the screen track, as a swapping hop would deliver them.
    let seen = call(
        &frames,
        &mut outbound,
        VideoStream::Camera,
        VideoStream::Screen,
    )
    .await;
    assert_eq!(seen.len(), frames.len());
    for (stream, hop) in &seen {
        assert_eq!(*stream, VideoStream::Screen);
        // The receiver unprotects what came on its screen track under the screen key: refused.
        assert_eq!(
            inbound.unprotect(Duration::ZERO, stream.media_kind(), hop),
            None
        );
    }
    let stats = inbound.stats();
    assert_eq!(stats.frames, 0, "no swapped frame was accepted");
    assert_eq!(
        stats.auth_failures + stats.rejected,
        frames.len() as u64,
        "every swapped frame refused: {stats:?}"
    );
}
