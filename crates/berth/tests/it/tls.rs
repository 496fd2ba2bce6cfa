//! berth over TCP with mutual TLS: docker's flags and environment, containers attached over
//! it, and refusals of a foreign certificate and of TLS without verification.

use std::path::Path;
use std::process::{Command, Stdio};

use berth_testutil::daemon::TestDaemon;

use crate::{text, BERTH};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    assert!(out.status.success(), "openssl {}: {}", args.join(" "), text(&out.stderr));
}

/// `<dir>/<name>/{ca,cert,key}.pem` (docker's names), plus a server pair for 127.0.0.1.
fn pki(dir: &Path, name: &str) {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).expect("mkdir");
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend(["-days", "2", "-subj", "/CN=test CA", "-keyout", "ca-key.pem", "-out", "ca.pem"]);
    openssl(&d, &ca);
    std::fs::write(d.join("server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n").expect("ext");
    std::fs::write(d.join("client.ext"), "extendedKeyUsage=clientAuth\n").expect("ext");
    for (who, cn, key, cert) in [("server", "127.0.0.1", "server-key.pem", "server.pem"), ("client", "client", "key.pem", "cert.pem")] {
        let csr = format!("{who}.csr");
        let mut req = vec!["req"];
        req.extend(ec);
        let subj = format!("/CN={cn}");
        req.extend(["-subj", &subj, "-keyout", key, "-out", &csr]);
        openssl(&d, &req);
        let ext = format!("{who}.ext");
        openssl(&d, &["x509", "-req", "-in", &csr, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-days", "2", "-extfile", &ext, "-out", cert]);
    }
}

#[test]
fn mutual_tls_over_tcp() {
    let dir = berth_testutil::scratch_dir("btls", "pki");
    pki(&dir, "good");
    pki(&dir, "other");
    let port = berth_testutil::registry::free_port();
    let host = format!("tcp://127.0.0.1:{port}");
    let good = dir.join("good");
    let g = |f: &str| good.join(f).to_string_lossy().into_owned();
    let d = TestDaemon::start_with(&crate::berthd().to_string_lossy(), "tls", &["-H", &host, "--tlsverify", "--tlscacert", &g("ca.pem"), "--tlscert", &g("server.pem"), "--tlskey", &g("server-key.pem")]);
    d.load_busybox();
    let berth = |args: &[&str], env: &[(&str, &Path)]| {
        let mut c = Command::new(BERTH);
        c.args(args).env_remove("BERTH_HOST").env_remove("DOCKER_HOST").env_remove("DOCKER_TLS_VERIFY").env_remove("DOCKER_CERT_PATH").stdin(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("run berth")
    };
    // docker's flags: a container attached over TLS, its output and status.
    let flags = ["-H", &host, "--tlsverify", "--tlscacert", &g("ca.pem"), "--tlscert", &g("cert.pem"), "--tlskey", &g("key.pem")];
    let mut args = flags.to_vec();
    args.extend(["run", "--rm", "busybox", "sh", "-c", "echo over tls; exit 4"]);
    let out = berth(&args, &[]);
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(4), "over tls\n".to_owned()), "{}", text(&out.stderr));
    // docker's environment: DOCKER_TLS_VERIFY and DOCKER_CERT_PATH with ca.pem, cert.pem, key.pem.
    let out = berth(&["-H", &host, "version", "--format", "{{.Server.Version}}"], &[("DOCKER_TLS_VERIFY", Path::new("1")), ("DOCKER_CERT_PATH", &good)]);
    assert!(out.status.success() && !text(&out.stdout).trim().is_empty(), "{}", text(&out.stderr));
    // A client certificate of another CA (and that CA as trust): the daemon refuses it.
    let out = berth(&["-H", &host, "ps"], &[("DOCKER_TLS_VERIFY", Path::new("1")), ("DOCKER_CERT_PATH", &dir.join("other"))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("TLS handshake with"), "{}", text(&out.stderr));
    // Plain TCP, and TLS without verification, are refused before any connection.
    let out = berth(&["-H", &host, "ps"], &[]);
    assert!(text(&out.stderr).contains("berthd serves TCP only with mutual TLS"), "{}", text(&out.stderr));
    let out = berth(&["-H", &host, "--tls", "ps"], &[]);
    assert!(!out.status.success() && text(&out.stderr).contains("--tls"), "{}", text(&out.stderr));
    drop(d);
    std::fs::remove_dir_all(&dir).expect("remove the certificates");
}
