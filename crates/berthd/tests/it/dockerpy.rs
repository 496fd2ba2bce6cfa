//! docker-py (the Python SDK) against berthd: ping, version, run, logs, exec, stop, wait, rm,
//! images: pull, tag, push, history, save, load, remove; networks and published ports.

use std::process::{Command, Output, Stdio};

use crate::daemon;
use berth_testutil::daemon::TestDaemon;

fn show(what: &str, out: &Output) -> String {
    format!("{what} ({}):\nstdout: {}\nstderr: {}", out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn run(args: &[&str]) -> Output {
    Command::new("timeout").arg("600").args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("run {}: {e}", args.join(" ")))
}

/// Makes `import docker` work: pip installs docker-py (and apt installs pip) when missing.
fn ensure_docker_py() {
    if run(&["python3", "-c", "import docker"]).status.success() {
        return;
    }
    if !run(&["python3", "-m", "pip", "--version"]).status.success() {
        let out = run(&["apt-get", "install", "-y", "-qq", "python3-pip"]);
        assert!(out.status.success(), "docker-py is missing and pip cannot be installed: {}", show("apt-get install python3-pip", &out));
    }
    let out = run(&["python3", "-m", "pip", "install", "--break-system-packages", "-q", "docker"]);
    assert!(out.status.success(), "docker-py is missing and cannot be installed: {}", show("pip install docker", &out));
    let out = run(&["python3", "-c", "import docker"]);
    assert!(out.status.success(), "{}", show("import docker after pip install", &out));
}

const SCRIPT: &str = r##"
import time
import docker

client = docker.from_env(timeout=60)
assert client.ping() is True
v = client.version()
assert v.get("ApiVersion") and v.get("Version"), v

out = client.containers.run("busybox", ["echo", "hi"], remove=True)
assert out == b"hi\n", out
left = client.containers.list(all=True)
assert left == [], ("remove=True left", left)

c = client.containers.run("busybox", ["sh", "-c", "echo started; sleep 30"], detach=True, name="pyc")
c.reload()
assert c.status == "running", c.status
assert c.name == "pyc", c.name
deadline = time.time() + 10
while b"started" not in c.logs():
    assert time.time() < deadline, ("no 'started' in the logs", c.logs())
    time.sleep(0.05)

r = c.exec_run(["sh", "-c", "echo $((6*7))"])
# The output is sometimes lost (see exec_run_returns_the_output): only the exit code is sure.
assert r.exit_code == 0 and r.output in (b"42\n", b""), r

# PID 1 of a PID namespace has no default action for SIGTERM and neither sh nor sleep sets a
# handler, so the TERM is ignored and the stop ends in SIGKILL after the timeout: 128 + 9.
t = time.time()
c.stop(timeout=1)
took = time.time() - t
st = c.wait(timeout=30)
assert st["StatusCode"] == 137, st
assert 0.9 <= took < 10, ("stop took", took)
c.reload()
assert c.status == "exited", c.status
assert c.attrs["State"]["ExitCode"] == 137, c.attrs["State"]

c.remove()
left = client.containers.list(all=True)
assert left == [], left

tags = [t for i in client.images.list() for t in i.tags]
assert "busybox:latest" in tags, tags
print("OK")
"##;

/// Runs `script` with python3 against `d`; asserts it exits 0 and prints a line "OK".
#[track_caller]
fn run_script(d: &TestDaemon, script: &str, env: &[(&str, &str)]) {
    let out = Command::new("timeout")
        .args(["180", "python3", "-c", script])
        .env("DOCKER_HOST", format!("unix://{}", d.sock.display()))
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .env("DOCKER_CONFIG", d.dir.join("docker-config"))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.lines().any(|l| l == "OK"), "{}", show("the docker-py script", &out));
}

#[test]
fn docker_py_runs_execs_stops_and_removes() {
    ensure_docker_py();
    let d = daemon("dockerpy");
    run_script(&d, SCRIPT, &[]);
}

/// `exec_run` a hundred times: each must return the command's output.
const EXEC_SCRIPT: &str = r##"
import docker

client = docker.from_env(timeout=60)
c = client.containers.run("busybox", ["sleep", "300"], detach=True, name="pyexec")
outputs = [c.exec_run(["sh", "-c", "echo $((6*7))"]) for _ in range(100)]
bad = [r for r in outputs if r.exit_code != 0 or r.output != b"42\n"]
assert not bad, ("%d of 100 exec_run calls lost their output, e.g. %r" % (len(bad), bad[0]))
c.remove(force=True)
print("OK")
"##;

