//! Why a PromQL query gave no usable number. Every variant names the
//! Prometheus URL (or query) at fault; all of them mean "no data".

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PromError {
    #[error("{url}: no answer within {timeout_ms} ms")]
    Timeout { url: String, timeout_ms: u64 },
    #[error("{url}: cannot connect: {reason}")]
    Connect { url: String, reason: String },
    #[error("{url}: HTTP {status}: {detail}")]
    Http {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("{url}: the answer is not Prometheus API JSON ({content_type}): {start:?}")]
    NotJson {
        url: String,
        content_type: String,
        start: String,
    },
    #[error("{url}: Prometheus refused the query ({error_type}): {error}")]
    Query {
        url: String,
        error_type: String,
        error: String,
    },
    #[error(
        "query {query:?} returned an empty vector (no series matched, or its series are stale)"
    )]
    Empty { query: String },
    #[error("query {query:?} returned {series} series; aggregate it to one (e.g. with sum())")]
    ManySeries { query: String, series: usize },
    #[error("query {query:?} returned {value}, not a finite non-negative count")]
    NotACount { query: String, value: String },
    #[error("query {query:?}: unexpected result type {result_type:?}")]
    ResultType { query: String, result_type: String },
    #[error("cannot build an HTTP client for {url}: {reason}")]
    Client { url: String, reason: String },
}
