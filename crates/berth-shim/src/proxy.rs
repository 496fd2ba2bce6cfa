//! berth-proxy: the process that holds a running container's published ports, and carries the
//! IPv6 ones to the container's IPv4 address (the role of docker-proxy).
//!
//! IPv4 traffic to a published port never reaches this process: the kernel's NAT (berthd's
//! iptables rules) sends it to the container, and the bound socket only keeps the port from
//! being taken by anything else. The kernel cannot translate IPv6 to IPv4, so an IPv6 port
//! (`[::]:8080`, which `-p 8080:80` publishes as dockerd does) is served here: each TCP
//! connection and each UDP flow is relayed to the container.
//!
//! The process belongs to no daemon: berthd runs `berth-proxy --id ID`, writes one JSON
//! [`Request`] line on its stdin and reads one JSON [`Reply`] line. On success the process has
//! forked the proxy, in a session of its own, and exits; the proxy runs until it is killed
//! (berthd does that when the container's network goes down), across restarts of berthd.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::net::{AddressFamily, SocketFlags, SocketType};
use serde::{Deserialize, Serialize};

/// The binary's name; berthd finds it next to berth-shim.
pub const BINARY: &str = "berth-proxy";

/// The ports of one container: where to send IPv6 traffic, and what to bind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The container's address that published ports lead to.
    pub to: Ipv4Addr,
    pub ports: Vec<Want>,
}

/// One binding asked for: the host ports `lo..=hi` (0..=0: any free one) on `ip`, or on both
/// 0.0.0.0 and `::` with the same port when `ip` is None (`::` left out on a host without
/// IPv6), leading to `ctr_port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Want {
    pub proto: Proto,
    pub ip: Option<IpAddr>,
    pub lo: u16,
    pub hi: u16,
    pub ctr_port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

/// What the proxy answers: the addresses and port bound for each [`Want`], in order, and its
/// pid; or why a binding failed (nothing is then bound).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reply {
    Bound { pid: i32, bound: Vec<(Vec<IpAddr>, u16)> },
    Failed { failed: Failure },
}

/// A binding that could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The Want that failed, by index.
    pub want: usize,
    /// The address whose bind failed (`0.0.0.0:8080`, `[::]:8080`) or, for a range where no
    /// port was free, the range (`0.0.0.0:8000-8010`).
    pub addr: String,
    /// The port is in use (EADDRINUSE); otherwise `error` says what else went wrong.
    pub in_use: bool,
    pub error: String,
}

/// How long a UDP flow without traffic is kept (docker-proxy's figure).
const UDP_IDLE: Duration = Duration::from_secs(90);
/// UDP flows relayed at once; datagrams of further new clients are dropped.
const UDP_FLOWS_MAX: usize = 1024;
/// How long connecting to the container may take before the client's connection is closed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The relay threads' stacks: they hold one copy buffer each.
const STACK: usize = 128 * 1024;

/// A bound socket.
enum Sock {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

fn family(ip: IpAddr) -> AddressFamily {
    if ip.is_ipv6() {
        AddressFamily::INET6
    } else {
        AddressFamily::INET
    }
}

/// Binds `proto` on `addr`; an IPv6 socket takes IPv6 alone, so that it and the IPv4 socket
/// on the same port are two bindings, as dockerd makes them.
fn bind(proto: Proto, addr: SocketAddr) -> std::io::Result<Sock> {
    let kind = if proto == Proto::Tcp { SocketType::STREAM } else { SocketType::DGRAM };
    let fd = rustix::net::socket_with(family(addr.ip()), kind, SocketFlags::CLOEXEC, None)?;
    if addr.is_ipv6() {
        rustix::net::sockopt::set_ipv6_v6only(&fd, true)?;
    }
    if proto == Proto::Tcp {
        // As every listener: a port whose last connections linger in TIME_WAIT can be bound.
        rustix::net::sockopt::set_socket_reuseaddr(&fd, true)?;
    }
    rustix::net::bind(&fd, &addr)?;
    Ok(match proto {
        Proto::Tcp => {
            rustix::net::listen(&fd, 1024)?;
            Sock::Tcp(fd.into())
        }
        Proto::Udp => Sock::Udp(fd.into()),
    })
}

fn port_of(s: &Sock) -> std::io::Result<u16> {
    Ok(match s {
        Sock::Tcp(l) => l.local_addr()?.port(),
        Sock::Udp(u) => u.local_addr()?.port(),
    })
}

/// The host has no IPv6 (the kernel was built or booted without it, or it is turned off).
fn no_ipv6(e: &std::io::Error) -> bool {
    let n = rustix::io::Errno::from_io_error(e);
    n == Some(rustix::io::Errno::AFNOSUPPORT) || n == Some(rustix::io::Errno::ADDRNOTAVAIL)
}

fn show(ip: IpAddr, port: &str) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// Binds one Want at `port` (0: any): every address of it, or none.
fn bind_at(w: &Want, port: u16) -> Result<Vec<(IpAddr, Sock)>, (IpAddr, std::io::Error)> {
    let (first, second) = match w.ip {
        Some(ip) => (ip, None),
        None => (IpAddr::V4(Ipv4Addr::UNSPECIFIED), Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED))),
    };
    let s = bind(w.proto, SocketAddr::new(first, port)).map_err(|e| (first, e))?;
    let got = port_of(&s).map_err(|e| (first, e))?;
    let mut out = vec![(first, s)];
    if let Some(v6) = second {
        match bind(w.proto, SocketAddr::new(v6, got)) {
            Ok(s) => out.push((v6, s)),
            Err(e) if no_ipv6(&e) => {}
            Err(e) => return Err((v6, e)),
        }
    }
    Ok(out)
}

