-- Booking intake: the tenant's quote template (what a web booking's quote gets, per service)
-- and the bookings that arrived through the public booking form.
CREATE TABLE quote_template_items (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    service TEXT NOT NULL,
    description TEXT NOT NULL,
    basis TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price_minor BIGINT,
    currency TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    sort_order INTEGER NOT NULL DEFAULT 0,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX quote_template_items_tenant ON quote_template_items (tenant_id, sort_order);

CREATE TABLE bookings (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    reference TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    quote_id TEXT NOT NULL,
    task_id TEXT,
    location_id TEXT,
    assigned_to TEXT,
    move_date DATE NOT NULL,
    origin TEXT NOT NULL,
    destination TEXT NOT NULL,
    rooms INTEGER,
    volume_m3 INTEGER,
    services TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX bookings_reference ON bookings (tenant_id, reference);
CREATE UNIQUE INDEX bookings_quote ON bookings (tenant_id, quote_id);
CREATE INDEX bookings_customer ON bookings (tenant_id, customer_id, created_at);
