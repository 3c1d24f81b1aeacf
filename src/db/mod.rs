//! The database: what must survive a restart and be shared by replicas (contract section 9), namely
//! CDS Hooks feedback ([`feedback`]) and the JWT replay cache ([`replay`]). Nothing else is stored,
//! and no request field value.
//!
//! `sqlite://PATH` (created if missing), `sqlite::memory:` or `postgres://…`. The pool is built and
//! the schema migrated on first use, and again after a failure, so a database that is down at start
//! or later is retried without a restart; meanwhile every operation fails fast with
//! [`DbError::Unavailable`]. The triage route never touches it.

pub mod feedback;
pub mod replay;

use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// The database when `--database` is left out: a file in the working directory.
pub const DEFAULT_URL: &str = "sqlite://facet-triage.db";
/// Longest wait for a connection (or for the first connection and the migrations).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// After a failed attempt to reach the database, operations fail at once for this long.
const RETRY_PAUSE: Duration = Duration::from_secs(1);
/// Longest any one operation may take, waiting included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(4);
/// How long a SQLite writer waits for another process's write to finish.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections per process.
const MAX_CONNECTIONS: u32 = 8;

/// Why an operation failed. The messages name no stored value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    /// The database cannot be reached, or did not answer in time; retry later.
    #[error("the database ({0}) is unavailable")]
    Unavailable(&'static str),
}

/// A handle on the database; clones share one pool.
#[derive(Clone)]
pub struct Database(Arc<Inner>);

struct Inner {
    options: Options,
    pool: OnceCell<Pool>,
    last_failure: Mutex<Option<Instant>>,
}

enum Options {
    Sqlite {
        options: SqliteConnectOptions,
        in_memory: bool,
    },
    Postgres(PgConnectOptions),
}

enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool: the queries are the same text for both.
macro_rules! on_pool {
    ($pool_ref:expr, $pool:ident => $body:expr) => {
        match $pool_ref {
            $crate::db::Pool::Sqlite($pool) => $body,
            $crate::db::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

impl std::fmt::Debug for Database {
    /// Names the kind of database only: a URL may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Database({})", self.kind())
    }
}

impl Database {
    /// A database for `url`; nothing is connected yet. Fails only on a URL that cannot be used.
    pub fn open(url: &str) -> Result<Database, String> {
        let options = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|_| "--database: not a valid sqlite:// URL".to_owned())?
                .create_if_missing(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT);
            let in_memory = url.starts_with("sqlite::memory:") || url.contains("mode=memory");
            let options = if in_memory {
                options
            } else {
                options.journal_mode(SqliteJournalMode::Wal)
            };
            Options::Sqlite { options, in_memory }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Options::Postgres(
                PgConnectOptions::from_str(url)
                    .map_err(|_| "--database: not a valid postgres:// URL".to_owned())?,
            )
        } else {
            return Err(
                "--database: use sqlite://PATH, sqlite::memory: or postgres://USER@HOST/DB".into(),
            );
        };
        Ok(Database(Arc::new(Inner {
            options,
            pool: OnceCell::new(),
            last_failure: Mutex::new(None),
        })))
    }

    /// A throwaway database in this process's memory.
    pub fn in_memory() -> Database {
        Database::open("sqlite::memory:").expect("the in-memory SQLite URL is valid")
    }

    /// `sqlite` or `postgres`: how errors and `/readyz` name the database.
    pub fn kind(&self) -> &'static str {
        match self.0.options {
            Options::Sqlite { .. } => "sqlite",
            Options::Postgres(_) => "postgres",
        }
    }

    /// Answers once the database is reachable and migrated.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.run(|pool| {
            Box::pin(async move {
                on_pool!(pool, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
            })
        })
        .await
    }

    /// Deletes what is no longer needed: expired replay-cache entries, and suggestions issued
    /// before `suggestions_before` (feedback on older cards no longer names its option).
    pub async fn purge(&self, now: u64, suggestions_before: i64) -> Result<u64, DbError> {
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        self.run(|pool| {
            Box::pin(async move {
                on_pool!(pool, pool => {
                    let replay = sqlx::query("DELETE FROM jwt_replay WHERE expires_at < $1")
                        .bind(now)
                        .execute(pool)
                        .await?;
                    let issued = sqlx::query("DELETE FROM cds_suggestion WHERE issued_at < $1")
                        .bind(suggestions_before)
                        .execute(pool)
                        .await?;
                    Ok(replay.rows_affected() + issued.rows_affected())
                })
            })
        })
        .await
    }

    /// Runs one operation on the migrated pool, within [`OPERATION_TIMEOUT`]; any failure is
    /// [`DbError::Unavailable`], logged with its kind only.
    async fn run<'a, T>(
        &'a self,
        operation: impl FnOnce(&'a Pool) -> Operation<'a, T>,
    ) -> Result<T, DbError> {
        let kind = self.kind();
        let attempt = async {
            let pool = self.pool().await?;
            operation(pool).await.map_err(|error| {
                tracing::warn!(
                    database = kind,
                    error = error_kind(&error),
                    "database operation failed"
                );
                DbError::Unavailable(kind)
            })
        };
        tokio::time::timeout(OPERATION_TIMEOUT, attempt)
            .await
            .unwrap_or(Err(DbError::Unavailable(kind)))
    }

    /// The pool, built and migrated on first use; after a failure, retried once [`RETRY_PAUSE`]
    /// has passed.
    async fn pool(&self) -> Result<&Pool, DbError> {
        if let Some(pool) = self.0.pool.get() {
            return Ok(pool);
        }
        let kind = self.kind();
        let paused = self
            .0
            .last_failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some_and(|at| at.elapsed() < RETRY_PAUSE);
        if paused {
            return Err(DbError::Unavailable(kind));
        }
        let built = self
            .0
            .pool
            .get_or_try_init(|| async {
                let pool = self.connect();
                let migrated = on_pool!(&pool, pool => migrator().await?.run(pool).await);
                migrated.map(|()| pool)
            })
            .await;
        match built {
            Ok(pool) => {
                tracing::info!(database = kind, "database reachable; schema migrated");
                Ok(pool)
            }
            Err(error) => {
                tracing::warn!(database = kind, %error, "database unreachable or not migrated");
                *self
                    .0
                    .last_failure
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Instant::now());
                Err(DbError::Unavailable(kind))
            }
        }
    }

    /// A pool that connects when first asked for a connection.
    fn connect(&self) -> Pool {
        match &self.0.options {
            Options::Sqlite { options, in_memory } => {
                let pool = SqlitePoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
                // Each connection to `:memory:` is a database of its own: keep exactly one, forever.
                let pool = if *in_memory {
                    pool.max_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                } else {
                    pool.max_connections(MAX_CONNECTIONS)
                };
                Pool::Sqlite(pool.connect_lazy_with(options.clone()))
            }
            Options::Postgres(options) => Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(MAX_CONNECTIONS)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_lazy_with(options.clone()),
            ),
        }
    }
}

