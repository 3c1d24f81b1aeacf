//! `GET /console/`: the web console of contract section 8, a static page whose HTML, CSS and
//! JavaScript (in `console/` beside this file, so whatever builds `src/` builds them) are built into
//! the binary (no CDN, no build step). The page calls only the public
//! `/v1` API from the browser, so it holds no clinical logic and the server never sees the case it
//! shows (the case travels in the URL fragment). These routes sit outside the bearer-token check:
//! the page itself holds no data and asks for the token when `/v1` wants one.

use super::error::ApiError;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// Where the console is served.
pub const CONSOLE_PATH: &str = "/console/";

/// Scripts and styles come from the console's own files only: no inline script or style, no other
/// origin; the API is the only thing it connects to; nothing may frame it.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The page and the files it loads: name under `/console/`, media type, content.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("console/index.html"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("console/console.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("console/app.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("console/api.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_str!("console/dom.js"),
    ),
    (
        "fields.js",
        "text/javascript; charset=utf-8",
        include_str!("console/fields.js"),
    ),
    (
        "graph.js",
        "text/javascript; charset=utf-8",
        include_str!("console/graph.js"),
    ),
    (
        "pathway-view.js",
        "text/javascript; charset=utf-8",
        include_str!("console/pathway-view.js"),
    ),
    (
        "case-view.js",
        "text/javascript; charset=utf-8",
        include_str!("console/case-view.js"),
    ),
];

/// `GET /console` (a redirect), `GET /console/` and `GET /console/{file}`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent(CONSOLE_PATH) }),
        )
        .route(CONSOLE_PATH, get(|| async { asset("index.html") }))
        .route(
            "/console/{file}",
            get(|Path(file): Path<String>| async move { asset(&file) }),
        )
}

fn asset(name: &str) -> Result<Response, ApiError> {
    let (_, media_type, body) = ASSETS
        .iter()
        .find(|(file, _, _)| *file == name)
        .ok_or(ApiError::NoRoute)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(media_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                HeaderName::from_static("cross-origin-opener-policy"),
                HeaderValue::from_static("same-origin"),
            ),
        ],
        *body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_the_page_names_is_served() {
        let page = asset_text("index.html");
        for (name, _, _) in ASSETS {
            let named_by_page = page.contains(&format!("\"{name}\""));
            let imported = ASSETS
                .iter()
                .any(|(_, _, text)| text.contains(&format!("\"./{name}\"")));
            assert!(
                *name == "index.html" || named_by_page || imported,
                "{name} is served but nothing loads it"
            );
        }
        assert!(asset("missing.js").is_err());
    }

    #[test]
    fn no_inline_script_or_style() {
        let page = asset_text("index.html");
        assert!(!page.contains("<script>"), "inline script");
        assert!(!page.contains("style="), "inline style");
        assert!(!page.contains("<style"), "inline style sheet");
    }

    fn asset_text(name: &str) -> &'static str {
        ASSETS.iter().find(|(file, ..)| *file == name).unwrap().2
    }
}
