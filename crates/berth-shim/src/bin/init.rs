//! `berth-init`: the init `--init` puts in front of a container's command; see
//! `berth_runtime::process::mini_init`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(berth_runtime::process::mini_init::run(&args));
}
