//! Sources, sinks, WAV files and the `--input` / `--output` specs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use sealcall_engine::EngineError;
use sealcall_engine::media::analysis::{dominant_frequency, tone_snr_db};
use sealcall_engine::media::device::{pick_input_with, pick_output_with};
use sealcall_engine::media::{
    AudioSink, AudioSource, FRAME_SAMPLES, InputSpec, MemorySink, NullSink, OutputSpec,
    SAMPLE_RATE, SilenceSource, ToneSource, WavSink, WavSource,
};

/// A fresh temporary directory, removed on drop.
struct TempDir(PathBuf);
impl TempDir {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sealcall-media-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read_all(src: &mut dyn AudioSource) -> Vec<i16> {
    let mut frame = [0i16; FRAME_SAMPLES];
    let mut out = Vec::new();
    while src.read_frame(&mut frame).unwrap() {
        out.extend_from_slice(&frame);
        assert!(out.len() < 100 * SAMPLE_RATE as usize, "source never ended");
    }
    out
}

#[test]
fn tone_source_is_continuous_and_correct() {
    let mut tone = ToneSource::new(440.0, 0.5).unwrap();
    let mut frame = [0i16; FRAME_SAMPLES];
    let mut all = Vec::new();
    for _ in 0..50 {
        assert!(tone.read_frame(&mut frame).unwrap());
        all.extend_from_slice(&frame);
    }
    let (hz, power) = dominant_frequency(&all, SAMPLE_RATE, 100.0, 4000.0);
    assert!((hz - 440.0).abs() < 0.5);
    assert!((power - 0.125).abs() < 0.01);
    // Continuous phase: no discontinuity at frame boundaries, so the SNR is very high.
    assert!(tone_snr_db(&all, SAMPLE_RATE, 440.0) > 60.0);
    assert!(tone.describe().contains("440"));
    let mut silence = SilenceSource;
    frame.fill(5);
    assert!(silence.read_frame(&mut frame).unwrap());
    assert!(frame.iter().all(|&s| s == 0));
}

#[test]
fn wav_round_trip_is_exact() {
    let dir = TempDir::new();
    let path = dir.path("tone.wav");
    let mut tone = ToneSource::new(523.25, 0.4).unwrap();
    let mut sink = WavSink::create(&path).unwrap();
    let mut frame = [0i16; FRAME_SAMPLES];
    let mut written = Vec::new();
    for _ in 0..25 {
        tone.read_frame(&mut frame).unwrap();
        sink.write_frame(&frame).unwrap();
        written.extend_from_slice(&frame);
    }
    sink.finish().unwrap();
    sink.finish().unwrap(); // harmless twice
    assert!(sink.write_frame(&frame).is_err());

    let mut src = WavSource::open(&path).unwrap();
    assert_eq!(src.spec().sample_rate, 48_000);
    let read = read_all(&mut src);
    assert_eq!(read, written);
    // Ended sources stay ended and silent.
    frame.fill(1);
    assert!(!src.read_frame(&mut frame).unwrap());
    assert!(frame.iter().all(|&s| s == 0));
}

#[test]
fn wav_stereo_float_44100_is_downmixed_and_resampled() {
    let dir = TempDir::new();
    let path = dir.path("stereo.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for i in 0..44_100 {
        let x = (std::f64::consts::TAU * 1000.0 * f64::from(i) / 44_100.0).sin() as f32 * 0.5;
        w.write_sample(x).unwrap(); // left: the tone
        w.write_sample(x).unwrap(); // right: the same
    }
    w.finalize().unwrap();
    let mut src = WavSource::open(&path).unwrap();
    assert!(src.describe().contains("44100"));
    let read = read_all(&mut src);
    // One second at 44.1 kHz becomes about one second at 48 kHz, padded to whole frames.
    assert!(
        read.len().abs_diff(48_000) <= FRAME_SAMPLES,
        "{}",
        read.len()
    );
    let (hz, _) = dominant_frequency(&read, SAMPLE_RATE, 100.0, 4000.0);
    assert!((hz - 1000.0).abs() < 2.0, "{hz}");
    let snr = tone_snr_db(&read[..40_000], SAMPLE_RATE, 1000.0);
    println!("44.1 kHz stereo float → 48 kHz mono: {hz:.2} Hz, SNR {snr:.1} dB");
    assert!(snr > 30.0, "{snr}");
}

#[test]
fn wav_8_and_24_bit_mono() {
    let dir = TempDir::new();
    for bits in [8u16, 24] {
        let path = dir.path(&format!("b{bits}.wav"));
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 48_000,
            bits_per_sample: bits,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        let full = (1i32 << (bits - 1)) - 1;
        for i in 0..4800 {
            let x = (std::f64::consts::TAU * 440.0 * f64::from(i) / 48_000.0).sin();
            w.write_sample((x * f64::from(full) * 0.5) as i32).unwrap();
        }
        w.finalize().unwrap();
        let read = read_all(&mut WavSource::open(&path).unwrap());
        assert_eq!(read.len(), 4800);
        let peak = read.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!(
            (15_000..=17_000).contains(&peak),
            "{bits} bits: peak {peak}"
        );
    }
}

#[test]
fn bad_wav_files_are_clear_errors() {
    let dir = TempDir::new();
    let missing = dir.path("missing.wav");
    let err = WavSource::open(&missing).unwrap_err();
    assert!(matches!(err, EngineError::AudioFile(_)));
    assert!(err.to_string().contains("missing.wav"), "{err}");

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.wav", vec![]),
        ("text.wav", b"this is not a wav file at all".to_vec()),
        ("riff-only.wav", b"RIFF\x24\x00\x00\x00WAVE".to_vec()),
        (
            "garbage.wav",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                .collect(),
        ),
    ];
    for (name, bytes) in cases {
        let path = dir.path(name);
        std::fs::write(&path, bytes).unwrap();
        match WavSource::open(&path) {
            Err(e) => assert!(matches!(e, EngineError::AudioFile(_)), "{name}: {e}"),
            Ok(mut src) => {
                let mut frame = [0i16; FRAME_SAMPLES];
                for _ in 0..100 {
                    match src.read_frame(&mut frame) {
                        Ok(true) => {}
                        Ok(false) | Err(_) => break,
                    }
                }
            }
        }
    }

