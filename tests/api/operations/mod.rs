//! Operations: jobs and crews.

mod jobs;
