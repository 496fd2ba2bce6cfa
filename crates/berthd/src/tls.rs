//! The API over TCP with mutual TLS (`-H tcp://… --tlsverify --tlscacert --tlscert --tlskey`):
//! every client must present a certificate signed by the given CA, as dockerd's `--tlsverify`
//! demands. Plain TCP, or TLS without client verification, is refused at start: either would
//! give root on this host to whoever reaches the port.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use berth_engine::{Engine, Principal};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server side of mutual TLS from the three PEM files.
pub fn server_config(ca: &Path, cert: &Path, key: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).with_context(|| format!("read --tlscacert {}", ca.display()))? {
        roots.add(c.with_context(|| format!("parse --tlscacert {}", ca.display()))?).with_context(|| format!("use --tlscacert {}", ca.display()))?;
    }
    if roots.is_empty() {
        bail!("--tlscacert {} holds no certificate", ca.display());
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::new(rustls::crypto::ring::default_provider()))
        .build()
        .context("set up client certificate verification")?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("read --tlscert {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parse --tlscert {}", cert.display()))?;
    if chain.is_empty() {
        bail!("--tlscert {} holds no certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| format!("read --tlskey {}", key.display()))?;
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .context("use --tlscert and --tlskey (do they belong together?)")?;
    Ok(Arc::new(config))
}

/// Serves the API on `listener` to clients with a valid certificate, until `stop`.
pub async fn serve(listener: tokio::net::TcpListener, config: Arc<ServerConfig>, engine: Arc<Engine>, stop: tokio::sync::watch::Receiver<bool>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let mut stop2 = stop.clone();
    loop {
        let conn = tokio::select! {
            c = listener.accept() => c,
            _ = stop2.wait_for(|s| *s) => return,
        };
        let (tcp, peer): (tokio::net::TcpStream, SocketAddr) = match conn {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "accept");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (acceptor, engine, stop) = (acceptor.clone(), engine.clone(), stop.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => berth_api::spawn_connection(tls, None, engine, Principal::Admin, stop),
                Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake refused"),
                Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
            }
        });
    }
}
