//! From a [`Violation`]'s key path back to a position in the YAML file, so a
//! loader can print `compose.yaml:12:7: services.web.image must be a string`.

use super::error::{PathSeg, Reason, Violation};
use crate::compose::yaml::{Node, Pos, Value};

impl Violation {
    /// Where the violation is in the YAML tree it was validated from: the
    /// position of the last key on the path (`image:` for
    /// `services.web.image`), or of the item for a sequence index. For
    /// `additional properties 'x' not allowed` it is the first offending
    /// key, `x`. `None` when the path does not exist in `root` (the tree is
    /// not the one that was validated).
    pub fn position(&self, root: &Node) -> Option<Pos> {
        let mut node = root;
        let mut pos = root.pos;
        for seg in &self.path {
            (pos, node) = step(node, seg)?;
        }
        if let Reason::AdditionalProperties { names } = &self.reason {
            if let Some(name) = names.first() {
                pos = step(node, &PathSeg::Key(name.clone()))?.0;
            }
        }
        Some(pos)
    }
}

/// The child of `node` at `seg`, and the position to report for it.
fn step<'n>(node: &'n Node, seg: &PathSeg) -> Option<(Pos, &'n Node)> {
    match (seg, &node.value) {
        (PathSeg::Key(k), Value::Map(entries)) => entries
            .iter()
            .find(|(key, _)| key.text == *k)
            .map(|(key, child)| (key.pos, child)),
        (PathSeg::Index(i), Value::Seq(items)) => items.get(*i).map(|child| (child.pos, child)),
        _ => None,
    }
}
