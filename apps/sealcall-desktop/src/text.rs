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

/// Kilobits per second as `512.3 kbit/s`.
pub fn kbits_f(kbps: f64) -> String {
    format!("{kbps:.1} kbit/s")
}

/// A picture size as `640×480`, or `–` when unknown.
pub fn resolution(size: Option<(u32, u32)>) -> String {
    size.map_or_else(|| "–".to_owned(), |(w, h)| format!("{w}×{h}"))
}

/// A frame rate as `29.9 fps`.
pub fn fps(fps: f64) -> String {
    format!("{fps:.1} fps")
}

/// A key epoch, `–` before keys exist, or a note for a call without end-to-end keys.
pub fn epoch(epoch: Option<u64>, end_to_end: bool) -> String {
    match (epoch, end_to_end) {
        (_, false) => "none (standard encryption)".to_owned(),
        (Some(e), true) => e.to_string(),
        (None, true) => "–".to_owned(),
    }
}

/// A duration as `1.25 ms`, or `–` when unknown.
pub fn millis(d: Option<Duration>) -> String {
    d.map_or_else(
        || "–".to_owned(),
        |d| format!("{:.2} ms", d.as_secs_f64() * 1000.0),
    )
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
    fn video_numbers() {
        assert_eq!(resolution(Some((1280, 720))), "1280×720");
        assert_eq!(resolution(None), "–");
        assert_eq!(fps(9.96), "10.0 fps");
        assert_eq!(kbits_f(1234.56), "1234.6 kbit/s");
        assert_eq!(epoch(Some(2), true), "2");
        assert_eq!(epoch(None, true), "–");
        assert_eq!(epoch(Some(2), false), "none (standard encryption)");
        assert_eq!(millis(Some(Duration::from_micros(1250))), "1.25 ms");
        assert_eq!(millis(None), "–");
    }

    #[test]
    fn the_default_fonts_draw_every_symbol_the_views_use() {
        // egui draws a box for a missing glyph (and the UI tests panic on one).
        let ctx = egui::Context::default();
        let mut output = ctx.run_ui(egui::RawInput::default(), |_| {});
        output.textures_delta.clear();
        let font = egui::FontId::proportional(14.0);
        let symbols = "×–…µ·“”";
        ctx.fonts_mut(|f| {
            for c in symbols.chars() {
                assert!(f.has_glyph(&font, c), "no glyph for {c}");
            }
        });
    }

    #[test]
    fn end_reasons_are_sentences() {
        assert_eq!(end_reason(&Ended::Local), "You ended the call.");
        assert!(end_reason(&Ended::Refused(vec!["x".into()])).contains("not allowed"));
    }
}
