//! Secret hygiene: key-holding types have no `Debug`, `Clone` or `Serialize`; what does print
//! carries no key bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use core::fmt::Debug;

use sealcall_e2ee::testing::TestRng;
use sealcall_e2ee::*;
use static_assertions::assert_not_impl_any;
use zeroize::ZeroizeOnDrop;

// Every public type that holds key material: no Debug, no Clone, no Copy.
assert_not_impl_any!(DeviceIdentity: Debug, Clone, Copy);
assert_not_impl_any!(BaseKey: Debug, Clone, Copy);
assert_not_impl_any!(SframeKey: Debug, Clone, Copy);
assert_not_impl_any!(FrameSender: Debug, Clone, Copy);
assert_not_impl_any!(FrameReceiver: Debug, Clone, Copy);
assert_not_impl_any!(Established: Debug, Clone, Copy);
assert_not_impl_any!(Session: Debug, Clone, Copy);
assert_not_impl_any!(MediaSenders: Debug, Clone, Copy);
assert_not_impl_any!(MediaReceivers: Debug, Clone, Copy);
assert_not_impl_any!(CallerHandshake: Debug, Clone, Copy);
assert_not_impl_any!(CallerAwaitingConfirm: Debug, Clone, Copy);
assert_not_impl_any!(CalleeHandshake: Debug, Clone, Copy);
assert_not_impl_any!(KemDecapsulationKey: Debug, Clone, Copy);
assert_not_impl_any!(KemSharedSecret: Debug, Clone, Copy);
assert_not_impl_any!(Completed: Debug, Clone, Copy);
assert_not_impl_any!(StandardCall: Debug, Clone, Copy);
assert_not_impl_any!(ControlChannel: Debug, Clone, Copy);
assert_not_impl_any!(ControlSealer: Debug, Clone, Copy);
assert_not_impl_any!(ControlOpener: Debug, Clone, Copy);

fn assert_zeroize_on_drop<T: ZeroizeOnDrop>() {}

#[test]
fn caller_supplied_base_keys_are_zeroized_on_drop() {
    assert_zeroize_on_drop::<BaseKey>();
}

#[test]
fn ml_kem_decapsulation_keys_are_zeroized_on_drop() {
    // Sealcall's wrapper holds the `ml-kem` crate's key, which erases itself on drop (built with
    // its `zeroize` feature); the shared secret lives in `Zeroizing`.
    assert_zeroize_on_drop::<ml_kem::ml_kem_768::DecapsulationKey>();
    assert_zeroize_on_drop::<zeroize::Zeroizing<[u8; KEM_SHARED_SECRET_LEN]>>();
}

#[test]
fn what_prints_carries_no_key_bytes() {
    let mut rng = TestRng::new(b"secrets");
    let alice = DeviceIdentity::generate(&mut rng);
    let secret = alice.to_secret_bytes();
    let secret_hex = hex::encode(*secret);
    let secret_dec = format!("{:?}", &secret[..8]);
    let (a, b) = common::handshake(77, CipherSuite::Aes128GcmSha256);
    let printed = [
        format!("{:?}", alice.public()),
        format!("{:?}", a.security_code()),
        format!("{}", b.security_code()),
        format!("{:?}", a.peer_identity()),
        format!("{:?}", StreamConfig::default()),
        format!("{:?}", Error::AuthenticationFailed),
        format!(
            "{:?}",
            Error::IntentMismatch {
                local: Intent::EndToEnd,
                peer: Intent::Standard
            }
        ),
    ];
    for p in &printed {
        assert!(!p.contains(&secret_hex), "{p}");
        assert!(!p.contains(&secret_dec), "{p}");
        assert!(!p.contains(&secret_hex[..16]), "{p}");
    }
    // The public key prints as a short fingerprint, not its bytes.
    assert!(printed[0].contains(&alice.public().fingerprint()));
    assert!(!printed[0].contains(&hex::encode(alice.public().to_bytes())));
}
