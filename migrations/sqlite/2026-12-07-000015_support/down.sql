DROP TABLE support_tickets_fts;
DROP TABLE support_ticket_numbers;
DROP TABLE support_slas;
DROP TABLE support_ticket_activities;
DROP TABLE support_tickets;
