//! Opus round trips of test tones, measured with the analysis functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sealcall_engine::EngineError;
use sealcall_engine::media::analysis::{dominant_frequency, rms, tone_snr_db};
use sealcall_engine::media::{
    AudioSource, EncoderConfig, FRAME_SAMPLES, MAX_PACKET_BYTES, OpusDecoder, OpusEncoder,
    SAMPLE_RATE, ToneSource,
};

/// Stated bound: a clean Opus round trip of a tone at 32 kbit/s keeps SNR ≥ 20 dB.
const CLEAN_SNR_DB: f64 = 20.0;

/// Encodes `seconds` of a tone and decodes it; returns the decoded samples after 0.2 s.
fn round_trip(freq: f64, seconds: usize) -> Vec<i16> {
    let mut src = ToneSource::new(freq, 0.3).unwrap();
    let mut enc = OpusEncoder::new().unwrap();
    let mut dec = OpusDecoder::new().unwrap();
    let mut pcm = [0i16; FRAME_SAMPLES];
    let mut out = [0i16; FRAME_SAMPLES];
    let mut packet = [0u8; MAX_PACKET_BYTES];
    let mut decoded = Vec::new();
    for _ in 0..seconds * 50 {
        assert!(src.read_frame(&mut pcm).unwrap());
        let n = enc.encode(&pcm, &mut packet).unwrap();
        assert!(n > 0 && n <= MAX_PACKET_BYTES);
        assert_eq!(
            dec.decode(Some(&packet[..n]), &mut out).unwrap(),
            FRAME_SAMPLES
        );
        decoded.extend_from_slice(&out);
    }
    assert_eq!(enc.stats().frames, seconds as u64 * 50);
    assert_eq!(dec.stats().frames, seconds as u64 * 50);
    decoded.split_off(SAMPLE_RATE as usize / 5)
}

fn check_tone(freq: f64) -> f64 {
    let decoded = round_trip(freq, 3);
    let (hz, power) = dominant_frequency(&decoded, SAMPLE_RATE, 100.0, 4000.0);
    let snr = tone_snr_db(&decoded, SAMPLE_RATE, freq);
    println!("{freq} Hz through Opus: detected {hz:.2} Hz, power {power:.4}, SNR {snr:.1} dB");
    assert!((hz - freq).abs() <= 5.0, "detected {hz} Hz for {freq} Hz");
    assert!(snr >= CLEAN_SNR_DB, "SNR {snr} dB < {CLEAN_SNR_DB} dB");
    assert!(rms(&decoded) > 0.1);
    snr
}

#[test]
fn tone_440_survives_opus() {
    check_tone(440.0);
}

#[test]
fn tone_880_survives_opus() {
    check_tone(880.0);
}

#[test]
fn average_bitrate_is_near_target() {
    let mut src = ToneSource::new(440.0, 0.3).unwrap();
    let mut enc = OpusEncoder::new().unwrap();
    let mut pcm = [0i16; FRAME_SAMPLES];
    let mut packet = [0u8; MAX_PACKET_BYTES];
    for _ in 0..100 {
        src.read_frame(&mut pcm).unwrap();
        enc.encode(&pcm, &mut packet).unwrap();
    }
    let bps = enc.stats().average_bitrate_bps();
    println!("average bitrate {bps} bit/s (target 32000)");
    assert!((16_000..=48_000).contains(&bps), "{bps}");
}

