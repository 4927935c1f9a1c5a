//! A walk through the crypto core: two devices agree keys, compare the security code, and
//! protect a frame of each media kind. Run with `cargo run -p sealcall-e2ee --example call_demo`.

use core::time::Duration;

use getrandom::SysRng;
use sealcall_e2ee::rand_core::UnwrapErr;
use sealcall_e2ee::*;

fn main() -> Result<(), Error> {
    let mut rng = UnwrapErr(SysRng);
    let alice = DeviceIdentity::generate(&mut rng);
    let bob = DeviceIdentity::generate(&mut rng);
    println!("Sealcall crypto core demo");
    println!(
        "  alice's device identity  {}",
        alice.public().fingerprint()
    );
    println!("  bob's device identity    {}", bob.public().fingerprint());

    let params = |device: &str, peer: &DeviceIdentity| HandshakeParams {
        suite: CipherSuite::Aes128GcmSha256,
        call_id: b"demo-call-1".to_vec(),
        local_device: device.as_bytes().to_vec(),
        intent: Intent::EndToEnd,
        dtls_fingerprint: [0x5c; 32],
        post_quantum: sealcall_e2ee::PostQuantum::Offered,
        expected_peer: Some(peer.public()),
    };
    let (caller, commit) = CallerHandshake::start(&mut rng, &alice, params("alice-laptop", &bob))?;
    println!("\nHandshake (relayed by the signaling server, which cannot read or forge it)");
    println!(
        "  alice -> bob   Commit   {:>4} bytes (commitment to alice's ephemeral key + her ML-KEM-768 key)",
        commit.len()
    );
    let (callee, response) =
        CalleeHandshake::respond(&mut rng, &bob, params("bob-phone", &alice), &commit)?;
    println!(
        "  bob   -> alice Response {:>4} bytes (bob's ephemeral key + the ML-KEM ciphertext)",
        response.len()
    );
    let (caller, reveal) = caller.on_response(&alice, &response)?;
    println!(
        "  alice -> bob   Reveal   {:>4} bytes (alice's key + signature)",
        reveal.len()
    );
    let (bob_keys, confirm) = callee.on_reveal(&bob, &reveal)?;
    println!(
        "  bob   -> alice Confirm  {:>4} bytes (bob's signature)",
        confirm.len()
    );
    let alice_keys = caller.on_confirm(&confirm)?;
    println!(
        "\nKey agreement: {:?} (post-quantum protected: {})",
        alice_keys.verified().key_agreement,
        alice_keys.verified().key_agreement.is_post_quantum()
    );

    println!("\nSecurity code (read it aloud; if it differs, hang up)");
    println!("  alice sees  {}", alice_keys.security_code());
    println!("  bob sees    {}", bob_keys.security_code());
    println!(
        "  match: {}",
        if alice_keys.security_code() == bob_keys.security_code() {
            "yes"
        } else {
            "NO"
        }
    );

    let mut alice_call = alice_keys.into_session(StreamConfig::default())?;
    let mut bob_call = bob_keys.into_session(StreamConfig::default())?;

    println!("\nFrames (SFrame, AES-128-GCM, separate keys per direction and media kind)");
    for (media, payload) in [
        (MediaKind::Audio, &b"20 ms of Opus audio"[..]),
        (MediaKind::Video, &b"a video frame"[..]),
        (MediaKind::Screen, &b"a screen-share frame"[..]),
    ] {
        let mut buf = vec![0u8; MAX_HEADER_LEN + payload.len() + TAG_LEN];
        let body = MAX_HEADER_LEN..MAX_HEADER_LEN + payload.len();
        buf[body.clone()].copy_from_slice(payload);
        let now = Duration::from_millis(20);
        let out = alice_call.sender(media).protect(now, &[], &mut buf, body)?;
        let frame = buf[out].to_vec();
        let mut received = frame.clone();
        let plain = bob_call
            .receiver(media)
            .unprotect(now, &[], &mut received)?;
        let (header, _) = Header::parse(&frame)?;
        println!(
            "  {:<6} kid={:<2} ctr={} {:>2} bytes -> {:>2} bytes on the wire -> {:?}",
            media.label(),
            header.kid,
            header.ctr,
            payload.len(),
            frame.len(),
            String::from_utf8_lossy(&received[plain])
        );
        let mut again = frame.clone();
        let replay = bob_call.receiver(media).unprotect(now, &[], &mut again);
        println!(
            "         replayed frame: {}",
            replay.err().map_or("accepted".into(), |e| e.to_string())
        );
        let mut buf = vec![0u8; MAX_HEADER_LEN + payload.len() + TAG_LEN];
        let body = MAX_HEADER_LEN..MAX_HEADER_LEN + payload.len();
        let out = alice_call.sender(media).protect(now, &[], &mut buf, body)?;
        let mut forged = buf[out].to_vec();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        let forged = bob_call.receiver(media).unprotect(now, &[], &mut forged);
        println!(
            "         forged frame:   {}",
            forged.err().map_or("accepted".into(), |e| e.to_string())
        );
    }

    alice_call
        .sender(MediaKind::Audio)
        .rekey(Duration::from_secs(1))?;
    let mut buf = vec![0u8; MAX_HEADER_LEN + 4 + TAG_LEN];
    let out = alice_call.sender(MediaKind::Audio).protect(
        Duration::from_secs(1),
        &[],
        &mut buf,
        MAX_HEADER_LEN..MAX_HEADER_LEN + 4,
    )?;
    let mut frame = buf[out].to_vec();
    bob_call
        .receiver(MediaKind::Audio)
        .unprotect(Duration::from_secs(1), &[], &mut frame)?;
    println!(
        "\nRekey: alice's audio moved to epoch {}, bob followed to epoch {}",
        alice_call.sender(MediaKind::Audio).epoch(),
        bob_call.receiver(MediaKind::Audio).epoch()
    );
    Ok(())
}
