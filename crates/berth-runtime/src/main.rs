//! The berth-runtime binary: runc's command line over the library.

fn main() {
    std::process::exit(berth_runtime::cli::main());
}
