//! The loader's own rules over in-memory files: options and `COMPOSE_*`
//! variables, file discovery, project names, `.env` passes, the canonical
//! long syntax, profiles, consistency checks and positioned errors.

use kiln_parser::compose::loader::{self, LoadError, LoadOptions, MemFiles, Project};
use serde_json::{json, Value};

fn opts(cwd: &str, env: &[(&str, &str)]) -> LoadOptions {
    LoadOptions::new(
        cwd,
        env.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn files(list: &[(&str, &str)]) -> MemFiles {
    let mut files = MemFiles::new();
    for (path, text) in list {
        files.insert(path, text);
    }
    files
}

fn load(o: &LoadOptions, f: &MemFiles) -> Project {
    loader::load(o, f).unwrap_or_else(|e| panic!("{e}"))
}

fn error(o: &LoadOptions, f: &MemFiles) -> String {
    loader::load(o, f)
        .map(|p| p.model.to_json())
        .expect_err("must fail")
        .to_string()
}

fn at(p: &Project, path: &str) -> Value {
    let mut v = p.model.to_json();
    for part in path.split('.') {
        v = match v {
            Value::Object(mut m) => m.remove(part).unwrap_or(Value::Null),
            Value::Array(mut a) => a.swap_remove(part.parse::<usize>().unwrap()),
            _ => Value::Null,
        };
    }
    v
}

#[test]
fn discovery_walks_up_to_the_first_compose_file_and_takes_its_override() {
    let f = files(&[
        ("/w/docker-compose.yml", "services: {a: {image: old}}"),
        ("/w/proj/compose.yaml", "services: {a: {image: x}}"),
        (
            "/w/proj/docker-compose.yaml",
            "services: {a: {image: second}}",
        ),
        (
            "/w/proj/compose.override.yml",
            "services: {a: {image: over}}",
        ),
    ]);
    let p = load(&opts("/w/proj/sub/dir", &[]), &f);
    assert_eq!(
        p.files,
        ["/w/proj/compose.yaml", "/w/proj/compose.override.yml"]
    );
    assert_eq!(at(&p, "services.a.image"), "over");
    assert_eq!(p.name, "proj", "named after the folder of the files");
    assert_eq!(p.working_dir, "/w/proj");
}

#[test]
fn no_compose_file_anywhere_is_an_error() {
    assert_eq!(
        error(&opts("/empty", &[]), &MemFiles::new()),
        "no configuration file provided: not found"
    );
}

#[test]
fn compose_file_lists_files_with_the_path_separator() {
    let f = files(&[
        ("/w/a.yml", "services: {a: {image: x}}"),
        ("/w/b.yml", "services: {b: {image: y}}"),
    ]);
    let p = load(
        &opts(
            "/w",
            &[
                ("COMPOSE_FILE", "a.yml;b.yml"),
                ("COMPOSE_PATH_SEPARATOR", ";"),
            ],
        ),
        &f,
    );
    assert_eq!(p.files, ["/w/a.yml", "/w/b.yml"]);
    let e = error(&opts("/w", &[("COMPOSE_FILE", "a.yml:missing.yml")]), &f);
    assert!(e.starts_with("/w/missing.yml: no such file"), "{e}");
}

#[test]
fn project_name_precedence_and_normalisation() {
    let f = files(&[(
        "/w/My Proj/compose.yaml",
        "name: From_File\nservices: {a: {image: x}}",
    )]);
    let mut o = opts("/w/My Proj", &[]);
    assert_eq!(load(&o, &f).name, "from_file");
    o.os_env
        .push(("COMPOSE_PROJECT_NAME".into(), "env-name".into()));
    assert_eq!(load(&o, &f).name, "env-name");
    o.project_name = Some("flag".into());
    assert_eq!(load(&o, &f).name, "flag");
    o.project_name = Some("Bad Name".into());
    assert!(error(&o, &f).starts_with("invalid project name \"Bad Name\""));
    let f = files(&[("/w/_My.Dir/compose.yaml", "services: {a: {image: x}}")]);
    assert_eq!(load(&opts("/w/_My.Dir", &[]), &f).name, "mydir");
    assert_eq!(loader::normalize_project_name("-_Ab.c_D-"), "abc_d-");
}

#[test]
fn dotenv_is_read_in_the_working_dir_then_beside_the_files() {
    let f = files(&[
        ("/w/.env", "COMPOSE_FILE=dev/compose.yaml\nNAME=first\n"),
        ("/w/dev/.env", "NAME=second\nTAG=${TAG:-latest}\n"),
        (
            "/w/dev/compose.yaml",
            "services: {a: {image: \"$NAME:$TAG\"}}",
        ),
    ]);
    let p = load(&opts("/w", &[]), &f);
    assert_eq!(
        at(&p, "services.a.image"),
        "first:latest",
        "the first pass wins, the second fills in"
    );
    let p = load(&opts("/w", &[("NAME", "shell")]), &f);
    assert_eq!(
        at(&p, "services.a.image"),
        "shell:latest",
        "the process environment wins"
    );
}

#[test]
fn env_files_from_flags_or_compose_env_files_in_order() {
    let f = files(&[
        ("/w/compose.yaml", "services: {a: {image: \"$A-$B\"}}"),
        ("/w/one.env", "A=1\nB=1\n"),
        ("/w/two.env", "B=2\n"),
        ("/w/.env", "A=dot\nB=dot\n"),
    ]);
    let mut o = opts("/w", &[]);
    o.env_files = vec!["one.env".into(), "two.env".into()];
    assert_eq!(at(&load(&o, &f), "services.a.image"), "1-2");
    let o = opts("/w", &[("COMPOSE_ENV_FILES", "two.env,one.env")]);
    assert_eq!(at(&load(&o, &f), "services.a.image"), "1-1");
    let mut o = opts("/w", &[]);
    o.env_files = vec!["nope.env".into()];
    assert!(error(&o, &f).starts_with("/w/nope.env: no such file"));
}

#[test]
fn stdin_file_and_project_directory() {
    let f = files(&[("/elsewhere/.env", "IMG=from-dir\n")]);
    let mut o = opts("/w", &[]);
    o.files = vec!["-".into()];
    o.stdin = Some("services: {a: {image: $IMG, build: ./ctx}}".into());
    o.project_directory = Some("/elsewhere".into());
    let p = load(&o, &f);
    assert_eq!(at(&p, "services.a.image"), "from-dir");
    assert_eq!(at(&p, "services.a.build.context"), "/elsewhere/ctx");
    assert_eq!(p.name, "elsewhere");
}

#[test]
fn profiles_from_flags_or_compose_profiles() {
    let text = "services:\n  a: {image: x}\n  b: {image: y, profiles: [debug]}\n  c: {image: z, profiles: [ops]}\n";
    let f = files(&[("/w/compose.yaml", text)]);
    let keys = |p: &Project| {
        at(p, "services")
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&load(&opts("/w", &[]), &f)), ["a"]);
    assert_eq!(
        keys(&load(
            &opts("/w", &[("COMPOSE_PROFILES", "debug, ops")]),
            &f
        )),
        ["a", "b", "c"]
    );
    let mut o = opts("/w", &[("COMPOSE_PROFILES", "debug")]);
    o.profiles = vec!["ops".into()];
    let p = load(&o, &f);
    assert_eq!(keys(&p), ["a", "c"]);
    assert_eq!(p.all_profiles, ["debug", "ops"]);
    o.profiles = vec!["*".into()];
    assert_eq!(keys(&load(&o, &f)), ["a", "b", "c"]);
}

#[test]
fn short_syntax_becomes_the_long_form() {
    let text = r#"
services:
  web:
    image: nginx
    ports: ["80", "127.0.0.1:8080:80/udp", "9000-9001:90-91", 3000]
    volumes: ["./data:/data:ro", "cache:/var/cache/", "/anon"]
    depends_on: [db]
    networks: [front]
    secrets: [token]
    environment: [A=1, B]
    labels: [x=y]
    devices: ["/dev/fuse", "/dev/sda:/dev/xvda:r"]
    command: echo "a b" c
  db:
    image: postgres
networks:
  front:
    external: {name: real}
volumes:
  cache: {}
secrets:
  token: {file: ./token.txt}
"#;
    let f = files(&[("/w/compose.yaml", text)]);
    let mut p = load(&opts("/w", &[("B", "2")]), &f);
    assert_eq!(
        at(&p, "services.web.ports"),
        json!([
            {"mode": "ingress", "target": 80, "protocol": "tcp"},
            {"mode": "ingress", "host_ip": "127.0.0.1", "target": 80, "published": "8080", "protocol": "udp"},
            {"mode": "ingress", "target": 90, "published": "9000", "protocol": "tcp"},
            {"mode": "ingress", "target": 91, "published": "9001", "protocol": "tcp"},
            {"mode": "ingress", "target": 3000, "protocol": "tcp"},
        ])
    );
    assert_eq!(
        at(&p, "services.web.volumes"),
        json!([
            {"type": "bind", "source": "/w/data", "target": "/data", "read_only": true, "bind": {"create_host_path": true}},
            {"type": "volume", "source": "cache", "target": "/var/cache", "volume": {}},
            {"type": "volume", "target": "/anon", "volume": {}},
        ])
    );
    assert_eq!(
        at(&p, "services.web.depends_on"),
        json!({"db": {"condition": "service_started", "required": true}})
    );
    assert_eq!(
        at(&p, "services.web.secrets"),
        json!([{"source": "token", "target": "/run/secrets/token"}])
    );
    assert_eq!(
        at(&p, "networks.front"),
        json!({"external": true, "name": "real"})
    );
    assert_eq!(
        at(&p, "services.web.networks"),
        json!({"front": null}),
        "no default network for web"
    );
    assert_eq!(at(&p, "services.db.networks"), json!({"default": null}));
    assert_eq!(at(&p, "secrets.token.file"), "/w/token.txt");
    assert_eq!(
        at(&p, "services.web.devices"),
        json!([
            {"source": "/dev/fuse", "target": "/dev/fuse", "permissions": "rwm"},
            {"source": "/dev/sda", "target": "/dev/xvda", "permissions": "r"},
        ])
    );
    loader::project::bind(&mut p.model);
    assert_eq!(
        at(&p, "services.web.environment"),
        json!({"A": "1", "B": "2"})
    );
    assert_eq!(at(&p, "services.web.labels"), json!({"x": "y"}));
    assert_eq!(at(&p, "services.web.command"), json!(["echo", "a b", "c"]));
}

#[test]
fn env_file_and_environment_resolve_into_one_mapping() {
    let text = "services:\n  a:\n    image: x\n    env_file: [a.env, {path: opt.env, required: false}]\n    environment: {B: over, C: null, D: null}\n";
    let f = files(&[("/w/compose.yaml", text), ("/w/a.env", "A=1\nB=file\n")]);
    let p = load(&opts("/w", &[("C", "shell")]), &f);
    assert_eq!(
        at(&p, "services.a.environment"),
        json!({"A": "1", "B": "over", "C": "shell", "D": null})
    );
    let f = files(&[(
        "/w/compose.yaml",
        "services: {a: {image: x, env_file: missing.env}}",
    )]);
    assert!(error(&opts("/w", &[]), &f).contains("env file /w/missing.env not found"));
}

#[test]
fn errors_name_the_file_line_column_and_key_path() {
    let cases = [
        ("services:\n  web:\n    image: x\n    ports:\n      - \"80:abc\"\n", "/w/compose.yaml:5:9: services.web.ports[0]: invalid port \"80:abc\": invalid containerPort: abc"),
        ("services:\n  web:\n    image: ${X:?set X please}\n", "/w/compose.yaml:3:12: services.web.image: required variable X is missing a value: set X please"),
        ("services:\n  web:\n    image: x\n    bogus: 1\n", "/w/compose.yaml:4:5: services.web: additional properties 'bogus' not allowed"),
        ("- a\n", "/w/compose.yaml:1:1: top-level object must be a mapping"),
        ("services:\n  a: {image: x}\n  a: {image: y}\n", "/w/compose.yaml:3:3: mapping key \"a\" already defined at line 2"),
    ];
    for (text, want) in cases {
        let f = files(&[("/w/compose.yaml", text)]);
        assert_eq!(error(&opts("/w", &[]), &f), want, "{text}");
    }
}

#[test]
fn consistency_checks_refuse_broken_references_and_cycles() {
    let cases = [
        ("services: {a: {image: x, depends_on: [b]}}", "service \"a\" depends on undefined service \"b\""),
        ("services: {a: {image: x, networks: [n]}}", "service \"a\" refers to undefined network n"),
        ("services: {a: {image: x, volumes: [\"v:/v\"]}}", "service \"a\" refers to undefined volume v"),
        ("services: {a: {image: x, secrets: [s]}}", "service \"a\" refers to undefined secret s"),
        ("services: {a: {build: .}, b: {}}", "service \"b\" has neither an image nor a build context specified"),
        (
            "services: {a: {image: x, depends_on: [b]}, b: {image: x, depends_on: [c]}, c: {image: x, links: [a]}}",
            "dependency cycle detected: a -> b -> c -> a",
        ),
    ];
    for (text, want) in cases {
        let f = files(&[("/w/compose.yaml", text)]);
        let e = error(&opts("/w", &[]), &f);
        assert!(e.contains(want), "{text}: {e}");
        let mut o = opts("/w", &[]);
        o.consistency = false;
        assert!(
            loader::load(&o, &f).is_ok(),
            "{text} loads without the consistency check"
        );
    }
}

#[test]
fn a_dependency_switched_off_by_a_profile_is_not_undefined() {
    let f = files(&[(
        "/w/compose.yaml",
        "services: {a: {image: x, depends_on: [b]}, b: {image: y, profiles: [p]}}",
    )]);
    let p = load(&opts("/w", &[]), &f);
    assert!(p.disabled.contains("b"));
}

#[test]
fn extends_across_files_rebases_paths_and_refuses_loops() {
    let f = files(&[
        ("/w/compose.yaml", "services:\n  web:\n    extends: {file: lib/base.yaml, service: base}\n    command: run\n"),
        ("/w/lib/base.yaml", "services:\n  base:\n    build: ./ctx\n    command: [old]\n    environment: [A=1]\n"),
    ]);
    let p = load(&opts("/w", &[]), &f);
    assert_eq!(at(&p, "services.web.build.context"), "/w/lib/ctx");
    assert_eq!(at(&p, "services.web.command"), "run");
    assert_eq!(at(&p, "services.web.environment"), json!({"A": "1"}));
    let f = files(&[(
        "/w/compose.yaml",
        "services:\n  a: {extends: b}\n  b: {extends: a}\n",
    )]);
    let e = error(&opts("/w", &[]), &f);
    assert!(e.contains("Circular reference"), "{e}");
}

#[test]
fn no_interpolation_keeps_expressions_and_unparsed_short_forms() {
    let f = files(&[(
        "/w/compose.yaml",
        "services: {a: {image: \"${IMG}\", ports: [\"${P:-80}:80\"]}}",
    )]);
    let mut o = opts("/w", &[("IMG", "x")]);
    o.interpolate = false;
    let p = load(&o, &f);
    assert_eq!(at(&p, "services.a.image"), "${IMG}");
    assert_eq!(at(&p, "services.a.ports"), json!(["${P:-80}:80"]));
}

#[test]
fn load_error_variants_carry_what_failed() {
    let e = loader::load(&opts("/nowhere", &[]), &MemFiles::new()).unwrap_err();
    assert!(matches!(e, LoadError::Option(_)));
    let f = files(&[(
        "/w/compose.yaml",
        "services: {a: {image: x, ports: [\"x\"]}}",
    )]);
    match loader::load(&opts("/w", &[]), &f).unwrap_err() {
        LoadError::At {
            file, pos, path, ..
        } => {
            assert_eq!(
                (file.as_str(), pos.line, path.as_str()),
                ("/w/compose.yaml", 1, "services.a.ports[0]")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unset_variables_and_the_version_attribute_are_warned_about_once() {
    let f = files(&[(
        "/w/compose.yaml",
        "version: '3'\nservices:\n  web:\n    image: \"${NOPE}x${NOPE}\"\n    command: ${SET:-${ALSO_NOPE}}\n",
    )]);
    let project = kiln_parser::compose::loader::load(&opts("/w", &[]), &f).unwrap();
    assert_eq!(
        project.warnings,
        vec![
            "/w/compose.yaml: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion".to_string(),
            "The \"NOPE\" variable is not set. Defaulting to a blank string.".to_string(),
            "The \"ALSO_NOPE\" variable is not set. Defaulting to a blank string.".to_string(),
        ]
    );
}
