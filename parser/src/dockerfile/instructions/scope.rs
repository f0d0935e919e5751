//! Variable scopes for expansion: which ARG and ENV values an instruction sees.
//!
//! The rules (BuildKit's, with kiln's choices where it is vague):
//! - **Global scope.** ARGs before the first FROM are global. Each takes its
//!   build arg (`--build-arg`) if given, else its default expanded with the
//!   global args declared before it (and the predefined args), else the
//!   predefined value of the same name, else it stays unset. Global args are
//!   visible to FROM lines ([`GlobalScope::env`]) and nowhere else.
//! - **Predefined args** (TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT,
//!   BUILDPLATFORM, BUILDOS, BUILDARCH, BUILDVARIANT) are global without being
//!   declared; a meta ARG of the same name shadows them.
//! - **Stage scope.** A stage sees no ARG until it declares it. `ARG NAME=def`
//!   takes the build arg if given, else `def` expanded with the stage's
//!   current variables. `ARG NAME` takes the build arg, else the global value
//!   (a meta arg or predefined arg), else stays declared but unset.
//!   The names of one ARG line are declared one after the other, so
//!   `ARG A=1 B=$A` gives B=1.
//! - **ENV beats ARG.** [`StageScope::env`] lists ENV values first, then ARG
//!   values; lookups take the first match, so an ENV hides an ARG of the same
//!   name. An ENV line is expanded as a whole with the variables from before it.
//! - Build args never apply to names nobody declares.

use super::expand::Expander;
use super::model::{ArgDecl, Instruction, InstructionKind};
use super::stage::Stage;
use crate::dockerfile::error::DockerfileError;
use crate::dockerfile::limits::ExpansionBudget;
use crate::shell::Env;

/// The predefined platform args, available in the global scope.
pub const PREDEFINED_ARGS: [&str; 8] = [
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
];

/// The predefined args for a build on `build_platform` targeting
/// `target_platform`, both `os/arch[/variant]` (e.g. `linux/arm64/v8`).
pub fn predefined_args(build_platform: &str, target_platform: &str) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(8);
    for (prefix, platform) in [("TARGET", target_platform), ("BUILD", build_platform)] {
        let mut parts = platform.splitn(3, '/');
        out.push((format!("{prefix}PLATFORM"), platform.to_string()));
        for part in ["OS", "ARCH", "VARIANT"] {
            out.push((
                format!("{prefix}{part}"),
                parts.next().unwrap_or_default().to_string(),
            ));
        }
    }
    out
}

/// The global (meta) args, resolved once per build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalScope {
    escape: char,
    build_args: Vec<(String, String)>,
    predefined: Vec<(String, String)>,
    /// Declared meta args that have a value, most recent first.
    values: Vec<(String, String)>,
    /// What expansion has added so far in this build (global args and every
    /// stage share it).
    budget: ExpansionBudget,
}

impl GlobalScope {
    /// Resolves `meta_args` against `build_args` and `predefined` (see the
    /// module docs). Fails when a default does not expand.
    pub fn new(
        escape: char,
        meta_args: &[ArgDecl],
        build_args: &[(String, String)],
        predefined: &[(String, String)],
    ) -> Result<GlobalScope, DockerfileError> {
        let mut scope = GlobalScope {
            escape,
            build_args: build_args.to_vec(),
            predefined: predefined.to_vec(),
            values: Vec::new(),
            budget: ExpansionBudget::new(),
        };
        for decl in meta_args {
            let value = match (scope.build_arg(&decl.name), &decl.default) {
                (Some(v), _) => Some(v.to_string()),
                (None, Some(default)) => {
                    let x = Expander::new(escape, &scope, decl.at).charging(&scope.budget);
                    Some(x.word(default)?)
                }
                (None, None) => scope.predefined.lookup(&decl.name).map(str::to_string),
            };
            scope.values.retain(|(k, _)| *k != decl.name);
            if let Some(value) = value {
                scope.values.insert(0, (decl.name.clone(), value));
            }
        }
        Ok(scope)
    }

    /// The value given with `--build-arg NAME=value`, if any (last one wins).
    pub fn build_arg(&self, name: &str) -> Option<&str> {
        self.build_args
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// What FROM lines see: the meta args with a value, then the predefined
    /// args (first match wins).
    pub fn env(&self) -> Vec<(String, String)> {
        self.values
            .iter()
            .chain(&self.predefined)
            .cloned()
            .collect()
    }

    /// The global value of `name` (meta arg, else predefined arg).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .lookup(name)
            .or_else(|| self.predefined.lookup(name))
    }

    /// The escape character expansions use.
    pub fn escape(&self) -> char {
        self.escape
    }

    /// What expansion has added so far in this build.
    pub fn budget(&self) -> &ExpansionBudget {
        &self.budget
    }

