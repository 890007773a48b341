//! Opening sessions: error kinds by cause, TLS modes, server facts, and a password that
//! never shows up in any message.

mod common;

use common::{params, query, TestDb};
use plenum_mysql::MysqlPlugin;
use plenum_plugin_api::abi_stable::std_types::ROption;
use plenum_plugin_api::{AccessMode, ErrorKind, Plugin, PluginError, SslMode, Value};

/// Distinctive enough that finding it in a message can only mean a leak.
const PASSWORD: &str = "Zq7#plenum:S3cr3t/@%é";

fn connect_error(params: &plenum_plugin_api::ConnectParams) -> PluginError {
    match MysqlPlugin::connect(params) {
        Ok(_) => panic!("the connection unexpectedly succeeded"),
        Err(error) => error,
    }
}

fn assert_no_password(error: &PluginError, password: &str) {
    let rendered = format!("{error} {error:?}");
    assert!(!rendered.contains(password), "password leaked: {rendered}");
    let encoded: String = password
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    assert!(
        !rendered.contains(&encoded),
        "encoded password leaked: {rendered}"
    );
}

#[test]
fn plugin_info_describes_the_plugin() {
    let info = MysqlPlugin::info();
    assert_eq!(info.name.as_str(), "plenum-mysql");
    assert_eq!(info.dialect.as_str(), "mysql");
    let engines: Vec<&str> = info.engines.iter().map(|e| e.as_str()).collect();
    assert_eq!(engines, ["mysql", "mariadb"]);
    assert_eq!(info.version.as_str(), env!("CARGO_PKG_VERSION"));
    assert!(info.capabilities.cancel && info.capabilities.introspect);
    assert!(info.capabilities.transactions && !info.capabilities.transactional_ddl);
}

#[test]
fn unreachable_server_is_a_connection_error() {
    let mut address = common::address();
    // Port 1 on loopback: nothing listens there, so the connect is refused at once.
    address.host = "127.0.0.1".into();
    address.port = 1;
    address.password = Some(PASSWORD.into());
    let error = connect_error(&params(&address, AccessMode::Read, None));
    assert_eq!(error.kind, ErrorKind::Connection);
    assert!(error.message.contains("cannot reach"), "{error}");
    eprintln!("{error}");
    assert!(error.message.contains("127.0.0.1:1"), "{error}");
    assert_no_password(&error, PASSWORD);
}

#[test]
fn unknown_database_is_told_apart() {
    let Some(db) = TestDb::new("nodb") else {
        return;
    };
    let missing = format!("{}_missing", db.name);
    let error = connect_error(&params(&db.address, AccessMode::Read, Some(&missing)));
    assert_eq!(error.kind, ErrorKind::Connection);
    assert!(error.message.contains("unknown database"), "{error}");
    assert!(error.message.contains(&missing), "{error}");
    assert_eq!(
        error.sqlstate.as_ref().map(|s| s.as_str()).into_option(),
        Some("42000")
    );
}

#[test]
fn bad_password_is_access_denied_and_never_echoed() {
    let Some(mut db) = TestDb::new("auth") else {
        return;
    };
    let user = format!("plenum_test_x_{}", std::process::id());
    let hosts = ["%", "localhost", "127.0.0.1"];
    for host in hosts {
        let _ = db.admin(&format!("DROP USER IF EXISTS '{user}'@'{host}'"));
        // The password is fixed test data, quoted for SQL by doubling nothing: it has no quote.
        db.admin(&format!(
            "CREATE USER '{user}'@'{host}' IDENTIFIED BY '{PASSWORD}'"
        ))
        .expect("create user");
        db.admin(&format!(
            "GRANT SELECT ON `{}`.* TO '{user}'@'{host}'",
            db.name
        ))
        .expect("grant");
    }
    let mut address = db.address.clone();
    address.user = Some(user.clone());

    let mut errors = Vec::new();
    // Wrong password.
    address.password = Some(format!("{PASSWORD}-wrong"));
    let error = connect_error(&params(&address, AccessMode::Read, Some(&db.name)));
    assert_eq!(error.kind, ErrorKind::Connection);
    assert!(error.message.contains("access denied"), "{error}");
    assert_eq!(
        error.sqlstate.as_ref().map(|s| s.as_str()).into_option(),
        Some("28000")
    );
    errors.push(error);

    // Right password, a database the user may not see.
    address.password = Some(PASSWORD.into());
    let error = connect_error(&params(&address, AccessMode::Read, Some("mysql")));
    assert_eq!(error.kind, ErrorKind::Connection);
    assert!(error.message.contains("access denied"), "{error}");
    errors.push(error);

    // Right password, TLS demanded from a server without it (or with an untrusted cert).
    let mut tls = params(&address, AccessMode::Read, Some(&db.name));
    tls.ssl_mode = SslMode::VerifyFull;
    if let Err(error) = MysqlPlugin::connect(&tls) {
        errors.push(error);
    }

    // Right password: the session opens, and a failing statement does not echo it either.
    let mut conn = MysqlPlugin::connect(&params(&address, AccessMode::Read, Some(&db.name)))
        .expect("connect with the right password");
    let info = conn.server_info().expect("server info");
    assert!(info
        .user
        .as_ref()
        .map(|u| u.as_str())
        .into_option()
        .unwrap_or("")
        .starts_with(&user));
    let error = query(conn.as_mut(), "SELECT * FROM mysql.user", &[]).expect_err("no privilege");
    assert_eq!(error.kind, ErrorKind::Query);
    errors.push(error);
    drop(conn);

    for error in &errors {
        eprintln!("{error}");
        assert_no_password(error, PASSWORD);
        assert_no_password(error, &format!("{PASSWORD}-wrong"));
    }
    for host in hosts {
        db.admin(&format!("DROP USER '{user}'@'{host}'"))
            .expect("drop user");
    }
}

