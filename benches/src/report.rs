//! A whole `sealcall bench` run: the plan, the results, the comparisons with ratios, the targets,
//! the table and the JSON.

use core::time::Duration;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use sealcall_e2ee::{AeadBackend, CipherSuite, KeyAgreement, PostQuantum};

use crate::cases::{Implementation, new_case};
use crate::extras::{
    BENCH_CALL_ID, BENCH_CALLEE_DEVICE, BENCH_CALLER_DEVICE, HandshakeRoutine, KemOp, MessageSizes,
    MlKemRoutine, RekeyRoutine, Routine, agreement_for, key_agreement_name,
};
use crate::machine::{self, Machine};
use crate::measure::{Settings, Stats, sample, sample_spaced};
use crate::{AUDIO_BUDGET_NS, Op, Result, size_label};

/// Reference lines, not goals: the per-frame medians (AES-128-GCM, fastest backend) an earlier
/// benchmark issue set, measured on the machine class this project's CI runs on. Absolute
/// nanoseconds are machine-bound; the goals are [`FRAMING_GOAL_SMALL_NS`] and
/// [`FRAMING_GOAL_LARGE_PERCENT`], from ratios measured in the same run.
pub const TARGETS_NS: [(usize, f64); 5] = [
    (64, 120.0),
    (160, 130.0),
    (1200, 250.0),
    (16 * 1024, 1800.0),
    (128 * 1024, 14_000.0),
];

/// Goal: most framing may add over the raw AEAD call with the same AAD, frames up to 1200 B.
pub const FRAMING_GOAL_SMALL_NS: f64 = 15.0;

/// Goal: most framing may add over the raw AEAD call with the same AAD above 1200 B, in percent.
pub const FRAMING_GOAL_LARGE_PERCENT: f64 = 2.0;

/// The version of the JSON a run writes. 4: per video stream its frame-size distribution
/// (`sizes`) and the frame layer on its real frames against the raw AEAD floor (`trace`);
/// protect and unprotect stages run on those frames, not a frame of the mean size. 3: the
/// handshake rows per key agreement, the ML-KEM-768
/// rows and `handshake_messages`; 2: `cold`.
pub const SCHEMA: u32 = 4;

/// The two post-quantum settings the handshake is measured with (the same on both sides):
/// X25519 alone, then the X25519 + ML-KEM-768 hybrid.
pub const HANDSHAKE_POST_QUANTUM: [PostQuantum; 2] =
    [PostQuantum::Unavailable, PostQuantum::Offered];

/// One whole-operation routine of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutineSpec {
    /// The whole handshake for a suite, both sides saying the same post-quantum setting.
    Handshake(CipherSuite, PostQuantum),
    /// One rekey of a sender.
    Rekey(AeadBackend, CipherSuite),
    /// One ML-KEM-768 operation.
    MlKem(KemOp),
    /// One 10 ms frame of audio processing on the microphone: a part or the whole chain
    /// (needs the `audio-processing` feature).
    #[cfg(feature = "audio-processing")]
    AudioProcessing(crate::audio::ApmPart),
    /// Opus encode of a 20 ms frame, and protect it when `protect` (needs the `opus` feature).
    Opus {
        /// The sender's backend.
        backend: AeadBackend,
        /// The sender's suite.
        suite: CipherSuite,
        /// Protect the encoded frame as well.
        protect: bool,
    },
}

impl RoutineSpec {
    /// The routine's row name: `handshake/AES-128-GCM/x25519+ml-kem-768`, `ml-kem-768/keygen`,
    /// `rekey/aws-lc-rs/AES-128-GCM`, ...
    pub fn name(&self) -> String {
        match *self {
            Self::Handshake(suite, pq) => handshake_row(suite_name(suite), agreement_for(pq)),
            Self::Rekey(b, suite) => format!("rekey/{}/{}", b.name(), suite_name(suite)),
            Self::MlKem(op) => format!("ml-kem-768/{}", op.name()),
            #[cfg(feature = "audio-processing")]
            Self::AudioProcessing(part) => format!("audio-processing/{}/10ms", part.name()),
            Self::Opus {
                backend,
                suite,
                protect,
            } => format!(
                "{}/{}/{}",
                if protect {
                    "opus-encode+protect"
                } else {
                    "opus-encode"
                },
                backend.name(),
                suite_name(suite)
            ),
        }
    }

    /// Sets the routine up.
    pub fn build(&self) -> Result<Box<dyn Routine>> {
        Ok(match *self {
            Self::Handshake(suite, pq) => Box::new(HandshakeRoutine::new(suite, pq)),
            Self::Rekey(b, suite) => Box::new(RekeyRoutine::new(b, suite)?),
            Self::MlKem(op) => Box::new(MlKemRoutine::new(op)?),
            #[cfg(feature = "audio-processing")]
            Self::AudioProcessing(part) => Box::new(crate::audio::ApmRoutine::new(part)?),
            #[cfg(feature = "opus")]
            Self::Opus {
                backend,
                suite,
                protect,
            } => Box::new(crate::extras::OpusProtectRoutine::new(
                backend, suite, protect,
            )?),
            #[cfg(not(feature = "opus"))]
            Self::Opus { .. } => {
                return Err(crate::BenchError::new(
                    "opus: this build has no `opus` feature",
                ));
            }
        })
    }
}

