//! JSON schema (as `serde_json::Value`) -> arena of [`Node`]s.
//!
//! Each subschema is compiled once, keyed by its JSON pointer, so a `$ref`
//! and the definition it points at share one node (and recursive schemas
//! terminate). Annotation keywords (`description`, `default`, `format`, ...)
//! are skipped; an assertion keyword this validator does not implement is a
//! [`CompileError::Unsupported`] rather than silently ignored.

use super::error::CompileError;
use super::node::{Additional, JsonType, Node, NodeId, TypeSet};
use regex::Regex;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// Assertion keywords a schema may use that this validator does not
/// implement (refused at compile time so no rule is dropped silently).
const UNSUPPORTED: &[&str] = &[
    "unevaluatedProperties",
    "unevaluatedItems",
    "$dynamicRef",
    "$recursiveRef",
    "contentSchema",
];

/// A compiled schema: the arena and the root node.
pub(super) struct Compiled {
    pub nodes: Vec<Node>,
    pub root: NodeId,
}

/// Compiles `schema` (a draft 2020-12 document; draft-07's `definitions`,
/// array-form `items`/`additionalItems` and `dependencies` are understood too).
pub(super) fn compile(schema: &Value) -> Result<Compiled, CompileError> {
    let base = schema
        .get("$id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let legacy_ref = schema
        .get("$schema")
        .and_then(Value::as_str)
        .is_some_and(|s| ["draft-04", "draft-06", "draft-07"].iter().any(|d| s.contains(d)));
    let mut c = Compiler { root: schema, base, legacy_ref, nodes: Vec::new(), by_pointer: HashMap::new() };
    let root = c.node("", schema)?;
    Ok(Compiled { nodes: c.nodes, root })
}

struct Compiler<'s> {
    root: &'s Value,
    /// The root's `$id`: `$ref`s may name it before the `#`.
    base: String,
    /// Draft-07 and older: a `$ref` makes its siblings ignored.
    legacy_ref: bool,
    nodes: Vec<Node>,
    by_pointer: HashMap<String, NodeId>,
}

impl<'s> Compiler<'s> {
    /// The node for the subschema `value` found at `pointer`.
    fn node(&mut self, pointer: &str, value: &'s Value) -> Result<NodeId, CompileError> {
        if let Some(id) = self.by_pointer.get(pointer) {
            return Ok(*id);
        }
        let id = self.nodes.len();
        self.nodes.push(Node::default());
        self.by_pointer.insert(pointer.to_string(), id);
        let node = match value {
            Value::Bool(b) => Node { always: Some(*b), ..Node::default() },
            Value::Object(map) => self.object_schema(pointer, map)?,
            _ => return Err(bad(pointer, "", "a schema must be an object or a boolean")),
        };
        self.nodes[id] = node;
        Ok(id)
    }

    fn object_schema(&mut self, ptr: &str, map: &'s Map<String, Value>) -> Result<Node, CompileError> {
        if let Some(k) = UNSUPPORTED.iter().find(|k| map.contains_key(**k)) {
            return Err(CompileError::Unsupported { pointer: ptr.to_string(), keyword: k.to_string() });
        }
        let mut n = Node::default();
        if let Some(r) = map.get("$ref") {
            n.reference = Some(self.reference(ptr, r)?);
            if self.legacy_ref {
                return Ok(n);
            }
        }
        if let Some(t) = map.get("type") {
            n.types = Some(types(ptr, t)?);
        }
        n.constant = map.get("const").cloned();
        if let Some(e) = map.get("enum") {
            n.enumeration = Some(e.as_array().ok_or_else(|| bad(ptr, "enum", "must be an array"))?.clone());
        }
        self.object_rules(ptr, map, &mut n)?;
        self.array_rules(ptr, map, &mut n)?;
        string_rules(ptr, map, &mut n)?;
        number_rules(ptr, map, &mut n)?;
        self.logic_rules(ptr, map, &mut n)?;
        Ok(n)
    }

