//! Helpers shared by the integration tests. Each test file uses what it needs.
#![allow(dead_code)]

pub mod harness;
pub mod testmedia;
