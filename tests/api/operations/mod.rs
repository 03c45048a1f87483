//! Operations: jobs and crews.

pub(crate) mod jobs;
