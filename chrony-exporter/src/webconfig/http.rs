//! `http_server_config` (response headers, HTTP/2) and `rate_limit`.

use hyper::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HttpFile {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RateLimitFile {
    interval: Option<serde_norway::Value>,
    burst: Option<u64>,
}

/// The headers exporter-toolkit lets a configuration add, with the values
/// it allows (none listed: any).
const HEADERS: &[(&str, &[&str])] = &[
    ("Content-Security-Policy", &[]),
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
];

pub(super) struct Http {
    pub(super) http2: bool,
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
}

impl Http {
    pub(super) fn parse(f: Option<&HttpFile>) -> Result<Http, String> {
        let mut headers = Vec::new();
        for (name, value) in f.and_then(|f| f.headers.as_ref()).into_iter().flatten() {
            let Some((_, allowed)) = HEADERS.iter().find(|(h, _)| h == name) else {
                return Err(format!(
                    "http_server_config.headers: {name:?} can not be configured (Content-Security-Policy, \
                     Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, X-XSS-Protection)"
                ));
            };
            // "Unset if blank."
            if value.is_empty() {
                continue;
            }
            if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
                return Err(format!(
                    "http_server_config.headers.{name}: {value:?} is not one of {allowed:?}"
                ));
            }
            let value = HeaderValue::from_str(value).map_err(|_| {
                format!("http_server_config.headers.{name}: not a valid header value")
            })?;
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("http_server_config.headers: bad name {name:?}"))?;
            headers.push((name, value));
        }
        Ok(Http {
            // Go's default; HTTP/2 needs TLS (ALPN), as with Go's server.
            http2: f.and_then(|f| f.http2).unwrap_or(true),
            headers,
        })
    }
}

/// A token bucket over all requests, as exporter-toolkit's (golang.org/x/time/rate):
/// one token every `interval`, at most `burst` saved.
pub(super) struct RateLimit {
    interval: Duration,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimit {
    /// `None` without `rate_limit` or with an interval of 0 (off, as in Go).
    pub(super) fn parse(f: Option<&RateLimitFile>) -> Result<Option<RateLimit>, String> {
        let Some(f) = f else { return Ok(None) };
        let interval = match &f.interval {
            None => return Err("rate_limit.interval: missing (0 turns the limit off)".into()),
            Some(serde_norway::Value::Number(n)) if n.as_f64() == Some(0.0) => return Ok(None),
            Some(serde_norway::Value::String(s)) => {
                let zero = s
                    .trim()
                    .trim_end_matches(|c: char| c.is_ascii_alphabetic())
                    .parse::<f64>()
                    == Ok(0.0);
                if zero {
                    return Ok(None);
                }
                crate::cli::parse_duration(s).map_err(|e| format!("rate_limit.interval: {e}"))?
            }
            Some(other) => {
                return Err(format!(
                    "rate_limit.interval: {other:?} is not a duration (e.g. \"1s\", \"100ms\")"
                ))
            }
        };
        let burst = match f.burst {
            Some(b) if b > 0 => b,
            // Go's limiter with a burst of 0 refuses every request.
            _ => return Err("rate_limit.burst: must be at least 1".into()),
        };
        Ok(Some(RateLimit {
            interval,
            burst: burst as f64,
            state: Mutex::new((burst as f64, Instant::now())),
        }))
    }

    /// Takes a token; false when none is left (the request gets 429).
    pub(super) fn allow(&self) -> bool {
        self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = *state;
        let earned =
            now.saturating_duration_since(last).as_secs_f64() / self.interval.as_secs_f64();
        let tokens = (tokens + earned).min(self.burst);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            true
        } else {
            *state = (tokens, now);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(yaml: &str) -> Result<Option<RateLimit>, String> {
        let f: RateLimitFile = serde_norway::from_str(yaml).unwrap();
        RateLimit::parse(Some(&f))
    }

    #[test]
    fn the_bucket_saves_burst_tokens_and_earns_one_per_interval() {
        let r = rate("interval: 1s\nburst: 3\n").unwrap().unwrap();
        let t0 = Instant::now();
        assert!((0..3).all(|_| r.allow_at(t0)));
        assert!(!r.allow_at(t0));
        assert!(!r.allow_at(t0 + Duration::from_millis(900)));
        assert!(r.allow_at(t0 + Duration::from_millis(1000)));
        assert!(!r.allow_at(t0 + Duration::from_millis(1000)));
        // A long pause saves no more than the burst.
        let later = t0 + Duration::from_secs(60);
        assert!((0..3).all(|_| r.allow_at(later)));
        assert!(!r.allow_at(later));
    }

    #[test]
    fn rate_limit_keys() {
        assert!(rate("interval: 0\nburst: 5\n").unwrap().is_none());
        assert!(rate("interval: \"0s\"\nburst: 5\n").unwrap().is_none());
        assert!(rate("interval: 100ms\nburst: 1\n").unwrap().is_some());
        for (bad, key) in [
            ("burst: 5\n", "rate_limit.interval"),
            ("interval: 1s\nburst: 0\n", "rate_limit.burst"),
            ("interval: 1s\n", "rate_limit.burst"),
            ("interval: soon\nburst: 1\n", "rate_limit.interval"),
            ("interval: [1]\nburst: 1\n", "rate_limit.interval"),
        ] {
            let e = rate(bad).err().unwrap_or_default();
            assert!(e.starts_with(key), "{bad:?}: {e}");
        }
    }

    #[test]
    fn headers_as_exporter_toolkit_allows_them() {
        let http = |yaml: &str| {
            let f: HttpFile = serde_norway::from_str(yaml).unwrap();
            Http::parse(Some(&f))
        };
        let h = http(
            "headers:\n  X-Frame-Options: deny\n  X-Content-Type-Options: nosniff\n  \
             Strict-Transport-Security: max-age=31536000\n  Content-Security-Policy: \"\"\n",
        )
        .unwrap();
        let names: Vec<_> = h
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap()))
            .collect();
        assert_eq!(
            names,
            [
                "strict-transport-security: max-age=31536000",
                "x-content-type-options: nosniff",
                "x-frame-options: deny"
            ]
        );
        assert!(h.http2);
        assert!(!http("http2: false\n").unwrap().http2);
        let e = http("headers:\n  X-Frame-Options: allow\n").err().unwrap();
        assert!(
            e.starts_with("http_server_config.headers.X-Frame-Options"),
            "{e}"
        );
        let e = http("headers:\n  Server: mine\n").err().unwrap();
        assert!(e.contains("\"Server\" can not be configured"), "{e}");
        let e = http("headers:\n  X-Content-Type-Options: sniff\n")
            .err()
            .unwrap();
        assert!(e.contains("X-Content-Type-Options"), "{e}");
    }
}
