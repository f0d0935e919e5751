//! `include` and `extends` across files, on real files in a scratch folder:
//! relative paths, project directories, env files, conflicts, cycles.

use std::path::{Path, PathBuf};

use kiln_parser::compose::files::{load, ComposeFile, Env, FileHost, LoadOptions};
use kiln_parser::compose::yaml::{Node, Value};
use serde_json::{json, Value as Json};

/// Reads from disk; env files are `KEY=VALUE` lines; `prepare` replaces
/// `${NAME}` in strings with the environment's value, enough to see which
/// environment each file is prepared with.
struct Host;

impl FileHost for Host {
    fn read(&self, path: &Path) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
    }
    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn prepare(&self, doc: Node, _file: &str, env: &Env) -> Result<Node, String> {
        Ok(substitute(doc, env))
    }
    fn env_files(&self, files: &[PathBuf], _env: &Env) -> Result<Env, String> {
        let mut out = Env::new();
        for f in files {
            for line in self.read(f)?.lines() {
                if let Some((k, v)) = line.split_once('=') {
                    out.insert(k.to_string(), v.to_string());
                }
            }
        }
        Ok(out)
    }
}

fn substitute(node: Node, env: &Env) -> Node {
    let value = match node.value {
        Value::Str(s) => Value::Str(
            env.iter()
                .fold(s, |s, (k, v)| s.replace(&format!("${{{k}}}"), v)),
        ),
        Value::Seq(items) => Value::Seq(items.into_iter().map(|n| substitute(n, env)).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k, substitute(v, env)))
                .collect(),
        ),
        other => other,
    };
    Node { value, ..node }
}

