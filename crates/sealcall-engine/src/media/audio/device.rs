//! Audio devices through `cpal`: capture ([`DeviceSource`]) and playout ([`DeviceSink`]).
//!
//! Machines without audio hardware (servers, CI) are normal. Enumeration then returns empty
//! lists, opening a device returns [`EngineError::NoAudioDevice`], and [`pick_input`] /
//! [`pick_output`] fall back to a test tone / discarding and return a message saying so.
//!
//! The ALSA `null` device is never listed nor opened: it runs unpaced (a busy loop). Setting the
//! environment variable `SEALCALL_NO_AUDIO_DEVICES` (to anything but `0` or empty) makes the
//! engine behave as if there were no devices at all.
//!
//! The device callback thread and the engine exchange samples through a bounded queue (a
//! `Mutex<VecDeque<f32>>` with capacity reserved up front, held only for a copy). Conversion to
//! and from the engine's 48 kHz mono `i16`: any of cpal's integer or float sample formats,
//! channel downmix (average) on capture and upmix (copy) on playout, and linear resampling when
//! the device does not run at 48 kHz (48 kHz is requested when the device supports it).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat, SizedSample};

use super::resample::{LinearResampler, f32_to_i16, i16_to_f32};
use super::sink::{AudioSink, NullSink, OutputSpec};
use super::source::{AudioSource, InputSpec, ToneSource};
use super::{FRAME_SAMPLES, Frame, SAMPLE_RATE};
use crate::{EngineError, Result};

/// Environment variable that disables all audio devices when set (not to `0` or empty).
pub const NO_DEVICES_ENV: &str = "SEALCALL_NO_AUDIO_DEVICES";
/// Samples (at the device rate, mono) buffered between the engine and the device: 200 ms at
/// 48 kHz.
const QUEUE_SECONDS_DIV: u32 = 5;
/// How long a read or write waits for the device before giving up on this frame.
const DEVICE_WAIT: Duration = Duration::from_millis(200);

/// One audio device as listed by [`AudioDevices::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Backend identifier (e.g. ALSA `hw:CARD=PCH,DEV=0`).
    pub id: String,
    /// Human-readable name.
    pub name: String,
}

/// The audio devices present, by direction. Empty lists mean "no hardware", not an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceList {
    /// The audio host (backend) name, e.g. `ALSA`.
    pub host: String,
    /// Capture devices.
    pub inputs: Vec<DeviceInfo>,
    /// Playout devices.
    pub outputs: Vec<DeviceInfo>,
    /// Why the lists are empty, when known (enumeration failed or devices are disabled).
    pub note: Option<String>,
}

impl DeviceList {
    /// Whether there is neither an input nor an output device.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty() && self.outputs.is_empty()
    }
}

/// Entry points for device enumeration and opening.
#[derive(Debug, Clone, Copy)]
pub struct AudioDevices;

