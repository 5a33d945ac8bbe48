//! One throwaway Postgres database per test, so tests run in parallel without sharing rows.

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::time::Instant;
use uuid::Uuid;

use crate::env::{DEFAULT_TEMPLATE, TEMPLATE_VAR, admin_database_url, non_empty_var};

/// Prefix of every test database; `make clean-data` drops leftovers by it.
pub const DATABASE_PREFIX: &str = "rentory_t_";
/// Fallback template that exists on every cluster.
const FALLBACK_TEMPLATE: &str = "template1";
/// How long to keep retrying while someone else is connected to the template (for example
/// a migration run preparing it): longer than that is a stuck session, not a race.
const TEMPLATE_BUSY_DEADLINE: Duration = Duration::from_secs(20);
/// Bound on dropping, so a stuck server cannot hang a test's teardown forever.
const DROP_DEADLINE: Duration = Duration::from_secs(30);
/// SQLSTATE `object_in_use`: "source database ... is being accessed by other users".
const OBJECT_IN_USE: &str = "55006";

/// A fresh database `rentory_t_<uuid>`, cloned from the template, removed on drop.
///
/// `url` carries the same credentials as the admin URL ([`crate::admin_database_url`]).
/// Prefer [`TestDatabase::drop_database`] at the end of a test; `Drop` does the same from a
/// helper thread and leaves the database behind (for `make clean-data`) if that fails.
pub struct TestDatabase {
    pub url: String,
    name: String,
    admin_url: String,
    dropped: bool,
}

impl TestDatabase {
    /// Creates the database from `RENTORY_TEST_TEMPLATE_DB` (default `rentory_template`),
    /// or from `template1` when that template does not exist.
    pub async fn create() -> anyhow::Result<Self> {
        let admin_url = admin_database_url();
        let name = format!("{DATABASE_PREFIX}{}", Uuid::new_v4().simple());
        let url = with_database(&admin_url, &name)?;

        let mut admin = PgConnection::connect(&admin_url)
            .await
            .context("connecting to the admin database (set RENTORY_TEST_DATABASE_URL)")?;
        let template = choose_template(&mut admin).await?;
        create_from_template(&mut admin, &name, &template).await?;
        // Closing politely is a courtesy; the database exists either way.
        let _ = admin.close().await;

        Ok(Self {
            url,
            name,
            admin_url,
            dropped: false,
        })
    }

    /// The database's name (`rentory_t_<uuid>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connect options for [`Self::url`], to add settings such as `search_path` before
    /// building a pool.
    pub fn connect_options(&self) -> anyhow::Result<PgConnectOptions> {
        PgConnectOptions::from_str(&self.url).context("parsing the test database URL")
    }

    /// Drops the database now, terminating any connection still open to it.
    pub async fn drop_database(mut self) -> anyhow::Result<()> {
        self.dropped = true;
        drop_named(&self.admin_url, &self.name).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop cannot await, and blocking on the test's own runtime from inside it panics
        // (or deadlocks a current-thread runtime), so a short-lived thread with its own
        // runtime does the work. Joining it keeps teardown ordered: the database is gone
        // when the test returns.
        let joined = std::thread::Builder::new()
            .name("drop-test-db".to_owned())
            .spawn(move || -> anyhow::Result<()> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(drop_named(&admin_url, &name))
            })
            .map_err(anyhow::Error::from)
            .and_then(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("drop thread panicked")))
            });
        if let Err(error) = joined {
            tracing::warn!(database = %self.name, error = format!("{error:#}"),
                "could not drop test database; `make clean-data` removes leftovers");
        }
    }
}

async fn choose_template(admin: &mut PgConnection) -> anyhow::Result<String> {
    let explicit = non_empty_var(TEMPLATE_VAR);
    let wanted = explicit
        .clone()
        .unwrap_or_else(|| DEFAULT_TEMPLATE.to_owned());
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&wanted)
            .fetch_one(&mut *admin)
            .await
            .context("looking up the template database")?;
    if exists {
        return Ok(wanted);
    }
    if explicit.is_some() {
        tracing::warn!(template = %wanted, "{TEMPLATE_VAR} names a missing database; using {FALLBACK_TEMPLATE}");
    }
    Ok(FALLBACK_TEMPLATE.to_owned())
}

async fn create_from_template(
    admin: &mut PgConnection,
    name: &str,
    template: &str,
) -> anyhow::Result<()> {
    let statement = format!(
        "CREATE DATABASE {} TEMPLATE {}",
        quote_ident(name),
        quote_ident(template)
    );
    let started = Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        match sqlx::query(&statement).execute(&mut *admin).await {
            Ok(_) => return Ok(()),
            // Postgres refuses to clone a template while anyone is connected to it; such
            // sessions are short (another test's CREATE, a migration run), so try again.
            Err(sqlx::Error::Database(db))
                if db.code().as_deref() == Some(OBJECT_IN_USE)
                    && started.elapsed() < TEMPLATE_BUSY_DEADLINE =>
            {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("creating test database {name} from {template}"));
            }
        }
    }
}

async fn drop_named(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let work = async {
        let mut admin = PgConnection::connect(admin_url)
            .await
            .context("connecting to the admin database")?;
        // FORCE: a pool the test forgot to close must not keep the database alive.
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(name)
        ))
        .execute(&mut admin)
        .await
        .with_context(|| format!("dropping test database {name}"))?;
        let _ = admin.close().await;
        Ok(())
    };
    match tokio::time::timeout(DROP_DEADLINE, work).await {
        Ok(result) => result,
        Err(_) => bail!("dropping test database {name} took longer than {DROP_DEADLINE:?}"),
    }
}

fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// `url` with its database path replaced by `database`, keeping credentials and query.
fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let authority_start = url
        .find("://")
        .map(|at| at + 3)
        .context("the admin database URL has no scheme")?;
    let (head, rest) = url.split_at(authority_start);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |at| &tail[at..]);
    Ok(format!("{head}{authority}/{database}{query}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed test should panic
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_database() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x").unwrap(),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h:1/db?sslmode=disable", "x").unwrap(),
            "postgres://u:p@h:1/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h", "x").unwrap(),
            "postgres://h/x"
        );
        assert_eq!(
            with_database("postgres://h?sslmode=disable", "x").unwrap(),
            "postgres://h/x?sslmode=disable"
        );
        assert!(with_database("not a url", "x").is_err());
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
