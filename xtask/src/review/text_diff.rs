//! The template's text diff.

use similar::TextDiff;

/// Unified diff (3 lines of context) from the deployed template to the new one, with the two
/// names as headers; empty when the texts are equal. A stack that does not exist yet has an
/// empty `deployed`, so every line shows as added.
pub fn template_diff(deployed: &str, new: &str, deployed_name: &str, new_name: &str) -> String {
    if deployed == new {
        return String::new();
    }
    TextDiff::from_lines(deployed, new)
        .unified_diff()
        .context_radius(3)
        .header(deployed_name, new_name)
        .missing_newline_hint(false)
        .to_string()
}
