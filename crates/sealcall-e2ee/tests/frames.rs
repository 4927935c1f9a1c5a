//! Frame protection: round trips, tampering, replays, directions, rekeying and limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sealcall_e2ee::*;

#[test]
fn every_media_kind_round_trips_in_both_directions_and_suites() {
    for suite in [CipherSuite::Aes128GcmSha256, CipherSuite::Aes256GcmSha512] {
        for backend in AeadBackend::available() {
            let config = StreamConfig {
                suite,
                backend: *backend,
                ..StreamConfig::default()
            };
            let (mut alice, mut bob) = sessions(config);
            for media in MediaKind::ALL {
                for i in 0..5u8 {
                    let payload = vec![i; 100 + usize::from(i)];
                    let mut frame = protect(alice.sender(media), t(0), &payload);
                    let range = bob
                        .receiver(media)
                        .unprotect(t(0), &[], &mut frame)
                        .unwrap();
                    assert_eq!(&frame[range], payload.as_slice());
                    let mut frame = protect(bob.sender(media), t(0), &payload);
                    let range = alice
                        .receiver(media)
                        .unprotect(t(0), &[], &mut frame)
                        .unwrap();
                    assert_eq!(&frame[range], payload.as_slice());
                }
                assert_eq!(bob.receiver(media).stats().frames, 5);
            }
        }
    }
}

#[test]
fn the_same_payload_never_gives_the_same_ciphertext_across_kinds_or_directions() {
    let (mut alice, mut bob) = sessions(StreamConfig::default());
    let payload = [0u8; 64];
    let mut seen = std::collections::HashSet::new();
    for media in MediaKind::ALL {
        for frame in [
            protect(alice.sender(media), t(0), &payload),
            protect(bob.sender(media), t(0), &payload),
        ] {
            let (header, hlen) = Header::parse(&frame).unwrap();
            assert_eq!(header.ctr, 0);
            assert!(seen.insert(frame[hlen..].to_vec()), "ciphertext repeated");
        }
    }
}

#[test]
fn every_single_bit_flip_fails_and_leaves_the_frame_as_documented() {
    for backend in AeadBackend::available() {
        bit_flips(*backend);
    }
}

fn bit_flips(backend: AeadBackend) {
    let (mut alice, mut bob) = sessions(StreamConfig {
        backend,
        ..StreamConfig::default()
    });
    // Advance the counter so the header has counter bytes to flip too.
    for _ in 0..300 {
        protect(alice.sender(MediaKind::Video), t(0), b"x");
    }
    let frame = protect(
        alice.sender(MediaKind::Video),
        t(0),
        b"a video packet payload",
    );
    assert!(Header::parse(&frame).unwrap().1 > 1);
    let mut zeroed = 0;
    for bit in 0..frame.len() * 8 {
        let mut tampered = frame.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        let before = tampered.clone();
        let result = bob
            .receiver(MediaKind::Video)
            .unprotect(t(0), &[], &mut tampered);
        let Err(e) = result else {
            panic!("bit {bit} flipped was accepted");
        };
        assert!(
            sealcall_e2ee::testing::refused_as_documented(&before, &tampered, &e),
            "bit {bit}: refused frame ({e}) not left as documented"
        );
        if e == Error::AuthenticationFailed {
            zeroed += 1;
        }
    }
    // The untampered frame still authenticates: no forged frame moved the window.
    let mut good = frame.clone();
    assert!(
        bob.receiver(MediaKind::Video)
            .unprotect(t(0), &[], &mut good)
            .is_ok()
    );
    assert!(bob.receiver(MediaKind::Video).stats().auth_failures > 0);
    // Every flip in the ciphertext or tag fails authentication (and zeroes the ciphertext); the
    // header's flips are refused before the AEAD or by it.
    let body_and_tag = frame.len() - Header::parse(&frame).unwrap().1;
    assert!(
        zeroed >= body_and_tag * 8,
        "{zeroed} of the {} ciphertext and tag bit flips failed authentication",
        body_and_tag * 8
    );
}

#[test]
fn every_truncation_fails() {
    let (mut alice, mut bob) = sessions(StreamConfig::default());
    let frame = protect(
        alice.sender(MediaKind::Audio),
        t(0),
        b"twenty bytes of opus",
    );
    for len in 0..frame.len() {
        let mut short = frame[..len].to_vec();
        assert!(
            bob.receiver(MediaKind::Audio)
                .unprotect(t(0), &[], &mut short)
                .is_err(),
            "len {len}"
        );
    }
    let mut extended = frame.clone();
    extended.push(0);
    assert!(
        bob.receiver(MediaKind::Audio)
            .unprotect(t(0), &[], &mut extended)
            .is_err()
    );
}

