-- Core schema: campaigns, contacts, call attempts, recordings, engines, audit.
-- Several engine processes share this database; leases on contacts and call
-- attempts, not process memory, say which engine owns what.

CREATE TABLE engines (
    id text PRIMARY KEY,
    hostname text NOT NULL,
    pid integer NOT NULL,
    ari_url text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaigns (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    kind text NOT NULL,
    caller_id text NOT NULL,
    state text NOT NULL DEFAULT 'draft'
        CHECK (state IN ('draft', 'running', 'paused', 'stopped', 'finished')),
    state_reason text,
    max_concurrent integer NOT NULL DEFAULT 10 CHECK (max_concurrent > 0),
    calls_per_second numeric(8, 3) NOT NULL DEFAULT 5 CHECK (calls_per_second > 0),
    ring_timeout_s integer NOT NULL DEFAULT 30 CHECK (ring_timeout_s BETWEEN 5 AND 300),
    max_attempts integer NOT NULL DEFAULT 3 CHECK (max_attempts > 0),
    -- seconds to wait before retrying, per outcome; an outcome not listed is final
    retry_delays jsonb NOT NULL DEFAULT
        '{"busy": 300, "no_answer": 1800, "congestion": 600, "failed": 3600}',
    timezone text NOT NULL DEFAULT 'Asia/Shanghai',
    default_region text NOT NULL DEFAULT 'CN',
    settings jsonb NOT NULL DEFAULT '{}',
    created_by text NOT NULL DEFAULT 'system',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE contacts (
    id bigserial PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    phone text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    name text,
    timezone text,
    fields jsonb NOT NULL DEFAULT '{}',
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'leased', 'done', 'exhausted', 'suppressed',
                         'cancelled')),
    state_reason text,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_owner text,
    lease_expires_at timestamptz,
    last_outcome text,
    source_line integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, phone)
);
CREATE INDEX contacts_due_idx ON contacts (campaign_id, next_attempt_at, id)
    WHERE state = 'pending';
CREATE INDEX contacts_lease_idx ON contacts (lease_expires_at)
    WHERE state = 'leased';
CREATE INDEX contacts_phone_idx ON contacts (phone);

-- One row per call attempt, written before the originate. Its id is also the
-- ARI channel id, so an engine that restarts finds its channels again.
CREATE TABLE call_attempts (
    id text PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES campaigns (id),
    contact_id bigint NOT NULL REFERENCES contacts (id),
    attempt_no integer NOT NULL,
    phone text NOT NULL,
    caller_id text NOT NULL,
    dial_string text NOT NULL,
    engine_id text NOT NULL,
    lease_expires_at timestamptz NOT NULL,
    state text NOT NULL DEFAULT 'created'
        CHECK (state IN ('created', 'originating', 'ringing', 'answered', 'ended')),
    outcome text CHECK (outcome IN ('answered', 'busy', 'no_answer', 'rejected',
                                    'congestion', 'failed', 'unreachable',
                                    'abandoned', 'cancelled')),
    dialstatus text,
    hangup_cause integer,
    hangup_cause_txt text,
    bridge_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    originated_at timestamptz,
    answered_at timestamptz,
    ended_at timestamptz,
    UNIQUE (contact_id, attempt_no)
);
CREATE INDEX call_attempts_open_idx ON call_attempts (engine_id)
    WHERE state <> 'ended';
CREATE INDEX call_attempts_campaign_idx ON call_attempts (campaign_id, created_at);
CREATE INDEX call_attempts_phone_idx ON call_attempts (phone, created_at);

-- The archive number is the row id: recordings are numbered in the order
-- their calls were answered.
CREATE TABLE recordings (
    id bigserial PRIMARY KEY,
    attempt_id text NOT NULL UNIQUE REFERENCES call_attempts (id),
    campaign_id bigint NOT NULL REFERENCES campaigns (id),
    name text NOT NULL UNIQUE,
    format text NOT NULL DEFAULT 'wav',
    state text NOT NULL DEFAULT 'recording'
        CHECK (state IN ('recording', 'finished', 'archived', 'failed', 'deleted')),
    archive_path text,
    sha256 text,
    size_bytes bigint,
    duration_s numeric(10, 3),
    fetch_attempts integer NOT NULL DEFAULT 0,
    next_fetch_at timestamptz,
    last_error text,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    archived_at timestamptz
);
CREATE INDEX recordings_pending_idx ON recordings (next_fetch_at)
    WHERE state = 'finished';

CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    action text NOT NULL,
    object_type text,
    object_id text,
    details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id);
