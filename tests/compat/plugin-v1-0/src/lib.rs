//! A plugin built against plugin API 1.0, for the version tests. Engine `test-compat-v1-0`:
//! every statement returns one row, `(api, sql)`, with the API version this library was
//! built against and the statement it received.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use plenum_plugin_api::abi_stable::std_types::RVec;
use plenum_plugin_api::{
    CancelHandle, Capabilities, Column, ConnectParams, Connection, Cursor, NoCancel, Plugin,
    PluginInfo, PluginResult, ServerInfo, Value, API_VERSION,
};

/// The plugin.
pub struct CompatPlugin;

impl Plugin for CompatPlugin {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "plenum-compat-v1-0".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            engines: RVec::from(vec!["test-compat-v1-0".into()]),
            dialect: "sqlite".into(),
            capabilities: Capabilities::default(),
            description: "a plugin built against plugin API 1.0".into(),
        }
    }

    fn connect(_params: &ConnectParams) -> PluginResult<Box<dyn Connection>> {
        Ok(Box::new(CompatConnection))
    }
}

struct CompatConnection;

impl Connection for CompatConnection {
    fn begin(&mut self) -> PluginResult<()> {
        Ok(())
    }

    fn execute<'a>(
        &'a mut self,
        sql: &str,
        _params: &[Value],
        _row_limit_hint: u64,
    ) -> PluginResult<Box<dyn Cursor + 'a>> {
        Ok(Box::new(OneRow {
            row: Some([API_VERSION.to_string(), sql.to_owned()]),
        }))
    }

    fn commit(&mut self) -> PluginResult<()> {
        Ok(())
    }

    fn rollback(&mut self) -> PluginResult<()> {
        Ok(())
    }

    fn cancel_handle(&self) -> PluginResult<Box<dyn CancelHandle>> {
        Ok(Box::new(NoCancel))
    }

    fn server_info(&mut self) -> PluginResult<ServerInfo> {
        Ok(ServerInfo {
            version: "compat".into(),
            ..ServerInfo::default()
        })
    }
}

struct OneRow {
    row: Option<[String; 2]>,
}

impl Cursor for OneRow {
    fn columns(&self) -> Vec<Column> {
        vec![Column::new("api", "TEXT"), Column::new("sql", "TEXT")]
    }

    fn fetch(&mut self, _max_rows: usize, out: &mut RVec<Value>) -> PluginResult<usize> {
        Ok(match self.row.take() {
            Some(row) => {
                out.extend(row.into_iter().map(|text| Value::Text(text.into())));
                1
            }
            None => 0,
        })
    }

    fn rows_affected(&self) -> Option<u64> {
        None
    }
}

plenum_plugin_api::export_plugin!(CompatPlugin);
