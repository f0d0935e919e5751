//! The syntax pass: source text -> [`Ast`] (BuildKit's `parser.Parse`).
//!
//! Reads physical lines, applies parser directives, joins continuation lines
//! (skipping comments and empty lines inside them), splits keyword and flags,
//! runs the instruction's argument parser, and reads heredoc bodies.

use super::ast::{Args, Ast, Heredoc, Node};
use super::directives::Directives;
use super::error::DockerfileError;
use super::heredoc::markers_in_line;
use super::line_parsers::{self as lp, ArgSyntax};
use super::span::{LineMap, Position, Span};
use super::split::split_command;

/// Keywords whose arguments may carry heredocs.
const HEREDOC_KEYWORDS: [&str; 3] = ["add", "copy", "run"];

/// Parses Dockerfile text into its syntax tree.
///
/// A leading UTF-8 BOM and CRLF line ends are accepted. Fails on: no instruction,
/// bad or repeated directives, malformed ENV/LABEL, non-string JSON arrays,
/// unterminated heredocs. Unknown keywords parse (the typed layer rejects them).
pub fn parse(source: &str) -> Result<Ast, DockerfileError> {
    let mut parser = Parser::new(source);
    let mut nodes = Vec::new();
    while let Some(node) = parser.next_node()? {
        nodes.push(node);
    }
    if nodes.is_empty() {
        return Err(DockerfileError::NoInstructions {
            at: Position::new(parser.line_no.max(1), 1),
        });
    }
    Ok(Ast {
        nodes,
        escape: parser.directives.escape,
        directives: parser.directives.found,
        warnings: parser.warnings,
    })
}

/// Physical-line cursor plus the state carried between instructions.
struct Parser<'a> {
    rest: &'a str,
    line_no: u32,
    directives: Directives,
    comments: Vec<String>,
    warnings: Vec<(u32, String)>,
}

/// A logical line being assembled.
struct Logical {
    text: String,
    map: LineMap,
    start: Position,
}

