//! Servers that stop answering: a listener that accepts and never says a word ends the call at
//! the connect timeout (or the call's timeout, whichever comes first) with CONNECTION_FAILED
//! naming the server, with no grace added; a server that answers the handshake and then goes
//! silent mid-query ends the call within the timeout plus the documented grace, and the
//! statement does not keep running on the server.
//!
//! The listeners and the proxy run inside the test. The never-answering listener needs no
//! database (only the plugins); the mid-query proxy forwards to the live servers.
//! Times are behaviour checks with generous margins (a process start and a plugin load on a
//! busy machine), never benchmarks.

mod live_support;
mod mcp_support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use live_support::{Kind, Server, TestDb};
use plenum_e2e::{engine_available, ConfigSandbox, Plenum, Run};

/// The host's grace after a cancel (`CANCEL_GRACE`, documented in SECURITY.md).
const GRACE: Duration = Duration::from_millis(1500);
/// Room for starting the process and loading a plugin on a loaded machine.
const MARGIN: Duration = Duration::from_millis(1500);

/// Accepts connections and never answers them (held open until the test process ends).
fn silent_listener() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

fn timed(plenum: Plenum) -> (Run, Duration) {
    let started = Instant::now();
    let run = plenum.run();
    (run, started.elapsed())
}

fn never_answers(engine: &str) {
    if !engine_available(engine) {
        return;
    }
    let port = silent_listener().to_string();
    let target = [
        "--engine",
        engine,
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--user",
        "app",
        "--database",
        "app",
        "--ssl-mode",
        "prefer",
    ];

    // The connect timeout comes first.
    let (run, elapsed) = timed(
        Plenum::new(["query", "--sql", "SELECT 1"])
            .args(target)
            .args(["--connect-timeout-ms", "800", "--timeout-ms", "30000"]),
    );
    run.assert_error("CONNECTION_FAILED");
    assert_eq!(
        run.error_message(),
        format!("the server at 127.0.0.1:{port} did not answer within 800 ms"),
        "{}",
        run.stdout
    );
    assert!(
        elapsed < Duration::from_millis(800) + MARGIN,
        "{engine}: took {elapsed:?}"
    );

    // The call's timeout comes first: the same error, at the call's timeout, no grace.
    let (run, elapsed) = timed(
        Plenum::new(["query", "--sql", "SELECT 1"])
            .args(target)
            .args(["--timeout-ms", "600"]),
    );
    run.assert_error("CONNECTION_FAILED");
    assert_eq!(
        run.error_message(),
        format!("the server at 127.0.0.1:{port} did not answer within 600 ms")
    );
    assert!(
        elapsed < Duration::from_millis(600) + MARGIN,
        "{engine}: took {elapsed:?}"
    );

    // Introspection and `connect --test` open their sessions the same way.
    let (run, elapsed) = timed(
        Plenum::new(["introspect", "--list-tables"])
            .args(target)
            .args(["--connect-timeout-ms", "700"]),
    );
    run.assert_error("CONNECTION_FAILED");
    assert!(run.error_message().contains("did not answer within 700 ms"));
    assert!(elapsed < Duration::from_millis(700) + MARGIN);
    let (run, _) = timed(
        Plenum::new(["connect", "--test"])
            .args(target)
            .args(["--connect-timeout-ms", "700"]),
    );
    run.assert_error("CONNECTION_FAILED");
    assert!(run.error_message().contains("did not answer within 700 ms"));
}

#[test]
fn postgres_server_that_never_answers_fails_at_the_connect_timeout() {
    never_answers("postgres");
}

#[test]
fn mysql_server_that_never_answers_fails_at_the_connect_timeout() {
    never_answers("mysql");
}