#[test]
fn docker_py_exec_run_returns_the_output() {
    ensure_docker_py();
    let d = daemon("dockerpy-exec");
    run_script(&d, EXEC_SCRIPT, &[]);
}

/// Images through docker-py: pull from a registry, tag, push, history, save, load, remove.
const IMAGES_SCRIPT: &str = r##"
import io, os, docker

reg = os.environ["REGISTRY"]
client = docker.from_env(timeout=60)
img = client.images.pull(f"{reg}/py/busybox", tag="1")
assert f"{reg}/py/busybox:1" in img.tags, img.tags
assert img.attrs["RootFS"]["Type"] == "layers", img.attrs
assert img.tag(f"{reg}/py/copy", "2")
lines = list(client.images.push(f"{reg}/py/copy", tag="2", stream=True, decode=True))
assert any("aux" in l and l["aux"]["Tag"] == "2" for l in lines), lines
assert not any("error" in l for l in lines), lines
hist = img.history()
assert hist[0]["Id"] == img.id, hist
data = b"".join(img.save(named=True))
client.images.remove(f"{reg}/py/copy:2")
client.images.remove(img.id, force=True)
assert client.images.list() == [], client.images.list()
loaded = client.images.load(io.BytesIO(data))
assert [i.id for i in loaded] == [img.id], loaded
try:
    client.images.pull(f"{reg}/py/busybox", tag="missing")
    raise AssertionError("pulling a missing tag succeeded")
except docker.errors.NotFound as e:
    assert "not found" in str(e), e
print("OK")
"##;

#[test]
fn docker_py_pulls_pushes_saves_and_loads() {
    ensure_docker_py();
    let reg = berth_testutil::registry::TestRegistry::start(None);
    reg.push(berth_testutil::busybox_layout(), "py/busybox:1");
    let d = TestDaemon::start(crate::BERTHD, "dockerpy-images");
    run_script(&d, IMAGES_SCRIPT, &[("REGISTRY", &reg.addr())]);
}

const NETWORK_SCRIPT: &str = r##"
import socket, time
import docker

client = docker.from_env(timeout=60)
ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.216.4.0/24", gateway="10.216.4.1")])
net = client.networks.create("pynet", driver="bridge", ipam=ipam, labels={"k": "v"})
assert net.attrs["IPAM"]["Config"][0]["Subnet"] == "10.216.4.0/24", net.attrs
web = client.containers.run("busybox", ["httpd", "-f", "-p", "80", "-h", "/etc"], detach=True, name="pyweb",
                            network="pynet", ports={"80/tcp": ("127.0.0.1", None)})
web.reload()
binding = web.ports["80/tcp"][0]
assert binding["HostIp"] == "127.0.0.1", web.ports
port = int(binding["HostPort"])
deadline = time.time() + 10
while True:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=3)
        s.sendall(b"GET /hostname HTTP/1.0\r\n\r\n")
        body = s.makefile("rb").read()
        break
    except OSError:
        assert time.time() < deadline
        time.sleep(0.1)
assert web.id[:12].encode() in body, body
assert web.attrs["NetworkSettings"]["Networks"]["pynet"]["IPAddress"].startswith("10.216.4."), web.attrs["NetworkSettings"]
# Unset endpoint members are there, null, as dockerd sends them.
ep = web.attrs["NetworkSettings"]["Networks"]["pynet"]
assert (ep["IPAMConfig"], ep["Links"], ep["DriverOpts"]) == (None, None, None), ep
listed = client.api.containers(filters={"name": "pyweb"})[0]["NetworkSettings"]["Networks"]["pynet"]
assert (listed["IPAMConfig"], listed["Links"], listed["DriverOpts"]) == (None, None, None), listed
out = client.containers.run("busybox", ["wget", "-qO-", "http://pyweb/hostname"], network="pynet", remove=True)
assert out.strip() == web.id[:12].encode(), out
other = client.containers.run("busybox", ["sleep", "60"], detach=True, name="pyother")
net.connect(other, aliases=["buddy"])
net.reload()
assert sorted(c.name for c in net.containers) == ["pyother", "pyweb"], net.containers
net.disconnect(other)
other.remove(force=True)
web.remove(force=True)
assert [n.name for n in client.networks.list(filters={"label": "k=v"})] == ["pynet"]
net.remove()
try:
    client.networks.get("pynet")
    raise AssertionError("pynet is still there")
except docker.errors.NotFound:
    pass
print("OK")
"##;

#[test]
fn docker_py_networks_and_published_ports() {
    ensure_docker_py();
    let d = daemon("dockerpy-net");
    run_script(&d, NETWORK_SCRIPT, &[]);
}
