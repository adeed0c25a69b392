//! The mutual-TLS accept loop: each accepted TCP connection is handshaken
//! with tokio-rustls (a client without a certificate from our CA fails here,
//! with one log line saying why: none, expired, foreign, revoked), the
//! verified peer certificate becomes a [`PeerIdentity`] extension, and the
//! connection is served by hyper-util's HTTP/1 + HTTP/2 auto builder.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use rollguard_mtls::{PeerIdentity, describe_tls_error};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` turns true.
pub async fn serve_mtls(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = async { let _ = shutdown.wait_for(|s| *s).await; } => return,
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::warn!(%peer, "TLS client {peer}: {}", describe_tls_error(&e));
                    return;
                }
                Err(_) => {
                    tracing::warn!(%peer, "TLS client {peer}: handshake timed out");
                    return;
                }
            };
            let identity = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(PeerIdentity::from_der);
            let identity = match identity {
                Some(Ok(id)) => id,
                Some(Err(e)) => {
                    tracing::warn!(%peer, "TLS client {peer}: refused: {e}");
                    return;
                }
                None => {
                    tracing::warn!(%peer, "TLS client {peer}: refused: no client certificate");
                    return;
                }
            };
            tracing::debug!(%peer, name = %identity.name, "TLS client connected");
            let svc = TowerToHyperService::new(app.layer(Extension(Arc::new(identity))));
            if let Err(e) = Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await
            {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}
