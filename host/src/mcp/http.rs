//! `plenum mcp --http ADDR`: the same server over Streamable HTTP, for clients that do not
//! start a process of their own and for several agents sharing one server.
//!
//! `rmcp`'s Streamable HTTP service speaks the protocol (sessions, SSE, `Host` and `Origin`
//! checks against DNS rebinding); hyper serves it. In front of it sits the one rule that is
//! Plenum's: beyond loopback nobody may call without the bearer token the human gave the
//! server, from a file or an environment variable, never a flag value (flags show in `ps`).
//! Every session shares the server's settings: the same ceiling, engine slots, limits and
//! secret rules as stdio.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;

use super::{log, PlenumServer, Settings, MAX_MESSAGE_BYTES};

/// The environment variable that may hold the bearer token.
pub const TOKEN_ENV: &str = "PLENUM_MCP_TOKEN";

/// The path the MCP endpoint is served at.
pub const ENDPOINT: &str = "/mcp";

/// Shortest token accepted: a guessable token is no lock.
const MIN_TOKEN_BYTES: usize = 16;

/// How `--http` serves: where, who may call, and under which names.
pub struct HttpOptions {
    /// The address to listen on.
    pub address: SocketAddr,
    /// The bearer token every request must carry, if any.
    pub token: Option<String>,
    /// Host names (with or without port) clients use beyond the loopback names.
    pub allowed_hosts: Vec<String>,
}

impl HttpOptions {
    /// Options from the flags: `address` as `IP:PORT` or `localhost:PORT`; the token from
    /// `token_file` or [`TOKEN_ENV`]. Refuses to listen beyond loopback without a token.
    pub fn new(
        address: &str,
        token_file: Option<&std::path::Path>,
        allowed_hosts: Vec<String>,
    ) -> Result<Self, String> {
        let address = parse_address(address)?;
        let token = match token_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|error| {
                        format!("cannot read the token file {}: {error}", path.display())
                    })?
                    .trim()
                    .to_owned(),
            ),
            None => std::env::var(TOKEN_ENV)
                .ok()
                .map(|token| token.trim().to_owned()),
        };
        if let Some(token) = &token {
            if token.len() < MIN_TOKEN_BYTES || token.chars().any(char::is_whitespace) {
                return Err(format!(
                    "the bearer token must be at least {MIN_TOKEN_BYTES} characters without \
                     spaces"
                ));
            }
        }
        if !address.ip().is_loopback() && token.is_none() {
            return Err(format!(
                "refusing to listen on {address} without a bearer token: beyond loopback anyone \
                 who reaches the port could run SQL. Give one in a file (--token-file) or in \
                 {TOKEN_ENV}, or listen on 127.0.0.1"
            ));
        }
        Ok(HttpOptions {
            address,
            token,
            allowed_hosts,
        })
    }
}

fn parse_address(text: &str) -> Result<SocketAddr, String> {
    if let Some(port) = text.strip_prefix("localhost:") {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("--http {text}: the port is not a number from 0 to 65535"))?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse().map_err(|_| {
        format!("--http {text}: expected IP:PORT (e.g. 127.0.0.1:8080) or localhost:PORT")
    })
}

/// The `Host` values accepted: the loopback names, the listening IP, and the names given.
fn allowed_hosts(options: &HttpOptions, bound: SocketAddr) -> Vec<String> {
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    let ip = bound.ip();
    if !ip.is_unspecified() {
        hosts.push(match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => v6.to_string(),
        });
    }
    hosts.extend(options.allowed_hosts.iter().cloned());
    hosts
}

/// Browser origins accepted (requests without `Origin`, from non-browser clients, pass): the
/// allowed hosts on any port. Any other page a browser shows cannot call the server.
fn allowed_origins(hosts: &[String]) -> Vec<String> {
    hosts
        .iter()
        .flat_map(|host| {
            let name = host.split(':').next().unwrap_or(host);
            let name = if host.contains("::") {
                format!("[{host}]")
            } else {
                name.to_owned()
            };
            [format!("http://{name}:*"), format!("https://{name}:*")]
        })
        .collect()
}

type Body = BoxBody<Bytes, Infallible>;