    // A valid header followed by truncated data: reads what is there, then ends or errors.
    let path = dir.path("truncated.wav");
    let mut w = WavSink::create(&path).unwrap();
    w.write_frame(&[1000; FRAME_SAMPLES]).unwrap();
    w.finish().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(bytes.len() - 301);
    std::fs::write(&path, bytes).unwrap();
    if let Ok(mut src) = WavSource::open(&path) {
        let mut frame = [0i16; FRAME_SAMPLES];
        let _ = src.read_frame(&mut frame);
        let _ = src.read_frame(&mut frame);
    }

    // A 32-bit float mono file opens.
    let path = dir.path("f32.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    w.write_sample(0.5f32).unwrap();
    w.finalize().unwrap();
    assert!(WavSource::open(&path).is_ok());

    // Mutated headers (format, channels, rates, sizes): errors or short reads, never panics.
    let good_path = dir.path("good.wav");
    let mut w = WavSink::create(&good_path).unwrap();
    w.write_frame(&[1000; FRAME_SAMPLES]).unwrap();
    w.finish().unwrap();
    let good = std::fs::read(&good_path).unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let path = dir.path("mutated.wav");
    for _ in 0..300 {
        let mut bytes = good.clone();
        for _ in 0..3 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = 4 + (seed % 44) as usize;
            bytes[at] = (seed >> 40) as u8;
        }
        std::fs::write(&path, &bytes).unwrap();
        if let Ok(mut src) = WavSource::open(&path) {
            let mut frame = [0i16; FRAME_SAMPLES];
            for _ in 0..4 {
                if !matches!(src.read_frame(&mut frame), Ok(true)) {
                    break;
                }
            }
        }
    }

    // Creating a sink in a missing directory is an error.
    assert!(matches!(
        WavSink::create(dir.path("no/such/dir/out.wav")),
        Err(EngineError::AudioFile(_))
    ));
}

