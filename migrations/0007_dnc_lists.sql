-- Bulk do-not-call lists (a regulator's register, a bank-wide file), loaded
-- by `outdial dnc import`. One row per list; its numbers are kept sorted in
-- blocks of a few hundred (a 10-million-number list is ~45,000 rows), which
-- loads in seconds where one row per number takes minutes, and is probed
-- with one index descent per live list. Single entries (refusals, complaints,
-- manual adds) stay in dnc_entries.
CREATE TABLE dnc_lists (
    id bigserial PRIMARY KEY,
    scope text NOT NULL DEFAULT 'all' CHECK (length(scope) BETWEEN 1 AND 50),
    source text NOT NULL
        CHECK (source IN ('customer_refusal', 'complaint', 'regulator', 'manual')),
    reason text NOT NULL DEFAULT '',
    file_name text,
    numbers bigint NOT NULL DEFAULT 0,
    added_by text NOT NULL,
    added_at timestamptz NOT NULL,
    expires_at timestamptz,
    removed_at timestamptz,
    removed_by text,
    removal_reason text,
    CHECK ((removed_at IS NULL) = (removed_by IS NULL)),
    CHECK (removed_at IS NULL OR length(coalesce(removal_reason, '')) > 0)
);

-- E.164 digits (without "+") as bigint, sorted; first/last bound the block.
CREATE TABLE dnc_list_blocks (
    list_id bigint NOT NULL REFERENCES dnc_lists (id) ON DELETE CASCADE,
    first_phone bigint NOT NULL,
    last_phone bigint NOT NULL,
    phones bigint[] NOT NULL,
    PRIMARY KEY (list_id, first_phone)
);

-- A number taken off a live list on its own (`outdial dnc remove`).
CREATE TABLE dnc_list_exclusions (
    list_id bigint NOT NULL REFERENCES dnc_lists (id) ON DELETE CASCADE,
    phone text NOT NULL,
    removed_at timestamptz NOT NULL DEFAULT now(),
    removed_by text NOT NULL,
    removal_reason text NOT NULL CHECK (length(removal_reason) > 0),
    PRIMARY KEY (list_id, phone)
);
