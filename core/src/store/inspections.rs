//! Persistence for inspections (being written by its owner).
