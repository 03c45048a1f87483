-- A crew row carries its job's planned window (kept equal by operations in the transactions
-- that assign crew and reschedule jobs), so that a person's jobs around a time are one range
-- of one index, whatever their history: the conflict check of scheduling.
ALTER TABLE job_crew ADD COLUMN planned_start TIMESTAMP;
ALTER TABLE job_crew ADD COLUMN planned_end TIMESTAMP;
UPDATE job_crew
   SET planned_start = (SELECT j.planned_start FROM jobs j WHERE j.id = job_crew.job_id),
       planned_end = (SELECT j.planned_end FROM jobs j WHERE j.id = job_crew.job_id);
CREATE INDEX job_crew_window ON job_crew (tenant_id, user_id, planned_start);