/// Serves until the process is stopped; returns the exit code.
pub async fn run(settings: Settings, options: HttpOptions) -> i32 {
    let listener = match TcpListener::bind(options.address).await {
        Ok(listener) => listener,
        Err(error) => {
            log(&format!("cannot listen on {}: {error}", options.address));
            return 1;
        }
    };
    let bound = listener.local_addr().unwrap_or(options.address);
    let hosts = allowed_hosts(&options, bound);
    let mut config = StreamableHttpServerConfig::default();
    config.allowed_origins = allowed_origins(&hosts);
    config.allowed_hosts = hosts;
    config.max_request_body_bytes = MAX_MESSAGE_BYTES;
    let ceiling = format!(
        "{}{}",
        settings.ceiling().as_str(),
        super::approvals_note(&settings)
    );
    let server = PlenumServer::new(settings);
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let token: Option<Arc<str>> = options.token.map(Arc::from);
    log(&format!(
        "serving MCP over HTTP at http://{bound}{ENDPOINT}; tier ceiling {ceiling}; {}",
        if token.is_some() {
            "every request needs the bearer token"
        } else {
            "loopback only, no token"
        }
    ));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: pass, and keep serving.
                log(&format!("cannot accept a connection: {error}"));
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = service.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |request: Request<Incoming>| {
                let mut service = service.clone();
                let token = token.clone();
                async move {
                    if request.uri().path() != ENDPOINT {
                        return Ok::<_, Infallible>(plain(
                            StatusCode::NOT_FOUND,
                            "not found: the MCP endpoint is /mcp",
                        ));
                    }
                    if let Some(token) = &token {
                        if !authorized(&request, token) {
                            let mut response = plain(
                                StatusCode::UNAUTHORIZED,
                                "unauthorized: send Authorization: Bearer <token>",
                            );
                            response.headers_mut().insert(
                                hyper::header::WWW_AUTHENTICATE,
                                hyper::header::HeaderValue::from_static("Bearer"),
                            );
                            return Ok(response);
                        }
                    }
                    let response = tower_service::Service::call(&mut service, request).await?;
                    Ok(response.map(|body| body.boxed()))
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), handler);
            // A client that goes away mid-answer is its own business.
            let _ = connection.await;
        });
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())).boxed());
    *response.status_mut() = status;
    response
}

/// Whether `request` carries `Authorization: Bearer <token>`, compared in constant time.
fn authorized(request: &Request<Incoming>, token: &str) -> bool {
    let Some(given) = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    else {
        return false;
    };
    constant_time_eq(given.trim().as_bytes(), token.as_bytes())
}

fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    if left.len() != right.len() {
        return false;
    }
    left.iter()
        .zip(right)
        .fold(0u8, |diff, (a, b)| diff | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_loopback_needs_a_token_and_a_token_must_be_long() {
        let refused = HttpOptions::new("0.0.0.0:0", None, vec![]).err();
        assert!(
            refused
                .as_deref()
                .is_some_and(|m| m.contains("bearer token")),
            "{refused:?}"
        );
        assert!(HttpOptions::new("127.0.0.1:0", None, vec![]).is_ok());
        assert!(HttpOptions::new("localhost:8080", None, vec![]).is_ok());
        assert!(HttpOptions::new("[::1]:8080", None, vec![]).is_ok());
        assert!(HttpOptions::new("example.com:80", None, vec![]).is_err());
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else { return };
        let short = dir.path().join("short");
        let _ = std::fs::write(&short, "abc\n");
        assert!(HttpOptions::new("0.0.0.0:0", Some(&short), vec![]).is_err());
        let good = dir.path().join("good");
        let _ = std::fs::write(&good, "0123456789abcdef0123\n");
        let options = HttpOptions::new("0.0.0.0:0", Some(&good), vec![]);
        assert!(
            matches!(&options, Ok(o) if o.token.as_deref() == Some("0123456789abcdef0123")),
            "token not read"
        );
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn origins_follow_the_allowed_hosts() {
        let origins = allowed_origins(&["localhost".into(), "db.example:8080".into()]);
        assert!(origins.contains(&"http://localhost:*".to_owned()));
        assert!(origins.contains(&"https://db.example:*".to_owned()));
    }
}
