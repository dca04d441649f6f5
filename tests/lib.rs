//! fieldseal's cross-process tests live in this package's `[[test]]` targets; there is no library code.