/// Binds every Want; the first that cannot be bound fails the whole request.
fn bind_all(wants: &[Want]) -> Result<Vec<Vec<(IpAddr, Sock)>>, Failure> {
    let mut out = Vec::new();
    for (i, w) in wants.iter().enumerate() {
        let fail = |addr: String, e: &std::io::Error| Failure { want: i, addr, in_use: e.kind() == std::io::ErrorKind::AddrInUse, error: e.to_string() };
        let got = if w.lo == 0 && w.hi == 0 {
            // Any port: the IPv4 one is the kernel's choice, and `::` may have it taken.
            let mut tries = 0;
            loop {
                match bind_at(w, 0) {
                    Ok(s) => break s,
                    Err((ip, e)) if e.kind() == std::io::ErrorKind::AddrInUse && ip.is_ipv6() && tries < 32 => tries += 1,
                    Err((ip, e)) => return Err(fail(show(ip, "0"), &e)),
                }
            }
        } else {
            let mut last = None;
            let mut found = None;
            for p in w.lo..=w.hi {
                match bind_at(w, p) {
                    Ok(s) => {
                        found = Some(s);
                        break;
                    }
                    Err((ip, e)) if e.kind() == std::io::ErrorKind::AddrInUse => last = Some((ip, e)),
                    Err((ip, e)) => return Err(fail(show(ip, &p.to_string()), &e)),
                }
            }
            match (found, last) {
                (Some(s), _) => s,
                (None, Some((ip, e))) => {
                    let port = if w.lo == w.hi { w.lo.to_string() } else { format!("{}-{}", w.lo, w.hi) };
                    return Err(fail(show(ip, &port), &e));
                }
                (None, None) => return Err(Failure { want: i, addr: String::new(), in_use: false, error: "an empty port range".into() }),
            }
        };
        out.push(got);
    }
    Ok(out)
}

/// The entry point of `berth-proxy`: read the request, bind, answer, and leave the proxy
/// running in a forked process. Returns the exit code.
pub fn main() -> i32 {
    let mut line = String::new();
    if let Err(e) = std::io::stdin().lock().read_line(&mut line) {
        eprintln!("berth-proxy: read the request: {e}");
        return 2;
    }
    let req: Request = match serde_json::from_str(&line) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("berth-proxy: is started by berthd, with a JSON request on its stdin: {e}");
            return 2;
        }
    };
    let answer = |r: &Reply| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", serde_json::to_string(r).expect("replies serialize"));
        let _ = out.flush();
    };
    let socks = match bind_all(&req.ports) {
        Ok(s) => s,
        Err(failed) => {
            answer(&Reply::Failed { failed });
            return 1;
        }
    };
    let bound = socks.iter().map(|s| (s.iter().map(|(ip, _)| *ip).collect(), s.first().and_then(|(_, s)| port_of(s).ok()).unwrap_or(0))).collect();
    let forked = berth_runtime::sys::clone::fork_plain(|| {
        let _ = rustix::process::setsid();
        let _ = std::env::set_current_dir("/");
        let code = match crate::stdio::to_dev_null() {
            Ok(()) => serve(&req, socks),
            Err(_) => 1,
        };
        berth_runtime::sys::process::exit_now(code)
    });
    match forked {
        Ok(pid) => {
            answer(&Reply::Bound { pid, bound });
            0
        }
        Err(e) => {
            answer(&Reply::Failed { failed: Failure { want: 0, addr: String::new(), in_use: false, error: format!("start the proxy process: {e}") } });
            1
        }
    }
}

/// Serves the IPv6 sockets; holds the others. Runs until the process is killed.
fn serve(req: &Request, socks: Vec<Vec<(IpAddr, Sock)>>) -> i32 {
    let mut held = Vec::new();
    for (want, socks) in req.ports.iter().zip(socks) {
        let to = SocketAddrV4::new(req.to, want.ctr_port);
        for (ip, s) in socks {
            match s {
                Sock::Tcp(l) if ip.is_ipv6() => spawn(move || relay_tcp(l, to)),
                Sock::Udp(u) if ip.is_ipv6() => spawn(move || relay_udp(u, to)),
                s => held.push(s),
            }
        }
    }
    loop {
        std::thread::park();
    }
}

