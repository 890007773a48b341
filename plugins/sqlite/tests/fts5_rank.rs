//! FTS5's `bm25()` ranks through the plugin's own `log` (src/math.rs): the scores are the
//! BM25 formula's, computed here independently of that function.

use plenum_plugin_api::abi_stable::std_types::{ROption, RVec};
use plenum_plugin_api::{AccessMode, ConnectParams, Plugin, Value};
use plenum_sqlite::SqlitePlugin;

fn rows(conn: &mut dyn plenum_plugin_api::Connection, sql: &str) -> Vec<Value> {
    let mut cursor = conn.execute(sql, &[], 0).expect(sql);
    let mut out = RVec::new();
    while cursor.fetch(100, &mut out).expect("fetch") > 0 {}
    out.into_iter().collect()
}

/// BM25 as FTS5 computes it (k1 = 1.2, b = 0.75), negated, for one term found `tf` times in a
/// document of `length` tokens. The IDF's logarithm is given, not computed: `f64::ln` in this
/// test binary is the plugin's own `log`.
fn bm25(idf: f64, tf: f64, length: f64, average: f64) -> f64 {
    let (k1, b) = (1.2, 0.75);
    -(idf * (tf * (k1 + 1.0)) / (tf + k1 * (1.0 - b + b * length / average)))
}

#[test]
fn bm25_scores_follow_the_formula() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut params = ConnectParams::new("sqlite", AccessMode::Ddl);
    params.file = ROption::RSome(dir.path().join("fts.db").to_string_lossy().as_ref().into());
    let mut conn = SqlitePlugin::connect(&params).expect("open");
    conn.begin().expect("begin");
    for sql in [
        "CREATE VIRTUAL TABLE docs USING fts5(body)",
        "INSERT INTO docs(rowid, body) VALUES (1, 'apple apple pear'), (2, 'pear plum'), \
         (3, 'plum plum plum plum'), (4, 'kiwi')",
    ] {
        rows(conn.as_mut(), sql);
    }
    let scores = rows(
        conn.as_mut(),
        "SELECT rowid, bm25(docs) FROM docs WHERE docs MATCH 'apple OR kiwi' ORDER BY rank",
    );
    conn.rollback().expect("rollback");
    // Four documents, one holds each term: IDF = ln((4 - 1 + 0.5) / (1 + 0.5)) = ln(7/3), here
    // as CPython's `math.log(7/3)` (glibc's libm) prints it. Token counts 3, 2, 4, 1: average 2.5.
    let idf = 0.8472978603872037;
    let expected = [(4, bm25(idf, 1.0, 1.0, 2.5)), (1, bm25(idf, 2.0, 3.0, 2.5))];
    let got: Vec<(i64, f64)> = scores
        .chunks(2)
        .map(|pair| match pair {
            [Value::Int(rowid), Value::Float(score)] => (*rowid, *score),
            other => panic!("unexpected row {other:?}"),
        })
        .collect();
    assert_eq!(got.len(), expected.len(), "{got:?}");
    for ((rowid, score), (want_rowid, want)) in got.iter().zip(expected) {
        assert_eq!(*rowid, want_rowid, "{got:?}");
        assert!(
            (score - want).abs() <= want.abs() * 1e-12,
            "{got:?} against {expected:?}"
        );
    }
}
