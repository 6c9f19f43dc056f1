//! The representation a request gets ([`Format`]: text, HTML or JSON), negotiated from its `Accept` header.
//!
//! `curl` sends `*/*` (or nothing) and gets plain text, exactly like the original Flask exercise; browsers rank
//! `text/html` above `*/*` and get HTML; API clients asking for `application/json` get JSON. Quality values are
//! honoured (RFC 9110 §12.5.1): the most specific matching range sets a format's weight, the highest weight wins; ties
//! go to the format the client named first, then to the order plain text, HTML, JSON (so a bare `*/*` gets plain
//! text). A header that excludes all three yields 406; a range that does not parse is skipped, and a header with no
//! parseable range is ignored.
//!
//! Parsed here rather than by `headers-accept`, which would change answers: it rejects a whole header for one bad
//! range, matches `application/json; charset=utf-8` to nothing we serve (406), reads an invalid `q` as 1, and breaks
//! equal-`q` ties by specificity instead of the client's order.

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};

use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Html,
    Json,
}

impl Format {
    /// Server preference order, used to break ties.
    const ALL: [Format; 3] = [Format::Text, Format::Html, Format::Json];

    fn media_type(self) -> (&'static str, &'static str) {
        match self {
            Format::Text => ("text", "plain"),
            Format::Html => ("text", "html"),
            Format::Json => ("application", "json"),
        }
    }

    /// The preferred format for an `Accept` header value, or `None` if it accepts none of ours.
    pub fn negotiate(accept: Option<&str>) -> Option<Format> {
        let accept = match accept.map(str::trim) {
            None | Some("") => return Some(Format::Text),
            Some(a) => a,
        };
        let ranges: Vec<Range<'_>> = accept.split(',').filter_map(Range::parse).collect();
        if ranges.is_empty() {
            // A header with no parseable range is ignored, as RFC 9110 allows.
            return Some(Format::Text);
        }
        // (weight, position of the deciding range in the header, format)
        let mut best: Option<(f32, usize, Format)> = None;
        for format in Self::ALL {
            let Some((_, position, weight)) = ranges
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.specificity(format.media_type()).map(|s| (s, i, r.q)))
                .max_by_key(|(specificity, i, _)| (*specificity, std::cmp::Reverse(*i)))
            else {
                continue;
            };
            let better = |(w, p, _): (f32, usize, Format)| weight > w || (weight == w && position < p);
            if weight > 0.0 && best.is_none_or(better) {
                best = Some((weight, position, format));
            }
        }
        best.map(|(_, _, format)| format)
    }
}

/// One media range of an `Accept` header, e.g. `text/*;q=0.5`.
struct Range<'a> {
    kind: &'a str,
    subtype: &'a str,
    q: f32,
}

impl<'a> Range<'a> {
    fn parse(item: &'a str) -> Option<Self> {
        let mut parts = item.split(';');
        let (kind, subtype) = parts.next()?.trim().split_once('/')?;
        let mut q = 1.0;
        for param in parts {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                q = value.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q))?;
            }
        }
        Some(Self { kind: kind.trim(), subtype: subtype.trim(), q })
    }

    /// How specifically this range matches `(kind, subtype)`: 2 exact, 1 `kind/*`, 0 `*/*`; `None` if it does not.
    fn specificity(&self, (kind, subtype): (&str, &str)) -> Option<u8> {
        match (self.kind, self.subtype) {
            ("*", "*") => Some(0),
            (k, "*") if k.eq_ignore_ascii_case(kind) => Some(1),
            (k, s) if k.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(subtype) => Some(2),
            _ => None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Format {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let accept = parts.headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
        let joined = accept.join(",");
        let header = if accept.is_empty() { None } else { Some(joined.as_str()) };
        Format::negotiate(header).ok_or_else(|| AppError::NotAcceptable(joined.chars().take(200).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::Format::{self, *};

    #[test]
    fn curl_and_missing_header_get_plain_text() {
        assert_eq!(Format::negotiate(None), Some(Text));
        assert_eq!(Format::negotiate(Some("*/*")), Some(Text));
        assert_eq!(Format::negotiate(Some("")), Some(Text));
    }

    #[test]
    fn browsers_get_html() {
        let firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert_eq!(Format::negotiate(Some(firefox)), Some(Html));
    }

    #[test]
    fn api_clients_get_json() {
        assert_eq!(Format::negotiate(Some("application/json")), Some(Json));
        assert_eq!(Format::negotiate(Some("application/json, text/plain, */*")), Some(Json), "axios");
        assert_eq!(Format::negotiate(Some("application/json, text/plain;q=0.5")), Some(Json));
    }

    #[test]
    fn quality_and_specificity_decide() {
        assert_eq!(Format::negotiate(Some("text/plain;q=0.1, text/html")), Some(Html));
        assert_eq!(Format::negotiate(Some("text/*, text/plain;q=0")), Some(Html));
        assert_eq!(Format::negotiate(Some("*/*;q=0.5, application/json;q=0.6")), Some(Json));
    }

    #[test]
    fn nothing_acceptable_is_none() {
        assert_eq!(Format::negotiate(Some("image/png")), None);
        assert_eq!(Format::negotiate(Some("*/*;q=0")), None);
    }

    #[test]
    fn unparseable_header_is_ignored() {
        assert_eq!(Format::negotiate(Some("garbage")), Some(Text));
    }
}
