//! Several env files at once, as Compose combines them.
//!
//! - [`env_files`]: the project `.env` / `--env-file`s (compose-go's
//!   `dotenv.GetEnvFromFile`): files in order into one map, later keys win; a
//!   `${...}` or a bare `KEY` looks at the process environment first, then at
//!   the keys set so far (earlier lines and earlier files).
//! - [`service_environment`]: a service's `env_file` list plus its
//!   `environment:` (compose-go's `Project.WithServicesEnvironmentResolved`).
//!
//! The caller reads the files (missing files, `required: false`, directories
//! are its business); errors name the file as the caller named it.

use super::dotenv::{parse_into, DotenvError};
use super::env_map::EnvMap;

/// One env file: the name to show in errors and its text.
#[derive(Debug, Clone, Copy)]
pub struct EnvFile<'a> {
    /// The file's name (a path, as the user should see it).
    pub name: &'a str,
    /// The file's contents.
    pub text: &'a str,
}

/// An env file that could not be parsed. The text is compose-go's:
/// `failed to read FILE: line N: ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to read {file}: {error}")]
pub struct EnvFileError {
    /// The file, as [`EnvFile::name`] named it.
    pub file: String,
    /// What was wrong in it (with its line). Shown in the message, so not a
    /// `source()` (which would print it twice in an error chain).
    pub error: DotenvError,
}

/// The map Compose gets from `files` used as env files (in order, later keys
/// win); `environment` is the process environment, which `${...}` and bare
/// `KEY` lines see before the keys the files set.
pub fn env_files(
    files: &[EnvFile<'_>],
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<EnvMap, EnvFileError> {
    let mut out = EnvMap::new();
    let lookup =
        |name: &str, sofar: &EnvMap| environment(name).or_else(|| sofar.get(name).cloned());
    for file in files {
        parse_into(file.text, &mut out, &lookup).map_err(|error| EnvFileError {
            file: file.name.to_string(),
            error,
        })?;
    }
    Ok(out)
}

/// A service's environment once its `env_file`s are read: the files' values
/// with the service's `environment:` on top.
///
/// `service_env` is the service's `environment:` (`None` = a bare `KEY`,
/// which takes its value from `project_env` or stays without a value);
/// `project_env` is the project's environment (process environment and `.env`).
/// A `${...}` inside the files looks at `project_env` first, then at the
/// service's `environment:`, then at the values set so far; a bare `KEY` line
/// in a file looks at the first two only.
pub fn service_environment(
    files: &[EnvFile<'_>],
    service_env: &[(String, Option<String>)],
    project_env: &dyn Fn(&str) -> Option<String>,
) -> Result<EnvMap<Option<String>>, EnvFileError> {
    let resolved: EnvMap<Option<String>> = service_env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().or_else(|| project_env(k))))
        .collect();
    let mut environment: EnvMap = resolved
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
        .collect();
    let lookup = |name: &str, _: &EnvMap| {
        project_env(name).or_else(|| resolved.get(name).cloned().flatten())
    };
    for file in files {
        parse_into(file.text, &mut environment, &lookup).map_err(|error| EnvFileError {
            file: file.name.to_string(),
            error,
        })?;
    }
    let mut out: EnvMap<Option<String>> =
        environment.into_iter().map(|(k, v)| (k, Some(v))).collect();
    for (key, value) in resolved {
        out.insert(key, value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn later_files_win_and_see_earlier_keys() {
        let files = [
            EnvFile {
                name: "a.env",
                text: "A=1\nB=${A}\n",
            },
            EnvFile {
                name: "b.env",
                text: "A=2\nC=${A}${B}\nB\n",
            },
        ];
        let map = env_files(&files, &none).unwrap();
        let got: Vec<_> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(got, ["A=2", "B=1", "C=21"]);
    }

    #[test]
    fn the_environment_wins_for_lookups_but_not_for_keys_set() {
        let env = |n: &str| (n == "A").then(|| "env".to_string());
        let files = [EnvFile {
            name: "a.env",
            text: "A=file\nB=$A\n",
        }];
        let map = env_files(&files, &env).unwrap();
        assert_eq!(map.get("A").map(String::as_str), Some("file"));
        assert_eq!(map.get("B").map(String::as_str), Some("env"));
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let files = [
            EnvFile {
                name: "ok.env",
                text: "A=1\n",
            },
            EnvFile {
                name: "bad.env",
                text: "# c\n\nA B=1\n",
            },
        ];
        let err = env_files(&files, &none).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to read bad.env: line 3: key cannot contain a space"
        );
    }

    #[test]
    fn an_unresolved_bare_service_key_stays_without_value() {
        let files = [EnvFile {
            name: "s.env",
            text: "X=1\n",
        }];
        let service = [
            ("Y".to_string(), None),
            ("X".to_string(), Some("2".to_string())),
        ];
        let map = service_environment(&files, &service, &none).unwrap();
        let got: Vec<_> = map.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        assert_eq!(got, ["X=Some(\"2\")", "Y=None"]);
    }
}
