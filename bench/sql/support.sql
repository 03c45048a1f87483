-- Loads the support-desk benchmark data straight into Switchyard's tables (columns as in
-- migrations/postgres/2026-12-07-000015_support, 2026-12-08-000016_support_attachments and
-- 000002_identity).
--
--   psql -v ON_ERROR_STOP=1 -v slug=desk -v owner_email=owner@desk.example -v tickets=100000 \
--        -f bench/sql/support.sql
--
-- slug, owner_email: a tenant made by `switchyard tenant create` and its owner.
-- tickets: tickets from 2,000 portal clients over the last year, each with 2-4 timeline
--          entries; 20 agents (role support_agent, agent1..agent20@<slug>.example); one ticket in
--          ten is unassigned and open (the queue), the rest are spread over the agents and the
--          statuses; one ticket in three has one or two attachments (rows only: the queue
--          counts them, nothing downloads them).

\set ON_ERROR_STOP 1
SET TIME ZONE 'UTC';
SET synchronous_commit = off;

SELECT t.id AS tenant_id FROM tenants t WHERE t.slug = :'slug' \gset
SELECT setseed(0.42);

-- A time-ordered ID like the server's (UUID version 7: milliseconds first), so that ordering
-- by ID is ordering by time, as in the application.
CREATE FUNCTION pg_temp.id_at(at timestamp) RETURNS text LANGUAGE sql AS $$
  SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(r, 16)
    FROM (SELECT lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0') AS h,
                 gen_random_uuid()::text AS r) x
$$;

CREATE TEMP TABLE agents AS
SELECT n, gen_random_uuid()::text AS id FROM generate_series(1, 20) n;
INSERT INTO users (id, tenant_id, email, name, kind, status, created_at, updated_at)
SELECT id, :'tenant_id', 'agent' || n || '@' || :'slug' || '.example', 'Agent ' || lpad(n::text, 2, '0'),
       'staff', 'active', now(), now() FROM agents;
INSERT INTO user_roles (tenant_id, user_id, role_key) SELECT :'tenant_id', id, 'support_agent' FROM agents;

CREATE TEMP TABLE clients AS
SELECT n, gen_random_uuid()::text AS id FROM generate_series(1, 2000) n;
INSERT INTO users (id, tenant_id, email, name, kind, status, created_at, updated_at)
SELECT id, :'tenant_id', 'client' || n || '@' || :'slug' || '.example', 'Client ' || lpad(n::text, 4, '0'),
       'client', 'active', now(), now() FROM clients;
INSERT INTO user_roles (tenant_id, user_id, role_key) SELECT :'tenant_id', id, 'client' FROM clients;

CREATE TEMP TABLE t AS
SELECT n, pg_temp.id_at(opened) AS id, opened, agent_n, client_n, priority, status FROM (
SELECT n,
       (now() AT TIME ZONE 'UTC') - ((:tickets - n)::double precision / :tickets) * interval '365 days' AS opened,
       CASE WHEN n % 10 = 0 THEN NULL ELSE 1 + (n * 7) % 20 END AS agent_n,
       1 + (n * 13) % 2000 AS client_n,
       (ARRAY['LOW', 'MEDIUM', 'MEDIUM', 'HIGH', 'URGENT'])[1 + n % 5] AS priority,
       CASE WHEN n % 10 = 0 THEN (ARRAY['NEW', 'IN_PROGRESS'])[1 + n / 10 % 2]
            ELSE (ARRAY['IN_PROGRESS', 'WAITING_ON_CLIENT', 'RESOLVED', 'CLOSED', 'CLOSED'])[1 + n % 5]
       END AS status
  FROM generate_series(1, :tickets) n) g;

INSERT INTO support_tickets (id, tenant_id, number, subject, description, status, priority,
                             requester_id, assignee_id, tags, reply_token, search_text,
                             first_response_at, resolved_at, closed_at, first_response_due_at,
                             resolution_due_at, due_at, sla_breached, created_by, created_at,
                             updated_at, version, priority_rank, status_rank)
SELECT t.id, :'tenant_id', 1000 + t.n, 'Question number ' || t.n, 'Something about move ' || t.n,
       t.status, t.priority, c.id, a.id, '[]', substr(md5(t.id), 1, 24),
       'question number ' || t.n || ' something about move ' || t.n,
       CASE WHEN t.status = 'NEW' THEN NULL ELSE t.opened + interval '2 hours' END,
       CASE WHEN t.status IN ('RESOLVED', 'CLOSED') THEN t.opened + interval '1 day' END,
       CASE WHEN t.status = 'CLOSED' THEN t.opened + interval '2 days' END,
       t.opened + interval '8 hours', t.opened + interval '3 days',
       CASE WHEN t.status = 'NEW' THEN t.opened + interval '8 hours' ELSE t.opened + interval '3 days' END,
       t.n % 7 = 0, c.id, t.opened, t.opened, 1,
       array_position(ARRAY['LOW', 'MEDIUM', 'HIGH', 'URGENT'], t.priority),
       array_position(ARRAY['NEW', 'IN_PROGRESS', 'WAITING_ON_CLIENT', 'RESOLVED', 'CLOSED'], t.status)
  FROM t JOIN clients c ON c.n = t.client_n LEFT JOIN agents a ON a.n = t.agent_n;
INSERT INTO support_ticket_numbers (tenant_id, last_number) VALUES (:'tenant_id', 1000 + :tickets);

INSERT INTO support_ticket_activities (id, tenant_id, ticket_id, kind, author_id, body, created_at, updated_at, version, internal)
SELECT pg_temp.id_at(t.opened + e.after), :'tenant_id', t.id, e.kind, NULL, e.body, t.opened + e.after, t.opened + e.after, 1,
       e.kind = 'INTERNAL_NOTE'
  FROM t, LATERAL (VALUES ('OPENED', 'Something about move ' || t.n, interval '0'),
                          ('COMMENT', 'We are on it.', interval '2 hours'),
                          ('INTERNAL_NOTE', 'Checked the job.', interval '3 hours'),
                          ('STATUS_CHANGED', NULL, interval '1 day')) AS e(kind, body, after)
 WHERE e.kind = 'OPENED' OR t.status <> 'NEW' AND (e.kind <> 'STATUS_CHANGED' OR t.n % 3 = 0);

INSERT INTO support_ticket_attachments (id, tenant_id, ticket_id, file_name, content_type, size_bytes,
                                        internal, author_id, created_at, updated_at, version)
SELECT pg_temp.id_at(t.opened + k * interval '1 hour'), :'tenant_id', t.id, 'photo-' || k || '.png',
       'image/png', 20000 + t.n % 5000, k = 2, NULL, t.opened + k * interval '1 hour',
       t.opened + k * interval '1 hour', 1
  FROM t, generate_series(1, 2) k
 WHERE t.n % 3 = 0 AND (k = 1 OR t.n % 2 = 0);
