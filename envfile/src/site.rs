//! `[site]`: the page's bucket and the prompts the page offers on an empty chat.

use crate::check::Checker;
use crate::{EnvError, file};

/// Most starter prompts and characters in one: the service's own limits.
pub use chatbot_contract::{STARTER_PROMPT_MAX_CHARS, STARTER_PROMPTS_MAX};

/// Checks `[site].starter_prompts`: at most [`STARTER_PROMPTS_MAX`], each one line of 1 to
/// [`STARTER_PROMPT_MAX_CHARS`] characters, none twice.
pub(crate) fn check(c: &Checker, site: &file::Site) -> Result<(), EnvError> {
    let prompts = &site.starter_prompts;
    if prompts.len() > STARTER_PROMPTS_MAX {
        return Err(c.fail(
            "site.starter_prompts",
            format!(
                "has {} prompts, allowed: at most {STARTER_PROMPTS_MAX}",
                prompts.len()
            ),
        ));
    }
    for (i, prompt) in prompts.iter().enumerate() {
        let key = format!("site.starter_prompts[{i}]");
        c.check(
            &key,
            !prompt.trim().is_empty()
                && prompt.chars().count() <= STARTER_PROMPT_MAX_CHARS
                && !prompt.chars().any(char::is_control),
            prompt,
            &format!("a prompt of 1 to {STARTER_PROMPT_MAX_CHARS} characters on one line"),
        )?;
        if prompts[..i].contains(prompt) {
            return Err(c.fail(&key, format!("{prompt:?} is listed twice")));
        }
    }
    Ok(())
}
