//! compose-go's `mergeIPAMConfig` (`networks.*.ipam.config`): entries are
//! matched by `subnet`.
//!
//! Go's version merges into the base entries in place, and the same entry
//! can be listed, then changed by a later override entry; the result depends
//! on that sharing. To give the same result, entries live in an arena and
//! the result list holds arena indexes, as Go's slice holds map references.

use super::{merge_mappings, special::to_mapping, MergeError};
use crate::compose::gofmt;
use crate::compose::path::TreePath;
use crate::compose::tree::{get, node, same_data};
use crate::compose::yaml::{Key, Node, Pos, Value};

type Entries = Vec<(Key, Node)>;

/// Merges two `ipam.config` sequences as compose-go does. Both must be
/// sequences (`<path>: unexpected type <T>` otherwise). An empty result is
/// `null`, as Go's nil slice.
pub(crate) fn merge_ipam_config(
    base: Node,
    over: Node,
    path: &TreePath,
    file: &str,
) -> Result<Node, MergeError> {
    let unexpected = |n: &Node| {
        let reason = format!("{path}: unexpected type {}", gofmt::type_name(&base));
        MergeError::invalid(file, n.pos, reason)
    };
    let Value::Seq(configs) = &base.value else {
        return Err(unexpected(&base));
    };
    let Value::Seq(overrides) = &over.value else {
        return Err(unexpected(&over));
    };
    let mut arena: Vec<(Entries, Pos)> = Vec::new();
    let mut left_ids = Vec::new();
    for o in overrides {
        left_ids.push(arena.len());
        arena.push((to_mapping(o.clone(), false, path, file)?, o.pos));
    }
    let mut result: Vec<usize> = Vec::new();
    for original in configs {
        let right = arena.len();
        arena.push((
            to_mapping(original.clone(), false, path, file)?,
            original.pos,
        ));
        for &left in &left_ids {
            let differs = !same_subnet(&arena[left].0, &arena[right].0);
            if differs
                && !result
                    .iter()
                    .any(|&a| same_subnet(&arena[a].0, &arena[left].0))
            {
                result.push(left);
                continue;
            }
            let mine = std::mem::take(&mut arena[right].0);
            arena[right].0 = merge_mappings(mine, arena[left].0.clone(), path, file)?;
            match result
                .iter()
                .position(|&a| same_subnet(&arena[a].0, &arena[right].0))
            {
                Some(i) => result[i] = right,
                None => result.push(right),
            }
        }
    }
    if result.is_empty() {
        return Ok(node(Value::Null, base.pos));
    }
    let items = result
        .into_iter()
        .map(|i| node(Value::Map(arena[i].0.clone()), arena[i].1))
        .collect();
    Ok(node(Value::Seq(items), base.pos))
}

/// Go's `a["subnet"] == b["subnet"]` (two missing subnets are equal).
fn same_subnet(a: &Entries, b: &Entries) -> bool {
    match (get(a, "subnet"), get(b, "subnet")) {
        (None, None) => true,
        (Some(x), Some(y)) => same_data(x, y),
        (Some(x), None) | (None, Some(x)) => matches!(x.value, Value::Null),
    }
}
