//! Reference table: inputs with Docker's normalised full form and familiar
//! form, and invalid inputs with the fragment their error must contain.

use super::*;

const HEX: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

/// (input, full `Display` form, `familiar()` form); `@D` stands for `@sha256:HEX`.
const VALID: &[(&str, &str, &str)] = &[
    (
        "busybox",
        "docker.io/library/busybox:latest",
        "busybox:latest",
    ),
    (
        "busybox:1.36",
        "docker.io/library/busybox:1.36",
        "busybox:1.36",
    ),
    (
        "library/busybox",
        "docker.io/library/busybox:latest",
        "busybox:latest",
    ),
    (
        "docker.io/busybox",
        "docker.io/library/busybox:latest",
        "busybox:latest",
    ),
    (
        "docker.io/library/busybox:latest",
        "docker.io/library/busybox:latest",
        "busybox:latest",
    ),
    (
        "index.docker.io/library/busybox",
        "docker.io/library/busybox:latest",
        "busybox:latest",
    ),
    (
        "index.docker.io/busybox:musl",
        "docker.io/library/busybox:musl",
        "busybox:musl",
    ),
    (
        "index.docker.io/user/app:2",
        "docker.io/user/app:2",
        "user/app:2",
    ),
    ("user/app", "docker.io/user/app:latest", "user/app:latest"),
    ("user/app:1", "docker.io/user/app:1", "user/app:1"),
    ("docker.io/user/app@D", "docker.io/user/app@D", "user/app@D"),
    ("busybox@D", "docker.io/library/busybox@D", "busybox@D"),
    (
        "busybox:1@D",
        "docker.io/library/busybox:1@D",
        "busybox:1@D",
    ),
    (
        "localhost/app",
        "localhost/app:latest",
        "localhost/app:latest",
    ),
    (
        "localhost:5000/a/b:tag",
        "localhost:5000/a/b:tag",
        "localhost:5000/a/b:tag",
    ),
    (
        "localhost:5000",
        "docker.io/library/localhost:5000",
        "localhost:5000",
    ),
    ("host.example/a@D", "host.example/a@D", "host.example/a@D"),
    (
        "host.example/a:v1@D",
        "host.example/a:v1@D",
        "host.example/a:v1@D",
    ),
    (
        "gcr.io/project/image:v1.2.3",
        "gcr.io/project/image:v1.2.3",
        "gcr.io/project/image:v1.2.3",
    ),
    (
        "quay.io/coreos/etcd:v3.5.0",
        "quay.io/coreos/etcd:v3.5.0",
        "quay.io/coreos/etcd:v3.5.0",
    ),
    (
        "registry.example.com:443/team/sub/app:1.0-rc1",
        "registry.example.com:443/team/sub/app:1.0-rc1",
        "registry.example.com:443/team/sub/app:1.0-rc1",
    ),
    (
        "127.0.0.1:5000/app",
        "127.0.0.1:5000/app:latest",
        "127.0.0.1:5000/app:latest",
    ),
    (
        "[::1]:5000/app:dev",
        "[::1]:5000/app:dev",
        "[::1]:5000/app:dev",
    ),
    (
        "[fe80::1]/app",
        "[fe80::1]/app:latest",
        "[fe80::1]/app:latest",
    ),
    // An uppercase first component is a domain (docker's splitDockerDomain).
    ("Foo/bar", "Foo/bar:latest", "Foo/bar:latest"),
    (
        "a/b/c/d/e",
        "docker.io/a/b/c/d/e:latest",
        "a/b/c/d/e:latest",
    ),
    // `library/` is only dropped for single-component official images.
    (
        "docker.io/library/a/b",
        "docker.io/library/a/b:latest",
        "library/a/b:latest",
    ),
    (
        "example.com/library/busybox",
        "example.com/library/busybox:latest",
        "example.com/library/busybox:latest",
    ),
    (
        "my-app_1.x__y:Tag_1.0-RC",
        "docker.io/library/my-app_1.x__y:Tag_1.0-RC",
        "my-app_1.x__y:Tag_1.0-RC",
    ),
    ("a---b", "docker.io/library/a---b:latest", "a---b:latest"),
    (
        "ubuntu:_private",
        "docker.io/library/ubuntu:_private",
        "ubuntu:_private",
    ),
    (
        "sub.domain-1.example/x",
        "sub.domain-1.example/x:latest",
        "sub.domain-1.example/x:latest",
    ),
    ("0/1", "docker.io/0/1:latest", "0/1:latest"),
];