#[test]
fn replays_are_refused_and_reordering_within_the_window_is_accepted_once() {
    let (mut alice, mut bob) = sessions(StreamConfig::default());
    let frames: Vec<_> = (0..10u8)
        .map(|i| protect(alice.sender(MediaKind::Audio), t(0), &[i; 30]))
        .collect();
    for i in [3usize, 0, 9, 1, 2, 8, 4, 7, 5, 6] {
        let mut f = frames[i].clone();
        let range = bob
            .receiver(MediaKind::Audio)
            .unprotect(t(0), &[], &mut f)
            .unwrap();
        assert_eq!(f[range][0], i as u8);
    }
    for (i, frame) in frames.iter().enumerate() {
        let mut f = frame.clone();
        assert_eq!(
            bob.receiver(MediaKind::Audio)
                .unprotect(t(0), &[], &mut f)
                .err(),
            Some(Error::Replayed { ctr: i as u64 })
        );
    }
    assert_eq!(bob.receiver(MediaKind::Audio).stats().replays, 10);
}

#[test]
fn frames_older_than_the_window_are_refused() {
    let (mut alice, mut bob) = sessions(StreamConfig::default());
    let first = protect(alice.sender(MediaKind::Audio), t(0), b"first");
    for _ in 0..REPLAY_WINDOW {
        let mut f = protect(alice.sender(MediaKind::Audio), t(0), b"later");
        bob.receiver(MediaKind::Audio)
            .unprotect(t(0), &[], &mut f)
            .unwrap();
    }
    let mut f = first.clone();
    assert_eq!(
        bob.receiver(MediaKind::Audio)
            .unprotect(t(0), &[], &mut f)
            .err(),
        Some(Error::TooOld {
            ctr: 0,
            newest: REPLAY_WINDOW
        })
    );
}

#[test]
fn an_authentic_far_ahead_frame_moves_the_window_and_a_forged_one_does_not() {
    let (mut alice, mut bob) = sessions(StreamConfig::default());
    let early: Vec<_> = (0..5)
        .map(|_| protect(alice.sender(MediaKind::Audio), t(0), b"early"))
        .collect();
    for _ in 0..1000 {
        protect(alice.sender(MediaKind::Audio), t(0), b"lost");
    }
    let far = protect(alice.sender(MediaKind::Audio), t(0), b"far ahead");

    // Forged far-ahead frame: authentication fails, the window stays where it was.
    let mut forged = far.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert_eq!(
        bob.receiver(MediaKind::Audio)
            .unprotect(t(0), &[], &mut forged)
            .err(),
        Some(Error::AuthenticationFailed)
    );
    let mut f = early[0].clone();
    assert!(
        bob.receiver(MediaKind::Audio)
            .unprotect(t(0), &[], &mut f)
            .is_ok()
    );

    // Authentic far-ahead frame: accepted, and the early frames now fall out of the window.
    let mut f = far.clone();
    assert!(
        bob.receiver(MediaKind::Audio)
            .unprotect(t(0), &[], &mut f)
            .is_ok()
    );
    let mut f = early[1].clone();
    assert!(matches!(
        bob.receiver(MediaKind::Audio)
            .unprotect(t(0), &[], &mut f)
            .err(),
        Some(Error::TooOld { ctr: 1, .. })
    ));
}

#[test]
fn wrong_direction_wrong_kind_and_unknown_key_are_refused() {
    let (mut alice, mut bob) = sessions(StreamConfig::default());
    // A frame reflected back to its sender.
    let mut f = protect(alice.sender(MediaKind::Audio), t(0), b"reflected");
    assert_eq!(
        alice
            .receiver(MediaKind::Audio)
            .unprotect(t(0), &[], &mut f)
            .err(),
        Some(Error::WrongDirection)
    );
    // An audio frame offered to the video receiver.
    let mut f = protect(alice.sender(MediaKind::Audio), t(0), b"audio");
    assert_eq!(
        bob.receiver(MediaKind::Video)
            .unprotect(t(0), &[], &mut f)
            .err(),
        Some(Error::WrongMediaKind {
            expected: MediaKind::Video,
            found: MediaKind::Audio
        })
    );
    // Media code 3 does not exist; epochs far ahead are unknown.
    for kid in [
        3u64,
        kid_for(1000, Direction::CallerToCallee, MediaKind::Audio),
    ] {
        let mut frame = vec![0u8; 40];
        let n = Header::new(kid, 0).encode(&mut frame).unwrap();
        frame.truncate(n + 20);
        assert_eq!(
            bob.receiver(MediaKind::Audio)
                .unprotect(t(0), &[], &mut frame)
                .err(),
            Some(Error::UnknownKeyId { kid })
        );
    }
    // Another session's frame (different keys) fails authentication.
    let (mut other, _) = sessions(StreamConfig {
        suite: CipherSuite::Aes256GcmSha512,
        ..StreamConfig::default()
    });
    let mut f = protect(other.sender(MediaKind::Audio), t(0), b"other call");
    assert_eq!(
        bob.receiver(MediaKind::Audio)
            .unprotect(t(0), &[], &mut f)
            .err(),
        Some(Error::AuthenticationFailed)
    );
}

