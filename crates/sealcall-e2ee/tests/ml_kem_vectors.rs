//! ML-KEM-768 known-answer tests (FIPS 203) from NIST's ACVP vectors, copied into
//! `tests/vectors/ml-kem-768-acvp.json` with their source noted there and in its README.
//!
//! Key generation and encapsulation run through Sealcall's own wrapper ([`KemDecapsulationKey`],
//! [`kem_encapsulate`]) with an RNG that replays the vector's `d || z` and `m`, so the wrapper's
//! use of the randomness is checked too. Decapsulation vectors give the expanded decapsulation
//! key, which the wrapper never holds (it always draws fresh keys), so they run against the
//! `ml-kem` crate directly, in the build Sealcall uses — including the implicit rejection of
//! modified ciphertexts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use core::convert::Infallible;

use sealcall_e2ee::rand_core::{TryCryptoRng, TryRng};
use sealcall_e2ee::{
    KEM_CIPHERTEXT_LEN, KEM_ENCAPSULATION_KEY_LEN, KemDecapsulationKey, kem_encapsulate,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct KeyGen {
    #[serde(rename = "tcId")]
    id: u32,
    d: String,
    z: String,
    ek: String,
    dk: String,
}

#[derive(Deserialize)]
struct Encap {
    #[serde(rename = "tcId")]
    id: u32,
    ek: String,
    m: String,
    c: String,
    k: String,
}

#[derive(Deserialize)]
struct DecapCase {
    #[serde(rename = "tcId")]
    id: u32,
    c: String,
    k: String,
    reason: String,
}

#[derive(Deserialize)]
struct Decap {
    dk: String,
    tests: Vec<DecapCase>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vectors {
    key_gen: Vec<KeyGen>,
    encapsulation: Vec<Encap>,
    decapsulation: Decap,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("vectors/ml-kem-768-acvp.json")).unwrap()
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

/// An RNG that hands out exactly the given bytes, then fails the test.
struct Replay(Vec<u8>);

impl TryRng for Replay {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        unreachable!("ML-KEM draws byte strings")
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        unreachable!("ML-KEM draws byte strings")
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        assert!(
            dst.len() <= self.0.len(),
            "the vector has no more randomness"
        );
        let rest = self.0.split_off(dst.len());
        dst.copy_from_slice(&self.0);
        self.0 = rest;
        Ok(())
    }
}

impl TryCryptoRng for Replay {}

#[test]
fn acvp_key_generation_through_the_wrapper() {
    let v = vectors();
    assert!(!v.key_gen.is_empty());
    for case in v.key_gen {
        let mut rng = Replay([h(&case.d), h(&case.z)].concat());
        let key = KemDecapsulationKey::generate(&mut rng);
        assert!(rng.0.is_empty(), "case {}: all of d || z used", case.id);
        assert_eq!(
            key.encapsulation_key().to_vec(),
            h(&case.ek),
            "case {}",
            case.id
        );
        // The expanded decapsulation key, through the crate (the wrapper never exports it).
        #[allow(deprecated)]
        {
            use ml_kem::ExpandedKeyEncoding;
            let seed: [u8; 64] = [h(&case.d), h(&case.z)].concat().try_into().unwrap();
            let dk = ml_kem::ml_kem_768::DecapsulationKey::from_seed(seed.into());
            assert_eq!(
                dk.to_expanded_bytes().to_vec(),
                h(&case.dk),
                "case {}",
                case.id
            );
        }
    }
}

#[test]
fn acvp_encapsulation_through_the_wrapper() {
    let v = vectors();
    assert!(!v.encapsulation.is_empty());
    for case in v.encapsulation {
        let ek: [u8; KEM_ENCAPSULATION_KEY_LEN] = h(&case.ek).try_into().unwrap();
        let mut rng = Replay(h(&case.m));
        let (c, k) = kem_encapsulate(&mut rng, &ek).unwrap();
        assert_eq!(c.to_vec(), h(&case.c), "case {}", case.id);
        assert_eq!(k.as_bytes().to_vec(), h(&case.k), "case {}", case.id);
    }
}

#[test]
fn acvp_decapsulation_with_implicit_rejection() {
    use ml_kem::kem::Decapsulate;
    let v = vectors();
    let dk_bytes = h(&v.decapsulation.dk);
    #[allow(deprecated)]
    let dk = ml_kem::ml_kem_768::DecapsulationKey::from_expanded(
        dk_bytes.as_slice().try_into().unwrap(),
    )
    .unwrap();
    let mut modified = 0;
    for case in v.decapsulation.tests {
        let c: [u8; KEM_CIPHERTEXT_LEN] = h(&case.c).try_into().unwrap();
        let k = dk.decapsulate(&c.into());
        assert_eq!(k.to_vec(), h(&case.k), "case {} ({})", case.id, case.reason);
        modified += usize::from(case.reason == "modify ciphertext");
    }
    assert!(modified > 0, "the vectors include modified ciphertexts");
}
