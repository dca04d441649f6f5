//! Transactional outbox (being written).
