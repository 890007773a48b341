//! Scrubs secrets from every message that came from a plugin, a driver or a config file.
//!
//! Two layers: the secrets the host knows (passwords it resolved, in plain, percent-encoded
//! and form-encoded spelling) are replaced wherever they occur, and credential shapes are
//! masked even when the secret is unknown (`user:pass@host`, `password=…`).

use std::sync::OnceLock;

use regex::Regex;

const MASK: &str = "***";

/// Bytes of a message from a plugin kept before scrubbing (a longer one is cut first, so a
/// 100 MiB message costs no 100 MiB scan); a secret cut at this edge is removed by the
/// shorter cut after scrubbing.
pub const MAX_RAW_MESSAGE_BYTES: usize = 64 << 10;

/// Bytes of a message printed at most.
pub const MAX_MESSAGE_BYTES: usize = 8 << 10;

/// Bytes of a short field from a plugin (a name, a type, a version) printed at most.
pub const MAX_FIELD_BYTES: usize = 1 << 10;

/// Text from a plugin made safe to print: valid UTF-8 (invalid bytes replaced; a plugin built
/// without Rust's checks can send any bytes) and at most `max` bytes, cut at a character
/// boundary with a note of the cut.
pub fn plugin_text(text: &str, max: usize) -> String {
    let bytes = text.as_bytes();
    // Only what can be printed is read: a plugin's 100 MiB message costs what `max` bytes do.
    // (A character cut in two at the end becomes U+FFFD; the note says where the cut is.)
    let head = &bytes[..bytes.len().min(max)];
    // A plugin cannot make the host word an option it did not name. Cutting first cannot make
    // a marker: a prefix holds no marker its whole text did not.
    let head = String::from_utf8_lossy(head);
    let clean = crate::services::words::strip(&head);
    if bytes.len() > max {
        let kept = prefix(&clean, max);
        format!("{kept}… (cut at {} bytes)", kept.len())
    } else {
        cap(&clean, max)
    }
}

/// `text` cut to at most `max` bytes (plus a short note) at a character boundary.
pub fn cap(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let kept = prefix(text, max);
    format!("{kept}… (cut at {} bytes)", kept.len())
}

/// The longest start of `text` of at most `max` bytes that ends at a character boundary.
fn prefix(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A SQLSTATE as printed: exactly five characters `0-9A-Z`, else dropped (a driver that puts
/// anything else there is not reporting a SQLSTATE).
pub fn sqlstate(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    (bytes.len() == 5
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_digit() || byte.is_ascii_uppercase()))
    .then(|| text.to_owned())
}

/// Replaces secrets in text. Cheap to clone; build one per request.
#[derive(Debug, Clone, Default)]
pub struct Sanitizer {
    secrets: Vec<String>,
}

fn credential_patterns() -> &'static [(Regex, &'static str)] {
    static PATTERNS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let letter = format!("a-zA-Z{FOLDS_TO_ASCII}");
        // Any prefix, so compound names count too (`MYSQL_PWD`, `db_passwd`, `api_token`).
        let word = format!(
            "[{letter}0-9_]*(?:{}|{}|{}|{}|{})",
            caseless("password"),
            caseless("pwd"),
            caseless("passwd"),
            caseless("secret"),
            caseless("token")
        );
        [
            // scheme://user:password@host
            (
                format!(r"([{letter}][{letter}0-9+.\-]*://[^:/?#@\s]*):[^@/\s]*@"),
                "${1}:***@",
            ),
            // password=…, pwd=…, passwd=…, PGPASSWORD=…, MYSQL_PWD=… in key=value texts
            (
                format!(r#"\b((?:{word})\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s;&,)'"]+)"#),
                "${1}***",
            ),
        ]
        .into_iter()
        .filter_map(|(pattern, replacement)| {
            Regex::new(&pattern).ok().map(|regex| (regex, replacement))
        })
        .collect()
    })
}

/// The characters outside ASCII that Unicode's simple case folding matches with an ASCII
/// letter: U+017F LATIN SMALL LETTER LONG S (`s`) and U+212A KELVIN SIGN (`k`).
const FOLDS_TO_ASCII: &str = "\u{17F}\u{212A}";

/// A regex matching `word` (ASCII letters) in any case, as `(?i)` does in Unicode mode. The
/// `regex` crate is built without its Unicode case and property tables (about 4,000 load-time
/// relocations in 87 KB that every start of `plenum` copied and relocated, some 25 page
/// faults; docs/PERFORMANCE.md, "The cold start, issue 19"), and without them it refuses
/// `(?i)` on Unicode text.
fn caseless(word: &str) -> String {
    word.chars()
        .map(|letter| match letter {
            's' | 'S' => "[sS\u{17F}]".to_owned(),
            'k' | 'K' => "[kK\u{212A}]".to_owned(),
            letter if letter.is_ascii_alphabetic() => format!(
                "[{}{}]",
                letter.to_ascii_lowercase(),
                letter.to_ascii_uppercase()
            ),
            other => regex::escape(&other.to_string()),
        })
        .collect()
}

impl Sanitizer {
    /// A sanitizer that knows no secrets yet (credential shapes are still masked).
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers `secret` so every later message is scrubbed of it.
    pub fn add_secret(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let percent = percent_encode_all(secret);
        for form in [secret.to_owned(), encoded, percent] {
            if !self.secrets.contains(&form) {
                self.secrets.push(form);
            }
        }
        // Longest first, so a secret that contains another is replaced whole.
        self.secrets
            .sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    }

