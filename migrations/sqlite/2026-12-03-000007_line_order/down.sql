DROP INDEX quote_items_quote;
CREATE INDEX quote_items_quote ON quote_items (tenant_id, quote_id, sort_order);
