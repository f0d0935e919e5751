//! The validator: walks a value against compiled [`Node`]s and appends every
//! *leaf* violation, in the order santhosh-tekuri/jsonschema v6 builds its
//! error tree, to `out`.
//!
//! compose-go keeps only one error: the first leaf of that tree (depth-first)
//! with the highest [`Violation::specificity`]. Producing the leaves in the
//! same order therefore reproduces its choice; the tree itself (groups,
//! `$ref`, `allOf`/`anyOf`/`oneOf` wrappers) is never needed. The order per
//! schema is upstream's: `type` (stops there), `const`, `enum`, `$ref`, the
//! object / array / string / number keywords, then `not`, `allOf`, `anyOf`,
//! `oneOf`, `if`. Object members are visited in the document's key order,
//! where Go visits them in random map order: ties between equally specific
//! violations are broken deterministically here.

use super::error::{PathSeg, Reason, Violation};
use super::node::{Additional, JsonType, Node, NodeId};
use super::values;
use serde_json::{Map, Number, Value};
use std::cmp::Ordering;

/// In-place applications (`$ref`, `allOf`, ...) allowed on one value before
/// the schema is taken to loop (`{"$ref": "#"}`).
const MAX_IN_PLACE: u32 = 128;

/// One step of the path while walking (borrowed from the instance).
#[derive(Clone, Copy)]
pub(super) enum Seg<'v> {
    Key(&'v str),
    Index(usize),
}

/// A walk over one instance with one compiled schema.
pub(super) struct Walk<'a, 'v> {
    nodes: &'a [Node],
    path: Vec<Seg<'v>>,
    out: Vec<Violation>,
}

impl<'a, 'v> Walk<'a, 'v> {
    /// Every leaf violation of `value` against node `root`, in upstream's order.
    pub(super) fn run(nodes: &'a [Node], root: NodeId, value: &'v Value) -> Vec<Violation> {
        let mut walk = Walk { nodes, path: Vec::new(), out: Vec::new() };
        walk.check(root, value, 0);
        walk.out
    }

    /// Validates `v` (at the current path) against node `id`; `same` counts
    /// in-place applications since the walk last descended into a child.
    fn check(&mut self, id: NodeId, v: &'v Value, same: u32) {
        let nodes = self.nodes;
        let n = &nodes[id];
        if same > MAX_IN_PLACE {
            return self.fail(Reason::RefCycle);
        }
        if let Some(ok) = n.always {
            if !ok {
                self.fail(Reason::FalseSchema);
            }
            return;
        }
        if let Some(reason) = first_gate(n, v) {
            return self.fail(reason);
        }
        if let Some(r) = n.reference {
            self.check(r, v, same + 1);
        }
        match v {
            Value::Object(map) => self.object(n, map, v, same),
            Value::Array(list) => self.array(n, list),
            Value::String(s) => self.string(n, s),
            Value::Number(x) => self.number(n, x),
            _ => {}
        }
        self.logic(n, v, same);
    }

    /// Records a leaf violation at the current path.
    fn fail(&mut self, reason: Reason) {
        let path = self
            .path
            .iter()
            .map(|s| match s {
                Seg::Key(k) => PathSeg::Key((*k).to_string()),
                Seg::Index(i) => PathSeg::Index(*i),
            })
            .collect();
        self.out.push(Violation { path, reason });
    }

    /// Validates the child `v` reached through `seg`.
    fn child(&mut self, id: NodeId, seg: Seg<'v>, v: &'v Value) {
        self.path.push(seg);
        self.check(id, v, 0);
        self.path.pop();
    }

    /// Runs `id` on `v` in place, returning its violations instead of keeping them.
    fn trial(&mut self, id: NodeId, v: &'v Value, same: u32) -> Vec<Violation> {
        let start = self.out.len();
        self.check(id, v, same + 1);
        self.out.split_off(start)
    }