/// The row name of a handshake routine: `handshake/<suite>/<key agreement>`.
pub fn handshake_row(suite: &str, agreement: KeyAgreement) -> String {
    format!("handshake/{suite}/{}", key_agreement_name(agreement))
}

/// What to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Sealcall backends (their raw floors are measured too).
    pub backends: Vec<AeadBackend>,
    /// Cipher suites.
    pub suites: Vec<CipherSuite>,
    /// Frame sizes in bytes.
    pub sizes: Vec<usize>,
    /// Also measure the sframe crate and SRTP.
    pub comparisons: bool,
    /// Also measure the handshake with and without ML-KEM-768 (and record its message sizes),
    /// ML-KEM-768 itself, a rekey and (with the `opus` feature) Opus encode + protect.
    pub routines: bool,
    /// Also measure a video frame stage by stage (with the `video` feature).
    pub video: bool,
    /// Also measure frames one at a time with a call's idle gap before each (cold caches, as in
    /// a call), Sealcall and its raw-AEAD floor, for the packet-sized frames of the plan.
    pub cold: bool,
    /// Sampling.
    pub settings: Settings,
    /// `quick` or `full`, for the record.
    pub mode: &'static str,
}

impl Plan {
    /// Every frame case of the plan, in run order.
    pub fn frame_cases(&self) -> Vec<(CipherSuite, usize, Implementation, Op)> {
        let mut impls: Vec<Implementation> = self
            .backends
            .iter()
            .map(|&b| Implementation::Sealcall(b))
            .collect();
        impls.extend(self.backends.iter().map(|&b| Implementation::RawAead(b)));
        impls.extend(
            self.backends
                .iter()
                .map(|&b| Implementation::RawAeadHeaderAad(b)),
        );
        if self.comparisons {
            impls.push(Implementation::SframeCrate);
            impls.push(Implementation::Srtp);
        }
        let mut out = Vec::new();
        for &suite in &self.suites {
            for &size in &self.sizes {
                for &implementation in &impls {
                    for op in Op::ALL {
                        out.push((suite, size, implementation, op));
                    }
                }
            }
        }
        out
    }

    /// The whole-operation routines of the plan, in run order: per suite the handshake without
    /// and with ML-KEM-768 and a rekey per backend, then ML-KEM-768 keygen, encapsulate and
    /// decapsulate, then (with the `opus` feature) Opus on the first backend and suite.
    pub fn routines(&self) -> Vec<RoutineSpec> {
        if !self.routines {
            return Vec::new();
        }
        let mut out = Vec::new();
        for &suite in &self.suites {
            for pq in HANDSHAKE_POST_QUANTUM {
                out.push(RoutineSpec::Handshake(suite, pq));
            }
            for &b in &self.backends {
                out.push(RoutineSpec::Rekey(b, suite));
            }
        }
        out.extend(KemOp::ALL.map(RoutineSpec::MlKem));
        if cfg!(feature = "opus")
            && let (Some(&backend), Some(&suite)) = (self.backends.first(), self.suites.first())
        {
            for protect in [false, true] {
                out.push(RoutineSpec::Opus {
                    backend,
                    suite,
                    protect,
                });
            }
        }
        #[cfg(feature = "audio-processing")]
        out.extend(crate::audio::ApmPart::ALL.map(RoutineSpec::AudioProcessing));
        out
    }

    /// The whole-operation routines of the plan, by name.
    pub fn routine_names(&self) -> Vec<String> {
        self.routines().iter().map(RoutineSpec::name).collect()
    }

    /// The cold cases of the plan: Sealcall and its raw-AEAD floor (same AAD) on each backend,
    /// the first suite, sizes up to a packet (1200 B), both operations.
    pub fn cold_cases(&self) -> Vec<(CipherSuite, usize, Implementation, Op)> {
        let Some(&suite) = self.suites.first().filter(|_| self.cold) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for &b in &self.backends {
            for implementation in [
                Implementation::Sealcall(b),
                Implementation::RawAeadHeaderAad(b),
            ] {
                for &size in self.sizes.iter().filter(|&&s| s <= 1200) {
                    for op in Op::ALL {
                        out.push((suite, size, implementation, op));
                    }
                }
            }
        }
        out
    }

    /// Steps the progress bar will count.
    pub fn steps(&self) -> usize {
        self.frame_cases().len()
            + self.cold_cases().len()
            + self.routine_names().len()
            + self.video_steps()
    }

    fn video_steps(&self) -> usize {
        #[cfg(feature = "video")]
        if self.video {
            return crate::video::VIDEO_SHAPES.len() * crate::video::STAGES.len();
        }
        0
    }
}

/// The short name of a suite.
pub fn suite_name(suite: CipherSuite) -> &'static str {
    match suite {
        CipherSuite::Aes256GcmSha512 => "AES-256-GCM",
        _ => "AES-128-GCM",
    }
}

/// One frame case's result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FrameResult {
    /// The implementation.
    pub implementation: Implementation,
    /// Its label.
    pub label: String,
    /// The cipher suite.
    pub suite: &'static str,
    /// Protect or unprotect.
    pub op: Op,
    /// Payload bytes.
    pub bytes: usize,
    /// Nanoseconds per frame.
    pub stats: Stats,
    /// Payload gigabytes (10^9 bytes) per second at the median.
    pub gb_per_s: f64,
    /// Frames per second one core handles at the median.
    pub frames_per_s_per_core: f64,
    /// The median as a percentage of a 20 ms audio frame's time.
    pub audio_budget_percent: f64,
}

