DROP TABLE operations_settings;
DROP TABLE field_updates;
DROP TABLE job_steps;
DROP TABLE job_crew;
DROP TABLE jobs;
