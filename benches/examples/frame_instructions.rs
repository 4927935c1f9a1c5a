//! Runs one frame case a given number of times, for instruction counting under callgrind.
//!
//! Wall-clock benches need a quiet machine; instruction counts do not: `valgrind
//! --tool=callgrind` counts the same instructions for the same binary and inputs whatever else the
//! machine runs. `benches/instructions.sh` counts only inside [`seal_frames`] or [`open_ring`]
//! (`--toggle-collect`), so set-up and the untimed ring refills are left out, and prints
//! instructions per frame.
//!
//! ```text
//! frame_instructions <implementation> <size> <protect|unprotect> <frames>
//! ```

use core::hint::black_box;

use sealcall_benches::{FrameCase, Implementation, new_case};
use sealcall_e2ee::CipherSuite;

/// Protects `n` frames: the counted part of `protect`.
#[inline(never)]
fn seal_frames(case: &mut dyn FrameCase, n: u64) -> Result<(), String> {
    for _ in 0..n {
        black_box(case.protect().map_err(|e| e.to_string())?);
    }
    Ok(())
}

/// Unprotects the first `n` frames of the ring: the counted part of `unprotect`.
#[inline(never)]
fn open_ring(case: &mut dyn FrameCase, n: usize) -> Result<(), String> {
    for slot in 0..n {
        black_box(case.unprotect(slot).map_err(|e| e.to_string())?);
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("frame_instructions: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [implementation, size, op, frames] = args.as_slice() else {
        return Err(
            "usage: frame_instructions <implementation> <size> <protect|unprotect> <frames>"
                .to_owned(),
        );
    };
    let labels: Vec<String> = Implementation::all().iter().map(|i| i.label()).collect();
    let implementation = Implementation::all()
        .into_iter()
        .find(|i| i.label() == *implementation)
        .ok_or_else(|| format!("unknown implementation {implementation:?}; one of {labels:?}"))?;
    let size: usize = size.parse().map_err(|e| format!("size {size:?}: {e}"))?;
    let frames: u64 = frames
        .parse()
        .map_err(|e| format!("frames {frames:?}: {e}"))?;
    let mut case =
        new_case(implementation, CipherSuite::Aes128GcmSha256, size).map_err(|e| e.to_string())?;
    match op.as_str() {
        "protect" => seal_frames(case.as_mut(), frames),
        "unprotect" => {
            let mut done = 0u64;
            while done < frames {
                case.refill().map_err(|e| e.to_string())?;
                let n = (case.ring_len() as u64).min(frames - done);
                open_ring(case.as_mut(), n as usize)?;
                done += n;
            }
            Ok(())
        }
        other => Err(format!("op {other:?}: protect or unprotect")),
    }
}
