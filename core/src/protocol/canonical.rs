//! 规范化 JSON — canonical JSON, RFC 8785 (JSON Canonicalization Scheme, JCS).
//!
//! Everything fieldseal signs is a JSON value written in exactly one way, so that the device, intake
//! and any later verifier (a court's expert with a JavaScript one-liner) hash the same bytes no
//! matter how the value was stored or re-serialised in between. The rules, all from RFC 8785:
//!
//! - no whitespace; object members sorted by their keys' UTF-16 code units (not UTF-8 bytes, not
//!   code points: the two orders differ for characters beyond U+FFFF);
//! - strings escape only `"` `\` and control characters, with the short forms `\b \f \n \r \t`
//!   and lowercase `\u00xx` for the rest; everything else, `/` and non-ASCII included, is literal UTF-8;
//! - numbers are written as ECMAScript's `Number.prototype.toString` writes the IEEE-754 double:
//!   shortest round-trip digits, plain notation for magnitudes in [1e-6, 1e21), `1e+21`-style
//!   exponents outside it, `-0` as `0`.
//!
//! Two choices beyond the RFC, both refusals rather than silent changes:
//! - integers beyond ±2^53 are accepted only when the double nearest to them prints as the very same
//!   digits (1e19 does, 2^60 does not); others are [`NumberIssue::IntegerOutOfRange`]: a signed ID
//!   must not change value between the signer and a JavaScript verifier. Such values travel as strings.
//! - [`parse_strict`] rejects duplicate object keys, which RFC 8785 requires and which would let two
//!   parsers disagree about what a signed document says.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::{NumberIssue, ProtocolError};

/// 2^53: every integer of at most this magnitude is exactly a double, and prints without exponent.
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// The canonical text of `value`.
pub fn canonicalize(value: &Value) -> Result<String, ProtocolError> {
    let mut out = String::new();
    write_value(value, &mut out)
        .map_err(|(path, issue)| ProtocolError::NonCanonicalNumber { path: path.render(), issue })?;
    Ok(out)
}

/// Parses JSON text into a value, rejecting duplicate object keys (serde_json would keep the last).
///
/// Nesting is limited by serde_json's recursion limit (128), so hostile input cannot exhaust the stack.
pub fn parse_strict(text: &str) -> Result<Value, ProtocolError> {
    serde_json::from_str::<StrictValue>(text)
        .map(|v| v.0)
        .map_err(|e| ProtocolError::malformed("JSON", e.to_string()))
}

/// A double as ECMAScript's `Number.prototype.toString` writes it (RFC 8785 §3.2.2.3).
pub fn format_number(value: f64) -> Result<String, NumberIssue> {
    if !value.is_finite() {
        return Err(NumberIssue::NotFinite);
    }
    if value == 0.0 {
        // Both +0 and -0.
        return Ok("0".to_owned());
    }
    let mut out = String::new();
    if value < 0.0 {
        out.push('-');
    }
    let (digits, exponent) = shortest_digits(value.abs());
    // ECMAScript's names: value = 0.d1d2…dk × 10^n, i.e. the decimal point sits after n digits.
    let k = digits.len() as i32;
    let n = exponent + 1;
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).abs().to_string());
    }
    Ok(out)
}

/// The shortest digits that read back as `abs` (positive, finite), and the decimal exponent of the
/// first digit, chosen as ECMAScript chooses them.
fn shortest_digits(abs: f64) -> (String, i32) {
    // Rust's `{:e}` without a precision prints the shortest digit string that reads back as the
    // same double, and the closest such string: ECMAScript's k-minimal, closest s. Rust breaks an
    // exact tie upward, though, where ECMAScript takes the even candidate (1424953923781206.25
    // prints as …206.2 in JavaScript, …206.3 in Rust), so ties are settled here.
    let (digits, exponent) = split_scientific(&format!("{abs:e}"));
    let k = digits.len();
    // The exact decimal value of the double: no double needs more than 767 significant digits.
    let (exact, exact_exponent) = split_scientific(&format!("{abs:.770e}"));
    let exact = exact.trim_end_matches('0');
    if exact.len() == k + 1 && exact.ends_with('5') {
        let floor = &exact[..k];
        let reads_back = |candidate: &str| {
            format!("{candidate}e{}", exact_exponent - (k as i32 - 1)).parse::<f64>() == Ok(abs)
        };
        if let Some(ceil) = increment_digits(floor) {
            if reads_back(floor) && reads_back(&ceil) {
                let floor_is_even = floor.bytes().last().is_some_and(|d| (d - b'0') % 2 == 0);
                let chosen = if floor_is_even { floor.to_owned() } else { ceil };
                return (chosen, exact_exponent);
            }
        }
    }
    (digits, exponent)
}

