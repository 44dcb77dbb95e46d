//! The browser surfaces, compiled into the binary from `web/`: the
//! embeddable chat widget (`/widget.js`), the demo shop page (`/`), the
//! agent console (`/console`) and FAQ authoring (`/console/faq`). Nothing
//! is read from disk at run time and nothing is fetched from elsewhere.
//!
//! Every asset is sent with `Cache-Control: no-cache` and a strong `ETag`
//! (a hash of its bytes), so browsers revalidate with a cheap `304` and
//! pick up a new build at once; gzipped (once, on first use) to clients
//! that take it. HTML pages also get a strict
//! `Content-Security-Policy`: scripts, styles, images and connections from
//! this origin only (plus its `ws:`/`wss:` twin for the sockets), no inline
//! code, no framing.

use std::sync::OnceLock;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

macro_rules! asset {
    ($path:literal, $type:expr, $file:literal) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!("../../web/", $file)),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("/", HTML, "index.html"),
    asset!("/demo.css", CSS, "demo.css"),
    asset!("/favicon.svg", "image/svg+xml", "favicon.svg"),
    asset!("/widget.js", JS, "widget.js"),
    asset!("/widget.css", CSS, "widget.css"),
    asset!("/console", HTML, "console/index.html"),
    asset!("/console/faq", HTML, "console/faq.html"),
    asset!("/console/app.css", CSS, "console/app.css"),
    asset!("/console/common.js", JS, "console/common.js"),
    asset!("/console/app.js", JS, "console/app.js"),
    asset!("/console/stats.js", JS, "console/stats.js"),
    asset!("/console/faq.js", JS, "console/faq.js"),
    asset!("/console/inbox.js", JS, "console/inbox.js"),
    asset!("/console/briefing.js", JS, "console/briefing.js"),
    asset!("/console/alerts.js", JS, "console/alerts.js"),
    asset!("/console/canned.js", JS, "console/canned.js"),
    asset!("/console/search.js", JS, "console/search.js"),
    asset!("/console/tools.css", CSS, "console/tools.css"),
];

/// The routes of every asset, to be merged into the main router.
pub(super) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new().route(
        "/console/",
        get(|| async { Redirect::permanent("/console") }),
    );
    for (index, asset) in ASSETS.iter().enumerate() {
        router = router.route(
            asset.path,
            get(move |headers: HeaderMap| async move { serve(index, &headers) }),
        );
    }
    router
}

/// One `"sha256-prefix"` ETag per asset, computed on first use.
fn etags() -> &'static [HeaderValue] {
    static ETAGS: OnceLock<Vec<HeaderValue>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let digest = Sha256::digest(a.body);
                let tag = format!("\"{}\"", hex::encode(&digest[..12]));
                HeaderValue::from_str(&tag).expect("hex is a valid header value")
            })
            .collect()
    })
}

/// Each asset gzipped once on first use, when that makes it smaller.
fn gzipped() -> &'static [Option<Vec<u8>>] {
    static GZIPPED: OnceLock<Vec<Option<Vec<u8>>>> = OnceLock::new();
    GZIPPED.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                use std::io::Write;
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                gz.write_all(a.body).ok()?;
                let packed = gz.finish().ok()?;
                (packed.len() < a.body.len()).then_some(packed)
            })
            .collect()
    })
}

/// Whether the client takes gzip (`Accept-Encoding: gzip`, not `q=0`).
fn takes_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused =
                parts.any(|p| p.replace(' ', "").starts_with("q=0") && !p.contains("q=0."));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

