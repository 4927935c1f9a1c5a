//! `sealcall contacts list|verify`: key continuity on this device, offline (no server needed).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use sealcall_engine::contacts::{ContactDevice, ContactStore, safety_number};
use sealcall_engine::identity::IdentityStore;

use crate::call_cmd::data_dir;

/// `sealcall contacts`.
#[derive(Debug, Args)]
pub struct ContactsArgs {
    /// The server the identity belongs to (as given to `sealcall call`).
    #[arg(long, default_value = "https://127.0.0.1:7878")]
    server: String,
    /// Your sign-in name.
    #[arg(long)]
    user: String,
    /// Where the device identity is kept (default: the user's data directory).
    #[arg(long)]
    identity_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: ContactsCommand,
}

#[derive(Debug, Subcommand)]
enum ContactsCommand {
    /// The people and devices this device has been in calls with: key fingerprint, first and
    /// last seen, verified or not, and the safety number to compare.
    List,
    /// Mark a contact's devices verified after comparing the safety number (or the security
    /// code in a call) with them.
    Verify {
        /// The contact's sign-in name.
        peer: String,
        /// Only this device of theirs.
        #[arg(long)]
        device: Option<String>,
        /// The safety number they read to you: refused unless it matches.
        #[arg(long)]
        number: Option<String>,
    },
}

/// Runs `sealcall contacts`.
pub fn contacts(args: ContactsArgs) -> Result<()> {
    let dir = args.identity_dir.clone().unwrap_or_else(data_dir);
    let store = IdentityStore::in_dir(&dir, &args.server, &args.user);
    let Some(me) = store.load()? else {
        bail!(
            "no device identity for {} on {} in {}: sign in once (for example with `sealcall call`)",
            args.user,
            args.server,
            dir.display()
        );
    };
    let mut contacts: ContactStore = store.contacts()?;
    let me = me.identity.public();
    let number = |d: &ContactDevice| -> Result<String> {
        Ok(safety_number(&args.user, &me, d)?.to_string())
    };
    match args.command {
        ContactsCommand::List => {
            let devices = contacts.book().devices();
            if devices.is_empty() {
                println!("no contacts yet: a contact is remembered after a first call");
            }
            for d in &devices {
                println!(
                    "{} device {}: {}{}, first seen {}, last seen {}",
                    d.user,
                    d.device,
                    if d.seen.verified {
                        "verified"
                    } else {
                        "not verified"
                    },
                    d.seen
                        .key_changed
                        .map_or(String::new(), |t| format!(" (key changed {})", when(t))),
                    when(d.seen.first_seen),
                    when(d.seen.last_seen),
                );
                println!("  safety number: {}", number(d)?);
            }
        }
        ContactsCommand::Verify {
            peer,
            device,
            number: typed,
        } => {
            let theirs: Vec<ContactDevice> = contacts
                .book()
                .devices()
                .into_iter()
                .filter(|d| d.user == peer && device.as_ref().is_none_or(|id| *id == d.device))
                .collect();
            if let Some(typed) = &typed {
                for d in &theirs {
                    if !safety_number(&args.user, &me, d)?.matches(typed) {
                        bail!(
                            "the safety number you typed is not {}'s device {}: nothing was \
                             marked. Compare again; if it still differs, someone may be in the \
                             middle.",
                            d.user,
                            d.device
                        );
                    }
                }
            }
            let marked = contacts
                .update(|book| book.mark_verified(&peer, device.as_deref()))
                .with_context(|| format!("verifying {peer}"))?;
            for d in &theirs {
                println!(
                    "verified {} device {} (safety number {})",
                    d.user,
                    d.device,
                    number(d)?
                );
            }
            println!("{marked} device(s) marked verified; a later key change removes the mark");
        }
    }
    Ok(())
}

/// A Unix time as a UTC date and time.
fn when(secs: u64) -> String {
    let Ok(t) = i64::try_from(secs).map(time::OffsetDateTime::from_unix_timestamp) else {
        return format!("{secs} s after 1970");
    };
    match t {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => format!("{secs} s after 1970"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(super::when(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::when(1_796_083_200), "2026-12-01 00:00 UTC");
        assert_eq!(super::when(951_782_400 + 3_661), "2000-02-29 01:01 UTC");
        assert!(super::when(u64::MAX).contains("after 1970"));
    }
}
