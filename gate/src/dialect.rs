//! The SQL dialects the gate can parse, one per sqlparser dialect.

use sqlparser::dialect as sp;

/// The SQL dialect statements are lexed and parsed with.
///
/// A plugin declares its engine's dialect by name; [`Dialect::from_name`] accepts the names
/// sqlparser's `dialect_from_str` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    PostgreSql,
    /// MySQL and MariaDB.
    MySql,
    /// sqlparser's permissive generic dialect.
    Generic,
    /// Microsoft SQL Server.
    MsSql,
    /// Snowflake.
    Snowflake,
    /// DuckDB.
    DuckDb,
    /// Google BigQuery.
    BigQuery,
    /// ANSI SQL.
    Ansi,
    /// Apache Hive.
    Hive,
    /// Amazon Redshift.
    Redshift,
    /// ClickHouse.
    ClickHouse,
    /// Databricks.
    Databricks,
    /// Apache Spark SQL.
    Spark,
    /// Oracle.
    Oracle,
    /// Teradata.
    Teradata,
}

impl Dialect {
    /// Every dialect.
    pub const ALL: [Dialect; 16] = [
        Dialect::Sqlite,
        Dialect::PostgreSql,
        Dialect::MySql,
        Dialect::Generic,
        Dialect::MsSql,
        Dialect::Snowflake,
        Dialect::DuckDb,
        Dialect::BigQuery,
        Dialect::Ansi,
        Dialect::Hive,
        Dialect::Redshift,
        Dialect::ClickHouse,
        Dialect::Databricks,
        Dialect::Spark,
        Dialect::Oracle,
        Dialect::Teradata,
    ];

    /// Looks a dialect up by the name sqlparser uses for it (case-insensitive), e.g.
    /// `"sqlite"`, `"postgresql"` or `"postgres"`, `"mysql"`, `"generic"`, `"mssql"`.
    pub fn from_name(name: &str) -> Option<Dialect> {
        let dialect = match name.trim().to_ascii_lowercase().as_str() {
            "sqlite" => Dialect::Sqlite,
            "postgresql" | "postgres" => Dialect::PostgreSql,
            "mysql" => Dialect::MySql,
            "generic" => Dialect::Generic,
            "mssql" => Dialect::MsSql,
            "snowflake" => Dialect::Snowflake,
            "duckdb" => Dialect::DuckDb,
            "bigquery" => Dialect::BigQuery,
            "ansi" => Dialect::Ansi,
            "hive" => Dialect::Hive,
            "redshift" => Dialect::Redshift,
            "clickhouse" => Dialect::ClickHouse,
            "databricks" => Dialect::Databricks,
            "spark" | "sparksql" => Dialect::Spark,
            "oracle" => Dialect::Oracle,
            "teradata" => Dialect::Teradata,
            _ => return None,
        };
        Some(dialect)
    }

    /// The dialect's canonical name, accepted by [`Dialect::from_name`].
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::PostgreSql => "postgresql",
            Dialect::MySql => "mysql",
            Dialect::Generic => "generic",
            Dialect::MsSql => "mssql",
            Dialect::Snowflake => "snowflake",
            Dialect::DuckDb => "duckdb",
            Dialect::BigQuery => "bigquery",
            Dialect::Ansi => "ansi",
            Dialect::Hive => "hive",
            Dialect::Redshift => "redshift",
            Dialect::ClickHouse => "clickhouse",
            Dialect::Databricks => "databricks",
            Dialect::Spark => "spark",
            Dialect::Oracle => "oracle",
            Dialect::Teradata => "teradata",
        }
    }

    /// The sqlparser dialect object; all are zero-sized, so this never allocates.
    pub(crate) fn parser_dialect(self) -> &'static dyn sp::Dialect {
        match self {
            Dialect::Sqlite => &sp::SQLiteDialect {},
            Dialect::PostgreSql => &sp::PostgreSqlDialect {},
            Dialect::MySql => &sp::MySqlDialect {},
            Dialect::Generic => &sp::GenericDialect {},
            Dialect::MsSql => &sp::MsSqlDialect {},
            Dialect::Snowflake => &sp::SnowflakeDialect {},
            Dialect::DuckDb => &sp::DuckDbDialect {},
            Dialect::BigQuery => &sp::BigQueryDialect {},
            Dialect::Ansi => &sp::AnsiDialect {},
            Dialect::Hive => &sp::HiveDialect {},
            Dialect::Redshift => &sp::RedshiftSqlDialect {},
            Dialect::ClickHouse => &sp::ClickHouseDialect {},
            Dialect::Databricks => &sp::DatabricksDialect {},
            Dialect::Spark => &sp::SparkSqlDialect {},
            Dialect::Oracle => &sp::OracleDialect {},
            Dialect::Teradata => &sp::TeradataDialect {},
        }
    }

    /// Whether the engine reads `INTO OUTFILE`, `INTO DUMPFILE` and `INTO @var` the MySQL way.
    /// The generic dialect is included because it may stand for a MySQL-like engine.
    pub(crate) fn has_mysql_select_into(self) -> bool {
        matches!(self, Dialect::MySql | Dialect::Generic)
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
