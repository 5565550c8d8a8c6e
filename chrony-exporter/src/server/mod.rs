//! The HTTP side: our own accept loop over hyper's HTTP/1 connections.
//!
//! Owning the loop keeps every bound in one place ([`conns`]: the
//! connection limit and who makes room, the request-head and idle
//! timeouts) and leaves room for other listeners (TLS, systemd sockets)
//! and handlers (`/probe`). A request head must also fit in
//! [`MAX_HEADER_BYTES`] (a larger one gets 431 from hyper); an accept
//! error (out of descriptors) pauses the loop briefly instead of spinning
//! or exiting.
//!
//! The path of a connection: [`accept_loop`] (admission, [`conns`]) ->
//! [`serve_connection`] (the watchdog, the TLS handshake) -> [`serve_io`]
//! (hyper's HTTP/1, or HTTP/2 when TLS's ALPN chose it; the web config's
//! response headers) -> [`handle`] (the web config's rate limit and basic
//! auth, then routing). Handlers only route: `/metrics` asks the [`Scraper`] for a
//! scrape bounded by the scraper's timeout header and encodes it. Metrics
//! (`/metrics`, `/probe`) are gzip-compressed when the request accepts
//! gzip (`Accept-Encoding`, as Prometheus sends it): a scrape's text
//! compresses about tenfold, which matters for large source lists.

pub mod conns;

use crate::metrics::{encode, Format};
use crate::probe::{target_param, Prober, Refusal};
use crate::scrape::{budget, Scraper};
use crate::webconfig::Shared;
use bytes::Bytes;
use conns::{Connections, Slot, TrackedIo, Tracker};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT_ENCODING, ALLOW, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// hyper's read buffer, which bounds the request head.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// What the handlers need.
pub struct App {
    /// `--web.config.file` in force (TLS, basic auth), reloaded on SIGHUP.
    pub web: Arc<Shared>,
    pub scraper: Scraper,
    pub prober: Prober,
    pub telemetry_path: String,
    /// `--chrony.timeout`: the most a scrape may take.
    pub timeout: Duration,
    /// gzip metrics for scrapers that accept it (off with
    /// `--web.disable-compression`).
    pub compression: bool,
    /// Rate limits repeated log lines.
    pub limiter: Arc<crate::logging::Limiter>,
    /// `/probe` requests in progress at most (see [`probe_slots`]).
    pub probe_slots: tokio::sync::Semaphore,
}

/// How many `/probe` requests may be in progress at once with
/// `max_connections` connections: a quarter of them stays for the rest, so
/// probes of silent targets (each busy for its whole deadline) never hold
/// every connection and lock a scraper of `/metrics` out.
pub fn probe_slots(max_connections: usize) -> usize {
    (max_connections - max_connections / 4).max(1)
}

/// Serves connections from every listener until the process ends; at most
/// `max_connections` at once over all of them.
pub async fn serve(listeners: Vec<TcpListener>, app: Arc<App>, max_connections: usize) {
    let conns = Connections::new(max_connections);
    let mut loops = tokio::task::JoinSet::new();
    for listener in listeners {
        loops.spawn(accept_loop(listener, app.clone(), conns.clone()));
    }
    while loops.join_next().await.is_some() {}
}

async fn accept_loop(listener: TcpListener, app: Arc<App>, conns: Arc<Connections>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                if let Some(held) = app.limiter.allow(("accept_failed", "")) {
                    tracing::warn!(error = %e, held_back = held, "accept failed");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = conns.admit() else {
            tracing::debug!(%peer, "every connection has a request in progress: closing");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(stream, peer, slot, app.clone()));
    }
}

/// One connection, until it ends or its watchdog closes it.
async fn serve_connection(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    slot: Slot,
    app: Arc<App>,
) {
    let tracker = slot.tracker.clone();
    let io = TrackedIo::new(stream, tracker.clone());
    let served = async {
        let tls = app.web.current().tls.clone();
        match tls {
            None => serve_io(io, Protocol::Http1, app, tracker.clone(), peer).await,
            Some(tls) => {
                // The handshake is part of the first request head (and its
                // timeout): plain HTTP or a missing client certificate
                // ends here. HTTP/2 when ALPN chose it (http2 in the web
                // config).
                let acceptor = tokio_rustls::TlsAcceptor::from(tls);
                match acceptor.accept(io).await {
                    Ok(s) => {
                        let protocol = if crate::webconfig::negotiated_h2(&s) {
                            tracker.multiplexed();
                            Protocol::Http2
                        } else {
                            Protocol::Http1
                        };
                        serve_io(s, protocol, app, tracker.clone(), peer).await
                    }
                    Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake refused"),
                }
            }
        }
    };
    tokio::select! {
        () = served => {}
        why = tracker.closed() => tracing::debug!(%peer, why, "connection closed"),
    }
    drop(slot);
}