fn devices_disabled() -> bool {
    std::env::var_os(NO_DEVICES_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// The ALSA `null` PCM (and its variants) discards/produces samples without pacing.
fn is_null_device(id: &str) -> bool {
    id == "null" || id.starts_with("null:")
}

fn device_id(device: &cpal::Device) -> String {
    device.id().map(|id| id.id().to_owned()).unwrap_or_default()
}

fn device_name(device: &cpal::Device) -> String {
    match device.description() {
        Ok(d) => d.name().to_owned(),
        Err(_) => device_id(device),
    }
}

impl AudioDevices {
    /// Lists capture and playout devices of the default host, without opening any. Never fails
    /// for lack of hardware: enumeration errors give empty lists with a [`DeviceList::note`].
    pub fn list() -> Result<DeviceList> {
        let host = cpal::default_host();
        let mut list = DeviceList {
            host: host.id().name().to_owned(),
            ..DeviceList::default()
        };
        if devices_disabled() {
            list.note = Some(format!("audio devices disabled by {NO_DEVICES_ENV}"));
            return Ok(list);
        }
        let devices = match host.devices() {
            Ok(d) => d,
            Err(e) => {
                list.note = Some(format!("cannot enumerate audio devices: {e}"));
                return Ok(list);
            }
        };
        for device in devices {
            let id = device_id(&device);
            if is_null_device(&id) {
                continue;
            }
            let info = DeviceInfo {
                name: device_name(&device),
                id,
            };
            if device.supports_input() {
                list.inputs.push(info.clone());
            }
            if device.supports_output() {
                list.outputs.push(info);
            }
        }
        if list.is_empty() {
            list.note = Some("no audio hardware found".into());
        }
        Ok(list)
    }

    /// Opens the default capture device, or [`EngineError::NoAudioDevice`] when there is none.
    pub fn open_default_input() -> Result<DeviceSource> {
        let device = Self::usable_default(true)?;
        DeviceSource::open(&device)
    }

    /// Opens the default playout device, or [`EngineError::NoAudioDevice`] when there is none.
    pub fn open_default_output() -> Result<DeviceSink> {
        let device = Self::usable_default(false)?;
        DeviceSink::open(&device)
    }

    /// Opens the capture device with this id (as [`DeviceInfo::id`] lists it).
    pub fn open_input(id: &str) -> Result<DeviceSource> {
        DeviceSource::open(&Self::by_id(id, true)?)
    }

    /// Opens the playout device with this id (as [`DeviceInfo::id`] lists it).
    pub fn open_output(id: &str) -> Result<DeviceSink> {
        DeviceSink::open(&Self::by_id(id, false)?)
    }

    fn by_id(id: &str, input: bool) -> Result<cpal::Device> {
        let what = if input { "capture" } else { "playout" };
        if devices_disabled() {
            return Err(EngineError::NoAudioDevice(format!(
                "audio devices disabled by {NO_DEVICES_ENV}"
            )));
        }
        if is_null_device(id) {
            return Err(EngineError::NoAudioDevice(format!(
                "{id:?} is the null device"
            )));
        }
        let devices = cpal::default_host().devices().map_err(|e| {
            EngineError::NoAudioDevice(format!("cannot enumerate audio devices: {e}"))
        })?;
        devices
            .into_iter()
            .find(|d| {
                device_id(d) == id
                    && if input {
                        d.supports_input()
                    } else {
                        d.supports_output()
                    }
            })
            .ok_or_else(|| EngineError::NoAudioDevice(format!("no {what} device {id:?}")))
    }

    fn usable_default(input: bool) -> Result<cpal::Device> {
        let what = if input { "capture" } else { "playout" };
        if devices_disabled() {
            return Err(EngineError::NoAudioDevice(format!(
                "audio devices disabled by {NO_DEVICES_ENV}"
            )));
        }
        // Only trust the default device when the host lists a real device in this direction:
        // on a machine without a sound card ALSA still offers `null` (an unpaced busy loop).
        let list = Self::list()?;
        let listed = if input { &list.inputs } else { &list.outputs };
        if listed.is_empty() {
            return Err(EngineError::NoAudioDevice(format!(
                "no {what} device ({})",
                list.note.as_deref().unwrap_or("none listed")
            )));
        }
        let host = cpal::default_host();
        let device = if input {
            host.default_input_device()
        } else {
            host.default_output_device()
        };
        match device {
            Some(d) if !is_null_device(&device_id(&d)) => Ok(d),
            Some(_) => Err(EngineError::NoAudioDevice(format!(
                "the default {what} device is the null device"
            ))),
            None => Err(EngineError::NoAudioDevice(format!(
                "no default {what} device"
            ))),
        }
    }
}

fn device_err(what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::AudioDevice(format!("{what}: {e}"))
}

/// Picks a device configuration: 48 kHz in f32 or i16 when supported, else the default.
fn choose_config(device: &cpal::Device, input: bool) -> Result<cpal::SupportedStreamConfig> {
    let ranges: Vec<_> = if input {
        device.supported_input_configs().map(Iterator::collect)
    } else {
        device.supported_output_configs().map(Iterator::collect)
    }
    .unwrap_or_default();
    for preferred in [SampleFormat::F32, SampleFormat::I16] {
        for r in &ranges {
            if r.sample_format() == preferred
                && r.channels() > 0
                && let Some(c) = (*r).try_with_sample_rate(SAMPLE_RATE)
            {
                return Ok(c);
            }
        }
    }
    let default = if input {
        device.default_input_config()
    } else {
        device.default_output_config()
    };
    default.map_err(|e| device_err("no usable configuration", e))
}

/// Samples shared between the engine and the device callback.
#[derive(Debug)]
struct Queue {
    samples: VecDeque<f32>,
    capacity: usize,
    /// Samples dropped because the queue was full.
    overruns: u64,
    /// Samples missing when the consumer needed them.
    underruns: u64,
    error: Option<String>,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Shared {
    fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            queue: Mutex::new(Queue {
                samples: VecDeque::with_capacity(capacity),
                capacity,
                overruns: 0,
                underruns: 0,
                error: None,
            }),
            ready: Condvar::new(),
        })
    }

    /// Locks the queue, recovering from a poisoned lock (the data is plain samples).
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn report_error(&self, e: cpal::Error) {
        self.lock().error = Some(e.to_string());
        self.ready.notify_all();
    }
}

