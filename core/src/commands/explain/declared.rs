//! Plans a plugin reads itself (plugin API 1.2 `explain`), for engines whose SQL dialect the
//! host has no reader for: the plugin answers one plan node in the host's own form, and this
//! checks its shape. See `plenum_plugin_api::driver::Connection::explain`.

use super::tree::{Json, PlanNode};
use crate::services::error::Failure;

/// The plan tree from the plugin's JSON text.
pub fn plan(text: &str) -> Result<PlanNode, Failure> {
    node(&Json::parse(text)?, "the plan")
}

fn node(value: &Json, at: &str) -> Result<PlanNode, Failure> {
    let Json::Object(fields) = value else {
        return Err(shape(at, "is not an object"));
    };
    let mut node = PlanNode::named(String::new());
    let mut named = false;
    for (key, value) in fields {
        match key.as_str() {
            "node" => {
                node.node = text(value, at, key)?.unwrap_or_default();
                named = true;
            }
            "relation" => node.relation = text(value, at, key)?,
            "alias" => node.alias = text(value, at, key)?,
            "index" => node.index = text(value, at, key)?,
            "detail" => node.detail = text(value, at, key)?,
            "estimated_rows" => node.estimated_rows = number(value, at, key)?,
            "estimated_cost" => node.estimated_cost = number(value, at, key)?,
            "children" => {
                let Json::Array(children) = value else {
                    return Err(shape(at, "has children that are not an array"));
                };
                node.children = children
                    .iter()
                    .enumerate()
                    .map(|(index, child)| node_at(child, at, index))
                    .collect::<Result<_, _>>()?;
            }
            // A field the host does not know would be lost without a word: refused, so a
            // plugin learns of it in its tests rather than its users in their plans.
            other => {
                return Err(shape(
                    at,
                    &format!("has a field the host does not know: {other:?}"),
                ))
            }
        }
    }
    if !named || node.node.is_empty() {
        return Err(shape(at, "has no \"node\" name"));
    }
    Ok(node)
}

fn node_at(child: &Json, at: &str, index: usize) -> Result<PlanNode, Failure> {
    node(child, &format!("{at}'s child {index}"))
}

fn text(value: &Json, at: &str, key: &str) -> Result<Option<String>, Failure> {
    match value {
        Json::Null => Ok(None),
        Json::String(text) => Ok(Some(text.clone())),
        _ => Err(shape(
            at,
            &format!("has a {key:?} that is not a string or null"),
        )),
    }
}

fn number(value: &Json, at: &str, key: &str) -> Result<Option<f64>, Failure> {
    match value {
        Json::Null => Ok(None),
        // A number, not text that reads as one.
        Json::Number(number) => number
            .as_f64()
            .filter(|number| number.is_finite())
            .map(Some)
            .ok_or_else(|| shape(at, &format!("has a {key:?} that is out of range"))),
        _ => Err(shape(
            at,
            &format!("has a {key:?} that is not a number or null"),
        )),
    }
}

fn shape(at: &str, what: &str) -> Failure {
    Failure::plugin(format!(
        "the plugin's plan is not in the host's plan form: {at} {what}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_in_the_host_form_is_read() {
        let tree = plan(
            r#"{"node": "PROJECTION", "detail": "a, b", "children": [
                {"node": "SEQ_SCAN", "relation": "t", "estimated_rows": 3, "estimated_cost": null,
                 "children": []}]}"#,
        );
        let tree = tree.unwrap_or_else(|failure| PlanNode::named(failure.message));
        assert_eq!(tree.node, "PROJECTION");
        assert_eq!(tree.detail.as_deref(), Some("a, b"));
        assert_eq!(tree.children[0].relation.as_deref(), Some("t"));
        assert_eq!(tree.children[0].estimated_rows, Some(3.0));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "[]",
            r#"{"relation": "t"}"#,
            r#"{"node": ""}"#,
            r#"{"node": "X", "estimated_rows": "3"}"#,
            r#"{"node": "X", "children": {}}"#,
            r#"{"node": "X", "children": [{"node": 1}]}"#,
            r#"{"node": "X", "costs": 1}"#,
            "not json",
        ] {
            assert!(plan(bad).is_err(), "{bad}");
        }
    }
}
