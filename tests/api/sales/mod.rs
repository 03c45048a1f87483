//! Sales: customers, pipeline, leads, activities, tasks, quotes.

mod access;
mod bookings;
mod customers;
mod performance;
mod planned;
mod quotes;
