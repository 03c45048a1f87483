//! Sales: customers, pipeline, leads, activities, tasks, quotes.

mod access;
mod customers;
mod performance;
mod planned;
mod quotes;
