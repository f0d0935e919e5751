//! `.dockerignore`: which files of the build context are left out, with Docker's
//! (BuildKit's) exact rules.
//!
//! Reading ([`parse`], Docker's `ignorefile.ReadAll`): a leading UTF-8 BOM is
//! dropped, CRLF is accepted, a line whose first character is `#` is a comment,
//! other lines are trimmed and blank ones skipped. A leading `!` makes the line an
//! exception; the rest is trimmed, cleaned like Go's `filepath.Clean` (`//`, `.`
//! and `..` resolved, trailing `/` dropped) and loses a leading `/`, since
//! patterns are relative to the context root: `/foo`, `./foo` and `foo//` are all
//! `foo`. Docker then trims and cleans once more when it builds its matcher, and
//! kiln does the same (so `foo /` is `foo`, and `./!foo` is the exception `!foo`).
//!
//! Matching ([`Matcher`], Docker's `patternmatcher`, `MatchesOrParentMatches`):
//! - `*` is any run of non-`/` characters, `?` one non-`/` character, `[...]` a
//!   class with ranges and `^` negation (it may match `/`), `\` escapes the next
//!   character; malformed patterns are errors naming the line
//!   ([`DockerignoreError`]);
//! - `**` spans any number of directories, zero included: `**/foo`, `foo/**`,
//!   `a/**/b`; `**` alone matches everything;
//! - a pattern matches a path when it matches the path or any of its parent
//!   directories: `foo` ignores `foo/bar/baz`, `*` ignores everything;
//! - the last matching pattern wins: `*.md` + `!README.md` keeps `README.md`,
//!   `docs` + `!docs/keep.txt` keeps `docs/keep.txt` (see
//!   [`Matcher::can_skip_dir`] for what a walker may prune).
//!
//! Choices (where Docker is subtle, kiln follows it and says so here):
//! - a pattern that cleans to `.` (`.`, `./`, `a/..`) is kept as `.`, as Docker
//!   does; it can only match the context root, which is never ignored, so it
//!   matches nothing. Likewise `/` stays `/` and patterns starting with `..`
//!   stay as written: they match nothing;
//! - `!` or `!/` alone is Docker's "illegal exclusion pattern" error;
//! - Docker picks a matching strategy per pattern and kiln reproduces it (see
//!   the `glob` module): `**.txt` (leading `**`, literals after) matches any path
//!   ending in `.txt`, while `a/**.txt` needs `a/…/.txt`; `foo**` matches any
//!   path starting with `foo`;
//! - Docker's regexp translation leaves `^` unescaped: in a pattern with a
//!   wildcard it is an anchor (`a^*` matches nothing), in a literal pattern a
//!   plain character; kiln does the same;
//! - a reversed range (`[z-a]`) is an error, as it is in Docker once its regexp
//!   fails to compile;
//! - deliberate divergences, all from accidents of Docker's regexp translation
//!   rather than its documented `filepath.Match` syntax: `\d`, `\w`, `\s`, `\b`
//!   are the literal letters here (regexp classes or assertions in Docker);
//!   `[[:alpha:]]` is a `filepath.Match` class here (a POSIX class in Docker);
//!   `*` and `?` inside `[...]` are literal here (Docker mangles them);
//! - BuildKit's incremental walker caches per-directory results and, in one
//!   corner (`a`, `!a/x`, `a`: the repeated `a` is not re-checked against the
//!   parent of `a/x`), keeps a path that the last-match rule ignores; kiln
//!   applies the rule as documented and ignores `a/x`.
//!
//! Which file applies: [`select_ignore_file`] (`<Dockerfile>.dockerignore` next
//! to the Dockerfile beats the context's `.dockerignore`). That the Dockerfile and
//! the ignore file themselves still reach the builder even when ignored is the
//! CLI's concern, not this module's.

mod class;
mod clean;
mod engine;
mod error;
mod file;
mod glob;
mod matcher;
mod pattern;
mod select;

pub use error::{DockerignoreError, SyntaxError};
pub use file::parse;
pub use matcher::Matcher;
pub use pattern::Pattern;
pub use select::{ignore_file_candidates, select_ignore_file, CONTEXT_IGNORE_FILE};
