//! berth-shim-serve: the small image a started shim re-executes into, so that per container
//! only the poll loop's pages are resident (the full `berth-shim`, which links the whole
//! runtime, maps several MiB). It serves the container until it ends, then executes
//! `berth-shim __finish` to record the exit and delete the container.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some(berth_shim::monitor::SERVE_ARG) {
        eprintln!("berth-shim-serve is started by berth-shim, not by hand");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::from(berth_shim::monitor::serve_inherited(&args.next().unwrap_or_default()) as u8)
}
