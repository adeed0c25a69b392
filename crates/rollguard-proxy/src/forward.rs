//! Turns a client request into an upstream request and an upstream response
//! into a client response: rewrites the URI onto the upstream, keeps the
//! method, path, query, headers and (streamed) body, appends
//! `x-forwarded-for`, and strips hop-by-hop headers (RFC 9110 §7.6.1).

use std::net::IpAddr;

use bytes::Bytes;
use http::header::{CONNECTION, HOST, HeaderName, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, Response, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type on both sides of the proxy.
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

pub(crate) const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Headers that describe one connection, not the message.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
];

/// Removes hop-by-hop headers, including those the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// Appends the client address to `x-forwarded-for` (merging repeated headers).
pub fn append_forwarded_for(headers: &mut HeaderMap, client: IpAddr) {
    let prior: Vec<&str> = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let value = if prior.is_empty() {
        client.to_string()
    } else {
        format!("{}, {client}", prior.join(", "))
    };
    match HeaderValue::from_str(&value) {
        Ok(v) => {
            headers.insert(X_FORWARDED_FOR, v);
        }
        // Unreachable for an IP string appended to visible ASCII; keep the
        // client's header rather than failing the request.
        Err(_) => tracing::debug!("x-forwarded-for could not be extended"),
    }
}

/// The upstream URI for a request: the upstream's scheme and authority, the
/// upstream's path prefix (if any) and the request's path and query.
pub fn upstream_uri(upstream: &Uri, request: &Uri) -> Result<Uri, http::Error> {
    let scheme = upstream.scheme().cloned().unwrap_or(Scheme::HTTP);
    let authority: Option<Authority> = upstream.authority().cloned();
    let prefix = upstream.path().trim_end_matches('/');
    let pq = request
        .path_and_query()
        .map(PathAndQuery::as_str)
        .unwrap_or("/");
    let pq = if prefix.is_empty() {
        PathAndQuery::try_from(pq)?
    } else {
        PathAndQuery::try_from(format!("{prefix}{pq}"))?
    };
    let mut b = Uri::builder().scheme(scheme).path_and_query(pq);
    if let Some(a) = authority {
        b = b.authority(a);
    }
    b.build()
}

/// Rewrites request head `parts` in place to go to `upstream` over HTTP/1.1.
pub fn prepare_request(
    parts: &mut http::request::Parts,
    upstream: &Uri,
    client: IpAddr,
) -> Result<(), http::Error> {
    // HTTP/2 clients send `:authority` instead of Host: keep what they asked for.
    if !parts.headers.contains_key(HOST)
        && let Some(a) = parts.uri.authority()
        && let Ok(v) = HeaderValue::from_str(a.as_str())
    {
        parts.headers.insert(HOST, v);
    }
    parts.uri = upstream_uri(upstream, &parts.uri)?;
    parts.version = http::Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers);
    append_forwarded_for(&mut parts.headers, client);
    Ok(())
}

/// A short plain-text response made by the proxy itself.
pub fn plain_response(status: http::StatusCode, text: String) -> Response<ProxyBody> {
    let mut resp = Response::new(
        Full::new(Bytes::from(text))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_keeps_path_and_query() {
        let up: Uri = "http://127.0.0.1:9001".parse().unwrap();
        let req: Uri = "/a/b?x=1&y=2".parse().unwrap();
        assert_eq!(
            upstream_uri(&up, &req).unwrap().to_string(),
            "http://127.0.0.1:9001/a/b?x=1&y=2"
        );
        let up: Uri = "http://svc:80/v2/".parse().unwrap();
        assert_eq!(
            upstream_uri(&up, &req).unwrap().to_string(),
            "http://svc:80/v2/a/b?x=1&y=2"
        );
        let abs: Uri = "http://client-host/p?q".parse().unwrap();
        let up: Uri = "http://127.0.0.1:9001".parse().unwrap();
        assert_eq!(
            upstream_uri(&up, &abs).unwrap().to_string(),
            "http://127.0.0.1:9001/p?q"
        );
    }

    #[test]
    fn hop_by_hop_and_connection_listed_headers_go() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        h.insert("x-keep", HeaderValue::from_static("yes"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert_eq!(h["x-keep"], "yes");
    }

    #[test]
    fn forwarded_for_appends() {
        let mut h = HeaderMap::new();
        append_forwarded_for(&mut h, "127.0.0.1".parse().unwrap());
        assert_eq!(h["x-forwarded-for"], "127.0.0.1");
        h.append("x-forwarded-for", HeaderValue::from_static("10.0.0.9"));
        append_forwarded_for(&mut h, "::1".parse().unwrap());
        assert_eq!(h["x-forwarded-for"], "127.0.0.1, 10.0.0.9, ::1");
        assert_eq!(h.get_all("x-forwarded-for").iter().count(), 1);
    }
}
