//! `sealcall server --config FILE`: the server's flags as keys of a TOML file (flags given on
//! the command line win), and `--check-config`.
//!
//! Keys are the flags' names (`listen`, `tls-cert`, `relay-allow`, …); unknown keys are refused
//! (`deny_unknown_fields`). Errors name the key and the line, and quote a value only where it
//! cannot be a secret: the `db` value (a PostgreSQL URL may hold a password) is never quoted,
//! nor is a line of the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use sealcall_server::IpNet;
use serde::Deserialize;

/// Keys whose values are never quoted in an error.
const SECRET_KEYS: &[&str] = &["db", "redis"];

/// The file, as written: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    /// `--db`.
    pub db: Option<String>,
    /// `--listen`.
    pub listen: Option<String>,
    /// `--turn`.
    pub turn: Option<String>,
    /// `--tls-cert`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`.
    pub tls_key: Option<PathBuf>,
    /// `--insecure-http`.
    pub insecure_http: Option<bool>,
    /// `--relay-allow` (a list).
    pub relay_allow: Option<Vec<String>>,
    /// `--turn-secret-file`.
    pub turn_secret_file: Option<PathBuf>,
    /// `--trusted-proxy` (a list).
    pub trusted_proxy: Option<Vec<String>>,
    /// `--metrics-listen`.
    pub metrics_listen: Option<String>,
    /// `--shutdown-grace` (seconds).
    pub shutdown_grace: Option<u64>,
    /// `--redis`.
    pub redis: Option<String>,
    /// `--ring-timeout` (seconds).
    pub ring_timeout: Option<u64>,
    /// `--turn-public-ip`.
    pub turn_public_ip: Option<String>,
}

/// The file's values, checked: addresses and ranges parsed.
#[derive(Debug, Default, Clone)]
pub struct FileValues {
    /// `db`.
    pub db: Option<sealcall_server::StoreLocation>,
    /// `listen`.
    pub listen: Option<SocketAddr>,
    /// `turn` (`off` or an address; kept as text, as the flag is).
    pub turn: Option<String>,
    /// `tls-cert`.
    pub tls_cert: Option<PathBuf>,
    /// `tls-key`.
    pub tls_key: Option<PathBuf>,
    /// `insecure-http`.
    pub insecure_http: Option<bool>,
    /// `relay-allow`.
    pub relay_allow: Option<Vec<IpNet>>,
    /// `turn-secret-file`.
    pub turn_secret_file: Option<PathBuf>,
    /// `trusted-proxy`.
    pub trusted_proxy: Option<Vec<IpNet>>,
    /// `metrics-listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// `shutdown-grace` (seconds).
    pub shutdown_grace: Option<u64>,
    /// `redis`.
    pub redis: Option<sealcall_server::RedisUrl>,
    /// `ring-timeout` (seconds).
    pub ring_timeout: Option<u64>,
    /// `turn-public-ip`.
    pub turn_public_ip: Option<std::net::IpAddr>,
}

/// Reads and checks a configuration file.
pub fn load(path: &Path) -> Result<FileValues> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("cannot read the configuration file {}: {e}", path.display()))?;
    parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Parses and checks the text of a configuration file.
pub fn parse(text: &str) -> Result<FileValues> {
    let file: FileConfig = toml::from_str(text).map_err(|e| describe(text, &e))?;
    check(file)
}

/// A TOML error as `line N: key: message`, without the file's text (which `toml`'s own display
/// quotes, secrets included).
fn describe(text: &str, e: &toml::de::Error) -> anyhow::Error {
    let message = e.message().trim();
    let Some(span) = e.span() else {
        return anyhow!("{message}");
    };
    let start = span.start.min(text.len());
    let line_no = text
        .get(..start)
        .map_or(1, |before| before.matches('\n').count() + 1);
    let key = text
        .lines()
        .nth(line_no - 1)
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim().trim_matches('"').to_owned())
        .filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        });
    match key {
        Some(key) if message.starts_with("unknown field") => {
            anyhow!("line {line_no}: {key}: {message}")
        }
        Some(key) if SECRET_KEYS.contains(&key.as_str()) => {
            anyhow!(
                "line {line_no}: {key}: not a valid string (the value is not shown: it may hold a password)"
            )
        }
        Some(key) => anyhow!("line {line_no}: {key}: {message}"),
        None => anyhow!("line {line_no}: {message}"),
    }
}

fn socket_addr(key: &str, value: &str) -> Result<SocketAddr> {
    value
        .parse()
        .map_err(|_| anyhow!("{key}: {value:?} is not a socket address (e.g. 127.0.0.1:7878)"))
}

fn ranges(key: &str, values: Vec<String>) -> Result<Vec<IpNet>> {
    values
        .iter()
        .map(|v| crate::server_cmd::parse_cidr(v).map_err(|e| anyhow!("{key}: {e}")))
        .collect()
}

