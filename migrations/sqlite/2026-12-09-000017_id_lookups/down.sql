DROP INDEX support_ticket_attachments_ticket_id;
DROP INDEX support_ticket_activities_ticket_id;
DROP INDEX field_updates_job_id;
DROP INDEX job_crew_job;
