ALTER TABLE sales_settings DROP COLUMN quote_approver_must_differ;
ALTER TABLE quotes ADD COLUMN recipient_user_id TEXT;
CREATE INDEX quotes_recipient ON quotes (tenant_id, recipient_user_id, id);
