DROP TABLE schedule_overrides;
DROP TABLE working_hours;
DROP TABLE time_off;
