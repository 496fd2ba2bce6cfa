//! Networks and published ports through `berth` and the real `docker` CLI against one daemon:
//! `network create | ls | inspect | rm | connect | disconnect | prune`, `run -p`, `port`, and
//! `ps`'s PORTS. Traffic goes only to 127.0.0.1 and to containers these tests made.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Output;
use std::time::Duration;

use berth_testutil::daemon::{wait_until, TestDaemon};

use crate::compare::{json_without_nulls, same};
use crate::{berth, berth_ok, daemon, text};

/// Lines of both outputs, sorted: the daemon lists networks and prunes in no fixed order.
fn sorted_lines(o: &Output) -> Vec<String> {
    let mut l: Vec<String> = text(&o.stdout).lines().map(str::to_owned).collect();
    l.sort();
    l
}

/// Runs `args` with both CLIs; asserts the same status, stdout and stderr (docker's name
/// replaced by berth's).
#[track_caller]
fn same_errors(d: &TestDaemon, args: &[&str]) {
    let (b, k) = (berth(d, args), d.docker(args));
    assert_eq!(
        (b.status.code(), text(&b.stdout), text(&b.stderr)),
        (k.status.code(), text(&k.stdout), text(&k.stderr).replace("docker", "berth")),
        "{args:?}"
    );
}

