//! The client side of berthd's TCP listener, which speaks only mutual TLS: docker's flags
//! (`--tlsverify --tlscacert --tlscert --tlskey`) and environment (`DOCKER_TLS_VERIFY`,
//! `DOCKER_CERT_PATH`, whose `ca.pem`, `cert.pem` and `key.pem` are the defaults). The server's
//! certificate is always verified against the CA: berth has no `--tls` without verification.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

use crate::error::{CliError, Result};

/// The TLS settings from the command line and the environment.
#[derive(Debug, Clone, Default)]
pub struct TlsFlags {
    pub verify: bool,
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl TlsFlags {
    /// Fills what the flags leave out from `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` (or
    /// `~/.docker`), as docker does.
    pub fn with_env(mut self) -> TlsFlags {
        if std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty()) {
            self.verify = true;
        }
        let dir = std::env::var_os("DOCKER_CERT_PATH")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".docker"));
        self.ca.get_or_insert_with(|| dir.join("ca.pem"));
        self.cert.get_or_insert_with(|| dir.join("cert.pem"));
        self.key.get_or_insert_with(|| dir.join("key.pem"));
        self
    }

    /// Whether anything asks for TLS.
    pub fn wanted(&self) -> bool {
        self.verify
    }
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect())
        .map_err(|e| CliError::new(format!("read {what} {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(CliError::new(format!("{what} {} holds no certificate", path.display())));
    }
    Ok(certs)
}

/// A client configuration that trusts only `--tlscacert` and presents `--tlscert`.
pub fn client_config(f: &TlsFlags) -> Result<Arc<ClientConfig>> {
    let need = |p: &Option<PathBuf>, flag: &str| p.clone().ok_or_else(|| CliError::new(format!("--tlsverify needs {flag}")));
    let (ca, cert, key) = (need(&f.ca, "--tlscacert")?, need(&f.cert, "--tlscert")?, need(&f.key, "--tlskey")?);
    let mut roots = RootCertStore::empty();
    for c in read_certs(&ca, "--tlscacert")? {
        roots.add(c).map_err(|e| CliError::new(format!("use --tlscacert {}: {e}", ca.display())))?;
    }
    let chain = read_certs(&cert, "--tlscert")?;
    let key = PrivateKeyDer::from_pem_file(&key).map_err(|e| CliError::new(format!("read --tlskey {}: {e}", key.display())))?;
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| CliError::new(format!("TLS protocol versions: {e}")))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| CliError::new(format!("use --tlscert and --tlskey (do they belong together?): {e}")))?;
    Ok(Arc::new(config))
}

/// The name to verify the server's certificate against: an IP address or a DNS name.
pub fn server_name(host: &str) -> Result<ServerName<'static>> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_owned()).map_err(|e| CliError::new(format!("invalid daemon host name {host:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_defaults() {
        assert!(matches!(server_name("127.0.0.1").unwrap(), ServerName::IpAddress(_)));
        assert!(matches!(server_name("[::1]").unwrap(), ServerName::IpAddress(_)));
        assert!(matches!(server_name("berth.example").unwrap(), ServerName::DnsName(_)));
        let f = TlsFlags { ca: Some("/x/ca.pem".into()), ..TlsFlags::default() }.with_env();
        assert_eq!(f.ca.as_deref(), Some(Path::new("/x/ca.pem")));
        assert!(f.cert.is_some() && f.key.is_some());
        let e = client_config(&TlsFlags { verify: true, ca: Some("/nonexistent/ca.pem".into()), cert: Some("/c".into()), key: Some("/k".into()) }).unwrap_err();
        assert!(e.message.contains("read --tlscacert /nonexistent/ca.pem"), "{e}");
    }
}
