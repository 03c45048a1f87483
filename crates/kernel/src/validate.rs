//! Input checks that answer `userErrors`: every failed check names the field, the rule and a
//! sentence, and all failures of one input are reported together.

use crate::error::{Error, Rejection, UserError, UserErrorCode};

/// Collects the violations of one input.
#[derive(Debug, Default)]
pub struct Check {
    errors: Vec<UserError>,
}

impl Check {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation.
    pub fn add(
        &mut self,
        path: &str,
        code: UserErrorCode,
        message: impl Into<String>,
    ) -> &mut Self {
        self.errors.push(UserError::new(path, code, message));
        self
    }

    /// The value is not blank.
    pub fn required(&mut self, path: &str, value: &str) -> &mut Self {
        if value.trim().is_empty() {
            self.add(path, UserErrorCode::Required, "must not be blank");
        }
        self
    }

    /// The value has at most `max` characters.
    pub fn max_len(&mut self, path: &str, value: &str, max: usize) -> &mut Self {
        let len = value.chars().count();
        if len > max {
            self.add(
                path,
                UserErrorCode::TooLong,
                format!("must be at most {max} characters (got {len})"),
            );
        }
        self
    }

    /// The value is non-blank and at most `max` characters.
    pub fn text(&mut self, path: &str, value: &str, max: usize) -> &mut Self {
        self.required(path, value).max_len(path, value, max)
    }

    /// The value is an ISO 4217 currency code (upper case).
    pub fn currency(&mut self, path: &str, code: &str) -> &mut Self {
        if !crate::money::is_currency(code) {
            self.add(
                path,
                UserErrorCode::InvalidFormat,
                "must be an ISO 4217 code such as SEK or USD",
            );
        }
        self
    }

    /// An amount of money at `path` (`amountMinor` and `currency`): not negative, in a known
    /// currency.
    pub fn money(&mut self, path: &str, amount_minor: i64, currency: &str) -> &mut Self {
        if amount_minor < 0 {
            self.add(
                &format!("{path}.amountMinor"),
                UserErrorCode::OutOfRange,
                "must not be negative",
            );
        }
        self.currency(&format!("{path}.currency"), currency)
    }

    /// The value lies within `range`.
    pub fn within(
        &mut self,
        path: &str,
        value: i32,
        range: std::ops::RangeInclusive<i32>,
    ) -> &mut Self {
        if !range.contains(&value) {
            let (lo, hi) = range.into_inner();
            self.add(
                path,
                UserErrorCode::OutOfRange,
                format!("must be between {lo} and {hi}"),
            );
        }
        self
    }

    /// The value is an email address.
    pub fn email(&mut self, path: &str, value: &str) -> &mut Self {
        if !is_email(value) {
            self.add(
                path,
                UserErrorCode::InvalidFormat,
                "must be an email address like name@example.com",
            );
        }
        self
    }

    /// Whether any check failed so far.
    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }

    /// `Ok` when every check passed, otherwise every violation at once.
    pub fn finish(self) -> Result<(), Rejection> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Rejection::Invalid(self.errors))
        }
    }
}

/// Checks `expectedVersion` against the stored version: a stale one is a CONFLICT.
pub fn check_version(expected: Option<i32>, actual: i32) -> Result<(), Rejection> {
    match expected {
        Some(v) if v != actual => Err(crate::error::Error::conflict(format!(
            "the object changed since you read it (version {v}, now {actual}); reload and retry"
        ))
        .into()),
        _ => Ok(()),
    }
}

/// The longest search term, characters: a term is words a person types, and the databases'
/// pattern and full-text parsers have limits of their own far below any string bound.
pub const MAX_SEARCH_CHARS: usize = 200;

