//! Encoding and decoding with the real libvpx: quality, key frames, rate control, screen content,
//! odd sizes and the encoder's input checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sealcall_vpx::*;

#[test]
fn camera_vga_round_trip_keeps_quality_and_the_bitrate() {
    let (width, height, frames) = (640, 480, 60);
    let scene = MovingScene::new(width, height, 8);
    let config = EncoderConfig::camera(width, height);
    assert_eq!(config.bitrate_kbps, 800);
    let mut encoder = Encoder::new(config).unwrap();
    let mut decoder = Decoder::new().unwrap();
    let mut total_psnr = 0.0;
    let mut bytes = 0;
    for i in 0..frames {
        let input = scene.frame(i);
        let packet = encode_one(&mut encoder, &input, pts(i, 30), false);
        assert_eq!(
            packet.keyframe,
            i == 0,
            "frame {i}: only the first is a key frame"
        );
        assert_eq!(packet.pts, pts(i, 30));
        bytes += packet.data.len();
        let output = decoder.decode(&packet.data).unwrap().expect("shown");
        assert_eq!((output.width(), output.height()), (width, height));
        total_psnr += psnr_y(&input, &output);
    }
    let mean_psnr = total_psnr / f64::from(frames);
    assert!(mean_psnr >= 35.0, "mean PSNR-Y {mean_psnr:.2} dB");
    // Two seconds of video; CBR lands near the 800 kbit/s target.
    let kbps = bytes as f64 * 8.0 / 2.0 / 1000.0;
    assert!((500.0..=1000.0).contains(&kbps), "{kbps:.0} kbit/s");
}

#[test]
fn frame_headers_agree_with_the_encoder() {
    let stream = stream(160, 120, 12);
    for (i, packet) in stream.iter().enumerate() {
        let info = vp8_frame_info(&packet.data).expect("libvpx writes well-formed headers");
        assert_eq!(info.keyframe, packet.keyframe, "frame {i}");
        assert!(info.show_frame);
        assert_eq!(info.version, 0);
        if packet.keyframe {
            assert_eq!(info.dimensions(), Some((160, 120)));
            let size = info.size.unwrap();
            assert_eq!((size.horizontal_scale, size.vertical_scale), (0, 0));
            assert_eq!(info.header_len, VP8_KEYFRAME_HEADER_LEN);
        } else {
            assert_eq!(info.dimensions(), None);
            assert_eq!(info.header_len, VP8_INTERFRAME_HEADER_LEN);
        }
        assert!(info.header_len + info.first_partition_size as usize <= packet.data.len());
    }
    assert!(stream[0].keyframe);
    assert!(stream[1..].iter().all(|p| !p.keyframe));
}

#[test]
fn forced_and_periodic_key_frames() {
    let scene = MovingScene::new(96, 64, 8);
    let mut config = EncoderConfig::camera(96, 64);
    config.keyframe_max_interval = 10;
    let mut encoder = Encoder::new(config).unwrap();
    let mut keyframes = Vec::new();
    for i in 0..25 {
        let packet = encode_one(&mut encoder, &scene.frame(i), pts(i, 30), i == 4);
        let info = vp8_frame_info(&packet.data).unwrap();
        assert_eq!(info.keyframe, packet.keyframe);
        if packet.keyframe {
            keyframes.push(i);
        }
    }
    // The first frame, the forced one, and then one at most every 10 frames after it.
    assert_eq!(keyframes, [0, 4, 14, 24]);
}

#[test]
fn lowering_the_bitrate_mid_stream_shrinks_the_frames() {
    let scene = MovingScene::new(320, 240, 60);
    let mut config = EncoderConfig::camera(320, 240);
    config.bitrate_kbps = 600;
    let mut encoder = Encoder::new(config).unwrap();
    let mut sizes = Vec::new();
    for i in 0..120 {
        if i == 60 {
            encoder.set_bitrate(150).unwrap();
            assert_eq!(encoder.bitrate_kbps(), 150);
            assert_eq!(encoder.config().bitrate_kbps, 150);
        }
        let packet = encode_one(&mut encoder, &scene.frame(i), pts(i, 30), false);
        assert!(!packet.keyframe || i == 0);
        sizes.push(packet.data.len());
    }
    // Average over the second half of each phase, after rate control has settled.
    let high = sizes[30..60].iter().sum::<usize>() as f64 / 30.0;
    let low = sizes[90..120].iter().sum::<usize>() as f64 / 30.0;
    assert!(
        low < high * 0.6,
        "{low:.0} B at 150 kbit/s vs {high:.0} B at 600 kbit/s"
    );
    // Each within half of its target (bytes a frame at 30 frame/s).
    for (avg, kbps) in [(high, 600.0), (low, 150.0)] {
        let actual = avg * 8.0 * 30.0 / 1000.0;
        assert!(
            (kbps * 0.5..=kbps * 1.5).contains(&actual),
            "{actual:.0} kbit/s for a {kbps} kbit/s target"
        );
    }
}