/// The idle time before each frame of a cold case: one audio frame.
pub const COLD_GAP: Duration = Duration::from_millis(20);

/// Frames per cold case.
pub const COLD_FRAMES: u32 = 30;

/// One cold case's result: frames one at a time, [`COLD_GAP`] apart.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ColdResult {
    /// Its label.
    pub label: String,
    /// The cipher suite.
    pub suite: &'static str,
    /// Protect or unprotect.
    pub op: Op,
    /// Payload bytes.
    pub bytes: usize,
    /// The idle gap before each frame, in milliseconds.
    pub gap_ms: f64,
    /// Nanoseconds per frame, each timed alone.
    pub stats: Stats,
    /// The warm (back-to-back) median of the same case in this run, if measured.
    pub warm_median_ns: Option<f64>,
    /// `cold median / warm median`.
    pub cold_over_warm: Option<f64>,
}

/// One routine's result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RoutineResult {
    /// Which routine.
    pub name: String,
    /// Nanoseconds per run.
    pub stats: Stats,
    /// The median as a percentage of a 20 ms audio frame's time.
    pub audio_budget_percent: f64,
}

/// The encoded handshake messages of one suite and key agreement, measured from a real
/// handshake with the benchmark ids (see [`HandshakeIds`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HandshakeMessages {
    /// The cipher suite.
    pub suite: &'static str,
    /// `x25519` or `x25519+ml-kem-768`, as both sides agreed.
    pub key_agreement: &'static str,
    /// Bytes per message.
    #[serde(flatten)]
    pub sizes: MessageSizes,
    /// All four messages together.
    pub total: usize,
}

/// The lengths of the ids in the measured handshakes (every id byte adds one byte to the
/// messages that carry it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct HandshakeIds {
    /// Call id bytes (in every message).
    pub call_id_bytes: usize,
    /// Caller device id bytes (in the Commit).
    pub caller_device_bytes: usize,
    /// Callee device id bytes (in the Response).
    pub callee_device_bytes: usize,
}

/// The ids every benchmark handshake uses.
pub const HANDSHAKE_IDS: HandshakeIds = HandshakeIds {
    call_id_bytes: BENCH_CALL_ID.len(),
    caller_device_bytes: BENCH_CALLER_DEVICE.len(),
    callee_device_bytes: BENCH_CALLEE_DEVICE.len(),
};

/// Runs one handshake per suite and post-quantum setting and records its messages' sizes.
pub fn handshake_messages(suites: &[CipherSuite]) -> Result<Vec<HandshakeMessages>> {
    let mut out = Vec::new();
    for &suite in suites {
        for pq in HANDSHAKE_POST_QUANTUM {
            let outcome = HandshakeRoutine::new(suite, pq).outcome()?;
            out.push(HandshakeMessages {
                suite: suite_name(suite),
                key_agreement: key_agreement_name(outcome.caller.verified().key_agreement),
                sizes: outcome.sizes,
                total: outcome.sizes.total(),
            });
        }
    }
    Ok(out)
}

/// Sealcall against another implementation, same suite, size and operation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// Cipher suite.
    pub suite: &'static str,
    /// Operation.
    pub op: Op,
    /// Payload bytes.
    pub bytes: usize,
    /// The Sealcall label.
    pub sealcall: String,
    /// Sealcall's median ns per frame.
    pub sealcall_ns: f64,
    /// The other implementation's label.
    pub other: String,
    /// Its median ns per frame.
    pub other_ns: f64,
    /// `other_ns / sealcall_ns`: above 1 means Sealcall is faster.
    pub ratio: f64,
    /// `sealcall_ns - other_ns`: against the raw AEAD, what the framing adds.
    pub delta_ns: f64,
}

/// One target checked against this run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetCheck {
    /// `goal` (from ratios of this run, counted) or `reference` (an absolute line from another
    /// machine, shown for orientation only).
    pub kind: &'static str,
    /// What is checked.
    pub what: String,
    /// Payload bytes.
    pub bytes: usize,
    /// Operation.
    pub op: Op,
    /// The target (ns).
    pub target_ns: f64,
    /// Measured median (ns).
    pub measured_ns: f64,
    /// Whether the target is met.
    pub met: bool,
}

/// The settings of a run, as recorded.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunSettings {
    /// `quick` or `full`.
    pub mode: &'static str,
    /// Sampling.
    pub sampling: Settings,
    /// Backends measured.
    pub backends: Vec<&'static str>,
    /// Suites measured.
    pub suites: Vec<&'static str>,
    /// Sizes measured.
    pub sizes: Vec<usize>,
    /// Whether the build was optimised.
    pub optimised_build: bool,
    /// How unprotect is timed.
    pub unprotect_method: &'static str,
}

