//! The safety number: a stable, per-contact number from two identity keys.
//!
//! The 20-digit [`SecurityCode`](crate::SecurityCode) belongs to one call (it covers that call's
//! ephemeral keys). The safety number belongs to a pair of devices: it depends only on the two
//! identity keys and the two user ids, so it stays the same from call to call and changes
//! exactly when either device's identity key changes. Two people compare it once (in person or
//! over another channel) and mark each other verified.
//!
//! Construction (after Signal's numeric fingerprint): for each party, `h = SHA-512(label ||
//! key || user)`, then [`SAFETY_NUMBER_ITERATIONS`] times `h = SHA-512(h || key)`, so finding a
//! second key with the same number costs that many hashes per try. The first 30 bytes of `h`
//! give the party's 30 digits (six groups of five). The two halves are ordered (smaller first),
//! so both devices show the same 60 digits.

use core::fmt;

use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use crate::identity::IdentityPublicKey;
use crate::schedule::{five_digit_groups, typed_digits_match};

/// Domain separation for the per-party hash.
pub const SAFETY_NUMBER_LABEL: &[u8] = b"sealcall safety number v1";
/// SHA-512 iterations per party.
pub const SAFETY_NUMBER_ITERATIONS: u32 = 5200;
/// Digits in a safety number.
pub const SAFETY_NUMBER_DIGITS: usize = 60;

/// The 60-digit safety number of two devices, shown as twelve groups of five. Comparison is
/// constant time.
#[derive(Clone)]
pub struct SafetyNumber([u8; SAFETY_NUMBER_DIGITS]);

fn half(user: &str, key: &IdentityPublicKey) -> [u8; 30] {
    let key = key.to_bytes();
    let mut h = Sha512::new()
        .chain_update(SAFETY_NUMBER_LABEL)
        .chain_update(key)
        .chain_update(user.as_bytes())
        .finalize();
    for _ in 0..SAFETY_NUMBER_ITERATIONS {
        h = Sha512::new().chain_update(h).chain_update(key).finalize();
    }
    let mut digits = [b'0'; 30];
    five_digit_groups(&h[..30], &mut digits);
    digits
}

impl SafetyNumber {
    /// The safety number of `(user, key)` and `(peer_user, peer_key)`: the same whichever side
    /// computes it.
    pub fn new(
        user: &str,
        key: &IdentityPublicKey,
        peer_user: &str,
        peer_key: &IdentityPublicKey,
    ) -> Self {
        let (a, b) = (half(user, key), half(peer_user, peer_key));
        let (first, second) = if a <= b { (a, b) } else { (b, a) };
        let mut digits = [b'0'; SAFETY_NUMBER_DIGITS];
        digits[..30].copy_from_slice(&first);
        digits[30..].copy_from_slice(&second);
        Self(digits)
    }

    /// The 60 digits without spaces.
    pub fn digits(&self) -> &str {
        // The array only ever holds ASCII digits.
        core::str::from_utf8(&self.0).unwrap_or("")
    }

    /// Whether a number typed or read by a person (spaces ignored) equals this one, in
    /// constant time.
    pub fn matches(&self, typed: &str) -> bool {
        typed_digits_match(typed, &self.0)
    }
}

impl PartialEq for SafetyNumber {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl Eq for SafetyNumber {}

impl fmt::Display for SafetyNumber {
    /// Twelve groups of five digits, separated by spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.digits();
        for i in (0..SAFETY_NUMBER_DIGITS).step_by(5) {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&digits[i..i + 5])?;
        }
        Ok(())
    }
}

impl fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SafetyNumber({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeviceIdentity;

    fn key(seed: u64) -> IdentityPublicKey {
        DeviceIdentity::generate(&mut crate::__test_rng(seed)).public()
    }

    #[test]
    fn both_sides_compute_the_same_number() {
        let (a, b) = (key(1), key(2));
        let n = SafetyNumber::new("ana", &a, "ken", &b);
        assert_eq!(n, SafetyNumber::new("ken", &b, "ana", &a));
        assert_eq!(n.digits().len(), 60);
        assert!(n.digits().bytes().all(|c| c.is_ascii_digit()));
        assert_eq!(n.to_string().split(' ').count(), 12);
        assert!(n.matches(&n.to_string()));
        assert!(n.matches(n.digits()));
    }

    #[test]
    fn a_changed_key_or_user_changes_the_number() {
        let (a, b, m) = (key(1), key(2), key(3));
        let n = SafetyNumber::new("ana", &a, "ken", &b);
        let mitm = SafetyNumber::new("ana", &a, "ken", &m);
        assert_ne!(n, mitm);
        // The half that belongs to Ana stays; Ken's half changes.
        assert_ne!(n, SafetyNumber::new("ana", &a, "kenny", &b));
        assert!(!n.matches(mitm.digits()));
        assert!(!n.matches(&n.digits()[..59]));
        assert!(!n.matches(&format!("{}0", n.digits())));
    }
}