#[test]
fn timestamps_are_90_khz_ticks_and_drive_rate_control() {
    let scene = MovingScene::new(320, 240, 30);
    let mut rates = Vec::new();
    // Ticks of the 90 kHz clock a frame apart at 30 frame/s, and (wrongly) a frame counter.
    for step in [u64::from(TIMEBASE_HZ / 30), 1] {
        let mut config = EncoderConfig::camera(320, 240);
        config.bitrate_kbps = 400;
        let mut encoder = Encoder::new(config).unwrap();
        let bytes: usize = (0..60)
            .map(|i| encode_one(&mut encoder, &scene.frame(i), u64::from(i) * step, false))
            .map(|p| p.data.len())
            .sum();
        rates.push(bytes as f64 * 8.0 / 2.0 / 1000.0);
    }
    let (ticks, counter) = (rates[0], rates[1]);
    assert!(
        (250.0..=500.0).contains(&ticks),
        "{ticks:.0} kbit/s for 400"
    );
    // A frame counter reads as 90000 frame/s, so libvpx gives each frame a sliver of the budget.
    assert!(
        counter < ticks * 0.7,
        "counter {counter:.0} vs ticks {ticks:.0} kbit/s"
    );
}

#[test]
fn bitrate_changes_are_validated() {
    let mut encoder = Encoder::new(EncoderConfig::camera(64, 64)).unwrap();
    let before = encoder.bitrate_kbps();
    for kbps in [0, MIN_BITRATE_KBPS - 1, MAX_BITRATE_KBPS + 1] {
        assert!(matches!(
            encoder.set_bitrate(kbps),
            Err(Error::InvalidBitrate { .. })
        ));
        assert_eq!(encoder.bitrate_kbps(), before);
    }
    encoder.set_bitrate(MAX_BITRATE_KBPS).unwrap();
    encoder.set_bitrate(MIN_BITRATE_KBPS).unwrap();
    let frame = I420Frame::new(64, 64).unwrap();
    encode_one(&mut encoder, &frame, 0, false);
}

#[test]
fn screen_content_at_720p() {
    let (width, height) = (1280, 720);
    let config = EncoderConfig::screen(width, height);
    assert_eq!((config.content, config.fps), (Content::Screen, 5));
    let mut encoder = Encoder::new(config).unwrap();
    let mut decoder = Decoder::new().unwrap();
    let desktop = screen_picture(width, height, 7);
    let mut psnrs = Vec::new();
    for i in 0..8 {
        // A static desktop with a moving cursor.
        let mut input = desktop.clone();
        let (cx, cy) = (100 + i * 37, 200 + i * 11);
        for y in cy..cy + 18 {
            let row = (y * width) as usize;
            input.y_mut()[row + cx as usize..row + cx as usize + 12].fill(16);
        }
        let packet = encode_one(&mut encoder, &input, pts(i, 5), false);
        assert_eq!(packet.keyframe, i == 0);
        if i == 0 {
            assert!(
                packet.data.len() > 10_000,
                "key frame of {} bytes",
                packet.data.len()
            );
        }
        let output = decoder.decode(&packet.data).unwrap().expect("shown");
        assert_eq!((output.width(), output.height()), (width, height));
        psnrs.push(psnr_y(&input, &output));
    }
    // The static picture is refined frame after frame.
    let (first, last) = (psnrs[0], psnrs[psnrs.len() - 1]);
    assert!(last > first + 3.0, "PSNR-Y {psnrs:.1?}");
}

#[test]
fn odd_and_tiny_sizes_round_trip() {
    for (width, height) in [(33, 17), (1, 1), (2, 3), (17, 2)] {
        let scene = MovingScene::new(width, height, 8);
        let mut encoder = Encoder::new(EncoderConfig::camera(width, height)).unwrap();
        let mut decoder = Decoder::new().unwrap();
        for i in 0..5 {
            let input = scene.frame(i);
            let packet = encode_one(&mut encoder, &input, pts(i, 30), false);
            let info = vp8_frame_info(&packet.data).unwrap();
            if packet.keyframe {
                assert_eq!(info.dimensions(), Some((width, height)));
            }
            let output = decoder.decode(&packet.data).unwrap().expect("shown");
            assert_eq!((output.width(), output.height()), (width, height));
            assert_eq!(output.u().len(), input.u().len());
            let psnr = psnr_y(&input, &output);
            assert!(psnr > 25.0, "{width}x{height} frame {i}: {psnr:.1} dB");
        }
    }
}

#[test]
fn oversize_dimensions_are_refused() {
    let too_big = MAX_DIMENSION + 1;
    for (w, h) in [(too_big, 16), (16, too_big), (0, 16), (16, 0)] {
        assert!(matches!(
            Encoder::new(EncoderConfig::camera(w, h)),
            Err(Error::InvalidDimensions { .. })
        ));
        assert!(matches!(
            I420Frame::new(w, h),
            Err(Error::InvalidDimensions { .. })
        ));
    }
}

