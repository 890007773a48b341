//! Connection failures are told apart and never carry the password; TLS modes behave as
//! documented against the live server.

mod common;

use std::net::TcpListener;
use std::path::Path;

use common::{expect_error, run, Server};
use plenum_plugin_api::abi_stable::std_types::ROption;
use plenum_plugin_api::{AccessMode, ConnectParams, ErrorKind, PluginError, SslMode, Value};

const PASSWORD: &str = "Pw-7f3Q-distinctive-plenum-secret";

fn with_password(mut params: ConnectParams) -> ConnectParams {
    params.password = ROption::RSome(PASSWORD.into());
    params
}

fn connect_error(params: &ConnectParams, what: &str) -> PluginError {
    let error = expect_error(common::connect(params), what);
    assert_eq!(error.kind, ErrorKind::Connection, "{what}: {error}");
    assert!(
        !error.message.contains(PASSWORD) && !error.message.contains("distinctive"),
        "{what}: the password leaked: {error}"
    );
    error
}

#[test]
fn an_unreachable_port_is_reported_as_unreachable() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap();
    let mut params = with_password(ConnectParams::new("postgres", AccessMode::Read));
    params.host = ROption::RSome("127.0.0.1".into());
    params.port = ROption::RSome(port);
    params.user = ROption::RSome("postgres".into());
    params.ssl_mode = SslMode::Disable;
    let error = connect_error(&params, "unreachable port");
    assert!(
        error.message.contains("cannot reach the PostgreSQL server")
            && error.message.contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
    assert!(error.message.to_lowercase().contains("refused"), "{error}");
}

#[test]
fn an_unknown_database_is_reported_as_missing() {
    let Some(server) = common::server() else {
        return;
    };
    let params = with_password(server.params("plenum_no_such_database", AccessMode::Read));
    let error = connect_error(&params, "unknown database");
    assert_eq!(common::sqlstate(&error), "3D000");
    assert!(
        error
            .message
            .contains("database \"plenum_no_such_database\" does not exist"),
        "{error}"
    );
}

#[test]
fn an_unknown_user_is_an_authentication_failure() {
    let Some(server) = common::server() else {
        return;
    };
    let mut params = with_password(server.params("test", AccessMode::Read));
    params.user = ROption::RSome("plenum_no_such_role".into());
    let error = connect_error(&params, "unknown user");
    assert_eq!(common::sqlstate(&error), "28000");
    assert!(
        error
            .message
            .contains("authentication failed for user \"plenum_no_such_role\""),
        "{error}"
    );
}

#[test]
fn a_wrong_password_is_an_authentication_failure() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.create_database("password");
    let role = format!("{}_role", db.name);
    db.setup(&format!(
        "CREATE ROLE \"{role}\" LOGIN PASSWORD 'the-right-one'"
    ));
    let mut params = with_password(db.params(AccessMode::Read));
    params.user = ROption::RSome(role.as_str().into());
    let outcome = common::connect(&params);
    db.setup(&format!("DROP ROLE IF EXISTS \"{role}\""));
    match outcome {
        // pg_hba.conf `trust` accepts any password; nothing to check then.
        Ok(_) => eprintln!(
            "skipped: the server trusts {}:{} (pg_hba.conf `trust`), so a wrong password \
             is accepted and cannot be tested here",
            server.host, server.port
        ),
        Err(error) => {
            assert_eq!(error.kind, ErrorKind::Connection);
            assert_eq!(common::sqlstate(&error), "28P01", "{error}");
            assert!(error.message.contains("authentication failed"), "{error}");
            assert!(!error.message.contains(PASSWORD), "{error}");
        }
    }
}

/// Whether the server serves TLS, and the path of its certificate when it is readable here.
fn server_tls(server: &Server) -> (bool, Option<String>) {
    let mut admin = server.admin();
    let ssl: String = admin.query_one("SHOW ssl", &[]).unwrap().get(0);
    let cert: Option<String> = admin
        .query_one("SELECT current_setting('ssl_cert_file', true)", &[])
        .ok()
        .and_then(|row| row.get(0));
    let cert = cert.filter(|path| {
        std::fs::read_to_string(path)
            .map(|pem| pem.contains("BEGIN CERTIFICATE"))
            .unwrap_or(false)
    });
    (ssl == "on", cert)
}

