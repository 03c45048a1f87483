-- Loads benchmark data straight into Switchyard's tables (columns as in
-- migrations/postgres/2026-11-21-000003_sales/up.sql and crates/sales/src/schema.rs).
--
--   psql -v ON_ERROR_STOP=1 -v slug=bench -v owner_email=owner@bench.example \
--        -v customers=10000 -v children=1 -f bench/sql/load.sql
--
-- slug, owner_email: a tenant made by `switchyard tenant create` and its owner.
-- customers:         how many customers (all assigned to the owner, stage PROSPECT).
-- children:          1 = also 3 SENT quotes (3 items each) and 3 activities per customer,
--                    plus the first stage-history row the application writes on create;
--                    0 = customers only.
--
-- Everything is deterministic apart from the clock (setseed), so two runs load the same
-- names, quantities and prices. IDs are UUIDv7-shaped like the application's (time-ordered:
-- the millisecond timestamp of the row's created_at, then random bits), so `ORDER BY id`
-- is creation order here too.

\set ON_ERROR_STOP 1
SET TIME ZONE 'UTC';
SET synchronous_commit = off;

SELECT t.id AS tenant_id, u.id AS owner_id
  FROM tenants t JOIN users u ON u.tenant_id = t.id
 WHERE t.slug = :'slug' AND u.email = :'owner_email' \gset

SELECT setseed(0.42);

-- UUIDv7 text from a Unix millisecond timestamp (version 7, variant 10xx).
CREATE FUNCTION pg_temp.uuid7(ms bigint) RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(r, 1, 3) || '-'
      || substr('89ab', 1 + floor(random() * 4)::int, 1) || substr(r, 4, 3) || '-'
      || substr(r, 7, 12)
    FROM (SELECT lpad(to_hex(ms), 12, '0') AS h, md5(random()::text) AS r) x
$$;

