-- Loads scheduling benchmark data straight into Switchyard's tables (columns as in
-- migrations/postgres/2026-12-04-000009_operations and 000002_identity).
--
--   psql -v ON_ERROR_STOP=1 -v slug=crew200 -v owner_email=owner@crew200.example \
--        -v crew=200 -v days=365 -v week_jobs=0 -f bench/sql/schedule.sql
--
-- slug, owner_email: a tenant made by `switchyard tenant create` and its owner.
-- crew:       crew members (role crew) at one location "Depot" (Europe/Stockholm), which works
--             weekdays and Saturdays 06:00-20:00.
-- days:       a year of entries: each crew member leads one job a day, 08:00-16:00 UTC, from
--             2026-07-01 on (0: none).
-- week_jobs:  jobs in the week of Monday 2027-01-11 (the week view), each with a customer,
--             two crew members and three steps (0: none).

\set ON_ERROR_STOP 1
SET TIME ZONE 'UTC';
SET synchronous_commit = off;

SELECT t.id AS tenant_id, u.id AS owner_id
  FROM tenants t JOIN users u ON u.tenant_id = t.id
 WHERE t.slug = :'slug' AND u.email = :'owner_email' \gset
SELECT setseed(0.17);

INSERT INTO sales_settings (tenant_id, currency, tax_rate_bp, quote_approval_required,
                            quote_validity_days, phone_country_code, next_quote_number,
                            updated_at, version)
VALUES (:'tenant_id', 'SEK', 2500, false, 30, '46', 1, now() AT TIME ZONE 'UTC', 1)
ON CONFLICT (tenant_id) DO NOTHING;

SELECT gen_random_uuid()::text AS location_id \gset
INSERT INTO locations (id, tenant_id, name, time_zone, active, created_at, updated_at)
VALUES (:'location_id', :'tenant_id', 'Depot', 'Europe/Stockholm', true, now(), now());
INSERT INTO user_locations (tenant_id, user_id, location_id) VALUES (:'tenant_id', :'owner_id', :'location_id');
INSERT INTO working_hours (tenant_id, location_id, weekday, starts, ends)
SELECT :'tenant_id', :'location_id', d, '06:00', '20:00' FROM generate_series(1, 6) d;

CREATE TEMP TABLE crew AS
SELECT n, gen_random_uuid()::text AS id FROM generate_series(1, :crew) n;
INSERT INTO users (id, tenant_id, email, name, kind, status, created_at, updated_at)
SELECT id, :'tenant_id', 'crew' || n || '@' || :'slug' || '.example', 'Crew ' || lpad(n::text, 3, '0'),
       'staff', 'active', now(), now() FROM crew;
INSERT INTO user_roles (tenant_id, user_id, role_key) SELECT :'tenant_id', id, 'crew' FROM crew;
INSERT INTO user_locations (tenant_id, user_id, location_id) SELECT :'tenant_id', id, :'location_id' FROM crew;

CREATE TEMP TABLE cust AS
SELECT n, gen_random_uuid()::text AS id FROM generate_series(1, 50) n;
INSERT INTO customers (id, tenant_id, location_id, first_name, last_name, display_name, email,
                       phone_search, search_text, tags, assigned_to, notes, active, stage,
                       stage_changed_at, created_by, created_at, updated_at, version, name_search)
SELECT id, :'tenant_id', :'location_id', 'Kund', 'Nummer ' || n, 'Kund Nummer ' || n,
       'kund' || n || '@' || :'slug' || '.example', '', 'kund nummer ' || n, '[]', :'owner_id', '',
       true, 'PROSPECT', now(), :'owner_id', now(), now(), 1, 'kund nummer ' || n
  FROM cust;

-- A year of entries: one job a day per crew member, led by them.
CREATE TEMP TABLE year AS
SELECT c.id AS crew_id, c.n, d, gen_random_uuid()::text AS job_id
  FROM crew c, generate_series(0, :days - 1) d;
INSERT INTO jobs (id, tenant_id, customer_id, location_id, status, contact_name, origin,
                  planned_start, planned_end, estimated_minutes, crew_size, created_by,
                  created_at, updated_at)
SELECT y.job_id, :'tenant_id', (SELECT id FROM cust WHERE cust.n = 1 + (y.n + y.d) % 50), :'location_id',
       'SCHEDULED', 'On site', 'Storgatan 1',
       timestamp '2026-07-01 08:00' + y.d * interval '1 day',
       timestamp '2026-07-01 16:00' + y.d * interval '1 day', 480, 1, :'owner_id', now(), now()
  FROM year y;
INSERT INTO job_crew (id, tenant_id, job_id, resource_kind, resource_id, user_id, lead,
                      assigned_by, created_at, updated_at, planned_start, planned_end)
SELECT gen_random_uuid()::text, :'tenant_id', job_id, 'USER', crew_id, crew_id, true, :'owner_id', now(), now(),
       timestamp '2026-07-01 08:00' + d * interval '1 day', timestamp '2026-07-01 16:00' + d * interval '1 day'
  FROM year;

-- The week view: week_jobs jobs spread over Monday to Sunday 2027-01-11..17, 06:00-20:00
-- UTC, two crew members and three steps each.
CREATE TEMP TABLE week AS
SELECT n, gen_random_uuid()::text AS job_id,
       timestamp '2027-01-11 06:00' + ((n - 1) % 7) * interval '1 day'
         + ((n - 1) / 7 % 12) * interval '1 hour' AS starts
  FROM generate_series(1, :week_jobs) n;
INSERT INTO jobs (id, tenant_id, customer_id, location_id, status, contact_name, origin,
                  destination, planned_start, planned_end, estimated_minutes, crew_size,
                  created_by, created_at, updated_at)
SELECT w.job_id, :'tenant_id', (SELECT id FROM cust WHERE cust.n = 1 + w.n % 50), :'location_id',
       'SCHEDULED', 'On site ' || w.n, 'Storgatan ' || w.n, 'Lillgatan ' || w.n,
       w.starts, w.starts + interval '2 hours', 120, 2, :'owner_id', now(), now()
  FROM week w;
INSERT INTO job_crew (id, tenant_id, job_id, resource_kind, resource_id, user_id, lead,
                      assigned_by, created_at, updated_at, planned_start, planned_end)
SELECT gen_random_uuid()::text, :'tenant_id', w.job_id, 'USER', c.id, c.id, k = 0, :'owner_id', now(), now(),
       w.starts, w.starts + interval '2 hours'
  FROM week w CROSS JOIN generate_series(0, 1) k
  JOIN crew c ON c.n = 1 + (w.n + k) % :crew;
INSERT INTO job_steps (id, tenant_id, job_id, position, kind, status, created_at, updated_at)
SELECT gen_random_uuid()::text, :'tenant_id', w.job_id, p, (ARRAY['LOAD', 'DRIVE', 'UNLOAD'])[p],
       'PENDING', now(), now()
  FROM week w, generate_series(1, 3) p;

