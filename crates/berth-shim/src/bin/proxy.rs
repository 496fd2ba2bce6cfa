//! `berth-proxy`: holds a running container's published ports and relays the IPv6 ones; see
//! `berth_shim::proxy`.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(berth_shim::proxy::main() as u8)
}
