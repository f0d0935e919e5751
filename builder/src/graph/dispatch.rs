//! One instruction at a time: expansion with the stage's scope, then its
//! effect on the graph (COPY/ADD, WORKDIR) or on the threaded image config.
//! RUN is in [`super::run`].

use kiln_parser::dockerfile::instructions::{
    AddSpec, Command, CopySpec, Healthcheck, Instruction, InstructionKind, PortSpec, Source,
};
use kiln_parser::dockerfile::DockerfileError;
use kiln_parser::shell::Lexer;

use super::build::{Builder, StageState};
use super::config::{HealthConfig, HistoryEntry};
use super::created_by;
use super::op::{AddOptions, ContextOp, CopySource, FileAction, MkdirOp, Op};
use super::{GraphError, Vertex, VertexId};

impl Builder<'_> {
    /// Expands `instruction` in the stage's scope and applies it.
    pub(super) fn dispatch(
        &mut self,
        st: &mut StageState<'_>,
        instruction: &Instruction,
    ) -> Result<(), GraphError> {
        st.step += 1;
        let x = st.scope.apply(instruction)?;
        match &x.kind {
            InstructionKind::Run(spec) => self.dispatch_run(st, &x, spec)?,
            InstructionKind::Copy(spec) => self.dispatch_copy(st, &x, spec)?,
            InstructionKind::Add(spec) => self.dispatch_add(st, &x, spec)?,
            InstructionKind::Workdir(dir) => self.dispatch_workdir(st, &x, dir),
            kind => dispatch_config(st, &x, kind)?,
        }
        Ok(())
    }

    /// A vertex of the current stage for `instruction`.
    pub(super) fn step_vertex(
        &self,
        st: &StageState<'_>,
        instruction: &Instruction,
        op: Op,
        created_by: Option<String>,
    ) -> Vertex {
        Vertex {
            op,
            span: Some(instruction.span),
            stage: Some(st.index),
            name: format!(
                "[{} {}/{}] {}",
                st.label, st.step, st.total, instruction.original
            ),
            created_by,
            ignore_cache: st.ignore_cache,
        }
    }

    /// Adds a layer vertex on top of the stage's root and records history.
    pub(super) fn push_layer(
        &mut self,
        st: &mut StageState<'_>,
        vertex: Vertex,
        extra_inputs: &[VertexId],
    ) {
        let created_by = vertex.created_by.clone().unwrap_or_default();
        let mut inputs = vec![st.root];
        inputs.extend_from_slice(extra_inputs);
        st.root = self.graph.add(vertex, &inputs);
        st.history.push(HistoryEntry {
            created_by,
            empty_layer: false,
            vertex: Some(st.root),
        });
    }

    /// A context vertex reading `include` minus `exclude` (shared when equal).
    pub(super) fn context(
        &mut self,
        st: &StageState<'_>,
        include: Vec<String>,
        exclude: Vec<String>,
    ) -> VertexId {
        self.graph.add_source(Vertex {
            op: Op::Context(ContextOp { include, exclude }),
            span: None,
            stage: None,
            name: "[internal] load build context".into(),
            created_by: None,
            ignore_cache: st.ignore_cache,
        })
    }

    fn dispatch_copy(
        &mut self,
        st: &mut StageState<'_>,
        x: &Instruction,
        spec: &CopySpec,
    ) -> Result<(), GraphError> {
        let (sources, paths) = copy_sources(st, x, &spec.sources, false)?;
        let from = match (&spec.from, paths.is_empty()) {
            (_, true) => None,
            (Some(reference), false) => {
                Some(self.resolve_from(st, reference, x.span.start, "COPY --from")?)
            }
            (None, false) => Some(self.context(st, paths, spec.exclude.clone())),
        };
        let action = FileAction {
            sources,
            dest: resolve_dest(&st.config.working_dir, &spec.dest),
            from: from.map(|_| 1),
            chown: spec.chown.clone(),
            chmod: spec.chmod.clone(),
            link: spec.link,
            exclude: spec.exclude.clone(),
            parents: spec.parents,
            add: None,
        };
        let text = created_by::copy("COPY", &source_words(&spec.sources), &spec.dest);
        let vertex = self.step_vertex(st, x, Op::File(action), Some(text));
        self.push_layer(st, vertex, from.as_slice());
        Ok(())
    }

    fn dispatch_add(
        &mut self,
        st: &mut StageState<'_>,
        x: &Instruction,
        spec: &AddSpec,
    ) -> Result<(), GraphError> {
        let (sources, paths) = copy_sources(st, x, &spec.sources, true)?;
        let from = (!paths.is_empty()).then(|| self.context(st, paths, spec.exclude.clone()));
        let action = FileAction {
            sources,
            dest: resolve_dest(&st.config.working_dir, &spec.dest),
            from: from.map(|_| 1),
            chown: spec.chown.clone(),
            chmod: spec.chmod.clone(),
            link: spec.link,
            exclude: spec.exclude.clone(),
            parents: false,
            add: Some(AddOptions {
                checksum: spec.checksum.clone(),
                unpack: spec.unpack,
                keep_git_dir: spec.keep_git_dir,
            }),
        };
        let text = created_by::copy("ADD", &source_words(&spec.sources), &spec.dest);
        let vertex = self.step_vertex(st, x, Op::File(action), Some(text));
        self.push_layer(st, vertex, from.as_slice());
        Ok(())
    }

    /// WORKDIR: config, plus a mkdir layer unless it is `/` (as BuildKit).
    /// An absolute WORKDIR is stored in the config verbatim
    /// (`/a/b/../z/.` stays so, as BuildKit does), a relative one joined to
    /// the previous and cleaned; the directory made is the cleaned path.
    fn dispatch_workdir(&mut self, st: &mut StageState<'_>, x: &Instruction, dir: &str) {
        let wd = clean_path(&join(&clean_path(&st.config.working_dir), dir));
        st.config.working_dir = if dir.starts_with('/') {
            dir.to_string()
        } else {
            wd.clone()
        };
        let created_by = format!("WORKDIR {wd}");
        if wd == "/" {
            st.history.push(empty(created_by));
            return;
        }
        let owner = (!st.config.user.is_empty()).then(|| st.config.user.clone());
        let op = Op::Mkdir(MkdirOp {
            path: wd,
            mode: 0o755,
            parents: true,
            owner,
        });
        let vertex = self.step_vertex(st, x, op, Some(created_by));
        self.push_layer(st, vertex, &[]);
    }
}

