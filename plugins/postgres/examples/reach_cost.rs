//! What the reach check and the write fence cost per call on a live PostgreSQL, side by side
//! with the same call without them, interleaved so machine noise hits both alike.
//!
//! `cargo run --release -p plenum-postgres --example reach_cost [ROUNDS]` (bench/reach.sh runs
//! it). Reads `PLENUM_TEST_POSTGRES_URL` like the tests; creates and drops its own database.

use std::time::{Duration, Instant};

use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{
    AccessMode, ConnectParams, Connection, Plugin, ReachRequest, SqlName, Value,
};
use plenum_postgres::PostgresPlugin;

fn name(parts: &[&str]) -> SqlName {
    SqlName {
        parts: parts.iter().map(|part| (*part).into()).collect(),
        quoted: parts.iter().map(|_| false).collect(),
    }
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn run(session: &mut dyn Connection, sql: &str) -> Result<(), String> {
    let mut cursor = session
        .execute(sql, &[], 0)
        .map_err(|e| e.message.to_string())?;
    let mut out: RVec<Value> = RVec::new();
    while cursor
        .fetch(100, &mut out)
        .map_err(|e| e.message.to_string())?
        > 0
    {
        out.clear();
    }
    Ok(())
}

fn main() -> Result<(), String> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(2000);
    let url = std::env::var("PLENUM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let database = format!("plenum_reach_cost_{}", std::process::id());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).map_err(|e| e.to_string())?;
    admin
        .batch_execute(&format!("CREATE DATABASE {database}"))
        .map_err(|e| e.to_string())?;
    let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
    let mut setup = postgres::Client::connect(&format!("{base}/{database}"), postgres::NoTls)
        .map_err(|e| e.to_string())?;
    setup
        .batch_execute(
            "CREATE TABLE t (id int PRIMARY KEY, v text);
             INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 1000) g;
             CREATE VIEW v AS SELECT id, upper(v) AS v FROM t;
             CREATE TABLE w (id serial PRIMARY KEY, v text);
             CREATE ROLE plenum_reach_cost_ordinary LOGIN;
             GRANT SELECT ON t, v TO plenum_reach_cost_ordinary;",
        )
        .map_err(|e| e.to_string())?;
    drop(setup);

    let (user, host, port) = {
        let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        let (user, rest) = rest.split_once('@').unwrap_or(("postgres", rest));
        let hostport = rest.split('/').next().unwrap_or("127.0.0.1:5432");
        let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
        (
            user.to_owned(),
            host.to_owned(),
            port.parse().unwrap_or(5432),
        )
    };
    let params = |access| {
        let mut params = ConnectParams::new("postgres", access);
        params.host = Some(host.as_str().into()).into();
        params.port = Some(port).into();
        params.user = Some(user.as_str().into()).into();
        params.database = Some(database.as_str().into()).into();
        params
    };
    let mut reader =
        PostgresPlugin::connect(&params(AccessMode::Read)).map_err(|e| e.message.to_string())?;
    let mut writer =
        PostgresPlugin::connect(&params(AccessMode::Write)).map_err(|e| e.message.to_string())?;
    let mut ordinary = {
        let mut params = params(AccessMode::Read);
        params.user = Some("plenum_reach_cost_ordinary".into()).into();
        PostgresPlugin::connect(&params).map_err(|e| e.message.to_string())?
    };
    let request = ReachRequest {
        functions: vec![name(&["lower"])].into(),
        relations: vec![name(&["t"]), name(&["v"])].into(),
        targets: RVec::new(),
    };
    let write_request = ReachRequest {
        functions: RVec::new(),
        relations: vec![name(&["w"])].into(),
        targets: vec![name(&["w"])].into(),
    };
    let read_sql = "SELECT lower(t.v) FROM t JOIN v USING (id) WHERE id = 7";
    let write_sql = "INSERT INTO w (v) VALUES ('x')";
    let (mut read, mut read_reach, mut write, mut write_fenced, mut write_checked) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut ordinary_read, mut ordinary_reach) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        reader.begin().map_err(|e| e.message.to_string())?;
        run(reader.as_mut(), read_sql)?;
        reader.rollback().map_err(|e| e.message.to_string())?;
        read.push(started.elapsed());

        let started = Instant::now();
        reader.reach(&request).map_err(|e| e.message.to_string())?;
        reader.begin().map_err(|e| e.message.to_string())?;
        run(reader.as_mut(), read_sql)?;
        reader.rollback().map_err(|e| e.message.to_string())?;
        read_reach.push(started.elapsed());

        let started = Instant::now();
        ordinary.begin().map_err(|e| e.message.to_string())?;
        run(ordinary.as_mut(), read_sql)?;
        ordinary.rollback().map_err(|e| e.message.to_string())?;
        ordinary_read.push(started.elapsed());

        let started = Instant::now();
        ordinary
            .reach(&request)
            .map_err(|e| e.message.to_string())?;
        ordinary.begin().map_err(|e| e.message.to_string())?;
        run(ordinary.as_mut(), read_sql)?;
        ordinary.rollback().map_err(|e| e.message.to_string())?;
        ordinary_reach.push(started.elapsed());

        let started = Instant::now();
        writer.begin().map_err(|e| e.message.to_string())?;
        run(writer.as_mut(), write_sql)?;
        writer.commit().map_err(|e| e.message.to_string())?;
        write.push(started.elapsed());

        let started = Instant::now();
        writer.begin().map_err(|e| e.message.to_string())?;
        run(writer.as_mut(), write_sql)?;
        writer.write_fence().map_err(|e| e.message.to_string())?;
        writer.commit().map_err(|e| e.message.to_string())?;
        write_fenced.push(started.elapsed());

        let started = Instant::now();
        writer
            .reach(&write_request)
            .map_err(|e| e.message.to_string())?;
        writer.begin().map_err(|e| e.message.to_string())?;
        run(writer.as_mut(), write_sql)?;
        writer.write_fence().map_err(|e| e.message.to_string())?;
        writer.commit().map_err(|e| e.message.to_string())?;
        write_checked.push(started.elapsed());
    }
    drop(reader);
    drop(writer);
    drop(ordinary);
    let _ = admin.batch_execute(&format!("DROP DATABASE {database}"));
    let _ = admin.batch_execute("DROP ROLE plenum_reach_cost_ordinary");
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let (a, b, c, e, d) = (
        micros(median(&mut read)),
        micros(median(&mut read_reach)),
        micros(median(&mut write)),
        micros(median(&mut write_fenced)),
        micros(median(&mut write_checked)),
    );
    let (f, g) = (
        micros(median(&mut ordinary_read)),
        micros(median(&mut ordinary_reach)),
    );
    println!("rounds: {rounds} (medians, microseconds per call, on an open session)");
    println!("ordinary login, read call:          {f:8.0}");
    println!(
        "ordinary login, read call + reach:  {g:8.0}  (+{:.0})",
        g - f
    );
    println!("superuser, read call:               {a:8.0}");
    println!(
        "superuser, read call + reach:       {b:8.0}  (+{:.0})",
        b - a
    );
    println!("superuser, write call:              {c:8.0}");
    println!(
        "superuser, write call + fence:      {e:8.0}  (+{:.0})",
        e - c
    );
    println!(
        "superuser, write + reach + fence:   {d:8.0}  (+{:.0})",
        d - c
    );
    Ok(())
}
