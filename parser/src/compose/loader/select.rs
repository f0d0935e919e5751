//! Which services a command acts on: the ones named and, transitively, the
//! ones they depend on (`docker compose config web`, and later `up web`).

use std::collections::BTreeSet;

use super::super::yaml::{Node, Value};
use super::canonical::model_get_mut;
use super::error::LoadError;

/// Keeps the services `names` and everything they depend on
/// (`depends_on`, transitively) in the canonical `model`; no names keeps all.
/// An unknown name is an error (`no such service: NAME`).
pub fn select_services(model: &mut Node, names: &[String]) -> Result<(), LoadError> {
    if names.is_empty() {
        return Ok(());
    }
    let all: BTreeSet<String> = keys(model.get("services")).into_iter().collect();
    let mut keep: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = names.to_vec();
    while let Some(name) = todo.pop() {
        if !all.contains(&name) {
            return Err(LoadError::Project(format!("no such service: {name}")));
        }
        if keep.insert(name.clone()) {
            let service = model.get("services").and_then(|s| s.get(&name));
            let depends = keys(service.and_then(|s| s.get("depends_on")));
            todo.extend(depends.into_iter().filter(|d| all.contains(d)));
        }
    }
    if let Some(Value::Map(services)) = model_get_mut(model, "services").map(|s| &mut s.value) {
        services.retain(|(k, _)| keep.contains(&k.text));
    }
    Ok(())
}

/// The keys of a mapping node (none for anything else).
fn keys(node: Option<&Node>) -> Vec<String> {
    match node.map(|n| &n.value) {
        Some(Value::Map(entries)) => entries.iter().map(|(k, _)| k.text.clone()).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::yaml::parse;

    fn names(model: &Node) -> Vec<String> {
        keys(model.get("services"))
    }

    #[test]
    fn named_services_keep_their_dependencies_transitively() {
        let text = "services:\n  web: {depends_on: {api: {condition: service_started}}}\n  api: {depends_on: {db: {}}}\n  db: {}\n  other: {}\n";
        let mut model = parse(text, "t").unwrap();
        select_services(&mut model, &["web".to_string()]).unwrap();
        assert_eq!(names(&model), ["web", "api", "db"]);
        let mut model = parse(text, "t").unwrap();
        select_services(&mut model, &[]).unwrap();
        assert_eq!(names(&model).len(), 4);
        let e = select_services(&mut model, &["nope".to_string()]).unwrap_err();
        assert_eq!(e.to_string(), "no such service: nope");
    }
}