fn server_has_tls(db: &mut TestDb) -> bool {
    let (_, rows) = db
        .admin("SHOW VARIABLES LIKE 'have_ssl'")
        .expect("have_ssl");
    matches!(rows.first().and_then(|row| row.get(1)), Some(Value::Text(v)) if v.as_str() == "YES")
}

#[test]
fn tls_modes_behave_as_documented() {
    let Some(mut db) = TestDb::new("tls") else {
        return;
    };
    let has_tls = server_has_tls(&mut db);
    let with_mode = |mode: SslMode| {
        let mut params = db.params(AccessMode::Read);
        params.ssl_mode = mode;
        params
    };
    for mode in [SslMode::Disable, SslMode::Prefer] {
        let mut conn =
            MysqlPlugin::connect(&with_mode(mode)).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert!(conn.server_info().is_ok());
    }
    if has_tls {
        assert!(MysqlPlugin::connect(&with_mode(SslMode::Require)).is_ok());
        eprintln!(
            "the server offers TLS: require connects; verify modes depend on its certificate"
        );
    } else {
        for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
            let error = connect_error(&with_mode(mode));
            assert_eq!(error.kind, ErrorKind::Connection, "{mode:?}");
            assert!(error.message.contains("TLS"), "{mode:?}: {error}");
            eprintln!("{mode:?}: {error}");
        }
    }
    let mut missing_ca = with_mode(SslMode::VerifyCa);
    missing_ca.ssl_ca = ROption::RSome("/nonexistent/plenum-ca.pem".into());
    let error = connect_error(&missing_ca);
    assert_eq!(error.kind, ErrorKind::Connection);
    assert!(error.message.contains("ssl_ca"), "{error}");
}

#[test]
fn server_info_reports_version_database_and_user() {
    let Some(db) = TestDb::new("info") else {
        return;
    };
    let mut conn = db.connect(AccessMode::Read);
    let info = conn.server_info().expect("server info");
    assert!(
        info.version
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit()),
        "{info:?}"
    );
    assert_eq!(
        info.database.as_ref().map(|d| d.as_str()).into_option(),
        Some(db.name.as_str())
    );
    let expected_user = db.address.user.clone().unwrap_or_default();
    let user = info
        .user
        .as_ref()
        .map(|u| u.to_string())
        .into_option()
        .unwrap_or_default();
    assert!(user.starts_with(&format!("{expected_user}@")), "{user}");
}

/// Against a server with TLS, named by `PLENUM_TEST_MYSQL_TLS_URL`, whose certificate is for
/// `localhost` and signed by the CA in the PEM file `PLENUM_TEST_MYSQL_TLS_CA`. Skipped when
/// they are not set (the default test server has TLS disabled).
#[test]
fn tls_modes_against_a_tls_server() {
    let (Ok(url), Ok(ca)) = (
        std::env::var("PLENUM_TEST_MYSQL_TLS_URL"),
        std::env::var("PLENUM_TEST_MYSQL_TLS_CA"),
    ) else {
        eprintln!("skipped: PLENUM_TEST_MYSQL_TLS_URL and PLENUM_TEST_MYSQL_TLS_CA are not set");
        return;
    };
    let address = common::address_from(&url);
    let session = |host: &str, mode: SslMode, ca: Option<&str>| {
        let mut address = address.clone();
        address.host = host.to_owned();
        let mut params = params(&address, AccessMode::Read, None);
        params.ssl_mode = mode;
        params.ssl_ca = ca.map(Into::into).into();
        MysqlPlugin::connect(&params)
    };
    let cipher = |conn: &mut dyn plenum_plugin_api::Connection| {
        let (_, rows) = query(conn, "SHOW SESSION STATUS LIKE 'Ssl_cipher'", &[]).expect("status");
        match rows.first().and_then(|row| row.get(1)) {
            Some(Value::Text(cipher)) => cipher.to_string(),
            _ => String::new(),
        }
    };
    for (mode, encrypted) in [
        (SslMode::Disable, false),
        (SslMode::Prefer, true),
        (SslMode::Require, true),
    ] {
        let mut conn = session("127.0.0.1", mode, None).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert_eq!(!cipher(conn.as_mut()).is_empty(), encrypted, "{mode:?}");
    }
    // verify-ca checks the chain but not the name; verify-full checks both.
    let mut conn = session("127.0.0.1", SslMode::VerifyCa, Some(&ca)).expect("verify-ca");
    assert!(!cipher(conn.as_mut()).is_empty());
    let mut conn = session("localhost", SslMode::VerifyFull, Some(&ca)).expect("verify-full");
    assert!(!cipher(conn.as_mut()).is_empty());
    let refused = [
        session("127.0.0.1", SslMode::VerifyFull, Some(&ca)),
        session("127.0.0.1", SslMode::VerifyCa, None),
        session("localhost", SslMode::VerifyFull, None),
    ];
    for outcome in refused {
        let error = outcome
            .err()
            .expect("an untrusted or misnamed certificate is refused");
        eprintln!("{error}");
        assert_eq!(error.kind, ErrorKind::Connection);
        assert!(error.message.contains("TLS failure"), "{error}");
    }
}