fn check(file: FileConfig) -> Result<FileValues> {
    let turn = match file.turn {
        Some(t) if t == "off" => Some(t),
        Some(t) => {
            socket_addr("turn", &t).map_err(|e| anyhow!("{e}, or \"off\""))?;
            Some(t)
        }
        None => None,
    };
    if file.tls_cert.is_some() != file.tls_key.is_some() {
        bail!("tls-cert and tls-key: give both or neither");
    }
    Ok(FileValues {
        db: file
            .db
            .map(|v| {
                // The message never carries the value: a PostgreSQL URL may hold a password.
                sealcall_server::StoreLocation::parse(&v).map_err(|e| anyhow!("db: {e}"))
            })
            .transpose()?,
        listen: file.listen.map(|v| socket_addr("listen", &v)).transpose()?,
        turn,
        tls_cert: file.tls_cert,
        tls_key: file.tls_key,
        insecure_http: file.insecure_http,
        relay_allow: file
            .relay_allow
            .map(|v| ranges("relay-allow", v))
            .transpose()?,
        turn_secret_file: file.turn_secret_file,
        trusted_proxy: file
            .trusted_proxy
            .map(|v| ranges("trusted-proxy", v))
            .transpose()?,
        metrics_listen: file
            .metrics_listen
            .map(|v| socket_addr("metrics-listen", &v))
            .transpose()?,
        shutdown_grace: file.shutdown_grace,
        redis: file
            .redis
            .map(|v| {
                // Never quoted: a Redis URL may hold a password.
                sealcall_server::RedisUrl::parse(&v).map_err(|e| anyhow!("redis: {e}"))
            })
            .transpose()?,
        ring_timeout: file.ring_timeout,
        turn_public_ip: file
            .turn_public_ip
            .map(|v| {
                v.parse()
                    .map_err(|_| anyhow!("turn-public-ip: {v:?} is not an IP address"))
            })
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let e = parse("lisen = \"127.0.0.1:1\"\n").unwrap_err().to_string();
        assert!(e.contains("lisen") && e.contains("unknown field"), "{e}");
        assert!(e.starts_with("line 1:"), "{e}");
        let e = parse("db = \"x.db\"\nlisten = \"abc\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "listen: \"abc\" is not a socket address (e.g. 127.0.0.1:7878)"
        );
        let e = parse("insecure-http = \"yes\"\n").unwrap_err().to_string();
        assert!(e.contains("line 1: insecure-http:"), "{e}");
        let e = parse("relay-allow = [\"nonsense\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("relay-allow:") && e.contains("CIDR"), "{e}");
        let e = parse("turn = \"udp\"\n").unwrap_err().to_string();
        assert!(e.starts_with("turn:") && e.contains("off"), "{e}");
        let e = parse("tls-cert = \"c.pem\"\n").unwrap_err().to_string();
        assert!(e.contains("tls-key"), "{e}");
        let e = parse("metrics-listen = 9100\n").unwrap_err().to_string();
        assert!(e.contains("metrics-listen"), "{e}");
    }

    #[test]
    fn errors_never_quote_the_database_value_or_a_line() {
        // An unterminated string on the db line and a wrong type: neither error quotes it.
        for text in [
            "db = \"postgres://sealcall:hunter2-secret@db/sealcall\nlisten = \"abc\"\n",
            "db = [\"postgres://sealcall:hunter2-secret@db/sealcall\"]\n",
            "listen = \"abc\"\ndb = \"postgres://sealcall:hunter2-secret@db/sealcall\"\n",
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn the_example_file_names_every_key_and_parses_uncommented() {
        let example = include_str!("../../../deploy/sealcall.toml");
        assert_eq!(
            format!("{:?}", parse(example).unwrap()),
            format!("{:?}", FileValues::default()),
            "all commented"
        );
        let uncommented: String = example
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|l| l.contains(" = "))
                    .unwrap_or("")
            })
            .collect::<Vec<_>>()
            .join("\n");
        let all = parse(&uncommented).unwrap();
        let FileValues {
            db,
            listen,
            turn,
            tls_cert,
            tls_key,
            insecure_http,
            relay_allow,
            turn_secret_file,
            trusted_proxy,
            metrics_listen,
            shutdown_grace,
            redis,
            ring_timeout,
            turn_public_ip,
        } = all;
        assert!(db.is_some() && listen.is_some() && turn.is_some());
        assert!(tls_cert.is_some() && tls_key.is_some() && insecure_http.is_some());
        assert!(relay_allow.is_some() && turn_secret_file.is_some());
        assert!(trusted_proxy.is_some() && metrics_listen.is_some());
        assert!(shutdown_grace.is_some() && redis.is_some() && ring_timeout.is_some());
        assert!(turn_public_ip.is_some());
    }

    #[test]
    fn an_empty_file_sets_nothing() {
        let empty = format!("{:?}", FileValues::default());
        assert_eq!(format!("{:?}", parse("").unwrap()), empty);
        assert_eq!(format!("{:?}", parse("# only a comment\n").unwrap()), empty);
    }
}
