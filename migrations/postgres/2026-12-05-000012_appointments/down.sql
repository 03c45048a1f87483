DROP TABLE job_skills;
DROP TABLE user_skills;
ALTER TABLE schedule_overrides DROP COLUMN entry_kind;
ALTER TABLE schedule_overrides RENAME COLUMN entry_id TO job_id;
DROP TABLE appointment_follow_ups;
DROP TABLE user_working_hours;
DROP TABLE appointments;