/// The future of one operation on a pool.
type Operation<'p, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'p>>;

/// The migrations, compiled into the binary.
#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>> + Send>>
    {
        Box::pin(std::future::ready(Ok(vec![Migration::new(
            1,
            "feedback and replay".into(),
            MigrationType::Simple,
            include_str!("migrations/0001_feedback_and_replay.sql").into(),
            false,
        )])))
    }
}

async fn migrator() -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Embedded).await
}

/// A fixed label for a failure, for logs: never the error's text, which may quote a value.
fn error_kind(error: &sqlx::Error) -> &'static str {
    match error {
        sqlx::Error::Io(_) => "io",
        sqlx::Error::Tls(_) => "tls",
        sqlx::Error::PoolTimedOut => "pool_timed_out",
        sqlx::Error::PoolClosed => "pool_closed",
        sqlx::Error::Protocol(_) => "protocol",
        sqlx::Error::Database(_) => "database",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_sqlite_or_postgres() {
        assert_eq!(Database::open("sqlite::memory:").unwrap().kind(), "sqlite");
        assert_eq!(Database::open(DEFAULT_URL).unwrap().kind(), "sqlite");
        let pg = Database::open("postgres://u:secret@db.example/triage").unwrap();
        assert_eq!(pg.kind(), "postgres");
        assert!(!format!("{pg:?}").contains("secret"));
        assert!(Database::open("mysql://x").is_err());
    }

    #[tokio::test]
    async fn an_unreachable_database_fails_fast_and_names_itself() {
        // Port 9 (discard) on the loopback: nothing listens there.
        let db = Database::open("postgres://u@127.0.0.1:9/none").unwrap();
        assert_eq!(db.ping().await, Err(DbError::Unavailable("postgres")));
        // Within the pause after a failure, the next call does not try again.
        assert_eq!(db.ping().await, Err(DbError::Unavailable("postgres")));
    }

    #[tokio::test]
    async fn an_in_memory_database_is_migrated_on_first_use() {
        let db = Database::in_memory();
        assert_eq!(db.ping().await, Ok(()));
        assert_eq!(db.purge(0, 0).await, Ok(0));
    }
}
