//! A real registry on loopback for tests: `../shared/fixtures/registry.sh` (Debian's
//! docker-registry), storage in a scratch directory, stopped on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared registry script, beside the checkout.
pub const REGISTRY_SH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/registry.sh");

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0").local_addr().expect("addr").port()
}

/// A docker-registry process on 127.0.0.1:<port>.
pub struct TestRegistry {
    pub dir: PathBuf,
    pub port: u16,
    /// `user:password` when the registry wants htpasswd logins.
    pub htpasswd: Option<String>,
}

impl TestRegistry {
    pub fn start(htpasswd: Option<&str>) -> Self {
        let r = TestRegistry { dir: crate::scratch_dir("reg", "r"), port: free_port(), htpasswd: htpasswd.map(str::to_owned) };
        r.run_start();
        r
    }

    /// Starts (or starts again, after [`TestRegistry::kill`]) the registry process.
    pub fn run_start(&self) {
        let mut cmd = Command::new("bash");
        cmd.arg(REGISTRY_SH).arg("start").arg(&self.dir).arg(self.port.to_string());
        if let Some(up) = &self.htpasswd {
            cmd.arg("--htpasswd").arg(up);
        }
        let out = cmd.output().expect("run registry.sh start");
        assert!(out.status.success(), "registry.sh start: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Pushes the layout's `latest` image as `<addr>/<repo_tag>` (with skopeo).
    pub fn push(&self, layout: &Path, repo_tag: &str) {
        let mut cmd = Command::new("bash");
        cmd.arg(REGISTRY_SH).arg("push").arg(layout).arg("latest").arg(format!("{}/{repo_tag}", self.addr()));
        if let Some(up) = &self.htpasswd {
            cmd.arg(up);
        }
        let out = cmd.output().expect("run registry.sh push");
        assert!(out.status.success(), "registry.sh push {repo_tag}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Kills the registry at once (SIGKILL: no draining of the connections it serves).
    pub fn kill(&self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("pid")) {
            let _ = Command::new("kill").arg("-9").arg(pid.trim()).status();
        }
    }

    pub fn stop(&self) {
        let _ = Command::new("bash").arg(REGISTRY_SH).arg("stop").arg(&self.dir).status();
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