#[test]
fn metadata_is_authenticated() {
    let (mut alice, mut bob) = sessions(StreamConfig::default());
    let (mut buf, range) = framed(b"payload");
    let out = alice
        .sender(MediaKind::Video)
        .protect(t(0), b"rtp-ssrc-1", &mut buf, range)
        .unwrap();
    let mut f = buf[out.clone()].to_vec();
    assert_eq!(
        bob.receiver(MediaKind::Video)
            .unprotect(t(0), b"rtp-ssrc-2", &mut f)
            .err(),
        Some(Error::AuthenticationFailed)
    );
    let mut f = buf[out].to_vec();
    assert!(
        bob.receiver(MediaKind::Video)
            .unprotect(t(0), b"rtp-ssrc-1", &mut f)
            .is_ok()
    );
    let (mut buf, range) = framed(b"payload");
    assert!(matches!(
        alice
            .sender(MediaKind::Video)
            .protect(t(0), &[0u8; MAX_METADATA_LEN + 1], &mut buf, range),
        Err(Error::MetadataTooLong { .. })
    ));
}

#[test]
fn buffers_without_headroom_or_tailroom_are_refused() {
    let (mut alice, _) = sessions(StreamConfig::default());
    let mut buf = vec![0u8; 10 + TAG_LEN];
    assert!(matches!(
        alice
            .sender(MediaKind::Audio)
            .protect(t(0), &[], &mut buf, 0..10),
        Err(Error::BufferTooSmall { .. })
    ));
    let mut buf = vec![0u8; 1 + 10 + TAG_LEN - 1];
    assert!(matches!(
        alice
            .sender(MediaKind::Audio)
            .protect(t(0), &[], &mut buf, 1..11),
        Err(Error::BufferTooSmall { .. })
    ));
    let mut buf = vec![0u8; 64];
    #[allow(clippy::reversed_empty_ranges)]
    let backwards = 20..10;
    assert!(
        alice
            .sender(MediaKind::Audio)
            .protect(t(0), &[], &mut buf, backwards)
            .is_err()
    );
    // Exactly enough room works: a 1-byte header for counter 0 (KID 0).
    let mut buf = vec![0u8; 1 + 10 + TAG_LEN];
    assert_eq!(alice.sender(MediaKind::Audio).next_counter(), 0);
    let out = alice
        .sender(MediaKind::Audio)
        .protect(t(0), &[], &mut buf, 1..11)
        .unwrap();
    assert_eq!(out, 0..buf.len());
}

#[test]
fn scheduled_rekeys_are_followed_with_no_frame_lost_and_late_frames_within_grace() {
    let config = StreamConfig {
        rekey: RekeySchedule {
            every_frames: Some(250),
            every: None,
        },
        grace: t(500),
        ..StreamConfig::default()
    };
    let (mut alice, mut bob) = sessions(config);
    let mut held_back = None;
    for i in 0..1000u32 {
        let now = t(u64::from(i) * 20);
        let mut f = protect(alice.sender(MediaKind::Audio), now, &i.to_be_bytes());
        if i == 249 {
            held_back = Some(f); // the last frame of epoch 0 arrives late
            continue;
        }
        let range = bob
            .receiver(MediaKind::Audio)
            .unprotect(now, &[], &mut f)
            .unwrap();
        assert_eq!(&f[range], &i.to_be_bytes());
        if i == 250 {
            assert_eq!(bob.receiver(MediaKind::Audio).epoch(), 1);
            assert_eq!(bob.receiver(MediaKind::Audio).previous_epoch(), Some(0));
            // Late frame of the previous epoch, within the grace period.
            let mut late = held_back.take().unwrap();
            let keep = late.clone();
            assert!(
                bob.receiver(MediaKind::Audio)
                    .unprotect(now + t(100), &[], &mut late)
                    .is_ok()
            );
            held_back = Some(keep);
        }
    }
    assert_eq!(alice.sender(MediaKind::Audio).epoch(), 3);
    assert_eq!(alice.sender(MediaKind::Audio).stats().rekeys, 3);
    assert_eq!(bob.receiver(MediaKind::Audio).epoch(), 3);
    assert_eq!(bob.receiver(MediaKind::Audio).stats().frames, 1000);
    // Long after the grace period the old epochs are erased.
    let mut late = held_back.unwrap();
    assert!(matches!(
        bob.receiver(MediaKind::Audio)
            .unprotect(t(100_000), &[], &mut late)
            .err(),
        Some(Error::UnknownKeyId { .. })
    ));
    assert_eq!(bob.receiver(MediaKind::Audio).previous_epoch(), None);
}