/// The typed sources and the context paths among them.
fn copy_sources(
    st: &StageState<'_>,
    x: &Instruction,
    sources: &[Source],
    add: bool,
) -> Result<(Vec<CopySource>, Vec<String>), GraphError> {
    let mut out = Vec::new();
    let mut paths = Vec::new();
    for source in sources {
        match source {
            Source::Path(p) if add && is_remote(p) => out.push(CopySource::Remote(p.clone())),
            Source::Path(p) => {
                paths.push(p.clone());
                out.push(CopySource::Path(p.clone()));
            }
            Source::Heredoc {
                name,
                content,
                expand,
            } => {
                let content = if *expand {
                    expand_body(st, x, content)?
                } else {
                    content.clone()
                };
                out.push(CopySource::Inline {
                    name: name.clone(),
                    content,
                });
            }
        }
    }
    Ok((out, paths))
}

/// A heredoc body with variables expanded, quotes and escapes kept.
pub(super) fn expand_body(
    st: &StageState<'_>,
    x: &Instruction,
    body: &str,
) -> Result<String, GraphError> {
    let lexer = Lexer::new(st.escape).raw_quotes(true).raw_escapes(true);
    let out = lexer
        .expand_word(body, &st.scope)
        .map_err(|e| DockerfileError::invalid(x.span.start, e.to_string()))?;
    st.scope.budget().charge(x.span.start, body, out.len())?;
    Ok(out)
}

/// URLs and git sources of ADD.
fn is_remote(p: &str) -> bool {
    ["http://", "https://", "git://", "git@"]
        .iter()
        .any(|prefix| p.starts_with(prefix))
}

/// Sources as BuildKit writes them in history (`<<name` for heredocs).
fn source_words(sources: &[Source]) -> Vec<String> {
    sources
        .iter()
        .map(|s| match s {
            Source::Path(p) => p.clone(),
            Source::Heredoc { name, .. } => format!("<<{name}"),
        })
        .collect()
}

/// BuildKit's destination: relative to the working directory, absolute,
/// with a trailing `/` kept (and added for `.`).
pub(super) fn resolve_dest(workdir: &str, dest: &str) -> String {
    let dir_like = dest.is_empty() || dest == "." || dest.ends_with('/');
    let mut out = clean_path(&join(workdir, dest));
    if dir_like && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// `path` made absolute against `base` (`/` when empty).
fn join(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        let base = if base.is_empty() { "/" } else { base };
        format!("{}/{path}", base.trim_end_matches('/'))
    }
}

/// Lexical clean of an absolute path (`.`/`..`/double slashes), like Go's
/// `path.Clean`.
pub(super) fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

fn empty(created_by: String) -> HistoryEntry {
    HistoryEntry {
        created_by,
        empty_layer: true,
        vertex: None,
    }
}

/// The argv of a CMD/ENTRYPOINT/HEALTHCHECK command (shell form through the
/// stage's SHELL).
pub(super) fn command_args(st: &StageState<'_>, command: &Command) -> Vec<String> {
    match command {
        Command::Exec(args) => args.clone(),
        Command::Shell(line) => {
            let mut args = st.config.shell_or_default();
            args.push(line.clone());
            args
        }
    }
}

