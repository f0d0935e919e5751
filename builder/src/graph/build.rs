//! The graph builder: stage selection, FROM resolution, stage references,
//! cycles, ONBUILD triggers. Per-instruction work is in [`super::dispatch`].

use kiln_parser::dockerfile::instructions::{
    parse_dockerfile, predefined_args, GlobalScope, Instruction, StageScope,
};
use kiln_parser::dockerfile::{Dockerfile, Position};

use super::config::{BaseImages, HistoryEntry, ImageConfig, DEFAULT_PATH};
use super::op::{Op, SourceOp};
use super::options::{BuildOptions, Platform};
use super::order::Progress;
use super::{BuildGraph, GraphError, StageOutput, Vertex, VertexId};

/// Builds the graph of `options.target` (default: the last stage) with base
/// image configs from `bases`. Only stages the target reaches are expanded.
pub fn build_graph(
    dockerfile: &Dockerfile,
    options: &BuildOptions,
    bases: &dyn BaseImages,
) -> Result<BuildGraph, GraphError> {
    if dockerfile.stages.is_empty() {
        return Err(GraphError::NoStages {
            at: Position::new(1, 1),
        });
    }
    let predefined = predefined_args(
        &options.build_platform.to_string(),
        &options.target_platform.to_string(),
    );
    let build_args: Vec<(String, String)> = options
        .build_args
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let global = GlobalScope::new(
        dockerfile.escape,
        &dockerfile.meta_args,
        &build_args,
        &predefined,
    )?;
    let froms = expand_froms(dockerfile, options, &global)?;
    let target = match &options.target {
        Some(t) => {
            dockerfile
                .stages
                .iter()
                .find(|s| s.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(t)))
                .ok_or_else(|| GraphError::TargetNotFound { target: t.clone() })?
                .index
        }
        None => dockerfile.stages.len() - 1,
    };
    let mut builder = Builder {
        df: dockerfile,
        opts: options,
        global: &global,
        bases,
        children_left: from_children(dockerfile, &froms),
        froms,
        states: vec![Progress::Pending; dockerfile.stages.len()],
        needs: Vec::new(),
        graph: BuildGraph {
            graph: Default::default(),
            stages: Vec::new(),
            target: 0,
        },
    };
    let out = builder.build_stage(target)?;
    let mut graph = builder.graph;
    let labels = &mut graph.stages[out].config.labels;
    labels.extend(options.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    graph.target = out;
    Ok(graph)
}

/// Every FROM line expanded with the global args (BuildKit checks them all,
/// used or not): `(base, platform)`.
fn expand_froms(
    df: &Dockerfile,
    options: &BuildOptions,
    global: &GlobalScope,
) -> Result<Vec<(String, String)>, GraphError> {
    df.stages
        .iter()
        .map(|stage| {
            let (base, platform) = global.expand_from(stage)?;
            if base.is_empty() {
                return Err(GraphError::BlankBase {
                    at: stage.span.start,
                    base: stage.base.clone(),
                });
            }
            let platform = match platform {
                Some(p) => Platform::parse(&p)
                    .ok_or(GraphError::BadPlatform {
                        at: stage.span.start,
                        platform: p,
                    })?
                    .to_string(),
                None => options.target_platform.to_string(),
            };
            Ok((base, platform))
        })
        .collect()
}

/// What a stage starts from.
enum Base {
    /// An earlier stage (index into `BuildGraph::stages`).
    Stage(usize),
    /// `FROM scratch`.
    Scratch,
    /// An image and its config.
    Image(Box<ImageConfig>),
}

pub(super) struct Builder<'a> {
    pub(super) df: &'a Dockerfile,
    pub(super) opts: &'a BuildOptions,
    pub(super) global: &'a GlobalScope,
    bases: &'a dyn BaseImages,
    pub(super) froms: Vec<(String, String)>,
    pub(super) states: Vec<Progress>,
    /// Per stage, how many stages built `FROM` it are still to be built
    /// (see [`super::order`]: its config and history are released at 0).
    pub(super) children_left: Vec<usize>,
    /// Stages the stage being built reads but that are not built yet, in the
    /// order it asked for them (see [`super::order`]).
    pub(super) needs: Vec<usize>,
    pub(super) graph: BuildGraph,
}

