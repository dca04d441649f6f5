//! Hash-chained audit trail (being written).
