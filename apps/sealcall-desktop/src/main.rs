//! `sealcall-desktop`: parses the arguments and starts the app (see `sealcall_desktop::launch`).

use std::process::ExitCode;

use sealcall_desktop::launch::{Args, NO_DISPLAY, USAGE, has_display, run};

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sealcall-desktop: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.help {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
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