/// `d1d2…dk` and the exponent from Rust's `d1.d2…dke±x`.
fn split_scientific(sci: &str) -> (String, i32) {
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci, "0"));
    // Rust always prints a decimal exponent after `e`; "0" only guards an impossible shape.
    (mantissa.chars().filter(|c| *c != '.').collect(), exponent.parse().unwrap_or(0))
}

/// The decimal digit string one greater, or None when it would need one more digit.
fn increment_digits(digits: &str) -> Option<String> {
    let mut bytes = digits.as_bytes().to_vec();
    for b in bytes.iter_mut().rev() {
        if *b == b'9' {
            *b = b'0';
        } else {
            *b += 1;
            return String::from_utf8(bytes).ok();
        }
    }
    None
}

/// Where in a document a number failed, built only on the error path.
#[derive(Default)]
struct Pointer(Vec<String>);

impl Pointer {
    fn under(mut self, segment: String) -> Self {
        self.0.push(segment);
        self
    }

    /// RFC 6901 JSON pointer; segments were pushed innermost first.
    fn render(&self) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        self.0.iter().rev().map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1"))).collect()
    }
}

type WriteResult = Result<(), (Pointer, NumberIssue)>;

fn write_value(value: &Value, out: &mut String) -> WriteResult {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(n, out).map_err(|issue| (Pointer::default(), issue))?,
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out).map_err(|(p, issue)| (p.under(i.to_string()), issue))?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(item, out).map_err(|(p, issue)| (p.under(key.clone()), issue))?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_number(n: &Number, out: &mut String) -> Result<(), NumberIssue> {
    if let Some(u) = n.as_u64() {
        out.push_str(&integer_text(i128::from(u))?);
    } else if let Some(i) = n.as_i64() {
        out.push_str(&integer_text(i128::from(i))?);
    } else {
        // Without serde_json's arbitrary_precision (not enabled in this workspace) a number that
        // is neither u64 nor i64 is an f64, so as_f64 always answers; NaN is the unreachable fallback.
        out.push_str(&format_number(n.as_f64().unwrap_or(f64::NAN))?);
    }
    Ok(())
}

