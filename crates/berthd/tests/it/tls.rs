//! The API over TCP with mutual TLS: the docker CLI with a client certificate gets in; without
//! one, or with one from another CA, the handshake fails.

use std::path::Path;
use std::process::Command;

use berth_testutil::daemon::TestDaemon;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    assert!(out.status.success(), "openssl {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, under `dir`.
fn make_pki(dir: &Path, prefix: &str) {
    let ca_key = format!("{prefix}ca-key.pem");
    let ca = format!("{prefix}ca.pem");
    openssl(dir, &["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=berth test CA", "-keyout", &ca_key, "-out", &ca]);
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n").expect("ext");
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").expect("ext");
    for (who, cn) in [("server", "127.0.0.1"), ("client", "client")] {
        let key = format!("{prefix}{who}-key.pem");
        let csr = format!("{prefix}{who}.csr");
        openssl(dir, &["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", &format!("/CN={cn}"), "-keyout", &key, "-out", &csr]);
        openssl(dir, &["x509", "-req", "-in", &csr, "-CA", &ca, "-CAkey", &ca_key, "-CAcreateserial", "-days", "2", "-extfile", &format!("{who}.ext"), "-out", &format!("{prefix}{who}.pem")]);
    }
}

#[test]
fn mutual_tls_lets_in_only_clients_with_a_certificate_of_the_ca() {
    let pki = berth_testutil::scratch_dir("tls", "pki");
    make_pki(&pki, "");
    make_pki(&pki, "other-");
    let port = berth_testutil::registry::free_port();
    let host = format!("tcp://127.0.0.1:{port}");
    let p = |f: &str| pki.join(f).to_string_lossy().into_owned();
    let d = TestDaemon::start_with(crate::BERTHD, "tls", &["-H", &host, "--tlsverify", "--tlscacert", &p("ca.pem"), "--tlscert", &p("server.pem"), "--tlskey", &p("server-key.pem")]);
    let docker = |cert: &str, key: &str| {
        Command::new("docker")
            .args(["--tlsverify", "--tlscacert", &p("ca.pem"), "--tlscert", &p(cert), "--tlskey", &p(key), "-H", &host, "version", "--format", "{{.Server.Version}}"])
            .env("DOCKER_CONFIG", d.dir.join("docker-config"))
            .env_remove("DOCKER_HOST")
            .output()
            .expect("docker")
    };
    let ok = docker("client.pem", "client-key.pem");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(!String::from_utf8_lossy(&ok.stdout).trim().is_empty());
    let foreign = docker("other-client.pem", "other-client-key.pem");
    assert!(!foreign.status.success(), "a certificate of another CA got in");
    // no client certificate at all
    let out = Command::new("curl").args(["-sS", "--cacert", &p("ca.pem"), &format!("https://127.0.0.1:{port}/_ping")]).output().expect("curl");
    assert!(!out.status.success(), "curl without a certificate got in: {}", String::from_utf8_lossy(&out.stdout));
    let out = Command::new("curl").args(["-sS", "--cacert", &p("ca.pem"), "--cert", &p("client.pem"), "--key", &p("client-key.pem"), &format!("https://127.0.0.1:{port}/_ping")]).output().expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK");
    drop(d);
    std::fs::remove_dir_all(&pki).expect("cleanup");
}
