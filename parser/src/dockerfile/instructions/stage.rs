//! Grouping typed instructions into stages (BuildKit's `instructions.Parse`):
//! ARGs before the first FROM are global (meta) args; every FROM opens a stage;
//! anything else before the first FROM is an error.

use super::model::{ArgDecl, Instruction, InstructionKind};
use super::parse::{parse_node, FromLine, Parsed};
use crate::dockerfile::ast::Ast;
use crate::dockerfile::error::DockerfileError;
use crate::dockerfile::span::Span;

/// A whole Dockerfile, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// ARG declarations before the first FROM: visible to FROM lines only,
    /// unless a stage re-declares them (see [`super::scope`]).
    pub meta_args: Vec<ArgDecl>,
    /// The stages in file order.
    pub stages: Vec<Stage>,
    /// The escape character in force (`\` or `` ` ``), needed for expansion.
    pub escape: char,
    /// Parser directives (`syntax`, `escape`, `check`), lower-case names.
    pub directives: Vec<(String, String)>,
    /// Non-fatal findings of the syntax pass, with their line.
    pub warnings: Vec<(u32, String)>,
}

/// One build stage: a FROM line and the instructions up to the next FROM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// 0-based position among the stages (`COPY --from=0`).
    pub index: usize,
    /// `AS name`, lower-cased; unique in the file.
    pub name: Option<String>,
    /// The base image reference or earlier stage name, unexpanded (expanded
    /// with the global args only, see [`Stage::expand_from`]).
    pub base: String,
    /// `FROM --platform=`, unexpanded.
    pub platform: Option<String>,
    /// The stage's instructions in order.
    pub instructions: Vec<Instruction>,
    /// The FROM line.
    pub span: Span,
}

impl Stage {
    fn new(index: usize, from: FromLine) -> Stage {
        Stage {
            index,
            name: from.name,
            base: from.base,
            platform: from.platform,
            instructions: Vec::new(),
            span: from.span,
        }
    }

    /// True when `reference` names this stage (its name, case-insensitive, or
    /// its index), as `COPY --from` and `FROM` may refer to it.
    pub fn is_named(&self, reference: &str) -> bool {
        let by_name = self
            .name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(reference));
        by_name || reference.parse::<usize>().is_ok_and(|i| i == self.index)
    }
}

/// Types a syntax tree: every node checked, stages assembled.
pub fn from_ast(ast: &Ast) -> Result<Dockerfile, DockerfileError> {
    let mut meta_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for node in &ast.nodes {
        match parse_node(node)? {
            Parsed::From(from) => {
                if let Some(name) = &from.name {
                    if stages.iter().any(|s| s.name.as_ref() == Some(name)) {
                        return Err(DockerfileError::invalid(
                            from.span.start,
                            format!("duplicate stage name {name:?}"),
                        ));
                    }
                }
                stages.push(Stage::new(stages.len(), from));
            }
            Parsed::Instruction(instruction) => match (stages.last_mut(), instruction.kind) {
                (Some(stage), kind) => stage.instructions.push(Instruction {
                    kind,
                    ..instruction
                }),
                (None, InstructionKind::Arg(decls)) => meta_args.extend(decls),
                (None, _) => {
                    return Err(DockerfileError::invalid(
                        node.span.start,
                        "no build stage in current context",
                    ));
                }
            },
        }
    }
    Ok(Dockerfile {
        meta_args,
        stages,
        escape: ast.escape,
        directives: ast.directives.clone(),
        warnings: ast.warnings.clone(),
    })
}

impl Dockerfile {
    /// The stage called `name` (case-insensitive) or with that index.
    pub fn stage(&self, reference: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.is_named(reference))
    }

    /// A stable text dump of the typed model, as the golden tests compare it:
    /// directives, meta args, then each stage with one line per instruction
    /// (`line:column` then the instruction's `Debug` form).
    pub fn dump(&self) -> String {
        let mut out = format!("escape: {:?}\n", self.escape);
        for (name, value) in &self.directives {
            out.push_str(&format!("directive: {name}={value:?}\n"));
        }
        for (line, warning) in &self.warnings {
            out.push_str(&format!("warning: line {line}: {warning}\n"));
        }
        for arg in &self.meta_args {
            out.push_str(&format!("meta-arg: {arg:?}\n"));
        }
        for stage in &self.stages {
            let name = stage
                .name
                .as_deref()
                .map(|n| format!(" AS {n}"))
                .unwrap_or_default();
            let platform = stage
                .platform
                .as_deref()
                .map(|p| format!(" --platform={p:?}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "stage {}{platform} {:?}{name} ({})\n",
                stage.index, stage.base, stage.span.start
            ));
            for instruction in &stage.instructions {
                out.push_str(&format!(
                    "  {} {:?}\n",
                    instruction.span.start, instruction.kind
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::dockerfile::instructions::parse_dockerfile;

    #[test]
    fn stages_by_name_or_index() {
        let df = parse_dockerfile("ARG X\nFROM a AS One\nRUN true\nFROM one\n").unwrap();
        assert_eq!(df.meta_args.len(), 1);
        assert_eq!(df.stage("ONE").map(|s| s.index), Some(0));
        assert_eq!(df.stage("1").map(|s| s.base.as_str()), Some("one"));
        assert!(df.stage("two").is_none());
        assert_eq!(df.stages[0].instructions.len(), 1);
    }

    #[test]
    fn instructions_need_a_stage() {
        let err = parse_dockerfile("ARG A\nENV B=1\nFROM x\n").unwrap_err();
        assert_eq!(err.to_string(), "2:1: no build stage in current context");
    }
}