fn trim_newline(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

fn is_comment(raw: &str) -> bool {
    trim_newline(raw).trim_start().starts_with('#')
}

/// If `line` ends with the escape char (plus spaces/tabs) not itself escaped,
/// the line without it.
fn strip_continuation(line: &str, escape: char) -> Option<&str> {
    let body = line.trim_end_matches([' ', '\t']).strip_suffix(escape)?;
    (!body.ends_with(escape)).then_some(body)
}

impl<'a> Parser<'a> {
    fn new(source: &'a str) -> Self {
        Parser {
            rest: source.strip_prefix('\u{feff}').unwrap_or(source),
            line_no: 0,
            directives: Directives::new(),
            comments: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The next physical line, with its line ending.
    fn next_line(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let end = self.rest.find('\n').map_or(self.rest.len(), |i| i + 1);
        let (line, rest) = self.rest.split_at(end);
        self.rest = rest;
        self.line_no += 1;
        Some(line)
    }

    /// Reads lines until one instruction is complete; `None` at the end.
    fn next_node(&mut self) -> Result<Option<Node>, DockerfileError> {
        while let Some(raw) = self.next_line() {
            if is_comment(raw) {
                self.note_comment(raw);
            }
            let trimmed = trim_newline(raw);
            let token = trimmed.trim_start();
            self.directives.observe(token, self.line_no)?;
            let token = if token.starts_with('#') { "" } else { token };
            let indent = trimmed[..trimmed.len() - token.len()].chars().count() as u32;
            let start = Position::new(self.line_no, indent + 1);
            let mut logical = Logical {
                text: String::new(),
                map: LineMap::default(),
                start,
            };
            logical.map.push(0, start);
            match strip_continuation(token, self.directives.escape) {
                None if token.is_empty() => continue,
                None => logical.text.push_str(token),
                Some(body) => {
                    logical.text.push_str(body);
                    self.read_continuation(&mut logical)?;
                }
            }
            return self.finish_node(logical).map(Some);
        }
        Ok(None)
    }

    fn note_comment(&mut self, raw: &str) {
        let text = trim_newline(raw).trim_start();
        let comment = text.strip_prefix('#').unwrap_or(text).trim();
        if comment.is_empty() {
            self.comments.clear();
        } else {
            self.comments.push(comment.to_string());
        }
    }

    /// Appends continuation lines until one does not end with the escape char.
    fn read_continuation(&mut self, logical: &mut Logical) -> Result<(), DockerfileError> {
        let mut empty_seen = false;
        while let Some(raw) = self.next_line() {
            let token = trim_newline(raw);
            self.directives.observe(token, self.line_no)?;
            if is_comment(raw) {
                continue;
            }
            if token.trim_start().is_empty() {
                empty_seen = true;
                continue;
            }
            logical
                .map
                .push(logical.text.len(), Position::new(self.line_no, 1));
            match strip_continuation(token, self.directives.escape) {
                Some(body) => logical.text.push_str(body),
                None => {
                    logical.text.push_str(token);
                    break;
                }
            }
        }
        if empty_seen {
            self.warnings.push((
                self.line_no,
                format!("empty continuation line found in: {}", logical.text),
            ));
        }
        Ok(())
    }

    /// Builds the node for a complete logical line and reads its heredocs.
    fn finish_node(&mut self, logical: Logical) -> Result<Node, DockerfileError> {
        let mut node = node_from_line(&logical.text, &logical.map, self.directives.escape)?;
        node.comments = std::mem::take(&mut self.comments);
        if can_contain_heredoc(&node) && logical.text.contains("<<") {
            let markers =
                markers_in_line(&logical.text).map_err(|message| DockerfileError::BadHeredoc {
                    at: logical.start,
                    message,
                })?;
            for marker in markers {
                let content = self.read_heredoc_body(&marker.name, marker.chomp, logical.start)?;
                let heredoc = Heredoc {
                    name: marker.name,
                    file_descriptor: marker.file_descriptor,
                    expand: marker.expand,
                    chomp: marker.chomp,
                    content,
                };
                attach_heredoc(&mut node, heredoc);
            }
        }
        node.span = Span::new(logical.start, Position::new(self.line_no, 1));
        Ok(node)
    }

    /// Collects lines up to the terminator `name`.
    fn read_heredoc_body(
        &mut self,
        name: &str,
        chomp: bool,
        start: Position,
    ) -> Result<String, DockerfileError> {
        let mut content = String::new();
        while let Some(raw) = self.next_line() {
            let mut candidate = trim_newline(raw);
            if chomp {
                candidate = candidate.trim_start_matches('\t');
            }
            if candidate == name {
                return Ok(content);
            }
            content.push_str(raw);
        }
        Err(DockerfileError::UnterminatedHeredoc {
            at: start,
            name: name.to_string(),
        })
    }
}

/// RUN/COPY/ADD in shell form (also as an ONBUILD trigger) may have heredocs.
fn can_contain_heredoc(node: &Node) -> bool {
    let target = match &node.args {
        Args::SubCommand(child) if node.lower_keyword() == "onbuild" => child,
        _ => node,
    };
    HEREDOC_KEYWORDS.contains(&target.lower_keyword().as_str()) && !target.is_json()
}

/// Heredocs of an ONBUILD trigger belong to the trigger.
fn attach_heredoc(node: &mut Node, heredoc: Heredoc) {
    match &mut node.args {
        Args::SubCommand(child) if node.keyword.eq_ignore_ascii_case("onbuild") => {
            child.heredocs.push(heredoc)
        }
        _ => node.heredocs.push(heredoc),
    }
}

/// Splits one logical line and parses its arguments (BuildKit's `newNodeFromLine`).
pub(crate) fn node_from_line(
    line: &str,
    map: &LineMap,
    escape: char,
) -> Result<Node, DockerfileError> {
    let split = split_command(line);
    let keyword = split.keyword.to_ascii_lowercase();
    let args_offset = split.args.as_ptr() as usize - line.as_ptr() as usize;
    let at = map.position(line, args_offset);
    let rest = split.args;
    let args = match ArgSyntax::of(&keyword) {
        ArgSyntax::MaybeJson => lp::maybe_json(rest, &keyword, at)?,
        ArgSyntax::MaybeJsonToList => lp::maybe_json_to_list(rest, &keyword, at)?,
        ArgSyntax::Whitespace => lp::split_whitespace(rest),
        ArgSyntax::Single => lp::single(rest),
        ArgSyntax::NameVal => lp::name_val(rest, &keyword, escape, at)?,
        ArgSyntax::NameOrNameVal => lp::name_or_name_val(rest, escape),
        ArgSyntax::Health => lp::health(rest, &keyword, at)?,
        ArgSyntax::Ignore => Args::Empty,
        ArgSyntax::SubCommand if rest.is_empty() => Args::Empty,
        ArgSyntax::SubCommand => {
            let mut sub_map = LineMap::default();
            sub_map.push(0, at);
            Args::SubCommand(Box::new(node_from_line(rest, &sub_map, escape)?))
        }
    };
    let start = map.position(line, line.len() - line.trim_start().len());
    Ok(Node {
        keyword: split.keyword.to_string(),
        flags: split.flags,
        args,
        heredocs: Vec::new(),
        original: line.to_string(),
        line_map: map.clone(),
        span: Span::new(start, start),
        comments: Vec::new(),
    })
}
