//! fieldseal-intake (being written).