-- What `validate::fold` does for the letters used here: lower case, no diacritics.
CREATE FUNCTION pg_temp.fold(s text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT translate(lower(s), 'åäöéèüøæ', 'aaoeeuoa')
$$;

-- The sales settings the application would create: SEK, 25 % VAT, Swedish numbers.
INSERT INTO sales_settings (tenant_id, currency, tax_rate_bp, quote_approval_required,
                            quote_validity_days, phone_country_code, next_quote_number,
                            updated_at, version)
VALUES (:'tenant_id', 'SEK', 2500, false, 30, '46', 1, now() AT TIME ZONE 'UTC', 1)
ON CONFLICT (tenant_id) DO NOTHING;

-- Columns the schema may or may not have yet (the loader follows whichever migration is
-- applied): name_search = fold(display_name), as customers/mutations.rs writes it.
SELECT EXISTS (SELECT 1 FROM information_schema.columns
                WHERE table_name = 'customers' AND column_name = 'name_search') AS has_name_search
\gset
\if :has_name_search
\set name_search_col ', name_search'
\set name_search_val ', pg_temp.fold(c.display_name)'
\else
\set name_search_col ''
\set name_search_val ''
\endif

-- Customers: person names from 40 x 40 first/last names (so names repeat, and the keyset's
-- tie-break on id matters), every tenth one a company. Created over the past year, oldest first.
\echo loading :customers customers into tenant :slug
INSERT INTO customers (id, tenant_id, location_id, first_name, last_name, company_name,
                       display_name, email, phone, phone_search, search_text, address,
                       lead_source, tags, assigned_to, estimated_value_minor, currency, notes,
                       active, stage, stage_changed_at, merged_into, created_by, created_at,
                       updated_at, version :name_search_col)
SELECT pg_temp.uuid7((extract(epoch FROM c.created_at) * 1000)::bigint),
       :'tenant_id', NULL,
       c.first_name, c.last_name, c.company_name, c.display_name,
       c.email, c.phone, c.phone_search,
       pg_temp.fold(c.display_name || ' ' || c.email || ' '
                    || translate(c.email, '@.-_+', '     ') || ' ' || c.phone_search),
       NULL,
       (ARRAY['website', 'referral', 'trade show', 'phone'])[1 + c.n % 4],
       '[]',
       :'owner_id',
       (1 + c.n % 50) * 100000, 'SEK',
       '', true, 'PROSPECT', c.created_at, NULL, :'owner_id', c.created_at, c.created_at, 1
       :name_search_val
  FROM (
    SELECT n, first_name, last_name, company_name, created_at,
           coalesce(company_name, first_name || ' ' || last_name) AS display_name,
           pg_temp.fold(first_name || '.' || last_name) || '.' || n || '@example.com' AS email,
           '+4670' || lpad(n::text, 7, '0') AS phone,
           '4670' || lpad(n::text, 7, '0') || ' 70' || lpad(n::text, 7, '0') AS phone_search
      FROM (
        SELECT n,
               (ARRAY['Anna','Erik','Maria','Lars','Karin','Anders','Sara','Johan','Eva','Per',
                      'Lena','Mikael','Emma','Nils','Ida','Oskar','Åsa','Gustav','Elin','Björn',
                      'Maja','Henrik','Julia','Fredrik','Linnea','Magnus','Ebba','Daniel','Klara',
                      'Stefan','Alice','Jonas','Hanna','Tobias','Sofia','Mats','Wilma','Ola',
                      'Frida','Viktor'])[1 + floor(random() * 40)::int] AS first_name,
               (ARRAY['Andersson','Johansson','Karlsson','Nilsson','Eriksson','Larsson','Olsson',
                      'Persson','Svensson','Gustafsson','Pettersson','Jonsson','Jansson',
                      'Hansson','Bengtsson','Jönsson','Lindberg','Jakobsson','Magnusson',
                      'Lindström','Olofsson','Lindqvist','Lindgren','Berg','Axelsson','Bergström',
                      'Lundberg','Lind','Lundgren','Lundqvist','Mattsson','Berglund','Fredriksson',
                      'Sandberg','Henriksson','Forsberg','Sjöberg','Wallin','Engström',
                      'Öberg'])[1 + floor(random() * 40)::int] AS last_name,
               CASE WHEN n % 10 = 0 THEN
                 (ARRAY['Nordic','Baltic','Polar','Granite','Harbour','Lakeside','Northern',
                        'Coastal'])[1 + floor(random() * 8)::int] || ' '
                 || (ARRAY['Logistics','Dental','Bakery','Consulting','Builders','Studio',
                           'Trading','Labs'])[1 + floor(random() * 8)::int] || ' AB ' || n
               END AS company_name,
               date_trunc('second', now() AT TIME ZONE 'UTC')
                 - interval '365 days' + (interval '365 days' * n / :customers) AS created_at
          FROM generate_series(1, :customers) AS n
      ) raw
  ) c
 ORDER BY c.n;

\if :children
\echo loading stage history, quotes, quote items and activities for tenant :slug

-- The first stage-history row, as createCustomer writes it.
INSERT INTO customer_stage_history (id, tenant_id, customer_id, from_stage, to_stage, reason,
                                    changed_by, changed_at)
SELECT pg_temp.uuid7((extract(epoch FROM c.created_at) * 1000)::bigint), c.tenant_id, c.id,
       NULL, 'PROSPECT', NULL, :'owner_id', c.created_at
  FROM customers c WHERE c.tenant_id = :'tenant_id' ORDER BY c.id;

-- Three quotes per customer, each its own quote group, revision 1, SENT, valid for 30+ days
-- from now. Totals are filled in from the items below (as the application does).
CREATE TEMP TABLE bench_quotes AS
SELECT row_number() OVER (ORDER BY c.id, j) AS k, c.id AS customer_id, j,
       least(c.created_at + j * interval '1 day', date_trunc('second', now() AT TIME ZONE 'UTC')
             - interval '1 hour' + j * interval '1 second') AS created_at
  FROM customers c CROSS JOIN generate_series(1, 3) AS j
 WHERE c.tenant_id = :'tenant_id';

INSERT INTO quotes (id, tenant_id, customer_id, quote_group_id, number, revision, status,
                    currency, tax_rate_bp, subtotal_minor, tax_minor, total_minor,
                    optional_minor, cost_minor, valid_until, notes, terms,
                    created_by, approved_by, approved_at, sent_at, viewed_at, accepted_at,
                    accepted_by, rejected_at, rejection_reason, expired_at, superseded_by,
                    created_at, updated_at, version)
SELECT pg_temp.uuid7((extract(epoch FROM q.created_at) * 1000)::bigint), :'tenant_id',
       q.customer_id,
       pg_temp.uuid7((extract(epoch FROM q.created_at) * 1000)::bigint),
       'Q-' || lpad(q.k::text, 6, '0'), 1, 'SENT', 'SEK', 2500, 0, 0, 0, 0, NULL,
       date_trunc('second', now() AT TIME ZONE 'UTC') + interval '30 days' + q.j * interval '1 day',
       '', 'Payment within 30 days of the move.',
       :'owner_id', NULL, NULL, q.created_at, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       q.created_at, q.created_at, 2
  FROM bench_quotes q ORDER BY q.k;

UPDATE sales_settings SET next_quote_number = (SELECT count(*) + 1 FROM bench_quotes)
 WHERE tenant_id = :'tenant_id';

-- Three lines per quote: quantity x unit price, a unit cost, the third line optional on
-- every fourth quote.
INSERT INTO quote_items (id, tenant_id, quote_id, description, quantity, unit_price_minor,
                         unit_cost_minor, category, optional, sort_order, line_total_minor)
SELECT pg_temp.uuid7((extract(epoch FROM q.created_at) * 1000)::bigint), q.tenant_id, q.id,
       (ARRAY['Moving crew, 3 movers (hours)', 'Packing materials', 'Storage, one month'])[i],
       l.quantity, l.unit_price, l.unit_price * 6 / 10,
       (ARRAY['MOVING_SERVICES', 'PACKING_SERVICES', 'STORAGE_SERVICES'])[i],
       (i = 3 AND right(q.number, 6)::int % 4 = 0), i,
       l.quantity * l.unit_price
  FROM quotes q CROSS JOIN generate_series(1, 3) AS i
  CROSS JOIN LATERAL (SELECT 1 + floor(random() * 8)::int AS quantity,
                             (ARRAY[95000, 4900, 129000])[i] + 100 * floor(random() * 50)::int
                               AS unit_price) l
 WHERE q.tenant_id = :'tenant_id'
 ORDER BY q.id, i;

-- Totals, exactly as quotes/pricing.rs computes them.
UPDATE quotes q
   SET subtotal_minor = s.subtotal,
       tax_minor = (s.subtotal * q.tax_rate_bp + 5000) / 10000,
       total_minor = s.subtotal + (s.subtotal * q.tax_rate_bp + 5000) / 10000,
       optional_minor = s.optional,
       cost_minor = s.cost
  FROM (SELECT quote_id,
               coalesce(sum(line_total_minor) FILTER (WHERE NOT optional), 0) AS subtotal,
               coalesce(sum(line_total_minor) FILTER (WHERE optional), 0) AS optional,
               sum(quantity * unit_cost_minor) FILTER (WHERE NOT optional
                                                        AND unit_cost_minor IS NOT NULL) AS cost
          FROM quote_items WHERE tenant_id = :'tenant_id' GROUP BY quote_id) s
 WHERE q.id = s.quote_id;

-- Three activities per customer by the owner.
INSERT INTO sales_activities (id, tenant_id, customer_id, lead_id, owner_id, kind, subject,
                              description, outcome, next_action, duration_minutes, occurred_at,
                              follow_up_at, follow_up_task_id, created_at, updated_at, version)
SELECT pg_temp.uuid7((extract(epoch FROM a.at) * 1000)::bigint), :'tenant_id', a.customer_id,
       NULL, :'owner_id', (ARRAY['CALL', 'EMAIL', 'MEETING'])[a.j],
       (ARRAY['First call about the move', 'Sent the moving checklist',
              'Site visit to estimate volume'])[a.j],
       '', (ARRAY['Interested', NULL, 'Volume estimated'])[a.j], NULL,
       (ARRAY[10, NULL, 45])[a.j], a.at, NULL, NULL, a.at, a.at, 1
  FROM (SELECT c.id AS customer_id, j, c.created_at + j * interval '2 hours' AS at
          FROM customers c CROSS JOIN generate_series(1, 3) AS j
         WHERE c.tenant_id = :'tenant_id') a
 ORDER BY a.at, a.j;
\endif

SELECT :'slug' AS tenant,
       (SELECT count(*) FROM customers WHERE tenant_id = :'tenant_id') AS customers,
       (SELECT count(*) FROM quotes WHERE tenant_id = :'tenant_id') AS quotes,
       (SELECT count(*) FROM quote_items WHERE tenant_id = :'tenant_id') AS quote_items,
       (SELECT count(*) FROM sales_activities WHERE tenant_id = :'tenant_id') AS activities;