    fn object(&mut self, n: &Node, map: &'v Map<String, Value>, v: &'v Value, same: u32) {
        let o = &n.object;
        if let Some(want) = o.min_properties.filter(|w| map.len() < *w) {
            self.fail(Reason::MinProperties { got: map.len(), want });
        }
        if let Some(want) = o.max_properties.filter(|w| map.len() > *w) {
            self.fail(Reason::MaxProperties { got: map.len(), want });
        }
        let missing = missing(map, &o.required);
        if !missing.is_empty() {
            self.fail(Reason::Required { missing });
        }
        let mut names = Vec::new();
        for (key, val) in map {
            let seg = Seg::Key(key.as_str());
            let mut evaluated = false;
            if let Some(id) = o.properties.get(key) {
                evaluated = true;
                self.child(*id, seg, val);
            }
            for (re, id) in &o.pattern_properties {
                if re.is_match(key) {
                    evaluated = true;
                    self.child(*id, seg, val);
                }
            }
            match (&o.additional, evaluated) {
                (Some(Additional::Forbidden), false) => names.push(key.clone()),
                (Some(Additional::Schema(id)), false) => self.child(*id, seg, val),
                _ => {}
            }
        }
        if !names.is_empty() {
            self.fail(Reason::AdditionalProperties { names });
        }
        self.object_dependencies(n, map, v, same);
    }

    /// `propertyNames`, `dependentSchemas`, `dependentRequired`.
    fn object_dependencies(&mut self, n: &Node, map: &'v Map<String, Value>, v: &'v Value, same: u32) {
        let o = &n.object;
        if let Some(id) = o.property_names {
            for key in map.keys() {
                let name = Value::String(key.clone());
                if !Walk::run(self.nodes, id, &name).is_empty() {
                    self.fail(Reason::PropertyName { name: key.clone() });
                }
            }
        }
        for (prop, id) in &o.dependent_schemas {
            if map.contains_key(prop) {
                self.check(*id, v, same + 1);
            }
        }
        for (prop, required) in &o.dependent_required {
            if map.contains_key(prop) {
                let missing = missing(map, required);
                if !missing.is_empty() {
                    self.fail(Reason::DependentRequired { prop: prop.clone(), missing });
                }
            }
        }
    }

    fn array(&mut self, n: &Node, list: &'v [Value]) {
        let a = &n.array;
        if let Some(want) = a.min_items.filter(|w| list.len() < *w) {
            self.fail(Reason::MinItems { got: list.len(), want });
        }
        if let Some(want) = a.max_items.filter(|w| list.len() > *w) {
            self.fail(Reason::MaxItems { got: list.len(), want });
        }
        if a.unique_items {
            if let Some((first, second)) = values::first_duplicate(list) {
                self.fail(Reason::UniqueItems { first, second });
            }
        }
        for (i, item) in list.iter().enumerate() {
            match a.prefix_items.get(i).copied().or(a.items) {
                Some(id) => self.child(id, Seg::Index(i), item),
                None => break,
            }
        }
        if let Some(id) = a.contains {
            self.contains(n, id, list);
        }
    }

    /// `contains` with `minContains` / `maxContains`.
    fn contains(&mut self, n: &Node, id: NodeId, list: &'v [Value]) {
        let (mut matched, mut errors) = (Vec::new(), Vec::new());
        for (i, item) in list.iter().enumerate() {
            let start = self.out.len();
            self.child(id, Seg::Index(i), item);
            let failed = self.out.split_off(start);
            if failed.is_empty() {
                matched.push(i);
            } else {
                errors.extend(failed);
            }
        }
        let a = &n.array;
        let too_few = match a.min_contains {
            Some(want) => (matched.len() < want).then(|| Reason::MinContains { got: matched.clone(), want }),
            None => matched.is_empty().then_some(Reason::Contains),
        };
        if let Some(reason) = too_few {
            self.fail_with(errors, reason);
        }
        if let Some(want) = a.max_contains.filter(|w| matched.len() > *w) {
            self.fail(Reason::MaxContains { got: matched, want });
        }
    }

    /// A wrapper error: its causes are the leaves, or it is a leaf itself
    /// when it has none.
    fn fail_with(&mut self, causes: Vec<Violation>, reason: Reason) {
        if causes.is_empty() {
            self.fail(reason);
        } else {
            self.out.extend(causes);
        }
    }

