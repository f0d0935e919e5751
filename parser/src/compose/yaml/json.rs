//! Conversions between [`Node`] trees and `serde_json::Value`, the form the
//! schema validator and JSON output use.

use serde_json::{Map, Number, Value as Json};

use super::{Key, Node, Pos, Value};

impl Node {
    /// This tree as JSON. Tags and positions are dropped; mapping keys come
    /// out sorted (serde_json's map); floats that JSON cannot hold (`.inf`,
    /// `.nan`) become `null`.
    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::Number((*i).into()),
            Value::Float(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Str(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                let map: Map<String, Json> = entries
                    .iter()
                    .map(|(k, v)| (k.text.clone(), v.to_json()))
                    .collect();
                Json::Object(map)
            }
        }
    }

    /// A tree from JSON (no positions, no tags; keys in the JSON map's order).
    pub fn from_json(json: &Json) -> Node {
        let value = match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => Value::Str(s.clone()),
            Json::Array(items) => Value::Seq(items.iter().map(Node::from_json).collect()),
            Json::Object(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                text: k.clone(),
                                pos: Pos::default(),
                            },
                            Node::from_json(v),
                        )
                    })
                    .collect(),
            ),
        };
        Node::new(value)
    }
}