#[test]
fn encoder_checks_its_input() {
    let mut encoder = Encoder::new(EncoderConfig::camera(64, 48)).unwrap();
    for (w, h) in [(48, 64), (64, 46), (65, 48)] {
        let wrong = I420Frame::new(w, h).unwrap();
        assert_eq!(
            encoder.encode(&wrong, 0, false).unwrap_err(),
            Error::FrameSizeMismatch {
                frame_width: w,
                frame_height: h,
                width: 64,
                height: 48
            }
        );
    }
    let frame = I420Frame::new(64, 48).unwrap();
    assert!(matches!(
        encoder.encode(&frame, MAX_PTS + 1, false),
        Err(Error::InvalidPts { .. })
    ));
    encode_one(&mut encoder, &frame, 3000, false);
    // Timestamps must increase.
    for pts in [0, 2999, 3000] {
        assert_eq!(
            encoder.encode(&frame, pts, false).unwrap_err(),
            Error::InvalidPts { pts, max: MAX_PTS }
        );
    }
    let next = encode_one(&mut encoder, &frame, 6000, false);
    assert_eq!(next.pts, 6000);
    // A failed call changes nothing: the stream goes on.
    let last = encode_one(&mut encoder, &frame, MAX_PTS, false);
    assert_eq!(last.pts, MAX_PTS);
}

#[test]
fn invalid_configurations_are_refused_by_new() {
    let mut config = EncoderConfig::camera(64, 48);
    config.cpu_used = MAX_CPU_USED + 1;
    assert!(matches!(Encoder::new(config), Err(Error::InvalidConfig(_))));
    let mut config = EncoderConfig::camera(64, 48);
    config.bitrate_kbps = 1;
    assert!(matches!(
        Encoder::new(config),
        Err(Error::InvalidBitrate { .. })
    ));
}

#[test]
fn every_speed_and_several_threads_work() {
    let scene = MovingScene::new(160, 120, 8);
    for (cpu_used, threads) in [(0, 1), (MAX_CPU_USED, 1), (6, 2), (6, 4)] {
        let mut config = EncoderConfig::camera(160, 120);
        config.cpu_used = cpu_used;
        config.threads = threads;
        let mut encoder = Encoder::new(config).unwrap();
        let mut decoder = Decoder::new().unwrap();
        for i in 0..4 {
            let input = scene.frame(i);
            let packet = encode_one(&mut encoder, &input, pts(i, 30), false);
            let output = decoder.decode(&packet.data).unwrap().unwrap();
            assert!(
                psnr_y(&input, &output) > 30.0,
                "speed {cpu_used}, {threads} threads"
            );
        }
    }
}

#[test]
fn encode_into_appends_and_decode_into_reuses_the_buffer() {
    let scene = MovingScene::new(64, 48, 8);
    let mut encoder = Encoder::new(EncoderConfig::camera(64, 48)).unwrap();
    let mut packets = Vec::new();
    for i in 0..3 {
        encoder
            .encode_into(&scene.frame(i), pts(i, 30), false, &mut packets)
            .unwrap();
    }
    assert_eq!(packets.len(), 3);

    let mut decoder = Decoder::new().unwrap();
    let mut out = I420Frame::new(1, 1).unwrap();
    assert!(decoder.decode_into(&packets[0].data, &mut out).unwrap());
    assert_eq!((out.width(), out.height()), (64, 48));
    let plane = out.y().as_ptr();
    for packet in &packets[1..] {
        assert!(decoder.decode_into(&packet.data, &mut out).unwrap());
        assert_eq!(out.y().as_ptr(), plane, "same size, same allocation");
    }
    // An error leaves the buffer as it was.
    let before = out.clone();
    assert!(decoder.decode_into(&[1, 2, 3], &mut out).is_err());
    assert_eq!(out, before);
    assert_eq!(decoder.stream_dimensions(), Some((64, 48)));
}

#[test]
fn the_decoder_follows_a_resolution_change_at_a_key_frame() {
    let small = stream(48, 32, 3);
    let large = stream(96, 80, 3);
    let mut decoder = Decoder::new().unwrap();
    for (stream, dims) in [(&small, (48, 32)), (&large, (96, 80)), (&small, (48, 32))] {
        for packet in stream {
            let frame = decoder.decode(&packet.data).unwrap().unwrap();
            assert_eq!((frame.width(), frame.height()), dims);
        }
        assert_eq!(decoder.stream_dimensions(), Some(dims));
    }
}

#[test]
fn a_hidden_frame_decodes_to_no_picture() {
    let stream = stream(48, 32, 3);
    let mut decoder = Decoder::new().unwrap();
    decoder.decode(&stream[0].data).unwrap().unwrap();
    let mut hidden = stream[1].data.clone();
    hidden[0] &= !0x10; // clear show_frame
    assert!(!vp8_frame_info(&hidden).unwrap().show_frame);
    assert_eq!(decoder.decode(&hidden).unwrap(), None);
    // It still updated the reference, so the next frame decodes.
    assert!(decoder.decode(&stream[2].data).unwrap().is_some());
}