    /// A field from a plugin as printed: valid UTF-8, scrubbed, capped at `max` bytes.
    pub fn field(&self, text: &str, max: usize) -> String {
        let raw = plugin_text(text, max.saturating_mul(4).max(MAX_FIELD_BYTES));
        cap(&self.scrub(&raw), max)
    }

    /// A SQLSTATE as printed: its five-character form, and never one that is a secret.
    pub fn sqlstate(&self, text: &str) -> Option<String> {
        sqlstate(text).filter(|state| self.scrub(state) == *state)
    }

    /// The text with every known secret and credential shape masked.
    pub fn scrub(&self, text: &str) -> String {
        let mut clean = text.to_owned();
        for secret in &self.secrets {
            if clean.contains(secret.as_str()) {
                clean = clean.replace(secret.as_str(), MASK);
            }
        }
        for (pattern, replacement) in credential_patterns() {
            if pattern.is_match(&clean) {
                clean = pattern.replace_all(&clean, *replacement).into_owned();
            }
        }
        clean
    }
}

/// Percent-encodes every byte that is not unreserved in RFC 3986.
fn percent_encode_all(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_secret_is_removed_in_every_spelling() {
        let mut sanitizer = Sanitizer::new();
        sanitizer.add_secret("p@ss w/rd%");
        for text in [
            "failed for p@ss w/rd% here",
            "failed for p%40ss%20w%2Frd%25 here",
            "failed for p%40ss+w%2Frd%25 here",
        ] {
            let clean = sanitizer.scrub(text);
            assert_eq!(clean, "failed for *** here", "{text}");
        }
    }

    #[test]
    fn url_credentials_are_masked_without_knowing_them() {
        let clean = Sanitizer::new().scrub("cannot reach postgres://app:hunter2@db:5432/x");
        assert_eq!(clean, "cannot reach postgres://app:***@db:5432/x");
    }

    #[test]
    fn key_value_passwords_are_masked() {
        let clean = Sanitizer::new()
            .scrub("host=db password=hunter2 user=app; PGPASSWORD='s3cret' pwd=\"x y\"");
        assert!(!clean.contains("hunter2"), "{clean}");
        assert!(!clean.contains("s3cret"), "{clean}");
        assert!(!clean.contains("x y"), "{clean}");
        assert!(clean.contains("user=app"), "{clean}");
    }

    #[test]
    fn side_fields_are_checked_and_capped() {
        let mut sanitizer = Sanitizer::new();
        sanitizer.add_secret("HUNT2");
        assert_eq!(sanitizer.sqlstate("42P01").as_deref(), Some("42P01"));
        assert_eq!(sanitizer.sqlstate("HUNT2"), None);
        assert_eq!(sanitizer.sqlstate("password=x"), None);
        assert_eq!(sanitizer.sqlstate("42p01"), None);
        let long = format!("{}HUNT2", "é".repeat(3000));
        let field = sanitizer.field(&long, 100);
        assert!(field.len() < 140 && !field.contains("HUNT"), "{field}");
        assert!(sanitizer.field("v=HUNT2", 100) == "v=***");
    }

    #[test]
    fn every_credential_pattern_compiles() {
        assert_eq!(credential_patterns().len(), 2);
    }

    #[test]
    fn credential_shapes_match_in_any_case_as_unicode_folds_them() {
        // What `(?i)` matched before the `regex` crate lost its Unicode case tables, LONG S
        // and KELVIN SIGN included.
        for (text, secret) in [
            ("PassWord=hunter2", "hunter2"),
            ("PWD=hunter2", "hunter2"),
            ("DB_PASSWORD=hunter2", "hunter2"),
            ("PASSWD: hunter2", "hunter2"),
            ("Secret = hunter2", "hunter2"),
            ("TOKEN=hunter2", "hunter2"),
            ("pa\u{17F}\u{17F}word=hunter2", "hunter2"),
            ("to\u{212A}en=hunter2", "hunter2"),
            ("POSTGRES://app:hunter2@db", "hunter2"),
            ("po\u{17F}tgre\u{17F}://app:hunter2@db", "hunter2"),
            ("MYSQL_PWD=hunter2", "hunter2"),
            ("db_PASSWD: hunter2", "hunter2"),
            ("DB2_PWD=hunter2", "hunter2"),
            ("api_token=hunter2", "hunter2"),
            ("client_secret = 'hunter2'", "hunter2"),
            ("PGPASSWORD=hunter2", "hunter2"),
        ] {
            let clean = Sanitizer::new().scrub(text);
            assert!(!clean.contains(secret), "{text} -> {clean}");
        }
        for text in ["passport=abc", "tokens are fine", "pass=abc", "keyword=abc"] {
            assert_eq!(Sanitizer::new().scrub(text), text);
        }
    }

    #[test]
    fn caseless_spells_out_each_letter() {
        assert_eq!(caseless("pwd"), "[pP][wW][dD]");
        assert_eq!(caseless("sk"), "[sS\u{17F}][kK\u{212A}]");
    }

    #[test]
    fn text_without_secrets_is_unchanged() {
        let text = "no such table: users (SQLSTATE 42P01)";
        assert_eq!(Sanitizer::new().scrub(text), text);
    }
}