    /// A stage's FROM base and `--platform` expanded with the global args
    /// (and charged to the build's budget).
    pub fn expand_from(&self, stage: &Stage) -> Result<(String, Option<String>), DockerfileError> {
        stage.expand_from_charged(self.escape, self, &self.budget)
    }
}

/// What FROM lines see, looked up in place: the meta args with a value,
/// then the predefined args, as [`GlobalScope::env`] lists them.
impl Env for GlobalScope {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name)
    }
}

/// The variables of one stage as its instructions are applied in order.
#[derive(Debug, Clone)]
pub struct StageScope<'g> {
    global: &'g GlobalScope,
    /// ENV values, most recent first.
    env: Vec<(String, String)>,
    /// Declared ARGs with a value, most recent first.
    args: Vec<(String, String)>,
}

impl<'g> StageScope<'g> {
    /// An empty stage scope (add the base image's ENV with [`Self::set_env`]).
    pub fn new(global: &'g GlobalScope) -> Self {
        StageScope {
            global,
            env: Vec::new(),
            args: Vec::new(),
        }
    }

    /// Declares one ARG: build arg, else expanded default, else global value.
    pub fn declare_arg(&mut self, decl: &ArgDecl) -> Result<(), DockerfileError> {
        let value = match (self.global.build_arg(&decl.name), &decl.default) {
            (Some(v), _) => Some(v.to_string()),
            (None, Some(default)) => {
                let x = Expander::new(self.global.escape, &*self, decl.at);
                Some(x.charging(&self.global.budget).word(default)?)
            }
            (None, None) => self.global.get(&decl.name).map(str::to_string),
        };
        self.args.retain(|(k, _)| *k != decl.name);
        if let Some(value) = value {
            self.args.insert(0, (decl.name.clone(), value));
        }
        Ok(())
    }

    /// Sets an ARG's value directly (a stage built on an earlier stage
    /// inherits that stage's ARG values, as BuildKit does).
    pub fn set_arg(&mut self, key: &str, value: &str) {
        self.args.retain(|(k, _)| k != key);
        self.args.insert(0, (key.to_string(), value.to_string()));
    }

    /// Sets an ENV variable (replacing an earlier value).
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.insert(0, (key.to_string(), value.to_string()));
    }

    /// Sets many ENV variables in order (a later pair wins over an earlier
    /// one of the same name), as `set_env` on each would, but in one pass:
    /// a base image or parent stage with thousands of variables must not
    /// cost thousands squared.
    pub fn set_envs(&mut self, pairs: &[(String, String)]) {
        merge_front(&mut self.env, pairs);
    }

    /// Sets many ARG values in order, as `set_arg` on each would (one pass).
    pub fn set_args(&mut self, pairs: &[(String, String)]) {
        merge_front(&mut self.args, pairs);
    }

    /// What an instruction sees: ENV values first, then ARG values.
    pub fn env(&self) -> Vec<(String, String)> {
        self.env.iter().chain(&self.args).cloned().collect()
    }

    /// The declared ARGs that have a value (exported to RUN, not to the image).
    pub fn args(&self) -> &[(String, String)] {
        &self.args
    }

    /// The build's expansion budget (shared with the global scope): charge
    /// it for expansions done outside [`Self::apply`] (heredoc bodies).
    pub fn budget(&self) -> &ExpansionBudget {
        &self.global.budget
    }

    /// The ENV variables (what the image config gets).
    pub fn env_vars(&self) -> &[(String, String)] {
        &self.env
    }

    /// Expands `instruction` with this scope and applies its effect on the
    /// scope (ARG declarations, ENV values); returns the expanded instruction.
    /// ARG lines come back unchanged: their resolved values are in the scope.
    pub fn apply(&mut self, instruction: &Instruction) -> Result<Instruction, DockerfileError> {
        if let InstructionKind::Arg(decls) = &instruction.kind {
            for decl in decls {
                self.declare_arg(decl)?;
            }
            return Ok(instruction.clone());
        }
        let expanded =
            instruction.expand_charged(self.global.escape, &*self, &self.global.budget)?;
        if let InstructionKind::Env(pairs) = &expanded.kind {
            for kv in pairs {
                self.set_env(&kv.key, &kv.value);
            }
        }
        Ok(expanded)
    }
}

/// What an instruction sees, looked up in place (no copy of the values):
/// ENV values first, then ARG values, as [`StageScope::env`] lists them.
impl Env for StageScope<'_> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.env.lookup(name).or_else(|| self.args.lookup(name))
    }
}