    fn string(&mut self, n: &Node, s: &str) {
        let st = &n.string;
        if st.min_length.is_some() || st.max_length.is_some() {
            let len = s.chars().count();
            if let Some(want) = st.min_length.filter(|w| len < *w) {
                self.fail(Reason::MinLength { got: len, want });
            }
            if let Some(want) = st.max_length.filter(|w| len > *w) {
                self.fail(Reason::MaxLength { got: len, want });
            }
        }
        if let Some((re, pattern)) = &st.pattern {
            if !re.is_match(s) {
                self.fail(Reason::Pattern { got: s.to_string(), pattern: pattern.clone() });
            }
        }
    }

    fn number(&mut self, n: &Node, x: &Number) {
        let r = &n.number;
        let got = || x.clone();
        let bound = |b: &Option<Number>, bad: &[Ordering]| b.clone().filter(|w| bad.contains(&values::cmp(x, w)));
        if let Some(want) = bound(&r.minimum, &[Ordering::Less]) {
            self.fail(Reason::Minimum { got: got(), want });
        }
        if let Some(want) = bound(&r.maximum, &[Ordering::Greater]) {
            self.fail(Reason::Maximum { got: got(), want });
        }
        if let Some(want) = bound(&r.exclusive_minimum, &[Ordering::Less, Ordering::Equal]) {
            self.fail(Reason::ExclusiveMinimum { got: got(), want });
        }
        if let Some(want) = bound(&r.exclusive_maximum, &[Ordering::Greater, Ordering::Equal]) {
            self.fail(Reason::ExclusiveMaximum { got: got(), want });
        }
        if let Some(want) = r.multiple_of.clone().filter(|m| !values::is_multiple(x, m)) {
            self.fail(Reason::MultipleOf { got: got(), want });
        }
    }

    /// `not`, `allOf`, `anyOf`, `oneOf`, `if`/`then`/`else`.
    fn logic(&mut self, n: &Node, v: &'v Value, same: u32) {
        let l = &n.logic;
        if let Some(id) = l.not {
            if self.trial(id, v, same).is_empty() {
                self.fail(Reason::Not);
            }
        }
        for id in &l.all_of {
            self.check(*id, v, same + 1);
        }
        if !l.any_of.is_empty() {
            let mut errors = Vec::new();
            for id in &l.any_of {
                let failed = self.trial(*id, v, same);
                if failed.is_empty() {
                    errors.clear();
                    break;
                }
                errors.extend(failed);
            }
            self.out.extend(errors);
        }
        if !l.one_of.is_empty() {
            self.one_of(&l.one_of, v, same);
        }
        if let Some((cond, then, other)) = l.conditional {
            let branch = if self.trial(cond, v, same).is_empty() { then } else { other };
            if let Some(id) = branch {
                self.check(id, v, same + 1);
            }
        }
    }

    /// `oneOf`: all failures when none matches; a leaf naming the first two
    /// matches when more than one does.
    fn one_of(&mut self, list: &[NodeId], v: &'v Value, same: u32) {
        let mut matched = None;
        let mut errors = Vec::new();
        for (i, id) in list.iter().enumerate() {
            let failed = self.trial(*id, v, same);
            match (matched, failed.is_empty()) {
                (None, true) => matched = Some(i),
                (None, false) => errors.extend(failed),
                (Some(first), true) => return self.fail(Reason::OneOfMany { first, second: i }),
                (Some(_), false) => {}
            }
        }
        if matched.is_none() {
            self.out.extend(errors);
        }
    }
}

/// `type`, `const` and `enum`: the keywords after whose failure upstream
/// stops looking at this schema.
fn first_gate(n: &Node, v: &Value) -> Option<Reason> {
    if let Some(types) = n.types {
        let t = values::type_of(v);
        let integral = matches!(v, Value::Number(x) if values::is_integer(x));
        if !(types.contains(t) || (types.contains(JsonType::Integer) && integral)) {
            return Some(Reason::Type { want: types.names() });
        }
    }
    if let Some(want) = n.constant.as_ref().filter(|w| !values::equal(v, w)) {
        return Some(Reason::Const { want: want.clone() });
    }
    if let Some(want) = n.enumeration.as_ref().filter(|e| !e.iter().any(|w| values::equal(v, w))) {
        return Some(Reason::Enum { want: want.clone() });
    }
    None
}

/// The names in `required` that `map` lacks, in `required`'s order.
fn missing(map: &Map<String, Value>, required: &[String]) -> Vec<String> {
    required.iter().filter(|r| !map.contains_key(*r)).cloned().collect()
}