/// The HTTP version of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Http1,
    /// Over TLS only, when ALPN chose `h2`.
    Http2,
}

async fn serve_io<I>(
    io: I,
    protocol: Protocol,
    app: Arc<App>,
    tracker: Arc<Tracker>,
    peer: std::net::SocketAddr,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let app = app.clone();
        // A request in progress: the connection is busy until it ends.
        let request = tracker.request();
        async move {
            let mut r = handle(&app, req).await;
            // http_server_config.headers of the web config.
            app.web.decorate(&mut r);
            drop(request);
            Ok::<_, std::convert::Infallible>(r)
        }
    });
    let io = TokioIo::new(io);
    let served = match protocol {
        // The head and idle timeouts are the watchdog's (hyper's own
        // header timeout would also close idle keep-alive connections).
        Protocol::Http1 => {
            hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(None)
                .max_buf_size(MAX_HEADER_BYTES)
                .serve_connection(io, service)
                .await
        }
        // At most 16 requests at once on it, a 16 KiB header list, and
        // pings to drop a peer that went silent.
        Protocol::Http2 => {
            hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                .timer(TokioTimer::new())
                .max_concurrent_streams(16)
                .max_header_list_size(MAX_HEADER_BYTES as u32)
                .keep_alive_interval(Some(Duration::from_secs(30)))
                .keep_alive_timeout(Duration::from_secs(10))
                .serve_connection(io, service)
                .await
        }
    };
    if let Err(e) = served {
        tracing::debug!(%peer, error = %e, "connection ended");
    }
}

fn text(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

pub(crate) async fn handle(app: &App, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "only GET and HEAD\n",
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    // rate_limit and basic auth (web config).
    if let Some(refusal) = app.web.refuse(req.headers()).await {
        return refusal;
    }
    let path = req.uri().path();
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(header("accept"));
    // Every Accept-Encoding line counts (a client may send several).
    let accept_encoding = req
        .headers()
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let gzip = app.compression && accepts_gzip(&accept_encoding);
    let scrape_timeout =
        header("x-prometheus-scrape-timeout-seconds").and_then(|v| v.trim().parse::<f64>().ok());
    let budget = budget(app.timeout, scrape_timeout);
    if path == "/probe" && path != app.telemetry_path {
        let Ok(_probing) = app.probe_slots.try_acquire() else {
            return crate::webconfig::retry_later("too many probes in progress\n");
        };
        let probed = match target_param(req.uri().query()) {
            Ok(target) => app.prober.probe(&target, budget).await,
            Err(refusal) => Err(refusal),
        };
        return match probed {
            Ok(out) => metrics(format, encode(&out, format), app.compression, gzip),
            Err(Refusal::BadTarget(why)) => text(
                StatusCode::BAD_REQUEST,
                "text/plain; charset=utf-8",
                format!("{why}\n"),
            ),
            Err(Refusal::Forbidden(why)) => {
                tracing::debug!(error = %why, "probe refused");
                text(
                    StatusCode::FORBIDDEN,
                    "text/plain; charset=utf-8",
                    format!("{why}\n"),
                )
            }
        };
    }
    if path == app.telemetry_path {
        let (out, _) = app.scraper.scrape(budget).await;
        tracing::debug!(
            format = match format {
                Format::Text => "text",
                Format::OpenMetrics => "openmetrics",
            },
            budget_seconds = budget.as_secs_f64(),
            "served metrics"
        );
        return metrics(format, encode(&out, format), app.compression, gzip);
    }
    if path == "/" {
        let body = format!(
            "<!DOCTYPE html>\n<html><head><title>chrony-exporter</title></head><body>\n\
             <h1>chrony-exporter {}</h1>\n<p>Prometheus exporter for chronyd.</p>\n\
             <p><a href=\"{}\">Metrics</a></p>\n</body></html>\n",
            env!("CARGO_PKG_VERSION"),
            html_escape(&app.telemetry_path)
        );
        return text(StatusCode::OK, "text/html; charset=utf-8", body);
    }
    text(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        "not found\n",
    )
}

/// A 200 with metrics text, gzip-compressed when `gzip` (and sent as it is
/// should compression fail). The compression runs on the runtime's worker:
/// CPU work of the size of the encoding before it, never a blocking wait.
fn metrics(format: Format, body: String, compression: bool, gzip: bool) -> Response<Full<Bytes>> {
    let compressed = if gzip {
        compress(body.as_bytes())
    } else {
        None
    };
    let mut r = match compressed {
        Some(z) => {
            let mut r = text(StatusCode::OK, format.content_type(), z);
            r.headers_mut()
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        }
        None => text(StatusCode::OK, format.content_type(), body),
    };
    // The body depends on Accept, and on Accept-Encoding unless
    // compression is off.
    r.headers_mut().insert(
        VARY,
        HeaderValue::from_static(if compression {
            "Accept, Accept-Encoding"
        } else {
            "Accept"
        }),
    );
    r
}

/// `body` in gzip at flate2's fastest level (a scrape's text compresses
/// about tenfold even so).
fn compress(body: &[u8]) -> Option<Vec<u8>> {
    let mut z = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 8 + 64),
        flate2::Compression::fast(),
    );
    z.write_all(body).ok()?;
    z.finish().ok()
}