/// Device-side statistics of a [`DeviceSource`] or [`DeviceSink`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// Samples dropped because the queue between engine and device was full.
    pub overruns: u64,
    /// Samples replaced by silence because the queue was empty.
    pub underruns: u64,
}

/// Captures from an audio device: 48 kHz mono frames, paced by the device.
pub struct DeviceSource {
    _stream: cpal::Stream,
    shared: Arc<Shared>,
    resampler: LinearResampler,
    pending: VecDeque<f32>,
    rate: u32,
    description: String,
}

impl std::fmt::Debug for DeviceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSource")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

fn build_input<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    shared: &Arc<Shared>,
) -> Result<cpal::Stream>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let data_shared = Arc::clone(shared);
    let err_shared = Arc::clone(shared);
    device
        .build_input_stream::<T, _, _>(
            config,
            move |data: &[T], _| {
                let mut q = data_shared.lock();
                for frame in data.chunks(channels) {
                    let sum: f32 = frame.iter().map(|&s| s.to_sample::<f32>()).sum();
                    let x = sum / frame.len().max(1) as f32;
                    if q.samples.len() >= q.capacity {
                        q.samples.pop_front();
                        q.overruns += 1;
                    }
                    q.samples.push_back(x);
                }
                drop(q);
                data_shared.ready.notify_all();
            },
            move |e| err_shared.report_error(e),
            Some(Duration::from_secs(2)),
        )
        .map_err(|e| device_err("opening capture stream", e))
}

fn build_output<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    shared: &Arc<Shared>,
) -> Result<cpal::Stream>
where
    T: SizedSample + FromSample<f32> + Send + 'static,
{
    let channels = usize::from(config.channels.max(1));
    let data_shared = Arc::clone(shared);
    let err_shared = Arc::clone(shared);
    device
        .build_output_stream::<T, _, _>(
            config,
            move |data: &mut [T], _| {
                let mut q = data_shared.lock();
                for frame in data.chunks_mut(channels) {
                    let x = match q.samples.pop_front() {
                        Some(x) => x,
                        None => {
                            q.underruns += 1;
                            0.0
                        }
                    };
                    let v: T = x.to_sample();
                    frame.fill(v);
                }
                drop(q);
                data_shared.ready.notify_all();
            },
            move |e| err_shared.report_error(e),
            Some(Duration::from_secs(2)),
        )
        .map_err(|e| device_err("opening playout stream", e))
}

