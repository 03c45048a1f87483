-- The live calendar benchmark's people and jobs, after bench/sql/schedule.sql made the tenant's
-- location "Depot", its working hours, crew and 50 customers (columns as in
-- migrations/postgres/*_identity and *_operations).
--
--   psql -v ON_ERROR_STOP=1 -v slug=live -v owner_email=owner@live.example \
--        -v dispatchers=50 -v jobs=100 -f bench/live/live.sql
--
-- dispatchers: users with the role dispatcher at the location (the subscribers sign in as
--              them, spread evenly, so no caller comes near the per-caller WebSocket limit).
-- jobs:        SCHEDULED jobs at the location on Tuesday 2027-01-12, without crew (moving one
--              raises no conflict and notifies nobody: one JobRescheduled event, nothing else).

\set ON_ERROR_STOP 1
SET TIME ZONE 'UTC';

SELECT t.id AS tenant_id, u.id AS owner_id
  FROM tenants t JOIN users u ON u.tenant_id = t.id
 WHERE t.slug = :'slug' AND u.email = :'owner_email' \gset
SELECT id AS location_id FROM locations WHERE tenant_id = :'tenant_id' AND name = 'Depot' \gset

CREATE TEMP TABLE disp AS
SELECT n, gen_random_uuid()::text AS id FROM generate_series(1, :dispatchers) n;
INSERT INTO users (id, tenant_id, email, name, kind, status, created_at, updated_at)
SELECT id, :'tenant_id', 'dispatcher' || n || '@' || :'slug' || '.example', 'Dispatcher ' || lpad(n::text, 3, '0'),
       'staff', 'active', now(), now() FROM disp;
INSERT INTO user_roles (tenant_id, user_id, role_key) SELECT :'tenant_id', id, 'dispatcher' FROM disp;
INSERT INTO user_locations (tenant_id, user_id, location_id) SELECT :'tenant_id', id, :'location_id' FROM disp;

INSERT INTO jobs (id, tenant_id, customer_id, location_id, status, contact_name, origin,
                  destination, planned_start, planned_end, estimated_minutes, crew_size,
                  created_by, created_at, updated_at)
SELECT gen_random_uuid()::text, :'tenant_id',
       (SELECT id FROM customers WHERE tenant_id = :'tenant_id' ORDER BY id OFFSET n % 50 LIMIT 1),
       :'location_id', 'SCHEDULED', 'Live ' || n, 'Storgatan ' || n, 'Lillgatan ' || n,
       timestamp '2027-01-12 08:00', timestamp '2027-01-12 10:00', 120, 2, :'owner_id', now(), now()
  FROM generate_series(1, :jobs) n;
