//! Which instruction fields are expanded with build variables, and how
//! (BuildKit's `SupportsSingleWordExpansion` implementations and dispatchers).
//!
//! Expanded, each value as one word (quotes removed, never split):
//! ADD/COPY sources, heredoc source names, destination, `--chown`, `--chmod`,
//! `--from`, `--checksum`, `--exclude`; ENV and LABEL keys and values; USER,
//! WORKDIR, STOPSIGNAL; VOLUME entries; ARG names and defaults; RUN `--mount`
//! values. EXPOSE words are expanded *and split* into several words.
//! FROM's base and `--platform` are expanded with the global args only
//! ([`Stage::expand_from`]).
//!
//! Not expanded: RUN/CMD/ENTRYPOINT commands and SHELL (the shell does it at
//! run time), HEALTHCHECK, MAINTAINER, ONBUILD triggers (expanded when they
//! run in a child build), heredoc bodies (expanded at build time when their
//! delimiter was unquoted).
//!
//! The whole instruction is expanded with the environment as it was *before*
//! it: `ENV A=1 B=$A` gives B the previous value of A, as in BuildKit.
//! ([`super::StageScope::apply`] declares the names of one ARG line one after
//! the other, so there `ARG A=1 B=$A` gives B=1.)

use super::model::{
    AddSpec, ArgDecl, CopySpec, Instruction, InstructionKind, KeyValue, RunSpec, Source,
};
use super::run::expand_mount;
use super::stage::Stage;
use crate::dockerfile::error::DockerfileError;
use crate::dockerfile::limits::ExpansionBudget;
use crate::dockerfile::span::Position;
use crate::shell::{Env, Lexer};

/// Expands single words and word lists, turning shell errors into
/// [`DockerfileError`]s at `at` and charging what expansion adds to the
/// build's [`ExpansionBudget`] when there is one.
pub(crate) struct Expander<'e> {
    lexer: Lexer,
    env: &'e dyn Env,
    at: Position,
    budget: Option<&'e ExpansionBudget>,
}

impl<'e> Expander<'e> {
    /// An expander for one instruction, without a budget.
    pub fn new(escape: char, env: &'e dyn Env, at: Position) -> Self {
        Expander {
            lexer: Lexer::new(escape),
            env,
            at,
            budget: None,
        }
    }

    /// The same expander, charging `budget`.
    pub fn charging(self, budget: &'e ExpansionBudget) -> Self {
        Expander {
            budget: Some(budget),
            ..self
        }
    }

    /// One word, quotes removed, not split.
    pub fn word(&self, word: &str) -> Result<String, DockerfileError> {
        let out = self
            .lexer
            .expand_word(word, self.env)
            .map_err(|e| DockerfileError::invalid(self.at, e.to_string()))?;
        self.charge(word, out.len())?;
        Ok(out)
    }

    /// Several words, split as the shell splits them.
    pub fn words(&self, word: &str) -> Result<Vec<String>, DockerfileError> {
        let out = self
            .lexer
            .expand_words(word, self.env)
            .map_err(|e| DockerfileError::invalid(self.at, e.to_string()))?;
        self.charge(word, out.iter().map(String::len).sum())?;
        Ok(out)
    }

    /// Charges the budget (if any) for `written` expanding to `len` bytes.
    fn charge(&self, written: &str, len: usize) -> Result<(), DockerfileError> {
        match self.budget {
            Some(budget) => budget.charge(self.at, written, len),
            None => Ok(()),
        }
    }

    fn opt(&self, value: &Option<String>) -> Result<Option<String>, DockerfileError> {
        value.as_deref().map(|v| self.word(v)).transpose()
    }

    fn all(&self, values: &[String]) -> Result<Vec<String>, DockerfileError> {
        values.iter().map(|v| self.word(v)).collect()
    }

    fn sources(&self, sources: &[Source]) -> Result<Vec<Source>, DockerfileError> {
        sources
            .iter()
            .map(|s| match s {
                Source::Path(p) => Ok(Source::Path(self.word(p)?)),
                Source::Heredoc {
                    name,
                    content,
                    expand,
                } => Ok(Source::Heredoc {
                    name: self.word(name)?,
                    content: content.clone(),
                    expand: *expand,
                }),
            })
            .collect()
    }

