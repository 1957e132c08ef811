-- A callback promised while its call is still up (the contact is leased)
-- must survive the call's end: when the dialer closes such a contact as done
-- or exhausted, it goes back in the queue for the callback's due time. Kept
-- in the database so that it holds whichever engine closes the call.
CREATE FUNCTION contacts_keep_callback() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    due timestamptz;
BEGIN
    IF NEW.state IN ('done', 'exhausted') AND OLD.state = 'leased' THEN
        SELECT due_at INTO due FROM callbacks
        WHERE contact_id = NEW.id AND state = 'pending';
        IF FOUND THEN
            NEW.state := 'pending';
            NEW.next_attempt_at := due;
            NEW.state_reason := 'callback';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER contacts_keep_callback
    BEFORE UPDATE OF state ON contacts
    FOR EACH ROW EXECUTE FUNCTION contacts_keep_callback();
