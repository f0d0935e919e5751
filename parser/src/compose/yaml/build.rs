//! Events to [`Node`]s: an explicit stack (no recursion, so deep input cannot
//! overflow), anchors and aliases, `<<` merge keys, string-only and unique keys.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};

use super::{scalar, Key, Node, Pos, Value, YamlError, MAX_DEPTH, MAX_NODES};

/// A key as written, before it is checked to be a string.
struct RawKey {
    node: Node,
    /// The scalar's text as written (for "non-string key" messages).
    text: String,
    /// A plain `<<`: a merge key.
    merge: bool,
}

/// A collection being built.
enum Frame {
    Seq {
        start: Start,
        items: Vec<Node>,
    },
    Map {
        start: Start,
        entries: Vec<(RawKey, Node)>,
        key: Option<RawKey>,
    },
}

/// What every collection remembers from its start event.
struct Start {
    pos: Pos,
    tag: Option<String>,
    anchor: usize,
}

/// Builds one document's tree from the event stream.
pub(super) struct Builder<'f> {
    file: &'f str,
    stack: Vec<Frame>,
    /// Completed anchored nodes with their size in nodes.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes made so far, aliases counted at their full size.
    nodes: usize,
    /// Completed documents.
    roots: Vec<Node>,
}

impl<'f> Builder<'f> {
    pub(super) fn new(file: &'f str) -> Self {
        Builder {
            file,
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            roots: Vec::new(),
        }
    }

    /// Consumes the whole stream: one node per document (none for an empty
    /// stream).
    pub(super) fn run(mut self, text: &str) -> Result<Vec<Node>, YamlError> {
        let mut parser = Parser::new_from_str(text);
        while let Some(next) = parser.next_event() {
            let (event, span) = next.map_err(|e| self.scan_error(&e))?;
            if self.event(event, span)? {
                break;
            }
        }
        Ok(self.roots)
    }