    fn object_rules(&mut self, ptr: &str, map: &'s Map<String, Value>, n: &mut Node) -> Result<(), CompileError> {
        let o = &mut n.object;
        o.min_properties = count(ptr, map, "minProperties")?;
        o.max_properties = count(ptr, map, "maxProperties")?;
        if let Some(r) = map.get("required") {
            o.required = strings(ptr, "required", r)?;
        }
        for (name, v) in members(ptr, map, "properties")? {
            let id = self.node(&join(ptr, &["properties", name]), v)?;
            n.object.properties.insert(name.clone(), id);
        }
        for (pat, v) in members(ptr, map, "patternProperties")? {
            let re = regex(ptr, "patternProperties", pat)?;
            let id = self.node(&join(ptr, &["patternProperties", pat]), v)?;
            n.object.pattern_properties.push((re, id));
        }
        n.object.additional = match map.get("additionalProperties") {
            None | Some(Value::Bool(true)) => None,
            Some(Value::Bool(false)) => Some(Additional::Forbidden),
            Some(v) => Some(Additional::Schema(self.node(&join(ptr, &["additionalProperties"]), v)?)),
        };
        if let Some(v) = map.get("propertyNames") {
            n.object.property_names = Some(self.node(&join(ptr, &["propertyNames"]), v)?);
        }
        for (name, v) in members(ptr, map, "dependentRequired")? {
            n.object.dependent_required.push((name.clone(), strings(ptr, "dependentRequired", v)?));
        }
        for (name, v) in members(ptr, map, "dependentSchemas")? {
            let id = self.node(&join(ptr, &["dependentSchemas", name]), v)?;
            n.object.dependent_schemas.push((name.clone(), id));
        }
        for (name, v) in members(ptr, map, "dependencies")? {
            if v.is_array() {
                n.object.dependent_required.push((name.clone(), strings(ptr, "dependencies", v)?));
            } else {
                let id = self.node(&join(ptr, &["dependencies", name]), v)?;
                n.object.dependent_schemas.push((name.clone(), id));
            }
        }
        Ok(())
    }

    fn array_rules(&mut self, ptr: &str, map: &'s Map<String, Value>, n: &mut Node) -> Result<(), CompileError> {
        n.array.min_items = count(ptr, map, "minItems")?;
        n.array.max_items = count(ptr, map, "maxItems")?;
        n.array.min_contains = count(ptr, map, "minContains")?;
        n.array.max_contains = count(ptr, map, "maxContains")?;
        n.array.unique_items = match map.get("uniqueItems") {
            None => false,
            Some(v) => v.as_bool().ok_or_else(|| bad(ptr, "uniqueItems", "must be a boolean"))?,
        };
        if let Some(Value::Array(list)) = map.get("prefixItems") {
            n.array.prefix_items = self.list(ptr, "prefixItems", list)?;
        }
        match map.get("items") {
            Some(Value::Array(list)) => {
                n.array.prefix_items = self.list(ptr, "items", list)?;
                if let Some(v) = map.get("additionalItems") {
                    n.array.items = Some(self.node(&join(ptr, &["additionalItems"]), v)?);
                }
            }
            Some(v) => n.array.items = Some(self.node(&join(ptr, &["items"]), v)?),
            None => {}
        }
        if let Some(v) = map.get("contains") {
            n.array.contains = Some(self.node(&join(ptr, &["contains"]), v)?);
        }
        Ok(())
    }

    fn logic_rules(&mut self, ptr: &str, map: &'s Map<String, Value>, n: &mut Node) -> Result<(), CompileError> {
        let l = &mut n.logic;
        if let Some(v) = map.get("not") {
            l.not = Some(self.node(&join(ptr, &["not"]), v)?);
        }
        for (kw, slot) in [("allOf", &mut l.all_of), ("anyOf", &mut l.any_of), ("oneOf", &mut l.one_of)] {
            if let Some(v) = map.get(kw) {
                let list = v.as_array().filter(|a| !a.is_empty());
                *slot = self.list(ptr, kw, list.ok_or_else(|| bad(ptr, kw, "must be a non-empty array"))?)?;
            }
        }
        if let Some(v) = map.get("if") {
            let cond = self.node(&join(ptr, &["if"]), v)?;
            let mut branch = |kw: &str| map.get(kw).map(|v| self.node(&join(ptr, &[kw]), v)).transpose();
            l.conditional = Some((cond, branch("then")?, branch("else")?));
        }
        Ok(())
    }

    fn list(&mut self, ptr: &str, kw: &str, list: &'s [Value]) -> Result<Vec<NodeId>, CompileError> {
        let mut ids = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            ids.push(self.node(&join(ptr, &[kw, &i.to_string()]), v)?);
        }
        Ok(ids)
    }

    /// Resolves a `$ref` inside this document: `#<json-pointer>`, optionally
    /// preceded by the root's `$id`. Remote documents and anchors are refused.
    fn reference(&mut self, ptr: &str, r: &Value) -> Result<NodeId, CompileError> {
        let text = r.as_str().ok_or_else(|| bad(ptr, "$ref", "must be a string"))?;
        let unresolved = || CompileError::Ref { pointer: ptr.to_string(), reference: text.to_string() };
        let (doc, fragment) = text.split_once('#').ok_or_else(unresolved)?;
        if !doc.is_empty() && doc != self.base {
            return Err(unresolved());
        }
        let target = percent_decode(fragment).ok_or_else(unresolved)?;
        let value = self.root.pointer(&target).ok_or_else(unresolved)?;
        self.node(&target, value)
    }
}

