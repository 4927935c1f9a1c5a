//! Device smoke test: enumeration only. It must pass on machines without a sound card, and it
//! never opens a device (the ALSA `null` device would busy-loop).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sealcall_engine::media::AudioDevices;

#[test]
fn enumeration_never_fails_and_never_lists_the_null_device() {
    let list = AudioDevices::list().unwrap();
    println!(
        "host {}: {} input(s), {} output(s), note {:?}",
        list.host,
        list.inputs.len(),
        list.outputs.len(),
        list.note
    );
    for d in list.inputs.iter().chain(&list.outputs) {
        println!("  {} [{}]", d.name, d.id);
        assert_ne!(d.id, "null");
    }
    if list.is_empty() {
        assert!(list.note.is_some());
    }
}