/// Metadata-only instructions: update the config, add an empty history entry.
fn dispatch_config(
    st: &mut StageState<'_>,
    x: &Instruction,
    kind: &InstructionKind,
) -> Result<(), GraphError> {
    let c = &mut st.config;
    let text = match kind {
        InstructionKind::Env(pairs) => {
            let kv: Vec<(String, String)> = pairs
                .iter()
                .map(|p| (p.key.clone(), p.value.clone()))
                .collect();
            for (k, v) in &kv {
                c.env_set(k, v);
            }
            st.args_over_env
                .retain(|name| !kv.iter().any(|(k, _)| k == name));
            created_by::pairs("ENV", &kv)
        }
        InstructionKind::Label(pairs) => {
            let kv: Vec<(String, String)> = pairs
                .iter()
                .map(|p| (p.key.clone(), p.value.clone()))
                .collect();
            c.labels.extend(kv.iter().cloned());
            created_by::pairs("LABEL", &kv)
        }
        InstructionKind::Arg(decls) => {
            let mut words = Vec::new();
            for d in decls {
                if !st.arg_order.contains(&d.name) {
                    st.arg_order.push(d.name.clone());
                }
                if st.config.env.iter().any(|(k, _)| *k == d.name)
                    && !st.args_over_env.contains(&d.name)
                {
                    st.args_over_env.push(d.name.clone());
                }
                match st.scope.args().iter().find(|(k, _)| *k == d.name) {
                    Some((k, v)) => words.push(format!("{k}={v}")),
                    None => words.push(d.name.clone()),
                }
            }
            format!("ARG {}", words.join(" "))
        }
        InstructionKind::Cmd(command) => {
            let args = command_args(st, command);
            let text = format!("CMD {}", created_by::go_quoted_list(&args));
            (st.config.cmd, st.cmd_set) = (Some(args), true);
            text
        }
        InstructionKind::Entrypoint(command) => {
            let args = command_args(st, command);
            let text = format!("ENTRYPOINT {}", created_by::go_quoted_list(&args));
            st.config.entrypoint = Some(args);
            if !st.cmd_set {
                st.config.cmd = None;
            }
            text
        }
        InstructionKind::User(user) => {
            c.user = user.clone();
            format!("USER {user}")
        }
        InstructionKind::Expose(words) => {
            let mut ports = Vec::new();
            for w in words {
                let spec =
                    PortSpec::parse(w).map_err(|e| DockerfileError::invalid(x.span.start, e))?;
                ports.extend(spec.ports());
            }
            c.exposed_ports.extend(ports.iter().cloned());
            format!("EXPOSE {}", created_by::go_list(&ports))
        }
        InstructionKind::Volume(volumes) => {
            c.volumes.extend(volumes.iter().cloned());
            format!("VOLUME {}", created_by::go_list(volumes))
        }
        InstructionKind::StopSignal(signal) => {
            c.stop_signal = Some(signal.clone());
            format!("STOPSIGNAL {signal}")
        }
        InstructionKind::Healthcheck(h) => {
            let health = health_config(h);
            let text = created_by::healthcheck(&health);
            st.config.healthcheck = Some(health);
            text
        }
        InstructionKind::Shell(shell) => {
            c.shell = Some(shell.clone());
            format!("SHELL {}", created_by::go_list(shell))
        }
        InstructionKind::Onbuild(onbuild) => {
            c.on_build.push(onbuild.expression.clone());
            format!("ONBUILD {}", onbuild.expression)
        }
        InstructionKind::Maintainer(name) => {
            c.author = Some(name.clone());
            format!("MAINTAINER {name}")
        }
        InstructionKind::Run(_)
        | InstructionKind::Copy(_)
        | InstructionKind::Add(_)
        | InstructionKind::Workdir(_) => unreachable!("dispatched as filesystem steps"),
    };
    st.history.push(empty(text));
    Ok(())
}

fn health_config(h: &Healthcheck) -> HealthConfig {
    match h {
        Healthcheck::None => HealthConfig {
            test: vec!["NONE".into()],
            interval: None,
            timeout: None,
            start_period: None,
            start_interval: None,
            retries: None,
        },
        Healthcheck::Cmd(cmd) => HealthConfig {
            test: match &cmd.command {
                Command::Shell(line) => vec!["CMD-SHELL".into(), line.clone()],
                Command::Exec(args) => std::iter::once("CMD".to_string())
                    .chain(args.iter().cloned())
                    .collect(),
            },
            interval: cmd.interval,
            timeout: cmd.timeout,
            start_period: cmd.start_period,
            start_interval: cmd.start_interval,
            retries: cmd.retries,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_resolve_like_buildkit() {
        assert_eq!(resolve_dest("", "app"), "/app");
        assert_eq!(resolve_dest("/w", "."), "/w/");
        assert_eq!(resolve_dest("/w", "sub/"), "/w/sub/");
        assert_eq!(resolve_dest("/w", "/abs/../x"), "/x");
        assert_eq!(clean_path("/a//b/./c/.."), "/a/b");
    }
}