/// Everything a run found, serialised as the JSON file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    /// Format version of this JSON.
    pub schema: u32,
    /// The tool.
    pub tool: &'static str,
    /// When the run started (UTC).
    pub date: String,
    /// The machine.
    pub machine: Machine,
    /// The compiler.
    pub rustc: &'static str,
    /// Crate versions.
    pub crates: BTreeMap<String, String>,
    /// Settings.
    pub settings: RunSettings,
    /// Frame results.
    pub frames: Vec<FrameResult>,
    /// Cold frame results (one frame at a time after a call's idle gap).
    pub cold: Vec<ColdResult>,
    /// Whole-operation results.
    pub routines: Vec<RoutineResult>,
    /// The ids of the measured handshakes.
    pub handshake_ids: HandshakeIds,
    /// The handshake messages' encoded sizes, per suite, without and with ML-KEM-768 (empty
    /// when the routines are skipped).
    pub handshake_messages: Vec<HandshakeMessages>,
    /// Video frames stage by stage.
    #[cfg(feature = "video")]
    pub video: Vec<crate::video::VideoResult>,
    /// Comparisons with ratios.
    pub comparisons: Vec<Comparison>,
    /// The targets, where this run measured them.
    pub targets: Vec<TargetCheck>,
}

/// How `time_unprotect` works, for the record.
pub const UNPROTECT_METHOD: &str = "a ring of fresh protected frames (about 256 KiB, 2..256 frames) \
is filled untimed, then unprotected in order timed; repeated. Counters only increase, so every \
timed unprotect passes the replay check and nothing is copied back.";

/// Runs the plan. `progress` is called before each step with a description.
pub fn run(plan: &Plan, mut progress: impl FnMut(&str)) -> Result<Report> {
    let date = machine::utc_now();
    let mut frames = Vec::new();
    for (suite, size, implementation, op) in plan.frame_cases() {
        progress(&format!(
            "{} {} {} {}",
            implementation.label(),
            op.name(),
            size_label(size),
            suite_name(suite)
        ));
        // A fresh case per operation, so protect's counters never interfere with the ring.
        let mut case = new_case(implementation, suite, size)?;
        let stats = match op {
            Op::Protect => sample(&plan.settings, |n| case.time_protect(n))?,
            Op::Unprotect => sample(&plan.settings, |n| case.time_unprotect(n))?,
        };
        frames.push(frame_result(implementation, suite, op, size, stats));
    }

    let mut cold = Vec::new();
    for (suite, size, implementation, op) in plan.cold_cases() {
        progress(&format!(
            "{} {} {} {} cold",
            implementation.label(),
            op.name(),
            size_label(size),
            suite_name(suite)
        ));
        let mut case = new_case(implementation, suite, size)?;
        let ring = case.ring_len();
        let mut slot = 0;
        let stats = sample_spaced(COLD_FRAMES, COLD_GAP, || match op {
            Op::Protect => case.time_one_protect(),
            Op::Unprotect => {
                let t = case.time_one_unprotect(slot);
                slot = (slot + 1) % ring;
                t
            }
        })?;
        let warm = frames
            .iter()
            .find(|f| {
                f.implementation == implementation
                    && f.bytes == size
                    && f.op == op
                    && f.suite == suite_name(suite)
            })
            .map(|f| f.stats.median_ns);
        cold.push(ColdResult {
            label: implementation.label(),
            suite: suite_name(suite),
            op,
            bytes: size,
            gap_ms: COLD_GAP.as_secs_f64() * 1e3,
            stats,
            warm_median_ns: warm,
            cold_over_warm: warm.filter(|&w| w > 0.0).map(|w| stats.median_ns / w),
        });
    }

    let mut routines = Vec::new();
    for spec in plan.routines() {
        let name = spec.name();
        progress(&name);
        let mut r = spec.build()?;
        routines.push(routine_result(name, sample(&plan.settings, |n| r.run(n))?));
    }
    let handshake_messages = if plan.routines {
        handshake_messages(&plan.suites)?
    } else {
        Vec::new()
    };

    #[cfg(feature = "video")]
    let video = match (plan.video, plan.backends.first()) {
        (true, Some(&backend)) => crate::video::VIDEO_SHAPES
            .iter()
            .map(|shape| crate::video::measure(shape, backend, &plan.settings, &mut progress))
            .collect::<Result<Vec<_>>>()?,
        _ => Vec::new(),
    };

    let comparisons = compare(&frames);
    let targets = check_targets(&frames, &comparisons);
    Ok(Report {
        schema: SCHEMA,
        tool: "sealcall bench",
        date,
        machine: Machine::detect(),
        rustc: machine::RUSTC_VERSION,
        crates: machine::crate_versions(),
        settings: RunSettings {
            mode: plan.mode,
            sampling: plan.settings,
            backends: plan.backends.iter().map(|b| b.name()).collect(),
            suites: plan.suites.iter().map(|&s| suite_name(s)).collect(),
            sizes: plan.sizes.clone(),
            optimised_build: machine::OPTIMISED,
            unprotect_method: UNPROTECT_METHOD,
        },
        frames,
        cold,
        routines,
        handshake_ids: HANDSHAKE_IDS,
        handshake_messages,
        #[cfg(feature = "video")]
        video,
        comparisons,
        targets,
    })
}

fn frame_result(
    implementation: Implementation,
    suite: CipherSuite,
    op: Op,
    bytes: usize,
    stats: Stats,
) -> FrameResult {
    let ns = stats.median_ns.max(f64::MIN_POSITIVE);
    FrameResult {
        implementation,
        label: implementation.label(),
        suite: suite_name(suite),
        op,
        bytes,
        stats,
        gb_per_s: bytes as f64 / ns,
        frames_per_s_per_core: 1e9 / ns,
        audio_budget_percent: ns / AUDIO_BUDGET_NS * 100.0,
    }
}