/// The state of the stage being dispatched.
pub(super) struct StageState<'a> {
    pub(super) index: usize,
    pub(super) label: String,
    pub(super) root: VertexId,
    pub(super) config: ImageConfig,
    pub(super) history: Vec<HistoryEntry>,
    pub(super) scope: StageScope<'a>,
    /// Declared ARG names in first-declaration order.
    pub(super) arg_order: Vec<String>,
    /// ARGs declared after an ENV of the same name: RUN sees the ARG's value
    /// (BuildKit), while the image's Env keeps the ENV's.
    pub(super) args_over_env: Vec<String>,
    pub(super) platform: String,
    pub(super) step: usize,
    pub(super) total: usize,
    pub(super) ignore_cache: bool,
    /// CMD was set in this stage (ENTRYPOINT then keeps it).
    pub(super) cmd_set: bool,
    /// The Dockerfile's escape character.
    pub(super) escape: char,
}

impl<'a> Builder<'a> {
    /// The display label of stage `i`: its name or `stage-i`.
    pub(super) fn label(&self, i: usize) -> String {
        self.df.stages[i]
            .name
            .clone()
            .unwrap_or_else(|| format!("stage-{i}"))
    }

    /// Builds stage `i` on top of what it reads; returns its index in
    /// `graph.stages`, or `None` when its FROM base is a stage not built yet
    /// (nothing is dispatched then: the base's config and ARGs change how
    /// every instruction expands). A `--from` stage not built yet stands in
    /// as the stage's own root, which changes no expansion, so the rest of
    /// the stage is still dispatched to find every stage it reads. Either
    /// way the stages missing are recorded in `needs`, and the caller
    /// discards this attempt, builds them and tries again
    /// ([`super::order`]).
    pub(super) fn build_one(&mut self, i: usize) -> Result<Option<usize>, GraphError> {
        let stage = &self.df.stages[i];
        let (base_name, platform) = self.froms[i].clone();
        let Some(base) = self.resolve_base(i, &base_name, &platform)? else {
            return Ok(None);
        };
        let (mut config, history) = match &base {
            Base::Stage(k) => {
                let s = &self.graph.stages[*k];
                (s.config.clone(), s.history.clone())
            }
            Base::Scratch => (scratch_config(), Vec::new()),
            Base::Image(config) => ((**config).clone(), Vec::new()),
        };
        let triggers = parse_triggers(&config.on_build, stage.span)?;
        config.on_build.clear();
        let ignore_cache =
            self.opts.no_cache || self.opts.no_cache_filter.iter().any(|f| stage.is_named(f));
        let label = self.label(i);
        let total = 1 + triggers.len() + stage.instructions.len();
        let root = match base {
            Base::Stage(k) => self.graph.stages[k].root,
            Base::Scratch | Base::Image(_) => {
                let op = match base {
                    Base::Scratch => SourceOp::Scratch,
                    _ => SourceOp::Image {
                        reference: base_name.clone(),
                        platform: platform.clone(),
                    },
                };
                self.graph.add_source(Vertex {
                    op: Op::Source(op),
                    span: Some(stage.span),
                    stage: Some(i),
                    name: format!("[{label} 1/{total}] FROM {base_name}"),
                    created_by: None,
                    ignore_cache,
                })
            }
        };
        let mut scope = StageScope::new(self.global);
        scope.set_envs(&config.env);
        let inherited: Vec<(String, String)> = match base {
            Base::Stage(k) => self.graph.stages[k].args.clone(),
            _ => Vec::new(),
        };
        scope.set_args(&inherited);
        let mut st = StageState {
            index: i,
            label,
            root,
            config,
            history,
            scope,
            arg_order: inherited.iter().map(|(k, _)| k.clone()).collect(),
            args_over_env: Vec::new(),
            platform,
            step: 1,
            total,
            ignore_cache,
            cmd_set: false,
            escape: self.df.escape,
        };
        for instruction in triggers.iter().chain(&stage.instructions) {
            self.dispatch(&mut st, instruction)?;
        }
        self.graph.stages.push(StageOutput {
            index: i,
            name: stage.name.clone(),
            root: st.root,
            args: st
                .arg_order
                .iter()
                .filter_map(|name| st.scope.args().iter().find(|(k, _)| k == name).cloned())
                .collect(),
            config: st.config,
            history: st.history,
            platform: st.platform,
        });
        Ok(Some(self.graph.stages.len() - 1))
    }

