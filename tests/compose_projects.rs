//! The `config` steps of docker compose's end-to-end projects
//! (`testdata/compose/conformance/projects/*/expect.json`), every one, run
//! through the built `kiln compose` in a scratch copy of the project.
//!
//! Scenario tests run `kiln compose -f {dir}/compose.yaml --project-name
//! {project} <args>`; legacy tests run `kiln compose <args>` in the step's
//! `cwd`. `{elsewhere}` is an empty folder, `{tmp}` a folder holding the
//! step's `env_file_content` as `.env`, `{parent_of_fixtures}` a folder in
//! which `fixtures/dotenv/` is the project. Steps that need a container
//! engine (`up`, `down`, ...) belong to `kiln compose up` and are not run
//! here.
//!
//! All failing steps are reported at once, each with its name.

mod support;

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::Scratch;

fn projects() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/compose/conformance/projects")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The folders one project's steps refer to.
struct Places {
    dir: PathBuf,
    project: String,
    elsewhere: PathBuf,
    tmp: PathBuf,
    parent_of_fixtures: PathBuf,
}

impl Places {
    fn new(scratch: &Path, name: &str) -> Places {
        let base = scratch.join(name);
        let dir = base.join("project");
        copy_dir(&projects().join(name).join("project"), &dir);
        let parent_of_fixtures = base.join("e2e");
        copy_dir(&dir, &parent_of_fixtures.join("fixtures/dotenv"));
        let places = Places {
            dir,
            project: name
                .to_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
            elsewhere: base.join("elsewhere"),
            tmp: base.join("tmp"),
            parent_of_fixtures,
        };
        fs::create_dir_all(&places.elsewhere).unwrap();
        fs::create_dir_all(&places.tmp).unwrap();
        places
    }

    fn fill(&self, text: &str) -> String {
        text.replace("{dir}", self.dir.to_str().unwrap())
            .replace("{project_root}", self.dir.to_str().unwrap())
            .replace("{project}", &self.project)
            .replace("{elsewhere}", self.elsewhere.to_str().unwrap())
            .replace("{tmp}", self.tmp.to_str().unwrap())
            .replace(
                "{parent_of_fixtures}",
                self.parent_of_fixtures.to_str().unwrap(),
            )
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

fn run_step(expect: &Value, step: &Value, places: &Places) -> Result<(), String> {
    let legacy = expect["runner"]
        .as_str()
        .unwrap_or("")
        .starts_with("legacy");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.arg("compose")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &places.elsewhere);
    if legacy {
        let cwd = places.fill(step["cwd"].as_str().unwrap_or("."));
        cmd.current_dir(places.dir.join(cwd));
    } else {
        cmd.current_dir(&places.elsewhere);
        cmd.arg("-f")
            .arg(places.dir.join("compose.yaml"))
            .args(["--project-name", &places.project]);
    }
    if let Some(content) = step["env_file_content"].as_str() {
        fs::write(places.tmp.join(".env"), content).unwrap();
    }
    for (k, v) in step["env"].as_object().into_iter().flatten() {
        cmd.env(k, v.as_str().unwrap_or_default());
    }
    cmd.args(strings(&step["args"]).iter().map(|a| places.fill(a)));
    let out = cmd.output().expect("run kiln");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let both = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let code = step["exit_code"].as_i64().unwrap_or(0);
    if i64::from(out.status.code().unwrap_or(-1)) != code {
        return Err(format!("exit {:?}, want {code}: {both}", out.status.code()));
    }
    for want in strings(&step["output_contains"])
        .iter()
        .map(|w| places.fill(w))
    {
        if !both.contains(&want) {
            return Err(format!("output lacks {want:?}:\n{both}"));
        }
    }
    for want in strings(&step["stdout_contains"])
        .iter()
        .map(|w| places.fill(w))
    {
        if !stdout.contains(&want) {
            return Err(format!("stdout lacks {want:?}:\n{stdout}"));
        }
    }
    Ok(())
}

#[test]
fn every_config_step_of_the_projects() {
    let scratch = Scratch::new("compose-projects");
    let mut failures = Vec::new();
    let mut steps = 0;
    let mut names: Vec<_> = fs::read_dir(projects())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    names.sort();
    for path in names {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let expect: Value =
            serde_json::from_str(&fs::read_to_string(path.join("expect.json")).unwrap()).unwrap();
        let places = Places::new(&scratch.0, &name);
        for step in expect["steps"].as_array().into_iter().flatten() {
            if !strings(&step["args"]).iter().any(|a| a == "config") {
                continue;
            }
            steps += 1;
            if let Err(why) = run_step(&expect, step, &places) {
                failures.push(format!("{name} / {}: {why}", step["name"]));
            }
        }
    }
    assert!(steps >= 20, "only {steps} config steps found");
    assert!(
        failures.is_empty(),
        "{} of {steps} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
