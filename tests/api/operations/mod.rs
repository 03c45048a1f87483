//! Operations: jobs and crews.

mod access;
pub(crate) mod jobs;
