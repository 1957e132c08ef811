-- Operators: accounts, softphone sessions and their state history, the
-- operator leg of each bridged call, dispositions, escalations to directors,
-- and supervision (listen-in, whisper, barge) sessions.
--
-- A session row, not process memory, says which operator is free: routing
-- claims the longest-idle ready session with FOR UPDATE SKIP LOCKED, so two
-- engines sharing this database never give one operator two calls.

CREATE TABLE operators (
    id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role text NOT NULL CHECK (role IN ('operator', 'director', 'admin')),
    -- the softphone, as ARI dials it: PJSIP/6001
    endpoint text CHECK (endpoint ~ '^[A-Za-z]+/[A-Za-z0-9_.+-]+$'),
    team text,
    password_hash text NOT NULL,
    password_changed_at timestamptz NOT NULL,
    password_expires_at timestamptz NOT NULL,
    must_change_password boolean NOT NULL DEFAULT true,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_at timestamptz,
    locked_reason text,
    last_login_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX operators_endpoint_idx ON operators (endpoint)
    WHERE endpoint IS NOT NULL;

-- One row per softphone session (login to logout). 'connecting' is a login
-- that an engine has yet to complete by calling the softphone.
CREATE TABLE operator_sessions (
    id bigserial PRIMARY KEY,
    operator_id text NOT NULL REFERENCES operators (id),
    -- the campaign the operator works; NULL takes calls of any campaign
    campaign_id bigint REFERENCES campaigns (id),
    state text NOT NULL
        CHECK (state IN ('connecting', 'ready', 'on_call', 'wrap_up', 'paused',
                         'logged_out')),
    state_since timestamptz NOT NULL,
    -- when the operator became (or becomes, after wrap-up) free: routing
    -- picks the smallest, the longest idle
    idle_since timestamptz,
    wrap_up_until timestamptz,
    pause_reason text,
    engine_id text,
    ari_url text,
    channel_id text UNIQUE,
    holding_bridge_id text,
    call_id text REFERENCES call_attempts (id),
    calls_taken integer NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    end_reason text
);
CREATE UNIQUE INDEX operator_sessions_live_idx ON operator_sessions (operator_id)
    WHERE state <> 'logged_out';
CREATE INDEX operator_sessions_free_idx ON operator_sessions (idle_since)
    WHERE state IN ('ready', 'wrap_up');

-- Every state an operator was in and for how long, for reports.
CREATE TABLE operator_state_log (
    id bigserial PRIMARY KEY,
    session_id bigint NOT NULL REFERENCES operator_sessions (id),
    operator_id text NOT NULL REFERENCES operators (id),
    state text NOT NULL,
    reason text,
    call_id text,
    started_at timestamptz NOT NULL,
    ended_at timestamptz
);
CREATE INDEX operator_state_log_operator_idx
    ON operator_state_log (operator_id, started_at);
CREATE UNIQUE INDEX operator_state_log_open_idx ON operator_state_log (session_id)
    WHERE ended_at IS NULL;

-- The operator side of a bridged call: who took it, and how long the
-- customer waited between answer and bridge.
CREATE TABLE operator_calls (
    call_id text PRIMARY KEY REFERENCES call_attempts (id),
    campaign_id bigint NOT NULL REFERENCES campaigns (id),
    contact_id bigint NOT NULL REFERENCES contacts (id),
    operator_id text NOT NULL REFERENCES operators (id),
    session_id bigint NOT NULL REFERENCES operator_sessions (id),
    bridge_id text NOT NULL,
    wait_ms integer NOT NULL,
    identity_verified boolean NOT NULL DEFAULT false,
    bridged_at timestamptz NOT NULL,
    ended_at timestamptz
);
CREATE INDEX operator_calls_operator_idx ON operator_calls (operator_id, bridged_at);
CREATE INDEX operator_calls_campaign_idx ON operator_calls (campaign_id, bridged_at);

CREATE TABLE dispositions (
    id bigserial PRIMARY KEY,
    call_id text NOT NULL UNIQUE REFERENCES call_attempts (id),
    campaign_id bigint NOT NULL REFERENCES campaigns (id),
    contact_id bigint NOT NULL REFERENCES contacts (id),
    operator_id text NOT NULL REFERENCES operators (id),
    outcome text NOT NULL,
    notes text CHECK (length(notes) <= 4000),
    callback_at timestamptz,
    refusal boolean NOT NULL DEFAULT false,
    complaint boolean NOT NULL DEFAULT false,
    fraud_suspected boolean NOT NULL DEFAULT false,
    aml_suspected boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL
);
CREATE INDEX dispositions_campaign_idx ON dispositions (campaign_id, created_at);
CREATE INDEX dispositions_complaints_idx ON dispositions (campaign_id, created_at)
    WHERE complaint;

-- What a director must look at: complaints, suspected fraud or laundering,
-- and campaigns that paused themselves.
CREATE TABLE escalations (
    id bigserial PRIMARY KEY,
    kind text NOT NULL
        CHECK (kind IN ('complaint', 'fraud', 'aml', 'campaign_paused')),
    campaign_id bigint NOT NULL REFERENCES campaigns (id),
    call_id text REFERENCES call_attempts (id),
    operator_id text REFERENCES operators (id),
    details jsonb NOT NULL DEFAULT '{}',
    state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged')),
    acknowledged_by text REFERENCES operators (id),
    acknowledged_at timestamptz,
    created_at timestamptz NOT NULL
);
CREATE INDEX escalations_open_idx ON escalations (created_at) WHERE state = 'open';

-- Who listened to (or spoke into) which call, and when.
CREATE TABLE supervision_sessions (
    id bigserial PRIMARY KEY,
    supervisor_id text NOT NULL REFERENCES operators (id),
    call_id text NOT NULL REFERENCES call_attempts (id),
    operator_id text REFERENCES operators (id),
    mode text NOT NULL CHECK (mode IN ('listen', 'whisper', 'barge')),
    engine_id text NOT NULL,
    snoop_channel_id text,
    supervisor_channel_id text,
    bridge_id text,
    started_at timestamptz NOT NULL,
    ended_at timestamptz,
    end_reason text
);
CREATE INDEX supervision_sessions_call_idx ON supervision_sessions (call_id);

-- Progressive pacing counts a campaign's calls in flight on every tick.
CREATE INDEX call_attempts_open_campaign_idx ON call_attempts (campaign_id)
    WHERE state <> 'ended';