    /// What stage `i` starts from: an earlier stage by name, scratch, or an
    /// image; `None` when it is an earlier stage not built yet (recorded in
    /// `needs`).
    fn resolve_base(
        &mut self,
        i: usize,
        base: &str,
        platform: &str,
    ) -> Result<Option<Base>, GraphError> {
        let stage = &self.df.stages[i];
        if let Some(parent) = parent_stage(self.df, i, base) {
            return Ok(self.stage_ref(parent, stage.span.start)?.map(Base::Stage));
        }
        if base == "scratch" {
            return Ok(Some(Base::Scratch));
        }
        let image = self
            .bases
            .resolve(base, platform)
            .map_err(|e| GraphError::BaseImage {
                at: stage.span.start,
                reference: base.to_string(),
                message: e.to_string(),
            })?;
        Ok(Some(Base::Image(Box::new(image.config))))
    }

    /// The output of `reference` as `COPY --from` / `--mount from=` sees it:
    /// a stage (by name or index; built on demand) or else an image.
    pub(super) fn resolve_from(
        &mut self,
        st: &StageState<'_>,
        reference: &str,
        at: Position,
        context: &str,
    ) -> Result<VertexId, GraphError> {
        if let Some(stage) = self.df.stage(reference) {
            if stage.index == st.index {
                return Err(GraphError::Cycle {
                    at,
                    stage: st.label.clone(),
                });
            }
            return Ok(match self.stage_ref(stage.index, at)? {
                Some(k) => self.graph.stages[k].root,
                None => st.root,
            });
        }
        if reference.parse::<usize>().is_ok() {
            return Err(GraphError::UnknownStage {
                at,
                reference: reference.to_string(),
                context: context.to_string(),
            });
        }
        Ok(self.graph.add_source(Vertex {
            op: Op::Source(SourceOp::Image {
                reference: reference.to_string(),
                platform: st.platform.clone(),
            }),
            span: Some(kiln_parser::dockerfile::Span::new(at, at)),
            stage: None,
            name: format!("[internal] load {reference}"),
            created_by: None,
            ignore_cache: st.ignore_cache,
        }))
    }
}

/// The earlier stage that stage `i`'s FROM `base` names, if any.
pub(super) fn parent_stage(df: &Dockerfile, i: usize, base: &str) -> Option<usize> {
    df.stages[..i]
        .iter()
        .find(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(base))
        })
        .map(|s| s.index)
}

/// Per stage, how many stages are built `FROM` it.
fn from_children(df: &Dockerfile, froms: &[(String, String)]) -> Vec<usize> {
    let mut counts = vec![0; df.stages.len()];
    for (i, (base, _)) in froms.iter().enumerate() {
        if let Some(parent) = parent_stage(df, i, base) {
            counts[parent] += 1;
        }
    }
    counts
}

/// The config of `FROM scratch` (BuildKit's `emptyImage`): only PATH.
fn scratch_config() -> ImageConfig {
    ImageConfig {
        env: vec![("PATH".into(), DEFAULT_PATH.into())],
        ..ImageConfig::default()
    }
}

/// Types a base's ONBUILD triggers; they run at the child's FROM line.
fn parse_triggers(
    expressions: &[String],
    from: kiln_parser::dockerfile::Span,
) -> Result<Vec<Instruction>, GraphError> {
    let mut out = Vec::new();
    for expression in expressions {
        let bad = |message: String| GraphError::BadTrigger {
            at: from.start,
            expression: expression.clone(),
            message,
        };
        let df = parse_dockerfile(&format!("FROM scratch\n{expression}\n"))
            .map_err(|e| bad(e.to_string()))?;
        let stage = df
            .stages
            .into_iter()
            .next()
            .ok_or_else(|| bad("no instruction".into()))?;
        for mut instruction in stage.instructions {
            instruction.span = from;
            out.push(instruction);
        }
    }
    Ok(out)
}
