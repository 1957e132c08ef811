-- Compliance: do-not-call suppression, approved caller ids, the institution's
-- own calendar, callbacks, and the per-number dial log that attempt limits and
-- the minimum gap between calls are checked against.

-- One row per suppression. An entry stops suppressing when it expires or is
-- removed; neither deletes it, so the history of every number stays readable.
-- scope is 'all' or one kind of call.
CREATE TABLE dnc_entries (
    id bigserial PRIMARY KEY,
    phone text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    scope text NOT NULL DEFAULT 'all' CHECK (length(scope) BETWEEN 1 AND 50),
    source text NOT NULL
        CHECK (source IN ('customer_refusal', 'complaint', 'regulator', 'manual')),
    reason text NOT NULL DEFAULT '',
    added_by text NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    attempt_id text,
    removed_at timestamptz,
    removed_by text,
    removal_reason text,
    CHECK ((removed_at IS NULL) = (removed_by IS NULL)),
    CHECK (removed_at IS NULL OR length(coalesce(removal_reason, '')) > 0)
);
-- At most one live (not removed) entry per number and scope; the dial-time
-- check is one probe of this index.
CREATE UNIQUE INDEX dnc_entries_live_idx ON dnc_entries (phone, scope)
    WHERE removed_at IS NULL;

-- Caller ids the institution has approved. A campaign must use one to start,
-- and the gate refuses any originate from another.
CREATE TABLE approved_caller_ids (
    caller_id text PRIMARY KEY CHECK (caller_id ~ '^\+?[0-9]{3,15}$'),
    label text NOT NULL DEFAULT '',
    added_by text NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    revoked_by text,
    revoke_reason text
);

-- Extra closed or open days decided by the institution, on top of the public
-- holidays of the `holidays` package. country NULL means every country.
CREATE TABLE institution_dates (
    id bigserial PRIMARY KEY,
    day date NOT NULL,
    country text NOT NULL DEFAULT '*' CHECK (country ~ '^(\*|[A-Z]{2})$'),
    status text NOT NULL CHECK (status IN ('closed', 'open')),
    reason text NOT NULL DEFAULT '',
    added_by text NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (day, country)
);

-- Callbacks promised to customers. The contact is due at due_at; the gate
-- still checks window and suppression, so a callback may move, never skip.
CREATE TABLE callbacks (
    id bigserial PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    due_at timestamptz NOT NULL,
    operator text,
    note text NOT NULL DEFAULT '',
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'done', 'cancelled')),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    closed_at timestamptz
);
CREATE UNIQUE INDEX callbacks_pending_idx ON callbacks (contact_id)
    WHERE state = 'pending';
CREATE INDEX callbacks_due_idx ON callbacks (campaign_id, due_at)
    WHERE state = 'pending';

-- Every originate the gate let through, stamped with the engine's clock (not
-- SQL now()), so limits hold under a simulated clock too.
CREATE TABLE compliance_dials (
    id bigserial PRIMARY KEY,
    phone text NOT NULL,
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    callback_id bigint
);
CREATE INDEX compliance_dials_contact_idx ON compliance_dials (contact_id, at);

-- Last allowed dial per number across all campaigns; a conditional upsert on
-- it reserves the number, so two engines cannot both beat the minimum gap.
CREATE TABLE phone_last_dial (
    phone text PRIMARY KEY,
    at timestamptz NOT NULL
);

-- Why a contact waits: the gate's latest refusal for it, until retry_at.
CREATE TABLE compliance_holds (
    contact_id bigint PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    reason text NOT NULL,
    detail text NOT NULL DEFAULT '',
    retry_at timestamptz,
    decided_at timestamptz NOT NULL
);
CREATE INDEX compliance_holds_campaign_idx ON compliance_holds (campaign_id, reason);

-- Contacts whose number gave no time zone; they are called in the campaign's
-- zone and counted here for reports.
CREATE TABLE contact_zone_fallbacks (
    contact_id bigint PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    reason text NOT NULL
);
CREATE INDEX contact_zone_fallbacks_campaign_idx ON contact_zone_fallbacks (campaign_id);
