//! Phone numbers, normalised to E.164 (`+46701234567`) before they are stored or compared.
//!
//! The rule is deliberately small: an international number (`+…` or `00…`) keeps its country
//! code; a national one (leading trunk `0` or none) gets the tenant's country calling code.
//! Spaces, dashes, dots and brackets are ignored; anything else is refused. A number has 8 to
//! 15 digits in all, as E.164 allows.

/// A normalised phone number and the tokens search matches it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// `+` and digits.
    pub e164: String,
    /// The number without `+`, and without its country code, space-separated.
    pub search: String,
}

/// Normalises `input` with the tenant's country calling code (digits, e.g. `46`).
pub fn normalize(input: &str, country_code: &str) -> Result<Phone, &'static str> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err("must not be blank");
    }
    let mut digits = String::new();
    for (i, c) in trimmed.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '-' | '.' | '(' | ')' | '/' => {}
            _ => {
                return Err(
                    "may contain only digits, spaces, dashes, dots, brackets and a leading +",
                );
            }
        }
    }
    let (full, national) = if trimmed.starts_with('+') {
        (digits.clone(), None)
    } else if let Some(rest) = digits.strip_prefix("00") {
        (rest.to_owned(), None)
    } else {
        let national = digits.strip_prefix('0').unwrap_or(&digits).to_owned();
        (format!("{country_code}{national}"), Some(national))
    };
    if !(8..=15).contains(&full.len()) {
        return Err("must have 8 to 15 digits including the country code");
    }
    let national = national.unwrap_or_else(|| {
        full.strip_prefix(country_code)
            .map(str::to_owned)
            .unwrap_or_default()
    });
    let search = if national.is_empty() {
        full.clone()
    } else {
        format!("{full} {national}")
    };
    Ok(Phone {
        e164: format!("+{full}"),
        search,
    })
}

/// The digits of a search term that looks like a phone number, without a trunk `0`.
pub fn search_digits(term: &str) -> Option<String> {
    let digits: String = term.chars().filter(char::is_ascii_digit).collect();
    let looks_like_phone = digits.len() >= 4
        && term
            .chars()
            .all(|c| c.is_ascii_digit() || " +-.()/".contains(c));
    looks_like_phone.then(|| {
        digits
            .strip_prefix("00")
            .or_else(|| digits.strip_prefix('0'))
            .unwrap_or(&digits)
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_and_international_forms_meet() {
        let a = normalize("070-123 45 67", "46").unwrap();
        let b = normalize("+46 70 123 45 67", "46").unwrap();
        let c = normalize("0046701234567", "46").unwrap();
        assert_eq!(a.e164, "+46701234567");
        assert_eq!(a.e164, b.e164);
        assert_eq!(b.e164, c.e164);
        assert_eq!(a.search, "46701234567 701234567");
        assert_eq!(
            normalize("(555) 010-4477", "1").unwrap().e164,
            "+15550104477"
        );
    }

    #[test]
    fn bad_numbers_are_refused() {
        assert!(normalize("call me", "46").is_err());
        assert!(normalize("123", "46").is_err());
        assert!(normalize("+1234567890123456", "46").is_err());
        assert!(normalize("07+0", "46").is_err());
        assert!(normalize("  ", "46").is_err());
    }

    #[test]
    fn search_terms_that_look_like_numbers() {
        assert_eq!(search_digits("070 123").as_deref(), Some("70123"));
        assert_eq!(search_digits("+46 70").as_deref(), Some("4670"));
        assert_eq!(search_digits("anna"), None);
        assert_eq!(search_digits("12"), None);
    }
}
