//! Admission rules of the sockets: allowed origins (customer socket),
//! connections per IP, checked before the upgrade, and the
//! per-connection message rate.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::http::HeaderMap;

use crate::config::Origins;
use crate::error::{ApiError, ErrorCode};

/// Whether a browser on `origin` may open a socket to this server. No
/// `Origin` header means a non-browser client, which origin checks do not
/// concern. Allowed: exactly the server's own origins (`own`) and the
/// configured list (`*` for any). Nothing is inferred from the request's
/// `Host` header, which a DNS-rebinding page controls.
pub(super) fn origin_allowed(headers: &HeaderMap, origins: &Origins, own: &[String]) -> bool {
    let Some(origin) = headers.get(axum::http::header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    origins
        .allow
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/') == origin)
        || own.iter().any(|o| o.eq_ignore_ascii_case(origin))
}

/// The server's own origins: its public URL's, or, without one, those a
/// browser uses to reach its listening address on this machine.
pub(crate) fn own_origins(public_url: Option<&str>, listening: SocketAddr) -> Vec<String> {
    if let Some(url) = public_url {
        return vec![origin_of(url)];
    }
    let port = listening.port();
    let mut own = vec![format!("http://{listening}")];
    if listening.ip().is_loopback() {
        own.extend(
            ["127.0.0.1", "localhost", "[::1]"]
                .iter()
                .map(|host| format!("http://{host}:{port}")),
        );
    }
    own.dedup();
    own
}

/// `scheme://host[:port]` of a URL: everything before the path.
fn origin_of(url: &str) -> String {
    let url = url.trim();
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    url[..end].to_owned()
}

/// Counts open sockets per client IP.
#[derive(Default)]
pub(crate) struct ConnectionCounter {
    /// Open sockets by IP; an entry is removed when its count drops to 0.
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// The refusal of an upgrade over `limits.connections_per_ip`, sent as
/// HTTP 429 before the upgrade.
pub(super) fn too_many_connections() -> ApiError {
    ApiError::new(
        ErrorCode::RateLimited,
        "too many open connections from this address; close one and try again",
    )
}

/// One counted socket; dropping it releases the slot.
pub(super) struct ConnectionSlot {
    counter: Arc<ConnectionCounter>,
    ip: IpAddr,
}

impl ConnectionCounter {
    /// A slot for `ip` if it has fewer than `max` open sockets.
    pub(super) fn try_acquire(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<ConnectionSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ConnectionSlot {
            counter: self.clone(),
            ip,
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.counter.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A token bucket per client IP, for what one address must not flood
/// (health checks, new conversations). The map is bounded: past
/// `MAX_TRACKED` addresses it starts afresh.
#[derive(Debug)]
pub(crate) struct PerIpLimiter {
    rate: f64,
    burst: u32,
    /// Buckets by IP; held only to take a token.
    buckets: Mutex<HashMap<IpAddr, RateLimiter>>,
}

impl PerIpLimiter {
    const MAX_TRACKED: usize = 4096;

    /// `rate` per second sustained, `burst` at once, per address.
    pub(crate) fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate,
            burst,
            buckets: Mutex::default(),
        }
    }

    /// Take a token for `ip`; false if its bucket is empty.
    pub(crate) fn allow(&self, ip: IpAddr) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= Self::MAX_TRACKED && !buckets.contains_key(&ip) {
            buckets.clear();
        }
        buckets
            .entry(ip)
            .or_insert_with(|| RateLimiter::new(self.rate, self.burst))
            .allow(Instant::now())
    }
}

/// A token bucket: `rate` frames per second sustained, `burst` at once.
#[derive(Debug)]
pub(super) struct RateLimiter {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    pub(super) fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: Instant::now(),
        }
    }

    /// Take one token at `now`; false if the bucket is empty.
    pub(super) fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until the next token, as of the last [`allow`](Self::allow).
    pub(super) fn wait(&self) -> std::time::Duration {
        let missing = (1.0 - self.tokens).max(0.0);
        std::time::Duration::from_secs_f64(missing / self.rate)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::http::HeaderValue;

    use super::*;

    fn headers(origin: &str, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("origin", HeaderValue::from_str(origin).unwrap());
        h.insert("host", HeaderValue::from_str(host).unwrap());
        h
    }

    #[test]
    fn origins() {
        let none = Origins::default();
        let own = own_origins(
            Some("https://chat.example/widget"),
            "0.0.0.0:8080".parse().unwrap(),
        );
        assert_eq!(own, vec!["https://chat.example"]);
        let allowed = |origin: &str, host: &str, origins: &Origins| {
            origin_allowed(&headers(origin, host), origins, &own)
        };
        assert!(origin_allowed(&HeaderMap::new(), &none, &own));
        assert!(allowed("https://chat.example", "chat.example", &none));
        assert!(allowed("https://chat.example/", "chat.example", &none));
        assert!(!allowed("http://localhost:3000", "chat.example:443", &none));
        assert!(!allowed("https://evil.example", "chat.example", &none));
        // A rebinding page's Origin matches the Host it sends: not enough.
        assert!(!allowed(
            "http://evil.example:8080",
            "evil.example:8080",
            &none
        ));
        let shop = Origins {
            allow: vec!["https://shop.example".into()],
        };
        assert!(allowed("https://shop.example", "chat.example", &shop));
    }

    #[test]
    fn own_origins_without_a_public_url_are_the_listening_address() {
        let own = own_origins(None, "127.0.0.1:8080".parse().unwrap());
        assert!(own.contains(&"http://127.0.0.1:8080".to_owned()));
        assert!(own.contains(&"http://localhost:8080".to_owned()));
        assert!(!own.iter().any(|o| o.ends_with(":3000")));
        let own = own_origins(None, "10.0.0.5:80".parse().unwrap());
        assert_eq!(own, vec!["http://10.0.0.5:80"]);
    }

    #[test]
    fn connection_slots_are_released() {
        let counter = Arc::new(ConnectionCounter::default());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let a = counter.try_acquire(ip, 2).unwrap();
        let _b = counter.try_acquire(ip, 2).unwrap();
        assert!(counter.try_acquire(ip, 2).is_none());
        drop(a);
        assert!(counter.try_acquire(ip, 2).is_some());
    }

    #[test]
    fn the_bucket_refills_at_its_rate() {
        let t0 = Instant::now();
        let mut bucket = RateLimiter::new(2.0, 3);
        assert!((0..3).all(|_| bucket.allow(t0)));
        assert!(!bucket.allow(t0));
        assert!(bucket.allow(t0 + Duration::from_millis(500)));
        assert!(!bucket.allow(t0 + Duration::from_millis(500)));
    }
}
