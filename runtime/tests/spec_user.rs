//! User resolution against a rootfs's /etc/passwd and /etc/group.

use std::path::Path;

use kiln_runtime::spec::{resolve_user, SpecError};

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
# a comment\n\
broken line\n\
app:x:1000:1000:App:/home/app:/bin/sh\n";

const GROUP: &str = "root:x:0:\n\
wheel:x:10:root,app\n\
staff:x:50:app\n\
app:x:1000:\n";

fn rootfs() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("etc")).unwrap();
    std::fs::write(d.path().join("etc/passwd"), PASSWD).unwrap();
    std::fs::write(d.path().join("etc/group"), GROUP).unwrap();
    d
}

#[test]
fn empty_user_is_root_with_membership_groups() {
    let r = rootfs();
    let u = resolve_user(r.path(), "").unwrap();
    assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
    assert_eq!(u.additional_gids, vec![10]);
}

#[test]
fn name_gives_uid_gid_home_and_supplementary_groups() {
    let r = rootfs();
    let u = resolve_user(r.path(), "app").unwrap();
    assert_eq!((u.uid, u.gid, u.home.as_str()), (1000, 1000, "/home/app"));
    assert_eq!(u.additional_gids, vec![10, 50]);
}

#[test]
fn numeric_uid_found_or_not() {
    let r = rootfs();
    let u = resolve_user(r.path(), "1000").unwrap();
    assert_eq!((u.uid, u.gid), (1000, 1000));
    assert_eq!(u.additional_gids, vec![10, 50]);
    let u = resolve_user(r.path(), "4242").unwrap();
    assert_eq!((u.uid, u.gid, u.home.as_str()), (4242, 0, "/"));
    assert!(u.additional_gids.is_empty());
}

#[test]
fn explicit_group_by_number_or_name_drops_supplementary() {
    let r = rootfs();
    let u = resolve_user(r.path(), "1000:7").unwrap();
    assert_eq!((u.uid, u.gid), (1000, 7));
    assert!(u.additional_gids.is_empty());
    let u = resolve_user(r.path(), "daemon:staff").unwrap();
    assert_eq!((u.uid, u.gid), (1, 50));
    let u = resolve_user(r.path(), "4242:4343").unwrap();
    assert_eq!((u.uid, u.gid), (4242, 4343));
}

#[test]
fn unknown_user_and_group_use_docker_messages() {
    let r = rootfs();
    let err = resolve_user(r.path(), "ghost").unwrap_err();
    assert!(matches!(err, SpecError::UnknownUser(_)));
    assert_eq!(
        err.to_string(),
        "unable to find user ghost: no matching entries in passwd file"
    );
    let err = resolve_user(r.path(), "app:ghosts").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unable to find group ghosts: no matching entries in group file"
    );
}

#[test]
fn missing_passwd_allows_numeric_only() {
    let d = tempfile::tempdir().unwrap();
    let u = resolve_user(d.path(), "").unwrap();
    assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/"));
    assert!(matches!(
        resolve_user(d.path(), "app"),
        Err(SpecError::UnknownUser(_))
    ));
}

#[test]
fn absolute_symlink_resolves_inside_rootfs() {
    // The rootfs's /etc/passwd points at an absolute path; on the host that
    // path holds a different file, which must not be read.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("passwd"),
        "evil:x:6666:6666::/evil:/bin/sh\n",
    )
    .unwrap();
    let r = tempfile::tempdir().unwrap();
    let inner_target = format!("{}/passwd", outside.path().display());
    std::fs::create_dir_all(r.path().join("etc")).unwrap();
    std::os::unix::fs::symlink(&inner_target, r.path().join("etc/passwd")).unwrap();
    // The same absolute path, recreated inside the rootfs, is what counts.
    let inside = r.path().join(inner_target.trim_start_matches('/'));
    std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
    std::fs::write(&inside, "good:x:777:778::/good:/bin/sh\n").unwrap();
    assert!(matches!(
        resolve_user(r.path(), "evil"),
        Err(SpecError::UnknownUser(_))
    ));
    let u = resolve_user(r.path(), "good").unwrap();
    assert_eq!((u.uid, u.gid, u.home.as_str()), (777, 778, "/good"));
}

#[test]
fn dotdot_symlink_cannot_climb_out() {
    let r = tempfile::tempdir().unwrap();
    let etc = r.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::os::unix::fs::symlink("../../../../../../etc/passwd-real", etc.join("passwd")).unwrap();
    std::fs::write(etc.join("passwd-real"), "inside:x:5:5::/:/bin/sh\n").unwrap();
    let u = resolve_user(r.path(), "inside").unwrap();
    assert_eq!(u.uid, 5);
}

#[test]
fn symlink_loop_is_an_error_not_a_hang() {
    let r = tempfile::tempdir().unwrap();
    let etc = r.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", etc.join("passwd")).unwrap();
    let err = resolve_user(Path::new(r.path()), "x").unwrap_err();
    assert!(matches!(err, SpecError::SymlinkLoop { .. }), "{err}");
}
