//! Runs one frame case a given number of times, for instruction counting under callgrind.
//!
//! Wall-clock benches need a quiet machine; instruction counts do not: `valgrind
//! --tool=callgrind` counts the same instructions for the same binary and inputs whatever else the
//! machine runs. `benches/instructions.sh` runs this twice per case (N and 2N frames) so that
//! set-up cancels out, and prints instructions per frame.
//!
//! ```text
//! frame_instructions <implementation> <size> <protect|unprotect> <frames>
//! ```
//! `unprotect` also protects every frame it opens (the ring is refilled untimed in the
//! wall-clock bench): subtract the `protect` count of the same case.

use sealcall_benches::{Implementation, new_case};
use sealcall_e2ee::CipherSuite;

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
        "protect" => case.time_protect(frames),
        "unprotect" => case.time_unprotect(frames),
        other => return Err(format!("op {other:?}: protect or unprotect")),
    }
    .map_err(|e| e.to_string())?;
    Ok(())
}