#[test]
fn network_commands_match_docker() {
    let d = daemon("net-cmp");
    let flags = |n: u8| {
        [
            "--subnet".to_owned(),
            format!("10.231.{n}.0/24"),
            "--gateway".to_owned(),
            format!("10.231.{n}.1"),
            "--ip-range".to_owned(),
            format!("10.231.{n}.128/25"),
            "--attachable".to_owned(),
            "--label".to_owned(),
            "team=a".to_owned(),
            "-o".to_owned(),
            "com.docker.network.driver.mtu=1400".to_owned(),
        ]
    };
    let create = |cli: &str, n: u8, name: &str| {
        let mut args = vec!["network".to_owned(), "create".to_owned()];
        args.extend(flags(n));
        args.push(name.to_owned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if cli == "berth" {
            berth_ok(&d, &args)
        } else {
            d.docker_ok(&args)
        }
    };
    let id = create("berth", 1, "bnet");
    assert_eq!(id.trim().len(), 64, "create prints the full ID: {id}");
    create("docker", 2, "knet");
    berth_ok(&d, &["network", "create", "--internal", "--label", "team=b", "inner"]);
    // The same flags made the same networks (but for their subnets).
    for f in [
        "{{.Driver}} {{.Scope}} {{.Internal}} {{.Attachable}} {{.Ingress}} {{.EnableIPv6}} {{.IPAM.Driver}}",
        "{{json .Labels}}",
        "{{json .Options}}",
        "{{json .IPAM.Config}}",
    ] {
        let b = berth_ok(&d, &["network", "inspect", "-f", f, "bnet"]);
        let k = d.docker_ok(&["network", "inspect", "-f", f, "knet"]).replace("10.231.2.", "10.231.1.");
        if f.starts_with("{{json") {
            assert_eq!(json_without_nulls(&b), json_without_nulls(&k), "{f}");
        } else {
            assert_eq!(b, k, "{f}");
        }
    }
    for args in [
        &["network", "ls"][..],
        &["network", "ls", "-q"],
        &["network", "ls", "--no-trunc"],
        &["network", "list", "--format", "json"],
        &["network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}} {{.Labels}} {{.Label \"team\"}} {{.Internal}} {{.IPv4}} {{.IPv6}}"],
        &["network", "ls", "--format", "table {{.Name}}\t{{.Internal}}\t{{.CreatedAt}}"],
        &["network", "ls", "-q", "--format", "{{.Name}}"],
        &["network", "ls", "--filter", "name=bnet"],
        &["network", "ls", "--filter", "label=team=a", "--format", "{{.Name}}"],
        &["network", "ls", "--filter", "driver=bridge", "--filter", "type=custom", "-q"],
        &["network", "ls", "--filter", "scope=local", "--format", "{{.Name}}"],
        &["network", "ls", "--filter", "dangling=true", "--format", "{{.Name}}"],
        &["network", "ls", "--filter", &format!("id={}", &id[..12]), "--format", "{{.Name}}"],
        &["network", "inspect", "bnet"],
        &["network", "inspect", "bnet", "knet", "inner"],
        &["network", "inspect", "-f", "json", "bnet"],
        &["network", "inspect", "-f", "{{.Name}} {{.Id}} {{.Created}}", "bnet", "bridge"],
        &["network", "inspect", "bridge"],
    ] {
        same(&d, args);
    }
    // Errors: the same words, statuses and partial output.
    for args in [
        &["network", "inspect", "nosuch"][..],
        &["network", "inspect", "inner", "nosuch"],
        &["network", "rm", "nosuch"],
        &["network", "rm", "bridge"],
        &["network", "rm", "-f", "nosuch"],
        &["network", "create", "bnet"],
        &["network", "create", "--subnet", "10.231.1.0/24", "overlap"],
        &["network", "connect", "nosuch", "nosuch"],
        &["network", "ls", "--filter", "bogus=1"],
    ] {
        same_errors(&d, args);
    }
    // rm of several: the ones that went, docker's error lines, status 1.
    berth_ok(&d, &["network", "create", "gone1"]);
    d.docker_ok(&["network", "create", "gone2"]);
    let (b, k) = (berth(&d, &["network", "rm", "gone1", "nosuch"]), d.docker(&["network", "rm", "gone2", "nosuch"]));
    assert_eq!((b.status.code(), text(&b.stdout)), (k.status.code(), "gone1\n".to_owned()));
    assert_eq!(text(&b.stderr), text(&k.stderr), "docker's error lines");
    assert_eq!(berth_ok(&d, &["network", "remove", "inner"]), "inner\n");
    // prune: the unused custom networks go, docker's words around them.
    for n in ["p1", "p2"] {
        berth_ok(&d, &["network", "create", n]);
    }
    let out = berth(&d, &["network", "prune", "-f", "--filter", "label!=team"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(sorted_lines(&out), ["", "Deleted Networks:", "p1", "p2"]);
    let out = berth(&d, &["network", "prune", "-f"]);
    assert_eq!(sorted_lines(&out), ["", "Deleted Networks:", "bnet", "knet"]);
    assert_eq!(berth_ok(&d, &["network", "prune", "-f"]), "");
    assert_eq!(berth_ok(&d, &["network", "ls", "--filter", "type=custom", "-q"]), "");
}

#[test]
fn containers_join_and_leave_networks_like_dockers() {
    let d = daemon("net-conn");
    berth_ok(&d, &["network", "create", "--subnet", "10.232.1.0/24", "bnet"]);
    d.docker_ok(&["network", "create", "--subnet", "10.232.2.0/24", "knet"]);
    // run --network with an alias and an address: the same endpoint as docker makes.
    let run = |cli: &str, name: &str, net: &str, ip: &str| {
        let args = ["run", "-d", "--name", name, "--network", net, "--network-alias", "web", "--ip", ip, "busybox", "sleep", "600"];
        if cli == "berth" {
            berth_ok(&d, &args)
        } else {
            d.docker_ok(&args)
        }
    };
    run("berth", "b1", "bnet", "10.232.1.10");
    run("docker", "k1", "knet", "10.232.2.10");
    let endpoint = "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.IPAddress}} {{$v.IPPrefixLen}} {{json $v.Aliases}} {{json $v.IPAMConfig}};{{end}} {{.HostConfig.NetworkMode}}";
    let (b, k) = (berth_ok(&d, &["inspect", "-f", endpoint, "b1"]), d.docker_ok(&["inspect", "-f", endpoint, "k1"]));
    assert_eq!(b, k.replace("knet", "bnet").replace("10.232.2.", "10.232.1."));
    assert!(b.starts_with("bnet 10.232.1.10 24 [\"web\"]"), "{b}");
    // connect: a second container, by alias; names resolve on the network.
    berth_ok(&d, &["run", "-d", "--name", "b2", "busybox", "sleep", "600"]);
    d.docker_ok(&["run", "-d", "--name", "k2", "busybox", "sleep", "600"]);
    assert_eq!(berth_ok(&d, &["network", "connect", "--alias", "db,store", "--ip", "10.232.1.20", "bnet", "b2"]), "");
    d.docker_ok(&["network", "connect", "--alias", "db,store", "--ip", "10.232.2.20", "knet", "k2"]);
    // (Addresses on the default bridge differ between the two: only the aliases are compared.)
    let nets = "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{json $v.Aliases}};{{end}}";
    let (b, k) = (berth_ok(&d, &["inspect", "-f", nets, "b2"]), d.docker_ok(&["inspect", "-f", nets, "k2"]));
    let sorted = |s: String| {
        let mut v: Vec<String> = s.trim().split(';').map(str::to_owned).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(b), sorted(k.replace("knet", "bnet")));
    assert_eq!(berth_ok(&d, &["inspect", "-f", "{{(index .NetworkSettings.Networks \"bnet\").IPAddress}}", "b2"]), "10.232.1.20\n");
    for name in ["db", "store", "b2"] {
        let out = berth(&d, &["exec", "b1", "ping", "-c", "1", "-W", "2", name]);
        assert!(out.status.success(), "b1 reaches {name}: {}{}", text(&out.stdout), text(&out.stderr));
    }
    same(&d, &["network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{.IPv4Address}};{{end}}", "bnet"]);
    // (Only containers on one network: docker lists several in no fixed order.)
    same(&d, &["ps", "--filter", "name=1", "--format", "{{.Names}} {{.Networks}}"]);
    // Errors of connect and disconnect, as docker words them.
    for args in [
        &["network", "connect", "bnet", "b2"][..],
        &["network", "connect", "bnet", "nosuch"],
        &["network", "disconnect", "bnet", "nosuch"],
        &["network", "disconnect", "knet", "b1"],
    ] {
        same_errors(&d, args);
    }
    // In use: rm refuses, status 1, with docker's words (but for the network's ID).
    let (b, k) = (berth(&d, &["network", "rm", "bnet"]), d.docker(&["network", "rm", "knet"]));
    assert_eq!((b.status.code(), text(&b.stdout)), (k.status.code(), text(&k.stdout)));
    assert!(text(&b.stderr).starts_with("Error response from daemon: error while removing network: network bnet"), "{}", text(&b.stderr));
    // disconnect, then -f.
    assert_eq!(berth_ok(&d, &["network", "disconnect", "bnet", "b2"]), "");
    assert_eq!(berth_ok(&d, &["inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", "b2"]), "bridge \n");
    assert_eq!(berth_ok(&d, &["network", "disconnect", "-f", "bnet", "b1"]), "");
    berth_ok(&d, &["rm", "-f", "b1", "b2", "k1", "k2"]);
    assert_eq!(berth_ok(&d, &["network", "rm", "bnet", "knet"]), "bnet\nknet\n");
}

/// Three consecutive free TCP ports on 127.0.0.1 (first, first + 2).
fn free_port_range() -> (u16, u16) {
    for _ in 0..50 {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
        let first = l.local_addr().expect("address").port();
        if first > 65000 {
            continue;
        }
        drop(l);
        if (first..first + 3).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return (first, first + 2);
        }
    }
    panic!("no three consecutive free ports on 127.0.0.1");
}

/// `GET /` on 127.0.0.1:`port`: the whole answer, or what went wrong.
fn http_get(port: u16) -> String {
    let ask = || -> std::io::Result<String> {
        let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    };
    ask().unwrap_or_else(|e| format!("GET 127.0.0.1:{port}: {e}"))
}

#[test]
fn published_ports_port_and_ps_match_docker() {
    let d = daemon("net-ports");
    // The same -p flags make the same bindings (created only: no host port is taken).
    let flags = ["-p", "8080:80", "-p", "127.0.0.1::53/udp", "-p", "8000-8002:80-82", "-p", "7000-7010:70", "-P", "--expose", "6000-6001"];
    let mut bargs = vec!["create", "--name", "bb"];
    bargs.extend(flags);
    bargs.push("busybox");
    berth_ok(&d, &bargs);
    let mut kargs = vec!["create", "--name", "kk"];
    kargs.extend(flags);
    kargs.push("busybox");
    d.docker_ok(&kargs);
    for f in ["{{json .HostConfig.PortBindings}}", "{{json .Config.ExposedPorts}}", "{{.HostConfig.PublishAllPorts}}"] {
        let (b, k) = (berth_ok(&d, &["inspect", "-f", f, "bb"]), d.docker_ok(&["inspect", "-f", f, "kk"]));
        assert_eq!(json_without_nulls(&b), json_without_nulls(&k), "{f}");
    }
    berth_ok(&d, &["rm", "bb", "kk"]);
    // A server on an ephemeral host port, and an exposed, unpublished port.
    let server = "mkdir /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www";
    berth_ok(&d, &["run", "-d", "--name", "web", "-p", "127.0.0.1::8080", "-p", "127.0.0.1::53/udp", "--expose", "9000", "busybox", "sh", "-c", server]);
    let host = berth_ok(&d, &["port", "web", "8080"]);
    let port: u16 = host.trim().strip_prefix("127.0.0.1:").and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("port prints the binding: {host}"));
    let mut answer = String::new();
    wait_until(10, "httpd to answer on the published port", || {
        answer = http_get(port);
        answer.contains("hello")
    });
    assert!(answer.starts_with("HTTP/1.") && answer.ends_with("hello\n"), "{answer}");
    for args in [
        &["port", "web"][..],
        &["port", "web", "8080"],
        &["port", "web", "8080/tcp"],
        &["port", "web", "53/udp"],
        &["container", "port", "web"],
        &["ps", "--format", "{{.Names}}: {{.Ports}}"],
        &["ps", "--format", "json"],
    ] {
        same(&d, args);
    }
    for args in [&["port", "web", "9000"][..], &["port", "web", "53"], &["port", "web", "x"], &["port", "nosuch"]] {
        same_errors(&d, args);
    }
    // Host port = container port: docker groups consecutive ports into ranges.
    let (first, last) = free_port_range();
    let range = format!("127.0.0.1:{first}-{last}:{first}-{last}");
    berth_ok(&d, &["run", "-d", "--name", "ranged", "-p", &range, "busybox", "sleep", "600"]);
    let ports = berth_ok(&d, &["ps", "--filter", "name=ranged", "--format", "{{.Ports}}"]);
    assert_eq!(ports, format!("127.0.0.1:{first}-{last}->{first}-{last}/tcp\n"));
    // -P publishes the exposed ports on ephemeral ones.
    berth_ok(&d, &["run", "-d", "--name", "all", "-P", "--expose", "7000", "--expose", "7001/udp", "busybox", "sleep", "600"]);
    for args in [&["ps"][..], &["ps", "-a", "--no-trunc"], &["port", "all"], &["port", "all", "7001/udp"]] {
        same(&d, args);
    }
    berth_ok(&d, &["rm", "-f", "web", "ranged", "all"]);
}
