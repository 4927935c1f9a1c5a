//! The body of the `vp8_decode` cargo-fuzz target (`fuzz/fuzz_targets/vp8_decode.rs`), public
//! so the crate's tests run it over a seed corpus in every `cargo test`.
//!
//! libvpx is not built with the fuzzer's instrumentation, so coverage guidance sees only this
//! crate's Rust code; the value is in checking the wrapper's invariants on arbitrary input.

use std::sync::OnceLock;

use crate::decoder::Decoder;
use crate::encoder::{Encoder, EncoderConfig, TIMEBASE_HZ};
use crate::frame::I420Frame;
use crate::header::vp8_frame_info;

/// The decoder limit the fuzz body uses, so arbitrary key frames cannot make each run allocate
/// hundreds of megabytes.
pub const FUZZ_MAX_DIMENSION: u32 = 512;

/// Width of the seed stream.
pub const SEED_WIDTH: u32 = 48;

/// Height of the seed stream.
pub const SEED_HEIGHT: u32 = 32;

/// A short VP8 stream from this crate's encoder: a key frame and then interframes of a moving
/// pattern, [`SEED_WIDTH`] x [`SEED_HEIGHT`]. Encoded once per process (deterministically: the
/// encoder runs at a fixed speed on one thread).
///
/// `None` only if libvpx cannot encode at all, which the crate's tests rule out.
pub fn seed_stream() -> Option<&'static [Vec<u8>]> {
    static SEED: OnceLock<Option<Vec<Vec<u8>>>> = OnceLock::new();
    SEED.get_or_init(encode_seed_stream).as_deref()
}

fn encode_seed_stream() -> Option<Vec<Vec<u8>>> {
    let mut config = EncoderConfig::camera(SEED_WIDTH, SEED_HEIGHT);
    config.bitrate_kbps = 300;
    let mut encoder = Encoder::new(config).ok()?;
    let mut frame = I420Frame::new(SEED_WIDTH, SEED_HEIGHT).ok()?;
    let mut stream = Vec::new();
    for i in 0..4u32 {
        let width = SEED_WIDTH as usize;
        let (y, u, v) = frame.planes_mut();
        for (n, px) in y.iter_mut().enumerate() {
            let (x, row) = ((n % width) as u32, (n / width) as u32);
            *px = (((x + 3 * i) ^ row) * 5) as u8;
        }
        for (n, px) in u.iter_mut().enumerate() {
            *px = (n as u32 * 7 + i * 11) as u8;
        }
        for (n, px) in v.iter_mut().enumerate() {
            *px = 255 - (n as u32 * 3 + i) as u8;
        }
        let pts = u64::from(i) * u64::from(TIMEBASE_HZ / 30);
        for packet in encoder.encode(&frame, pts, false).ok()? {
            stream.push(packet.data);
        }
    }
    Some(stream)
}

/// Feeds `data` to decoders and checks the invariants that must hold for any input:
///
/// 1. A fresh decoder: `data` as the first frame. Any picture has the dimensions of `data`'s key
///    frame header (an interframe cannot decode without one).
/// 2. A decoder that has decoded the seed key frame ([`seed_stream`]): `data` as the next
///    frame. Any picture has the dimensions of `data`'s header if it is a key frame, else the
///    seed's.
/// 3. The same decoder then decodes the seed key frame again, which must succeed with the seed's
///    dimensions: no input leaves a decoder unable to resynchronise.
///
/// Also in every case: `Ok(None)` only for a frame whose header says it is not shown, and a
/// frame that decoded always has a well-formed header. Never panics except when one of these
/// invariants is broken, which is a bug.
pub fn fuzz_decode(data: &[u8]) {
    let Ok(mut fresh) = Decoder::with_max_dimensions(FUZZ_MAX_DIMENSION, FUZZ_MAX_DIMENSION) else {
        panic!("a decoder could not be created");
    };
    let result = fresh.decode(data);
    check(data, result, None);

    let Some(seed) = seed_stream() else {
        panic!("the seed stream could not be encoded");
    };
    let Some(keyframe) = seed.first() else {
        panic!("the seed stream is empty");
    };
    let Ok(mut primed) = Decoder::with_max_dimensions(FUZZ_MAX_DIMENSION, FUZZ_MAX_DIMENSION)
    else {
        panic!("a decoder could not be created");
    };
    let seed_dims = (SEED_WIDTH, SEED_HEIGHT);
    decode_seed(&mut primed, keyframe, "first");
    let result = primed.decode(data);
    check(data, result, Some(seed_dims));
    decode_seed(&mut primed, keyframe, "after other input");
}

/// Decodes the seed key frame, which must give a picture of the seed's dimensions.
fn decode_seed(decoder: &mut Decoder, keyframe: &[u8], when: &str) {
    match decoder.decode(keyframe) {
        Ok(Some(frame)) => assert_eq!(
            (frame.width(), frame.height()),
            (SEED_WIDTH, SEED_HEIGHT),
            "the seed key frame decoded at the wrong size ({when})"
        ),
        other => panic!("the seed key frame did not decode ({when}): {other:?}"),
    }
}

/// Checks one decode result against `data`'s header; `prior` is the stream's dimensions before.
fn check(data: &[u8], result: Result<Option<I420Frame>, crate::Error>, prior: Option<(u32, u32)>) {
    let Ok(picture) = result else {
        return;
    };
    let Some(info) = vp8_frame_info(data) else {
        panic!("a frame with a malformed header decoded");
    };
    let Some(frame) = picture else {
        assert!(!info.show_frame, "a shown frame produced no picture");
        return;
    };
    assert!(info.show_frame, "a hidden frame produced a picture");
    let expected = info.dimensions().or(prior);
    assert_eq!(
        Some((frame.width(), frame.height())),
        expected,
        "the picture's dimensions differ from the key frame header's"
    );
    let luma = frame.width() as usize * frame.height() as usize;
    let chroma = frame.chroma_width() as usize * frame.chroma_height() as usize;
    assert_eq!(frame.y().len(), luma);
    assert_eq!(frame.u().len(), chroma);
    assert_eq!(frame.v().len(), chroma);
}