fn routine_result(name: String, stats: Stats) -> RoutineResult {
    RoutineResult {
        name,
        audio_budget_percent: stats.median_ns / AUDIO_BUDGET_NS * 100.0,
        stats,
    }
}

/// The audio processing chain's cost against its goal (at most 10% of one core's 10 ms per
/// 10 ms frame), from the chain's routine row of this run.
#[cfg(feature = "audio-processing")]
fn render_audio_processing(s: &mut String, report: &Report) {
    use crate::audio::{ApmPart, CHAIN_GOAL_US};
    let name = RoutineSpec::AudioProcessing(ApmPart::Chain).name();
    if let Some(r) = report.routines.iter().find(|r| r.name == name) {
        let us = r.stats.median_ns / 1e3;
        let _ = writeln!(
            s,
            "audio processing, whole chain: {us:.0} us per 10 ms frame = {:.1}% of one core \
             (goal at most {CHAIN_GOAL_US:.0} us = 10%): {}",
            us / 10_000.0 * 100.0,
            if us <= CHAIN_GOAL_US {
                "met"
            } else {
                "not met"
            }
        );
    }
}

/// What ML-KEM-768 adds per handshake (from the two handshake rows of each suite) and the
/// handshake message sizes without and with it.
fn render_post_quantum(s: &mut String, report: &Report) {
    let median = |name: &str| {
        report
            .routines
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.stats.median_ns)
    };
    for suite in &report.settings.suites {
        if let (Some(classic), Some(hybrid)) = (
            median(&handshake_row(suite, KeyAgreement::X25519)),
            median(&handshake_row(suite, KeyAgreement::X25519MlKem768)),
        ) {
            let _ = writeln!(
                s,
                "ML-KEM-768 adds {:.1} us per handshake, {suite} ({:.1} -> {:.1} us, {:+.0}%)",
                (hybrid - classic) / 1e3,
                classic / 1e3,
                hybrid / 1e3,
                (hybrid / classic.max(f64::MIN_POSITIVE) - 1.0) * 100.0
            );
        }
    }
    if report.handshake_messages.is_empty() {
        return;
    }
    let ids = &report.handshake_ids;
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "handshake message sizes, encoded bytes (call id {} B, device ids {} B / {} B)",
        ids.call_id_bytes, ids.caller_device_bytes, ids.callee_device_bytes
    );
    let _ = writeln!(
        s,
        "{:<12} {:<20} {:>7} {:>9} {:>7} {:>8} {:>7}",
        "suite", "key agreement", "Commit", "Response", "Reveal", "Confirm", "total"
    );
    for m in &report.handshake_messages {
        let z = m.sizes;
        let _ = writeln!(
            s,
            "{:<12} {:<20} {:>7} {:>9} {:>7} {:>8} {:>7}",
            m.suite, m.key_agreement, z.commit, z.response, z.reveal, z.confirm, m.total
        );
    }
}

#[cfg(feature = "video")]
fn render_video(s: &mut String, video: &[crate::video::VideoResult]) {
    if video.is_empty() {
        return;
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "video per frame (VP8, AES-128-GCM): median us per stage; e2ee = (protect + unprotect) / all"
    );
    let _ = write!(s, "{:<26}", "stream");
    for st in crate::video::STAGES {
        let _ = write!(s, " {st:>10}");
    }
    let _ = writeln!(s, " {:>9} {:>9} {:>7}", "send", "receive", "e2ee");
    for v in video {
        let _ = write!(
            s,
            "{:<26}",
            format!(
                "{} {}x{}@{} {}B",
                v.shape.name, v.shape.width, v.shape.height, v.shape.fps, v.mean_frame_bytes
            )
        );
        for (_, st) in &v.stages {
            let _ = write!(s, " {:>10.2}", st.median_ns / 1e3);
        }
        let _ = writeln!(
            s,
            " {:>9.1} {:>9.1} {:>6.2}%",
            v.send_ns / 1e3,
            v.receive_ns / 1e3,
            v.e2ee_share_percent
        );
    }
    for v in video {
        let z = &v.sizes;
        let _ = writeln!(
            s,
            "  {}: {} frames in {} s, {} keyframe(s) up to {} B; delta frames min {} / median {} / \
             p95 {} / max {} B",
            v.shape.name,
            z.frames,
            v.shape.sequence_len() / u64::from(v.shape.fps.max(1)),
            z.keyframes,
            z.keyframe_max,
            z.delta_min,
            z.delta_median,
            z.delta_p95,
            z.delta_max
        );
        let t = &v.trace;
        let _ = writeln!(
            s,
            "  {}: on these frames protect {:.2} us (raw AEAD+AAD {:.2} us, {:+.1}%), unprotect \
             {:.2} us ({:.2} us, {:+.1}%); framing goal <= +{}%: {}",
            v.shape.name,
            t.protect.median_ns / 1e3,
            t.floor_protect.median_ns / 1e3,
            t.protect_overhead_percent(),
            t.unprotect.median_ns / 1e3,
            t.floor_unprotect.median_ns / 1e3,
            t.unprotect_overhead_percent(),
            FRAMING_GOAL_LARGE_PERCENT,
            if t.protect_overhead_percent() <= FRAMING_GOAL_LARGE_PERCENT
                && t.unprotect_overhead_percent() <= FRAMING_GOAL_LARGE_PERCENT
            {
                "met"
            } else {
                "not met"
            }
        );
        let _ = writeln!(
            s,
            "  {}: keyframe {} B; sending takes {:.1}% of one core at {} fps; e2ee share goal <= 1%: {}",
            v.shape.name,
            v.keyframe_bytes,
            v.send_core_percent,
            v.shape.fps,
            if v.e2ee_share_percent <= 1.0 {
                "met"
            } else {
                "not met"
            }
        );
    }
}