/// A scratch project folder, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str, files: &[(&str, &str)]) -> Scratch {
        let dir = std::env::temp_dir().join(format!("kiln-compose-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Scratch(dir)
    }

    fn load(&self, files: &[&str]) -> Result<Json, String> {
        let files: Vec<ComposeFile> = files
            .iter()
            .map(|f| ComposeFile {
                path: self.0.join(f),
                text: None,
            })
            .collect();
        let opts = LoadOptions {
            working_dir: self.0.clone(),
            ..LoadOptions::default()
        };
        load(&files, &opts, &Host)
            .map(|n| n.to_json())
            .map_err(|e| e.to_string())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn included_project_paths_are_rebased_on_its_folder() {
    let s = Scratch::new("inc-paths", &[
        ("compose.yaml", "include:\n  - sub/compose.yaml\nservices:\n  web:\n    image: web\n"),
        ("sub/compose.yaml", "services:\n  inc:\n    build: .\n    env_file: x.env\n    volumes:\n      - ./data:/data\n      - named:/n\n"),
        ("sub/x.env", "A=1\n"),
    ]);
    let got = s.load(&["compose.yaml"]).unwrap();
    assert_eq!(got["services"]["web"]["image"], "web");
    assert_eq!(got["services"]["inc"]["build"], "sub");
    assert_eq!(got["services"]["inc"]["env_file"], "sub/x.env");
    assert_eq!(
        got["services"]["inc"]["volumes"],
        json!(["sub/data:/data", "named:/n"])
    );
    assert!(got.get("include").is_none(), "{got}");
}

#[test]
fn included_project_sees_its_env_files_and_default_dotenv() {
    let s = Scratch::new(
        "inc-env",
        &[
            (
                "compose.yaml",
                "include:\n  - path: lib/one.yaml\n    env_file: conf/one.env\n  - lib2/two.yaml\n",
            ),
            ("conf/one.env", "TAG=from-env-file\n"),
            ("lib/one.yaml", "services:\n  one:\n    image: one:${TAG}\n"),
            ("lib2/.env", "TAG=from-dotenv\n"),
            (
                "lib2/two.yaml",
                "services:\n  two:\n    image: two:${TAG}\n",
            ),
        ],
    );
    let got = s.load(&["compose.yaml"]).unwrap();
    assert_eq!(got["services"]["one"]["image"], "one:from-env-file");
    assert_eq!(got["services"]["two"]["image"], "two:from-dotenv");
}

#[test]
fn process_environment_wins_over_include_env_files() {
    let s = Scratch::new(
        "inc-env-wins",
        &[
            (
                "compose.yaml",
                "include:\n  - path: lib/one.yaml\n    env_file: one.env\n",
            ),
            ("one.env", "TAG=from-file\nOTHER=file-only\n"),
            (
                "lib/one.yaml",
                "services:\n  one:\n    image: one:${TAG}-${OTHER}\n",
            ),
        ],
    );
    let files = [ComposeFile {
        path: s.0.join("compose.yaml"),
        text: None,
    }];
    let env = Env::from([("TAG".to_string(), "from-process".to_string())]);
    let opts = LoadOptions {
        working_dir: s.0.clone(),
        env,
        ..LoadOptions::default()
    };
    let got = load(&files, &opts, &Host).unwrap().to_json();
    assert_eq!(
        got["services"]["one"]["image"],
        "one:from-process-file-only"
    );
}

#[test]
fn local_definition_merges_over_included_one_after_its_resets() {
    let s = Scratch::new("inc-conflict", &[
        ("compose.yaml", "include:\n  - inc.yaml\nservices:\n  db:\n    image: mine\n    ports: !reset []\n    environment: {B: \"2\"}\n"),
        ("inc.yaml", "services:\n  db:\n    image: theirs\n    ports: [\"5432:5432\"]\n    environment: {A: \"1\"}\n"),
    ]);
    let got = s.load(&["compose.yaml"]).unwrap();
    assert_eq!(
        got["services"]["db"],
        json!({"image": "mine", "environment": ["A=1", "B=2"]})
    );
}

#[test]
fn include_cycle_is_refused() {
    let s = Scratch::new(
        "inc-cycle",
        &[
            ("a.yaml", "include: [b.yaml]\nservices: {a: {image: a}}\n"),
            ("b.yaml", "include: [a.yaml]\nservices: {b: {image: b}}\n"),
        ],
    );
    let err = s.load(&["a.yaml"]).unwrap_err();
    assert!(err.contains("b.yaml:1:11: include cycle detected"), "{err}");
    assert!(err.contains("b.yaml"), "{err}");
}

#[test]
fn include_errors_name_the_file() {
    let s = Scratch::new(
        "inc-errors",
        &[
            (
                "missing-env.yaml",
                "include:\n  - path: x.yaml\n    env_file: nope.env\n",
            ),
            ("x.yaml", "services: {x: {image: x}}\n"),
            ("not-list.yaml", "include: x.yaml\n"),
            ("no-file.yaml", "include: [absent.yaml]\n"),
        ],
    );
    let err = s.load(&["missing-env.yaml"]).unwrap_err();
    assert!(
        err.contains("missing-env.yaml") && err.contains("nope.env"),
        "{err}"
    );
    let err = s.load(&["not-list.yaml"]).unwrap_err();
    assert!(
        err.contains("not-list.yaml:1:10: `include` must be a list"),
        "{err}"
    );
    let err = s.load(&["no-file.yaml"]).unwrap_err();
    assert!(
        err.contains("no-file.yaml:1:11: include: cannot read "),
        "{err}"
    );
    assert!(err.contains("absent.yaml"), "{err}");
}

#[test]
fn extends_chain_across_files_rebases_paths_and_merges_in_order() {
    let s = Scratch::new("ext-chain", &[
        ("compose.yaml", "services:\n  app:\n    extends: {file: common/base.yaml, service: web}\n    environment: {C: \"3\"}\n    command: app\n"),
        ("common/base.yaml", "services:\n  web:\n    extends: root\n    environment: {B: \"2\"}\n    command: web\n  root:\n    build: ./ctx\n    environment: {A: \"1\"}\n    env_file: [{path: root.env}]\n"),
    ]);
    let got = s.load(&["compose.yaml"]).unwrap();
    let app = &got["services"]["app"];
    assert_eq!(app["build"], "common/ctx");
    assert_eq!(app["env_file"], json!([{"path": "common/root.env"}]));
    assert_eq!(app["environment"], json!(["A=1", "B=2", "C=3"]));
    assert_eq!(app["command"], "app");
    assert!(app.get("extends").is_none(), "{app}");
}

#[test]
fn extends_errors_name_file_and_service() {
    let s = Scratch::new(
        "ext-errors",
        &[
            ("missing.yaml", "services:\n  a:\n    extends: nope\n"),
            (
                "other.yaml",
                "services:\n  a:\n    extends: {file: lib.yaml, service: nope}\n",
            ),
            ("lib.yaml", "services: {x: {image: x}}\n"),
            ("self.yaml", "services:\n  a:\n    extends: a\n"),
        ],
    );
    let err = s.load(&["missing.yaml"]).unwrap_err();
    assert!(
        err.contains("missing.yaml:3:14: cannot extend service \"a\" in "),
        "{err}"
    );
    assert!(
        err.ends_with("missing.yaml: service \"nope\" not found"),
        "{err}"
    );
    let err = s.load(&["other.yaml"]).unwrap_err();
    assert!(
        err.contains("service \"nope\" not found in lib.yaml"),
        "{err}"
    );
    let err = s.load(&["self.yaml"]).unwrap_err();
    assert!(err.contains("Circular reference"), "{err}");
}

#[test]
fn chains_stop_at_the_nesting_bounds() {
    // 70 files each including the next, and 70 services each extending the
    // next: past the bound of 64 (which also stops paths that keep changing
    // name, such as a folder linked to itself).
    let mut files: Vec<(String, String)> = (0..70)
        .map(|i| {
            (
                format!("f{i}.yaml"),
                format!("include: [f{}.yaml]\n", i + 1),
            )
        })
        .collect();
    files.push(("f70.yaml".into(), "services: {end: {image: x}}\n".into()));
    let mut chain = String::from("services:\n");
    for i in 0..70 {
        chain += &format!("  s{i}:\n    extends: s{}\n", i + 1);
    }
    chain += "  s70:\n    image: x\n";
    files.push(("chain.yaml".into(), chain));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let s = Scratch::new("nesting", &refs);
    let err = s.load(&["f0.yaml"]).unwrap_err();
    assert!(
        err.contains("include: more than 64 nested includes"),
        "{err}"
    );
    let err = s.load(&["chain.yaml"]).unwrap_err();
    assert!(err.contains("is deeper than 64 services"), "{err}");
}