#[test]
fn concealment_and_fec_recovery() {
    let mut src = ToneSource::new(440.0, 0.3).unwrap();
    let mut enc = OpusEncoder::with_config(EncoderConfig {
        inband_fec: true,
        expected_loss_percent: 10,
        ..EncoderConfig::default()
    })
    .unwrap();
    let mut dec = OpusDecoder::new().unwrap();
    let mut pcm = [0i16; FRAME_SAMPLES];
    let mut out = [0i16; FRAME_SAMPLES];
    let mut packets = Vec::new();
    for _ in 0..100 {
        src.read_frame(&mut pcm).unwrap();
        let mut p = vec![0u8; MAX_PACKET_BYTES];
        let n = enc.encode(&pcm, &mut p).unwrap();
        p.truncate(n);
        packets.push(p);
    }
    let mut decoded = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        if i % 10 == 5 && (i / 10) % 2 == 0 {
            // Lost: recover from the next packet's FEC.
            dec.decode_fec(&packets[i + 1], &mut out).unwrap();
        } else if i % 10 == 5 {
            // Lost with nothing after it: conceal.
            assert_eq!(dec.decode(None, &mut out).unwrap(), FRAME_SAMPLES);
        } else {
            dec.decode(Some(p), &mut out).unwrap();
        }
        decoded.extend_from_slice(&out);
    }
    let s = dec.stats();
    assert_eq!(s.fec_recovered, 5);
    assert_eq!(s.concealed, 5);
    assert_eq!(s.frames, 90);
    let tail = &decoded[9600..];
    let (hz, _) = dominant_frequency(tail, SAMPLE_RATE, 100.0, 4000.0);
    let snr = tone_snr_db(tail, SAMPLE_RATE, 440.0);
    println!("10% lost (half FEC-recovered, half concealed): {hz:.2} Hz, SNR {snr:.1} dB");
    assert!((hz - 440.0).abs() <= 5.0);
    // Stated bound for 10% loss: SNR >= 6 dB (concealment artefacts count as noise).
    assert!(snr >= 6.0, "{snr}");
}

#[test]
fn garbage_packets_are_errors_not_panics() {
    let mut dec = OpusDecoder::new().unwrap();
    let mut out = [0i16; FRAME_SAMPLES];
    assert!(matches!(
        dec.decode(Some(&[]), &mut out),
        Err(EngineError::Codec(_))
    ));
    let mut seed = 0x1234_5678_u32;
    for len in [1usize, 2, 3, 7, 100, 1275, 1500, 4000] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        // Either decodes to something or is a Codec error; never panics.
        match dec.decode(Some(&bytes), &mut out) {
            Ok(n) => assert!(n <= FRAME_SAMPLES),
            Err(e) => assert!(matches!(e, EngineError::Codec(_))),
        }
        let _ = dec.decode_fec(&bytes, &mut out);
    }
    // A 60 ms packet does not fit a 20 ms frame: an error, not a panic.
    let mut enc60 =
        opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
    let long = enc60.encode_vec(&[0i16; 2880], 1275).unwrap();
    assert!(dec.decode(Some(&long), &mut out).is_err());
    // And the decoder still works afterwards.
    assert_eq!(dec.decode(None, &mut out).unwrap(), FRAME_SAMPLES);
}

#[test]
fn encoder_rejects_bad_settings() {
    for config in [
        EncoderConfig {
            bitrate_bps: 100,
            ..EncoderConfig::default()
        },
        EncoderConfig {
            bitrate_bps: 1_000_000,
            ..EncoderConfig::default()
        },
        EncoderConfig {
            expected_loss_percent: 101,
            ..EncoderConfig::default()
        },
        EncoderConfig {
            complexity: 11,
            ..EncoderConfig::default()
        },
    ] {
        assert!(matches!(
            OpusEncoder::with_config(config),
            Err(EngineError::InvalidMedia(_))
        ));
    }
    let mut enc = OpusEncoder::new().unwrap();
    assert!(enc.set_bitrate(5).is_err());
    enc.set_bitrate(64_000).unwrap();
    enc.set_fec(true, 20).unwrap();
    assert_eq!(enc.config().bitrate_bps, 64_000);
    // A too-small output buffer is an error, not a panic.
    let mut tiny = [0u8; 1];
    let loud: Vec<i16> = (0..FRAME_SAMPLES)
        .map(|i| if i % 2 == 0 { 20_000 } else { -20_000 })
        .collect();
    let frame: [i16; FRAME_SAMPLES] = loud.try_into().unwrap();
    let _ = enc.encode(&frame, &mut tiny);
}
