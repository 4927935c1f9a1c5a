//! The frozen video packetization example in docs/PROTOCOL.md (section 6.1): the frozen SFrame
//! video frame of section 7, packetized with a 16-byte payload limit. The test recomputes the
//! packets so the document and the code cannot drift apart (the frame itself is checked by
//! sealcall-e2ee's frozen-vector test).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sealcall_engine::media::video::packet::{Reassembler, ReassemblyConfig, packetize};

fn block<'a>(doc: &'a str, name: &str) -> &'a str {
    let begin = format!("<!-- {name}:begin -->");
    let end = format!("<!-- {name}:end -->");
    let start = doc.find(&begin).expect("begin marker") + begin.len();
    let stop = doc.find(&end).expect("end marker");
    &doc[start..stop]
}

fn value<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("{key} in docs/PROTOCOL.md"))
        .trim()
}

#[test]
fn the_documented_video_packets_are_what_the_packetizer_makes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/PROTOCOL.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let frame = hex::decode(value(
        block(&doc, "frozen-vectors"),
        "video_callee_to_caller_epoch0_ctr0",
    ))
    .unwrap();
    let max = 16;
    let mut rendered = format!("\n```text\nmax_payload = {max}\n");
    let mut payloads = Vec::new();
    for (i, p) in packetize(&frame, max).enumerate() {
        let mut bytes = Vec::new();
        p.write_to(&mut bytes);
        rendered.push_str(&format!("packet{i} = {}\n", hex::encode(&bytes)));
        payloads.push(bytes);
    }
    rendered.push_str("```\n");
    assert_eq!(
        block(&doc, "frozen-video-packets"),
        rendered,
        "docs/PROTOCOL.md's frozen video packets differ from the code; the code makes:\n{rendered}"
    );
    // And they reassemble to the frame.
    let mut r = Reassembler::new(ReassemblyConfig::default());
    for (i, p) in payloads.iter().enumerate() {
        r.push(Duration::ZERO, 100 + i as u16, 9000, p).unwrap();
    }
    assert_eq!(r.poll(Duration::ZERO).unwrap().data, frame);
}
