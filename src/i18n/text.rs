//! A catalogue text made before its reader's language is known: an API error is made deep in a
//! handler, and the language arrives with the request (`Accept-Language`), read only when the
//! answer is written. The text is kept as the `tr!` call that renders it, so its key stays a
//! literal at the place that says it (the catalogue check finds it there) and its arguments are
//! whatever that call captured.

use std::fmt;
use std::sync::Arc;

use super::Lang;

/// `Text::new(move |l| tr!(l, "error-field-empty", name = &name))`; rendered with
/// [`Text::render`], or in English by `Display` (logs, and callers that name no language).
#[derive(Clone)]
pub struct Text(Arc<dyn Fn(Lang) -> String + Send + Sync>);

impl Text {
    pub fn new(render: impl Fn(Lang) -> String + Send + Sync + 'static) -> Self {
        Self(Arc::new(render))
    }

    /// The text in `lang`.
    pub fn render(&self, lang: Lang) -> String {
        (self.0)(lang)
    }
}

impl<F: Fn(Lang) -> String + Send + Sync + 'static> From<F> for Text {
    fn from(render: F) -> Self {
        Self::new(render)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::en()))
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.render(Lang::en()), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_renders_in_the_language_asked_and_in_english_by_default() {
        let n = 45;
        let t = Text::new(move |l| crate::tr!(l, "unit-seconds", count = n));
        assert_eq!(t.render(Lang::ru()), "45 секунд");
        assert_eq!(t.to_string(), "45 seconds");
        assert_eq!(format!("{t:?}"), "\"45 seconds\"");
    }
}
