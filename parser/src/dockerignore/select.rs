//! Which ignore file applies to a build: the Dockerfile's own, else the context's.

/// The name of the context-wide ignore file, at the root of the build context.
pub const CONTEXT_IGNORE_FILE: &str = ".dockerignore";

/// The ignore files that may apply to a build, most important first.
///
/// `dockerfile` is the Dockerfile's path as the caller will open it (`None` when
/// it comes from stdin and so has no name); `context_dir` is the context root in
/// the same namespace. A Dockerfile-specific file, `<Dockerfile>.dockerignore`
/// next to the Dockerfile (`build/app.Dockerfile` ->
/// `build/app.Dockerfile.dockerignore`), takes precedence over the context's
/// `.dockerignore`, as in BuildKit. Pure: nothing is checked on disk.
pub fn ignore_file_candidates(dockerfile: Option<&str>, context_dir: &str) -> Vec<String> {
    let mut candidates = Vec::with_capacity(2);
    if let Some(dockerfile) = dockerfile.filter(|d| !d.is_empty() && *d != "-") {
        candidates.push(format!("{dockerfile}.dockerignore"));
    }
    candidates.push(join(context_dir, CONTEXT_IGNORE_FILE));
    candidates
}

/// The ignore file to read: the first of [`ignore_file_candidates`] for which
/// `exists` says yes, or `None` when there is none (nothing is ignored).
///
/// Only the winner is used; the two files are never merged.
pub fn select_ignore_file(
    dockerfile: Option<&str>,
    context_dir: &str,
    exists: &dyn Fn(&str) -> bool,
) -> Option<String> {
    ignore_file_candidates(dockerfile, context_dir)
        .into_iter()
        .find(|candidate| exists(candidate))
}

/// `dir/name`, where an empty or `.` dir means the current directory.
fn join(dir: &str, name: &str) -> String {
    match dir {
        "" | "." => name.to_string(),
        dir if dir.ends_with('/') => format!("{dir}{name}"),
        dir => format!("{dir}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_specific_file_comes_first() {
        assert_eq!(
            ignore_file_candidates(Some("build/app.Dockerfile"), "."),
            ["build/app.Dockerfile.dockerignore", ".dockerignore"]
        );
        assert_eq!(
            ignore_file_candidates(Some("/src/Dockerfile"), "/src/"),
            ["/src/Dockerfile.dockerignore", "/src/.dockerignore"]
        );
        assert_eq!(ignore_file_candidates(None, "ctx"), ["ctx/.dockerignore"]);
        assert_eq!(ignore_file_candidates(Some("-"), ""), [".dockerignore"]);
    }

    #[test]
    fn selects_the_first_existing() {
        let both = |p: &str| p.ends_with(".dockerignore");
        let only_context = |p: &str| p == "ctx/.dockerignore";
        let df = Some("ctx/app.Dockerfile");
        assert_eq!(
            select_ignore_file(df, "ctx", &both).as_deref(),
            Some("ctx/app.Dockerfile.dockerignore")
        );
        assert_eq!(
            select_ignore_file(df, "ctx", &only_context).as_deref(),
            Some("ctx/.dockerignore")
        );
        assert_eq!(select_ignore_file(df, "ctx", &|_| false), None);
    }
}