    fn key_values(&self, pairs: &[KeyValue]) -> Result<Vec<KeyValue>, DockerfileError> {
        pairs
            .iter()
            .map(|kv| {
                Ok(KeyValue {
                    key: self.word(&kv.key)?,
                    value: self.word(&kv.value)?,
                    legacy: kv.legacy,
                })
            })
            .collect()
    }
}

impl Expander<'_> {
    fn add(&self, a: &AddSpec) -> Result<AddSpec, DockerfileError> {
        let mut a = a.clone();
        (a.sources, a.dest) = (self.sources(&a.sources)?, self.word(&a.dest)?);
        (a.chown, a.chmod) = (self.opt(&a.chown)?, self.opt(&a.chmod)?);
        (a.checksum, a.exclude) = (self.opt(&a.checksum)?, self.all(&a.exclude)?);
        Ok(a)
    }

    fn copy(&self, c: &CopySpec) -> Result<CopySpec, DockerfileError> {
        let mut c = c.clone();
        (c.sources, c.dest) = (self.sources(&c.sources)?, self.word(&c.dest)?);
        (c.chown, c.chmod) = (self.opt(&c.chown)?, self.opt(&c.chmod)?);
        (c.from, c.exclude) = (self.opt(&c.from)?, self.all(&c.exclude)?);
        Ok(c)
    }

    fn args(&self, decls: &[ArgDecl]) -> Result<Vec<ArgDecl>, DockerfileError> {
        let mut decls = decls.to_vec();
        for d in &mut decls {
            (d.name, d.default) = (self.word(&d.name)?, self.opt(&d.default)?);
        }
        Ok(decls)
    }

    /// RUN: only the `--mount` values.
    fn run(&self, r: &RunSpec) -> Result<RunSpec, DockerfileError> {
        let mut r = r.clone();
        let mut word = |v: &str| {
            let out = self
                .lexer
                .expand_word(v, self.env)
                .map_err(|e| e.to_string())?;
            self.charge(v, out.len()).map_err(|e| match e {
                DockerfileError::Invalid { message, .. } => message,
                other => other.to_string(),
            })?;
            Ok(out)
        };
        let mounts: Result<Vec<_>, String> = r
            .mounts
            .iter()
            .map(|m| expand_mount(m, &mut word))
            .collect();
        r.mounts = mounts.map_err(|e| DockerfileError::invalid(self.at, e))?;
        Ok(r)
    }
}

impl Instruction {
    /// A copy with every expandable field expanded against `env` (see the
    /// module docs for which fields). `escape` is the Dockerfile's escape char.
    pub fn expand(&self, escape: char, env: &dyn Env) -> Result<Instruction, DockerfileError> {
        self.expand_with(Expander::new(escape, env, self.span.start))
    }

    /// [`Instruction::expand`], charging what expansion adds to `budget`
    /// (see [`crate::dockerfile::limits`]).
    pub fn expand_charged(
        &self,
        escape: char,
        env: &dyn Env,
        budget: &ExpansionBudget,
    ) -> Result<Instruction, DockerfileError> {
        self.expand_with(Expander::new(escape, env, self.span.start).charging(budget))
    }

    fn expand_with(&self, x: Expander<'_>) -> Result<Instruction, DockerfileError> {
        let kind = match &self.kind {
            InstructionKind::Add(a) => InstructionKind::Add(x.add(a)?),
            InstructionKind::Copy(c) => InstructionKind::Copy(x.copy(c)?),
            InstructionKind::Run(r) => InstructionKind::Run(x.run(r)?),
            InstructionKind::Arg(decls) => InstructionKind::Arg(x.args(decls)?),
            InstructionKind::Env(pairs) => InstructionKind::Env(x.key_values(pairs)?),
            InstructionKind::Label(pairs) => InstructionKind::Label(x.key_values(pairs)?),
            InstructionKind::Expose(ports) => {
                let words: Vec<Vec<String>> =
                    ports.iter().map(|p| x.words(p)).collect::<Result<_, _>>()?;
                InstructionKind::Expose(words.concat())
            }
            InstructionKind::User(v) => InstructionKind::User(x.word(v)?),
            InstructionKind::Workdir(v) => InstructionKind::Workdir(x.word(v)?),
            InstructionKind::StopSignal(v) => InstructionKind::StopSignal(x.word(v)?),
            InstructionKind::Volume(v) => InstructionKind::Volume(x.all(v)?),
            other => other.clone(),
        };
        Ok(Instruction {
            kind,
            span: self.span,
            original: self.original.clone(),
        })
    }
}