/// Pairs every Sealcall result with its raw floor (same backend) and, for the fastest Sealcall
/// backend, with the sframe crate and SRTP.
pub fn compare(frames: &[FrameResult]) -> Vec<Comparison> {
    let mut out = Vec::new();
    let find = |suite: &str, op: Op, bytes: usize, i: Implementation| {
        frames
            .iter()
            .find(|f| f.suite == suite && f.op == op && f.bytes == bytes && f.implementation == i)
    };
    let pair = |ours: &FrameResult, other: &FrameResult| Comparison {
        suite: ours.suite,
        op: ours.op,
        bytes: ours.bytes,
        sealcall: ours.label.clone(),
        sealcall_ns: ours.stats.median_ns,
        other: other.label.clone(),
        other_ns: other.stats.median_ns,
        ratio: other.stats.median_ns / ours.stats.median_ns.max(f64::MIN_POSITIVE),
        delta_ns: ours.stats.median_ns - other.stats.median_ns,
    };
    for ours in frames {
        let Implementation::Sealcall(backend) = ours.implementation else {
            continue;
        };
        for floor in [
            Implementation::RawAead(backend),
            Implementation::RawAeadHeaderAad(backend),
        ] {
            if let Some(raw) = find(ours.suite, ours.op, ours.bytes, floor) {
                out.push(pair(ours, raw));
            }
        }
        if fastest_sealcall(frames, ours.suite, ours.op, ours.bytes) == Some(ours) {
            for other in [Implementation::SframeCrate, Implementation::Srtp] {
                if let Some(o) = find(ours.suite, ours.op, ours.bytes, other) {
                    out.push(pair(ours, o));
                }
            }
        }
    }
    out
}

fn fastest_sealcall<'a>(
    frames: &'a [FrameResult],
    suite: &str,
    op: Op,
    bytes: usize,
) -> Option<&'a FrameResult> {
    frames
        .iter()
        .filter(|f| {
            f.suite == suite
                && f.op == op
                && f.bytes == bytes
                && matches!(f.implementation, Implementation::Sealcall(_))
        })
        .min_by(|a, b| a.stats.median_ns.total_cmp(&b.stats.median_ns))
}

/// The checks of a run: the goals (framing over the raw AEAD with the same AAD, every backend,
/// at most [`framing_goal_ns`]) and the reference lines ([`TARGETS_NS`], AES-128-GCM, fastest
/// backend, each size and operation).
pub fn check_targets(frames: &[FrameResult], comparisons: &[Comparison]) -> Vec<TargetCheck> {
    let suite = suite_name(CipherSuite::Aes128GcmSha256);
    let mut out = Vec::new();
    for (bytes, target) in TARGETS_NS {
        for op in Op::ALL {
            if let Some(best) = fastest_sealcall(frames, suite, op, bytes) {
                out.push(TargetCheck {
                    kind: "reference",
                    what: format!("{} median", best.label),
                    bytes,
                    op,
                    target_ns: target,
                    measured_ns: best.stats.median_ns,
                    met: best.stats.median_ns <= target,
                });
            }
        }
    }
    for c in comparisons
        .iter()
        .filter(|c| c.other.starts_with("raw-aead+aad/"))
    {
        let target_ns = framing_goal_ns(c.bytes, c.other_ns);
        out.push(TargetCheck {
            kind: "goal",
            what: format!("{} framing over {} ({})", c.sealcall, c.other, c.suite),
            bytes: c.bytes,
            op: c.op,
            target_ns,
            measured_ns: c.delta_ns,
            met: c.delta_ns <= target_ns,
        });
    }
    out
}

/// The goal and reference sections of the table.
fn render_checks(targets: &[TargetCheck]) -> String {
    let mut s = String::new();
    for (kind, heading) in [
        (
            "goal",
            "goals (framing over the raw AEAD with the same AAD, this run: +15 ns up to 1200 B, +2% above)",
        ),
        (
            "reference",
            "reference lines (absolute medians from another machine; orientation only, not goals)",
        ),
    ] {
        let checks: Vec<&TargetCheck> = targets.iter().filter(|t| t.kind == kind).collect();
        if checks.is_empty() {
            continue;
        }
        let met = checks.iter().filter(|t| t.met).count();
        let _ = writeln!(s);
        let _ = writeln!(s, "{heading}: {met} of {} met", checks.len());
        for t in checks {
            let _ = writeln!(
                s,
                "  {} {} {} {}: {:.1} ns (limit {:.1} ns)",
                if t.met { "met    " } else { "not met" },
                t.what,
                t.op.name(),
                size_label(t.bytes),
                t.measured_ns,
                t.target_ns
            );
        }
    }
    s
}

