-- A contact the dialer closes because the compliance gate found its number on
-- the do-not-call list (a final refusal whose reason starts with 'dnc:') is
-- suppressed, like the contacts the list marks when an entry is added: the
-- status and reports then count it under do-not-call, whichever engine closed
-- it. The dialer only knows 'cancelled' for a final refusal.
CREATE FUNCTION contacts_dnc_refused() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.state := 'suppressed';
    RETURN NEW;
END
$$;

CREATE TRIGGER contacts_dnc_refused
    BEFORE UPDATE OF state ON contacts
    FOR EACH ROW
    WHEN (NEW.state = 'cancelled' AND NEW.state_reason LIKE 'dnc:%')
    EXECUTE FUNCTION contacts_dnc_refused();