#[test]
fn time_based_rekey_and_receiver_skipping_epochs() {
    let config = StreamConfig {
        rekey: RekeySchedule {
            every_frames: None,
            every: Some(t(1000)),
        },
        ..StreamConfig::default()
    };
    let (mut alice, mut bob) = sessions(config);
    protect(alice.sender(MediaKind::Screen), t(0), b"a");
    protect(alice.sender(MediaKind::Screen), t(999), b"b");
    assert_eq!(alice.sender(MediaKind::Screen).epoch(), 0);
    protect(alice.sender(MediaKind::Screen), t(1000), b"c");
    assert_eq!(alice.sender(MediaKind::Screen).epoch(), 1);
    protect(alice.sender(MediaKind::Screen), t(2500), b"d");
    alice.sender(MediaKind::Screen).rekey(t(2600)).unwrap();
    let mut f = protect(alice.sender(MediaKind::Screen), t(2600), b"e");
    assert_eq!(alice.sender(MediaKind::Screen).epoch(), 3);
    // The receiver never saw epochs 1 and 2 and still follows to 3.
    let range = bob
        .receiver(MediaKind::Screen)
        .unprotect(t(2600), &[], &mut f)
        .unwrap();
    assert_eq!(&f[range], b"e");
    assert_eq!(bob.receiver(MediaKind::Screen).epoch(), 3);
}

#[test]
fn the_counter_never_wraps_it_rekeys_near_the_limit_and_refuses_at_it() {
    let config = StreamConfig {
        rekey: RekeySchedule {
            every_frames: None,
            every: None,
        },
        limits: KeyLimits {
            max_frames_per_epoch: 10,
            rekey_margin: 2,
            max_epoch: 1,
        },
        ..StreamConfig::default()
    };
    let (mut alice, mut bob) = sessions(config);
    let mut kids = Vec::new();
    let mut sent = 0;
    loop {
        let (mut buf, range) = framed(b"frame");
        match alice
            .sender(MediaKind::Audio)
            .protect(t(0), &[], &mut buf, range)
        {
            Ok(out) => {
                let mut f = buf[out].to_vec();
                let (h, _) = Header::parse(&f).unwrap();
                kids.push((h.kid >> 3, h.ctr));
                bob.receiver(MediaKind::Audio)
                    .unprotect(t(0), &[], &mut f)
                    .unwrap();
                sent += 1;
            }
            Err(e) => {
                assert_eq!(e, Error::CounterExhausted);
                break;
            }
        }
        assert!(sent <= 20, "never stopped");
    }
    // Epoch 0: counters 0..8 then a rekey (within 2 of the limit); epoch 1: 0..10, then refusal.
    assert_eq!(sent, 8 + 10);
    assert_eq!(kids[7], (0, 7));
    assert_eq!(kids[8], (1, 0));
    assert_eq!(kids[17], (1, 9));
    assert_eq!(
        alice.sender(MediaKind::Audio).rekey(t(0)).err(),
        Some(Error::EpochsExhausted)
    );
    let (mut buf, range) = framed(b"again");
    assert_eq!(
        alice
            .sender(MediaKind::Audio)
            .protect(t(0), &[], &mut buf, range)
            .err(),
        Some(Error::CounterExhausted)
    );
}

#[test]
fn invalid_stream_configurations_are_refused() {
    let (a, _) = handshake(9, CipherSuite::Aes128GcmSha256);
    let bad = StreamConfig {
        limits: KeyLimits {
            max_frames_per_epoch: 0,
            ..KeyLimits::default()
        },
        ..StreamConfig::default()
    };
    assert!(matches!(
        a.into_session(bad).err(),
        Some(Error::InvalidConfig(_))
    ));
}

#[test]
fn sframe_key_refuses_other_kids_and_base_keys_are_bounded() {
    assert!(BaseKey::from_bytes(&[]).is_err());
    assert!(BaseKey::from_bytes(&[0u8; 65]).is_err());
    let base = BaseKey::from_bytes(&[1u8; 16]).unwrap();
    let mut k1 = SframeKey::new(
        AeadBackend::RustCrypto,
        CipherSuite::Aes128GcmSha256,
        &base,
        1,
    )
    .unwrap();
    let mut k2 = SframeKey::new(
        AeadBackend::RustCrypto,
        CipherSuite::Aes128GcmSha256,
        &base,
        2,
    )
    .unwrap();
    assert_eq!((k1.kid(), k1.suite()), (1, CipherSuite::Aes128GcmSha256));
    let (mut buf, range) = framed(b"x");
    let out = k1.protect(0, &[], &mut buf, range).unwrap();
    let mut f = buf[out].to_vec();
    assert_eq!(
        k2.unprotect(&[], &mut f).err(),
        Some(Error::UnknownKeyId { kid: 1 })
    );
}
