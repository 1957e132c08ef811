-- Post-call satisfaction survey: when the operator leaves a call first, a
-- campaign with a survey asks the customer one question answered with a key
-- (1..max_digit). One row per answer; a customer who does not answer in time
-- leaves no row. The operator is the one whose call was rated, so that the
-- per-operator quality report can average the scores.
CREATE TABLE survey_responses (
    attempt_id text PRIMARY KEY REFERENCES call_attempts (id),
    campaign_id bigint NOT NULL REFERENCES campaigns (id),
    operator_id text NOT NULL REFERENCES operators (id),
    digit text NOT NULL CHECK (digit ~ '^[0-9]$'),
    score integer NOT NULL CHECK (score BETWEEN 0 AND 9),
    max_score integer NOT NULL CHECK (max_score BETWEEN 1 AND 9),
    answered_at timestamptz NOT NULL
);
CREATE INDEX survey_responses_operator_idx
    ON survey_responses (operator_id, answered_at);
CREATE INDEX survey_responses_campaign_idx
    ON survey_responses (campaign_id, answered_at);
