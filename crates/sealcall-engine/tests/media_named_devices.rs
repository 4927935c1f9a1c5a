//! Named audio devices (`device:ID`): parsing, and the fallback when the device is not there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sealcall_engine::media::device::{pick_input_with, pick_output_with};
use sealcall_engine::media::{InputSpec, OutputSpec};

#[test]
fn named_device_specs_parse_and_fall_back_with_a_notice() {
    assert_eq!(
        InputSpec::parse("device:hw:CARD=PCH,DEV=0").unwrap(),
        InputSpec::NamedDevice("hw:CARD=PCH,DEV=0".into())
    );
    assert_eq!(
        OutputSpec::parse("device:hw:1").unwrap(),
        OutputSpec::NamedDevice("hw:1".into())
    );
    assert!(InputSpec::parse("device:").is_err());
    assert!(OutputSpec::parse("device:").is_err());
    let input = pick_input_with(Some("device:not-here"), false).unwrap();
    assert!(input.notice.unwrap().contains("using test tone"));
    let output = pick_output_with(Some("device:not-here"), false).unwrap();
    assert!(output.notice.unwrap().contains("discarded"));
}
