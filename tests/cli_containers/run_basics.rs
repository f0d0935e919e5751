//! `run` in the foreground: exit codes, runtimes, env, working dir, user,
//! hostname, entrypoint/CMD, stdio.

use std::collections::BTreeSet;

use crate::fixture::{fails_with, in_parallel, parts, Root, CMD_IMG, EP_IMG, IMG};
use crate::support::kiln_stdin;

#[test]
fn exit_codes_follow_docker() {
    let r = Root::new("exit-codes");
    let code = |args: &[&str]| r.run(args).status.code();
    assert_eq!(code(&["run", "--rm", IMG, "true"]), Some(0));
    assert_eq!(code(&["run", "--rm", IMG, "sh", "-c", "exit 3"]), Some(3));
    // Docker: 127 when the command cannot be found, 126 when it cannot be run.
    assert_eq!(code(&["run", "--rm", IMG, "nosuchcmd"]), Some(127));
    assert_eq!(code(&["run", "--rm", IMG, "/etc/passwd"]), Some(126));
    // 125: the error is kiln's own, not the container's.
    fails_with(
        r.run(&["run", "--rm", "nosuch/image", "true"]),
        125,
        "Unable to find image",
    );
    fails_with(
        r.run(&["run", "--rm", "--bogus", IMG, "true"]),
        125,
        "--bogus",
    );
    fails_with(
        r.run(&["run", "--rm", "-u", "nosuchuser", IMG, "true"]),
        125,
        "unable to find user nosuchuser: no matching entries in passwd file",
    );
    fails_with(r.run(&["run", "--rm", IMG]), 125, "No command specified");
    // None of the failed runs left a container behind (all were --rm).
    assert_eq!(r.ok(&["ps", "-a", "-q"]), "");
}

#[test]
fn the_three_runtimes_run_the_same_bundle() {
    let r = Root::new("runtimes");
    let script = "cat /etc/hostname; id; pwd; echo $HOME";
    let results = in_parallel(vec!["kiln", "crun", "runc"], |rt| {
        let name = format!("rt-{rt}");
        let plain = r.ok(&[
            "run",
            "--name",
            &name,
            "--runtime",
            rt,
            IMG,
            "sh",
            "-c",
            script,
        ]);
        let id = r.inspect("{{.Id}}", &name);
        assert_eq!(r.inspect("{{.HostConfig.Runtime}}", &name), rt);
        // Docker's default host name is the short container id.
        let plain = plain.replacen(&format!("{}\n", &id[..12]), "<short-id>\n", 1);
        let user = r.ok(&[
            "run",
            "--rm",
            "--runtime",
            rt,
            "-u",
            "nobody",
            "-w",
            "/work/dir",
            IMG,
            "sh",
            "-c",
            script,
        ]);
        let user = user.lines().skip(1).collect::<Vec<_>>().join("\n");
        (rt, plain, user)
    });
    for (rt, plain, user) in &results {
        assert_eq!(
            plain, "<short-id>\nuid=0(root) gid=0(root)\n/\n/root\n",
            "--runtime {rt}"
        );
        assert_eq!(
            user, "uid=65534(nobody) gid=65534(nogroup)\n/work/dir\n/nonexistent",
            "--runtime {rt} -u nobody -w /work/dir"
        );
    }
}

#[test]
fn env_flags_and_env_file() {
    let r = Root::new("env");
    let file = r.dir.join("env.list");
    std::fs::write(
        &file,
        "# a comment line\nA=1\n\n   # indented comment\nB=two words\nPASSED\nUNSET_HERE\nK=from-file\n",
    )
    .unwrap();
    let out = r
        .cmd()
        .args(["run", "--rm", "--hostname", "envhost", "--env-file"])
        .arg(&file)
        .args(["-e", "K=V", "-e", "EMPTY=", IMG, "env"])
        .env("PASSED", "from-kiln")
        .env_remove("UNSET_HERE")
        .output()
        .unwrap();
    let (stdout, stderr, code) = parts(&out);
    assert_eq!(code, Some(0), "{stderr}");
    let env: BTreeSet<&str> = stdout.lines().collect();
    let want = [
        "A=1",
        "B=two words",
        "PASSED=from-kiln",
        // -e wins over --env-file.
        "K=V",
        "EMPTY=",
        "HOME=/root",
        "HOSTNAME=envhost",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ];
    assert_eq!(env, want.into_iter().collect(), "{stdout}");
}

