//! Reachability check of an upstream endpoint (a TCP connect), and the
//! operator-facing description of upstream failures.

use std::error::Error as StdError;
use std::time::Duration;

use http::Uri;
use tokio::net::TcpStream;

use crate::error::ProxyError;

/// How an upstream is named in messages: `http://host:port`, plus the path
/// prefix when the upstream has one.
pub fn endpoint_name(uri: &Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    match uri.authority() {
        Some(a) if matches!(uri.path(), "" | "/") && uri.query().is_none() => {
            format!("{scheme}://{a}")
        }
        _ => uri.to_string(),
    }
}

/// Opens (and closes) a TCP connection to the upstream. The error names the
/// endpoint and says why it failed.
pub async fn check_upstream(uri: &Uri, timeout: Duration) -> Result<(), ProxyError> {
    let endpoint = endpoint_name(uri);
    let host = uri.host().ok_or_else(|| ProxyError::Unreachable {
        endpoint: endpoint.clone(),
        reason: "the URI has no host".to_string(),
    })?;
    // `Uri::host` keeps the brackets of an IPv6 literal.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Ok(Ok(_stream)) => Ok(()),
        Ok(Err(e)) => Err(ProxyError::Unreachable {
            endpoint,
            reason: describe_io(&e),
        }),
        Err(_) => Err(ProxyError::Unreachable {
            endpoint,
            reason: format!("connect timeout after {timeout:?}"),
        }),
    }
}

/// A short lower-case description of an I/O failure (`connection refused`).
pub(crate) fn describe_io(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused".to_string(),
        K::ConnectionReset => "connection reset".to_string(),
        K::ConnectionAborted => "connection aborted".to_string(),
        K::TimedOut => "connect timeout".to_string(),
        K::HostUnreachable => "host unreachable".to_string(),
        K::NetworkUnreachable => "network unreachable".to_string(),
        K::AddrNotAvailable => "address not available".to_string(),
        K::UnexpectedEof => "connection closed before a response".to_string(),
        _ => e.to_string(),
    }
}

/// Describes an error by its most specific cause: the innermost I/O error
/// if there is one, else the innermost message.
pub(crate) fn describe_error(e: &(dyn StdError + 'static)) -> String {
    let mut innermost: &(dyn StdError + 'static) = e;
    let mut io: Option<&std::io::Error> = None;
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(ioe) = err.downcast_ref::<std::io::Error>() {
            io = Some(ioe);
        }
        innermost = err;
        cur = err.source();
    }
    match io {
        Some(ioe) => describe_io(ioe),
        None => innermost.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refused_port_names_the_endpoint() {
        // Bind then drop to get a port nobody listens on.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let uri: Uri = format!("http://{addr}").parse().unwrap();
        let err = check_upstream(&uri, Duration::from_secs(5))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(&addr.to_string()), "{err}");
        assert!(err.contains("connection refused"), "{err}");
    }

    #[test]
    fn endpoint_names_drop_a_bare_slash() {
        let u: Uri = "http://127.0.0.1:9002".parse().unwrap();
        assert_eq!(endpoint_name(&u), "http://127.0.0.1:9002");
        let u: Uri = "http://svc:80/v2".parse().unwrap();
        assert_eq!(endpoint_name(&u), "http://svc:80/v2");
    }

    #[tokio::test]
    async fn listening_port_is_reachable() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri: Uri = format!("http://{}", l.local_addr().unwrap())
            .parse()
            .unwrap();
        check_upstream(&uri, Duration::from_secs(5)).await.unwrap();
    }
}
