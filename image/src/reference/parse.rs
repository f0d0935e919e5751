//! Parsing and validation of references: split `@digest`, the domain, `:tag`,
//! then check each part against the grammar in the module docs.

use super::{
    Reference, DEFAULT_TAG, DOCKER_HUB_DOMAIN, LEGACY_DOCKER_HUB_DOMAIN, NAME_MAX_LEN,
    OFFICIAL_REPO_PREFIX, TAG_MAX_LEN,
};
use crate::digest::Digest;
use crate::error::{ImageError, Result};

/// Why a part of a reference is invalid (turned into `InvalidReference`).
type Reason = String;

/// Parses and normalises `input` into a [`Reference`].
pub(super) fn parse(input: &str) -> Result<Reference> {
    parse_parts(input).map_err(|reason| ImageError::InvalidReference {
        input: input.to_string(),
        reason,
    })
}

/// The body of [`parse`], with errors as bare reasons.
fn parse_parts(input: &str) -> Result<Reference, Reason> {
    if input.is_empty() {
        return Err("empty reference".into());
    }
    if is_identifier(input) {
        return Err("cannot specify 64-byte hexadecimal strings (that is an image id)".into());
    }
    let (name_and_tag, digest) = split_digest(input)?;
    let (domain, remainder) = split_domain(name_and_tag);
    let (path, tag) = match remainder.split_once(':') {
        Some((path, tag)) => (path, Some(tag)),
        None => (remainder, None),
    };
    check_domain(domain)?;
    check_path(path)?;
    if let Some(tag) = tag {
        check_tag(tag)?;
    }
    let (domain, path) = normalize_name(domain, path)?;
    let tag = match (tag, &digest) {
        (None, None) => Some(DEFAULT_TAG.to_string()),
        (tag, _) => tag.map(str::to_string),
    };
    Ok(Reference {
        domain: domain.to_string(),
        path,
        tag,
        digest,
    })
}

/// Applies Docker Hub's aliases (`index.docker.io`, implicit `library/`) and
/// checks the resulting name's length.
fn normalize_name<'a>(domain: &'a str, path: &str) -> Result<(&'a str, String), Reason> {
    let domain = match domain {
        LEGACY_DOCKER_HUB_DOMAIN => DOCKER_HUB_DOMAIN,
        other => other,
    };
    let path = match domain == DOCKER_HUB_DOMAIN && !path.contains('/') {
        true => format!("{OFFICIAL_REPO_PREFIX}{path}"),
        false => path.to_string(),
    };
    let name_len = domain.len() + 1 + path.len();
    if name_len > NAME_MAX_LEN {
        return Err(format!(
            "repository name {domain}/{path} is {name_len} characters, more than {NAME_MAX_LEN}"
        ));
    }
    Ok((domain, path))
}

/// Whether `s` is a bare 64-hex image id (`[a-f0-9]{64}`), which Docker refuses as a name.
fn is_identifier(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Splits off `@digest`; only sha256 digests are accepted.
fn split_digest(input: &str) -> Result<(&str, Option<Digest>), Reason> {
    let Some((name, digest)) = input.split_once('@') else {
        return Ok((input, None));
    };
    if digest.is_empty() {
        return Err("empty digest after '@'".into());
    }
    let digest = digest.parse::<Digest>().map_err(|e| e.to_string())?;
    Ok((name, Some(digest)))
}

/// Splits `name[:tag]` into (domain, rest) with Docker's rule: the first
/// component is a domain if it has `.` or `:`, is `localhost`, or has uppercase.
fn split_domain(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(char::is_uppercase) =>
        {
            (first, rest)
        }
        _ => (DOCKER_HUB_DOMAIN, name),
    }
}

/// Checks `host[:port]` where host is a dotted domain name or `[ipv6]`.
fn check_domain(domain: &str) -> Result<(), Reason> {
    let bad = |why: &str| Err(format!("invalid registry domain {domain:?}: {why}"));
    let (host, port) = if let Some(inner) = domain.strip_prefix('[') {
        let Some((ip, after)) = inner.split_once(']') else {
            return bad("unterminated '[' in IPv6 address");
        };
        if ip.is_empty() || !ip.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return bad("IPv6 address may only contain hex digits and ':'");
        }
        match after {
            "" => (None, None),
            p => match p.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return bad("expected ':port' after ']'"),
            },
        }
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(domain), None),
        }
    };
    if let Some(host) = host {
        if !host.split('.').all(valid_domain_component) {
            return bad("each dot-separated part must be letters, digits and inner '-'");
        }
    }
    match port {
        Some(p) if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) => {
            bad("port must be digits")
        }
        _ => Ok(()),
    }
}

/// `[a-zA-Z0-9]` or `[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`.
fn valid_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    !b.is_empty()
        && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Checks a repository path: lowercase, `/`-separated valid components.
fn check_path(path: &str) -> Result<(), Reason> {
    if path.chars().any(char::is_uppercase) {
        return Err(format!("repository name {path:?} must be lowercase"));
    }
    for component in path.split('/') {
        if !valid_path_component(component) {
            return Err(format!(
                "invalid path component {component:?} in {path:?}: use [a-z0-9] runs \
                 joined by '.', '_', '__' or dashes"
            ));
        }
    }
    Ok(())
}

/// `[a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*`
fn valid_path_component(c: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = c.as_bytes();
    let mut i = 0;
    loop {
        let run = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == run {
            return false; // empty, leading separator, or separator not followed by alnum
        }
        if i == b.len() {
            return true;
        }
        let sep_start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[sep_start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
}

/// Checks a tag: `[\w][\w.-]{0,127}`.
pub(super) fn check_tag(tag: &str) -> Result<(), Reason> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if tag.is_empty() {
        return Err("empty tag after ':'".into());
    }
    if tag.len() > TAG_MAX_LEN {
        return Err(format!(
            "tag is {} characters, more than {TAG_MAX_LEN}",
            tag.len()
        ));
    }
    let mut chars = tag.chars();
    let first_ok = chars.next().is_some_and(word);
    if !first_ok || !chars.all(|c| word(c) || c == '.' || c == '-') {
        return Err(format!(
            "invalid tag {tag:?}: must start with a letter, digit or '_' and \
             contain only those, '.' and '-'"
        ));
    }
    Ok(())
}
