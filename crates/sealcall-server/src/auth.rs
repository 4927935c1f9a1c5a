//! Passwords, session tokens and sign-in throttling.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

use crate::error::{Result, ServerError};

/// Argon2id cost parameters for new password hashes (verification uses the parameters stored in
/// each hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Parallelism.
    pub p_cost: u32,
}

impl Default for PasswordCost {
    /// The argon2 crate's defaults (OWASP-recommended: 19 MiB, 2 iterations, 1 lane).
    fn default() -> Self {
        Self {
            m_cost: Params::DEFAULT_M_COST,
            t_cost: Params::DEFAULT_T_COST,
            p_cost: Params::DEFAULT_P_COST,
        }
    }
}

impl PasswordCost {
    /// Cheap parameters for tests only (8 KiB, 1 iteration).
    pub fn insecure_for_tests() -> Self {
        Self {
            m_cost: 8,
            t_cost: 1,
            p_cost: 1,
        }
    }
}

/// Hashes a password to an argon2id PHC string with a random salt.
pub fn hash_password(password: &str, cost: PasswordCost) -> Result<String> {
    let params = Params::new(cost.m_cost, cost.t_cost, cost.p_cost, None)
        .map_err(|_| ServerError::PasswordHash)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    argon
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| ServerError::PasswordHash)
}

/// Checks a password against a stored PHC string (constant time inside argon2).
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the user does not exist, so that an unknown user takes as
/// long as a wrong password.
pub fn dummy_hash(cost: PasswordCost) -> Result<String> {
    hash_password("sealcall-dummy-password", cost)
}

/// A fresh session token: 32 random bytes, hex-encoded (64 characters). Only its SHA-256 is
/// stored.
pub struct Token(String);

impl Token {
    /// A new random token.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| ServerError::Random)?;
        Ok(Self(hex::encode(bytes)))
    }

    /// The token text to hand to the client (once).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// SHA-256 of a presented token (the lookup key in the sessions table).
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Random bytes (for ids and the TURN secret).
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| ServerError::Random)?;
    Ok(bytes)
}

/// Sign-in throttling: after `max_failures` failed sign-ins within `window` for one account (or
/// from one address, with `max_failures * 4`), further attempts are refused until the window
/// since the first counted failure has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failures allowed per account within the window.
    pub max_failures: u32,
    /// The window.
    pub window: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    first: Instant,
    count: u32,
}

/// In-memory failure counters (reset on restart, by design: they protect against online
/// guessing, not against a restart loop an attacker can't cause).
#[derive(Debug, Default)]
pub struct Throttle {
    config: ThrottleConfig,
    accounts: Mutex<HashMap<String, Failures>>,
    addresses: Mutex<HashMap<IpAddr, Failures>>,
}

fn check<K: std::hash::Hash + Eq>(
    map: &Mutex<HashMap<K, Failures>>,
    key: &K,
    max: u32,
    window: Duration,
    now: Instant,
) -> Option<Duration> {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    let entry = map.get(key).copied()?;
    let elapsed = now.saturating_duration_since(entry.first);
    if elapsed >= window {
        map.remove(key);
        return None;
    }
    (entry.count >= max).then(|| window - elapsed)
}

fn record<K: std::hash::Hash + Eq>(
    map: &Mutex<HashMap<K, Failures>>,
    key: K,
    window: Duration,
    now: Instant,
) {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    // Bound memory: forget expired entries when the map grows.
    if map.len() > 100_000 {
        map.retain(|_, f| now.saturating_duration_since(f.first) < window);
    }
    let entry = map.entry(key).or_insert(Failures {
        first: now,
        count: 0,
    });
    if now.saturating_duration_since(entry.first) >= window {
        *entry = Failures {
            first: now,
            count: 0,
        };
    }
    entry.count = entry.count.saturating_add(1);
}

impl Throttle {
    /// A throttle with this configuration.
    pub fn new(config: ThrottleConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// `Some(retry_after)` if sign-in for `account` from `addr` is currently refused.
    pub fn blocked(&self, account: &str, addr: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let c = self.config;
        let a = check(
            &self.accounts,
            &account.to_ascii_lowercase(),
            c.max_failures,
            c.window,
            now,
        );
        let b = check(
            &self.addresses,
            &addr,
            c.max_failures.saturating_mul(4),
            c.window,
            now,
        );
        a.max(b)
    }

    /// Counts a failed sign-in.
    pub fn failed(&self, account: &str, addr: IpAddr) {
        let now = Instant::now();
        record(
            &self.accounts,
            account.to_ascii_lowercase(),
            self.config.window,
            now,
        );
        record(&self.addresses, addr, self.config.window, now);
    }

    /// Clears the account's counter after a successful sign-in.
    pub fn succeeded(&self, account: &str) {
        self.accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&account.to_ascii_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse", PasswordCost::insecure_for_tests()).unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("correct horse"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hidden_in_debug() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 64);
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn throttle_blocks_after_max_failures() {
        let t = Throttle::new(ThrottleConfig {
            max_failures: 2,
            window: Duration::from_secs(60),
        });
        let ip: IpAddr = [127, 0, 0, 1].into();
        assert!(t.blocked("Ken", ip).is_none());
        t.failed("Ken", ip);
        assert!(t.blocked("ken", ip).is_none());
        t.failed("KEN", ip);
        assert!(t.blocked("ken", ip).is_some());
        assert!(t.blocked("ana", ip).is_none());
    }
}
