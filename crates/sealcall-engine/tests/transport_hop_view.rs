//! Real WebRTC over loopback: Opus audio end-to-end encrypted inside DTLS-SRTP, and what a hop
//! that holds the hop-by-hop keys sees. The RTP payloads observed after transport decryption are
//! exactly what a relay or media server with the DTLS-SRTP keys would see.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{grant, transport_pair};
use sealcall_e2ee::*;
use sealcall_engine::frames::{InboundFrames, OutboundFrames};
use sealcall_engine::media::analysis::{dominant_frequency, tone_snr_db};
use sealcall_engine::media::{
    FRAME_DURATION, JitterConfig, MAX_PACKET_BYTES, MemorySink, OpusDecoder, OpusEncoder,
    ReceivePipeline, SAMPLE_RATE, SendPipeline, ToneSource,
};
use sealcall_engine::transport::{RtpAudio, TransportEvent};

const FRAMES: usize = 100;

fn sessions() -> (Session, Session) {
    sealcall_e2ee::testing::session_pair(b"hop view", StreamConfig::default()).unwrap()
}

struct Sent {
    opus: Vec<Vec<u8>>,
    hop_view: Vec<RtpAudio>,
}

/// Connects two real peer connections on loopback, sends FRAMES tone frames from A to B through
/// `outbound`, and returns the plain Opus packets A encoded and the RTP payloads B received.
async fn call(mut outbound: OutboundFrames) -> Sent {
    let (a, _a_events, b, mut b_events) = transport_pair().await;

    let mut send = SendPipeline::new(
        ToneSource::new(440.0, 0.3).unwrap(),
        OpusEncoder::new().unwrap(),
    );
    let mut packet = [0u8; MAX_PACKET_BYTES];
    let mut opus = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    for i in 0..FRAMES {
        tick.tick().await;
        let n = send.next_packet(&mut packet).unwrap().unwrap();
        opus.push(packet[..n].to_vec());
        let now = FRAME_DURATION * i as u32;
        if let Some(payload) = outbound
            .protect(now, MediaKind::Audio, &packet[..n])
            .unwrap()
        {
            a.send_audio(Bytes::copy_from_slice(payload), FRAME_DURATION)
                .await
                .unwrap();
        }
    }
    // Collect what arrived (allow a little time for the last packets).
    let mut hop_view = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while hop_view.len() < FRAMES {
        match tokio::time::timeout_at(deadline, b_events.recv()).await {
            Ok(Some(TransportEvent::Audio(p))) => hop_view.push(p),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    a.close().await.unwrap();
    b.close().await.unwrap();
    Sent { opus, hop_view }
}

/// Decodes RTP payloads (in RTP order) through a receive pipeline and returns the samples.
fn play(payloads: &[(u16, u32, Vec<u8>)]) -> Vec<i16> {
    let mut recv = ReceivePipeline::new(
        JitterConfig::fixed(3),
        MemorySink::with_capacity_frames(FRAMES + 10),
    )
    .unwrap();
    for (i, (seq, ts, payload)) in payloads.iter().enumerate() {
        let now = FRAME_DURATION * i as u32;
        recv.push_packet(*seq, *ts, payload, now);
        recv.tick(now).unwrap();
    }
    for j in 0..5 {
        recv.tick(FRAME_DURATION * (payloads.len() + j) as u32)
            .unwrap();
    }
    recv.into_sink().into_samples()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.len() <= haystack.len() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_e2ee_call_carries_the_tone_and_a_hop_sees_only_ciphertext() {
    let (alice, bob) = sessions();
    let (senders, _) = alice.split();
    let (_, receivers) = bob.split();
    let mut outbound = OutboundFrames::end_to_end();
    outbound.install_keys(&grant(), senders).unwrap();
    let sent = call(outbound).await;
    assert!(
        sent.hop_view.len() >= FRAMES * 9 / 10,
        "only {} packets arrived",
        sent.hop_view.len()
    );

    // What a hop sees: no Opus packet A encoded appears in any payload, not even an 8-byte run of
    // one, and decoding the payloads as Opus does not give the tone.
    for hop in &sent.hop_view {
        for opus in &sent.opus {
            for run in opus.chunks(8).filter(|c| c.len() == 8) {
                assert!(
                    !contains(&hop.payload, run),
                    "plaintext Opus visible to a hop"
                );
            }
        }
    }
    let mut decoder = OpusDecoder::new().unwrap();
    let mut as_opus = Vec::new();
    let mut frame = [0i16; 960];
    for hop in &sent.hop_view {
        let _ = decoder.decode(Some(&hop.payload), &mut frame);
        as_opus.extend_from_slice(&frame);
    }
    let snr_hop = tone_snr_db(&as_opus, SAMPLE_RATE, 440.0);
    assert!(
        snr_hop < 3.0,
        "a hop decoded the tone from ciphertext (SNR {snr_hop:.1} dB)"
    );

    // B, with the end-to-end keys, hears the tone.
    let mut inbound = InboundFrames::end_to_end();
    inbound.install_keys(&grant(), receivers).unwrap();
    let mut clear = Vec::new();
    for (i, hop) in sent.hop_view.iter().enumerate() {
        let now = FRAME_DURATION * i as u32;
        if let Some(opus) = inbound.unprotect(now, MediaKind::Audio, &hop.payload) {
            clear.push((hop.seq, hop.timestamp, opus.to_vec()));
        }
    }
    assert_eq!(
        clear.len(),
        sent.hop_view.len(),
        "every authentic frame opens"
    );
    let samples = play(&clear);
    let (freq, _) = dominant_frequency(&samples, SAMPLE_RATE, 100.0, 4000.0);
    let snr = tone_snr_db(&samples, SAMPLE_RATE, 440.0);
    eprintln!(
        "e2ee: {} packets, tone {freq:.1} Hz at {snr:.1} dB; hop-decoded SNR {snr_hop:.1} dB",
        clear.len()
    );
    assert!((freq - 440.0).abs() < 5.0, "heard {freq} Hz");
    assert!(snr >= 15.0, "SNR {snr} dB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_standard_call_a_hop_sees_plain_opus() {
    let sent = call(OutboundFrames::standard()).await;
    assert!(
        sent.hop_view.len() >= FRAMES * 9 / 10,
        "only {} packets arrived",
        sent.hop_view.len()
    );
    // Every payload is exactly one of the Opus packets A encoded.
    for hop in &sent.hop_view {
        assert!(
            sent.opus.iter().any(|o| o[..] == hop.payload[..]),
            "payload is not plain Opus"
        );
    }
    let payloads: Vec<_> = sent
        .hop_view
        .iter()
        .map(|h| (h.seq, h.timestamp, h.payload.to_vec()))
        .collect();
    let samples = play(&payloads);
    let snr = tone_snr_db(&samples, SAMPLE_RATE, 440.0);
    eprintln!("standard: hop decodes the tone at {snr:.1} dB");
    assert!(
        snr >= 15.0,
        "a hop decodes plain Opus in a standard call (SNR {snr} dB)"
    );
}
