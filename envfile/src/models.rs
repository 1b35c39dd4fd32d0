//! `[models]`: the models a request may ask for, the default one and their prices.

use crate::check::Checker;
use crate::price::{self, ModelPrice};
use crate::{EnvError, file};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// Bedrock model id or inference-profile id, e.g. `amazon.nova-lite-v1:0`.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    pub price: ModelPrice,
}

/// Checks `[models]`: the allowed models and the default, which must be one of them.
pub(crate) fn check(c: &Checker, raw: file::Models) -> Result<(Vec<Model>, String), EnvError> {
    if raw.allowed.is_empty() {
        return Err(c.fail(
            "models.allowed",
            "is empty, list at least one model as { id = \"...\", name = \"...\" }".into(),
        ));
    }
    for (i, model) in raw.allowed.iter().enumerate() {
        c.check(
            &format!("models.allowed[{i}].id"),
            is_model_id(&model.id),
            &model.id,
            "a Bedrock model or inference-profile id such as amazon.nova-lite-v1:0",
        )?;
        c.check(
            &format!("models.allowed[{i}].name"),
            !model.name.trim().is_empty(),
            &model.name,
            "a name to show",
        )?;
        if raw.allowed[..i].iter().any(|m| m.id == model.id) {
            return Err(c.fail(
                &format!("models.allowed[{i}].id"),
                format!("{:?} is listed twice", model.id),
            ));
        }
    }
    let ids: Vec<&str> = raw.allowed.iter().map(|m| m.id.as_str()).collect();
    c.check(
        "models.default",
        ids.contains(&raw.default.as_str()),
        &raw.default,
        &format!("one of models.allowed: {}", ids.join(", ")),
    )?;

    let prices = price::validate(c, &raw)?;

    let models = raw
        .allowed
        .into_iter()
        .zip(prices)
        .map(|(m, price)| Model {
            id: m.id,
            name: m.name,
            price,
        })
        .collect();
    Ok((models, raw.default))
}

fn is_model_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.contains('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'))
}
