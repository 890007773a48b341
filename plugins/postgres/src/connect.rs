//! Opening a PostgreSQL session from [`ConnectParams`].
//!
//! Defaults follow libpq where the parameters leave something out: host `localhost`, port
//! 5432, the operating-system user name (`USER`, then `LOGNAME`), and a database named like the
//! user. A host that starts with `/` is a Unix socket directory. Engine options understood:
//! `connect_timeout_ms` (the host's connect timeout), `connect_timeout` (seconds, libpq's
//! name; the smaller of the two applies, default 10 s), `application_name` (default
//! `plenum`), and the session ceilings `max_temp_bytes` and `max_memory_bytes` (see
//! [`crate::limits`]); other options are ignored.
//!
//! The connect timeout bounds the whole of connecting: TCP, TLS, authentication and the
//! session settings. The driver's own timeout covers only the TCP connect, so connecting runs
//! under a timer of the session's runtime and is dropped at the deadline.
//!
//! The session's safety settings travel in the startup packet, before any SQL runs:
//! `default_transaction_read_only = on` for read sessions, and `statement_timeout` a little
//! above the host's own timeout as a server-side backstop.

use std::time::Duration;

use plenum_plugin_api::{AccessMode, ConnectParams, PluginError, PluginResult, SslMode};
use postgres::config::SslMode as DriverSslMode;
use postgres::{CancelToken, Client, Config};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::errors::{connect_error, Target};
use crate::{limits, tls};

const DEFAULT_PORT: u16 = 5432;
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An open client with what is needed to cancel its statements from another thread.
pub struct Connected {
    /// The session's runtime: one thread's worth, driven by whoever waits on it. The client's
    /// connection is a task on it.
    pub runtime: Runtime,
    /// The session's client.
    pub client: Client,
    /// The task that reads and writes the client's socket; it ends when the client is gone.
    pub connection: JoinHandle<()>,
    /// Cancels the statement running on `client`.
    pub cancel_token: CancelToken,
    /// The TLS connector the cancel request uses (it travels like the session did).
    pub connector: MakeRustlsConnect,
}

/// Connects as `params` say, within the connect timeout. Errors are
/// [`plenum_plugin_api::ErrorKind::Connection`] and never contain the password.
pub fn connect(params: &ConnectParams) -> PluginResult<Connected> {
    let (config, target) = driver_config(params)?;
    let limit = connect_timeout(params)?;
    let ca_file = params.ssl_ca.as_ref().into_option().map(|ca| ca.as_str());
    let connector = tls::connector(params.ssl_mode, ca_file)?;
    let ceilings = limits::Ceilings::from_params(params)?;
    let ssl_mode = params.ssl_mode;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| PluginError::internal(format!("cannot start the session's runtime: {e}")))?;
    let opened = runtime.block_on(async {
        tokio::time::timeout(limit, async {
            let (mut client, connection) =
                connect_now(&config, connector.clone(), ssl_mode, &target).await?;
            limits::apply(&mut client, &ceilings).await?;
            Ok((client, connection))
        })
        .await
    });
    match opened {
        Ok(Ok((client, connection))) => Ok(Connected {
            runtime,
            cancel_token: client.cancel_token(),
            client,
            connection,
            connector,
        }),
        Ok(Err(error)) => {
            // A resolver stuck in a blocking lookup is not waited for.
            runtime.shutdown_background();
            Err(error)
        }
        Err(_) => {
            runtime.shutdown_background();
            Err(PluginError::connection(format!(
                "the server at {}:{} did not answer within {} ms",
                target.host,
                target.port,
                limit.as_millis()
            )))
        }
    }
}

/// Connects with `config` (and, for `prefer`, again without TLS when the handshake failed),
/// and starts the connection's task on the current runtime.
async fn connect_now(
    config: &Config,
    connector: MakeRustlsConnect,
    ssl_mode: SslMode,
    target: &Target,
) -> PluginResult<(Client, JoinHandle<()>)> {
    match config.connect(connector.clone()).await {
        Ok((client, connection)) => Ok((client, tokio::spawn(drive(connection)))),
        Err(error) => {
            let failure = connect_error(&error, target);
            if ssl_mode == SslMode::Prefer && failure.message.starts_with("TLS failure") {
                // `prefer` means "TLS if it works": a failed handshake falls back to plain TCP,
                // as libpq does.
                let mut plain = config.clone();
                plain.ssl_mode(DriverSslMode::Disable);
                return match plain.connect(connector).await {
                    Ok((client, connection)) => Ok((client, tokio::spawn(drive(connection)))),
                    Err(error) => Err(connect_error(&error, target)),
                };
            }
            Err(failure)
        }
    }
}

/// Runs a connection until its client is gone or the socket closes; its errors reach the
/// client's requests.
async fn drive<C: std::future::Future>(connection: C) {
    let _ = connection.await;
}

/// The server-side `statement_timeout` for a host timeout of `host_ms` (0 = none): later than
/// the host's watchdog, so the host cancels first and the server only catches what slips by.
/// The server refuses values beyond a 32-bit int, so longer timeouts are capped there (24 days).
pub fn server_statement_timeout_ms(host_ms: u64) -> Option<u64> {
    (host_ms > 0).then(|| {
        host_ms
            .saturating_add((host_ms / 10).max(250))
            .min(i32::MAX as u64)
    })
}