fn serve(index: usize, request: &HeaderMap) -> Response {
    let asset = &ASSETS[index];
    let gzip = gzipped()[index].as_deref().filter(|_| takes_gzip(request));
    // The two encodings are different bytes, so different tags.
    let etag = &match gzip {
        Some(_) => {
            let tag = etags()[index]
                .to_str()
                .unwrap_or_default()
                .trim_end_matches('"');
            HeaderValue::from_str(&format!("{tag}-gz\"")).unwrap_or_else(|_| etags()[index].clone())
        }
        None => etags()[index].clone(),
    };
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == "*" || t.as_bytes() == etag.as_bytes())
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = gzip.unwrap_or(asset.body);
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            body,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    if gzip.is_some() {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(header::ETAG, etag.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if asset.content_type == HTML {
        if let Ok(csp) = HeaderValue::from_str(&content_security_policy(request)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        // `frame-ancestors 'none'` above; this for browsers older than it.
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// Only this origin. `connect-src 'self'` covers `ws:`/`wss:` in current
/// browsers but not in every one still in use, so the socket's own
/// address is named too when the `Host` header is a plain host name.
fn content_security_policy(request: &HeaderMap) -> String {
    let sockets = request
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| is_plain_host(h))
        .map(|h| format!(" ws://{h} wss://{h}"))
        .unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'{sockets}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// `host`, `host:port`, `[v6]:port`: nothing that could end the directive.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_of(path: &str) -> usize {
        ASSETS.iter().position(|a| a.path == path).expect("asset")
    }

    fn request(host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        h
    }

    #[test]
    fn pages_get_their_type_and_a_strict_policy() {
        let page = serve(index_of("/console"), &request("chat.example:8080"));
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()[header::CONTENT_TYPE], HTML);
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
        let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(
            csp.contains("connect-src 'self' ws://chat.example:8080 wss://chat.example:8080;"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");

        let script = serve(index_of("/widget.js"), &request("chat.example"));
        assert_eq!(script.headers()[header::CONTENT_TYPE], JS);
        assert!(script
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .is_none());
    }

    #[test]
    fn no_page_may_be_framed() {
        for (i, asset) in ASSETS.iter().enumerate() {
            if asset.content_type != HTML {
                continue;
            }
            for host in ["chat.example", "a b", ""] {
                let page = serve(i, &request(host));
                let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
                    .to_str()
                    .unwrap();
                assert!(csp.contains("frame-ancestors 'none'"), "{}", asset.path);
                assert_eq!(page.headers()[header::X_FRAME_OPTIONS], "DENY");
            }
        }
    }

    #[test]
    fn a_matching_etag_gets_not_modified() {
        let i = index_of("/widget.css");
        let first = serve(i, &HeaderMap::new());
        let etag = first.headers()[header::ETAG].clone();
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, etag.clone());
        let second = serve(i, &again);
        assert_eq!(second.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(second.headers()[header::ETAG], etag);

        let mut stale = HeaderMap::new();
        stale.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"old\""));
        assert_eq!(serve(i, &stale).status(), StatusCode::OK);
    }

    #[test]
    fn odd_host_headers_stay_out_of_the_policy() {
        assert!(is_plain_host("[::1]:8080"));
        assert!(!is_plain_host("evil; script-src *"));
        let csp = content_security_policy(&request("a b"));
        assert!(csp.contains("connect-src 'self';"), "{csp}");
    }

    #[test]
    fn the_widget_stays_small() {
        // What a visitor's browser downloads on every page of the host
        // site: the gzipped script and style.
        let size = |path| {
            let i = index_of(path);
            gzipped()[i].as_ref().map_or(ASSETS[i].body.len(), Vec::len)
        };
        let (widget, style) = (size("/widget.js"), size("/widget.css"));
        assert!(widget < 14 * 1024, "widget.js is {widget} bytes gzipped");
        assert!(
            widget + style < 18 * 1024,
            "widget is {} bytes gzipped",
            widget + style
        );
    }

    #[test]
    fn assets_are_gzipped_for_clients_that_take_it() {
        let i = index_of("/widget.js");
        let mut gz = HeaderMap::new();
        gz.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        let r = serve(i, &gz);
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
        let gz_tag = r.headers()[header::ETAG].clone();
        let plain = serve(i, &HeaderMap::new());
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_ne!(plain.headers()[header::ETAG], gz_tag);
        let mut refused = HeaderMap::new();
        refused.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0"),
        );
        assert!(serve(i, &refused)
            .headers()
            .get(header::CONTENT_ENCODING)
            .is_none());
        // Revalidating the gzipped copy with its own tag.
        gz.insert(header::IF_NONE_MATCH, gz_tag);
        assert_eq!(serve(i, &gz).status(), StatusCode::NOT_MODIFIED);
    }
}