/// Whether the plugin's session is encrypted, as the server sees it.
fn session_uses_tls(params: &ConnectParams) -> Result<bool, PluginError> {
    let mut session = common::connect(params)?;
    session.begin()?;
    let outcome = run(
        session.as_mut(),
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        &[],
    )?;
    Ok(outcome.rows == vec![vec![Value::Bool(true)]])
}

fn tls_params(server: &Server, mode: SslMode, host: &str, ca: Option<&str>) -> ConnectParams {
    let mut params = with_password(server.params("test", AccessMode::Read));
    params.host = ROption::RSome(host.into());
    params.ssl_mode = mode;
    params.ssl_ca = ca.map(Into::into).into();
    params
}

fn unrelated_ca() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/unrelated-ca.pem")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn tls_modes_behave_as_documented() {
    let Some(server) = common::server() else {
        return;
    };
    let (serves_tls, cert) = server_tls(&server);
    let host = server.host.clone();

    assert!(!session_uses_tls(&tls_params(&server, SslMode::Disable, &host, None)).unwrap());

    if !serves_tls {
        eprintln!("note: the server does not serve TLS; checking that TLS modes fail clearly");
        assert!(!session_uses_tls(&tls_params(&server, SslMode::Prefer, &host, None)).unwrap());
        for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
            let error = connect_error(
                &tls_params(&server, mode, &host, Some(&unrelated_ca())),
                "TLS required",
            );
            assert!(error.message.starts_with("TLS failure"), "{error}");
            assert!(error.message.contains("does not support TLS"), "{error}");
        }
        return;
    }

    assert!(session_uses_tls(&tls_params(&server, SslMode::Prefer, &host, None)).unwrap());
    assert!(session_uses_tls(&tls_params(&server, SslMode::Require, &host, None)).unwrap());

    // A CA that did not sign the server's certificate.
    for mode in [SslMode::VerifyCa, SslMode::VerifyFull] {
        let params = tls_params(&server, mode, &host, Some(&unrelated_ca()));
        let error = connect_error(&params, "untrusted certificate");
        assert!(error.message.starts_with("TLS failure"), "{error}");
        assert!(error.message.contains("UnknownIssuer"), "{error}");
    }

    // A CA file that is not there.
    let params = tls_params(
        &server,
        SslMode::VerifyCa,
        &host,
        Some("/nonexistent/ca.pem"),
    );
    let error = connect_error(&params, "missing CA file");
    assert!(error.message.contains("cannot read CA file"), "{error}");

    let Some(cert) = cert else {
        eprintln!("skipped: the server's certificate file is not readable here; verify-* success not tested");
        return;
    };
    // Trusting the server's own (self-signed) certificate: verify-ca accepts it whatever the
    // host name; verify-full also needs the name to match.
    let names = server_cert_names(&cert);
    assert!(session_uses_tls(&tls_params(&server, SslMode::VerifyCa, &host, Some(&cert))).unwrap());
    let mismatched = "127.0.0.1";
    if !names.iter().any(|name| name == mismatched) {
        let params = tls_params(&server, SslMode::VerifyFull, mismatched, Some(&cert));
        let error = connect_error(&params, "host name mismatch");
        assert!(error.message.contains("not valid for name"), "{error}");
        assert!(session_uses_tls(&tls_params(
            &server,
            SslMode::VerifyCa,
            mismatched,
            Some(&cert)
        ))
        .unwrap());
    }
    if names.iter().any(|name| name == "localhost") {
        assert!(session_uses_tls(&tls_params(
            &server,
            SslMode::VerifyFull,
            "localhost",
            Some(&cert)
        ))
        .unwrap());
    } else {
        eprintln!("skipped: the server's certificate does not name localhost; verify-full success not tested");
    }
}

/// Which of `localhost` and `127.0.0.1` a PEM certificate names, by a byte search that suffices
/// for the test: DNS names are stored as text, an IP subjectAltName as tag 0x87 and 4 bytes.
fn server_cert_names(path: &str) -> Vec<String> {
    use base64::Engine as _;
    let pem = std::fs::read_to_string(path).unwrap_or_default();
    let body: String = pem
        .lines()
        .skip_while(|line| !line.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&der);
    let mut names = Vec::new();
    if text.contains("localhost") {
        names.push("localhost".to_owned());
    }
    if text.contains("127.0.0.1") || der.windows(6).any(|w| w == [0x87, 4, 127, 0, 0, 1]) {
        names.push("127.0.0.1".to_owned());
    }
    names
}
