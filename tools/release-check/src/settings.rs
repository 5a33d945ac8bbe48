//! The environment variables a service reads, found in its source rather than in a list kept
//! beside it: a list drifts the day someone adds `config::required("X")` and forgets it.
//!
//! A service reads what its own crate (`services/<name>/src`, test modules left out) names,
//! plus what `crates/runtime` reads for every service (`PORT`, log format, OTLP). A name is
//! found as
//! - a string literal passed to a reader (`config::optional("X")`, `required`, `secret`,
//!   `or_default`, `parse_or`, `bucket_url`, `std::env::var`), whatever it looks like;
//! - any string literal that looks like one of Rentory's or a standard setting
//!   (`RENTORY_*`, `DATABASE_URL`, `GEMINI_*`, ...), which catches names kept in constants
//!   or tables (the gateway's rate-limit policies);
//! - a constant of another workspace crate holding such a name, when the service's source
//!   names the constant (`rentory_storage::PUBLIC_URL_VAR`).
//!
//! Required means read with `required` or `secret`, which stop the service when unset.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

/// Settings read by a library rather than by name in our source.
pub const READ_BY_LIBRARIES: &[&str] = &[
    // tracing-subscriber's EnvFilter::try_from_default_env (crates/runtime/src/telemetry.rs).
    "RUST_LOG",
];

/// Starts of names that are settings wherever they appear as a whole string literal.
const SETTING_PREFIXES: &[&str] = &[
    "RENTORY_",
    "DATABASE_",
    "REDIS_",
    "NATS_",
    "GEMINI_",
    "PAYSTACK_",
    "OTEL_",
];

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What one service reads.
#[derive(Debug, Default, Clone)]
pub struct Settings {
    /// Every name read, required or not.
    pub read: BTreeSet<String>,
    /// Names whose absence stops the service at start-up.
    pub required: BTreeSet<String>,
}

impl Settings {
    /// Peer services this one calls: the `RENTORY_<SVC>_URL` settings it reads.
    pub fn peers(&self) -> BTreeSet<&'static str> {
        self.read
            .iter()
            .filter_map(|name| crate::services::callee_of(name))
            .map(|s| s.name)
            .collect()
    }
}

static READER_CALL: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"\b(optional|required|secret|or_default|parse_or|bucket_url|local_bucket_url|var|var_os)\(\s*"([A-Za-z_][A-Za-z0-9_]*)""#,
    )
});
static REQUIRED_CALL: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"\b(?:required|secret)\(\s*(?:"([A-Z][A-Z0-9_]*)"|(?:[a-z_]+::)*([A-Z][A-Z0-9_]*)\s*\))"#,
    )
});
static IDENTIFIER: LazyLock<Regex> = LazyLock::new(|| regex(r"\b[A-Z][A-Z0-9_]*\b"));
static LITERAL: LazyLock<Regex> = LazyLock::new(|| regex(r#""([A-Z][A-Z0-9_]*)""#));
static CONST_DEF: LazyLock<Regex> = LazyLock::new(|| {
    regex(r#"const\s+([A-Z][A-Z0-9_]*)\s*:\s*&(?:'static\s+)?str\s*=\s*"([A-Z][A-Z0-9_]*)"\s*;"#)
});
static TEST_MODULE: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?m)^\s*#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{")
});

fn regex(pattern: &str) -> Regex {
    // The patterns are constants of this file; a typo fails every test at once.
    match Regex::new(pattern) {
        Ok(re) => re,
        Err(e) => panic!("bad pattern {pattern}: {e}"),
    }
}

