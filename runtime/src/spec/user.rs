//! Resolving `-u` / image USER against the image's /etc/passwd and
//! /etc/group, with runc's (and so Docker's) rules.

use std::path::Path;

use super::rootfs_path::read_rootfs_file;
use super::SpecError;

/// The identity the container process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    /// Numeric user id.
    pub uid: u32,
    /// Numeric primary group id.
    pub gid: u32,
    /// Supplementary groups: the /etc/group entries listing the user by name
    /// (only when no group was given explicitly, as runc does).
    pub additional_gids: Vec<u32>,
    /// Home directory from passwd, "/" when unknown; used for `HOME`.
    pub home: String,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Resolves `spec` (`name|uid[:group|gid]`, "" = root) inside `rootfs`.
///
/// A name must exist in passwd; a numeric uid need not (gid 0, home "/").
/// An explicit group must exist in /etc/group unless numeric. Missing
/// passwd/group files behave as empty files.
pub fn resolve_user(rootfs: &Path, spec: &str) -> Result<ResolvedUser, SpecError> {
    let (user_arg, group_arg) = match spec.split_once(':') {
        Some((u, g)) => (u, g),
        None => (spec, ""),
    };
    let user_arg = if user_arg.is_empty() { "0" } else { user_arg };
    let passwd = parse_passwd(&read_rootfs_file(rootfs, "/etc/passwd")?.unwrap_or_default());
    let uid_num = user_arg.parse::<u32>().ok();
    let matched = passwd
        .iter()
        .find(|e| e.name == user_arg || Some(e.uid) == uid_num);
    let mut user = match (matched, uid_num) {
        (Some(e), _) => ResolvedUser {
            uid: e.uid,
            gid: e.gid,
            additional_gids: Vec::new(),
            home: e.home.clone(),
        },
        (None, Some(uid)) => ResolvedUser {
            uid,
            gid: 0,
            additional_gids: Vec::new(),
            home: "/".to_owned(),
        },
        (None, None) => return Err(SpecError::UnknownUser(user_arg.to_owned())),
    };
    let matched_name = matched.map(|e| e.name.as_str());
    if group_arg.is_empty() && matched_name.is_none() {
        return Ok(user);
    }
    let groups = parse_group(&read_rootfs_file(rootfs, "/etc/group")?.unwrap_or_default());
    if !group_arg.is_empty() {
        user.gid = explicit_group(&groups, group_arg)?;
    } else if let Some(name) = matched_name {
        for g in groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == name))
        {
            if !user.additional_gids.contains(&g.gid) {
                user.additional_gids.push(g.gid);
            }
        }
    }
    Ok(user)
}

/// The gid of an explicit `:group` (a name or number).
fn explicit_group(groups: &[GroupEntry], group_arg: &str) -> Result<u32, SpecError> {
    let gid_num = group_arg.parse::<u32>().ok();
    groups
        .iter()
        .find(|g| g.name == group_arg || Some(g.gid) == gid_num)
        .map(|g| g.gid)
        .or(gid_num)
        .ok_or_else(|| SpecError::UnknownGroup(group_arg.to_owned()))
}

/// `name:password:uid:gid:gecos:home:shell`; malformed lines are skipped,
/// as libc does.
fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_owned(),
                uid: f[2].trim().parse().ok()?,
                gid: f[3].trim().parse().ok()?,
                home: f
                    .get(5)
                    .filter(|h| !h.is_empty())
                    .unwrap_or(&"/")
                    .to_string(),
            })
        })
        .collect()
}

/// `name:password:gid:member,member`; malformed lines are skipped.
fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 3 {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_owned(),
                gid: f[2].trim().parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}
