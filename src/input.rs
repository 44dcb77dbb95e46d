//! Values from the outside, checked once at the edge.
//!
//! Each newtype can only hold what its check allows, so code past the
//! sockets and the REST handlers never checks a length or trims a string
//! again. A failed check is an [`InputError`] whose text says what is
//! allowed. Text loses its control characters (NUL and the like, but not
//! line breaks and tabs) and its bidirectional embedding, override and
//! isolate characters, which could make a console show text other than
//! what was sent; ordinary right-to-left text is kept as it is.

mod desk;

pub(crate) use desk::{CannedReply, Labels};

use crate::error::{Coded, ErrorCode};

/// Longest `client_id`, in characters.
const MAX_CLIENT_ID: usize = 64;
/// Longest customer profile field (name, email, external id).
pub(crate) const MAX_PROFILE_FIELD: usize = 254;
/// Longest note, resolution or rating comment, in characters.
pub(crate) const MAX_NOTE: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InputError {
    #[error("client_id must be 1-64 printable characters")]
    ClientId,
    #[error("the message text is empty")]
    EmptyMessage,
    #[error("{0} may not be empty")]
    Empty(&'static str),
    #[error("{what} are limited to {max} characters")]
    TooLong { what: &'static str, max: usize },
    #[error("the email address does not look valid")]
    Email,
    #[error("customer fields are limited to {MAX_PROFILE_FIELD} characters")]
    ProfileField,
    #[error("score must be 1 to 5")]
    Score,
    #[error("labels are 1-32 letters, digits, spaces, '-' or '_'")]
    Label,
    #[error("a conversation has at most {} labels", desk::MAX_LABELS)]
    TooManyLabels,
    #[error("shortcuts are 1-32 characters a-z, 0-9, '-' or '_'")]
    Shortcut,
}

/// Whether `c` is stripped from text: a control character other than a
/// line break or tab, or a bidirectional embedding, override or isolate.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `raw` without the characters [`unsafe_char`] names, trimmed.
pub(crate) fn clean(raw: &str) -> String {
    raw.chars()
        .filter(|&c| !unsafe_char(c))
        .collect::<String>()
        .trim()
        .to_owned()
}

impl Coded for InputError {
    fn code(&self) -> ErrorCode {
        match self {
            InputError::TooLong { .. } => ErrorCode::TooLarge,
            _ => ErrorCode::BadFrame,
        }
    }
}

/// The client's id for a message it sends: 1–64 printable characters.
/// A resend carries the same id, which is how a message is stored once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientId(String);

impl ClientId {
    pub(crate) fn parse(raw: String) -> Result<Self, InputError> {
        let n = raw.chars().count();
        if (1..=MAX_CLIENT_ID).contains(&n)
            && !raw.chars().any(|c| c.is_control() || unsafe_char(c))
        {
            Ok(Self(raw))
        } else {
            Err(InputError::ClientId)
        }
    }

    /// Whether `raw` would parse; for tying a parse error to its message.
    pub(crate) fn is_valid(raw: &str) -> bool {
        Self::parse(raw.to_owned()).is_ok()
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for ClientId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The text of a chat message: trimmed, not empty, at most the configured
/// number of characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MessageText(String);

impl MessageText {
    pub(crate) fn parse(raw: &str, max_chars: usize) -> Result<Self, InputError> {
        let text = clean(raw);
        if text.is_empty() {
            return Err(InputError::EmptyMessage);
        }
        if text.chars().count() > max_chars {
            return Err(InputError::TooLong {
                what: "messages",
                max: max_chars,
            });
        }
        Ok(Self(text))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

/// An email address a customer leaves: one `@`-separated user and host
/// with a dot, no spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Email(String);

impl Email {
    pub(crate) fn parse(raw: &str) -> Result<Self, InputError> {
        let email = raw.trim();
        if email.chars().any(unsafe_char) {
            return Err(InputError::Email);
        }
        let plausible = email.chars().count() <= MAX_PROFILE_FIELD
            && email
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
            && !email.chars().any(char::is_whitespace);
        match plausible {
            true => Ok(Self(email.to_owned())),
            false => Err(InputError::Email),
        }
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

/// A customer's rating of a conversation: 1–5 stars and an optional
/// comment (trimmed; an empty one is none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rating {
    pub score: u8,
    pub comment: Option<String>,
}

impl Rating {
    pub(crate) fn parse(score: u8, comment: Option<String>) -> Result<Self, InputError> {
        if !(1..=5).contains(&score) {
            return Err(InputError::Score);
        }
        let comment = optional_text(comment, "comments")?;
        Ok(Self { score, comment })
    }
}

/// An agent's note or a resolution: trimmed, 1 to 2,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note(String);

impl Note {
    /// `what` names the kind of text in errors ("notes", "resolutions").
    pub(crate) fn parse(raw: &str, what: &'static str) -> Result<Self, InputError> {
        let text = clean(raw);
        if text.is_empty() {
            return Err(InputError::Empty(what));
        }
        if text.chars().count() > MAX_NOTE {
            return Err(InputError::TooLong {
                what,
                max: MAX_NOTE,
            });
        }
        Ok(Self(text))
    }

    /// An optional note: blank is none.
    pub(crate) fn optional(
        raw: Option<String>,
        what: &'static str,
    ) -> Result<Option<Self>, InputError> {
        Ok(optional_text(raw, what)?.map(Self))
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

fn optional_text(raw: Option<String>, what: &'static str) -> Result<Option<String>, InputError> {
    let text = raw.map(|c| clean(&c)).filter(|c| !c.is_empty());
    if text.as_ref().is_some_and(|c| c.chars().count() > MAX_NOTE) {
        return Err(InputError::TooLong {
            what,
            max: MAX_NOTE,
        });
    }
    Ok(text)
}

/// A customer profile field from `hello`: cleaned, at most 254
/// characters; blank is none.
pub(crate) fn profile_field(raw: Option<String>) -> Result<Option<String>, InputError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    if raw.chars().count() > MAX_PROFILE_FIELD {
        return Err(InputError::ProfileField);
    }
    Ok(Some(clean(&raw)).filter(|f| !f.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_short_and_printable() {
        assert!(ClientId::parse("m1".into()).is_ok());
        assert!(ClientId::parse("x".repeat(64)).is_ok());
        assert_eq!(ClientId::parse(String::new()), Err(InputError::ClientId));
        assert_eq!(ClientId::parse("x".repeat(65)), Err(InputError::ClientId));
        assert_eq!(ClientId::parse("a\nb".into()), Err(InputError::ClientId));
    }

    #[test]
    fn message_text_is_trimmed_and_bounded_in_characters() {
        assert_eq!(MessageText::parse("  hi \n", 10).unwrap().as_str(), "hi");
        assert_eq!(
            MessageText::parse(" \t ", 10),
            Err(InputError::EmptyMessage)
        );
        assert!(MessageText::parse(&"é".repeat(10), 10).is_ok());
        let e = MessageText::parse(&"é".repeat(11), 10).unwrap_err();
        assert_eq!(e.code(), ErrorCode::TooLarge);
        assert_eq!(e.to_string(), "messages are limited to 10 characters");
    }

    #[test]
    fn emails_must_look_like_one() {
        assert!(Email::parse(" ada@example.org ").is_ok());
        for bad in ["ada", "@example.org", "ada@example", "a da@example.org"] {
            assert_eq!(Email::parse(bad), Err(InputError::Email), "{bad}");
        }
    }

    #[test]
    fn control_and_bidi_override_characters_are_stripped_but_rtl_text_is_kept() {
        let spoof = "refund\u{202E}gnp.exe\u{0000} ok\u{2066}x\u{2069}";
        assert_eq!(
            MessageText::parse(spoof, 100).unwrap().as_str(),
            "refundgnp.exe okx"
        );
        let hebrew = "שלום, איפה ההזמנה שלי?";
        assert_eq!(MessageText::parse(hebrew, 100).unwrap().as_str(), hebrew);
        let arabic = "مرحبا\nأين طلبي؟";
        assert_eq!(MessageText::parse(arabic, 100).unwrap().as_str(), arabic);
        assert_eq!(
            MessageText::parse("\u{202E}\u{0000}", 100),
            Err(InputError::EmptyMessage)
        );
        assert_eq!(
            ClientId::parse("m\u{202E}1".into()),
            Err(InputError::ClientId)
        );
        assert_eq!(
            Email::parse("kim\u{202E}@example.org"),
            Err(InputError::Email)
        );
        assert_eq!(
            profile_field(Some("Kim\u{202E} \u{0000}".into())),
            Ok(Some("Kim".into()))
        );
        assert_eq!(profile_field(Some("\u{0007}".into())), Ok(None));
        assert_eq!(
            Note::parse("a\u{2067}b", "notes").unwrap().into_string(),
            "ab"
        );
    }

    #[test]
    fn ratings_and_notes() {
        assert_eq!(Rating::parse(0, None), Err(InputError::Score));
        assert_eq!(Rating::parse(5, Some("  ".into())).unwrap().comment, None);
        assert_eq!(
            Rating::parse(3, Some("x".repeat(2001))).unwrap_err().code(),
            ErrorCode::TooLarge
        );
        assert_eq!(
            Note::parse(" ", "notes").unwrap_err().to_string(),
            "notes may not be empty"
        );
        assert_eq!(Note::optional(Some(" ".into()), "resolutions"), Ok(None));
    }
}
