//! Admission rules of the sockets: allowed origins (customer socket),
//! connections per IP, checked before the upgrade, and the
//! per-connection message rate.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::http::HeaderMap;

use crate::config::Origins;
use crate::error::{ApiError, ErrorCode};

/// Whether a browser on `origin` may open a socket to this server. No
/// `Origin` header means a non-browser client, which origin checks do not
/// concern. Allowed: the server's own origin, localhost, and the
/// configured list (`*` for any).
pub(super) fn origin_allowed(headers: &HeaderMap, origins: &Origins) -> bool {
    let Some(origin) = headers.get(axum::http::header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if origins
        .allow
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/') == origin)
    {
        return true;
    }
    let Some((_, authority)) = origin.split_once("://") else {
        return false;
    };
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(authority, |(host, _)| host);
    if matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
        return true;
    }
    headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.eq_ignore_ascii_case(authority))
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
        assert!(origin_allowed(&HeaderMap::new(), &none));
        assert!(origin_allowed(
            &headers("http://localhost:3000", "chat.example:443"),
            &none
        ));
        assert!(origin_allowed(
            &headers("https://chat.example", "chat.example"),
            &none
        ));
        assert!(!origin_allowed(
            &headers("https://evil.example", "chat.example"),
            &none
        ));
        assert!(!origin_allowed(
            &headers("https://localhost.evil.example", "chat.example"),
            &none
        ));
        let shop = Origins {
            allow: vec!["https://shop.example".into()],
        };
        assert!(origin_allowed(
            &headers("https://shop.example", "chat.example"),
            &shop
        ));
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