fn looks_like_setting(name: &str) -> bool {
    name == "PORT" || SETTING_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The settings service `name` reads, from the workspace at `root`.
pub fn of_service(root: &Path, name: &str) -> Result<Settings, ScanError> {
    let constants = workspace_constants(root)?;
    let mut settings = Settings::default();
    let mut sources = rust_sources(&root.join("services").join(name).join("src"))?;
    sources.extend(rust_sources(&root.join("crates/runtime/src"))?);
    for text in &sources {
        scan(text, &constants, &mut settings);
    }
    settings
        .read
        .extend(READ_BY_LIBRARIES.iter().map(|s| (*s).to_owned()));
    Ok(settings)
}

fn scan(text: &str, constants: &BTreeMap<String, String>, settings: &mut Settings) {
    for c in READER_CALL.captures_iter(text) {
        settings.read.insert(c[2].to_owned());
    }
    for c in LITERAL.captures_iter(text) {
        if looks_like_setting(&c[1]) {
            settings.read.insert(c[1].to_owned());
        }
    }
    let identifiers: BTreeSet<&str> = IDENTIFIER.find_iter(text).map(|m| m.as_str()).collect();
    for (constant, value) in constants {
        if identifiers.contains(constant.as_str()) {
            settings.read.insert(value.clone());
        }
    }
    for c in REQUIRED_CALL.captures_iter(text) {
        let name = match (c.get(1), c.get(2)) {
            (Some(literal), _) => Some(literal.as_str().to_owned()),
            (None, Some(constant)) => constants.get(constant.as_str()).cloned(),
            (None, None) => None,
        };
        settings.required.extend(name);
    }
}

/// `const X: &str = "RENTORY_..."` anywhere in the workspace's crates and services.
fn workspace_constants(root: &Path) -> Result<BTreeMap<String, String>, ScanError> {
    let mut constants = BTreeMap::new();
    for dir in ["crates", "services"] {
        for text in rust_sources(&root.join(dir))? {
            for c in CONST_DEF.captures_iter(&text) {
                if looks_like_setting(&c[2]) {
                    constants.insert(c[1].to_owned(), c[2].to_owned());
                }
            }
        }
    }
    Ok(constants)
}

/// Every `.rs` file under `dir` (build scripts and `tests/` directories left out), each with
/// its `#[cfg(test)] mod ... { }` blocks removed.
pub fn rust_sources(dir: &Path) -> Result<Vec<String>, ScanError> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    files.sort();
    files
        .into_iter()
        .map(|path| {
            std::fs::read_to_string(&path)
                .map(|text| without_test_modules(&text))
                .map_err(|source| ScanError::Read { path, source })
        })
        .collect()
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), ScanError> {
    let read = |path: &Path, e| ScanError::Read {
        path: path.to_path_buf(),
        source: e,
    };
    for entry in std::fs::read_dir(dir).map_err(|e| read(dir, e))? {
        let path = entry.map_err(|e| read(dir, e))?.path();
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if !matches!(file_name, "tests" | "target" | "benches") {
                collect(&path, files)?;
            }
        } else if file_name.ends_with(".rs") && file_name != "build.rs" {
            files.push(path);
        }
    }
    Ok(())
}

/// Drops each `#[cfg(test)] mod name { ... }`, matching braces (string and char literals
/// holding braces are rare enough in test modules not to matter; a miscount only keeps
/// more text).
pub fn without_test_modules(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(m) = TEST_MODULE.find(rest) {
        out.push_str(&rest[..m.start()]);
        let body = &rest[m.end()..];
        let mut depth = 1usize;
        let mut end = body.len();
        for (i, ch) in body.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &body[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn reads_literals_constants_and_required_calls() {
        let constants = BTreeMap::from([("PUBLIC_URL_VAR".into(), "RENTORY_PUBLIC_URL".into())]);
        let mut settings = Settings::default();
        let text = r#"
            let a = config::required("RENTORY_JWT_PUBLIC_KEY")?;
            let b = config::secret("DATABASE_URL")?;
            let c = config::optional("SOME_LIBRARY_KEY");
            let d = config::optional(rentory_storage::PUBLIC_URL_VAR);
            let e = config::required(rentory_storage::PUBLIC_URL_VAR)?;
            Self::Register => "RENTORY_RATE_LIMIT_REGISTER",
            let not_a_setting = "ACTIVE";
        "#;
        scan(text, &constants, &mut settings);
        let read: Vec<_> = settings.read.iter().map(String::as_str).collect();
        assert_eq!(
            read,
            [
                "DATABASE_URL",
                "RENTORY_JWT_PUBLIC_KEY",
                "RENTORY_PUBLIC_URL",
                "RENTORY_RATE_LIMIT_REGISTER",
                "SOME_LIBRARY_KEY"
            ]
        );
        let required: Vec<_> = settings.required.iter().map(String::as_str).collect();
        assert_eq!(
            required,
            [
                "DATABASE_URL",
                "RENTORY_JWT_PUBLIC_KEY",
                "RENTORY_PUBLIC_URL"
            ]
        );
    }

    #[test]
    fn test_modules_are_not_settings() {
        let text = "fn a() { read(\"RENTORY_A\") }\n#[cfg(test)]\n#[allow(x)]\nmod tests {\n fn b() { let s = \"RENTORY_B\"; { } }\n}\nfn c() {}\n";
        let kept = without_test_modules(text);
        assert!(kept.contains("RENTORY_A") && kept.contains("fn c()"));
        assert!(!kept.contains("RENTORY_B"));
    }
}
