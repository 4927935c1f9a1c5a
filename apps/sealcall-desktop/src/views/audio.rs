//! The input and output choosers, in Settings and in the call view, and the audio processing
//! choice (Settings > Audio). A change goes to the engine
//! at once: the call in progress switches at the next frame, and later calls use it too.

use egui::Ui;
use sealcall_engine::AudioRoute;
use sealcall_engine::media::device::{DeviceInfo, DeviceList};
use sealcall_engine::media::{AudioProcessingSetting, ProcessingParts};

use crate::app::labels;
use crate::bridge::Bridge;

fn input_choices(devices: &DeviceList) -> Vec<(String, String)> {
    let mut out = vec![(
        "device".to_owned(),
        default_device_name(&devices.inputs, "Microphone"),
    )];
    out.extend(
        devices
            .inputs
            .iter()
            .map(|d| (format!("device:{}", d.id), d.name.clone())),
    );
    out.push(("tone:440".to_owned(), "Test tone (440 Hz)".to_owned()));
    out.push(("silence".to_owned(), "Silence".to_owned()));
    out
}

fn output_choices(devices: &DeviceList) -> Vec<(String, String)> {
    let mut out = vec![(
        "device".to_owned(),
        default_device_name(&devices.outputs, "Speaker"),
    )];
    out.extend(
        devices
            .outputs
            .iter()
            .map(|d| (format!("device:{}", d.id), d.name.clone())),
    );
    out.push(("null".to_owned(), "No output".to_owned()));
    out
}

fn default_device_name(list: &[DeviceInfo], kind: &str) -> String {
    match list.first() {
        Some(d) => format!("{kind}: {}", d.name),
        None => format!("{kind} (none found)"),
    }
}

/// Input and output choosers (combo boxes labelled "Input device" and "Output device"), with
/// the no-device notes; `fallback` is what the engine reported (no capture, no playout device).
pub fn picker(
    ui: &mut Ui,
    id: &str,
    bridge: &mut Bridge,
    devices: &DeviceList,
    fallback: (bool, bool),
) -> Result<(), String> {
    let (input, output) = match &bridge.settings().audio {
        AudioRoute::Specs { input, output } => (input.clone(), output.clone()),
        AudioRoute::Echo | AudioRoute::Custom(_) => ("device".to_owned(), "device".to_owned()),
    };
    let shown = |choices: &[(String, String)], current: &str| {
        choices
            .iter()
            .find(|(spec, _)| spec == current)
            .map(|(_, name)| name.clone())
            .unwrap_or_else(|| current.to_owned())
    };
    let (mut new_input, mut new_output) = (input.clone(), output.clone());
    let inputs = input_choices(devices);
    let outputs = output_choices(devices);
    let input_fallback = input == "device" && (devices.inputs.is_empty() || fallback.0);
    let output_fallback = output == "device" && (devices.outputs.is_empty() || fallback.1);
    ui.horizontal(|ui| {
        egui::ComboBox::new(format!("{id}-input"), labels::INPUT_DEVICE)
            .selected_text(shown(&inputs, &input))
            .show_ui(ui, |ui| {
                for (spec, name) in &inputs {
                    ui.selectable_value(&mut new_input, spec.clone(), name);
                }
            });
        ui.separator();
        egui::ComboBox::new(format!("{id}-output"), labels::OUTPUT_DEVICE)
            .selected_text(shown(&outputs, &output))
            .show_ui(ui, |ui| {
                for (spec, name) in &outputs {
                    ui.selectable_value(&mut new_output, spec.clone(), name);
                }
            });
    });
    if input_fallback {
        ui.label(labels::NO_AUDIO_DEVICE);
    }
    if output_fallback {
        ui.label("no audio device: received audio is discarded");
    }
    if (&new_input, &new_output) != (&input, &output) {
        bridge.set_audio_route(AudioRoute::Specs {
            input: new_input,
            output: new_output,
        })?;
    }
    Ok(())
}

/// "Audio processing" (Settings > Audio): automatic (on for microphones), always on with the
/// parts ticked, or off. Returns the new setting when the user changed it.
pub fn processing(ui: &mut Ui, current: AudioProcessingSetting) -> Option<AudioProcessingSetting> {
    ui.label("Audio processing on the microphone");
    let mut choice = current;
    ui.horizontal(|ui| {
        ui.radio_value(
            &mut choice,
            AudioProcessingSetting::Auto,
            labels::PROCESSING_AUTO,
        );
        let on = match current {
            AudioProcessingSetting::On(parts) => AudioProcessingSetting::On(parts),
            _ => AudioProcessingSetting::On(ProcessingParts::ALL),
        };
        if ui
            .radio(
                matches!(current, AudioProcessingSetting::On(_)),
                labels::PROCESSING_ON,
            )
            .clicked()
        {
            choice = on;
        }
        ui.radio_value(
            &mut choice,
            AudioProcessingSetting::Off,
            labels::PROCESSING_OFF,
        );
    });
    // The parts: what runs for a microphone (automatic), or what is switched on.
    let mut parts = match choice {
        AudioProcessingSetting::On(parts) => parts,
        other => other.resolve(true),
    };
    let editable = matches!(choice, AudioProcessingSetting::On(_));
    ui.add_enabled_ui(editable, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.checkbox(&mut parts.echo_cancellation, labels::ECHO_CANCELLATION);
            ui.checkbox(&mut parts.noise_suppression, labels::NOISE_SUPPRESSION);
            ui.checkbox(&mut parts.gain_control, labels::GAIN_CONTROL);
            ui.checkbox(&mut parts.high_pass, labels::HIGH_PASS);
        });
    });
    if editable {
        choice = if parts.any() {
            AudioProcessingSetting::On(parts)
        } else {
            AudioProcessingSetting::Off
        };
    }
    ui.small(
        "Echo cancellation keeps the other person from hearing themselves through your \
         speaker; noise suppression takes out fans and traffic; gain control evens out a quiet \
         or loud microphone. The statistics of a call show how much echo is removed.",
    );
    (choice != current).then_some(choice)
}
