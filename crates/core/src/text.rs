//! What text Cairn accepts: the one place for the rules every text field
//! follows. Control characters (NUL among them) are refused everywhere but
//! tab and line breaks in multi-line text; names and titles, shown in lists
//! and notifications, are single lines and refuse the invisible characters
//! that reorder or hide text (bidi overrides and isolates, zero-width
//! characters), which let a name pose as another.

/// Why a text was refused; the message is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must not contain control characters")]
    ControlCharacter,
    #[error("must be a single line")]
    LineBreak,
    #[error("must not contain invisible formatting characters (bidi overrides, zero-width)")]
    InvisibleFormatting,
}

/// Longest name or title, in characters.
pub const MAX_NAME: usize = 100;

/// Control characters other than tab, line feed and carriage return.
fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Characters that change how text around them is ordered or shown
/// without being seen themselves.
pub fn is_invisible_formatting(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'   // zero-width space, joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
        | '\u{2066}'..='\u{2069}' // bidi isolates
        | '\u{061C}'              // Arabic letter mark
        | '\u{FEFF}'              // zero-width no-break space
    )
}

/// Any text field (descriptions, notes, queries, addresses, secrets): no
/// control character but tab and line breaks.
pub fn check_text(value: &str) -> Result<(), TextError> {
    if value.chars().any(is_forbidden_control) {
        return Err(TextError::ControlCharacter);
    }
    Ok(())
}

/// A single-line value such as an email address, a user name or a token:
/// no control character at all.
pub fn check_line(value: &str) -> Result<(), TextError> {
    if value.chars().any(|c| c == '\n' || c == '\r') {
        return Err(TextError::LineBreak);
    }
    if value.chars().any(char::is_control) {
        return Err(TextError::ControlCharacter);
    }
    Ok(())
}

/// A name or title: trimmed, 1 to `max` characters, one line, no control
/// character and no invisible formatting. Returns the trimmed name.
pub fn check_name(value: &str, max: usize) -> Result<String, TextError> {
    let name = value.trim();
    if name.is_empty() {
        return Err(TextError::Empty);
    }
    if name.chars().count() > max {
        return Err(TextError::TooLong(max));
    }
    check_line(name)?;
    if name.chars().any(is_invisible_formatting) {
        return Err(TextError::InvisibleFormatting);
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_single_visible_lines() {
        assert_eq!(
            check_name("  Faster checkout ", MAX_NAME).as_deref(),
            Ok("Faster checkout")
        );
        assert_eq!(
            check_name("Zoë – 北京", MAX_NAME).as_deref(),
            Ok("Zoë – 北京")
        );
        assert_eq!(check_name("   ", MAX_NAME), Err(TextError::Empty));
        assert_eq!(
            check_name(&"x".repeat(101), MAX_NAME),
            Err(TextError::TooLong(100))
        );
        assert_eq!(
            check_name("a\u{0}b", MAX_NAME),
            Err(TextError::ControlCharacter)
        );
        assert_eq!(check_name("a\nb", MAX_NAME), Err(TextError::LineBreak));
        for sneaky in [
            "admin\u{202E}nimda",
            "ad\u{200B}min",
            "x\u{2066}y\u{2069}",
            "\u{FEFF}x",
        ] {
            assert_eq!(
                check_name(sneaky, MAX_NAME),
                Err(TextError::InvisibleFormatting),
                "{sneaky:?}"
            );
        }
    }

    #[test]
    fn text_allows_tabs_and_line_breaks_only() {
        assert_eq!(check_text("line one\r\n\tline two"), Ok(()));
        for bad in ["a\u{0}", "\u{7}", "\u{1b}[31m", "\u{7f}", "\u{85}"] {
            assert_eq!(check_text(bad), Err(TextError::ControlCharacter), "{bad:?}");
        }
        assert_eq!(check_line("a@b.example"), Ok(()));
        assert_eq!(
            check_line("a@b.example\u{0}"),
            Err(TextError::ControlCharacter)
        );
        assert_eq!(check_line("a\tb"), Err(TextError::ControlCharacter));
    }
}