/// Puts `pairs` in front of `list` (most recent first), dropping older
/// entries of the same names: `list` keeps one entry per name.
fn merge_front(list: &mut Vec<(String, String)>, pairs: &[(String, String)]) {
    let mut seen = std::collections::HashSet::new();
    let mut fresh = Vec::with_capacity(pairs.len() + list.len());
    for (key, value) in pairs.iter().rev() {
        if seen.insert(key.as_str()) {
            fresh.push((key.clone(), value.clone()));
        }
    }
    fresh.extend(list.drain(..).filter(|(k, _)| !seen.contains(k.as_str())));
    *list = fresh;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::instructions::{parse_dockerfile, Dockerfile};

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn global(df: &Dockerfile, build_args: &[(&str, &str)]) -> GlobalScope {
        let predefined = predefined_args("linux/amd64", "linux/arm64/v8");
        GlobalScope::new(df.escape, &df.meta_args, &pairs(build_args), &predefined).unwrap()
    }

    /// Applies every instruction of stage 0 and returns the scope's env.
    fn run_stage(df: &Dockerfile, g: &GlobalScope) -> Vec<(String, String)> {
        let mut scope = StageScope::new(g);
        for i in &df.stages[0].instructions {
            scope.apply(i).unwrap();
        }
        scope.env()
    }

    #[test]
    fn predefined_split() {
        let p = predefined_args("linux/amd64", "linux/arm64/v8");
        assert_eq!(p.lookup("TARGETARCH"), Some("arm64"));
        assert_eq!(p.lookup("TARGETVARIANT"), Some("v8"));
        assert_eq!(p.lookup("BUILDVARIANT"), Some(""));
        assert_eq!(p.lookup("BUILDPLATFORM"), Some("linux/amd64"));
    }

    #[test]
    fn global_args() {
        let df =
            parse_dockerfile("ARG A=1\nARG B=${A}2 C\nARG TARGETOS\nARG D=\"x y\"\nFROM img:$B\n")
                .unwrap();
        let g = global(&df, &[]);
        assert_eq!(g.get("B"), Some("12"));
        assert_eq!(g.get("C"), None);
        assert_eq!(g.get("TARGETOS"), Some("linux"));
        assert_eq!(g.get("D"), Some("x y"), "quotes removed at expansion");
        assert_eq!(
            g.env().lookup("BUILDARCH"),
            Some("amd64"),
            "predefined visible to FROM"
        );
        let (base, _) = df.stages[0].expand_from(df.escape, &g.env()).unwrap();
        assert_eq!(base, "img:12");
        let g = global(&df, &[("A", "9"), ("C", "c")]);
        assert_eq!((g.get("B"), g.get("C")), (Some("92"), Some("c")));
    }

    #[test]
    fn stage_args_need_declaring() {
        let src = "ARG V=1\nARG W=2\nFROM x\nARG V\nARG W=3\nARG P\nARG TARGETARCH\n";
        let df = parse_dockerfile(src).unwrap();
        let env = run_stage(&df, &global(&df, &[]));
        assert_eq!(
            env.lookup("V"),
            Some("1"),
            "ARG without default takes the global value"
        );
        assert_eq!(
            env.lookup("W"),
            Some("3"),
            "a stage default beats the global one"
        );
        assert_eq!(env.lookup("P"), None);
        assert_eq!(env.lookup("TARGETARCH"), Some("arm64"));
        let df2 = parse_dockerfile("ARG V=1\nFROM x\nRUN true\n").unwrap();
        assert_eq!(
            run_stage(&df2, &global(&df2, &[])).lookup("V"),
            None,
            "globals stay out of stages"
        );
        let env = run_stage(&df, &global(&df, &[("W", "b"), ("V", "a")]));
        assert_eq!(
            (env.lookup("V"), env.lookup("W")),
            (Some("a"), Some("b")),
            "build args win"
        );
    }

    #[test]
    fn env_beats_arg_and_defaults_see_earlier_values() {
        let src =
            "FROM x\nARG A=arg\nENV A=env\nARG A=again\nENV E=$A\nARG X=1 Y=${X}2\nARG Z=$E-z\n";
        let df = parse_dockerfile(src).unwrap();
        let env = run_stage(&df, &global(&df, &[]));
        assert_eq!(env.lookup("A"), Some("env"));
        assert_eq!(env.lookup("E"), Some("env"));
        assert_eq!(env.lookup("Y"), Some("12"));
        assert_eq!(env.lookup("Z"), Some("env-z"));
    }

    #[test]
    fn env_line_expands_with_previous_values() {
        let df = parse_dockerfile("FROM x\nENV A=old\nENV A=new B=$A\n").unwrap();
        let env = run_stage(&df, &global(&df, &[]));
        assert_eq!(
            (env.lookup("A"), env.lookup("B")),
            (Some("new"), Some("old"))
        );
    }

    #[test]
    fn default_expansion_error_points_at_the_declaration() {
        let df = parse_dockerfile("ARG A=${B\nFROM x\n").unwrap();
        let predefined = predefined_args("linux/amd64", "linux/amd64");
        let err = GlobalScope::new('\\', &df.meta_args, &[], &predefined).unwrap_err();
        assert!(
            err.to_string().starts_with("1:5: failed to process"),
            "{err}"
        );
    }
}
