//! The iptables shim for hosts where a Docker daemon set the `FORWARD`
//! policy to DROP. With `br_netfilter` built in, that policy drops even
//! traffic between two containers on one kiln bridge, and an `accept` in
//! kiln's own nft table cannot override another table's drop (measured).
//! So, per bridge and per iptables backend whose `FORWARD` policy is DROP
//! (`iptables`, `iptables-legacy`, and the `ip6tables` twins for IPv6
//! networks, since `bridge-nf-call-ip6tables` is on too):
//! `-I FORWARD -i <br> -m comment --comment <c> -j ACCEPT` and the same with
//! `-o <br>`. Safe: kiln's own table still enforces isolation and the
//! direct-routing drop, because nft drops are final.
//!
//! The programs are used (rule edits are rare: network create/rm); a
//! missing program means that backend is not in use, so no shim is needed.
//! A backend whose `-S FORWARD` fails is treated the same way, and so is a
//! legacy backend whose `filter` table the kernel has not loaded.

use std::io::ErrorKind;
use std::process::Command;

use super::FirewallError;

/// The iptables programs the shim looks at.
pub const BACKENDS: [&str; 4] = [
    "iptables",
    "iptables-legacy",
    "ip6tables",
    "ip6tables-legacy",
];

/// One rule of an `iptables -S FORWARD` listing that carries a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShimRule {
    /// The comment's text.
    pub comment: String,
    /// The rule's words after `-A FORWARD` (to delete it with `-D FORWARD`).
    pub args: Vec<String>,
}

/// Whether a `-S FORWARD` listing says `-P FORWARD DROP`.
pub fn policy_is_drop(listing: &str) -> bool {
    listing
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["-P", "FORWARD", "DROP"])
}

/// The rules of a `-S FORWARD` listing whose comment starts with `prefix`.
pub fn rules_with_comment(listing: &str, prefix: &str) -> Vec<ShimRule> {
    listing
        .lines()
        .filter_map(|line| {
            let words = split_words(line);
            if words.len() < 2 || words[0] != "-A" || words[1] != "FORWARD" {
                return None;
            }
            let at = words.iter().position(|w| w == "--comment")?;
            let comment = words.get(at + 1)?;
            comment.starts_with(prefix).then(|| ShimRule {
                comment: comment.clone(),
                args: words[2..].to_vec(),
            })
        })
        .collect()
}

/// Splits an `iptables -S` line into words: blanks separate, double
/// quotes group (iptables quotes comments), backslash escapes one character.
pub fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut in_word) = (false, false);
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                word.extend(chars.next());
                in_word = true;
            }
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The two rule bodies for `bridge` (after `FORWARD`).
pub fn accept_rules(bridge: &str, comment: &str) -> [Vec<String>; 2] {
    ["-i", "-o"].map(|dir| {
        [
            dir,
            bridge,
            "-m",
            "comment",
            "--comment",
            comment,
            "-j",
            "ACCEPT",
        ]
        .map(str::to_string)
        .to_vec()
    })
}

/// The result of running one iptables program.
enum Ran {
    /// The program is not installed.
    Missing,
    /// It ran: success, stdout, stderr.
    Done(bool, String, String),
}

fn run(program: &str, args: &[&str]) -> Result<Ran, FirewallError> {
    match Command::new(program).arg("-w").args(args).output() {
        Ok(out) => Ok(Ran::Done(
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        )),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Ran::Missing),
        Err(e) => Err(FirewallError::Iptables {
            operation: format!("{program} {}", args.join(" ")),
            message: e.to_string(),
        }),
    }
}

/// `<program> -S FORWARD`; `None` when missing or failing, or, for the
/// legacy programs, when the kernel has no legacy `filter` table in this
/// namespace (then its policy cannot be DROP, and listing it would load
/// the table, which costs every forwarded packet a hook).
fn listing(program: &str) -> Result<Option<String>, FirewallError> {
    if let Some(names) = legacy_tables_file(program) {
        let loaded = std::fs::read_to_string(names).unwrap_or_default();
        if !loaded.lines().any(|t| t == "filter") {
            return Ok(None);
        }
    }
    Ok(match run(program, &["-S", "FORWARD"])? {
        Ran::Done(true, out, _) => Some(out),
        _ => None,
    })
}

/// Where the kernel lists the loaded legacy tables, for legacy programs.
pub fn legacy_tables_file(program: &str) -> Option<&'static str> {
    match program {
        "iptables-legacy" => Some("/proc/thread-self/net/ip_tables_names"),
        "ip6tables-legacy" => Some("/proc/thread-self/net/ip6_tables_names"),
        _ => None,
    }
}

/// Runs `<program> <op> FORWARD <rule>`: whether it succeeded, and its
/// error output.
fn rule_op(program: &str, op: &str, rule: &[String]) -> Result<(bool, String), FirewallError> {
    let mut args = vec![op, "FORWARD"];
    args.extend(rule.iter().map(String::as_str));
    match run(program, &args)? {
        Ran::Done(ok, _, err) => Ok((ok, err)),
        Ran::Missing => Ok((false, format!("{program} is missing"))),
    }
}

