-- What the service stores (contract section 9): CDS Hooks feedback and the JWT replay cache.
-- No request field value is stored. The SQL is shared by SQLite and PostgreSQL.

-- The suggestions of answered CDS calls, so feedback on a card can be traced to pathway options.
CREATE TABLE cds_suggestion (
    card TEXT NOT NULL,
    suggestion TEXT NOT NULL,
    service TEXT NOT NULL,
    option_id TEXT NOT NULL,
    recommended BOOLEAN NOT NULL,
    issued_at BIGINT NOT NULL,
    PRIMARY KEY (card, suggestion)
);
CREATE INDEX cds_suggestion_issued ON cds_suggestion (issued_at);

-- One row per feedback item and accepted suggestion ('' for an overridden card). `item` is the
-- SHA-256 of the service and the whole item, so an exact repeat is the same row.
CREATE TABLE cds_feedback (
    item TEXT NOT NULL,
    suggestion TEXT NOT NULL,
    service TEXT NOT NULL,
    card TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason_system TEXT,
    reason_code TEXT,
    reason_display TEXT,
    has_comment BOOLEAN NOT NULL,
    outcome_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (item, suggestion)
);
CREATE INDEX cds_feedback_service_time ON cds_feedback (service, outcome_at);

-- Accepted JWTs by issuer and `jti`, until the token's `exp` plus the leeway.
CREATE TABLE jwt_replay (
    iss TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (iss, jti)
);
CREATE INDEX jwt_replay_expiry ON jwt_replay (expires_at);
