//! The call statistics: audio (codec, bitrate, loss, frame protection) and one section per video
//! stream in use (camera, screen share), each with what is sent and what is received.

use egui::Ui;
use sealcall_engine::media::{ProcessingParts, ProcessingStats};
use sealcall_engine::{CallStats, VideoStreamStats};

use crate::app::{CallView, labels};
use crate::text;

/// Which statistics a panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Audio, then the video streams in use.
    All,
    /// The audio numbers only (the video streams are shown elsewhere).
    Audio,
}

/// Draws the collapsible statistics panel.
pub fn show(ui: &mut Ui, c: &CallView, part: Part) {
    egui::CollapsingHeader::new(labels::STATS)
        .default_open(true)
        .show(ui, |ui| {
            let Some(st) = &c.stats else {
                ui.label("Waiting for the first report…");
                return;
            };
            audio(ui, st);
            if part == Part::All {
                ui.add_space(6.0);
                video_streams(ui, st);
            }
        });
}

/// Draws the sections of the video streams in use under their own collapsible heading (beside
/// the pictures in a wide window); nothing when no video stream is in use.
pub fn show_video(ui: &mut Ui, c: &CallView) {
    let Some(st) = &c.stats else { return };
    if !in_use(&st.camera) && !in_use(&st.screen) {
        return;
    }
    egui::CollapsingHeader::new(labels::VIDEO_STATS)
        .default_open(true)
        .show(ui, |ui| video_streams(ui, st));
}

/// One section per video stream in use: side by side when there is room, else one under the
/// other.
fn video_streams(ui: &mut Ui, st: &CallStats) {
    let streams: Vec<(&str, &VideoStreamStats)> = [
        (labels::STATS_CAMERA, &st.camera),
        (labels::STATS_SCREEN, &st.screen),
    ]
    .into_iter()
    .filter(|(_, v)| in_use(v))
    .collect();
    if streams.len() > 1 && ui.available_width() >= 640.0 {
        ui.columns(streams.len(), |columns| {
            for (ui, (title, v)) in columns.iter_mut().zip(&streams) {
                stream(ui, title, v, st.end_to_end);
            }
        });
    } else {
        for (title, v) in &streams {
            stream(ui, title, v, st.end_to_end);
            ui.add_space(6.0);
        }
    }
}

/// Whether a video stream has been used in this call (sent, or received at least once).
pub fn in_use(v: &VideoStreamStats) -> bool {
    v.sending || v.frames_sent > 0 || v.frames_received > 0
}

fn audio(ui: &mut Ui, st: &CallStats) {
    egui::Grid::new("stats")
        .num_columns(2)
        .spacing([16.0, 2.0])
        .show(ui, |ui| {
            let mut row = |k: &str, v: String| {
                ui.label(k);
                ui.label(v);
                ui.end_row();
            };
            row("Codec", st.media.codec.to_owned());
            row(
                "Bitrate",
                format!(
                    "{} sent, {} received",
                    text::kbits(st.media.send_bitrate_bps),
                    text::kbits(st.media.receive_bitrate_bps)
                ),
            );
            row(
                "Send bandwidth",
                format!(
                    "{} estimated (shared by audio and video)",
                    text::kbits_f(f64::from(st.send_estimate_kbps))
                ),
            );
            row(
                "Packet loss",
                format!(
                    "{:.1} % ({} packets)",
                    st.media.loss_fraction * 100.0,
                    st.media.packets_lost
                ),
            );
            let processing = &st.audio_processing;
            row(
                "Audio processing",
                if processing.active.any() {
                    format!(
                        "{} ({:.0} µs per 20 ms frame)",
                        processing_names(processing.active),
                        processing.mean_cost_us
                    )
                } else {
                    "off".to_owned()
                },
            );
            row("Echo return loss enhancement", erle_text(processing));
            row("Frames protected", st.outbound.frames.to_string());
            row("Frames unprotected", st.inbound.frames.to_string());
            row(
                "Authentication failures",
                st.inbound.auth_failures.to_string(),
            );
            row(
                "Average encryption cost",
                if st.end_to_end {
                    st.outbound.average_cost().map_or_else(
                        || "–".to_owned(),
                        |d| {
                            format!(
                                "{:.1} µs per frame (cold cache: compare with the cold rows of \
                                 sealcall bench)",
                                d.as_secs_f64() * 1e6
                            )
                        },
                    )
                } else {
                    "none (not end-to-end encrypted)".to_owned()
                },
            );
        });
}