    /// Handles one event; `true` at the end of the stream.
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<bool, YamlError> {
        let pos = to_pos(&span);
        match event {
            Event::StreamEnd => return Ok(true),
            Event::Scalar(text, style, anchor, tag) => {
                let node = self.scalar(&text, style, tag.as_deref(), pos)?;
                let raw = RawKey {
                    merge: style == ScalarStyle::Plain && text == "<<",
                    text: text.into_owned(),
                    node,
                };
                self.complete(raw, anchor, 1)?;
            }
            Event::Alias(id) => {
                let Some((node, size)) = self.anchors.get(&id).cloned() else {
                    return Err(self.error(pos, self.unknown_alias(id)));
                };
                let text = scalar_text(&node);
                self.complete(
                    RawKey {
                        node,
                        text,
                        merge: false,
                    },
                    0,
                    size,
                )?;
            }
            Event::SequenceStart(anchor, tag) => {
                let start = Start {
                    pos,
                    tag: custom_tag(tag.as_deref()),
                    anchor,
                };
                self.push(
                    Frame::Seq {
                        start,
                        items: Vec::new(),
                    },
                    pos,
                )?;
            }
            Event::MappingStart(anchor, tag) => {
                let start = Start {
                    pos,
                    tag: custom_tag(tag.as_deref()),
                    anchor,
                };
                self.push(
                    Frame::Map {
                        start,
                        entries: Vec::new(),
                        key: None,
                    },
                    pos,
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = self.stack.pop().expect("end event without a start");
                let (node, anchor) = self.finish(frame)?;
                let text = String::new();
                self.complete(
                    RawKey {
                        node,
                        text,
                        merge: false,
                    },
                    anchor,
                    1,
                )?;
            }
            Event::DocumentStart(_) => self.anchors.clear(),
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
        }
        Ok(false)
    }

    fn push(&mut self, frame: Frame, pos: Pos) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error(pos, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.stack.push(frame);
        Ok(())
    }

    /// A scalar event to a node: core tags force a type, other tags are kept.
    fn scalar(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        pos: Pos,
    ) -> Result<Node, YamlError> {
        let core = tag.filter(|t| t.is_yaml_core_schema());
        let value = match core.and_then(|t| scalar::resolve_tagged(text, &t.suffix)) {
            Some(resolved) => resolved.map_err(|reason| self.error(pos, reason))?,
            None if style == ScalarStyle::Plain => scalar::resolve_plain(text),
            None => Value::Str(text.to_string()),
        };
        Ok(Node {
            value,
            pos,
            tag: custom_tag(tag),
        })
    }

    /// A finished node goes into its parent (or becomes the root).
    fn complete(&mut self, raw: RawKey, anchor: usize, size: usize) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(size);
        if self.nodes > MAX_NODES {
            return Err(self.error(raw.node.pos, "document contains excessive aliasing".into()));
        }
        if anchor != 0 {
            let size = if size == 1 {
                count_nodes(&raw.node)
            } else {
                size
            };
            self.anchors.insert(anchor, (raw.node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.roots.push(raw.node),
            Some(Frame::Seq { items, .. }) => items.push(raw.node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(raw),
                Some(k) => entries.push((k, raw.node)),
            },
        }
        Ok(())
    }

    /// Closes a collection: a sequence as is, a mapping checked and merged.
    fn finish(&self, frame: Frame) -> Result<(Node, usize), YamlError> {
        match frame {
            Frame::Seq { start, items } => {
                let node = Node {
                    value: Value::Seq(items),
                    pos: start.pos,
                    tag: start.tag,
                };
                Ok((node, start.anchor))
            }
            Frame::Map { start, entries, .. } => {
                let entries = self.mapping(entries)?;
                let node = Node {
                    value: Value::Map(entries),
                    pos: start.pos,
                    tag: start.tag,
                };
                Ok((node, start.anchor))
            }
        }
    }

    /// Checks keys (strings, unique) and applies `<<` merges: written keys
    /// win, then merged mappings in order, the earlier one winning.
    fn mapping(&self, raw: Vec<(RawKey, Node)>) -> Result<Vec<(Key, Node)>, YamlError> {
        let mut entries: Vec<(Key, Node)> = Vec::with_capacity(raw.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut merges = Vec::new();
        for (key, value) in raw {
            if key.merge {
                merges.push(value);
                continue;
            }
            let Value::Str(text) = key.node.value else {
                let shown = if key.text.is_empty() {
                    key.node.kind().to_string()
                } else {
                    key.text
                };
                return Err(self.error(
                    key.node.pos,
                    format!("non-string key {}: {shown}", self.where_()),
                ));
            };
            if let Some(line) = seen.get(&text) {
                let reason = format!("mapping key {text:?} already defined at line {line}");
                return Err(self.error(key.node.pos, reason));
            }
            seen.insert(text.clone(), key.node.pos.line);
            entries.push((
                Key {
                    text,
                    pos: key.node.pos,
                },
                value,
            ));
        }
        let mut present: HashSet<String> = seen.into_keys().collect();
        for merge in merges {
            for source in self.merge_sources(merge)? {
                let Value::Map(source) = source.value else {
                    unreachable!("checked")
                };
                for (key, value) in source {
                    if present.insert(key.text.clone()) {
                        entries.push((key, value));
                    }
                }
            }
        }
        Ok(entries)
    }

    /// The mappings a `<<` value names: one mapping or a sequence of them.
    fn merge_sources(&self, value: Node) -> Result<Vec<Node>, YamlError> {
        let pos = value.pos;
        let sources = match value.value {
            Value::Map(_) => vec![value],
            Value::Seq(items) => items,
            _ => vec![value],
        };
        if sources.iter().any(|s| !matches!(s.value, Value::Map(_))) {
            let reason = "map merge requires map or sequence of maps as the value";
            return Err(self.error(pos, reason.into()));
        }
        Ok(sources)
    }

    /// Where the mapping being closed sits, in compose-go's words: `at top
    /// level` or `in services.web.ports[0]`.
    fn where_(&self) -> String {
        let mut path = String::new();
        for frame in &self.stack {
            match frame {
                Frame::Seq { items, .. } => path.push_str(&format!("[{}]", items.len())),
                Frame::Map { key, .. } => {
                    let name = key.as_ref().map_or("?", |k| k.text.as_str());
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(name);
                }
            }
        }
        if path.is_empty() {
            "at top level".to_string()
        } else {
            format!("in {path}")
        }
    }

    /// Why alias `id` cannot be used: it names a collection still open (a
    /// node that would contain itself, which compose-go calls a cycle), or
    /// no anchor at all.
    fn unknown_alias(&self, id: usize) -> String {
        let mut path: Vec<String> = Vec::new();
        let mut anchor_path = None;
        for frame in &self.stack {
            let start = match frame {
                Frame::Seq { start, .. } | Frame::Map { start, .. } => start,
            };
            if start.anchor == id && anchor_path.is_none() {
                anchor_path = Some(path.join("."));
            }
            match frame {
                Frame::Seq { items, .. } => path.push(items.len().to_string()),
                Frame::Map { key, .. } => {
                    path.push(key.as_ref().map_or(String::new(), |k| k.text.clone()))
                }
            }
        }
        match anchor_path {
            Some(anchor) => format!(
                "cycle detected: node at path {} references node at path {anchor}",
                path.join(".")
            ),
            None => "unknown anchor".into(),
        }
    }

    fn error(&self, pos: Pos, reason: String) -> YamlError {
        YamlError {
            file: self.file.to_string(),
            pos,
            reason,
        }
    }

    fn scan_error(&self, e: &ScanError) -> YamlError {
        let m = e.marker();
        let pos = Pos {
            line: m.line(),
            col: m.col() + 1,
        };
        let info = e.info();
        let reason = if info.contains("tab") {
            format!("found a tab character that violates indentation ({info})")
        } else {
            info.to_string()
        };
        self.error(pos, reason)
    }
}

fn to_pos(span: &Span) -> Pos {
    Pos {
        line: span.start.line(),
        col: span.start.col() + 1,
    }
}

/// A tag other than the core schema's, written as in the file (`!reset`).
fn custom_tag(tag: Option<&Tag>) -> Option<String> {
    tag.filter(|t| !t.is_yaml_core_schema())
        .map(|t| t.to_string())
}

fn scalar_text(node: &Node) -> String {
    match &node.value {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Null => "null".into(),
        Value::Seq(_) | Value::Map(_) => String::new(),
    }
}

/// How many nodes a tree holds (what expanding an alias to it costs).
fn count_nodes(node: &Node) -> usize {
    let mut count = 0;
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        count += 1;
        match &n.value {
            Value::Seq(items) => todo.extend(items),
            Value::Map(entries) => todo.extend(entries.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    count
}
