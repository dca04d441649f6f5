//! The segmented AEAD for vault files (being written).