#[test]
fn a_saved_connection_carries_its_connect_timeout_and_a_call_may_change_it() {
    if !engine_available("postgres") {
        return;
    }
    let port = silent_listener().to_string();
    let sandbox = ConfigSandbox::new();
    sandbox
        .plenum(["connect", "--name", "hung", "--engine", "postgres"])
        .args(["--host", "127.0.0.1", "--port", &port, "--user", "app"])
        .args(["--connect-timeout-ms", "700", "--max-temp-mb", "5000"])
        .run()
        .assert_ok();
    let listed = sandbox.plenum(["connect", "--list"]).run();
    listed.assert_ok();
    let limits = &listed.json["data"]["connections"][0]["limits"];
    assert_eq!(limits["connect_timeout_ms"], 700, "{}", listed.stdout);
    // The human's ceiling is saved as given, also above the default.
    assert_eq!(limits["max_temp_mb"], 5000, "{}", listed.stdout);
    let started = Instant::now();
    let run = sandbox
        .plenum(["query", "--connection", "hung", "--sql", "SELECT 1"])
        .run();
    run.assert_error("CONNECTION_FAILED");
    assert!(
        run.error_message().contains("did not answer within 700 ms"),
        "{}",
        run.stdout
    );
    assert!(started.elapsed() < Duration::from_millis(700) + MARGIN);
    let run = sandbox
        .plenum(["query", "--connection", "hung", "--sql", "SELECT 1"])
        .args(["--connect-timeout-ms", "400"])
        .run();
    assert!(
        run.error_message().contains("did not answer within 400 ms"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_mcp_query_tool_takes_a_connect_timeout_and_the_server_goes_on() {
    if !engine_available("mysql") {
        return;
    }
    let port = silent_listener();
    let mut server = mcp_support::McpServer::start(&[], &[]);
    server.initialize("2025-06-18");
    let arguments = serde_json::json!({
        "sql": "SELECT 1", "engine": "mysql", "host": "127.0.0.1", "port": port,
        "user": "app", "connect_timeout_ms": 600,
    });
    let started = Instant::now();
    let answer = server.call_tool("query", arguments);
    let elapsed = started.elapsed();
    let envelope = mcp_support::tool_result(&answer);
    assert_eq!(envelope["error"]["code"], "CONNECTION_FAILED", "{answer}");
    assert_eq!(
        envelope["error"]["message"],
        format!("the server at 127.0.0.1:{port} did not answer within 600 ms")
    );
    assert!(
        elapsed < Duration::from_millis(600) + MARGIN,
        "took {elapsed:?}"
    );
    // The abandoned connect does not hold the server up.
    let again = server.call_tool("list_engines", serde_json::json!({}));
    assert_eq!(mcp_support::tool_result(&again)["ok"], true, "{again}");
}

/// The text in the statement that makes the proxy go silent.
const MARKER: &str = "plenum_silent_marker";
/// The text in a result row that makes the proxy go silent (the statement spells it in two
/// parts, so only the server's answer holds it whole).
const FETCH_MARKER: &str = "plenum_fetch_marker";

/// When the proxy goes silent.
#[derive(Clone, Copy)]
enum Trigger {
    /// Once the client sends this text: the statement still reaches the server.
    Sent(&'static str),
    /// Once the server sends this text: that part of the answer still reaches the client.
    Received(&'static str),
}

/// Forwards connections to a real server until its [`Trigger`]; from then on the server's
/// answers are dropped and new connections, such as a cancel request, are accepted and never
/// answered. Dropping it closes everything.
struct SilencingProxy {
    port: u16,
    sockets: Arc<Mutex<Vec<TcpStream>>>,
    silent: Arc<AtomicBool>,
}

impl SilencingProxy {
    fn start(target_port: u16, trigger: Trigger) -> SilencingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let sockets: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let silent = Arc::new(AtomicBool::new(false));
        let held = Arc::clone(&sockets);
        let went_silent = Arc::clone(&silent);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let keep = |stream: &TcpStream| {
                    if let (Ok(clone), Ok(mut held)) = (stream.try_clone(), held.lock()) {
                        held.push(clone);
                    }
                };
                keep(&client);
                if silent.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)) else {
                    continue;
                };
                keep(&server);
                let (Ok(client_reader), Ok(server_reader)) =
                    (client.try_clone(), server.try_clone())
                else {
                    continue;
                };
                let upstream = Arc::clone(&silent);
                std::thread::spawn(move || pump(client_reader, server, &upstream, true, trigger));
                let downstream = Arc::clone(&silent);
                std::thread::spawn(move || {
                    pump(server_reader, client, &downstream, false, trigger)
                });
            }
        });
        SilencingProxy {
            port,
            sockets,
            silent: went_silent,
        }
    }
}

fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    silent: &AtomicBool,
    from_client: bool,
    trigger: Trigger,
) {
    let watched = match trigger {
        Trigger::Sent(marker) if from_client => Some(marker.as_bytes()),
        Trigger::Received(marker) if !from_client => Some(marker.as_bytes()),
        _ => None,
    };
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok(read) = from.read(&mut buffer) {
        if read == 0 {
            break;
        }
        let data = &buffer[..read];
        let was_silent = silent.load(Ordering::SeqCst);
        if let Some(marker) = watched {
            if data.windows(marker.len()).any(|window| window == marker) {
                silent.store(true, Ordering::SeqCst);
            }
        }
        if !from_client && was_silent {
            continue;
        }
        if to.write_all(data).is_err() {
            break;
        }
    }
}

