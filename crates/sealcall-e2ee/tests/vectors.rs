//! Known-answer tests against public vectors: RFC 7748, RFC 5869 and RFC 9605.
//! The vectors live in `tests/vectors/` with their sources noted in its README.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hkdf::Hkdf;
use sealcall_e2ee::{__sframe_key_and_salt, AeadBackend, BaseKey, CipherSuite, Header, SframeKey};
use serde::Deserialize;
use sha2::Sha256;
use x25519_dalek::x25519;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

fn h32(s: &str) -> [u8; 32] {
    h(s).try_into().expect("32 bytes")
}

#[derive(Deserialize)]
struct X25519Case {
    scalar: String,
    u: String,
    output: String,
}

#[derive(Deserialize)]
struct Iterated {
    start: String,
    after_1: String,
    after_1000: String,
}

#[derive(Deserialize)]
struct Dh {
    alice_private: String,
    alice_public: String,
    bob_private: String,
    bob_public: String,
    shared: String,
}

#[derive(Deserialize)]
struct Rfc7748 {
    x25519: Vec<X25519Case>,
    iterated: Iterated,
    diffie_hellman: Dh,
}

fn rfc7748() -> Rfc7748 {
    serde_json::from_str(include_str!("vectors/rfc7748.json")).unwrap()
}

#[test]
fn rfc7748_section_5_2_scalar_multiplication() {
    for case in rfc7748().x25519 {
        assert_eq!(x25519(h32(&case.scalar), h32(&case.u)), h32(&case.output));
    }
}

#[test]
fn rfc7748_section_5_2_iterated_1_and_1000() {
    let v = rfc7748().iterated;
    let mut k = h32(&v.start);
    let mut u = h32(&v.start);
    for i in 1..=1000 {
        let out = x25519(k, u);
        u = k;
        k = out;
        if i == 1 {
            assert_eq!(k, h32(&v.after_1));
        }
    }
    assert_eq!(k, h32(&v.after_1000));
}

#[test]
fn rfc7748_section_6_1_diffie_hellman() {
    let v = rfc7748().diffie_hellman;
    let base = {
        let mut b = [0u8; 32];
        b[0] = 9;
        b
    };
    assert_eq!(x25519(h32(&v.alice_private), base), h32(&v.alice_public));
    assert_eq!(x25519(h32(&v.bob_private), base), h32(&v.bob_public));
    assert_eq!(
        x25519(h32(&v.alice_private), h32(&v.bob_public)),
        h32(&v.shared)
    );
    assert_eq!(
        x25519(h32(&v.bob_private), h32(&v.alice_public)),
        h32(&v.shared)
    );
}

#[derive(Deserialize)]
struct HkdfCase {
    name: String,
    ikm: String,
    salt: String,
    info: String,
    prk: String,
    okm: String,
}

#[derive(Deserialize)]
struct Rfc5869 {
    cases: Vec<HkdfCase>,
}

#[test]
fn rfc5869_appendix_a_prk_and_okm() {
    let v: Rfc5869 = serde_json::from_str(include_str!("vectors/rfc5869.json")).unwrap();
    assert_eq!(v.cases.len(), 3);
    for case in v.cases {
        let salt = h(&case.salt);
        let (prk, hk) = Hkdf::<Sha256>::extract(Some(&salt), &h(&case.ikm));
        assert_eq!(prk.as_slice(), h(&case.prk).as_slice(), "{} PRK", case.name);
        let mut okm = vec![0u8; h(&case.okm).len()];
        hk.expand(&h(&case.info), &mut okm).unwrap();
        assert_eq!(okm, h(&case.okm), "{} OKM", case.name);
    }
}

#[derive(Deserialize)]
struct HeaderCase {
    kid: u64,
    ctr: u64,
    encoded: String,
}

#[derive(Deserialize)]
struct SframeCase {
    cipher_suite: u16,
    kid: u64,
    ctr: u64,
    base_key: String,
    sframe_key: String,
    sframe_salt: String,
    metadata: String,
    nonce: String,
    aad: String,
    pt: String,
    ct: String,
}

#[derive(Deserialize)]
struct Rfc9605 {
    header: Vec<HeaderCase>,
    sframe: Vec<SframeCase>,
}

fn rfc9605() -> Rfc9605 {
    serde_json::from_str(include_str!("vectors/sframe-rfc9605.json")).unwrap()
}

#[test]
fn rfc9605_every_header_vector() {
    let v = rfc9605();
    assert!(v.header.len() > 100);
    for case in &v.header {
        let header = Header::new(case.kid, case.ctr);
        let mut out = [0u8; 17];
        let n = header.encode(&mut out).unwrap();
        assert_eq!(
            hex::encode(&out[..n]),
            case.encoded,
            "encode kid={} ctr={}",
            case.kid,
            case.ctr
        );
        let (parsed, len) = Header::parse(&h(&case.encoded)).unwrap();
        assert_eq!((parsed, len), (header, n));
    }
}

#[test]
fn rfc9605_aes_gcm_suites_4_and_5() {
    let v = rfc9605();
    let cases: Vec<_> = v
        .sframe
        .iter()
        .filter(|c| c.cipher_suite == 4 || c.cipher_suite == 5)
        .collect();
    assert_eq!(cases.len(), 2);
    for backend in AeadBackend::available() {
        for case in &cases {
            let suite = CipherSuite::from_id(case.cipher_suite).unwrap();
            let base = BaseKey::from_bytes(&h(&case.base_key)).unwrap();

            let (key, salt) = __sframe_key_and_salt(suite, &base, case.kid).unwrap();
            assert_eq!(&key[..], h(&case.sframe_key).as_slice());
            assert_eq!(&salt[..], h(&case.sframe_salt).as_slice());
            // nonce = salt XOR ctr
            let mut nonce = *salt;
            for (n, c) in nonce[4..].iter_mut().zip(case.ctr.to_be_bytes()) {
                *n ^= c;
            }
            assert_eq!(nonce.to_vec(), h(&case.nonce));

            let mut sframe = SframeKey::new(*backend, suite, &base, case.kid).unwrap();
            let pt = h(&case.pt);
            let metadata = h(&case.metadata);
            let header_len = Header::new(case.kid, case.ctr).encoded_len();
            assert_eq!(
                h(&case.aad),
                [&h(&case.ct)[..header_len], &metadata[..]].concat()
            );
            let mut buf = vec![0u8; header_len + pt.len() + 16];
            buf[header_len..header_len + pt.len()].copy_from_slice(&pt);
            let range = sframe
                .protect(
                    case.ctr,
                    &metadata,
                    &mut buf,
                    header_len..header_len + pt.len(),
                )
                .unwrap();
            assert_eq!(
                hex::encode(&buf[range]),
                case.ct,
                "suite {} on {:?}",
                suite.id(),
                backend
            );

            let mut ct = h(&case.ct);
            let (header, plain) = sframe.unprotect(&metadata, &mut ct).unwrap();
            assert_eq!((header.kid, header.ctr), (case.kid, case.ctr));
            assert_eq!(&ct[plain], pt.as_slice());
        }
    }
}