/// What framing may add (ns) over a raw AEAD call of `raw_ns` for frames of `bytes`: a fixed
/// [`FRAMING_GOAL_SMALL_NS`] up to 1200 B, [`FRAMING_GOAL_LARGE_PERCENT`] of the raw call above.
pub fn framing_goal_ns(bytes: usize, raw_ns: f64) -> f64 {
    if bytes <= 1200 {
        FRAMING_GOAL_SMALL_NS
    } else {
        raw_ns * FRAMING_GOAL_LARGE_PERCENT / 100.0
    }
}

/// The human-readable table of a report.
pub fn render(report: &Report) -> String {
    let mut s = String::new();
    let m = &report.machine;
    let _ = writeln!(
        s,
        "sealcall bench ({}) {} on {} ({} logical CPUs), {}, {}",
        report.settings.mode, report.date, m.cpu_model, m.logical_cpus, m.os, report.rustc
    );
    if !report.settings.optimised_build {
        let _ = writeln!(
            s,
            "WARNING: debug build; run `cargo run --release -p sealcall -- bench`"
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<12} {:<10} {:<22} {:<10} {:>11} {:>11} {:>8} {:>13} {:>9}",
        "suite",
        "size",
        "implementation",
        "op",
        "median ns",
        "mean ns",
        "GB/s",
        "frames/s/core",
        "% 20ms"
    );
    for f in &report.frames {
        let _ = writeln!(
            s,
            "{:<12} {:<10} {:<22} {:<10} {:>11.1} {:>11.1} {:>8.2} {:>13.0} {:>8.4}%",
            f.suite,
            size_label(f.bytes),
            f.label,
            f.op.name(),
            f.stats.median_ns,
            f.stats.mean_ns,
            f.gb_per_s,
            f.frames_per_s_per_core,
            f.audio_budget_percent
        );
    }
    if !report.cold.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "cold: one frame at a time, {} ms idle before each (as in a call)",
            COLD_GAP.as_millis()
        );
        let _ = writeln!(
            s,
            "{:<12} {:<10} {:<22} {:<10} {:>11} {:>11} {:>11} {:>10}",
            "suite", "size", "implementation", "op", "median ns", "max ns", "warm ns", "cold/warm"
        );
        for c in &report.cold {
            let _ = writeln!(
                s,
                "{:<12} {:<10} {:<22} {:<10} {:>11.1} {:>11.1} {:>11} {:>10}",
                c.suite,
                size_label(c.bytes),
                c.label,
                c.op.name(),
                c.stats.median_ns,
                c.stats.max_ns,
                c.warm_median_ns
                    .map_or("-".to_owned(), |w| format!("{w:.1}")),
                c.cold_over_warm
                    .map_or("-".to_owned(), |r| format!("{r:.1}x")),
            );
        }
    }
    if !report.routines.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{:<40} {:>12} {:>12} {:>9}",
            "routine", "median us", "mean us", "% 20ms"
        );
        for r in &report.routines {
            let _ = writeln!(
                s,
                "{:<40} {:>12.2} {:>12.2} {:>8.3}%",
                r.name,
                r.stats.median_ns / 1e3,
                r.stats.mean_ns / 1e3,
                r.audio_budget_percent
            );
        }
    }
    render_post_quantum(&mut s, report);
    #[cfg(feature = "audio-processing")]
    render_audio_processing(&mut s, report);
    #[cfg(feature = "video")]
    render_video(&mut s, &report.video);
    if !report.comparisons.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{:<12} {:<10} {:<10} {:<20} {:>10} {:<22} {:>10} {:>7} {:>9}",
            "suite", "size", "op", "sealcall", "ns", "vs", "ns", "ratio", "delta ns"
        );
        for c in &report.comparisons {
            let _ = writeln!(
                s,
                "{:<12} {:<10} {:<10} {:<20} {:>10.1} {:<22} {:>10.1} {:>6.2}x {:>9.1}",
                c.suite,
                size_label(c.bytes),
                c.op.name(),
                c.sealcall,
                c.sealcall_ns,
                c.other,
                c.other_ns,
                c.ratio,
                c.delta_ns
            );
        }
        let _ = writeln!(
            s,
            "ratio = other / sealcall (above 1: Sealcall faster); delta = sealcall - other"
        );
    }
    s.push_str(&render_checks(&report.targets));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(implementation: Implementation, bytes: usize, median_ns: f64) -> FrameResult {
        let stats = Stats {
            median_ns,
            mean_ns: median_ns,
            min_ns: median_ns,
            max_ns: median_ns,
            samples: 1,
            iterations_per_sample: 1,
        };
        frame_result(
            implementation,
            CipherSuite::Aes128GcmSha256,
            Op::Protect,
            bytes,
            stats,
        )
    }

    #[test]
    fn goals_come_from_the_same_runs_ratios_and_references_are_not_goals() {
        assert_eq!(framing_goal_ns(64, 100.0), 15.0);
        assert_eq!(framing_goal_ns(1200, 500.0), 15.0);
        assert_eq!(framing_goal_ns(16 * 1024, 5000.0), 100.0);
        let b = AeadBackend::RustCrypto;
        let frames = vec![
            result(Implementation::Sealcall(b), 64, 210.0),
            result(Implementation::RawAead(b), 64, 150.0),
            result(Implementation::RawAeadHeaderAad(b), 64, 200.0),
            result(Implementation::Sealcall(b), 16 * 1024, 5150.0),
            result(Implementation::RawAead(b), 16 * 1024, 4000.0),
            result(Implementation::RawAeadHeaderAad(b), 16 * 1024, 5000.0),
        ];
        let comparisons = compare(&frames);
        let checks = check_targets(&frames, &comparisons);
        let goals: Vec<&TargetCheck> = checks.iter().filter(|t| t.kind == "goal").collect();
        // Against the same-AAD floor only: +10 ns at 64 B (met), +3% at 16 KiB (not met).
        assert_eq!(goals.len(), 2, "{goals:?}");
        assert!(goals[0].met && goals[0].measured_ns == 10.0);
        assert!(!goals[1].met && goals[1].target_ns == 100.0);
        assert!(checks.iter().any(|t| t.kind == "reference"));
        let table = render_checks(&checks);
        assert!(
            table.contains("goals (framing over the raw AEAD with the same AAD"),
            "{table}"
        );
        assert!(table.contains("1 of 2 met"), "{table}");
        assert!(table.contains("orientation only"), "{table}");
    }

    fn plan(suites: Vec<CipherSuite>, routines: bool) -> Plan {
        Plan {
            backends: vec![AeadBackend::RustCrypto],
            suites,
            sizes: vec![64],
            comparisons: false,
            routines,
            video: false,
            cold: false,
            settings: Settings {
                warmup: Duration::from_millis(1),
                samples: 2,
                sample_time: Duration::from_millis(1),
            },
            mode: "quick",
        }
    }

    #[test]
    fn the_routines_cover_the_handshake_with_and_without_ml_kem_and_ml_kem_itself() {
        let both = vec![CipherSuite::Aes128GcmSha256, CipherSuite::Aes256GcmSha512];
        let names = plan(both, true).routine_names();
        let expected = [
            "handshake/AES-128-GCM/x25519",
            "handshake/AES-128-GCM/x25519+ml-kem-768",
            "rekey/aes-gcm/AES-128-GCM",
            "handshake/AES-256-GCM/x25519",
            "handshake/AES-256-GCM/x25519+ml-kem-768",
            "rekey/aes-gcm/AES-256-GCM",
            "ml-kem-768/keygen",
            "ml-kem-768/encapsulate",
            "ml-kem-768/decapsulate",
        ];
        assert_eq!(&names[..expected.len()], expected, "{names:?}");
        let opus = if cfg!(feature = "opus") { 2 } else { 0 };
        let apm = if cfg!(feature = "audio-processing") {
            5
        } else {
            0
        };
        assert_eq!(names.len(), expected.len() + opus + apm, "{names:?}");
        #[cfg(feature = "audio-processing")]
        assert_eq!(
            &names[names.len() - 5..],
            [
                "audio-processing/aec/10ms",
                "audio-processing/ns/10ms",
                "audio-processing/agc/10ms",
                "audio-processing/hpf/10ms",
                "audio-processing/chain/10ms"
            ]
        );
        assert!(
            plan(vec![CipherSuite::Aes128GcmSha256], false)
                .routines()
                .is_empty()
        );
    }

    #[test]
    fn a_run_measures_every_routine_and_the_messages_ml_kem_enlarges() {
        let plan = plan(vec![CipherSuite::Aes128GcmSha256], true);
        let report = run(&plan, |_| {}).unwrap();
        let names: Vec<String> = report.routines.iter().map(|r| r.name.clone()).collect();
        assert_eq!(names, plan.routine_names());
        assert!(report.routines.iter().all(|r| r.stats.median_ns > 0.0));
        #[cfg(feature = "audio-processing")]
        {
            let table = render(&report);
            assert!(
                table.contains("audio processing, whole chain:")
                    && table.contains("per 10 ms frame")
                    && (table.contains("10%): met") || table.contains("10%): not met")),
                "{table}"
            );
        }

        let [classic, hybrid] = &report.handshake_messages[..] else {
            panic!("{:?}", report.handshake_messages)
        };
        assert_eq!(classic.key_agreement, "x25519");
        assert_eq!(hybrid.key_agreement, "x25519+ml-kem-768");
        let (c, h) = (classic.sizes, hybrid.sizes);
        // The encapsulation key rides in the Commit, the ciphertext in the Response.
        assert_eq!(
            h.commit - c.commit,
            sealcall_e2ee::KEM_ENCAPSULATION_KEY_LEN
        );
        assert_eq!(h.response - c.response, sealcall_e2ee::KEM_CIPHERTEXT_LEN);
        assert_eq!((h.reveal, h.confirm), (c.reveal, c.confirm));
        assert_eq!(hybrid.total, h.commit + h.response + h.reveal + h.confirm);

        let table = render(&report);
        assert!(table.contains("ML-KEM-768 adds"), "{table}");
        assert!(table.contains("handshake message sizes"), "{table}");
        let json: serde_json::Value = serde_json::to_value(&report).unwrap();
        assert_eq!(json["schema"], 4);
        assert_eq!(
            json["handshake_messages"][1]["commit"],
            serde_json::json!(h.commit)
        );
        assert_eq!(json["handshake_ids"]["call_id_bytes"], BENCH_CALL_ID.len());
        for key in ["frames", "cold", "routines", "comparisons", "targets"] {
            assert!(json[key].is_array(), "{key}");
        }

        let skipped = run(
            &Plan {
                routines: false,
                ..plan
            },
            |_| {},
        )
        .unwrap();
        assert!(skipped.routines.is_empty() && skipped.handshake_messages.is_empty());
        assert!(!render(&skipped).contains("handshake message sizes"));
    }
}
