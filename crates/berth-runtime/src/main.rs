//! The berth-runtime binary: runc's command line over the library, and the container init's
//! second stage (the init re-executes this binary from a sealed copy).

fn main() {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() == Some(std::ffi::OsStr::new(berth_runtime::process::init::STAGE2_ARG)) {
        let fd = args.next().map(|a| a.to_string_lossy().into_owned()).unwrap_or_default();
        berth_runtime::process::init::stage2_main(&fd);
    }
    std::process::exit(berth_runtime::cli::main());
}