impl Drop for SilencingProxy {
    fn drop(&mut self) {
        if let Ok(sockets) = self.sockets.lock() {
            for socket in sockets.iter() {
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
    }
}

/// Sessions of the test's database, other than the admin's, still running a statement.
fn statements_running(db: &mut TestDb) -> String {
    let sql = match db.server.kind {
        Kind::Postgres => format!(
            "SELECT count(*)::text FROM pg_stat_activity WHERE datname = '{}' \
             AND pid <> pg_backend_pid() AND state = 'active'",
            db.name
        ),
        Kind::Mysql => format!(
            "SELECT CAST(count(*) AS CHAR) FROM information_schema.processlist \
             WHERE db = '{}' AND id <> CONNECTION_ID() AND command <> 'Sleep'",
            db.name
        ),
    };
    db.admin().text(&sql)
}

fn silent_mid_query(server: Server, trigger: Trigger) {
    let mut db = TestDb::create(&server, &[]);
    let proxy = SilencingProxy::start(server.port, trigger);
    let sleep = match (server.kind, trigger) {
        (Kind::Postgres, Trigger::Sent(_)) => format!("SELECT '{MARKER}', pg_sleep(20)"),
        (Kind::Mysql, Trigger::Sent(_)) => format!("SELECT '{MARKER}', SLEEP(20)"),
        // The first row carries the marker; the rest of the result never arrives.
        (Kind::Postgres, Trigger::Received(_)) => {
            "SELECT CASE WHEN g = 1 THEN 'plenum_fetch_' || 'marker' ELSE repeat('y', 200) END \
             FROM generate_series(1, 200000) g"
                .to_owned()
        }
        (Kind::Mysql, Trigger::Received(_)) => {
            "WITH RECURSIVE r(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM r WHERE g < 900) \
             SELECT IF(g = 1, CONCAT('plenum_fetch_', 'marker'), REPEAT('y', 2000)) FROM r"
                .to_owned()
        }
    };
    let port = proxy.port.to_string();
    let mut args = db.flags();
    if let Some(at) = args.iter().position(|flag| flag == "--port") {
        args[at + 1] = port;
    }
    // Plain text, so the proxy can see the marker.
    args.extend(["--ssl-mode".to_owned(), "disable".to_owned()]);
    let timeout = Duration::from_millis(1500);
    let (run, elapsed) = timed(
        server
            .plenum(["query", "--sql", &sleep, "--timeout-ms", "1500"])
            .args(&args),
    );
    assert!(
        proxy.silent.load(Ordering::SeqCst),
        "the statement never reached the proxy: {}",
        run.stdout
    );
    run.assert_error("TIMEOUT");
    assert!(run.error_message().contains("1500 ms"), "{}", run.stdout);
    assert!(
        elapsed < timeout + GRACE + MARGIN,
        "{:?}: took {elapsed:?}: {}",
        server.kind,
        run.stdout
    );
    // The server-side backstop (statement_timeout / max_statement_time, a little above the
    // host's timeout) ends the statement the cancel could not reach; closing the proxy ends
    // the session.
    drop(proxy);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut running = statements_running(&mut db);
    while running != "0" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        running = statements_running(&mut db);
    }
    assert_eq!(running, "0", "{:?}: the statement still runs", server.kind);
}

#[test]
fn postgres_server_silent_mid_query_ends_within_the_grace() {
    if let Some(server) = Server::postgres() {
        silent_mid_query(server, Trigger::Sent(MARKER));
    }
}

#[test]
fn mysql_server_silent_mid_query_ends_within_the_grace() {
    if let Some(server) = Server::mysql() {
        silent_mid_query(server, Trigger::Sent(MARKER));
    }
}

#[test]
fn postgres_server_silent_mid_fetch_ends_within_the_grace() {
    if let Some(server) = Server::postgres() {
        silent_mid_query(server, Trigger::Received(FETCH_MARKER));
    }
}

#[test]
fn mysql_server_silent_mid_fetch_ends_within_the_grace() {
    if let Some(server) = Server::mysql() {
        silent_mid_query(server, Trigger::Received(FETCH_MARKER));
    }
}
