//! End-to-end calls between two engines: a real server on 127.0.0.1:0 with a real SQLite file,
//! real WebRTC peers over loopback, real Opus.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use sealcall_engine::call::{CallEvent, Ended, MediaMode};
use sealcall_engine::{EngineEvent, PostQuantumStatus};
use sealcall_policy::Feature;

/// Stated bound for a clean loopback call: the tone arrives with at least 15 dB SNR.
const SNR_DB: f64 = 15.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_e2ee_call_carries_both_tones_and_both_sides_show_the_same_code() {
    let server = TestServer::start().await;
    let Pair {
        ken,
        mut ken_ev,
        ana: _ana,
        mut ana_ev,
    } = server
        .pair(("ken-hears.wav", "ana-hears.wav"), |_, _| {}, (true, true))
        .await;

    ken.call(ANA).unwrap();
    let code_of = |e: &EngineEvent| match e {
        EngineEvent::SecurityCode {
            code, post_quantum, ..
        } => Some((code.clone(), *post_quantum)),
        _ => None,
    };
    let (ken_code, ken_pq) = wait_for(&mut ken_ev, 15, code_of).await;
    let (ana_code, ana_pq) = wait_for(&mut ana_ev, 15, code_of).await;
    assert_eq!(ken_code, ana_code);
    // Post-quantum by default, on both sides, shown next to the lock.
    for pq in [ken_pq, ana_pq] {
        assert_eq!(pq, PostQuantumStatus::Protected);
        assert_eq!(pq.label(), "post-quantum protected");
    }
    assert_eq!(ken_code.len(), 23, "four groups of five digits: {ken_code}");
    assert!(
        connected(&mut ken_ev).await,
        "ken sees an end-to-end encrypted call"
    );
    assert!(
        connected(&mut ana_ev).await,
        "ana sees an end-to-end encrypted call"
    );

    // Blocked features in an E2EE call.
    let refused = ken.request_feature(Feature::Recording).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("isn't available during an end-to-end encrypted call")
    );
    let file = server.wav("must-not-exist.wav");
    let refused = ken.start_recording(&file).unwrap_err().to_string();
    assert!(refused.contains("Recording isn't available"), "{refused}");
    assert!(!file.exists(), "no file for a refused recording");

    // Let audio flow, then read the stats.
    let stats = wait_for(&mut ken_ev, 10, |e| match e {
        EngineEvent::Stats { stats, .. } if stats.inbound.frames > 50 => Some(stats.clone()),
        _ => None,
    })
    .await;
    assert!(stats.end_to_end);
    assert!(stats.outbound.frames > 50 && stats.inbound.auth_failures == 0);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    ken.hangup().unwrap();
    assert_eq!(ended(&mut ken_ev).await, Ended::Local);
    assert!(matches!(ended(&mut ana_ev).await, Ended::Remote(_)));
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (f_ana, snr_ana, n) = analyse(&server.wav("ana-hears.wav"), 440.0);
    eprintln!("ana hears {f_ana:.1} Hz at {snr_ana:.1} dB ({n} samples); code {ken_code}");
    assert!((f_ana - 440.0).abs() < 5.0 && snr_ana >= SNR_DB);
    let (f_ken, snr_ken, n) = analyse(&server.wav("ken-hears.wav"), 880.0);
    eprintln!("ken hears {f_ken:.1} Hz at {snr_ken:.1} dB ({n} samples)");
    assert!((f_ken - 880.0).abs() < 5.0 && snr_ken >= SNR_DB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_standard_with_the_reason_when_the_other_person_has_not_turned_it_on() {
    let server = TestServer::start().await;
    let Pair {
        ken,
        mut ken_ev,
        ana: _ana,
        mut ana_ev,
    } = server
        .pair(("k.wav", "a.wav"), |_, _| {}, (true, false))
        .await;

    ken.call(ANA).unwrap();
    let mode = wait_for(&mut ken_ev, 15, |e| match e {
        EngineEvent::Call(CallEvent::Connecting { mode, .. }) => Some(mode.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        mode,
        MediaMode::Standard {
            reasons: vec!["the other person hasn't turned on end-to-end encrypted calls".into()]
        }
    );
    let ana_mode = wait_for(&mut ana_ev, 15, |e| match e {
        EngineEvent::Call(CallEvent::Connecting { mode, .. }) => Some(mode.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        ana_mode,
        MediaMode::Standard {
            reasons: vec![
                "you haven't turned on end-to-end encrypted calls (Settings > Privacy)".into()
            ]
        }
    );
    assert!(!connected(&mut ken_ev).await);
    // Not refused for end-to-end encryption in a standard call; what Sealcall lacks is said.
    ken.request_feature(Feature::Recording).unwrap();
    for feature in Feature::ALL {
        if sealcall_engine::STANDARD_CALL_FEATURES.contains(&feature) {
            continue;
        }
        let e = ken.request_feature(feature).unwrap_err().to_string();
        assert!(!e.contains("end-to-end"), "{e}");
        assert!(e.contains("is not available in Sealcall"), "{e}");
    }
    let e = ken
        .request_feature(Feature::LiveCaptionsAndTranscription)
        .unwrap_err();
    assert!(e.to_string().contains("speech model"), "{e}");
    let e = ken.request_feature(Feature::CallMerge).unwrap_err();
    assert!(e.to_string().contains("one to one"), "{e}");
    ken.hangup().unwrap();
    ended(&mut ken_ev).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setting_is_refused_under_disabled_and_a_required_party_refuses_a_standard_call() {
    let server = TestServer::start().await;
    let (ken, mut ken_ev) = engine(server.config(KEN, "tone:440", &server.wav("k.wav"))).await;
    // Global starts Disabled: the toggle cannot be turned on.
    let err = ken.set_e2ee(true).await.unwrap_err();
    assert!(
        matches!(err, sealcall_engine::EngineError::Refused(_)),
        "{err}"
    );

    server.require_e2ee_for(ANA).await;
    let (_ana, _ana_ev) = engine(server.config(ANA, "tone:880", &server.wav("a.wav"))).await;
    ken.call(ANA).unwrap();
    let Ended::Refused(messages) = ended(&mut ken_ev).await else {
        panic!("expected a refusal")
    };
    assert!(
        messages[0].contains("the other person's organisation requires end-to-end encrypted calls"),
        "{messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_bot_echoes_across_three_rekeys_in_each_direction_with_no_frame_lost() {
    let server = TestServer::start().await;
    let short_rekey = sealcall_e2ee::StreamConfig {
        rekey: sealcall_e2ee::RekeySchedule {
            every_frames: Some(40),
            every: None,
        },
        ..sealcall_e2ee::StreamConfig::default()
    };
    // Ana is the echo bot here.
    let Pair {
        ken,
        mut ken_ev,
        ana: _bot,
        ana_ev: mut bot_ev,
    } = server
        .pair(
            ("ken-echo.wav", "unused.wav"),
            |ken, bot| {
                ken.stream = short_rekey;
                bot.stream = short_rekey;
                bot.audio = sealcall_engine::AudioRoute::Echo;
            },
            (true, true),
        )
        .await;
    ken.call(ANA).unwrap();
    assert!(connected(&mut ken_ev).await);
    // 40 frames per epoch at 50 frames/s: three rekeys each way take a little over 2.4 s.
    let stats = wait_for(&mut ken_ev, 20, |e| match e {
        EngineEvent::Stats { stats, .. }
            if stats.send_epoch >= Some(3) && stats.receive_epoch >= Some(3) =>
        {
            Some(stats.clone())
        }
        _ => None,
    })
    .await;
    let bot_stats = wait_for(&mut bot_ev, 20, |e| match e {
        EngineEvent::Stats { stats, .. }
            if stats.send_epoch >= Some(3) && stats.receive_epoch >= Some(3) =>
        {
            Some(stats.clone())
        }
        _ => None,
    })
    .await;
    ken.hangup().unwrap();
    ended(&mut ken_ev).await;
    for s in [&stats, &bot_stats] {
        eprintln!(
            "epochs sent/received {:?}/{:?}, frames {} in, auth failures {}, rejected {}, lost {}",
            s.send_epoch,
            s.receive_epoch,
            s.inbound.frames,
            s.inbound.auth_failures,
            s.inbound.rejected,
            s.media.packets_lost
        );
        assert_eq!(s.inbound.auth_failures, 0);
        assert_eq!(s.inbound.rejected, 0, "no frame refused across rekeys");
        assert_eq!(s.inbound.replays, 0);
        assert_eq!(s.media.packets_lost, 0, "no frame lost to a rekey");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (freq, snr, _) = analyse(&server.wav("ken-echo.wav"), 440.0);
    eprintln!("ken hears his echo at {freq:.1} Hz, {snr:.1} dB");
    assert!((freq - 440.0).abs() < 5.0 && snr >= SNR_DB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_only_call_connects_through_the_servers_turn_relay() {
    let server = TestServer::start().await;
    let Pair {
        ken,
        mut ken_ev,
        ana: _ana,
        mut ana_ev,
    } = server
        .pair(
            ("ken-relay.wav", "ana-relay.wav"),
            |ken, ana| {
                ken.transport.relay_only = true;
                ana.transport.relay_only = true;
            },
            (true, true),
        )
        .await;
    ken.call(ANA).unwrap();
    assert!(connected(&mut ken_ev).await);
    assert!(connected(&mut ana_ev).await);
    wait_for(&mut ken_ev, 10, |e| {
        matches!(e, EngineEvent::FirstAudio { .. }).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    ken.hangup().unwrap();
    ended(&mut ken_ev).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (freq, snr, _) = analyse(&server.wav("ana-relay.wav"), 440.0);
    eprintln!("through the relay: ana hears {freq:.1} Hz at {snr:.1} dB");
    assert!((freq - 440.0).abs() < 5.0 && snr >= SNR_DB);
}

/// Samples of a WAV the engine wrote.
fn samples_of(path: &std::path::Path) -> Vec<i16> {
    use sealcall_engine::media::{AudioSource, FRAME_SAMPLES, WavSource};
    let mut src = WavSource::open(path).unwrap();
    let mut out = Vec::new();
    let mut frame = [0i16; FRAME_SAMPLES];
    while src.read_frame(&mut frame).unwrap() {
        out.extend_from_slice(&frame);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_and_output_can_be_switched_during_a_call() {
    use sealcall_engine::AudioRoute;
    use sealcall_engine::media::SAMPLE_RATE;
    use sealcall_engine::media::analysis::{dominant_frequency, tone_snr_db};

    let server = TestServer::start().await;
    let Pair {
        ken,
        mut ken_ev,
        ana: _ana,
        mut ana_ev,
    } = server
        .pair(("ken-1.wav", "ana-hears.wav"), |_, _| {}, (true, true))
        .await;
    ken.call(ANA).unwrap();
    assert!(connected(&mut ken_ev).await);
    wait_for(&mut ana_ev, 10, |e| {
        matches!(e, EngineEvent::FirstAudio { .. }).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;

    // Bad specs are refused up front and change nothing.
    assert!(
        ken.set_audio_route(AudioRoute::Specs {
            input: "tone:".into(),
            output: "null".into()
        })
        .is_err()
    );
    // Ken switches to a 660 Hz input and records what he hears into a second file.
    ken.set_audio_route(AudioRoute::Specs {
        input: "tone:660".into(),
        output: server.wav("ken-2.wav").display().to_string(),
    })
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ken.hangup().unwrap();
    ended(&mut ken_ev).await;
    ended(&mut ana_ev).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Ana heard 440 Hz before the switch and 660 Hz at the end of the call.
    let heard = samples_of(&server.wav("ana-hears.wav"));
    let rate = SAMPLE_RATE as usize;
    let tail = &heard[heard.len() - rate..heard.len() - rate / 5];
    let (late, _) = dominant_frequency(tail, SAMPLE_RATE, 100.0, 4000.0);
    let start = heard.iter().position(|s| s.unsigned_abs() > 1000).unwrap();
    let (early, _) =
        dominant_frequency(&heard[start..start + rate / 2], SAMPLE_RATE, 100.0, 4000.0);
    eprintln!(
        "ana heard {early:.1} Hz, then {late:.1} Hz (SNR {:.1} dB)",
        tone_snr_db(tail, SAMPLE_RATE, 660.0)
    );
    assert!((early - 440.0).abs() < 5.0, "before the switch: {early} Hz");
    assert!((late - 660.0).abs() < 5.0, "after the switch: {late} Hz");
    // Ken's second recording holds what he heard after the switch: Ana's 880 Hz.
    let (f2, _) = dominant_frequency(
        &samples_of(&server.wav("ken-2.wav")),
        SAMPLE_RATE,
        100.0,
        4000.0,
    );
    assert!((f2 - 880.0).abs() < 5.0, "second output file: {f2} Hz");
    assert!(!samples_of(&server.wav("ken-1.wav")).is_empty());
}

/// The newest statistics of a call after everything queued so far: the events waiting are
/// consumed (their hold changes returned too), then the next `Stats` is awaited.
async fn fresh_stats(
    events: &mut sealcall_engine::EngineEvents,
) -> (sealcall_engine::CallStats, Vec<sealcall_engine::HoldState>) {
    let mut holds = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let EngineEvent::Hold { hold, .. } = e {
            holds.push(hold);
        }
    }
    let stats = wait_for(events, 5, |e| match e {
        EngineEvent::Stats { stats, .. } => Some((**stats).clone()),
        _ => None,
    })
    .await;
    (stats, holds)
}

async fn hold_changes_to(events: &mut sealcall_engine::EngineEvents) -> sealcall_engine::HoldState {
    wait_for(events, 5, |e| match e {
        EngineEvent::Hold { hold, .. } => Some(*hold),
        _ => None,
    })
    .await
}

/// Hold in a standard and in an end-to-end encrypted call: Ken holds, both see it, no audio or
/// video flows either way (counted on both sides), Ana cannot lift Ken's hold; Ken resumes and
/// audio and camera pictures flow again (the camera restarts from a keyframe).
async fn hold_and_resume(e2ee: bool) {
    let server = TestServer::start().await;
    let Pair {
        ken,
        mut ken_ev,
        ana,
        mut ana_ev,
    } = server
        .pair(
            ("ken-hears.wav", "ana-hears.wav"),
            |k, _| k.video = sealcall_engine::VideoSpec::TestPattern,
            (e2ee, e2ee),
        )
        .await;
    assert!(ken.hold().is_err(), "no call to hold yet");
    ken.call(ANA).unwrap();
    assert_eq!(connected(&mut ken_ev).await, e2ee);
    assert_eq!(connected(&mut ana_ev).await, e2ee);
    // Ana sees Ken's camera before the hold.
    wait_for(&mut ana_ev, 10, |e| {
        matches!(e, EngineEvent::Video { .. }).then_some(())
    })
    .await;

    ken.hold().unwrap();
    let held = sealcall_engine::HoldState {
        by_me: true,
        by_peer: false,
    };
    assert_eq!(hold_changes_to(&mut ken_ev).await, held);
    assert_eq!(
        hold_changes_to(&mut ana_ev).await,
        sealcall_engine::HoldState {
            by_me: false,
            by_peer: true
        }
    );
    assert_eq!(ken.hold_state(), held);
    // Ana's resume lifts only a hold of her own: the call stays held.
    ana.resume().unwrap();
    // What was in flight lands; from then on nothing moves either way.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (k0, _) = fresh_stats(&mut ken_ev).await;
    let (a0, _) = fresh_stats(&mut ana_ev).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (k1, _) = fresh_stats(&mut ken_ev).await;
    let (a1, ana_holds) = fresh_stats(&mut ana_ev).await;
    assert!(
        ana_holds.is_empty(),
        "Ana's resume changed nothing: {ana_holds:?}"
    );
    assert_eq!(
        k1.media.packets_sent, k0.media.packets_sent,
        "Ken sends no audio"
    );
    assert_eq!(
        a1.media.packets_sent, a0.media.packets_sent,
        "Ana sends no audio"
    );
    assert_eq!(k1.media.packets_received, k0.media.packets_received);
    assert_eq!(a1.media.packets_received, a0.media.packets_received);
    assert_eq!(
        k1.camera.frames_sent, k0.camera.frames_sent,
        "Ken's camera sends nothing"
    );
    assert_eq!(a1.camera.frames_decoded, a0.camera.frames_decoded);

    ken.resume().unwrap();
    assert_eq!(
        hold_changes_to(&mut ken_ev).await,
        sealcall_engine::HoldState::default()
    );
    assert_eq!(
        hold_changes_to(&mut ana_ev).await,
        sealcall_engine::HoldState::default()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (k2, _) = fresh_stats(&mut ken_ev).await;
    let (a2, _) = fresh_stats(&mut ana_ev).await;
    for (side, before, after) in [("Ken", &k1, &k2), ("Ana", &a1, &a2)] {
        let got = after.media.packets_received - before.media.packets_received;
        assert!(
            got >= 50,
            "{side} hears the other again: {got} packets in 2 s"
        );
    }
    assert!(
        a2.camera.frames_decoded > a1.camera.frames_decoded,
        "Ana sees Ken's camera again"
    );
    assert!(
        k2.camera.keyframes_sent > k1.camera.keyframes_sent,
        "the camera restarted from a keyframe"
    );
    assert_eq!(a2.inbound.auth_failures, 0);
    // The pause was not taken for jitter: the jitter buffer's target did not grow.
    eprintln!(
        "jitter target before the hold {:?}, after the resume {:?}",
        a0.media.jitter_target_delay, a2.media.jitter_target_delay
    );
    assert!(
        a2.media.jitter_target_delay <= a0.media.jitter_target_delay + Duration::from_millis(40),
        "{:?} -> {:?}",
        a0.media.jitter_target_delay,
        a2.media.jitter_target_delay
    );
    ken.hangup().unwrap();
    ended(&mut ken_ev).await;
    assert_eq!(ken.hold_state(), sealcall_engine::HoldState::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_pauses_media_both_ways_in_a_standard_call() {
    hold_and_resume(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_pauses_media_both_ways_in_an_e2ee_call() {
    hold_and_resume(true).await;
}

/// Recording a standard call: Ana is told (and confirms) before Ken records a frame; the file
/// holds what Ken sent on the left (his 440 Hz tone) and what he played on the right (Ana's
/// 880 Hz); stopping completes it and tells Ana; an existing file is never overwritten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_holds_both_tones_and_the_other_side_is_told_first() {
    use sealcall_engine::RecordingState;
    use sealcall_engine::media::analysis::tone_snr_db;
    let server = TestServer::start().await;
    let Pair {
        ken,
        mut ken_ev,
        ana: _ana,
        mut ana_ev,
    } = server
        .pair(
            ("ken-hears.wav", "ana-hears.wav"),
            |_, _| {},
            (false, false),
        )
        .await;
    ken.call(ANA).unwrap();
    assert!(!connected(&mut ken_ev).await);
    assert!(!connected(&mut ana_ev).await);

    let taken = server.wav("taken.wav");
    std::fs::write(&taken, b"keep").unwrap();
    let e = ken.start_recording(&taken).unwrap_err().to_string();
    assert!(e.contains("already exists"), "{e}");
    assert_eq!(std::fs::read(&taken).unwrap(), b"keep");

    let path = server.wav("call-recording.wav");
    ken.start_recording(&path).unwrap();
    let recording = |e: &EngineEvent| match e {
        EngineEvent::Recording { state, .. } => Some(state.clone()),
        _ => None,
    };
    assert_eq!(
        wait_for(&mut ken_ev, 5, recording).await,
        RecordingState::Waiting { path: path.clone() }
    );
    let peer_recording = |e: &EngineEvent| match e {
        EngineEvent::PeerRecording { recording, .. } => Some(*recording),
        _ => None,
    };
    assert!(
        wait_for(&mut ana_ev, 5, peer_recording).await,
        "Ana is told"
    );
    assert_eq!(
        wait_for(&mut ken_ev, 5, recording).await,
        RecordingState::Recording { path: path.clone() },
        "recording begins once Ana's device confirmed"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    ken.stop_recording().unwrap();
    let RecordingState::Stopped {
        path: done,
        duration,
    } = wait_for(&mut ken_ev, 5, recording).await
    else {
        panic!("the recording did not stop cleanly");
    };
    assert_eq!(done, path);
    assert!(
        (Duration::from_millis(1800)..Duration::from_secs(4)).contains(&duration),
        "{duration:?}"
    );
    assert!(
        !wait_for(&mut ana_ev, 5, peer_recording).await,
        "Ana is told it stopped"
    );

    let mut reader = hound::WavReader::open(&path).unwrap();
    assert_eq!(reader.spec().channels, 2);
    let samples: Vec<i16> = reader.samples::<i16>().map(|s| s.unwrap()).collect();
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
    assert_eq!(left.len() as u128, duration.as_millis() * 48);
    let sent = tone_snr_db(&left, 48_000, 440.0);
    let played = tone_snr_db(&right, 48_000, 880.0);
    eprintln!(
        "recording: {duration:?}, sent 440 Hz at {sent:.1} dB SNR, played 880 Hz at {played:.1} dB"
    );
    assert!(sent >= SNR_DB && played >= SNR_DB, "{sent} / {played}");
    ken.hangup().unwrap();
    ended(&mut ken_ev).await;
}
