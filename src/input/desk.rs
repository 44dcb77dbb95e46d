//! What agents set on the desk: conversation labels and canned replies.

use super::{clean, InputError, MAX_NOTE};

/// Most labels on one conversation.
pub(crate) const MAX_LABELS: usize = 10;
/// Longest label, in characters.
const MAX_LABEL: usize = 32;
/// Longest canned-reply shortcut, in characters.
const MAX_SHORTCUT: usize = 32;
/// Longest canned-reply title, in characters.
const MAX_TITLE: usize = 80;

/// A conversation's labels: each trimmed and lower-cased, 1–32 letters,
/// digits, spaces, `-` or `_`; at most ten, no duplicates, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Labels(Vec<String>);

impl Labels {
    pub(crate) fn parse(raw: Vec<String>) -> Result<Self, InputError> {
        let mut labels = Vec::with_capacity(raw.len());
        for r in raw {
            let label = clean(&r).to_lowercase();
            let n = label.chars().count();
            let allowed = |c: char| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_');
            if !(1..=MAX_LABEL).contains(&n) || !label.chars().all(allowed) {
                return Err(InputError::Label);
            }
            labels.push(label);
        }
        labels.sort();
        labels.dedup();
        if labels.len() > MAX_LABELS {
            return Err(InputError::TooManyLabels);
        }
        Ok(Self(labels))
    }

    pub(crate) fn into_vec(self) -> Vec<String> {
        self.0
    }
}

/// A shared reply agents insert with `/shortcut`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CannedReply {
    pub shortcut: String,
    pub title: String,
    pub text: String,
}

impl CannedReply {
    pub(crate) fn parse(shortcut: &str, title: &str, text: &str) -> Result<Self, InputError> {
        let shortcut = shortcut.trim().to_lowercase();
        let n = shortcut.chars().count();
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_');
        if !(1..=MAX_SHORTCUT).contains(&n) || !shortcut.chars().all(allowed) {
            return Err(InputError::Shortcut);
        }
        let title = clean(title);
        if title.is_empty() {
            return Err(InputError::Empty("titles"));
        }
        if title.chars().count() > MAX_TITLE {
            return Err(InputError::TooLong {
                what: "titles",
                max: MAX_TITLE,
            });
        }
        let text = clean(text);
        if text.is_empty() {
            return Err(InputError::Empty("replies"));
        }
        if text.chars().count() > MAX_NOTE {
            return Err(InputError::TooLong {
                what: "replies",
                max: MAX_NOTE,
            });
        }
        Ok(Self {
            shortcut,
            title,
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_tidied_and_checked() {
        let l = Labels::parse(vec![" VIP ".into(), "refund".into(), "vip".into()]).unwrap();
        assert_eq!(l.into_vec(), vec!["refund", "vip"]);
        assert_eq!(Labels::parse(vec!["".into()]), Err(InputError::Label));
        assert_eq!(Labels::parse(vec!["<b>".into()]), Err(InputError::Label));
        assert_eq!(Labels::parse(vec!["x".repeat(33)]), Err(InputError::Label));
        let many = (0..11).map(|i| format!("l{i}")).collect();
        assert_eq!(Labels::parse(many), Err(InputError::TooManyLabels));
        assert_eq!(
            Labels::parse(vec![]).unwrap().into_vec(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn canned_replies_are_checked() {
        let r = CannedReply::parse(" Refund ", "Refunds", "Hi {{first_name}}").unwrap();
        assert_eq!(r.shortcut, "refund");
        assert_eq!(
            CannedReply::parse("a b", "t", "x"),
            Err(InputError::Shortcut)
        );
        assert_eq!(
            CannedReply::parse("a", " ", "x"),
            Err(InputError::Empty("titles"))
        );
        assert!(CannedReply::parse("a", "t", &"x".repeat(2001)).is_err());
    }
}
