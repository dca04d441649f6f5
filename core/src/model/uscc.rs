//! 统一社会信用代码 — the unified social credit code (USCC), GB 32100-2015.
//!
//! Eighteen characters from a 31-character alphabet (digits and capitals without I, O, S, V, Z):
//! position 1 is the registration authority (登记管理部门), 2 the entity type under that authority,
//! 3–8 the administrative division (行政区划码), 9–17 the entity identifier (主体标识码, the old
//! organisation code), and 18 a check character over the first seventeen:
//! `c18 = 31 - (Σ value(ci) · wi mod 31)`, where a result of 31 becomes `0`.
//!
//! The authority/type table includes the codes the standard's later amendments added (justice,
//! culture, tourism, religion, trade unions, the military, rural collectives), because real
//! registers contain them; an unknown pair is still rejected, since it is almost always a typo.

use serde::{Deserialize, Serialize};

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// (authority, allowed entity types). `Y` (其他) and each authority's `9` cover "other".
const AUTHORITY_TYPES: &[(u8, &[u8])] = &[
    (b'1', b"1239"),   // 机构编制: 机关, 事业单位, 编办直管群众团体, 其他
    (b'2', b"19"),     // 外交
    (b'3', b"123459"), // 司法行政: 律师执业机构, 外国律所代表处, 司法鉴定机构, 仲裁委员会, 公证机构, 其他
    (b'4', b"19"),     // 文化
    (b'5', b"1239"),   // 民政: 社会团体, 民办非企业单位, 基金会, 其他
    (b'6', b"129"),    // 旅游
    (b'7', b"129"),    // 宗教
    (b'8', b"19"),     // 工会
    (b'9', b"123"),    // 工商 (市场监管): 企业, 个体工商户, 农民专业合作社
    (b'A', b"19"),     // 中央军委改革和编制办公室
    (b'N', b"1239"),   // 农业: 组级, 村级, 乡镇级集体经济组织, 其他
    (b'Y', b"1"),      // 其他
];

/// A USCC that passed every check. Construct with [`Uscc::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Uscc(String);

/// Why a string is not a USCC. Each variant is one rule with a stable name ([`UsccError::rule`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("must have 18 characters, found {found}")]
    Length { found: usize },
    #[error("character {position} ('{found}') is not in the USCC alphabet (0-9, A-Z without I O S V Z)")]
    Alphabet { position: usize, found: char },
    #[error("registration authority '{found}' (character 1) is not defined")]
    Authority { found: char },
    #[error("entity type '{found}' (character 2) is not defined for authority '{authority}'")]
    EntityType { authority: char, found: char },
    #[error("administrative division (characters 3-8) must be six digits")]
    Division,
    #[error("check character is '{found}', the code's first 17 characters require '{expected}'")]
    CheckCharacter { expected: char, found: char },
}

impl UsccError {
    /// Stable rule name, for messages and tests.
    pub fn rule(&self) -> &'static str {
        match self {
            UsccError::Length { .. } => "uscc.length",
            UsccError::Alphabet { .. } => "uscc.alphabet",
            UsccError::Authority { .. } => "uscc.authority",
            UsccError::EntityType { .. } => "uscc.entity_type",
            UsccError::Division => "uscc.division",
            UsccError::CheckCharacter { .. } => "uscc.check_character",
        }
    }
}

fn value_of(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character for the first 17 characters of a code (which must be in the alphabet).
pub fn check_character(first17: &str) -> Result<char, UsccError> {
    let bytes = first17.as_bytes();
    if first17.chars().count() != 17 {
        return Err(UsccError::Length { found: first17.chars().count() + 1 });
    }
    let mut sum = 0u32;
    for (i, (&b, w)) in bytes.iter().zip(WEIGHTS).enumerate() {
        let v = value_of(b).ok_or(UsccError::Alphabet { position: i + 1, found: b as char })?;
        sum += v * w;
    }
    let check = (31 - sum % 31) % 31;
    Ok(ALPHABET[check as usize] as char)
}

impl Uscc {
    /// Validates `text` (surrounding whitespace is ignored; lowercase is not accepted, as the standard
    /// writes capitals and a mixed-case code on a document is a transcription error worth showing).
    pub fn parse(text: &str) -> Result<Uscc, UsccError> {
        let code = text.trim();
        let count = code.chars().count();
        if count != 18 {
            return Err(UsccError::Length { found: count });
        }
        for (i, c) in code.chars().enumerate() {
            if !c.is_ascii() || value_of(c as u8).is_none() {
                return Err(UsccError::Alphabet { position: i + 1, found: c });
            }
        }
        let b = code.as_bytes();
        let types = AUTHORITY_TYPES
            .iter()
            .find(|(a, _)| *a == b[0])
            .map(|(_, t)| *t)
            .ok_or(UsccError::Authority { found: b[0] as char })?;
        if !types.contains(&b[1]) {
            return Err(UsccError::EntityType { authority: b[0] as char, found: b[1] as char });
        }
        if !b[2..8].iter().all(u8::is_ascii_digit) {
            return Err(UsccError::Division);
        }
        let expected = check_character(&code[..17])?;
        let found = b[17] as char;
        if expected != found {
            return Err(UsccError::CheckCharacter { expected, found });
        }
        Ok(Uscc(code.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// 登记管理部门代码 — the registration authority code (character 1).
    pub fn authority(&self) -> char {
        self.0.as_bytes()[0] as char
    }

    /// 机构类别代码 — the entity type under that authority (character 2).
    pub fn entity_type(&self) -> char {
        self.0.as_bytes()[1] as char
    }

    /// 登记管理机关行政区划码 — the six-digit administrative division (characters 3–8).
    pub fn division(&self) -> &str {
        &self.0[2..8]
    }

    /// 主体标识码 — the entity identifier (characters 9–17).
    pub fn entity_identifier(&self) -> &str {
        &self.0[8..17]
    }

    /// True for enterprises registered with market regulation (`91`), the usual inspected party.
    pub fn is_enterprise(&self) -> bool {
        self.0.starts_with("91")
    }
}

impl TryFrom<String> for Uscc {
    type Error = UsccError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Uscc::parse(&s)
    }
}

impl From<Uscc> for String {
    fn from(u: Uscc) -> String {
        u.0
    }
}

impl std::fmt::Display for Uscc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_character_maps_31_to_zero() {
        // A body whose weighted sum is a multiple of 31 must end in '0', never in an out-of-range char.
        let body = "00000000000000000";
        assert_eq!(check_character(body).unwrap(), '0');
    }

    #[test]
    fn parts_are_read_from_their_positions() {
        let body = "91110108MA01ABCD1";
        let code = format!("{body}{}", check_character(body).unwrap());
        let u = Uscc::parse(&code).unwrap();
        assert_eq!((u.authority(), u.entity_type(), u.division()), ('9', '1', "110108"));
        assert_eq!(u.entity_identifier(), "MA01ABCD1");
        assert!(u.is_enterprise());
    }
}