/// The running parts of the audio processing, in words.
pub fn processing_names(parts: ProcessingParts) -> String {
    let names: Vec<&str> = [
        (parts.echo_cancellation, "echo cancellation"),
        (parts.noise_suppression, "noise suppression"),
        (parts.gain_control, "gain control"),
        (parts.high_pass, "high-pass filter"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    if names.is_empty() {
        "off".to_owned()
    } else {
        names.join(", ")
    }
}

/// How much echo the canceller removes, with the echo delay it found.
pub fn erle_text(p: &ProcessingStats) -> String {
    if !p.active.echo_cancellation {
        return "– (echo cancellation off)".to_owned();
    }
    match (p.erle_db, p.delay_ms) {
        (Some(erle), Some(ms)) => format!("{erle:.0} dB (echo delay {ms} ms)"),
        (Some(erle), None) => format!("{erle:.0} dB"),
        (None, _) => "not measured yet".to_owned(),
    }
}

/// One video stream: a row per measure, a column each for this device's side and the peer's.
fn stream(ui: &mut Ui, title: &str, v: &VideoStreamStats, end_to_end: bool) {
    ui.strong(title);
    if let Some(source) = &v.source {
        ui.small(format!("Sending {source}"));
    }
    egui::Grid::new(title)
        .num_columns(3)
        .spacing([12.0, 2.0])
        .striped(true)
        .show(ui, |ui| {
            for [measure, sent, received] in stream_rows(v, end_to_end) {
                ui.label(measure);
                ui.label(sent);
                ui.label(received);
                ui.end_row();
            }
        });
}

/// The rows of a video stream's section: measure, sent, received (the first row is the header).
/// Counts of what only a receiver measures show `–` on the sent side.
pub fn stream_rows(v: &VideoStreamStats, end_to_end: bool) -> Vec<[String; 3]> {
    let row = |k: &str, sent: String, received: String| [k.to_owned(), sent, received];
    let dash = || "–".to_owned();
    vec![
        row("", "Sent".to_owned(), "Received".to_owned()),
        row(
            "Resolution",
            text::resolution(v.sent_resolution.filter(|_| v.sending)),
            text::resolution(v.received_resolution),
        ),
        row(
            "Frame rate",
            text::fps(v.sent_fps),
            text::fps(v.received_fps),
        ),
        row(
            "Video bitrate",
            text::kbits_f(v.sent_kbps),
            text::kbits_f(v.received_kbps),
        ),
        row(
            if end_to_end {
                "Video frames protected"
            } else {
                "Video frames"
            },
            v.frames_sent.to_string(),
            v.frames_received.to_string(),
        ),
        row("Video frames refused", dash(), v.frames_refused.to_string()),
        row(
            "Key epoch",
            text::epoch(v.send_epoch, end_to_end),
            text::epoch(v.receive_epoch, end_to_end),
        ),
        row(
            "Target bitrate",
            if v.sending {
                text::kbits_f(f64::from(v.target_kbps))
            } else {
                dash()
            },
            dash(),
        ),
        row(
            "Keyframes",
            v.keyframes_sent.to_string(),
            v.keyframes_received.to_string(),
        ),
        row(
            "Keyframe requests",
            v.keyframe_requests_received.to_string(),
            v.keyframe_requests_sent.to_string(),
        ),
        row("Pictures decoded", dash(), v.frames_decoded.to_string()),
        row("Gaps", dash(), v.gaps.to_string()),
        row(
            "Waiting for a keyframe",
            dash(),
            v.frames_waiting_for_keyframe.to_string(),
        ),
        row("Decode errors", dash(), v.decode_errors.to_string()),
        row("Pictures skipped", dash(), v.pictures_skipped.to_string()),
        row(
            "Time per frame",
            text::millis(v.encode_time),
            text::millis(v.decode_time),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_processing_reads_in_words() {
        assert_eq!(
            processing_names(ProcessingParts::ALL),
            "echo cancellation, noise suppression, gain control, high-pass filter"
        );
        assert_eq!(processing_names(ProcessingParts::NONE), "off");
        let mut p = ProcessingStats {
            active: ProcessingParts::ALL,
            ..ProcessingStats::default()
        };
        assert_eq!(erle_text(&p), "not measured yet");
        p.erle_db = Some(31.6);
        p.delay_ms = Some(56);
        assert_eq!(erle_text(&p), "32 dB (echo delay 56 ms)");
        p.active.echo_cancellation = false;
        assert_eq!(erle_text(&p), "– (echo cancellation off)");
    }

    #[test]
    fn a_sent_and_received_camera_reads_in_rows() {
        let v = VideoStreamStats {
            sending: true,
            sent_resolution: Some((640, 480)),
            sent_fps: 29.96,
            sent_kbps: 512.0,
            target_kbps: 800,
            frames_sent: 300,
            keyframes_sent: 2,
            received_resolution: Some((640, 480)),
            frames_received: 290,
            frames_decoded: 288,
            frames_refused: 1,
            send_epoch: Some(3),
            receive_epoch: Some(2),
            ..VideoStreamStats::default()
        };
        let rows = stream_rows(&v, true);
        let find = |k: &str| rows.iter().find(|r| r[0] == k).cloned().unwrap();
        assert_eq!(find("Resolution")[1..], ["640×480", "640×480"]);
        assert_eq!(find("Frame rate")[1], "30.0 fps");
        assert_eq!(find("Video bitrate")[1], "512.0 kbit/s");
        assert_eq!(find("Target bitrate")[1..], ["800.0 kbit/s", "–"]);
        assert_eq!(find("Video frames protected")[1..], ["300", "290"]);
        assert_eq!(find("Pictures decoded")[1..], ["–", "288"]);
        assert_eq!(find("Video frames refused")[1..], ["–", "1"]);
        assert_eq!(find("Key epoch")[1..], ["3", "2"]);
        assert!(in_use(&v));
    }

    #[test]
    fn a_standard_stream_not_sent_shows_dashes() {
        let v = VideoStreamStats {
            sent_resolution: Some((1280, 720)),
            ..VideoStreamStats::default()
        };
        let rows = stream_rows(&v, false);
        let find = |k: &str| rows.iter().find(|r| r[0] == k).cloned().unwrap();
        assert_eq!(find("Resolution")[1], "–", "not sending any more");
        assert!(rows.iter().any(|r| r[0] == "Video frames"));
        assert_eq!(find("Key epoch")[1], "none (standard encryption)");
        assert!(!in_use(&v));
    }
}
