-- A quote reaches the portal user of its customer as the customer is now, not as it was when
-- the quote was written: the stored copy could only go stale (a new portal user, a merge).
DROP INDEX quotes_recipient;
ALTER TABLE quotes DROP COLUMN recipient_user_id;

-- Separation of duties: when approval is required, the approver is not the quote's author.
ALTER TABLE sales_settings ADD COLUMN quote_approver_must_differ BOOLEAN NOT NULL DEFAULT TRUE;