macro_rules! dispatch_format {
    ($fmt:expr, $build:ident, $($args:expr),*) => {
        match $fmt {
            SampleFormat::I8 => $build::<i8>($($args),*),
            SampleFormat::I16 => $build::<i16>($($args),*),
            SampleFormat::I32 => $build::<i32>($($args),*),
            SampleFormat::I64 => $build::<i64>($($args),*),
            SampleFormat::U8 => $build::<u8>($($args),*),
            SampleFormat::U16 => $build::<u16>($($args),*),
            SampleFormat::U32 => $build::<u32>($($args),*),
            SampleFormat::U64 => $build::<u64>($($args),*),
            SampleFormat::F32 => $build::<f32>($($args),*),
            SampleFormat::F64 => $build::<f64>($($args),*),
            other => Err(EngineError::AudioDevice(format!(
                "unsupported device sample format {other}"
            ))),
        }
    };
}

impl DeviceSource {
    /// Opens `device` for capture and starts it.
    pub fn open(device: &cpal::Device) -> Result<Self> {
        let supported = choose_config(device, true)?;
        let config = supported.config();
        let rate = config.sample_rate.max(1);
        let shared = Shared::new((rate / QUEUE_SECONDS_DIV) as usize);
        let stream = dispatch_format!(
            supported.sample_format(),
            build_input,
            device,
            config,
            &shared
        )?;
        stream
            .play()
            .map_err(|e| device_err("starting capture", e))?;
        let description = format!(
            "device {} ({} Hz, {} ch, {})",
            device_name(device),
            rate,
            config.channels,
            supported.sample_format()
        );
        Ok(Self {
            _stream: stream,
            shared,
            resampler: LinearResampler::new(rate, SAMPLE_RATE),
            pending: VecDeque::with_capacity(2 * FRAME_SAMPLES),
            rate,
            description,
        })
    }

    /// Overruns and underruns so far.
    pub fn device_stats(&self) -> DeviceStats {
        let q = self.shared.lock();
        DeviceStats {
            overruns: q.overruns,
            underruns: q.underruns,
        }
    }
}

