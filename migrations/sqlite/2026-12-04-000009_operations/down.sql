DROP TABLE job_crew;
DROP TABLE jobs;
