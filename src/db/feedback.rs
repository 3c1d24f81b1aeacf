//! CDS Hooks feedback in the database, and the summary pathway owners read
//! (`GET /v1/feedback/summary`): per service and option, how often it was accepted or overridden and
//! with which override reasons.
//!
//! A service call records the suggestions its cards carry (card, suggestion, option, whether it is
//! the card's recommendation). Feedback names cards and suggestions only; the summary traces an
//! accepted suggestion to its option, and an overridden card to the option it recommended.

use super::{Database, DbError, on_pool};
use crate::cds::IssuedSuggestion;
use crate::cds::feedback::{FeedbackItem, FeedbackOutcome, Receipt};
use serde::Serialize;
use std::collections::BTreeMap;

impl Database {
    /// Records the suggestions of an answered call of `service`, at `now` (seconds since the epoch).
    pub async fn record_issued(
        &self,
        service: &str,
        issued: &[IssuedSuggestion],
        now: i64,
    ) -> Result<(), DbError> {
        if issued.is_empty() {
            return Ok(());
        }
        self.run(|pool| {
            Box::pin(async move {
                on_pool!(pool, pool => {
                    let mut tx = pool.begin().await?;
                    for row in issued {
                        sqlx::query(
                            "INSERT INTO cds_suggestion \
                             (card, suggestion, service, option_id, recommended, issued_at) \
                             VALUES ($1, $2, $3, $4, $5, $6) \
                             ON CONFLICT (card, suggestion) DO UPDATE SET issued_at = excluded.issued_at",
                        )
                        .bind(&row.card)
                        .bind(&row.suggestion)
                        .bind(service)
                        .bind(&row.option)
                        .bind(row.recommended)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await
                })
            })
        })
        .await
    }

    /// Stores the items of one feedback call for `service` in one transaction; an exact repeat of an
    /// item already stored is counted as a duplicate and not stored again. When this returns `Ok`,
    /// the items are committed.
    pub async fn record_feedback(
        &self,
        service: &str,
        items: &[FeedbackItem],
        now: i64,
    ) -> Result<Receipt, DbError> {
        self.run(|pool| {
            Box::pin(async move {
                on_pool!(pool, pool => {
                    let mut receipt = Receipt::default();
                    let mut tx = pool.begin().await?;
                    for item in items {
                        let key = item.key(service);
                        let suggestions: Vec<&str> = match item.outcome {
                            FeedbackOutcome::Accepted => item.accepted.iter().map(String::as_str).collect(),
                            FeedbackOutcome::Overridden => vec![""],
                        };
                        let mut stored = 0;
                        for suggestion in suggestions {
                            let reason = item.reason.as_ref();
                            stored += sqlx::query(
                                "INSERT INTO cds_feedback (item, suggestion, service, card, outcome, \
                                 reason_system, reason_code, reason_display, has_comment, outcome_at, \
                                 received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                                 ON CONFLICT (item, suggestion) DO NOTHING",
                            )
                            .bind(&key)
                            .bind(suggestion)
                            .bind(service)
                            .bind(&item.card)
                            .bind(item.outcome.as_str())
                            .bind(reason.map(|r| r.system.as_str()))
                            .bind(reason.map(|r| r.code.as_str()))
                            .bind(reason.and_then(|r| r.display.as_deref()))
                            .bind(item.has_comment)
                            .bind(item.outcome_at)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                        }
                        match (stored, item.outcome) {
                            (0, _) => receipt.duplicates += 1,
                            (_, FeedbackOutcome::Accepted) => receipt.accepted += 1,
                            (_, FeedbackOutcome::Overridden) => receipt.overridden += 1,
                        }
                    }
                    tx.commit().await?;
                    Ok(receipt)
                })
            })
        })
        .await
    }

    /// The feedback on cards answered at or after `since` (seconds since the epoch), of `service`
    /// or of every service.
    pub async fn feedback_summary(
        &self,
        service: Option<&str>,
        since: i64,
    ) -> Result<Vec<ServiceSummary>, DbError> {
        let service = service.unwrap_or("");
        let rows: Vec<SummaryRow> = self
            .run(|pool| {
                Box::pin(async move {
                    on_pool!(pool, pool => {
                        sqlx::query_as(
                            "SELECT f.service, s.option_id, f.outcome, f.reason_system, f.reason_code, \
                                    f.reason_display, COUNT(*) \
                             FROM cds_feedback f LEFT JOIN cds_suggestion s ON s.card = f.card AND s.service = f.service AND \
                                  ((f.outcome = 'accepted' AND s.suggestion = f.suggestion) OR \
                                   (f.outcome = 'overridden' AND s.recommended)) \
                             WHERE ($1 = '' OR f.service = $1) AND f.outcome_at >= $2 \
                             GROUP BY f.service, s.option_id, f.outcome, f.reason_system, \
                                      f.reason_code, f.reason_display",
                        )
                        .bind(service)
                        .bind(since)
                        .fetch_all(pool)
                        .await
                    })
                })
            })
            .await?;
        Ok(summarize(rows))
    }
}

type SummaryRow = (
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

/// What clinicians did with one service's suggestions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ServiceSummary {
    /// The CDS service id.
    pub service: String,
    /// One entry per pathway option, by option id.
    pub options: Vec<OptionSummary>,
}

/// What clinicians did with one option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OptionSummary {
    /// The pathway option id; `null` for feedback on cards this database has no record of (answered
    /// before the database was in use, or longer ago than suggestions are kept).
    #[schema(required = true)]
    pub option: Option<String>,
    /// How often a suggestion of this option was accepted.
    pub accepted: u64,
    /// How often a card recommending this option was overridden.
    pub overridden: u64,
    /// The coded override reasons given, most frequent first; overrides with a comment only are
    /// counted in `overridden` alone.
    pub override_reasons: Vec<ReasonCount>,
}

