//! The JWT replay cache in the database: one row per accepted (`iss`, `jti`) until the token's `exp`
//! plus the leeway, shared by every replica using the database. Bounded: at `capacity` unexpired
//! rows a new token is refused (`ReplayCacheFull`) until expired rows are purged.

use super::{Database, on_pool};
use crate::auth::jwt::{JwtError, ReplayFuture, ReplayStore};

/// The database's replay cache, at most `capacity` rows.
#[derive(Debug, Clone)]
pub struct DbReplay {
    database: Database,
    capacity: i64,
}

impl DbReplay {
    pub fn new(database: Database, capacity: usize) -> DbReplay {
        DbReplay {
            database,
            capacity: i64::try_from(capacity).unwrap_or(i64::MAX),
        }
    }

    async fn insert(&self, iss: &str, jti: &str, until: u64, now: u64) -> Result<(), JwtError> {
        let until = i64::try_from(until).unwrap_or(i64::MAX);
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let capacity = self.capacity;
        // One statement, so two replicas racing on one `jti` cannot both insert it: a new row, or an
        // expired one taken over; nothing when the row is live or the cache is full.
        let inserted = self
            .database
            .run(|pool| {
                Box::pin(async move {
                    on_pool!(pool, pool => {
                        let inserted = sqlx::query(
                            "INSERT INTO jwt_replay (iss, jti, expires_at) \
                             SELECT $1, $2, $3 WHERE (SELECT COUNT(*) FROM jwt_replay \
                                                      WHERE expires_at >= $4) < $5 \
                             ON CONFLICT (iss, jti) DO UPDATE SET expires_at = excluded.expires_at \
                             WHERE jwt_replay.expires_at < $4",
                        )
                        .bind(iss)
                        .bind(jti)
                        .bind(until)
                        .bind(now)
                        .bind(capacity)
                        .execute(pool)
                        .await?
                        .rows_affected();
                        if inserted > 0 {
                            return Ok(None);
                        }
                        let live: Option<(i64,)> = sqlx::query_as(
                            "SELECT expires_at FROM jwt_replay WHERE iss = $1 AND jti = $2 \
                             AND expires_at >= $3",
                        )
                        .bind(iss)
                        .bind(jti)
                        .bind(now)
                        .fetch_optional(pool)
                        .await?;
                        Ok(Some(live.is_some()))
                    })
                })
            })
            .await
            .map_err(|_| JwtError::ReplayStoreUnavailable)?;
        match inserted {
            None => Ok(()),
            Some(true) => Err(JwtError::Replayed),
            Some(false) => Err(JwtError::ReplayCacheFull),
        }
    }
}

impl ReplayStore for DbReplay {
    fn remember<'a>(
        &'a self,
        iss: &'a str,
        jti: &'a str,
        until: u64,
        now: u64,
    ) -> ReplayFuture<'a> {
        Box::pin(self.insert(iss, jti, until, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_jti_is_refused_until_it_expires_and_the_cache_is_bounded() {
        let database = Database::in_memory();
        let replay = DbReplay::new(database.clone(), 2);
        assert_eq!(replay.remember("i", "a", 100, 10).await, Ok(()));
        assert_eq!(
            replay.remember("i", "a", 100, 20).await,
            Err(JwtError::Replayed)
        );
        assert_eq!(
            replay.remember("j", "a", 100, 20).await,
            Ok(()),
            "per issuer"
        );
        assert_eq!(
            replay.remember("i", "b", 100, 20).await,
            Err(JwtError::ReplayCacheFull)
        );
        // Past their expiry, entries no longer count, and a purge removes them.
        assert_eq!(replay.remember("i", "b", 300, 101).await, Ok(()));
        assert_eq!(
            replay.remember("i", "a", 300, 101).await,
            Ok(()),
            "expired: taken over"
        );
        assert_eq!(database.purge(101, 0).await, Ok(1));
    }

    #[tokio::test]
    async fn an_unreachable_store_is_unavailable_not_a_refusal() {
        let database = Database::open("postgres://u@127.0.0.1:9/none").unwrap();
        let replay = DbReplay::new(database, 10);
        assert_eq!(
            replay.remember("i", "a", 100, 10).await,
            Err(JwtError::ReplayStoreUnavailable)
        );
    }
}
