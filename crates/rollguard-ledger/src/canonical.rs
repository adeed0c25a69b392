//! Canonical JSON: the one byte encoding of a JSON value that the ledger hashes.
//!
//! The rules (stable; changing them breaks every existing chain):
//!
//! - objects: keys sorted by their UTF-8 bytes, written as `{"k":v,...}`;
//! - arrays: `[v,...]` in order;
//! - no whitespace anywhere;
//! - `null`, `true`, `false` as written;
//! - integers (`u64`/`i64` in the `Value`) in plain decimal, exactly;
//! - floats as ECMAScript `Number.prototype.toString` writes them (the rule of
//!   RFC 8785, JCS, §3.2.2.3): the shortest digits that round-trip, plain
//!   notation for decimal exponents from -6 to 20 (`0.1`, `1`, `1.5`,
//!   `100000000000000000000`, `0.000001`), otherwise `1e+21` / `1e-7` style;
//!   `-0` as `0`. This is written here, not delegated to `serde_json`, whose
//!   float formatting has changed between releases;
//! - strings in double quotes, escaping only `"` as `\"`, `\` as `\\`, the
//!   control characters U+0008, U+000C, U+000A, U+000D, U+0009 as `\b`, `\f`,
//!   `\n`, `\r`, `\t`, every other character below U+0020 as `\u00xx`
//!   (lowercase hex); everything else, including non-ASCII, as raw UTF-8.
//!
//! This is RFC 8785 except that keys sort by UTF-8 bytes (not UTF-16 code
//! units) and integers beyond 2^53 stay exact.
//!
//! Key order does not depend on how the `serde_json::Map` is built (the
//! `preserve_order` feature of serde_json may be on in the workspace): keys are
//! sorted here explicitly.

use serde_json::Value;

/// Appends the canonical encoding of `value` to `out`.
pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(f) = n.as_f64() {
                write_f64(out, f);
            } else {
                // Only with serde_json's `arbitrary_precision`: keep its text.
                out.extend_from_slice(n.to_string().as_bytes());
            }
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, key);
                out.push(b':');
                write_value(out, item);
            }
            out.push(b'}');
        }
    }
}

/// The canonical encoding of `value` as a `String`.
pub fn to_string(value: &Value) -> String {
    let mut out = Vec::with_capacity(64);
    write_value(&mut out, value);
    // Only valid UTF-8 is ever written: ASCII punctuation and the UTF-8 of
    // `str`s and number renderings.
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends a finite float in ECMAScript `Number::toString` form.
pub fn write_f64(out: &mut Vec<u8>, f: f64) {
    if f == 0.0 || !f.is_finite() {
        // JSON values cannot hold NaN or infinities; -0 prints as 0.
        out.push(b'0');
        return;
    }
    if f < 0.0 {
        out.push(b'-');
    }
    // Rust's `{:e}` gives the shortest round-tripping digits: "d.ddde<exp>".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let k = digits.len() as i32;
    // value = 0.DIGITS x 10^n
    let n = exp + 1;
    if k <= n && n <= 21 {
        out.extend_from_slice(digits.as_bytes());
        out.extend(std::iter::repeat_n(b'0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        out.extend_from_slice(int.as_bytes());
        out.push(b'.');
        out.extend_from_slice(frac.as_bytes());
    } else if -6 < n && n <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-n) as usize));
        out.extend_from_slice(digits.as_bytes());
    } else {
        let (first, rest) = digits.split_at(1);
        out.extend_from_slice(first.as_bytes());
        if !rest.is_empty() {
            out.push(b'.');
            out.extend_from_slice(rest.as_bytes());
        }
        out.push(b'e');
        out.push(if n > 0 { b'+' } else { b'-' });
        out.extend_from_slice((n - 1).abs().to_string().as_bytes());
    }
}

/// Appends `s` as a canonical JSON string literal.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x00..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ]),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        let v = json!({"b": [1, 2.5, null], "a": {"z": true, "y": "x"}});
        assert_eq!(
            to_string(&v),
            r#"{"a":{"y":"x","z":true},"b":[1,2.5,null]}"#
        );
    }

    #[test]
    fn escapes_like_serde_json() {
        let s = "q\"b\\n\nt\tc\u{1}\u{1f}é\u{7f}";
        let mut out = Vec::new();
        write_str(&mut out, s);
        let ours = String::from_utf8(out).expect("utf8");
        let theirs = serde_json::to_string(s).expect("serialize");
        assert_eq!(ours, theirs);
    }

    #[test]
    fn canonical_text_round_trips_through_serde_json() {
        let v = json!({"e": 1e21, "f": 0.1, "g": -3, "h": 1.0, "u": u64::MAX, "x": -2.5e-9});
        let text = to_string(&v);
        let back: Value = serde_json::from_str(&text).expect("parse");
        assert_eq!(to_string(&back), text);
        assert_eq!(
            text,
            r#"{"e":1e+21,"f":0.1,"g":-3,"h":1,"u":18446744073709551615,"x":-2.5e-9}"#
        );
    }

    fn arb_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            any::<u64>().prop_map(|u| json!(u)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            ".*".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map(".*", inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Stored text re-parsed and re-encoded gives the same bytes, so an
        /// exported event verifies on its own; and it is valid JSON for the
        /// same value.
        #[test]
        fn canonical_text_is_a_fixed_point(v in arb_json()) {
            let text = to_string(&v);
            let back: Value = serde_json::from_str(&text).expect("canonical text is JSON");
            proptest::prop_assert_eq!(to_string(&back), text);
        }
    }

    /// Number vectors from RFC 8785 (JCS) and ECMAScript.
    #[test]
    fn floats_follow_ecmascript() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (123.456, "123.456"),
            (333333333.3333333, "333333333.3333333"),
            (9007199254740992.0, "9007199254740992"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (295147905179352830000.0, "295147905179352830000"),
            (4.50, "4.5"),
            (0.002, "0.002"),
            (0.000001234, "0.000001234"),
        ];
        for &(f, want) in cases {
            let mut out = Vec::new();
            write_f64(&mut out, f);
            assert_eq!(String::from_utf8(out).expect("ascii"), want, "{f:e}");
        }
    }
}
