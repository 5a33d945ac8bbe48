//! Typed configuration from the environment. Empty values count as unset, so a blank line in
//! a deploy manifest does not silently become an empty secret.

use std::str::FromStr;

use secrecy::SecretString;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("missing required setting {0}")]
    Missing(&'static str),
    #[error("setting {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

pub fn optional(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

pub fn required(name: &'static str) -> Result<String, ConfigError> {
    optional(name).ok_or(ConfigError::Missing(name))
}

pub fn secret(name: &'static str) -> Result<SecretString, ConfigError> {
    required(name).map(SecretString::from)
}

pub fn or_default(name: &'static str, default: &str) -> String {
    optional(name).unwrap_or_else(|| default.to_owned())
}

pub fn parse_or<T>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match optional(name) {
        None => Ok(default),
        Some(raw) => parse(name, &raw),
    }
}

pub fn parse<T>(name: &'static str, raw: &str) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    raw.trim()
        .parse()
        .map_err(|e: T::Err| ConfigError::Invalid {
            name,
            reason: e.to_string(),
        })
}

/// `PORT`, as Cloud Run sets it, with the service's own default for local runs.
/// A bucket's URL from `name`, or else the local default: `local_dir` under the working
/// directory, as a `file://` URL.
pub fn bucket_url(name: &'static str, local_dir: &str) -> Result<String, ConfigError> {
    match optional(name) {
        Some(url) => Ok(url),
        None => local_bucket_url(name, local_dir),
    }
}

/// `file://<working dir>/<local_dir>`; the error names `name`, the setting it stands in for.
pub fn local_bucket_url(name: &'static str, local_dir: &str) -> Result<String, ConfigError> {
    let cwd = std::env::current_dir().map_err(|e| ConfigError::Invalid {
        name,
        reason: format!("unset, and the working directory is unreadable: {e}"),
    })?;
    Ok(format!("file://{}", cwd.join(local_dir).display()))
}

pub fn port(default: u16) -> Result<u16, ConfigError> {
    parse_or("PORT", default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_bucket_lives_under_the_working_directory() {
        let url = local_bucket_url("RENTORY_X_BUCKET_URL", ".local/x");
        let cwd = std::env::current_dir().map(|d| d.display().to_string());
        assert_eq!(url.ok(), cwd.ok().map(|d| format!("file://{d}/.local/x")));
    }

    #[test]
    fn parse_names_the_setting_on_bad_input() {
        let err = parse::<u16>("PORT", "eighty").expect_err("invalid");
        assert!(err.to_string().contains("PORT"));
        assert_eq!(parse::<u16>("PORT", " 8080 ").ok(), Some(8080));
    }
}
