DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.table_name, c.column_name FROM information_schema.columns c
               JOIN information_schema.tables t USING (table_schema, table_name)
              WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
                AND c.data_type = 'text' AND c.collation_name = 'C'
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE text COLLATE "default"', r.table_name, r.column_name);
    END LOOP;
END $$;
DROP INDEX support_ticket_attachments_ticket_id;
DROP INDEX support_ticket_activities_ticket_id;
DROP INDEX field_updates_job_id;
DROP INDEX job_crew_job;
DROP INDEX quote_items_quote;
CREATE INDEX quote_items_quote ON quote_items (tenant_id, quote_id, sort_order, id);
DROP INDEX tasks_customer;
CREATE INDEX tasks_customer ON tasks (tenant_id, customer_id, id);
DROP INDEX leads_customer;
CREATE INDEX leads_customer ON leads (tenant_id, customer_id, id);
DROP INDEX sales_activities_customer;
CREATE INDEX sales_activities_customer ON sales_activities (tenant_id, customer_id, id);
DROP INDEX quotes_customer;
CREATE INDEX quotes_customer ON quotes (tenant_id, customer_id, id);