fn integer_text(i: i128) -> Result<String, NumberIssue> {
    let decimal = i.to_string();
    if i.unsigned_abs() <= u128::from(MAX_EXACT_INTEGER) {
        return Ok(decimal);
    }
    // JCS reads every number as a double: `as` rounds to nearest, ties to even, exactly as parsing
    // the decimal text does in JavaScript. The number is accepted when that double prints as the
    // very same digits, so the canonical text of any double (say 3774042347146798000) reads back.
    if format_number(i as f64)? == decimal { Ok(decimal) } else { Err(NumberIssue::IntegerOutOfRange) }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let b = c as u32 as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[b >> 4]));
                out.push(char::from(HEX[b & 0xf]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A `Value` whose deserialisation refuses duplicate object keys.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("number is not finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let StrictValue(item) = access.next_value()?;
            if map.insert(key, item).is_some() {
                // The key itself is left out of the message: it is document content.
                return Err(de::Error::custom("duplicate object key"));
            }
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn canon(text: &str) -> String {
        canonicalize(&parse_strict(text).unwrap()).unwrap()
    }

    /// RFC 8785 §3.2.2: the specification's sample object.
    #[test]
    fn rfc8785_sample_object_canonicalizes_as_the_spec_prints_it() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50,
                      2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        assert_eq!(
            canon(input),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    /// RFC 8785 §3.2.3: members sort by UTF-16 code units, so U+1F600 (D83D DE00) sorts before U+FB33.
    #[test]
    fn rfc8785_sorting_example_orders_keys_by_utf16_code_units() {
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let expected = concat!(
            r#"{"\r":"Carriage Return","1":"One","#,
            "\"\u{80}\":\"Control\",",
            "\"ö\":\"Latin Small Letter O With Diaeresis\",",
            "\"€\":\"Euro Sign\",",
            "\"😀\":\"Emoji: Grinning Face\",",
            "\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
        assert_eq!(canon(input), expected);
    }

    /// RFC 8785 Appendix B: IEEE-754 bit patterns and the text ECMAScript gives them.
    #[test]
    fn rfc8785_number_table_formats_like_ecmascript() {
        let table: &[(u64, &str)] = &[
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for (bits, expected) in table {
            let f = f64::from_bits(*bits);
            assert_eq!(format_number(f).as_deref(), Ok(*expected), "bits {bits:#018x}");
        }
        assert_eq!(format_number(f64::from_bits(0x7fffffffffffffff)), Err(NumberIssue::NotFinite));
        assert_eq!(format_number(f64::from_bits(0x7ff0000000000000)), Err(NumberIssue::NotFinite));
        assert_eq!(format_number(f64::NEG_INFINITY), Err(NumberIssue::NotFinite));
    }

    #[test]
    fn exponent_boundaries_switch_exactly_where_ecmascript_switches() {
        let cases: &[(f64, &str)] = &[
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e21, "1.5e+21"),
            (1e-6, "0.000001"),
            (1.5e-6, "0.0000015"),
            (1e-7, "1e-7"),
            (-1.25e-7, "-1.25e-7"),
            (0.1, "0.1"),
            (-0.5, "-0.5"),
            (123.0, "123"),
            (-0.0, "0"),
        ];
        for (f, expected) in cases {
            assert_eq!(format_number(*f).as_deref(), Ok(*expected), "{f:?}");
        }
    }

    /// Values exactly halfway between two shortest candidates: ECMAScript takes the even digit,
    /// Rust's own formatting would round up (checked against Node.js once, then pinned here).
    #[test]
    fn exact_ties_between_shortest_candidates_go_to_the_even_digit() {
        let cases: &[(u64, &str)] = &[
            (0x42e35997cc4d85f4, "170204158127151.62"),
            (0x43179085685d83c9, "1658206780088562.2"),
            (0x4301ec01565edee2, "630570636532700.2"),
        ];
        for (bits, expected) in cases {
            assert_eq!(format_number(f64::from_bits(*bits)).as_deref(), Ok(*expected), "{bits:#018x}");
        }
    }

    #[test]
    fn integers_print_without_exponent_up_to_two_to_the_53() {
        assert_eq!(canon("9007199254740992"), "9007199254740992");
        assert_eq!(canon("-9007199254740992"), "-9007199254740992");
        assert_eq!(canon("-0"), "0");
        assert_eq!(canon("0"), "0");
        // Beyond 2^53 but printed identically by ECMAScript: accepted unchanged.
        assert_eq!(canon("10000000000000000000"), "10000000000000000000");
        // Not exactly a double, but the canonical text of the double nearest to it.
        assert_eq!(canon("-3774042347146798000"), "-3774042347146798000");
        assert_eq!(canon("-3.774042347146798e18"), "-3774042347146798000");
    }

    #[test]
    fn integers_that_would_change_value_as_a_double_are_refused_with_their_path() {
        for text in [
            "9007199254740993",
            "-9007199254740993",
            "3774042347146798001",
            "1152921504606846976",
            "18446744073709551615",
            "-9223372036854775808",
        ] {
            let doc = parse_strict(&format!(r#"{{"a":[1,{{"b/c":{text}}}]}}"#)).unwrap();
            match canonicalize(&doc) {
                Err(ProtocolError::NonCanonicalNumber { path, issue }) => {
                    assert_eq!(issue, NumberIssue::IntegerOutOfRange, "{text}");
                    assert_eq!(path, "/a/1/b~1c");
                }
                other => panic!("{text}: expected refusal, got {other:?}"),
            }
        }
    }

    #[test]
    fn strings_escape_only_what_rfc8785_escapes() {
        let s: String = (0u32..0x20).filter_map(char::from_u32).collect::<String>() + "\"\\/\u{7f}é😀";
        let got = canonicalize(&Value::String(s)).unwrap();
        let expected = concat!(
            "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f",
            "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f",
            "\\\"\\\\/\u{7f}é😀\""
        );
        assert_eq!(got, expected);
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        assert!(matches!(parse_strict(r#"{"a":1,"a":2}"#), Err(ProtocolError::Malformed { .. })));
        assert!(matches!(parse_strict(r#"[{"x":{"a":1,"a":1}}]"#), Err(ProtocolError::Malformed { .. })));
        assert!(parse_strict(r#"{"a":1,"A":2}"#).is_ok());
    }

    #[test]
    fn parse_strict_rejects_what_json_rejects() {
        for bad in ["", "{", "[1,]", "{\"a\":1} x", "NaN", "\"\\ud800\""] {
            assert!(parse_strict(bad).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse_strict(&deep).is_err(), "nesting beyond the recursion limit");
    }

    #[test]
    fn empty_containers_and_literals() {
        assert_eq!(
            canon(r#" { "b" : [ ] , "a" : { } , "c" : [null , true] } "#),
            r#"{"a":{},"b":[],"c":[null,true]}"#
        );
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-(MAX_EXACT_INTEGER as i64)..=(MAX_EXACT_INTEGER as i64)).prop_map(|i| json!(i)),
            any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn canonical_text_is_a_fixed_point(v in arb_json()) {
            let once = canonicalize(&v).unwrap();
            let reparsed = parse_strict(&once).unwrap();
            prop_assert_eq!(canonicalize(&reparsed).unwrap(), once);
        }

        #[test]
        fn canonical_text_is_independent_of_member_order(
            entries in prop::collection::btree_map(any::<String>(), arb_json(), 0..8),
            seed in any::<u64>(),
        ) {
            let forward: Map<String, Value> = entries.clone().into_iter().collect();
            // A deterministic shuffle driven by the seed: insertion order differs, content does not.
            let mut shuffled: Vec<_> = entries.into_iter().collect();
            let len = shuffled.len().max(1) as u64;
            for i in 0..shuffled.len() {
                let j = ((seed.rotate_left(i as u32) ^ (i as u64 * 0x9e37)) % len) as usize;
                shuffled.swap(i, j);
            }
            let mut backward = Map::new();
            for (k, v) in shuffled.into_iter().rev() {
                backward.insert(k, v);
            }
            prop_assert_eq!(
                canonicalize(&Value::Object(forward)).unwrap(),
                canonicalize(&Value::Object(backward)).unwrap()
            );
        }

        #[test]
        fn every_finite_double_reads_back_exactly(bits in any::<u64>()) {
            let f = f64::from_bits(bits);
            prop_assume!(f.is_finite());
            let text = format_number(f).unwrap();
            let back: f64 = text.parse().unwrap();
            prop_assert!(back == f, "{} -> {} -> {}", f, text, back);
        }

        #[test]
        fn canonical_text_is_valid_json_without_whitespace_outside_strings(v in arb_json()) {
            let text = canonicalize(&v).unwrap();
            let reparsed: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(canonicalize(&reparsed).unwrap(), text.clone());
            let mut in_string = false;
            let mut escaped = false;
            for c in text.chars() {
                if in_string {
                    prop_assert!((c as u32) >= 0x20, "raw control character inside a string");
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => in_string = false,
                        _ => {}
                    }
                } else {
                    prop_assert!(!c.is_whitespace());
                    in_string = c == '"';
                }
            }
        }
    }
}