impl AudioSource for DeviceSource {
    /// Waits (up to 200 ms) for the device to capture a frame; a device that stalls yields
    /// silence for the missing part (counted as underruns). A failed device is
    /// [`EngineError::AudioDevice`].
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool> {
        let deadline = Instant::now() + DEVICE_WAIT;
        let mut q = self.shared.lock();
        while self.pending.len() < FRAME_SAMPLES {
            if let Some(e) = &q.error {
                return Err(EngineError::AudioDevice(format!("capture failed: {e}")));
            }
            if let Some(x) = q.samples.pop_front() {
                let pending = &mut self.pending;
                self.resampler.push(x, |y| pending.push_back(y));
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                q.underruns += (FRAME_SAMPLES - self.pending.len()) as u64;
                break;
            }
            q = self
                .shared
                .ready
                .wait_timeout(q, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        drop(q);
        for s in out.iter_mut() {
            *s = self.pending.pop_front().map_or(0, f32_to_i16);
        }
        Ok(true)
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn is_device(&self) -> bool {
        true
    }

    /// What the device captured and the engine has not read yet, plus the part of a frame
    /// already converted to 48 kHz.
    fn buffered(&self) -> Option<Duration> {
        let queued = self.shared.lock().samples.len();
        Some(
            samples_duration(queued, self.rate) + samples_duration(self.pending.len(), SAMPLE_RATE),
        )
    }
}

/// How long `n` samples at `rate` Hz last.
fn samples_duration(n: usize, rate: u32) -> Duration {
    Duration::from_micros((n as u64).saturating_mul(1_000_000) / u64::from(rate.max(1)))
}

/// Plays out on an audio device. [`write_frame`](AudioSink::write_frame) blocks while the
/// device queue (200 ms) is full, so writing is paced by the device.
pub struct DeviceSink {
    stream: Option<cpal::Stream>,
    shared: Arc<Shared>,
    resampler: LinearResampler,
    scratch: Vec<f32>,
    rate: u32,
    description: String,
}

impl std::fmt::Debug for DeviceSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSink")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

impl DeviceSink {
    /// Opens `device` for playout and starts it.
    pub fn open(device: &cpal::Device) -> Result<Self> {
        let supported = choose_config(device, false)?;
        let config = supported.config();
        let rate = config.sample_rate.max(1);
        let shared = Shared::new((rate / QUEUE_SECONDS_DIV) as usize);
        let stream = dispatch_format!(
            supported.sample_format(),
            build_output,
            device,
            config,
            &shared
        )?;
        stream
            .play()
            .map_err(|e| device_err("starting playout", e))?;
        let description = format!(
            "device {} ({} Hz, {} ch, {})",
            device_name(device),
            rate,
            config.channels,
            supported.sample_format()
        );
        // Room for one frame resampled up to 384 kHz.
        let scratch_len = FRAME_SAMPLES * (rate as usize / SAMPLE_RATE as usize + 2);
        Ok(Self {
            stream: Some(stream),
            shared,
            resampler: LinearResampler::new(SAMPLE_RATE, rate),
            scratch: Vec::with_capacity(scratch_len),
            rate,
            description,
        })
    }

    /// Overruns and underruns so far.
    pub fn device_stats(&self) -> DeviceStats {
        let q = self.shared.lock();
        DeviceStats {
            overruns: q.overruns,
            underruns: q.underruns,
        }
    }
}

impl AudioSink for DeviceSink {
    fn write_frame(&mut self, pcm: &Frame) -> Result<()> {
        if self.stream.is_none() {
            return Err(EngineError::AudioDevice("playout already finished".into()));
        }
        self.scratch.clear();
        for &s in pcm {
            let scratch = &mut self.scratch;
            self.resampler.push(i16_to_f32(s), |y| scratch.push(y));
        }
        let deadline = Instant::now() + DEVICE_WAIT;
        let mut q = self.shared.lock();
        loop {
            if let Some(e) = &q.error {
                return Err(EngineError::AudioDevice(format!("playout failed: {e}")));
            }
            let free = q.capacity.saturating_sub(q.samples.len());
            let now = Instant::now();
            if free >= self.scratch.len() || now >= deadline {
                break;
            }
            q = self
                .shared
                .ready
                .wait_timeout(q, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        for &y in &self.scratch {
            if q.samples.len() >= q.capacity {
                q.samples.pop_front();
                q.overruns += 1;
            }
            q.samples.push_back(y);
        }
        Ok(())
    }

    /// Stops the device (what is still queued is not played).
    fn finish(&mut self) -> Result<()> {
        self.stream = None;
        Ok(())
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    /// What is queued for the device and not yet played.
    fn buffered(&self) -> Option<Duration> {
        Some(samples_duration(
            self.shared.lock().samples.len(),
            self.rate,
        ))
    }
}

/// The input chosen by [`pick_input`].
pub struct PickedInput {
    /// The source to read.
    pub source: Box<dyn AudioSource + Send>,
    /// What it is, e.g. `"tone 440 Hz (amplitude 0.3)"`.
    pub description: String,
    /// Set when a fallback happened, e.g. `"no audio device (…): using test tone 440 Hz"`;
    /// show it to the user.
    pub notice: Option<String>,
}

impl std::fmt::Debug for PickedInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PickedInput")
            .field("description", &self.description)
            .field("notice", &self.notice)
            .finish_non_exhaustive()
    }
}

/// The output chosen by [`pick_output`].
pub struct PickedOutput {
    /// The sink to write.
    pub sink: Box<dyn AudioSink + Send>,
    /// What it is, e.g. `"file out.wav (48000 Hz mono 16-bit)"`.
    pub description: String,
    /// Set when a fallback happened; show it to the user.
    pub notice: Option<String>,
}

impl std::fmt::Debug for PickedOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PickedOutput")
            .field("description", &self.description)
            .field("notice", &self.notice)
            .finish_non_exhaustive()
    }
}

/// Frequency of the fallback test tone, in Hz.
pub const FALLBACK_TONE_HZ: f64 = 440.0;

/// Chooses the input for `--input SPEC`: `None` or `device` means the default capture device,
/// falling back to a 440 Hz test tone (with a notice) when there is no usable device. Other
/// specs (`tone:…`, `silence`, `FILE.wav`) are opened as given; a bad spec or unreadable file
/// is an error, not a fallback.
pub fn pick_input(spec: Option<&str>) -> Result<PickedInput> {
    pick_input_with(spec, !devices_disabled())
}

/// [`pick_input`], with devices allowed or not (`false` behaves as on a machine with no sound
/// card).
pub fn pick_input_with(spec: Option<&str>, allow_devices: bool) -> Result<PickedInput> {
    let spec = match spec {
        None => InputSpec::Device,
        Some(s) => InputSpec::parse(s)?,
    };
    if !matches!(spec, InputSpec::Device | InputSpec::NamedDevice(_)) {
        let source = spec.open()?;
        return Ok(PickedInput {
            description: source.describe(),
            source,
            notice: None,
        });
    }
    let opened = if allow_devices {
        match &spec {
            InputSpec::NamedDevice(id) => AudioDevices::open_input(id),
            _ => AudioDevices::open_default_input(),
        }
    } else {
        Err(EngineError::NoAudioDevice("audio devices disabled".into()))
    };
    match opened {
        Ok(d) => Ok(PickedInput {
            description: d.describe(),
            source: Box::new(d),
            notice: None,
        }),
        Err(e) => {
            let tone = ToneSource::new(FALLBACK_TONE_HZ, ToneSource::DEFAULT_AMPLITUDE)?;
            Ok(PickedInput {
                description: tone.describe(),
                source: Box::new(tone),
                notice: Some(format!(
                    "no audio device ({e}): using test tone {FALLBACK_TONE_HZ} Hz"
                )),
            })
        }
    }
}

/// Chooses the output for `--output SPEC`: `None` or `device` means the default playout
/// device, falling back to discarding the audio (with a notice) when there is none. `null` and
/// `FILE.wav` are opened as given; a bad spec or an uncreatable file is an error.
pub fn pick_output(spec: Option<&str>) -> Result<PickedOutput> {
    pick_output_with(spec, !devices_disabled())
}

/// [`pick_output`], with devices allowed or not.
pub fn pick_output_with(spec: Option<&str>, allow_devices: bool) -> Result<PickedOutput> {
    let spec = match spec {
        None => OutputSpec::Device,
        Some(s) => OutputSpec::parse(s)?,
    };
    if !matches!(spec, OutputSpec::Device | OutputSpec::NamedDevice(_)) {
        let sink = spec.open()?;
        return Ok(PickedOutput {
            description: sink.describe(),
            sink,
            notice: None,
        });
    }
    let opened = if allow_devices {
        match &spec {
            OutputSpec::NamedDevice(id) => AudioDevices::open_output(id),
            _ => AudioDevices::open_default_output(),
        }
    } else {
        Err(EngineError::NoAudioDevice("audio devices disabled".into()))
    };
    match opened {
        Ok(d) => Ok(PickedOutput {
            description: d.describe(),
            sink: Box::new(d),
            notice: None,
        }),
        Err(e) => Ok(PickedOutput {
            description: NullSink.describe(),
            sink: Box::new(NullSink),
            notice: Some(format!(
                "no audio device ({e}): received audio is discarded (use --output FILE.wav to record it)"
            )),
        }),
    }
}