fn string_rules(ptr: &str, map: &Map<String, Value>, n: &mut Node) -> Result<(), CompileError> {
    n.string.min_length = count(ptr, map, "minLength")?;
    n.string.max_length = count(ptr, map, "maxLength")?;
    if let Some(p) = map.get("pattern") {
        let text = p.as_str().ok_or_else(|| bad(ptr, "pattern", "must be a string"))?;
        n.string.pattern = Some((regex(ptr, "pattern", text)?, text.to_string()));
    }
    Ok(())
}

fn number_rules(ptr: &str, map: &Map<String, Value>, n: &mut Node) -> Result<(), CompileError> {
    let num = |kw: &str| -> Result<Option<Number>, CompileError> {
        match map.get(kw) {
            None => Ok(None),
            Some(Value::Number(x)) => Ok(Some(x.clone())),
            Some(_) => Err(bad(ptr, kw, "must be a number")),
        }
    };
    n.number.minimum = num("minimum")?;
    n.number.maximum = num("maximum")?;
    n.number.exclusive_minimum = num("exclusiveMinimum")?;
    n.number.exclusive_maximum = num("exclusiveMaximum")?;
    n.number.multiple_of = num("multipleOf")?;
    if n.number.multiple_of.as_ref().is_some_and(|m| m.as_f64().is_none_or(|f| f <= 0.0)) {
        return Err(bad(ptr, "multipleOf", "must be greater than 0"));
    }
    Ok(())
}

fn types(ptr: &str, t: &Value) -> Result<TypeSet, CompileError> {
    let mut set = TypeSet::default();
    let names: Vec<&Value> = match t {
        Value::Array(list) => list.iter().collect(),
        other => vec![other],
    };
    for name in names {
        let parsed = name.as_str().and_then(JsonType::from_name);
        set.insert(parsed.ok_or_else(|| bad(ptr, "type", "unknown type name"))?);
    }
    Ok(set)
}

fn count(ptr: &str, map: &Map<String, Value>, kw: &str) -> Result<Option<usize>, CompileError> {
    match map.get(kw) {
        None => Ok(None),
        Some(v) => {
            let n = v.as_u64().and_then(|n| usize::try_from(n).ok());
            n.map(Some).ok_or_else(|| bad(ptr, kw, "must be a non-negative integer"))
        }
    }
}

fn strings(ptr: &str, kw: &str, v: &Value) -> Result<Vec<String>, CompileError> {
    let list = v.as_array().ok_or_else(|| bad(ptr, kw, "must be an array of strings"))?;
    list.iter()
        .map(|s| s.as_str().map(str::to_string).ok_or_else(|| bad(ptr, kw, "must be an array of strings")))
        .collect()
}

fn members<'s>(
    ptr: &str,
    map: &'s Map<String, Value>,
    kw: &str,
) -> Result<impl Iterator<Item = (&'s String, &'s Value)>, CompileError> {
    match map.get(kw) {
        None => Ok(None.into_iter().flatten()),
        Some(Value::Object(m)) => Ok(Some(m.iter()).into_iter().flatten()),
        Some(_) => Err(bad(ptr, kw, "must be an object")),
    }
}

fn regex(ptr: &str, kw: &str, pattern: &str) -> Result<Regex, CompileError> {
    Regex::new(pattern).map_err(|e| CompileError::Pattern {
        pointer: join(ptr, &[kw]),
        pattern: pattern.to_string(),
        reason: e.to_string().lines().last().unwrap_or_default().to_string(),
    })
}

fn bad(ptr: &str, keyword: &str, reason: &'static str) -> CompileError {
    CompileError::Keyword { pointer: ptr.to_string(), keyword: keyword.to_string(), reason }
}

/// `ptr` extended by `tokens`, each escaped as RFC 6901 says (`~0`, `~1`).
fn join(ptr: &str, tokens: &[&str]) -> String {
    let mut out = ptr.to_string();
    for t in tokens {
        out.push('/');
        out.push_str(&t.replace('~', "~0").replace('/', "~1"));
    }
    out
}

/// Decodes the `%XX` escapes a URI fragment may hold; `None` if malformed.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