/// Whether a request's `Accept-Encoding` (its lines joined with commas;
/// empty without one) takes gzip: `gzip` (or its alias `x-gzip`) listed
/// with a q-value above 0, or, when neither is listed, `*` with one. No
/// header, or only `gzip;q=0`, means an uncompressed body.
fn accepts_gzip(accept_encoding: &str) -> bool {
    let (mut gzip, mut any) = (None, None);
    for part in accept_encoding.split(',') {
        let mut params = part.split(';').map(str::trim);
        let coding = params.next().unwrap_or("");
        let q = params
            .filter_map(|p| p.split_once('='))
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .filter_map(|(_, q)| q.trim().parse::<f64>().ok())
            .next()
            .unwrap_or(1.0);
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(gzip.unwrap_or(false) || q > 0.0);
        } else if coding == "*" {
            any = Some(q > 0.0);
        }
    }
    gzip.or(any).unwrap_or(false)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn gzip_is_taken_when_accepted_with_a_q_above_zero() {
        for (header, want) in [
            ("", false),
            // Prometheus's header.
            ("gzip", true),
            ("deflate, gzip;q=1.0, *;q=0.5", true),
            ("GZIP", true),
            ("x-gzip", true),
            ("identity", false),
            ("br, deflate", false),
            ("gzip;q=0", false),
            ("gzip; Q=0.0, identity", false),
            ("*", true),
            ("*;q=0", false),
            ("gzip;q=0, *", false),
            ("br;q=1, *;q=0.1", true),
            ("gzip;q=nonsense", true),
            ("x-gzip;q=0, gzip", true),
            ("gzip;q=0, x-gzip;q=0", false),
            // Two Accept-Encoding lines, joined by the handler.
            ("br,gzip", true),
        ] {
            assert_eq!(accepts_gzip(header), want, "{header:?}");
        }
    }

    #[test]
    fn compressed_metrics_read_back_as_the_text() {
        let body: String = (0..5000)
            .map(|i| {
                format!(
                    "chrony_sources_stratum{{source_address=\"10.0.{}.{}\"}} {i}\n",
                    i / 256,
                    i % 256
                )
            })
            .collect();
        let r = metrics(Format::Text, body.clone(), true, true);
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(r.headers()[VARY], "Accept, Accept-Encoding");
        let z = futures_bytes(r);
        assert!(z.len() < body.len() / 5, "{} of {}", z.len(), body.len());
        let mut text = String::new();
        flate2::read::GzDecoder::new(&z[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, body);

        let r = metrics(Format::Text, body.clone(), true, false);
        assert!(r.headers().get(CONTENT_ENCODING).is_none());
        assert_eq!(r.headers()[VARY], "Accept, Accept-Encoding");
        let r = metrics(Format::Text, body.clone(), false, false);
        assert_eq!(r.headers()[VARY], "Accept");
        assert_eq!(futures_bytes(r), body.as_bytes());
    }

    /// The bytes of a full body.
    fn futures_bytes(r: Response<Full<Bytes>>) -> Vec<u8> {
        use http_body_util::BodyExt as _;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(r.into_body().collect())
            .unwrap()
            .to_bytes()
            .to_vec()
    }
}
