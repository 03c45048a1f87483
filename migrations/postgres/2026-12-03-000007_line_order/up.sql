-- A quote's lines are read in (sort_order, id) order: the index ends with the ID, so reading them
-- needs no sort (planned reads read them once per quote on a page).
DROP INDEX quote_items_quote;
CREATE INDEX quote_items_quote ON quote_items (tenant_id, quote_id, sort_order, id);
