//! Profiles: a service with `profiles:` is active only when one of them is
//! (or `*` is); compose-go's `Project.WithProfiles`. Disabled services leave
//! the model but are remembered, so a reference to one is not "undefined".

use std::collections::BTreeSet;

use super::super::yaml::{Node, Value};
use super::canonical::model_get_mut;

/// Removes the services no active profile enables; returns their names.
pub fn apply(model: &mut Node, active: &[String]) -> BTreeSet<String> {
    let mut disabled = BTreeSet::new();
    let all = active.iter().any(|p| p == "*");
    if let Some(Value::Map(services)) = model_get_mut(model, "services").map(|s| &mut s.value) {
        services.retain(|(name, service)| {
            let keep = match service.get("profiles").map(|p| &p.value) {
                Some(Value::Seq(list)) if !list.is_empty() => {
                    all || list
                        .iter()
                        .filter_map(Node::as_str)
                        .any(|p| active.iter().any(|a| a == p))
                }
                _ => true,
            };
            if !keep {
                disabled.insert(name.text.clone());
            }
            keep
        });
    }
    disabled
}

/// Every profile named by a service, sorted (`config --profiles`).
pub fn all_profiles(model: &Node) -> Vec<String> {
    let mut out = BTreeSet::new();
    if let Some(Value::Map(services)) = model.get("services").map(|s| &s.value) {
        for (_, service) in services {
            if let Some(Value::Seq(list)) = service.get("profiles").map(|p| &p.value) {
                out.extend(list.iter().filter_map(Node::as_str).map(String::from));
            }
        }
    }
    out.into_iter().collect()
}
