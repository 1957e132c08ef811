-- Reports: per-operator counters, so that operator, team and disposition
-- figures read a few thousand rows rather than joining millions of calls.

-- Calls an operator finished, and their time with the customer, per hour of
-- bridging. Counted once, when operator_calls.ended_at is set.
CREATE TABLE report_operator_hourly (
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    operator_id text NOT NULL,
    hour timestamptz NOT NULL,
    calls bigint NOT NULL DEFAULT 0,
    talk_s double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, operator_id, hour)
);

CREATE FUNCTION report_operator_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.ended_at IS NULL OR (TG_OP = 'UPDATE' AND OLD.ended_at IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    INSERT INTO report_operator_hourly AS r (campaign_id, operator_id, hour, calls, talk_s)
    VALUES (NEW.campaign_id, NEW.operator_id, date_trunc('hour', NEW.bridged_at), 1,
            extract(epoch FROM NEW.ended_at - NEW.bridged_at))
    ON CONFLICT (campaign_id, operator_id, hour) DO UPDATE
    SET calls = r.calls + 1, talk_s = r.talk_s + EXCLUDED.talk_s;
    RETURN NULL;
END
$$;

CREATE TRIGGER operator_calls_report_count
    AFTER INSERT OR UPDATE OF ended_at ON operator_calls
    FOR EACH ROW EXECUTE FUNCTION report_operator_count();

-- Dispositions per operator, code and hour of the call (its created_at).
-- Wrap-up counts only when the disposition came at or after the call's end.
CREATE TABLE report_disposition_hourly (
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    operator_id text NOT NULL,
    hour timestamptz NOT NULL,
    code text NOT NULL,
    n bigint NOT NULL DEFAULT 0,
    complaints bigint NOT NULL DEFAULT 0,
    wrap_n bigint NOT NULL DEFAULT 0,
    wrap_s double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, operator_id, hour, code)
);

CREATE FUNCTION report_disposition_count() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    call_hour timestamptz;
    call_end timestamptz;
BEGIN
    SELECT date_trunc('hour', created_at) INTO call_hour
    FROM call_attempts WHERE id = NEW.call_id;
    SELECT ended_at INTO call_end FROM operator_calls WHERE call_id = NEW.call_id;
    IF call_end IS NOT NULL AND NEW.created_at < call_end THEN
        call_end := NULL;
    END IF;
    INSERT INTO report_disposition_hourly AS r
        (campaign_id, operator_id, hour, code, n, complaints, wrap_n, wrap_s)
    VALUES (NEW.campaign_id, NEW.operator_id, call_hour, NEW.outcome, 1,
            CASE WHEN NEW.complaint THEN 1 ELSE 0 END,
            CASE WHEN call_end IS NULL THEN 0 ELSE 1 END,
            coalesce(extract(epoch FROM NEW.created_at - call_end), 0))
    ON CONFLICT (campaign_id, operator_id, hour, code) DO UPDATE
    SET n = r.n + 1, complaints = r.complaints + EXCLUDED.complaints,
        wrap_n = r.wrap_n + EXCLUDED.wrap_n, wrap_s = r.wrap_s + EXCLUDED.wrap_s;
    RETURN NULL;
END
$$;

CREATE TRIGGER dispositions_report_count
    AFTER INSERT ON dispositions
    FOR EACH ROW EXECUTE FUNCTION report_disposition_count();

-- Callbacks pending depend on the report's time, so they are counted live,
-- from this small index of dispositions that arranged one.
CREATE INDEX dispositions_callbacks_idx ON dispositions (campaign_id, callback_at)
    WHERE callback_at IS NOT NULL;

-- Rebuilds a campaign's operator and disposition counters from the source
-- rows (after a bulk load with the triggers disabled).
CREATE FUNCTION report_operator_rebuild(p_campaign bigint) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM report_operator_hourly WHERE campaign_id = p_campaign;
    INSERT INTO report_operator_hourly (campaign_id, operator_id, hour, calls, talk_s)
    SELECT campaign_id, operator_id, date_trunc('hour', bridged_at), count(*),
           sum(extract(epoch FROM ended_at - bridged_at))
    FROM operator_calls WHERE campaign_id = p_campaign AND ended_at IS NOT NULL
    GROUP BY 1, 2, 3;
    DELETE FROM report_disposition_hourly WHERE campaign_id = p_campaign;
    INSERT INTO report_disposition_hourly
        (campaign_id, operator_id, hour, code, n, complaints, wrap_n, wrap_s)
    SELECT d.campaign_id, d.operator_id, date_trunc('hour', a.created_at), d.outcome,
           count(*), count(*) FILTER (WHERE d.complaint),
           count(*) FILTER (WHERE d.created_at >= c.ended_at),
           coalesce(sum(extract(epoch FROM d.created_at - c.ended_at))
               FILTER (WHERE d.created_at >= c.ended_at), 0)
    FROM dispositions d
    JOIN call_attempts a ON a.id = d.call_id
    LEFT JOIN operator_calls c ON c.call_id = d.call_id
    WHERE d.campaign_id = p_campaign
    GROUP BY 1, 2, 3, 4;
$$;
