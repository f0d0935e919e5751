//! RUN -> an exec vertex: argv (shell form, heredocs), environment, mounts.

use kiln_parser::dockerfile::chomp_content;
use kiln_parser::dockerfile::instructions::{
    Command, Instruction, Mount, NetworkMode, RunSpec, SecurityMode,
};
use kiln_parser::dockerfile::DockerfileError;

use super::build::{Builder, StageState};
use super::config::DEFAULT_PATH;
use super::created_by;
use super::dispatch::clean_path;
use super::op::{ExecMount, ExecOp, MountKind, Op};
use super::options::PROXY_ARGS;
use super::{GraphError, VertexId};

/// Where BuildKit mounts the script of a `#!` heredoc.
const PIPES_DIR: &str = "/dev/pipes";

impl Builder<'_> {
    pub(super) fn dispatch_run(
        &mut self,
        st: &mut StageState<'_>,
        x: &Instruction,
        spec: &RunSpec,
    ) -> Result<(), GraphError> {
        let mut mounts = Vec::new();
        let args = run_args(st, spec, &mut mounts);
        let mut inputs: Vec<VertexId> = Vec::new();
        let mut ssh_count = 0;
        for mount in &spec.mounts {
            mounts.push(self.exec_mount(st, x, mount, &mut inputs, &mut ssh_count)?);
        }
        let env = run_env(st, &self.opts.build_args);
        let build_args = history_args(st, &env);
        let op = ExecOp {
            args: args.clone(),
            env: env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            cwd: if st.config.working_dir.is_empty() {
                "/".into()
            } else {
                st.config.working_dir.clone()
            },
            user: st.config.user.clone(),
            network: spec.network.unwrap_or(NetworkMode::Default),
            security: spec.security.unwrap_or(SecurityMode::Sandbox),
            mounts,
        };
        let text = created_by::run(&args, &build_args);
        let vertex = self.step_vertex(st, x, Op::Exec(op), Some(text));
        self.push_layer(st, vertex, &inputs);
        Ok(())
    }

    /// One `--mount`, its source added to `inputs` (slot = 1 + position).
    fn exec_mount(
        &mut self,
        st: &StageState<'_>,
        x: &Instruction,
        mount: &Mount,
        inputs: &mut Vec<VertexId>,
        ssh_count: &mut usize,
    ) -> Result<ExecMount, GraphError> {
        let at = x.span.start;
        let mut input = |b: &mut Self, from: &Option<String>, source: &str| {
            let v = match from {
                Some(r) => b.resolve_from(st, r, at, "RUN --mount from")?,
                None => b.context(st, vec![source.to_string()], Vec::new()),
            };
            inputs.push(v);
            Ok::<usize, GraphError>(inputs.len())
        };
        let (target, kind) = match mount {
            Mount::Bind(m) => {
                let source = m.source.clone().unwrap_or_else(|| ".".into());
                let slot = input(self, &m.from, &source)?;
                let kind = MountKind::Bind {
                    input: slot,
                    source,
                    read_only: m.read_only,
                };
                (m.target.clone(), kind)
            }
            Mount::Cache(m) => {
                let from = match &m.from {
                    Some(_) => {
                        let source = m.source.clone().unwrap_or_else(|| "/".into());
                        Some((input(self, &m.from, &source)?, source))
                    }
                    None => None,
                };
                let kind = MountKind::Cache {
                    id: m.id.clone().unwrap_or_else(|| m.target.clone()),
                    sharing: m.sharing,
                    from,
                    mode: m.mode.unwrap_or(0o755),
                    uid: m.uid.unwrap_or(0),
                    gid: m.gid.unwrap_or(0),
                    read_only: m.read_only,
                };
                (m.target.clone(), kind)
            }
            Mount::Tmpfs(m) => (m.target.clone(), MountKind::Tmpfs { size: m.size }),
            Mount::Secret(m) => {
                let id = m.id.clone().unwrap_or_else(|| {
                    let t = m.target.as_deref().unwrap_or_default();
                    t.rsplit('/').next().unwrap_or_default().to_string()
                });
                let target = match (&m.target, &m.env) {
                    (Some(t), _) => t.clone(),
                    (None, Some(_)) => String::new(),
                    (None, None) => format!("/run/secrets/{id}"),
                };
                let kind = MountKind::Secret {
                    id,
                    env: m.env.clone(),
                    required: m.required,
                    mode: m.mode.unwrap_or(0o400),
                    uid: m.uid.unwrap_or(0),
                    gid: m.gid.unwrap_or(0),
                };
                (target, kind)
            }
            Mount::Ssh(m) => {
                *ssh_count += 1;
                let target = m
                    .target
                    .clone()
                    .unwrap_or_else(|| format!("/run/buildkit/ssh_agent.{}", *ssh_count - 1));
                let kind = MountKind::Ssh {
                    id: m.id.clone().unwrap_or_else(|| "default".into()),
                    required: m.required,
                    mode: m.mode.unwrap_or(0o600),
                    uid: m.uid.unwrap_or(0),
                    gid: m.gid.unwrap_or(0),
                };
                (target, kind)
            }
            Mount::Deferred(spec) => {
                return Err(DockerfileError::invalid(
                    at,
                    format!("mount {spec:?} still unresolved after expansion"),
                )
                .into())
            }
        };
        let target = mount_target(&st.config.working_dir, target);
        Ok(ExecMount { target, kind })
    }
}