#[test]
fn workdir_user_and_hostname() {
    let r = Root::new("user");
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--rm"];
        all.extend_from_slice(args);
        r.ok(&all)
    };
    // -w creates the directory (owned by root, 0755) when the image lacks it.
    assert_eq!(
        run(&[
            "-w",
            "/newdir/sub",
            IMG,
            "sh",
            "-c",
            "pwd; stat -c '%a %u' ."
        ]),
        "/newdir/sub\n755 0\n"
    );
    let id_home = "id; echo $HOME";
    assert_eq!(
        run(&["-u", "nobody", IMG, "sh", "-c", id_home]),
        "uid=65534(nobody) gid=65534(nogroup)\n/nonexistent\n"
    );
    assert_eq!(
        run(&["-u", "65534", IMG, "sh", "-c", id_home]),
        "uid=65534(nobody) gid=65534(nogroup)\n/nonexistent\n"
    );
    assert_eq!(
        run(&["-u", "0:0", IMG, "sh", "-c", id_home]),
        "uid=0(root) gid=0(root)\n/root\n"
    );
    assert_eq!(
        run(&["-u", "nobody:root", IMG, "id"]),
        "uid=65534(nobody) gid=0(root)\n"
    );
    // A uid with no passwd entry: Docker uses it as is, HOME=/.
    assert_eq!(
        run(&["-u", "12345:12345", IMG, "sh", "-c", id_home]),
        "uid=12345 gid=12345\n/\n"
    );
    assert_eq!(
        run(&[
            "--hostname",
            "h1",
            IMG,
            "sh",
            "-c",
            "hostname; cat /etc/hostname; echo $HOSTNAME"
        ]),
        "h1\nh1\nh1\n"
    );
}

#[test]
fn entrypoint_and_image_cmd() {
    let r = Root::new("entrypoint");
    r.load_config_images();
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--rm"];
        all.extend_from_slice(args);
        r.ok(&all)
    };
    // The image's CMD, Env and WorkingDir apply when nothing overrides them.
    assert_eq!(run(&[CMD_IMG]), "default cmd\n");
    assert_eq!(run(&[CMD_IMG, "sh", "-c", "pwd; echo $FOO"]), "/tmp\nbar\n");
    // ENTRYPOINT + CMD; arguments replace CMD only.
    assert_eq!(run(&[EP_IMG]), "ep dflt\n");
    assert_eq!(run(&[EP_IMG, "x", "y"]), "ep x y\n");
    // --entrypoint replaces the entrypoint and clears the image's CMD.
    assert_eq!(run(&["--entrypoint", "echo", CMD_IMG]), "\n");
    assert_eq!(run(&["--entrypoint", "echo", EP_IMG, "a", "b"]), "a b\n");
    assert_eq!(run(&["--entrypoint", "", EP_IMG, "echo", "hi"]), "hi\n");
    assert_eq!(run(&["--entrypoint", "echo", IMG, "a", "b"]), "a b\n");
    assert_eq!(run(&["--entrypoint", "", IMG, "echo", "a", "b"]), "a b\n");
    fails_with(
        r.run(&["run", "--rm", "--entrypoint", "", EP_IMG]),
        125,
        "No command specified",
    );
    let id = r.detach(&[EP_IMG, "z"]);
    r.ok(&["wait", &id]);
    let c = r.inspect_json(&id);
    assert_eq!(c["Path"], "echo");
    assert_eq!(c["Args"], serde_json::json!(["ep", "z"]));
    assert_eq!(c["Config"]["Entrypoint"], serde_json::json!(["echo", "ep"]));
    assert_eq!(c["Config"]["Cmd"], serde_json::json!(["z"]));
}

#[test]
fn foreground_stdio_and_logs() {
    let r = Root::new("foreground");
    let out = r.run(&[
        "run",
        "--name",
        "fg",
        IMG,
        "sh",
        "-c",
        "echo to-out; echo to-err >&2; echo more-out",
    ]);
    let (stdout, stderr, code) = parts(&out);
    assert_eq!(code, Some(0));
    assert_eq!(stdout, "to-out\nmore-out\n");
    assert_eq!(stderr, "to-err\n");
    // Without --rm the container and its logs remain.
    let logs = r.run(&["logs", "fg"]);
    assert_eq!(
        parts(&logs),
        ("to-out\nmore-out\n".into(), "to-err\n".into(), Some(0))
    );
    assert_eq!(
        r.inspect("{{.State.Status}} {{.State.ExitCode}}", "fg"),
        "exited 0"
    );

    // -i passes standard input; without -i the container's stdin is empty.
    let piped = kiln_stdin(&r.root, &["run", "--rm", "-i", IMG, "cat"], "hi\nthere\n");
    assert_eq!(
        parts(&piped),
        ("hi\nthere\n".into(), String::new(), Some(0))
    );
    let closed = kiln_stdin(&r.root, &["run", "--rm", IMG, "cat"], "ignored\n");
    assert_eq!(parts(&closed), (String::new(), String::new(), Some(0)));
    let counted = kiln_stdin(&r.root, &["run", "--rm", "-i", IMG, "wc", "-c"], "12345");
    assert_eq!(counted.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&counted.stdout).trim(), "5");
}
