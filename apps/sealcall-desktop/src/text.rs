//! Pure formatting helpers for the views (tested without a UI).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sealcall_engine::call::Ended;
use sealcall_signaling::{EndReason, FailReason};

/// `m:ss` below an hour, `h:mm:ss` above.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The time of day of `t` in UTC, `HH:MM UTC`.
pub fn time_of_day(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let day = secs % 86_400;
    format!("{:02}:{:02} UTC", day / 3600, (day / 60) % 60)
}

/// A user-facing sentence for why a call ended.
pub fn end_reason(reason: &Ended) -> String {
    match reason {
        Ended::Local => "You ended the call.".into(),
        Ended::Remote(r) => match r {
            EndReason::Declined => "The call was declined.".into(),
            EndReason::Busy => "They are busy in another call.".into(),
            EndReason::Cancelled => "The caller cancelled.".into(),
            EndReason::Timeout => "No answer.".into(),
            EndReason::HungUp => "The other person hung up.".into(),
            EndReason::AnsweredElsewhere => "Answered on another device.".into(),
            EndReason::PeerDisconnected => "The other person was disconnected.".into(),
        },
        Ended::Failed(f) => match f {
            FailReason::UnknownCallee => "There is no such person.".into(),
            FailReason::CalleeOffline => "They are not online.".into(),
            FailReason::SelfCall => "You cannot call yourself.".into(),
            FailReason::AlreadyInCall => "You are already in a call.".into(),
            FailReason::CalleeBusy => "They are busy in another call.".into(),
            FailReason::PolicyRefused => {
                "Your organisation's policy does not allow this call.".into()
            }
        },
        Ended::Refused(messages) => format!("The call was not allowed: {}", messages.join(" ")),
        Ended::Timeout(what) => format!("The call timed out ({what})."),
        Ended::ServerLost => "The connection to the server was lost.".into(),
        Ended::MediaFailed(why) => format!("The call's audio connection failed: {why}."),
    }
}

/// Bits per second as `12.3 kbit/s`.
pub fn kbits(bps: u32) -> String {
    format!("{:.1} kbit/s", f64::from(bps) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks() {
        assert_eq!(clock(Duration::from_secs(0)), "0:00");
        assert_eq!(clock(Duration::from_secs(65)), "1:05");
        assert_eq!(clock(Duration::from_secs(3723)), "1:02:03");
    }

    #[test]
    fn times_of_day() {
        let t = UNIX_EPOCH + Duration::from_secs(86_400 * 3 + 13 * 3600 + 7 * 60 + 9);
        assert_eq!(time_of_day(t), "13:07 UTC");
    }

    #[test]
    fn end_reasons_are_sentences() {
        assert_eq!(end_reason(&Ended::Local), "You ended the call.");
        assert!(end_reason(&Ended::Refused(vec!["x".into()])).contains("not allowed"));
    }
}
