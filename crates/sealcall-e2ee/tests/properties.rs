//! Property tests: round trips of any payload, reordering within the window, and fuzz bodies on
//! arbitrary input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use proptest::prelude::*;
use sealcall_e2ee::*;

fn media() -> impl Strategy<Value = MediaKind> {
    prop_oneof![
        Just(MediaKind::Audio),
        Just(MediaKind::Video),
        Just(MediaKind::Screen)
    ]
}

fn suite() -> impl Strategy<Value = CipherSuite> {
    prop_oneof![
        Just(CipherSuite::Aes128GcmSha256),
        Just(CipherSuite::Aes256GcmSha512)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_payload_round_trips(
        payload in proptest::collection::vec(any::<u8>(), 0..=64 * 1024),
        media in media(),
        suite in suite(),
        metadata in proptest::collection::vec(any::<u8>(), 0..=32),
        skip in 0u64..300,
    ) {
        let (mut alice, mut bob) = sessions(StreamConfig { suite, ..StreamConfig::default() });
        for _ in 0..skip {
            protect(alice.sender(media), t(0), b"");
        }
        let (mut buf, range) = framed(&payload);
        let out = alice.sender(media).protect(t(0), &metadata, &mut buf, range).unwrap();
        prop_assert_eq!(out.len(), payload.len() + Header::new(0, skip).encoded_len() + TAG_LEN);
        let frame = &mut buf[out];
        let plain = bob.receiver(media).unprotect(t(0), &metadata, frame).unwrap();
        prop_assert_eq!(&frame[plain], payload.as_slice());
    }

    #[test]
    fn reordering_within_the_window_is_accepted_exactly_once(
        order in Just((0..100usize).collect::<Vec<_>>()).prop_shuffle(),
        media in media(),
    ) {
        let (mut alice, mut bob) = sessions(StreamConfig::default());
        let frames: Vec<_> = (0..100u32).map(|i| protect(alice.sender(media), t(0), &i.to_be_bytes())).collect();
        for &i in &order {
            let mut f = frames[i].clone();
            let plain = bob.receiver(media).unprotect(t(0), &[], &mut f).unwrap();
            prop_assert_eq!(&f[plain], &(i as u32).to_be_bytes());
        }
        for &i in &order {
            let mut f = frames[i].clone();
            prop_assert_eq!(
                bob.receiver(media).unprotect(t(0), &[], &mut f).err(),
                Some(Error::Replayed { ctr: i as u64 })
            );
        }
    }

    #[test]
    fn arbitrary_frames_never_panic_and_are_left_as_documented(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        sealcall_e2ee::testing::fuzz_unprotect(&data);
        sealcall_e2ee::testing::fuzz_header(&data);
    }

    #[test]
    fn arbitrary_handshake_messages_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        sealcall_e2ee::testing::fuzz_handshake_message(&data);
    }
}
