-- Reports: pre-aggregated attempt counters, quality review, business results,
-- recording retention and the archive of original import files.

-- Report queries group contacts of one campaign by state.
CREATE INDEX contacts_campaign_state_idx ON contacts (campaign_id, state);

-- One row per campaign, hour (UTC, by the attempt's created_at) and outcome,
-- counting ended attempts. A trigger keeps it current so that a campaign report
-- reads a few thousand rows instead of scanning millions of attempts.
CREATE TABLE report_hourly (
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    hour timestamptz NOT NULL,
    outcome text NOT NULL,
    attempts bigint NOT NULL DEFAULT 0,
    talk_n bigint NOT NULL DEFAULT 0,
    talk_s double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, hour, outcome)
);

CREATE FUNCTION report_hourly_count() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    talked boolean := NEW.outcome = 'answered'
        AND NEW.answered_at IS NOT NULL AND NEW.ended_at IS NOT NULL;
BEGIN
    IF NEW.state <> 'ended' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.state = 'ended' THEN
        RETURN NULL;
    END IF;
    INSERT INTO report_hourly AS r (campaign_id, hour, outcome, attempts, talk_n, talk_s)
    VALUES (
        NEW.campaign_id,
        date_trunc('hour', NEW.created_at),
        coalesce(NEW.outcome, 'unknown'),
        1,
        CASE WHEN talked THEN 1 ELSE 0 END,
        CASE WHEN talked
             THEN extract(epoch FROM NEW.ended_at - NEW.answered_at) ELSE 0 END
    )
    ON CONFLICT (campaign_id, hour, outcome) DO UPDATE
    SET attempts = r.attempts + EXCLUDED.attempts,
        talk_n = r.talk_n + EXCLUDED.talk_n,
        talk_s = r.talk_s + EXCLUDED.talk_s;
    RETURN NULL;
END
$$;

CREATE TRIGGER call_attempts_report_hourly
    AFTER INSERT OR UPDATE OF state ON call_attempts
    FOR EACH ROW EXECUTE FUNCTION report_hourly_count();

-- Rebuilds one campaign's counters from the attempts (after a bulk load made
-- with the trigger disabled, or to check the counters against the source).
CREATE FUNCTION report_hourly_rebuild(p_campaign bigint) RETURNS bigint
LANGUAGE sql AS $$
    DELETE FROM report_hourly WHERE campaign_id = p_campaign;
    WITH ins AS (
        INSERT INTO report_hourly (campaign_id, hour, outcome, attempts, talk_n, talk_s)
        SELECT campaign_id, date_trunc('hour', created_at),
               coalesce(outcome, 'unknown'), count(*),
               count(*) FILTER (WHERE outcome = 'answered'
                   AND answered_at IS NOT NULL AND ended_at IS NOT NULL),
               coalesce(sum(extract(epoch FROM ended_at - answered_at))
                   FILTER (WHERE outcome = 'answered'), 0)
        FROM call_attempts
        WHERE campaign_id = p_campaign AND state = 'ended'
        GROUP BY 1, 2, 3
        RETURNING 1
    )
    SELECT count(*) FROM ins;
$$;

-- Quality review: a form per campaign, weighted criteria, one evaluation per
-- reviewer and recorded call, one score per criterion.
CREATE TABLE evaluation_forms (
    id bigserial PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    pass_mark numeric(5, 2) NOT NULL CHECK (pass_mark BETWEEN 0 AND 100),
    active boolean NOT NULL DEFAULT true,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, name)
);

CREATE TABLE evaluation_criteria (
    id bigserial PRIMARY KEY,
    form_id bigint NOT NULL REFERENCES evaluation_forms (id) ON DELETE CASCADE,
    position integer NOT NULL,
    label text NOT NULL CHECK (length(label) BETWEEN 1 AND 500),
    weight numeric(8, 3) NOT NULL CHECK (weight > 0),
    max_points integer NOT NULL DEFAULT 5 CHECK (max_points BETWEEN 1 AND 100),
    UNIQUE (form_id, position)
);

CREATE TABLE evaluations (
    id bigserial PRIMARY KEY,
    form_id bigint NOT NULL REFERENCES evaluation_forms (id) ON DELETE CASCADE,
    attempt_id text NOT NULL REFERENCES call_attempts (id),
    reviewer text NOT NULL,
    live boolean NOT NULL DEFAULT false,
    score numeric(5, 2) NOT NULL CHECK (score BETWEEN 0 AND 100),
    passed boolean NOT NULL,
    comment text,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (form_id, attempt_id, reviewer)
);
CREATE INDEX evaluations_attempt_idx ON evaluations (attempt_id);

CREATE TABLE evaluation_scores (
    evaluation_id bigint NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
    criterion_id bigint NOT NULL REFERENCES evaluation_criteria (id),
    points integer NOT NULL CHECK (points >= 0),
    comment text,
    PRIMARY KEY (evaluation_id, criterion_id)
);

-- Business results (products sold, payments received) imported per contact
-- and matched to the last connected call before them.
CREATE TABLE effect_imports (
    id bigserial PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    file_name text NOT NULL,
    sha256 text NOT NULL,
    rows_loaded integer NOT NULL DEFAULT 0,
    rows_rejected integer NOT NULL DEFAULT 0,
    imported_by text NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE effect_results (
    id bigserial PRIMARY KEY,
    import_id bigint NOT NULL REFERENCES effect_imports (id) ON DELETE CASCADE,
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    contact_id bigint REFERENCES contacts (id) ON DELETE SET NULL,
    attempt_id text REFERENCES call_attempts (id),
    result text NOT NULL CHECK (length(result) BETWEEN 1 AND 100),
    amount numeric(16, 2),
    occurred_at timestamptz NOT NULL,
    source_line integer NOT NULL
);
CREATE INDEX effect_results_campaign_idx ON effect_results (campaign_id, result);

-- How long recordings are kept, per kind of call (campaigns.kind).
CREATE TABLE retention_policies (
    kind text PRIMARY KEY,
    recording_days integer NOT NULL CHECK (recording_days > 0),
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recordings_archived_idx ON recordings (campaign_id, archived_at)
    WHERE state = 'archived';

-- Original contact files as received (encrypted or not), kept for evidence.
CREATE TABLE import_archives (
    id bigserial PRIMARY KEY,
    campaign_id bigint REFERENCES campaigns (id) ON DELETE SET NULL,
    original_name text NOT NULL,
    archive_path text NOT NULL,
    sha256 text NOT NULL,
    size_bytes bigint NOT NULL,
    encryption text NOT NULL CHECK (encryption IN ('none', 'zip-aes', 'aes-gcm')),
    imported_by text NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);
