//! A real WebRTC call through a lossy network: two UDP impairment proxies sit between the peers
//! (every ICE candidate in the exchanged SDP is rewritten to point at a proxy), and they drop 10%
//! of the media packets, duplicate 10% and hold some back so they arrive out of order. STUN and
//! DTLS pass untouched, so the connection forms; then audio is end-to-end encrypted Opus. On top,
//! the sending side re-sends some frames in fresh RTP packets, as a hop holding the DTLS-SRTP keys
//! could: SRTP accepts those, the end-to-end replay window must refuse them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use common::impair::{Counters, route_through_proxies};
use common::{grant, wait_connected};
use sealcall_e2ee::*;
use sealcall_engine::frames::{InboundFrames, OutboundFrames};
use sealcall_engine::media::analysis::{dominant_frequency, tone_snr_db};
use sealcall_engine::media::{
    FRAME_DURATION, JitterConfig, MAX_PACKET_BYTES, MemorySink, OpusEncoder, ReceivePipeline,
    SAMPLE_RATE, SendPipeline, ToneSource,
};
use sealcall_engine::transport::{CallTransport, TransportConfig, TransportEvent};

const FRAMES: u32 = 150;

fn sessions() -> (Session, Session) {
    sealcall_e2ee::testing::session_pair(b"impairment", StreamConfig::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_e2ee_call_survives_loss_reordering_and_duplication() {
    let counters = Arc::new(Counters::default());
    let (a, mut a_events) = CallTransport::new(TransportConfig::loopback())
        .await
        .unwrap();
    let (b, mut b_events) = CallTransport::new(TransportConfig::loopback())
        .await
        .unwrap();
    let offer = a.create_offer().await.unwrap();
    let answer = b
        .accept_offer(&route_through_proxies(&offer, 1, &counters).await)
        .await
        .unwrap();
    a.accept_answer(&route_through_proxies(&answer, 2, &counters).await)
        .await
        .unwrap();
    wait_connected(&mut a_events).await;
    wait_connected(&mut b_events).await;

    let (alice, bob) = sessions();
    let (senders, _) = alice.split();
    let (_, receivers) = bob.split();
    let mut outbound = OutboundFrames::end_to_end();
    outbound.install_keys(&grant(), senders).unwrap();
    let mut inbound = InboundFrames::end_to_end();
    inbound.install_keys(&grant(), receivers).unwrap();

    let receiver = tokio::spawn(async move {
        let mut recv = ReceivePipeline::new(
            JitterConfig::default(),
            MemorySink::with_capacity_frames(FRAMES as usize + 100),
        )
        .unwrap();
        let start = tokio::time::Instant::now();
        let mut tick = tokio::time::interval(FRAME_DURATION);
        let deadline = start + FRAME_DURATION * (FRAMES + 30);
        loop {
            tokio::select! {
                e = b_events.recv() => {
                    if let Some(TransportEvent::Audio(rtp)) = e {
                        let now = start.elapsed();
                        if let Some(opus) = inbound.unprotect(now, MediaKind::Audio, &rtp.payload) {
                            recv.push_packet(rtp.seq, rtp.timestamp, opus, now);
                        }
                    }
                }
                _ = tick.tick() => {
                    recv.tick(start.elapsed()).unwrap();
                    if tokio::time::Instant::now() >= deadline {
                        break;
                    }
                }
            }
        }
        (
            inbound.stats(),
            recv.stats(),
            recv.into_sink().into_samples(),
        )
    });

    let mut send = SendPipeline::new(
        ToneSource::new(440.0, 0.3).unwrap(),
        OpusEncoder::new().unwrap(),
    );
    let mut packet = [0u8; MAX_PACKET_BYTES];
    let mut tick = tokio::time::interval(FRAME_DURATION);
    for i in 0..FRAMES {
        tick.tick().await;
        let n = send.next_packet(&mut packet).unwrap().unwrap();
        let payload = outbound
            .protect(FRAME_DURATION * i, MediaKind::Audio, &packet[..n])
            .unwrap()
            .unwrap();
        let payload = Bytes::copy_from_slice(payload);
        a.send_audio(payload.clone(), FRAME_DURATION).await.unwrap();
        // A hop holding the DTLS-SRTP keys replays every 10th frame in a fresh RTP packet, which
        // SRTP cannot recognise: only the end-to-end replay window can.
        if i % 10 == 5 {
            a.send_audio(payload, FRAME_DURATION).await.unwrap();
        }
    }
    let (frames, media, samples) = receiver.await.unwrap();
    a.close().await.unwrap();
    b.close().await.unwrap();

    let snr = tone_snr_db(&samples, SAMPLE_RATE, 440.0);
    let (freq, _) = dominant_frequency(&samples, SAMPLE_RATE, 100.0, 4000.0);
    eprintln!(
        "proxies: {} media packets, {} dropped, {} duplicated, {} delayed; receiver: {} frames opened, {} replays refused, {} auth failures; jitter buffer: {} lost, {} concealed, {} late; tone {freq:.1} Hz at {snr:.1} dB",
        counters.media.load(Ordering::Relaxed),
        counters.dropped.load(Ordering::Relaxed),
        counters.duplicated.load(Ordering::Relaxed),
        counters.delayed.load(Ordering::Relaxed),
        frames.frames,
        frames.replays,
        frames.auth_failures,
        media.packets_lost,
        media.concealed_frames,
        media.packets_late,
    );
    assert!(
        counters.dropped.load(Ordering::Relaxed) > 0
            && counters.duplicated.load(Ordering::Relaxed) > 0
    );
    assert!(
        frames.replays > 0,
        "frames a hop re-sent in fresh RTP packets are refused by the end-to-end replay window \
         (duplicated SRTP packets already die in SRTP's own replay check)"
    );
    assert_eq!(frames.auth_failures, 0);
    assert!(
        frames.frames as f64 >= f64::from(FRAMES) * 0.75,
        "most audio still arrives"
    );
    assert!((freq - 440.0).abs() < 5.0, "heard {freq} Hz");
    assert!(
        snr >= 3.0,
        "SNR {snr} dB (stated bound with 10% loss and reordering: 3 dB)"
    );
}
