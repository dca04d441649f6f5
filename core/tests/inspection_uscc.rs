//! The USCC validator (GB 32100-2015) against known valid and invalid codes, and by property.

use fieldseal_core::model::{Uscc, uscc::check_character};
use proptest::prelude::*;

/// Published codes of well-known companies, kept only because they pass the check independently
/// computed here (a real code that failed would mean our algorithm is wrong).
const PUBLISHED: &[&str] = &[
    "914403001922038216", // 华为技术有限公司
    "91440300708461136T", // 深圳市腾讯计算机系统有限公司
    "91330100716105852F", // 阿里巴巴（中国）有限公司
    "91110108551385082Q", // 小米科技有限责任公司
    "91110000710926094P", // 中国石油化工股份有限公司
];

/// Computed with the algorithm, covering other authorities and entity types.
const COMPUTED: &[&str] = &[
    "91321200MA1MXY3K7R", // enterprise
    "92321202MA1T7KD52H", // 个体工商户
    "91330400MA28A6EJ2X", // check character X
    "91320400MA1WQ2CU61",
];

#[test]
fn published_and_computed_codes_are_valid() {
    for code in PUBLISHED.iter().chain(COMPUTED) {
        let u = Uscc::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(u.as_str(), *code);
    }
}

#[test]
fn codes_other_authorities_issue_are_valid() {
    // 机关 (11), 事业单位 (12), 社会团体 (51), 民办非企业 (52), 基金会 (53), 农民专业合作社 (93),
    // 村级集体经济组织 (N2), 其他 (Y1).
    for prefix in ["11", "12", "51", "52", "53", "93", "N2", "Y1"] {
        let body = format!("{prefix}320100MB0123456");
        let code = format!("{body}{}", check_character(&body).unwrap());
        Uscc::parse(&code).unwrap_or_else(|e| panic!("{code}: {e}"));
    }
}

#[test]
fn invalid_codes_fail_with_the_rule_they_break() {
    let cases = [
        ("91321200MA1MXY3K7", "uscc.length"),
        ("91321200MA1MXY3K7RR", "uscc.length"),
        ("", "uscc.length"),
        ("91321200MA1MXY3K7Q", "uscc.check_character"),
        ("914403001922038217", "uscc.check_character"),
        ("91321200MI1MXY3K7R", "uscc.alphabet"),  // I is excluded
        ("91321200MA1MXY3KOR", "uscc.alphabet"),  // O is excluded
        ("91321200ma1mxy3k7r", "uscc.alphabet"),  // lowercase
        ("９1321200MA1MXY3K7R", "uscc.alphabet"), // full-width digit
        ("B1321200MA1MXY3K7R", "uscc.authority"),
        ("95321200MA1MXY3K7R", "uscc.entity_type"),
        ("913212A0MA1MXY3K7R", "uscc.division"),
    ];
    for (code, rule) in cases {
        let err = Uscc::parse(code).expect_err(code);
        assert_eq!(err.rule(), rule, "{code}: {err}");
    }
}

#[test]
fn transposed_characters_are_caught() {
    // 91440300708461136T with characters 11 and 12 swapped.
    assert!(Uscc::parse("91440300704861136T").is_err());
}

const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

fn body() -> impl Strategy<Value = String> {
    let authority = prop::sample::select(vec!["91", "92", "93", "11", "12", "51", "52", "53", "Y1"]);
    let division = "[0-9]{6}";
    let ident = proptest::collection::vec(prop::sample::select(ALPHABET.chars().collect::<Vec<_>>()), 9);
    (authority, division, ident).prop_map(|(a, d, i)| format!("{a}{d}{}", i.into_iter().collect::<String>()))
}

proptest! {
    #[test]
    fn any_body_with_its_check_character_is_valid(b in body()) {
        let code = format!("{b}{}", check_character(&b).unwrap());
        prop_assert!(Uscc::parse(&code).is_ok(), "{}", code);
    }

    #[test]
    fn changing_any_one_character_is_caught(b in body(), pos in 0usize..18, replacement in prop::sample::select(ALPHABET.chars().collect::<Vec<_>>())) {
        let code = format!("{b}{}", check_character(&b).unwrap());
        let mut chars: Vec<char> = code.chars().collect();
        prop_assume!(chars[pos] != replacement);
        chars[pos] = replacement;
        let changed: String = chars.into_iter().collect();
        prop_assert!(Uscc::parse(&changed).is_err(), "{} accepted", changed);
    }
}
