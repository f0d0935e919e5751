//! Docker's argv and environment rules, and reading image configs.

use kiln_runtime::spec::{merge_env, resolve_args, ImageDefaults, SpecError, DEFAULT_PATH};

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// (image, --entrypoint, args, expected argv)
type Case<'a> = (&'a ImageDefaults, Option<&'a str>, Vec<String>, Vec<String>);

fn image(ep: Option<&[&str]>, cmd: Option<&[&str]>) -> ImageDefaults {
    ImageDefaults {
        entrypoint: ep.map(s),
        cmd: cmd.map(s),
        ..Default::default()
    }
}

#[test]
fn args_resolution_follows_docker() {
    let both = image(Some(&["/ep", "-x"]), Some(&["def"]));
    let cmd_only = image(None, Some(&["sh", "-c", "echo"]));
    let cases: Vec<Case> = vec![
        (&both, None, vec![], s(&["/ep", "-x", "def"])),
        (&both, None, s(&["a"]), s(&["/ep", "-x", "a"])),
        (&both, Some("/other"), vec![], s(&["/other"])),
        (&both, Some("/other"), s(&["a"]), s(&["/other", "a"])),
        (&both, Some(""), s(&["ls", "/"]), s(&["ls", "/"])),
        (&cmd_only, None, vec![], s(&["sh", "-c", "echo"])),
        (&cmd_only, None, s(&["true"]), s(&["true"])),
        (&cmd_only, Some("env"), vec![], s(&["env"])),
    ];
    for (img, ep, args, want) in cases {
        assert_eq!(
            resolve_args(img, ep, &args).unwrap(),
            want,
            "{ep:?} {args:?}"
        );
    }
}

#[test]
fn empty_command_is_docker_error() {
    let both = image(Some(&["/ep"]), Some(&["def"]));
    let err = resolve_args(&both, Some(""), &[]).unwrap_err();
    assert!(matches!(err, SpecError::NoCommand));
    assert_eq!(err.to_string(), "No command specified");
    let none = image(None, None);
    assert!(matches!(
        resolve_args(&none, None, &[]),
        Err(SpecError::NoCommand)
    ));
}

#[test]
fn env_defaults_path_hostname_and_term() {
    let env = merge_env(&[], &[], "box", true);
    assert_eq!(
        env,
        vec![
            format!("PATH={DEFAULT_PATH}"),
            "HOSTNAME=box".into(),
            "TERM=xterm".into()
        ]
    );
    assert_eq!(merge_env(&[], &[], "box", false).len(), 2);
}

#[test]
fn env_later_values_override_in_place() {
    let img = s(&["PATH=/img/bin", "A=1", "B=2"]);
    let user = s(&["B=3", "C=4", "TERM=dumb", "A=x=y"]);
    let env = merge_env(&img, &user, "h", true);
    assert_eq!(
        env,
        s(&[
            "PATH=/img/bin",
            "HOSTNAME=h",
            "TERM=dumb",
            "A=x=y",
            "B=3",
            "C=4"
        ])
    );
}

#[test]
fn env_bare_key_reads_kiln_env_or_unsets() {
    // PATH is always set in the test harness environment.
    let host_path = std::env::var("PATH").unwrap();
    let env = merge_env(
        &s(&["KILN_SPEC_TEST_UNSET_VAR=img"]),
        &s(&["PATH", "KILN_SPEC_TEST_UNSET_VAR"]),
        "h",
        false,
    );
    assert_eq!(env[0], format!("PATH={host_path}"));
    assert!(
        !env.iter()
            .any(|e| e.starts_with("KILN_SPEC_TEST_UNSET_VAR")),
        "{env:?}"
    );
}

#[test]
fn image_config_is_read_tolerantly() {
    let doc = serde_json::json!({
        "architecture": "amd64",
        "config": {
            "Entrypoint": null,
            "Cmd": ["sh"],
            "Env": ["PATH=/bin", 3],
            "WorkingDir": "/app",
            "User": "nobody:nogroup",
            "StopSignal": "SIGQUIT",
            "Volumes": {"/data": {}},
            "Labels": {"a": "b", "n": 1},
            "Healthcheck": {"Test": ["CMD", "true"]},
            "ExposedPorts": {"80/tcp": {}}
        }
    });
    let d = ImageDefaults::from_image_config(&doc);
    assert_eq!(d.entrypoint, None);
    assert_eq!(d.cmd, Some(s(&["sh"])));
    assert_eq!(d.env, s(&["PATH=/bin"]));
    assert_eq!(d.working_dir, "/app");
    assert_eq!(d.user, "nobody:nogroup");
    assert_eq!(d.stop_signal.as_deref(), Some("SIGQUIT"));
    assert_eq!(d.volumes, s(&["/data"]));
    assert_eq!(d.labels.len(), 1);
    assert_eq!(d.labels["a"], "b");
    assert_eq!(d.healthcheck.unwrap()["Test"][1], "true");
    assert_eq!(d.exposed_ports, s(&["80/tcp"]));
    let empty = ImageDefaults::from_image_config(&serde_json::json!({"config": null}));
    assert_eq!(empty, ImageDefaults::default());
}
