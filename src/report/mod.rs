//! The results tree and the session reports (text, JSON, HTML, JUnit).

pub mod record;