/// A search argument: trimmed, `None` when blank, BAD_USER_INPUT naming `field` when it is
/// longer than [`MAX_SEARCH_CHARS`].
pub fn search_term(field: &str, term: Option<String>) -> Result<Option<String>, Error> {
    let Some(term) = term else {
        return Ok(None);
    };
    let term = term.trim();
    let len = term.chars().count();
    if len > MAX_SEARCH_CHARS {
        return Err(Error::bad_input(
            field,
            format!("`{field}` must be at most {MAX_SEARCH_CHARS} characters (got {len})"),
        ));
    }
    Ok(Some(term.to_owned()).filter(|t| !t.is_empty()))
}

/// `%term%` for `LIKE … ESCAPE '\'`: the term's own `%`, `_` and `\` match literally.
pub fn like_contains(term: &str) -> String {
    let escaped = term
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Lower-cased and trimmed: the form emails are stored and compared in.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Lower case without diacritics (`Tandvård Ölund` -> `tandvard olund`), the form search text
/// is stored and matched in, identically on both backends (PostgreSQL's `simple` text search
/// keeps accents; SQLite's FTS5 drops them). Covers the Latin letters of European languages.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' => out.push('a'),
            'æ' => out.push_str("ae"),
            'ç' | 'ć' | 'č' => out.push('c'),
            'ď' | 'đ' => out.push('d'),
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' | 'ī' => out.push('i'),
            'ł' | 'ľ' => out.push('l'),
            'ñ' | 'ń' | 'ň' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => out.push('o'),
            'œ' => out.push_str("oe"),
            'ř' => out.push('r'),
            'ś' | 'š' | 'ş' => out.push('s'),
            'ß' => out.push_str("ss"),
            'ť' | 'ţ' => out.push('t'),
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'ź' | 'ż' | 'ž' => out.push('z'),
            'þ' => out.push_str("th"),
            'ð' => out.push('d'),
            other => out.push(other),
        }
    }
    out
}

/// A practical email check: one `@`, a local part, a dotted domain, no spaces, at most 254
/// characters. Deliverability is the mail server's business.
pub fn is_email(email: &str) -> bool {
    let email = email.trim();
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(is_email("ana.lopez@example.com"));
        assert!(is_email(" Ana@Example.co.uk "));
        assert!(!is_email("ana"));
        assert!(!is_email("ana@localhost"));
        assert!(!is_email("ana @example.com"));
        assert!(!is_email("@example.com"));
        assert!(!is_email("a@b@example.com"));
        assert!(!is_email("ana@example..com"));
        assert_eq!(normalize_email(" Ana@Example.COM "), "ana@example.com");
    }

    #[test]
    fn search_terms_are_trimmed_bounded_and_escaped() {
        assert_eq!(search_term("search", None).unwrap(), None);
        assert_eq!(search_term("search", Some("  ".into())).unwrap(), None);
        assert_eq!(
            search_term("search", Some(" ana ".into())).unwrap(),
            Some("ana".into())
        );
        let err = search_term("filter.search", Some("x".repeat(201))).unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
        assert!(err.message().contains("filter.search"));
        assert_eq!(like_contains("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn folding_drops_case_and_accents() {
        assert_eq!(fold("Tandvård Ölund"), "tandvard olund");
        assert_eq!(fold("Straße Øster Łódź"), "strasse oster lodz");
    }

    #[test]
    fn every_violation_is_reported_with_its_path() {
        let mut check = Check::new();
        check
            .text("input.name", "  ", 10)
            .max_len("input.note", "abcdef", 3)
            .email("input.email", "nope");
        let Err(Rejection::Invalid(errors)) = check.finish() else {
            panic!("expected violations");
        };
        let codes: Vec<_> = errors.iter().map(|e| (e.field.join("."), e.code)).collect();
        assert_eq!(
            codes,
            vec![
                ("input.name".to_owned(), UserErrorCode::Required),
                ("input.note".to_owned(), UserErrorCode::TooLong),
                ("input.email".to_owned(), UserErrorCode::InvalidFormat),
            ]
        );
    }
}
