//! Networks through the docker CLI: user-defined bridges with name resolution, isolation,
//! internal networks, connect/disconnect, static addresses; published ports (TCP and UDP, on
//! loopback) that outlive a daemon restart; none and container: modes; the /networks API's
//! answers and errors; a restarted daemon removing links that belong to nothing. Traffic goes
//! only to loopback and to containers the tests made; no test asks a name outside its networks.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::daemon;

fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    http_get_on(IpAddr::V4(Ipv4Addr::LOCALHOST), port, path)
}

fn http_get_on(ip: IpAddr, port: u16, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&SocketAddr::new(ip, port), Duration::from_secs(3))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    write!(s, "GET {path} HTTP/1.0\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// A UDP echo server in the network namespace of process `pid`, answering one datagram;
/// returns once it listens.
fn udp_echo_in(pid: &str, port: u16) -> Child {
    let script = format!("import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('0.0.0.0',{port}))\nprint('ready',flush=True)\nd,a=s.recvfrom(100)\ns.sendto(b'echo:'+d,a)\n");
    let mut child = Command::new("nsenter").args(["-t", pid, "-n", "python3", "-c", &script]).stdin(Stdio::null()).stdout(Stdio::piped()).spawn().expect("nsenter python3");
    let mut line = [0u8; 6];
    child.stdout.as_mut().expect("piped").read_exact(&mut line).expect("the echo server starts");
    child
}

/// A shell command that fetches /hostname from host:port over plain TCP (busybox's wget
/// crashes on address literals; nc does not).
fn fetch(host: &str, port: u16) -> String {
    format!("printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} {port}")
}

fn udp_ask(port: u16) -> std::io::Result<String> {
    udp_ask_on(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
}

fn udp_ask_on(ip: IpAddr, port: u16) -> std::io::Result<String> {
    let s = UdpSocket::bind(SocketAddr::new(ip, 0))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    s.send_to(b"hi", (ip, port))?;
    let mut buf = [0u8; 100];
    let n = loop {
        // Interrupted when the test process is stopped and continued (signal(7)).
        match s.recv_from(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            r => break r?.0,
        }
    };
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn user_networks_resolve_names_isolate_and_connect() {
    let d = daemon("netuser");
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs().to_string();
    d.docker_ok(&["network", "create", "front"]);
    // a container's start and end are network connect and disconnect events, as dockerd's
    d.docker_ok(&["run", "--rm", "--name", "brief", "--network", "front", "busybox", "true"]);
    let now = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() + 1).to_string();
    let ev = d.docker_ok(&["events", "--since", &since, "--until", &now, "--filter", "type=network", "--format", "{{.Action}} {{.Actor.Attributes.name}}"]);
    assert_eq!(ev.lines().collect::<Vec<_>>(), ["create front", "connect front", "disconnect front"], "{ev}");
    d.docker_ok(&["network", "create", "--subnet", "10.214.7.0/24", "--ip-range", "10.214.7.128/25", "--label", "tier=back", "back"]);
    let web = d.docker_ok(&["run", "-d", "--name", "web", "--network", "front", "--network-alias", "www", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc"]).trim().to_owned();
    // by name, by alias, by short id; the embedded server is the container's name server
    let got = d.docker_ok(&[
        "run", "--rm", "--network", "front", "busybox", "sh", "-c",
        &format!("cat /etc/resolv.conf; wget -qO- http://web/hostname; wget -qO- http://www/hostname; wget -qO- http://{}/hostname", &web[..12]),
    ]);
    assert!(got.lines().any(|l| l == "nameserver 127.0.0.11"), "{got}");
    assert_eq!(got.matches(&web[..12]).count(), 3, "{got}");
    let web_ip = d.docker_ok(&["inspect", "-f", "{{.NetworkSettings.Networks.front.IPAddress}}", "web"]).trim().to_owned();
    assert!(web_ip.starts_with("10.213."), "{web_ip}");

    // another network reaches neither its name nor its address
    assert!(d.docker_ok(&["run", "--rm", "--network", "front", "busybox", "sh", "-c", &fetch(&web_ip, 80)]).contains(&web[..12]), "the address answers on its own network");
    let other = d.docker(&["run", "--rm", "--network", "back", "busybox", "sh", "-c", &fetch(&web_ip, 80)]);
    assert!(!String::from_utf8_lossy(&other.stdout).contains("200 OK"), "a container on another network reached web: {other:?}");
    // the default bridge has no embedded name server
    let resolv = d.docker_ok(&["run", "--rm", "busybox", "cat", "/etc/resolv.conf"]);
    assert!(!resolv.contains("127.0.0.11"), "{resolv}");
    // ... but the host's file (its non-loopback servers), or Google's two when it has none,
    // as dockerd writes it; --dns and friends rebuild it in dockerd's order
    let hosts_own = berth_engine::container::etc::host_resolv_conf();
    assert_eq!(resolv, berth_engine::container::etc::resolv_conf(&Default::default(), false, false, &hosts_own));
    assert!(resolv.lines().any(|l| l.starts_with("nameserver ")), "{resolv}");
    let built = d.docker_ok(&["run", "--rm", "--dns", "10.213.0.53", "--dns-search", "corp.example", "--dns-option", "ndots:3", "busybox", "cat", "/etc/resolv.conf"]);
    assert_eq!(built, "search corp.example\nnameserver 10.213.0.53\noptions ndots:3\n");

    // a static address from the user's subnet; addresses from the ip range
    let ip = d.docker_ok(&["run", "--rm", "--network", "back", "--ip", "10.214.7.9", "busybox", "sh", "-c", "ip -4 -o addr show eth0"]);
    assert!(ip.contains("10.214.7.9/24"), "{ip}");
    let ip = d.docker_ok(&["run", "--rm", "--network", "back", "busybox", "sh", "-c", "ip -4 -o addr show eth0"]);
    assert!(ip.contains("10.214.7.129/24"), "{ip}");
    let out = d.docker(&["run", "--rm", "--ip", "10.214.7.9", "busybox", "true"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("user specified IP address is supported on user defined networks only"), "{out:?}");
    let out = d.docker(&["run", "--rm", "--network", "front", "--ip", "10.214.7.9", "busybox", "true"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("user specified IP address is supported only when connecting to networks with user configured subnets"), "{out:?}");

    // connect a running container: it then resolves and reaches web; disconnect undoes it
    d.docker_ok(&["run", "-d", "--name", "client", "--network", "back", "busybox", "sleep", "300"]);
    d.docker_ok(&["network", "connect", "--alias", "cli", "front", "client"]);
    assert!(d.docker_ok(&["exec", "client", "wget", "-qO-", "http://www/hostname"]).contains(&web[..12]));
    let nets = d.docker_ok(&["inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", "client"]);
    assert_eq!(nets.trim(), "back front");
    let members = d.docker_ok(&["network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", "front"]);
    assert!(members.contains("web") && members.contains("client"), "{members}");
    d.docker_ok(&["network", "disconnect", "front", "client"]);
    let out = d.docker(&["exec", "client", "sh", "-c", &fetch(&web_ip, 80)]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("200 OK"), "still reaches web after disconnect: {out:?}");
    // A default-bridge container connected to a user network: its /etc/hosts gains the new
    // address and its resolv.conf the embedded name server, so it resolves at once.
    d.docker_ok(&["run", "-d", "--name", "plain", "busybox", "sleep", "300"]);
    assert!(!d.docker_ok(&["exec", "plain", "cat", "/etc/resolv.conf"]).contains("127.0.0.11"));
    d.docker_ok(&["network", "connect", "front", "plain"]);
    let front_ip = d.docker_ok(&["inspect", "-f", "{{(index .NetworkSettings.Networks \"front\").IPAddress}}", "plain"]).trim().to_owned();
    assert!(d.docker_ok(&["exec", "plain", "cat", "/etc/hosts"]).contains(&format!("{front_ip}\t")));
    assert!(d.docker_ok(&["exec", "plain", "cat", "/etc/resolv.conf"]).lines().any(|l| l == "nameserver 127.0.0.11"));
    assert!(d.docker_ok(&["exec", "plain", "wget", "-qO-", "http://www/hostname"]).contains(&web[..12]));
    d.docker_ok(&["network", "disconnect", "front", "plain"]);
    assert!(!d.docker_ok(&["exec", "plain", "cat", "/etc/hosts"]).contains(&format!("{front_ip}\t")));

    // a stopped container connected to a second network: its own network stays eth0
    d.docker_ok(&["create", "--name", "two", "--network", "back", "busybox", "sleep", "300"]);
    d.docker_ok(&["network", "connect", "front", "two"]);
    d.docker_ok(&["start", "two"]);
    let eth0 = d.docker_ok(&["exec", "two", "ip", "-4", "-o", "addr", "show", "eth0"]);
    assert!(eth0.contains("10.214.7."), "{eth0}");
    assert!(d.docker_ok(&["exec", "two", "ip", "route"]).contains("default via 10.214.7.1 dev eth0"));
    d.docker_ok(&["rm", "-f", "two"]);

    // in use: 409; removable once the users are gone
    let out = d.docker(&["network", "rm", "front"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("has active endpoints"), "{out:?}");
    d.docker_ok(&["rm", "-f", "web", "client"]);
    d.docker_ok(&["network", "rm", "front", "back"]);
    assert_eq!(d.docker_ok(&["network", "ls", "--format", "{{.Name}}"]), "bridge\nhost\nnone\n");
    // (a container's links go with its namespace, which the kernel frees a moment later)
    berth_testutil::wait_until(10, "the containers' links to go", || d.links() == vec![d.bridge.clone()]);
}

#[test]
fn internal_networks_have_no_way_out() {
    let d = daemon("netinternal");
    d.docker_ok(&["network", "create", "--internal", "sealed"]);
    let web = d.docker_ok(&["run", "-d", "--name", "outside", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc"]).trim().to_owned();
    let ip = d.docker_ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", &web]).trim().to_owned();
    let routes = d.docker_ok(&["run", "--rm", "--network", "sealed", "busybox", "ip", "route"]);
    assert!(!routes.contains("default"), "{routes}");
    let out = d.docker(&["run", "--rm", "--network", "sealed", "busybox", "sh", "-c", &fetch(&ip, 80)]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("200 OK"), "an internal network reached a container elsewhere: {out:?}");
    // members of the internal network still reach each other by name
    d.docker_ok(&["run", "-d", "--name", "inner", "--network", "sealed", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc"]);
    assert!(!d.docker_ok(&["run", "--rm", "--network", "sealed", "busybox", "wget", "-qO-", "http://inner/hostname"]).is_empty());
}

#[test]
fn published_ports_answer_on_loopback_and_survive_a_restart() {
    let mut d = daemon("netports");
    let fixed = berth_testutil::registry::free_port();
    let udp = berth_testutil::registry::free_port();
    let udp6 = berth_testutil::registry::free_port();
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let id = d
        .docker_ok(&[
            "run", "-d", "--name", "pub", "-p", &format!("{fixed}:80"), "-p", "127.0.0.1::80", "-p", &format!("127.0.0.1:{udp}:5300/udp"),
            "-p", &format!("[::1]:{udp6}:5300/udp"), "--expose", "7000", "-P", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc",
        ])
        .trim()
        .to_owned();
    let ports = d.docker_ok(&["port", "pub"]);
    // `-p 8080:80` publishes on IPv4 and IPv6 with one port, as dockerd does.
    assert!(ports.contains(&format!("80/tcp -> 0.0.0.0:{fixed}")) && ports.contains(&format!("80/tcp -> [::]:{fixed}")), "{ports}");
    assert!(ports.contains(&format!("5300/udp -> 127.0.0.1:{udp}")) && ports.contains(&format!("5300/udp -> [::1]:{udp6}")), "{ports}");
    assert!(!ports.contains(&format!("[::]:{udp}")) && !ports.contains(&format!("0.0.0.0:{udp6}")), "an address given is the only one: {ports}");
    let random: u16 = d.docker_ok(&["port", "pub", "80"]).lines().find_map(|l| l.strip_prefix("127.0.0.1:")).expect("the loopback binding").trim().parse().expect("a port");
    let p7000: u16 = d.docker_ok(&["port", "pub", "7000"]).trim().rsplit(':').next().expect("port").parse().expect("a port");
    assert!(d.docker_ok(&["ps", "--format", "{{.Ports}}"]).contains(&format!("0.0.0.0:{fixed}->80/tcp")));
    for p in [fixed, random] {
        let body = http_get(p, "/hostname").unwrap_or_else(|e| panic!("port {p}: {e}"));
        assert!(body.contains(&id[..12]), "{body}");
    }
    // IPv6 reaches the IPv4-only container through berth-proxy.
    let body = http_get_on(v6, fixed, "/hostname").expect("the port on [::1]");
    assert!(body.contains(&id[..12]), "{body}");
    assert!(http_get(p7000, "/").is_err() || !http_get(p7000, "/").expect("a response").contains("200"), "nothing listens on 7000");
    let pid = d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", "pub"]).trim().to_owned();
    let mut echo = udp_echo_in(&pid, 5300);
    assert_eq!(udp_ask(udp).expect("UDP through the published port"), "echo:hi");
    let _ = echo.wait();
    let mut echo = udp_echo_in(&pid, 5300);
    assert_eq!(udp_ask_on(v6, udp6).expect("UDP through the published IPv6 port"), "echo:hi");
    let _ = echo.wait();
    // the port is taken while published; one a process outside berth holds gets the bind's error
    let out = d.docker(&["run", "-d", "-p", &format!("{fixed}:80"), "busybox", "sleep", "5"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("Bind for 0.0.0.0:{fixed} failed: port is already allocated")), "{out:?}");
    let outsider = std::net::TcpListener::bind(("::", 0)).expect("bind a port");
    let taken = outsider.local_addr().expect("its address").port();
    let out = d.docker(&["run", "-d", "-p", &format!("{taken}:80"), "busybox", "sleep", "5"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("Error starting userland proxy: listen tcp4 0.0.0.0:{taken}: bind: address already in use")), "{out:?}");
    drop(outsider);
    // a container on the same bridge reaches the port through the host's address
    let gw = d.docker_ok(&["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "bridge"]).trim().to_owned();
    assert!(d.docker_ok(&["run", "--rm", "busybox", "sh", "-c", &fetch(&gw, fixed)]).contains(&id[..12]));

    // berthd killed and started again: the port answered all along and still does
    d.stop_with("KILL");
    assert!(http_get(fixed, "/hostname").expect("while berthd is down").contains(&id[..12]));
    assert!(http_get_on(v6, fixed, "/hostname").expect("IPv6 while berthd is down").contains(&id[..12]));
    assert!(std::net::TcpListener::bind(("0.0.0.0", fixed)).is_err(), "the port is held while berthd is down");
    d.spawn();
    assert!(http_get(fixed, "/hostname").expect("after the restart").contains(&id[..12]));
    assert!(http_get_on(v6, fixed, "/hostname").expect("IPv6 after the restart").contains(&id[..12]));
    let mut echo = udp_echo_in(&pid, 5300);
    assert_eq!(udp_ask(udp).expect("UDP after the restart"), "echo:hi");
    let _ = echo.wait();
    let out = d.docker(&["run", "-d", "-p", &format!("{fixed}:80"), "busybox", "sleep", "5"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("port is already allocated"), "held again after the restart: {out:?}");

    // Moved to another network, it is still reached on both families.
    d.docker_ok(&["network", "create", "pubnet"]);
    d.docker_ok(&["network", "connect", "pubnet", "pub"]);
    d.docker_ok(&["network", "disconnect", "bridge", "pub"]);
    assert!(http_get(fixed, "/hostname").expect("IPv4 after the move").contains(&id[..12]));
    assert!(http_get_on(v6, fixed, "/hostname").expect("IPv6 after the move").contains(&id[..12]));

    d.docker_ok(&["rm", "-f", "pub"]);
    d.docker_ok(&["network", "rm", "pubnet"]);
    assert!(http_get(fixed, "/hostname").is_err(), "the port still answers after rm");
    assert!(std::net::TcpListener::bind(("0.0.0.0", fixed)).is_ok(), "the port is still held after rm");
    assert!(std::net::TcpListener::bind(("::", fixed)).is_ok(), "the IPv6 port is still held after rm");
    let proxies = Command::new("pgrep").args(["-f", &format!("berth-proxy --id {id}")]).output().expect("pgrep");
    assert!(proxies.stdout.is_empty(), "the container's proxy outlived it: {proxies:?}");
}

#[test]
fn none_has_only_loopback_and_container_mode_shares() {
    let d = daemon("netmodes");
    let links = d.docker_ok(&["run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net"]);
    assert_eq!(links.split_whitespace().collect::<Vec<_>>(), ["lo"]);
    // ... and that loopback is up, as runc sets it up in a namespace of the container's own.
    let lo = d.docker_ok(&["run", "--rm", "--network", "none", "busybox", "sh", "-c", "ip -4 -o addr show lo && ping -c1 -W2 127.0.0.1 >/dev/null && echo pinged"]);
    assert!(lo.contains("inet 127.0.0.1/8") && lo.ends_with("pinged\n"), "{lo}");
    // No network of its own: no ports to show, exposed or not (as dockerd).
    d.docker_ok(&["run", "-d", "--name", "alone", "--network", "none", "--expose", "80", "busybox", "sleep", "300"]);
    // its endpoint on `none` has its address fields, empty (as dockerd's)
    let ep = d.api("GET", "/containers/alone/json", None).json()["NetworkSettings"]["Networks"]["none"].clone();
    assert_eq!((ep["IPAddress"].as_str(), ep["Gateway"].as_str(), ep["IPPrefixLen"].as_i64()), (Some(""), Some(""), Some(0)), "{ep}");
    // ... and an endpoint id while it runs, the one the network shows, and none once stopped
    let id = ep["EndpointID"].as_str().unwrap_or_default().to_owned();
    assert!(id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{ep}");
    let listed = d.docker_ok(&["network", "inspect", "-f", "{{range .Containers}}{{.EndpointID}}{{end}}", "none"]);
    assert_eq!(listed.trim(), id);
    d.docker_ok(&["stop", "-t", "0", "alone"]);
    assert_eq!(d.docker_ok(&["inspect", "-f", "[{{.NetworkSettings.Networks.none.EndpointID}}]", "alone"]), "[]\n");
    d.docker_ok(&["start", "alone"]);
    let again = d.docker_ok(&["inspect", "-f", "{{.NetworkSettings.Networks.none.EndpointID}}", "alone"]);
    assert!(again.trim().len() == 64 && again.trim() != id, "a new start has a new endpoint: {again}");
    assert_eq!(d.docker_ok(&["inspect", "-f", "{{json .NetworkSettings.Ports}}", "alone"]), "{}\n");
    assert_eq!(d.docker_ok(&["ps", "--filter", "name=alone", "--format", "[{{.Ports}}]"]), "[]\n");
    d.docker_ok(&["rm", "-f", "alone"]);
    d.docker_ok(&["run", "-d", "--name", "owner", "busybox", "sleep", "300"]);
    let ip = d.docker_ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "owner"]).trim().to_owned();
    let seen = d.docker_ok(&["run", "--rm", "--network", "container:owner", "busybox", "ip", "-4", "-o", "addr", "show", "eth0"]);
    assert!(seen.contains(&format!("{ip}/")), "{seen}");
    let hosts = d.docker_ok(&["run", "--rm", "--add-host", "gw:host-gateway", "busybox", "cat", "/etc/hosts"]);
    let gw = d.docker_ok(&["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "bridge"]).trim().to_owned();
    assert!(hosts.contains(&format!("{gw}\tgw\n")), "{hosts}");
    let out = d.docker(&["network", "connect", "bridge", "owner"]);
    assert!(!out.status.success(), "connected twice to bridge");
    // Sysctls of the container's own interface: its links exist before the runtime sets them.
    let set = d.docker_ok(&["run", "--rm", "--sysctl", "net.ipv4.conf.eth0.rp_filter=2", "--sysctl", "net.ipv4.ip_unprivileged_port_start=80", "busybox", "cat", "/proc/sys/net/ipv4/conf/eth0/rp_filter", "/proc/sys/net/ipv4/ip_unprivileged_port_start"]);
    assert_eq!(set.split_whitespace().collect::<Vec<_>>(), ["2", "80"], "{set}");
    // ports with modes that have no ports of their own: refused, or discarded with a warning
    let out = d.docker(&["create", "-p", "80", "--network", "none", "busybox", "true"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("a container with --network none has no network to publish ports on"), "{out:?}");
    let out = d.docker(&["create", "-p", "80", "--network", "container:owner", "busybox", "true"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("conflicting options: port exposing and the container type network mode"), "{out:?}");
    // a container: that is not there yet fails at start, not at create (where a 404 would
    // send the docker CLI to pull the image), as with dockerd
    d.docker_ok(&["create", "--name", "later", "--network", "container:nosuch", "busybox", "true"]);
    let out = d.docker(&["start", "later"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("No such container: nosuch") && !err.contains("Unable to find image"), "{out:?}");
    d.docker_ok(&["rm", "later"]);
    let out = d.docker(&["create", "--name", "hostports", "-p", "80", "--network", "host", "busybox", "true"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Published ports are discarded when using host network mode"), "{out:?}");
}

#[test]
fn shared_and_host_network_modes_take_their_names_as_in_docker() {
    let d = daemon("netnames");
    d.docker_ok(&["network", "create", "--ipv6", "--subnet", "fd00:218:1::/64", "named"]);
    d.docker_ok(&["run", "-d", "--name", "web", "--network", "named", "--hostname", "web", "--domainname", "example.org", "busybox", "sleep", "300"]);
    // /etc/hosts: every address of the container, with its full and its bare name.
    let hosts = d.docker_ok(&["exec", "web", "cat", "/etc/hosts"]);
    let own: Vec<&str> = hosts.lines().filter(|l| l.ends_with("\tweb.example.org web")).collect();
    assert_eq!(own.len(), 2, "{hosts}");
    assert!(own.iter().any(|l| l.starts_with("fd00:218:1::")), "{hosts}");
    // container: takes the other container's hostname, hosts and name servers...
    let seen = d.docker_ok(&["run", "--rm", "--network", "container:web", "busybox", "sh", "-c", "hostname; cat /etc/resolv.conf; nslookup web"]);
    assert!(seen.starts_with("web\n") && seen.lines().any(|l| l == "nameserver 127.0.0.11") && seen.contains("Name:\tweb"), "{seen}");
    // ... and may not set them.
    for (flag, value, what) in [("--hostname", "x", "hostname"), ("--dns", "10.0.0.1", "dns"), ("--add-host", "a:10.0.0.1", "custom host-to-IP mapping")] {
        let out = d.docker(&["create", "--network", "container:web", flag, value, "busybox", "true"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with(&format!("Error response from daemon: conflicting options: {what} and the network mode")), "{flag}: {err}");
    }
    // host: the host's hostname.
    let host = rustix::system::uname().nodename().to_string_lossy().into_owned();
    assert_eq!(d.docker_ok(&["run", "--rm", "--network", "host", "busybox", "hostname"]).trim(), host);
    // A stopped container whose network was removed: disconnect -f by the id its start names,
    // then another network, and it starts.
    d.docker_ok(&["network", "create", "brief"]);
    d.docker_ok(&["create", "--name", "orphan", "--network", "brief", "busybox", "true"]);
    let id = d.docker_ok(&["network", "inspect", "-f", "{{.Id}}", "brief"]).trim()[..12].to_owned();
    d.docker_ok(&["network", "rm", "brief"]);
    let out = d.docker(&["start", "orphan"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("network disconnect -f {id} CONTAINER")), "{out:?}");
    d.docker_ok(&["network", "disconnect", "-f", &id, "orphan"]);
    d.docker_ok(&["network", "connect", "named", "orphan"]);
    d.docker_ok(&["start", "-a", "orphan"]);
    // Prune's until takes dockerd's durations and dates: nothing here is a day old.
    d.docker_ok(&["network", "create", "young"]);
    d.docker_ok(&["network", "prune", "-f", "--filter", "until=24h"]);
    d.docker_ok(&["container", "prune", "-f", "--filter", "until=2020-01-01T10:00"]);
    assert!(d.docker_ok(&["network", "ls", "--format", "{{.Name}}"]).contains("young"));
    assert!(d.docker_ok(&["ps", "-aq", "--filter", "name=orphan"]).trim().len() >= 12);
    d.docker_ok(&["network", "prune", "-f", "--filter", "until=0s"]);
    assert!(!d.docker_ok(&["network", "ls", "--format", "{{.Name}}"]).contains("young"));
}

#[test]
fn network_api_answers_like_dockerd() {
    let d = daemon("netapi");
    let v = serde_json::json!({"Name": "apinet", "Labels": {"a": "b"}, "IPAM": {"Config": [{"Subnet": "10.215.3.0/24", "Gateway": "10.215.3.254"}]}});
    let r = d.api("POST", "/networks/create", Some(&v));
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["Id"].as_str().expect("id").to_owned();
    assert_eq!(r.json()["Warning"], "");
    let r = d.api("POST", "/networks/create", Some(&v));
    assert_eq!((r.status, r.message()), (409, "network with name apinet already exists".to_owned()));
    let overlap = serde_json::json!({"Name": "other", "IPAM": {"Config": [{"Subnet": "10.215.3.128/25"}]}});
    assert_eq!(d.api("POST", "/networks/create", Some(&overlap)).status, 403);
    let r = d.api("POST", "/networks/create", Some(&serde_json::json!({"Name": "v6", "EnableIPv6": true, "IPAM": {"Config": [{"Subnet": "fd42:c1::/64", "IPRange": "fd42:c1::/80"}]}})));
    assert_eq!(r.status, 501, "{}", r.text());
    let r = d.api("POST", "/networks/create", Some(&serde_json::json!({"Name": "v6", "IPAM": {"Config": [{"Subnet": "fd42:c1::/64"}]}})));
    assert_eq!((r.status, r.message()), (400, "an IPv6 subnet needs --ipv6 (EnableIPv6)".to_owned()));
    let r = d.api("POST", "/networks/create", Some(&serde_json::json!({"Name": "ov", "Driver": "overlay"})));
    assert_eq!(r.status, 501, "{}", r.text());
    let r = d.api("GET", &format!("/networks/{}", &id[..8]), None);
    assert_eq!(r.status, 200);
    let n = r.json();
    assert_eq!((n["Name"].as_str(), n["Driver"].as_str(), n["Scope"].as_str()), (Some("apinet"), Some("bridge"), Some("local")));
    assert_eq!(n["IPAM"]["Config"][0]["Gateway"], "10.215.3.254");
    assert_eq!(n["Labels"]["a"], "b");
    let r = d.api("GET", "/networks?filters=%7B%22label%22%3A%7B%22a%3Db%22%3Atrue%7D%7D", None);
    assert_eq!(r.json().as_array().map(|a| a.len()), Some(1));
    let r = d.api("GET", "/networks?filters=%7B%22type%22%3A%7B%22builtin%22%3Atrue%7D%7D", None);
    assert_eq!(r.json().as_array().map(|a| a.len()), Some(3));
    assert_eq!(d.api("GET", "/networks/nope", None).status, 404);
    let r = d.api("DELETE", "/networks/bridge", None);
    assert_eq!((r.status, r.message()), (403, "bridge is a pre-defined network and cannot be removed".to_owned()));
    // as with dockerd, create takes a network that is not there and start says so
    let out = d.docker(&["run", "--rm", "--network", "missing", "busybox", "true"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("network missing not found"), "{out:?}");
    d.docker_ok(&["network", "create", "missing"]);
    d.docker_ok(&["run", "--name", "late", "--network", "missing", "busybox", "true"]);
    d.docker_ok(&["rm", "late"]);
    d.docker_ok(&["network", "rm", "missing"]);
    assert_eq!(d.docker_ok(&["network", "prune", "-f"]), "Deleted Networks:\napinet\n\n");
    assert_eq!(d.api("GET", &format!("/networks/{id}"), None).status, 404);
}

#[test]
fn a_restarted_daemon_removes_links_that_belong_to_nothing() {
    let mut d = daemon("netreconcile");
    d.docker_ok(&["network", "create", "keep"]);
    d.stop_with("KILL");
    let orphan = format!("{}o", &d.bridge[..d.bridge.len().min(14)]);
    let ok = |args: &[&str]| assert!(Command::new("ip").args(args).status().expect("ip").success(), "ip {args:?}");
    ok(&["link", "add", &orphan, "type", "bridge"]);
    ok(&["link", "set", &orphan, "alias", &format!("berth:{}:net:{}", d.bridge, "0".repeat(64))]);
    d.spawn();
    assert!(!std::path::Path::new("/sys/class/net").join(&orphan).exists(), "the orphan bridge is still there");
    assert_eq!(d.links().len(), 2, "the default bridge and keep's: {:?}", d.links());
}

#[test]
fn ipv6_networks_give_addresses_names_and_routes() {
    let d = daemon("netv6");
    d.docker_ok(&["network", "create", "--ipv6", "auto6"]);
    let cfg = d.docker_ok(&["network", "inspect", "-f", "{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}} {{end}}", "auto6"]);
    assert!(cfg.starts_with("true 10.213.") && cfg.contains(" fd") && cfg.trim_end().ends_with("::/64"), "{cfg}");
    d.docker_ok(&["network", "create", "--ipv6", "--subnet", "fd42:b0::/64", "--subnet", "10.217.0.0/24", "fixed6"]);
    let web = d.docker_ok(&["run", "-d", "--name", "web6", "--network", "fixed6", "--ip6", "fd42:b0::10", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc"]).trim().to_owned();
    let f = "{{with .NetworkSettings.Networks.fixed6}}{{.GlobalIPv6Address}}/{{.GlobalIPv6PrefixLen}} via {{.IPv6Gateway}}{{end}}";
    assert_eq!(d.docker_ok(&["inspect", "-f", f, "web6"]).trim(), "fd42:b0::10/64 via fd42:b0::1");
    // AAAA from the embedded server, and HTTP over IPv6 to that address
    let got = d.docker_ok(&["run", "--rm", "--network", "fixed6", "busybox", "sh", "-c", &format!("nslookup -type=AAAA web6 127.0.0.11; ip -6 route; {}", fetch("fd42:b0::10", 80))]);
    assert!(got.contains("Address: fd42:b0::10"), "{got}");
    assert!(got.contains("default via fd42:b0::1"), "{got}");
    assert!(got.contains(&web[..12]), "{got}");
    let members = d.docker_ok(&["network", "inspect", "-f", "{{range .Containers}}{{.IPv6Address}}{{end}}", "fixed6"]);
    assert_eq!(members.trim(), "fd42:b0::10/64");
    let out = d.docker(&["network", "create", "--ipv6", "--subnet", "fd42:b0::/64", "clash6"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("overlaps"), "{out:?}");
    let out = d.docker(&["run", "--rm", "--ip6", "fd42:b0::11", "busybox", "true"]);
    assert!(!out.status.success(), "--ip6 on a network without IPv6 was taken");
}

/// A name server on 127.0.0.2:53 of the host answering every A question with 10.0.0.77
/// (an address nothing is sent to), for `n` questions.
fn fake_upstream(n: usize) -> Child {
    let script = [
        "import socket",
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)",
        "s.bind(('127.0.0.2',53))",
        "print('ready',flush=True)",
        &format!("for _ in range({n}):"),
        "    q,a=s.recvfrom(512)",
        "    end=12",
        "    while q[end]!=0: end+=q[end]+1",
        "    end+=5",
        "    r=q[:2]+b'\\x81\\x80'+q[4:6]+b'\\x00\\x01\\x00\\x00\\x00\\x00'+q[12:end]+b'\\xc0\\x0c\\x00\\x01\\x00\\x01\\x00\\x00\\x00\\x3c\\x00\\x04'+bytes([10,0,0,77])",
        "    s.sendto(r,a)",
    ]
    .join("\n");
    let mut child = Command::new("python3").args(["-c", &script]).stdin(Stdio::null()).stdout(Stdio::piped()).spawn().expect("python3");
    let mut line = [0u8; 6];
    child.stdout.as_mut().expect("piped").read_exact(&mut line).expect("the fake name server starts");
    child
}

#[test]
fn other_names_go_to_the_containers_name_servers() {
    let d = daemon("netdnsfwd");
    d.docker_ok(&["network", "create", "fwd"]);
    let mut upstream = fake_upstream(2);
    // --dns names the servers the embedded one forwards to, from the host's namespace.
    // A container only on an --internal network gets no names from outside: not forwarded
    // (the fake server answers two questions, which the later lookups then get).
    d.docker_ok(&["network", "create", "--internal", "sealed"]);
    d.docker_ok(&["run", "-d", "--name", "inside", "--network", "sealed", "--dns", "127.0.0.2", "busybox", "sleep", "600"]);
    let ask = ["exec", "inside", "nslookup", "-type=A", "outside.example.test", "127.0.0.11"];
    let out = d.docker(&ask);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("10.0.0.77") && text.contains("SERVFAIL"), "an internal network's name server forwarded: {out:?}");
    // Connected to a network with a way out, it gets them from then on.
    d.docker_ok(&["network", "connect", "fwd", "inside"]);
    let got = d.docker_ok(&ask);
    assert!(got.contains("Address: 10.0.0.77"), "not forwarded after connect: {got}");
    d.docker_ok(&["rm", "-f", "inside"]);
    let got = d.docker_ok(&["run", "--rm", "--network", "fwd", "--dns", "127.0.0.2", "busybox", "nslookup", "-type=A", "outside.example.test", "127.0.0.11"]);
    assert!(got.contains("Address: 10.0.0.77"), "{got}");
    let _ = upstream.kill();
    let _ = upstream.wait();
}