fn iptables_error(program: &str, op: &str, rule: &[String], message: String) -> FirewallError {
    FirewallError::Iptables {
        operation: format!("{program} {op} FORWARD {}", rule.join(" ")),
        message,
    }
}

/// See [`super::ensure_forward_shim`].
pub fn ensure(bridge: &str, comment: &str) -> Result<(), FirewallError> {
    for program in BACKENDS {
        let Some(list) = listing(program)? else {
            continue;
        };
        if policy_is_drop(&list) {
            add_rules(program, bridge, comment)?;
        }
    }
    Ok(())
}

/// Inserts the two tagged ACCEPT rules for `bridge` with `program` unless
/// present (checked with `-C`), whatever the policy. `Ok(false)`: the
/// program is not installed.
pub fn add_rules(program: &str, bridge: &str, comment: &str) -> Result<bool, FirewallError> {
    for rule in accept_rules(bridge, comment) {
        let mut check = vec!["-C", "FORWARD"];
        check.extend(rule.iter().map(String::as_str));
        match run(program, &check)? {
            Ran::Missing => return Ok(false),
            Ran::Done(true, ..) => continue,
            Ran::Done(false, ..) => {}
        }
        let (ok, err) = rule_op(program, "-I", &rule)?;
        if !ok {
            return Err(iptables_error(program, "-I", &rule, err));
        }
    }
    Ok(true)
}

/// See [`super::remove_forward_shim`]. A rule gone meanwhile is fine.
pub fn remove(comment_prefix: &str) -> Result<(), FirewallError> {
    for program in BACKENDS {
        let Some(list) = listing(program)? else {
            continue;
        };
        for rule in rules_with_comment(&list, comment_prefix) {
            let (ok, err) = rule_op(program, "-D", &rule.args)?;
            if !ok && rule_op(program, "-C", &rule.args)?.0 {
                return Err(iptables_error(program, "-D", &rule.args, err));
            }
        }
    }
    Ok(())
}

/// See [`super::forward_shim_comments`]: sorted, without repeats.
pub fn comments(comment_prefix: &str) -> Result<Vec<String>, FirewallError> {
    let mut all = Vec::new();
    for program in BACKENDS {
        if let Some(list) = listing(program)? {
            all.extend(
                rules_with_comment(&list, comment_prefix)
                    .into_iter()
                    .map(|r| r.comment),
            );
        }
    }
    all.sort();
    all.dedup();
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `iptables -S FORWARD` on a host where dockerd runs, plus kiln's rules.
    const DOCKER: &str = r#"-P FORWARD DROP
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-FORWARD
-A FORWARD -i kbab12341 -m comment --comment "kiln:ab1234:0123456789ab" -j ACCEPT
-A FORWARD -o kbab12341 -m comment --comment "kiln:ab1234:0123456789ab" -j ACCEPT
-A FORWARD -i kbcd56781 -m comment --comment "kiln:cd5678:ffffffffffff" -j ACCEPT
-A FORWARD -i br0 -m comment --comment "someone else's rule" -j ACCEPT
"#;

    #[test]
    fn the_policy_is_read_from_its_own_line() {
        assert!(policy_is_drop(DOCKER));
        assert!(!policy_is_drop("-P FORWARD ACCEPT\n"));
        assert!(!policy_is_drop(
            "-A FORWARD -m comment --comment \"-P FORWARD DROP\" -j DROP\n"
        ));
        assert!(!policy_is_drop(""));
    }

    #[test]
    fn rules_are_found_by_comment_prefix_with_their_words() {
        let found = rules_with_comment(DOCKER, "kiln:ab1234:");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].comment, "kiln:ab1234:0123456789ab");
        assert_eq!(
            found[1].args,
            [
                "-o",
                "kbab12341",
                "-m",
                "comment",
                "--comment",
                "kiln:ab1234:0123456789ab",
                "-j",
                "ACCEPT"
            ]
        );
        assert_eq!(rules_with_comment(DOCKER, "kiln:").len(), 3);
        assert!(rules_with_comment(DOCKER, "kiln:999999:").is_empty());
        assert_eq!(
            rules_with_comment(DOCKER, "someone")[0].comment,
            "someone else's rule"
        );
    }

    #[test]
    fn words_split_on_blanks_outside_quotes() {
        assert_eq!(
            split_words(r#"-A FORWARD  -m comment --comment "a b\"c" -j X"#),
            [
                "-A",
                "FORWARD",
                "-m",
                "comment",
                "--comment",
                "a b\"c",
                "-j",
                "X"
            ]
        );
        assert_eq!(split_words(r#"--comment """#), ["--comment", ""]);
        assert!(split_words("   ").is_empty());
    }

    #[test]
    fn the_accept_rules_name_the_bridge_both_ways() {
        let [i, o] = accept_rules("kb1", "kiln:ab:cd");
        assert_eq!(
            i.join(" "),
            "-i kb1 -m comment --comment kiln:ab:cd -j ACCEPT"
        );
        assert_eq!(
            o.join(" "),
            "-o kb1 -m comment --comment kiln:ab:cd -j ACCEPT"
        );
    }
}
