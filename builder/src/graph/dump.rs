//! A stable, readable text form of a [`BuildGraph`], for golden tests and
//! `--debug` output: one block per vertex (in creation order), then the
//! target stage's config and history.

use std::fmt::Write as _;

use super::op::{CopySource, MountKind, Op, SourceOp};
use super::{BuildGraph, StageOutput, Vertex, VertexId};

impl BuildGraph {
    /// The text dump (see the module docs of `dump`).
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for id in self.vertex_ids() {
            self.dump_vertex(&mut out, id, self.vertex(id));
        }
        let built: Vec<String> = self.stages.iter().map(stage_label).collect();
        let _ = writeln!(out, "stages built: {}", built.join(", "));
        dump_stage(&mut out, self.target());
        out
    }

    fn dump_vertex(&self, out: &mut String, id: VertexId, v: &Vertex) {
        let inputs: Vec<String> = self.inputs(id).iter().map(|i| i.to_string()).collect();
        let line = v
            .span
            .map(|s| format!(" line {}", s.start.line))
            .unwrap_or_default();
        let nocache = if v.ignore_cache { " no-cache" } else { "" };
        let _ = writeln!(
            out,
            "{id} {} <- [{}]{line}{nocache} {:?}",
            v.op.kind(),
            inputs.join(" "),
            v.name
        );
        match &v.op {
            Op::Source(SourceOp::Image {
                reference,
                platform,
            }) => {
                let _ = writeln!(out, "    image {reference} ({platform})");
            }
            Op::Source(SourceOp::Scratch) => {}
            Op::Context(c) => {
                let _ = writeln!(out, "    include {:?} exclude {:?}", c.include, c.exclude);
            }
            Op::Exec(e) => {
                let _ = writeln!(out, "    args {:?}", e.args);
                let _ = writeln!(out, "    env {:?}", e.env);
                let _ = writeln!(
                    out,
                    "    cwd {:?} user {:?} network {:?} security {:?}",
                    e.cwd, e.user, e.network, e.security
                );
                for m in &e.mounts {
                    let _ = writeln!(out, "    mount {} {}", m.target, mount_text(&m.kind));
                }
            }
            Op::File(f) => {
                let sources: Vec<String> = f.sources.iter().map(source_text).collect();
                let _ = writeln!(
                    out,
                    "    copy [{}] -> {:?} from={:?}",
                    sources.join(", "),
                    f.dest,
                    f.from
                );
                let _ = writeln!(
                    out,
                    "    chown={:?} chmod={:?} link={} parents={} exclude={:?} add={:?}",
                    f.chown, f.chmod, f.link, f.parents, f.exclude, f.add
                );
            }
            Op::Mkdir(m) => {
                let _ = writeln!(
                    out,
                    "    mkdir {:?} mode={:o} parents={} owner={:?}",
                    m.path, m.mode, m.parents, m.owner
                );
            }
        }
        if let Some(created_by) = &v.created_by {
            let _ = writeln!(out, "    created_by {created_by:?}");
        }
    }
}

fn stage_label(s: &StageOutput) -> String {
    match &s.name {
        Some(n) => format!("{} ({n})", s.index),
        None => s.index.to_string(),
    }
}

fn dump_stage(out: &mut String, s: &StageOutput) {
    let c = &s.config;
    let _ = writeln!(
        out,
        "target {} root {} platform {}",
        stage_label(s),
        s.root,
        s.platform
    );
    let _ = writeln!(out, "  env {:?}", c.env);
    let _ = writeln!(out, "  cmd {:?} entrypoint {:?}", c.cmd, c.entrypoint);
    let _ = writeln!(
        out,
        "  user {:?} workdir {:?} shell {:?}",
        c.user, c.working_dir, c.shell
    );
    let _ = writeln!(
        out,
        "  ports {:?} volumes {:?} labels {:?}",
        c.exposed_ports, c.volumes, c.labels
    );
    let _ = writeln!(
        out,
        "  stopsignal {:?} healthcheck {:?} onbuild {:?}",
        c.stop_signal, c.healthcheck, c.on_build
    );
    for h in &s.history {
        let layer = match h.vertex {
            Some(v) => format!("layer {v}"),
            None if h.empty_layer => "empty".into(),
            None => "layer".into(),
        };
        let _ = writeln!(out, "  history {layer}: {:?}", h.created_by);
    }
}

fn mount_text(kind: &MountKind) -> String {
    match kind {
        MountKind::Bind {
            input,
            source,
            read_only,
        } => format!("bind input={input} source={source:?} ro={read_only}"),
        MountKind::Inline { content, mode } => format!("inline mode={mode:o} {content:?}"),
        other => format!("{other:?}"),
    }
}

fn source_text(s: &CopySource) -> String {
    match s {
        CopySource::Path(p) => format!("{p:?}"),
        CopySource::Inline { name, content } => format!("<<{name} {content:?}"),
        CopySource::Remote(u) => format!("remote {u:?}"),
    }
}