impl Stage {
    /// The base and platform with the global args expanded (`FROM $IMAGE`,
    /// `--platform=$BUILDPLATFORM`). `env` should be
    /// [`super::GlobalScope::env`].
    pub fn expand_from(
        &self,
        escape: char,
        env: &dyn Env,
    ) -> Result<(String, Option<String>), DockerfileError> {
        let x = Expander::new(escape, env, self.span.start);
        Ok((x.word(&self.base)?, x.opt(&self.platform)?))
    }

    /// [`Stage::expand_from`], charging what expansion adds to `budget`.
    pub fn expand_from_charged(
        &self,
        escape: char,
        env: &dyn Env,
        budget: &ExpansionBudget,
    ) -> Result<(String, Option<String>), DockerfileError> {
        let x = Expander::new(escape, env, self.span.start).charging(budget);
        Ok((x.word(&self.base)?, x.opt(&self.platform)?))
    }
}

#[cfg(test)]
mod tests {
    use crate::dockerfile::instructions::*;

    fn env() -> Vec<(String, String)> {
        [
            ("D", "/dst"),
            ("U", "app"),
            ("P", "80 443/udp"),
            ("T", "cache"),
            ("M", "0700"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn expand_one(line: &str) -> InstructionKind {
        let df = parse_dockerfile(&format!("FROM x\n{line}\n")).unwrap();
        df.stages[0].instructions[0]
            .expand(df.escape, &env())
            .unwrap()
            .kind
    }

    #[test]
    fn copy_fields() {
        let InstructionKind::Copy(c) = expand_one("COPY --chown=$U --from=$U [\"a b\", \"$D\"]")
        else {
            panic!()
        };
        assert_eq!(
            (c.chown.as_deref(), c.from.as_deref()),
            (Some("app"), Some("app"))
        );
        assert_eq!(
            (c.sources, c.dest),
            (vec![Source::Path("a b".into())], "/dst".to_string())
        );
    }

    #[test]
    fn expose_splits_volume_does_not() {
        assert_eq!(
            expand_one("EXPOSE $P 8080"),
            InstructionKind::Expose(vec!["80".into(), "443/udp".into(), "8080".into()])
        );
        assert_eq!(
            expand_one("VOLUME [\"$P\"]"),
            InstructionKind::Volume(vec!["80 443/udp".into()])
        );
    }

    #[test]
    fn commands_are_left_alone_but_mounts_expand() {
        let InstructionKind::Run(r) = expand_one("RUN --mount=type=$T,target=$D,mode=$M echo $U")
        else {
            panic!()
        };
        assert_eq!(r.command, Command::Shell("echo $U".into()));
        let Mount::Cache(m) = &r.mounts[0] else {
            panic!("{:?}", r.mounts)
        };
        assert_eq!((m.target.as_str(), m.mode), ("/dst", Some(0o700)));
        assert_eq!(
            expand_one("CMD echo $U"),
            InstructionKind::Cmd(Command::Shell("echo $U".into()))
        );
    }

    #[test]
    fn env_label_user_workdir() {
        let InstructionKind::Env(kv) = expand_one("ENV K=\"$U x\"") else {
            panic!()
        };
        assert_eq!(kv[0].value, "app x");
        assert_eq!(
            expand_one("WORKDIR $D/w"),
            InstructionKind::Workdir("/dst/w".into())
        );
        assert_eq!(
            expand_one("USER ${U}:g"),
            InstructionKind::User("app:g".into())
        );
        let InstructionKind::Label(kv) = expand_one("LABEL \"k\"='$U'") else {
            panic!()
        };
        assert_eq!((kv[0].key.as_str(), kv[0].value.as_str()), ("k", "$U"));
    }

    #[test]
    fn deferred_mount_errors_after_expansion() {
        let df = parse_dockerfile("FROM x\nRUN --mount=type=$U,target=/x true\n").unwrap();
        let err = df.stages[0].instructions[0]
            .expand(df.escape, &env())
            .unwrap_err();
        assert_eq!(err.to_string(), "2:1: unsupported mount type \"app\"");
    }
}
