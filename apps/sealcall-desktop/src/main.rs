//! `sealcall-desktop`: parses the arguments and starts the app (see `sealcall_desktop::launch`).

use std::process::ExitCode;

use clap::Parser;
use sealcall_desktop::launch::{Args, NO_DISPLAY, has_display, run};

fn main() -> ExitCode {
    let args = Args::parse();
    if !has_display() {
        eprintln!("{NO_DISPLAY}");
        return ExitCode::from(3);
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sealcall-desktop: {e:#}");
            ExitCode::FAILURE
        }
    }
}