#[test]
fn input_specs() {
    assert_eq!(
        InputSpec::parse("tone:440").unwrap(),
        InputSpec::Tone {
            freq_hz: 440.0,
            amplitude: 0.3
        }
    );
    assert_eq!(
        InputSpec::parse("tone:880:0.5").unwrap(),
        InputSpec::Tone {
            freq_hz: 880.0,
            amplitude: 0.5
        }
    );
    assert_eq!(
        InputSpec::parse(" TONE:1000Hz ").unwrap(),
        InputSpec::Tone {
            freq_hz: 1000.0,
            amplitude: 0.3
        }
    );
    assert_eq!(InputSpec::parse("silence").unwrap(), InputSpec::Silence);
    assert_eq!(InputSpec::parse("device").unwrap(), InputSpec::Device);
    assert_eq!(
        InputSpec::parse("voice.WAV").unwrap(),
        InputSpec::Wav("voice.WAV".into())
    );
    assert_eq!(
        "dir/a b.wav".parse::<InputSpec>().unwrap(),
        InputSpec::Wav("dir/a b.wav".into())
    );

    for bad in [
        "",
        "   ",
        "tone",
        "tone:",
        "tone:abc",
        "tone:440:loud",
        "tone:440:0.3:1",
        "tone:0",
        "tone:-5",
        "tone:24000",
        "tone:1e9",
        "tone:NaN",
        "tone:inf",
        "tone:440:1.5",
        "tone:440:-0.1",
        "tones:440",
        "noise",
        "file.mp3",
        "tone440",
        ":",
        "\u{0}",
    ] {
        let err = InputSpec::parse(bad).unwrap_err();
        assert!(
            matches!(err, EngineError::InvalidMedia(_)),
            "{bad:?}: {err}"
        );
        assert!(err.to_string().contains("expected"), "{bad:?}: {err}");
    }

    let mut src = InputSpec::parse("tone:440").unwrap().open().unwrap();
    let mut frame = [0i16; FRAME_SAMPLES];
    assert!(src.read_frame(&mut frame).unwrap());
    assert!(frame.iter().any(|&s| s != 0));
    assert!(matches!(
        InputSpec::parse("does-not-exist.wav").unwrap().open(),
        Err(EngineError::AudioFile(_))
    ));
}

#[test]
fn output_specs_and_sinks() {
    assert_eq!(OutputSpec::parse("null").unwrap(), OutputSpec::Null);
    assert_eq!(
        OutputSpec::parse("out.wav").unwrap(),
        OutputSpec::Wav("out.wav".into())
    );
    assert_eq!(OutputSpec::parse("device").unwrap(), OutputSpec::Device);
    for bad in ["", "out.mp3", ".wav", "tone:440", "nul"] {
        assert!(
            matches!(OutputSpec::parse(bad), Err(EngineError::InvalidMedia(_))),
            "{bad:?}"
        );
    }
    let dir = TempDir::new();
    let path = dir.path("spec.wav");
    let mut sink = OutputSpec::Wav(path.clone()).open().unwrap();
    sink.write_frame(&[7; FRAME_SAMPLES]).unwrap();
    sink.finish().unwrap();
    assert_eq!(
        read_all(&mut WavSource::open(&path).unwrap()),
        vec![7; FRAME_SAMPLES]
    );

    let mut null = NullSink;
    null.write_frame(&[1; FRAME_SAMPLES]).unwrap();
    null.finish().unwrap();
    let mut mem = MemorySink::new();
    mem.write_frame(&[2; FRAME_SAMPLES]).unwrap();
    assert_eq!(mem.samples().len(), FRAME_SAMPLES);
}

#[test]
fn without_devices_pick_falls_back_and_says_so() {
    let input = pick_input_with(None, false).unwrap();
    let notice = input.notice.expect("a fallback notice");
    assert!(
        notice.contains("no audio device") && notice.contains("test tone"),
        "{notice}"
    );
    assert!(input.description.contains("440"));
    let mut source = input.source;
    let mut frame = [0i16; FRAME_SAMPLES];
    assert!(source.read_frame(&mut frame).unwrap());

    let input = pick_input_with(Some("device"), false).unwrap();
    assert!(input.notice.is_some());

    // Explicit non-device specs never fall back and never mention devices.
    let input = pick_input_with(Some("tone:880"), false).unwrap();
    assert!(input.notice.is_none());
    assert!(input.description.contains("880"));
    assert!(pick_input_with(Some("tone:nope"), false).is_err());
    assert!(pick_input_with(Some("missing-file.wav"), false).is_err());

    let output = pick_output_with(None, false).unwrap();
    assert!(output.notice.unwrap().contains("no audio device"));
    let output = pick_output_with(Some("null"), false).unwrap();
    assert!(output.notice.is_none());
}