/// One override reason and how often it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReasonCount {
    pub system: String,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    pub count: u64,
}

fn summarize(rows: Vec<SummaryRow>) -> Vec<ServiceSummary> {
    let mut services: BTreeMap<String, BTreeMap<Option<String>, OptionSummary>> = BTreeMap::new();
    for (service, option, outcome, system, code, display, count) in rows {
        let count = u64::try_from(count).unwrap_or(0);
        let entry = services
            .entry(service)
            .or_default()
            .entry(option.clone())
            .or_insert_with(|| OptionSummary {
                option,
                accepted: 0,
                overridden: 0,
                override_reasons: Vec::new(),
            });
        if outcome == FeedbackOutcome::Accepted.as_str() {
            entry.accepted += count;
            continue;
        }
        entry.overridden += count;
        if let (Some(system), Some(code)) = (system, code) {
            match entry
                .override_reasons
                .iter_mut()
                .find(|reason| reason.system == system && reason.code == code)
            {
                Some(reason) => reason.count += count,
                None => entry.override_reasons.push(ReasonCount {
                    system,
                    code,
                    display,
                    count,
                }),
            }
        }
    }
    services
        .into_iter()
        .map(|(service, options)| ServiceSummary {
            service,
            options: options
                .into_values()
                .map(|mut option| {
                    option
                        .override_reasons
                        .sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));
                    option
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cds::feedback::parse;
    use serde_json::json;

    const CARD: &str = "0b5e1f7a-3c2d-8e4f-9a1b-2c3d4e5f6a7b";
    const FIRST: &str = "1c6f2a8b-4d3e-8f50-8b2c-3d4e5f6a7b8c";
    const SECOND: &str = "2c6f2a8b-4d3e-8f50-8b2c-3d4e5f6a7b8c";

    fn issued(suggestion: &str, option: &str, recommended: bool) -> IssuedSuggestion {
        IssuedSuggestion {
            card: CARD.into(),
            suggestion: suggestion.into(),
            option: option.into(),
            recommended,
        }
    }

    fn items(items: serde_json::Value) -> Vec<FeedbackItem> {
        parse(&serde_json::to_vec(&json!({ "feedback": items })).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn feedback_is_stored_once_and_traced_to_options() {
        let db = Database::in_memory();
        let issued = [
            issued(FIRST, "first", true),
            issued(SECOND, "second", false),
        ];
        db.record_issued("svc", &issued, 1_000).await.unwrap();
        let accepted = json!({"card": CARD, "outcome": "accepted",
            "acceptedSuggestions": [{"id": SECOND}], "outcomeTimestamp": "2026-11-03T09:00:00Z"});
        let reason =
            json!({"reason": {"system": "urn:r", "code": "declined", "display": "Declined"}});
        let overridden = |at: &str| {
            json!({"card": CARD, "outcome": "overridden",
            "overrideReason": reason, "outcomeTimestamp": at})
        };
        let call = items(json!([accepted, overridden("2026-11-03T09:01:00Z")]));
        let receipt = db.record_feedback("svc", &call, 2_000).await.unwrap();
        assert_eq!(
            (receipt.accepted, receipt.overridden, receipt.duplicates),
            (1, 1, 0)
        );
        let repeat = db.record_feedback("svc", &call, 2_001).await.unwrap();
        assert_eq!((repeat.accepted, repeat.duplicates), (0, 2));
        let later = items(json!([overridden("2026-11-04T09:00:00Z")]));
        db.record_feedback("svc", &later, 2_002).await.unwrap();
        db.record_feedback("other", &later, 2_002).await.unwrap();

        let summary = db.feedback_summary(Some("svc"), 0).await.unwrap();
        assert_eq!(summary.len(), 1);
        let options = &summary[0].options;
        let first = options
            .iter()
            .find(|o| o.option.as_deref() == Some("first"))
            .unwrap();
        assert_eq!((first.accepted, first.overridden), (0, 2));
        assert_eq!(first.override_reasons[0].code, "declined");
        assert_eq!(first.override_reasons[0].count, 2);
        let second = options
            .iter()
            .find(|o| o.option.as_deref() == Some("second"))
            .unwrap();
        assert_eq!((second.accepted, second.overridden), (1, 0));

        // `since` filters by outcome time; feedback on a card of another service has no option.
        let nov_4 = 1_793_750_400;
        let recent = db.feedback_summary(None, nov_4).await.unwrap();
        assert_eq!(recent.len(), 2);
        assert_eq!(recent[0].service, "other");
        assert_eq!(recent[0].options[0].option, None);
        assert_eq!(recent[1].options[0].overridden, 1);
    }
}
