//! Picks the version that serves a request.
//!
//! Order: the force header (testers) wins; then a sticky key, hashed to a
//! point in `[0, 10000)` and sent to the canary iff the point is below the
//! canary weight in basis points; else a uniform random draw against the
//! weight. Because a key's point never changes, a key on the canary at
//! weight `w` stays on the canary at every weight `w' >= w` (monotone), and
//! the share of keys on the canary equals the weight when keys are many.
//! The hash is FNV-1a followed by the SplitMix64 finalizer: stable across
//! processes, platforms and releases, so replicas of the proxy agree.

use http::HeaderMap;
use http::header::COOKIE;

use crate::config::{Sticky, Version};

/// Full weight in basis points (100%).
pub const FULL_WEIGHT_BP: u32 = 10_000;

/// Converts a weight in percent to basis points, clamped to 0..=10000.
/// NaN counts as 0 (all traffic stays on the baseline).
pub fn percent_to_bp(percent: f64) -> u32 {
    if percent.is_nan() {
        return 0;
    }
    (percent.clamp(0.0, 100.0) * 100.0).round() as u32
}

pub fn bp_to_percent(bp: u32) -> f64 {
    f64::from(bp) / 100.0
}

/// The point in `[0, 10000)` a sticky key hashes to.
pub fn sticky_point(key: &[u8]) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // SplitMix64 finalizer: spreads FNV's weak low bits over the whole word.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h % u64::from(FULL_WEIGHT_BP)) as u32
}

/// The version a point goes to at a given canary weight.
pub fn version_for_point(point: u32, weight_bp: u32) -> Version {
    if point < weight_bp {
        Version::Canary
    } else {
        Version::Baseline
    }
}

/// The sticky key of a request, if it carries one.
pub fn sticky_key<'a>(sticky: &Sticky, headers: &'a HeaderMap) -> Option<&'a [u8]> {
    match sticky {
        Sticky::Header(name) => headers
            .get(name)
            .map(|v| v.as_bytes())
            .filter(|v| !v.is_empty()),
        Sticky::Cookie(name) => headers
            .get_all(COOKIE)
            .iter()
            .find_map(|v| cookie_value(v.as_bytes(), name.as_bytes())),
    }
}

/// Finds `name=value` in a `Cookie` header (`a=1; b=2`).
fn cookie_value<'a>(header: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    header.split(|b| *b == b';').find_map(|pair| {
        let pair = pair.trim_ascii();
        let eq = pair.iter().position(|b| *b == b'=')?;
        let (k, v) = (&pair[..eq], &pair[eq + 1..]);
        (k.trim_ascii() == name && !v.is_empty()).then(|| v.trim_ascii())
    })
}

/// How a request was routed (for logs and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteReason {
    Forced,
    Sticky,
    Weighted,
}

/// Chooses the version. `draw` is a uniform number in `[0, 10000)`, used
/// only when neither the force header nor a sticky key decides.
pub fn choose(
    headers: &HeaderMap,
    force_header: Option<&http::HeaderName>,
    sticky: Option<&Sticky>,
    weight_bp: u32,
    draw: impl FnOnce() -> u32,
) -> (Version, RouteReason) {
    if let Some(forced) = force_header
        .and_then(|name| headers.get(name))
        .and_then(|v| v.to_str().ok())
        .and_then(Version::parse)
    {
        return (forced, RouteReason::Forced);
    }
    if let Some(key) = sticky.and_then(|s| sticky_key(s, headers)) {
        return (
            version_for_point(sticky_point(key), weight_bp),
            RouteReason::Sticky,
        );
    }
    // Exact ends: no draw needed, and 0% / 100% are never violated.
    let v = match weight_bp {
        0 => Version::Baseline,
        w if w >= FULL_WEIGHT_BP => Version::Canary,
        w => version_for_point(draw(), w),
    };
    (v, RouteReason::Weighted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn percent_conversion_clamps() {
        assert_eq!(percent_to_bp(10.0), 1000);
        assert_eq!(percent_to_bp(12.345), 1235);
        assert_eq!(percent_to_bp(-5.0), 0);
        assert_eq!(percent_to_bp(250.0), 10_000);
        assert_eq!(percent_to_bp(f64::NAN), 0);
        assert_eq!(bp_to_percent(2500), 25.0);
    }

    #[test]
    fn sticky_points_are_stable_and_spread() {
        // Pinned: replicas and releases must agree on where a key goes.
        assert_eq!(sticky_point(b"user-1"), sticky_point(b"user-1"));
        let mut below = 0;
        for i in 0..10_000 {
            let p = sticky_point(format!("user-{i}").as_bytes());
            assert!(p < FULL_WEIGHT_BP);
            if p < 2_000 {
                below += 1;
            }
        }
        // 20% of 10000 keys: sd = 40, allow 6 sd.
        assert!((1_760..=2_240).contains(&below), "{below}");
    }

    #[test]
    fn sticky_is_monotone_in_weight() {
        for i in 0..2_000 {
            let p = sticky_point(format!("k{i}").as_bytes());
            let mut on_canary = false;
            for w in (0..=10_000).step_by(500) {
                let v = version_for_point(p, w);
                if on_canary {
                    assert_eq!(v, Version::Canary, "key k{i} left the canary at {w}");
                }
                on_canary = v == Version::Canary;
            }
            assert!(on_canary, "every key is on the canary at 100%");
        }
    }

    #[test]
    fn cookie_parsing() {
        let h = headers(&[("cookie", "a=1; session=abc ; z=9")]);
        let s = Sticky::Cookie("session".into());
        assert_eq!(sticky_key(&s, &h), Some(&b"abc"[..]));
        let h = headers(&[("cookie", "a=1"), ("cookie", "session=x")]);
        assert_eq!(sticky_key(&s, &h), Some(&b"x"[..]));
        let h = headers(&[("cookie", "sessionx=1; session=")]);
        assert_eq!(sticky_key(&s, &h), None);
    }

    #[test]
    fn force_header_wins_over_sticky_and_weight() {
        let force = HeaderName::from_static("x-rollguard-version");
        let h = headers(&[("x-rollguard-version", "Canary"), ("x-user", "u")]);
        let sticky = Sticky::Header(HeaderName::from_static("x-user"));
        let (v, r) = choose(&h, Some(&force), Some(&sticky), 0, || 0);
        assert_eq!((v, r), (Version::Canary, RouteReason::Forced));
        let h = headers(&[("x-rollguard-version", "nonsense")]);
        let (v, r) = choose(&h, Some(&force), None, 10_000, || 0);
        assert_eq!((v, r), (Version::Canary, RouteReason::Weighted));
    }

    #[test]
    fn extremes_never_draw() {
        let h = HeaderMap::new();
        let never = || panic!("no draw at 0% or 100%");
        assert_eq!(choose(&h, None, None, 0, never).0, Version::Baseline);
        assert_eq!(choose(&h, None, None, 10_000, never).0, Version::Canary);
        assert_eq!(choose(&h, None, None, 5_000, || 4_999).0, Version::Canary);
        assert_eq!(choose(&h, None, None, 5_000, || 5_000).0, Version::Baseline);
    }
}
