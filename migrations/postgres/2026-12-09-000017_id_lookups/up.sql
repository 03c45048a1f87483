-- The indexes that a nested page or a quote's lines are read by lead with the parent's ID and
-- carry tenant_id as an included column, which the tenant condition checks as a filter.
--
-- Why: a planned read looks these rows up once per parent (50 customers × quotes × items on a
-- deep page). With tenant_id leading, every step down the b-tree compares the 36-character
-- tenant ID first, through the database's collation (C.UTF-8 is not the C fast path in
-- PostgreSQL 15), and only then the parent's ID. With the parent's ID leading, the descent
-- compares parent IDs alone and the tenant check is one equality per row found (a byte
-- comparison). Measured with pgbench on the deep page's statement: about 10 % more statements
-- per second (bench/results/2026-12-05-parent-first-indexes.md). SQLite compares text bytewise
-- and keeps its indexes as they are.
DROP INDEX quotes_customer;
CREATE INDEX quotes_customer ON quotes (customer_id, id) INCLUDE (tenant_id);
DROP INDEX sales_activities_customer;
CREATE INDEX sales_activities_customer ON sales_activities (customer_id, id) INCLUDE (tenant_id);
DROP INDEX leads_customer;
CREATE INDEX leads_customer ON leads (customer_id, id) INCLUDE (tenant_id);
DROP INDEX tasks_customer;
CREATE INDEX tasks_customer ON tasks (customer_id, id) INCLUDE (tenant_id);
DROP INDEX quote_items_quote;
CREATE INDEX quote_items_quote ON quote_items (quote_id, sort_order, id) INCLUDE (tenant_id);
-- These tables keep their indexes by creation time (their own lists' order); nested pages read
-- newest first by ID.
CREATE INDEX job_crew_job ON job_crew (job_id, id) INCLUDE (tenant_id);
CREATE INDEX field_updates_job_id ON field_updates (job_id, id) INCLUDE (tenant_id);
CREATE INDEX support_ticket_activities_ticket_id ON support_ticket_activities (ticket_id, id) INCLUDE (tenant_id);
CREATE INDEX support_ticket_attachments_ticket_id ON support_ticket_attachments (ticket_id, id) INCLUDE (tenant_id);

-- ID columns compare bytewise (COLLATE "C"): the IDs (UUIDs as text, role names) are ASCII, so
-- their order is the same as under the database's collation, but each comparison is a memcmp
-- instead of a call through the collation. Every index descent on an ID, every join on one and
-- every keyset bound compares them; pgbench on the deep page's statement: about 9 % more
-- executions per second (bench/results/2026-12-05-parent-first-indexes.md). The columns: id,
-- tenant_id, assigned_to, and every *_id and *_by. Indexes on them are rebuilt (on a large
-- database, this migration holds its tables' locks for that long). New tables declare their ID
-- columns `TEXT COLLATE "C"`; a test checks it.
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.table_name, c.column_name FROM information_schema.columns c
               JOIN information_schema.tables t USING (table_schema, table_name)
              WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
                AND c.data_type = 'text'
                AND (c.column_name IN ('id', 'tenant_id', 'assigned_to')
                     OR c.column_name LIKE '%\_id' OR c.column_name LIKE '%\_by')
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE text COLLATE "C"', r.table_name, r.column_name);
    END LOOP;
END $$;
