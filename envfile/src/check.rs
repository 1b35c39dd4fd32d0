//! What every section's checks use: errors that name the file and the key, and the shapes of
//! values more than one section has.

use crate::EnvError;

pub(crate) struct Checker<'a> {
    pub(crate) file: &'a str,
}

impl Checker<'_> {
    pub(crate) fn fail(&self, key: &str, message: String) -> EnvError {
        EnvError::Key {
            file: self.file.to_owned(),
            line: None,
            key: key.to_owned(),
            message,
        }
    }

    pub(crate) fn range(
        &self,
        key: &str,
        value: u64,
        min: u64,
        max: u64,
        unit: &str,
    ) -> Result<(), EnvError> {
        if (min..=max).contains(&value) {
            Ok(())
        } else {
            Err(self.fail(
                key,
                format!("{value} is out of range, allowed: {min} to {max}{unit}"),
            ))
        }
    }

    pub(crate) fn check(
        &self,
        key: &str,
        ok: bool,
        value: &str,
        allowed: &str,
    ) -> Result<(), EnvError> {
        if ok {
            Ok(())
        } else {
            Err(self.fail(key, format!("{value:?} is not allowed, expected {allowed}")))
        }
    }
}

pub(crate) fn is_domain(s: &str) -> bool {
    s.len() <= 253
        && s.contains('.')
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}
