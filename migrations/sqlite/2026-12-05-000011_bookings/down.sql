DROP TABLE bookings;
DROP TABLE quote_template_items;