/// (input, fragment of the error message).
const INVALID: &[(&str, &str)] = &[
    ("", "empty reference"),
    ("Busybox", "must be lowercase"),
    ("user/App", "must be lowercase"),
    ("example.com/User/app", "must be lowercase"),
    ("busybox:", "empty tag"),
    ("busybox:-tag", "invalid tag"),
    ("busybox:.tag", "invalid tag"),
    ("busybox:a+b", "invalid tag"),
    ("busybox:a:b", "invalid tag"),
    ("busybox@sha256:abc", "64 hex digits"),
    ("busybox@", "empty digest"),
    ("busybox@md5:abcd", "unsupported algorithm"),
    ("busybox@@sha256:x", "unsupported algorithm"),
    ("a..b", "invalid path component"),
    ("a___b", "invalid path component"),
    ("a_-b", "invalid path component"),
    ("-a", "invalid path component"),
    ("a-", "invalid path component"),
    ("a//b", "invalid path component \"\""),
    ("a/", "invalid path component"),
    ("/a", "invalid path component"),
    ("a b", "invalid path component"),
    ("localhost:abc/app", "port must be digits"),
    ("example.com:/a", "port must be digits"),
    ("-example.com/a", "invalid registry domain"),
    ("exa_mple.com/a", "invalid registry domain"),
    ("[::1/app", "unterminated"),
    ("[zz:1]/app", "IPv6"),
    ("Foo/Bar", "must be lowercase"),
];

fn expand(s: &str) -> String {
    s.replace("@D", &format!("@sha256:{HEX}"))
}

#[test]
fn valid_references_normalise_like_docker() {
    for (input, full, familiar) in VALID {
        let input = expand(input);
        let r: Reference = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(r.to_string(), expand(full), "full form of {input}");
        assert_eq!(r.familiar(), expand(familiar), "familiar form of {input}");
        let again: Reference = r.to_string().parse().unwrap();
        assert_eq!(again, r, "reparsing the full form of {input}");
    }
}

#[test]
fn invalid_references_say_why() {
    for (input, fragment) in INVALID {
        let err = Reference::parse(input).expect_err(input).to_string();
        assert!(
            err.starts_with(&format!("invalid reference {input:?}")),
            "{err}"
        );
        assert!(err.contains(fragment), "{input:?}: {err}");
    }
}

#[test]
fn table_is_large_enough() {
    assert!(VALID.len() + INVALID.len() >= 40 + 20);
}

#[test]
fn bare_image_id_is_not_a_name() {
    let err = Reference::parse(HEX).unwrap_err().to_string();
    assert!(err.contains("64-byte hexadecimal"), "{err}");
    // With a namespace or tag it is an ordinary (odd) name.
    assert!(Reference::parse(&format!("user/{HEX}")).is_ok());
}

#[test]
fn length_limits() {
    let tag128 = "t".repeat(128);
    assert!(Reference::parse(&format!("busybox:{tag128}")).is_ok());
    let err = Reference::parse(&format!("busybox:{tag128}x")).unwrap_err();
    assert!(err.to_string().contains("more than 128"), "{err}");

    // docker.io/library/ is 18 characters: 237 more make 255.
    let ok = "a".repeat(237);
    assert_eq!(Reference::parse(&ok).unwrap().name().len(), 255);
    let err = Reference::parse(&format!("{ok}a")).unwrap_err();
    assert!(err.to_string().contains("more than 255"), "{err}");
    let long_host = format!("example.com/{}", "b".repeat(244));
    assert!(Reference::parse(&long_host).is_err());
}

#[test]
fn accessors() {
    let r = Reference::parse(&expand("localhost:5000/a/b:v1@D")).unwrap();
    assert_eq!(r.domain(), "localhost:5000");
    assert_eq!(r.path(), "a/b");
    assert_eq!(r.name(), "localhost:5000/a/b");
    assert_eq!(r.tag(), Some("v1"));
    assert_eq!(r.digest().unwrap().hex(), HEX);
    assert_eq!(r.familiar_name(), "localhost:5000/a/b");

    let hub = Reference::parse("busybox").unwrap();
    assert_eq!(hub.familiar_name(), "busybox");
    assert!(hub.digest().is_none());
    let retagged = hub.with_tag("1.36").unwrap();
    assert_eq!(retagged.familiar(), "busybox:1.36");
    assert!(hub.with_tag("bad tag").is_err());
    let pinned = hub.with_digest(Digest::from_hex(HEX).unwrap());
    assert_eq!(pinned.familiar(), expand("busybox:latest@D"));
}

#[test]
fn serde_uses_the_full_form() {
    let r = Reference::parse("user/app:1").unwrap();
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(json, "\"docker.io/user/app:1\"");
    assert_eq!(serde_json::from_str::<Reference>(&json).unwrap(), r);
    assert!(serde_json::from_str::<Reference>("\"Bad\"").is_err());
}
