DROP INDEX job_crew_window;
ALTER TABLE job_crew DROP COLUMN planned_end;
ALTER TABLE job_crew DROP COLUMN planned_start;