fn spawn(f: impl FnOnce() + Send + 'static) {
    // A thread that cannot start (out of memory, thread limit) drops what it would serve.
    let _ = std::thread::Builder::new().stack_size(STACK).spawn(f);
}

fn relay_tcp(l: TcpListener, to: SocketAddrV4) {
    for c in l.incoming() {
        match c {
            Ok(client) => spawn(move || {
                if let Ok(up) = TcpStream::connect_timeout(&to.into(), CONNECT_TIMEOUT) {
                    let (c2, u2) = (client.try_clone(), up.try_clone());
                    if let (Ok(c2), Ok(u2)) = (c2, u2) {
                        spawn(move || copy(c2, u2));
                        copy(up, client);
                    }
                }
            }),
            // Out of descriptors, or a connection reset before accept: go on.
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// One direction of a TCP relay: the end of input is passed on as a half-close; an error
/// ends both directions.
fn copy(mut from: TcpStream, mut to: TcpStream) {
    match std::io::copy(&mut from, &mut to) {
        Ok(_) => {
            let _ = to.shutdown(Shutdown::Write);
        }
        Err(_) => {
            let _ = to.shutdown(Shutdown::Both);
            let _ = from.shutdown(Shutdown::Both);
        }
    }
}

fn relay_udp(l: UdpSocket, to: SocketAddrV4) {
    let l = Arc::new(l);
    let flows: Arc<Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>> = Arc::default();
    let mut buf = vec![0u8; 65536];
    loop {
        let Ok((n, client)) = l.recv_from(&mut buf) else { continue };
        let up = {
            let mut known = flows.lock().unwrap_or_else(|p| p.into_inner());
            match known.get(&client) {
                Some(up) => up.clone(),
                None => {
                    if known.len() >= UDP_FLOWS_MAX {
                        continue;
                    }
                    let Ok(up) = new_flow(to) else { continue };
                    let up = Arc::new(up);
                    known.insert(client, up.clone());
                    let (l, flows, back) = (l.clone(), flows.clone(), up.clone());
                    spawn(move || {
                        let mut buf = vec![0u8; 65536];
                        loop {
                            match back.recv(&mut buf) {
                                Ok(n) => {
                                    let _ = l.send_to(&buf[..n], client);
                                }
                                // The container's port was closed (ICMP unreachable): the flow stays.
                                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                                Err(_) => break,
                            }
                        }
                        flows.lock().unwrap_or_else(|p| p.into_inner()).remove(&client);
                    });
                    up
                }
            }
        };
        let _ = up.send(&buf[..n]);
    }
}

/// A socket for one client's datagrams to the container; reading it times out after the idle
/// time, which ends the flow.
fn new_flow(to: SocketAddrV4) -> std::io::Result<UdpSocket> {
    let up = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    up.connect(to)?;
    up.set_read_timeout(Some(UDP_IDLE))?;
    Ok(up)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(ip: Option<&str>, lo: u16, hi: u16) -> Want {
        Want { proto: Proto::Tcp, ip: ip.map(|s| s.parse().expect("an address")), lo, hi, ctr_port: 80 }
    }

    #[test]
    fn requests_and_replies_parse() {
        let r: Request = serde_json::from_str(r#"{"to":"172.17.0.2","ports":[{"proto":"udp","ip":"::1","lo":53,"hi":53,"ctr_port":53}]}"#).expect("parses");
        assert_eq!(r.ports[0].proto, Proto::Udp);
        assert_eq!(r.ports[0].ip, Some("::1".parse().expect("an address")));
        let ok = Reply::Bound { pid: 7, bound: vec![(vec!["0.0.0.0".parse().expect("an address")], 8080)] };
        assert_eq!(serde_json::from_str::<Reply>(&serde_json::to_string(&ok).expect("serializes")).expect("parses"), ok);
        let failed = Reply::Failed { failed: Failure { want: 1, addr: "[::]:80".into(), in_use: true, error: "x".into() } };
        assert_eq!(serde_json::from_str::<Reply>(&serde_json::to_string(&failed).expect("serializes")).expect("parses"), failed);
    }

    #[test]
    fn both_families_get_one_port_and_a_taken_port_is_reported() {
        let got = bind_all(&[want(None, 0, 0)]).expect("binds");
        let port = port_of(&got[0][0].1).expect("a port");
        assert!(got[0].iter().all(|(_, s)| port_of(s).expect("a port") == port), "IPv4 and IPv6 share the port");
        let f = bind_all(&[want(Some("0.0.0.0"), port, port)]).err().expect("the port is taken");
        assert!(f.in_use, "{f:?}");
        assert_eq!(f.addr, format!("0.0.0.0:{port}"));
        // A range moves on to a free port.
        let got2 = bind_all(&[want(Some("127.0.0.1"), port, port.saturating_add(20))]).expect("binds a later port");
        assert_ne!(port_of(&got2[0][0].1).expect("a port"), port);
    }
}
