//! Persistence for evidence (being written by its owner).