/// A `--mount` target as BuildKit computes it (moby/buildkit#628, "allow
/// relative paths in mount targets"): a relative target is joined to the
/// stage's WORKDIR (`/` when unset) and cleaned; an absolute one, or none
/// (a secret exposed only as `env=`), is kept. The default cache id stays
/// the target as written, as in BuildKit's parser.
fn mount_target(workdir: &str, target: String) -> String {
    if target.is_empty() || target.starts_with('/') {
        return target;
    }
    let base = if workdir.is_empty() { "/" } else { workdir };
    clean_path(&format!("{base}/{target}"))
}

/// The argv of a RUN, with BuildKit's heredoc rules: a lone `<<EOF` runs its
/// body through the shell (or, starting with `#!`, as a mounted script);
/// anything else gets the bodies appended for the shell to read.
fn run_args(st: &StageState<'_>, spec: &RunSpec, mounts: &mut Vec<ExecMount>) -> Vec<String> {
    let line = match &spec.command {
        Command::Exec(args) => return args.clone(),
        Command::Shell(line) => line.clone(),
    };
    let mut shell = st.config.shell_or_default();
    let script = match spec.heredocs.as_slice() {
        [] => line,
        [h] if is_lone_heredoc(&line, &h.name) => {
            let body = if h.chomp {
                chomp_content(&h.content)
            } else {
                h.content.clone()
            };
            if body.starts_with("#!") {
                let target = format!("{PIPES_DIR}/{}", h.name);
                mounts.push(ExecMount {
                    target: target.clone(),
                    kind: MountKind::Inline {
                        content: body,
                        mode: 0o755,
                    },
                });
                return vec![target];
            }
            body
        }
        docs => {
            let mut full = line;
            for h in docs {
                full.push('\n');
                full.push_str(&h.content);
                full.push_str(&h.name);
            }
            full
        }
    };
    shell.push(script);
    shell
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'` and nothing else.
fn is_lone_heredoc(line: &str, name: &str) -> bool {
    let Some(rest) = line.trim().strip_prefix("<<") else {
        return false;
    };
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let unquoted = rest
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
        .unwrap_or(rest);
    unquoted == name
}

/// The process environment: image ENV in order (an ARG declared after an ENV
/// of its name replaces its value), then declared ARGs that no ENV hides,
/// then proxy build args, then PATH if still missing.
fn run_env(
    st: &StageState<'_>,
    build_args: &std::collections::BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut env = st.config.env.clone();
    let args = st.scope.args();
    for name in &st.args_over_env {
        if let (Some(slot), Some((_, v))) = (
            env.iter_mut().find(|(k, _)| k == name),
            args.iter().find(|(k, _)| k == name),
        ) {
            slot.1 = v.clone();
        }
    }
    for name in &st.arg_order {
        if env.iter().any(|(k, _)| k == name) {
            continue;
        }
        if let Some((k, v)) = args.iter().find(|(k, _)| k == name) {
            env.push((k.clone(), v.clone()));
        }
    }
    for name in PROXY_ARGS {
        if let Some(v) = build_args.get(name) {
            if !env.iter().any(|(k, _)| k == name) {
                env.push((name.to_string(), v.clone()));
            }
        }
    }
    if !env.iter().any(|(k, _)| k == "PATH") {
        env.push(("PATH".into(), DEFAULT_PATH.into()));
    }
    env
}

/// The `|N K=V` args of the RUN history line: every declared ARG, with the
/// value the command sees (an ENV of the same name wins), empty when unset.
fn history_args(st: &StageState<'_>, env: &[(String, String)]) -> Vec<(String, String)> {
    st.arg_order
        .iter()
        .map(|name| {
            let value = env
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            (name.clone(), value)
        })
        .collect()
}