fn driver_config(params: &ConnectParams) -> PluginResult<(Config, Target)> {
    let host = params
        .host
        .as_ref()
        .into_option()
        .map(|host| host.to_string())
        .unwrap_or_else(|| "localhost".to_owned());
    let port = params.port.into_option().unwrap_or(DEFAULT_PORT);
    let user = match params.user.as_ref().into_option() {
        Some(user) => user.to_string(),
        None => std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .map_err(|_| {
                PluginError::connection("no user name given and none found in USER or LOGNAME")
            })?,
    };
    let database = params
        .database
        .as_ref()
        .into_option()
        .map(|database| database.to_string())
        .unwrap_or_else(|| user.clone());

    let mut config = Config::new();
    config
        .host(&host)
        .port(port)
        .user(&user)
        .dbname(&database)
        .application_name(params.option("application_name").unwrap_or("plenum"))
        // Only the TCP connect; [`connect`] bounds the rest.
        .connect_timeout(connect_timeout(params)?)
        .ssl_mode(match params.ssl_mode {
            SslMode::Disable => DriverSslMode::Disable,
            SslMode::Prefer => DriverSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => DriverSslMode::Require,
        });
    if let Some(password) = params.password.as_ref().into_option() {
        config.password(password.as_str());
    }
    let mut settings = Vec::new();
    if params.access == AccessMode::Read {
        settings.push("-c default_transaction_read_only=on".to_owned());
    }
    if let Some(timeout) = server_statement_timeout_ms(params.statement_timeout_ms) {
        settings.push(format!("-c statement_timeout={timeout}"));
    }
    if !settings.is_empty() {
        config.options(settings.join(" "));
    }
    let target = Target {
        host,
        port,
        user,
        database,
        ssl_mode: tls::mode_name(params.ssl_mode),
    };
    Ok((config, target))
}

/// The connect timeout: the host's `connect_timeout_ms`, libpq's `connect_timeout` (seconds),
/// the smaller of the two when both are given, else 10 s.
pub fn connect_timeout(params: &ConnectParams) -> PluginResult<Duration> {
    let positive = |text: &str, unit: &str, to: fn(u64) -> Duration| {
        text.trim()
            .parse::<u64>()
            .ok()
            .filter(|&value| value > 0)
            .map(to)
            .ok_or_else(|| {
                PluginError::connection(format!(
                    "connect timeout must be a positive number of {unit}, not {text:?}"
                ))
            })
    };
    let millis = params
        .option("connect_timeout_ms")
        .map(|text| positive(text, "milliseconds", Duration::from_millis))
        .transpose()?;
    let seconds = params
        .option("connect_timeout")
        .map(|text| positive(text, "seconds", Duration::from_secs))
        .transpose()?;
    Ok(match (millis, seconds) {
        (Some(millis), Some(seconds)) => millis.min(seconds),
        (Some(limit), None) | (None, Some(limit)) => limit,
        (None, None) => DEFAULT_CONNECT_TIMEOUT,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_timeout_leaves_the_host_room_to_cancel_first() {
        assert_eq!(server_statement_timeout_ms(0), None);
        assert_eq!(server_statement_timeout_ms(100), Some(350));
        assert_eq!(server_statement_timeout_ms(30_000), Some(33_000));
        assert_eq!(server_statement_timeout_ms(u64::MAX), Some(i32::MAX as u64));
    }

    #[test]
    fn read_sessions_ask_for_read_only_transactions_in_the_startup_packet() {
        let mut params = ConnectParams::new("postgres", AccessMode::Read);
        params.user = plenum_plugin_api::abi_stable::std_types::ROption::RSome("u".into());
        params.statement_timeout_ms = 1000;
        let (config, target) = driver_config(&params).map_err(|e| e.to_string()).unwrap();
        assert_eq!(
            config.get_options(),
            Some("-c default_transaction_read_only=on -c statement_timeout=1250")
        );
        assert_eq!(target.database, "u");
        assert_eq!(target.port, 5432);

        params.access = AccessMode::Write;
        params.statement_timeout_ms = 0;
        let (config, _) = driver_config(&params).map_err(|e| e.to_string()).unwrap();
        assert_eq!(config.get_options(), None);
    }

    #[test]
    fn connect_timeout_must_be_positive_seconds() {
        let mut params = ConnectParams::new("postgres", AccessMode::Read);
        params
            .options
            .push(("connect_timeout".into(), "0".into()).into());
        assert!(connect_timeout(&params).is_err());
        params.options.clear();
        params
            .options
            .push(("connect_timeout".into(), " 3 ".into()).into());
        assert_eq!(connect_timeout(&params).ok(), Some(Duration::from_secs(3)));
        params
            .options
            .push(("connect_timeout_ms".into(), "1500".into()).into());
        assert_eq!(
            connect_timeout(&params).ok(),
            Some(Duration::from_millis(1500))
        );
        params.options.clear();
        assert_eq!(connect_timeout(&params).ok(), Some(DEFAULT_CONNECT_TIMEOUT));
    }
}
