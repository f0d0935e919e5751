//! End-to-end tests of `kiln volume …`, volume copy-up, and `rmi`/`image
//! prune` refusing images that containers use.

#[allow(dead_code)]
#[path = "cli_containers/fixture.rs"]
mod fixture;
mod support;

use fixture::{Root, IMG};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn volume_create_ls_inspect_rm() {
    let r = Root::new("vol-basics");
    assert_eq!(
        r.ok(&["volume", "create", "--label", "team=a", "data"]),
        "data\n"
    );
    let anonymous = r.ok(&["volume", "create"]).trim().to_string();
    assert!(fixture::is_full_id(&anonymous), "{anonymous}");
    let ls = r.ok(&["volume", "ls"]);
    assert!(ls.starts_with("DRIVER    VOLUME NAME\n"), "{ls}");
    assert!(ls.contains("local     data\n"), "{ls}");
    assert_eq!(
        r.ok(&["volume", "ls", "-q", "--filter", "label=team=a"]),
        "data\n"
    );
    assert_eq!(
        r.ok(&["volume", "ls", "-q", "--filter", "name=dat"]),
        "data\n"
    );
    let docs: serde_json::Value =
        serde_json::from_str(&r.ok(&["volume", "inspect", "data"])).unwrap();
    let doc = &docs[0];
    assert_eq!(doc["Name"], "data");
    assert_eq!(doc["Driver"], "local");
    assert_eq!(doc["Scope"], "local");
    assert_eq!(doc["Labels"]["team"], "a");
    assert!(std::path::Path::new(doc["Mountpoint"].as_str().unwrap()).is_dir());
    assert!(doc["CreatedAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        r.ok(&["volume", "rm", "data", &anonymous]),
        format!("data\n{anonymous}\n")
    );
    let out = r.run(&["volume", "rm", "data"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no such volume"));
    r.ok(&["volume", "rm", "-f", "data"]);
    assert_eq!(r.ok(&["volume", "ls", "-q"]), "");
}

#[test]
fn volumes_in_use_are_kept() {
    let r = Root::new("vol-in-use");
    r.ok(&["volume", "create", "data"]);
    r.ok(&["volume", "create", "spare"]);
    let id = r.detach(&["-v", "data:/data", IMG, "sleep", "4242"]);
    for args in [
        &["volume", "rm", "data"][..],
        &["volume", "rm", "-f", "data"][..],
    ] {
        let out = r.run(args);
        assert_eq!(out.status.code(), Some(1));
        let text = stderr(&out);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.contains(&format!("remove data: volume is in use - [{id}]")),
            "{text}"
        );
    }
    assert_eq!(
        r.ok(&["volume", "ls", "-q", "--filter", "dangling=true"]),
        "spare\n"
    );
    let pruned = r.ok(&["volume", "prune", "-f", "-a"]);
    assert!(pruned.contains("Deleted Volumes:\nspare\n"), "{pruned}");
    assert!(pruned.contains("Total reclaimed space:"), "{pruned}");
    assert_eq!(r.ok(&["volume", "ls", "-q"]), "data\n");
    r.ok(&["rm", "-f", &id]);
    assert_eq!(r.ok(&["volume", "rm", "data"]), "data\n");
}

#[test]
fn prune_without_all_removes_only_anonymous_volumes() {
    let r = Root::new("vol-prune");
    r.ok(&["volume", "create", "named"]);
    let id = r
        .ok(&["create", "-v", "/anon", IMG, "true"])
        .trim()
        .to_string();
    r.ok(&["rm", &id]); // without -v: the anonymous volume stays
    let before = r.ok(&["volume", "ls", "-q"]);
    assert_eq!(before.lines().count(), 2, "{before}");
    let anonymous = before.lines().find(|l| *l != "named").unwrap().to_string();
    let out = r.ok(&["volume", "prune", "-f"]);
    assert!(
        out.contains(&format!("Deleted Volumes:\n{anonymous}\n")),
        "{out}"
    );
    assert_eq!(r.ok(&["volume", "ls", "-q"]), "named\n");
    // Without -f it asks; anything but y keeps everything.
    let out = support::kiln_stdin(&r.root, &["volume", "prune", "-a"], "n\n");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Are you sure you want to continue? [y/N]")
    );
    assert_eq!(r.ok(&["volume", "ls", "-q"]), "named\n");
    r.ok(&["volume", "prune", "-f", "-a"]);
    assert_eq!(r.ok(&["volume", "ls", "-q"]), "");
}

#[test]
fn named_volume_is_filled_from_the_image() {
    let r = Root::new("vol-copy-up");
    let out = r.ok(&[
        "run",
        "--name",
        "cc",
        "-v",
        "cu:/etc",
        IMG,
        "cat",
        "/etc/passwd",
    ]);
    assert!(out.starts_with("root:"), "{out}");
    let mountpoint = r
        .ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "cu"])
        .trim()
        .to_string();
    let copied = std::fs::read_to_string(std::path::Path::new(&mountpoint).join("passwd")).unwrap();
    assert_eq!(copied, out);
    // Data written in the volume survives the container.
    r.ok(&[
        "run",
        "--rm",
        "-v",
        "cu:/etc",
        IMG,
        "sh",
        "-c",
        "echo kept > /etc/kept",
    ]);
    assert_eq!(
        r.ok(&["run", "--rm", "-v", "cu:/data", IMG, "cat", "/data/kept"]),
        "kept\n"
    );
}

#[test]
fn rmi_and_image_prune_keep_images_containers_use() {
    let r = Root::new("rmi-in-use");
    let id = r.ok(&["create", IMG, "true"]).trim().to_string();
    let out = r.run(&["rmi", IMG]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains(&format!("conflict: unable to remove repository reference \"{IMG}\" (must force) - container {} is using its referenced image", &id[..12])),
        "{text}"
    );
    let image_id = r
        .ok(&["image", "inspect", "-f", "{{.Id}}", IMG])
        .trim()
        .to_string();
    let out = r.run(&["rmi", &image_id]);
    assert!(
        stderr(&out).contains("(must be forced) - image is being used by stopped container"),
        "{}",
        stderr(&out)
    );
    r.ok(&["image", "prune", "-a", "-f"]);
    assert_eq!(
        r.ok(&["image", "inspect", "-f", "{{.Id}}", IMG]).trim(),
        image_id,
        "prune kept the image"
    );
    let out = r.ok(&["rmi", "-f", IMG]);
    assert!(out.contains(&format!("Untagged: {IMG}")), "{out}");
    assert_eq!(r.run(&["image", "inspect", IMG]).status.code(), Some(1));
    r.ok(&["rm", &id]);
}
