-- Nested pages read a parent's rows newest first by ID, once per parent row of a planned read.
-- SQLite compares text bytewise, so its indexes keep tenant_id first; these four tables had
-- indexes by creation time only (their own lists' order), and a nested page sorted its rows.
-- (PostgreSQL's migration of the same name leads these indexes with the parent's ID instead.)
CREATE INDEX job_crew_job ON job_crew (tenant_id, job_id, id);
CREATE INDEX field_updates_job_id ON field_updates (tenant_id, job_id, id);
CREATE INDEX support_ticket_activities_ticket_id ON support_ticket_activities (tenant_id, ticket_id, id);
CREATE INDEX support_ticket_attachments_ticket_id ON support_ticket_attachments (tenant_id, ticket_id, id);
