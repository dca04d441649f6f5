-- Migration 10: an item's thumbnail sealed in its own row (缩略图随证据行密封).
-- Until now a thumbnail was a second vault file with its own fsync, rename and directory fsync on
-- every capture. Items sealed from now on keep it here instead, AEAD-sealed with the column key under
-- the row id (padded to a size class, so its length says little), committed in the same transaction
-- as the row: complete or absent with it. Items sealed before keep thumbnail_blob_id; no row has both.
-- From this migration on `size` holds the original's size class (docs/decisions/0011-padded-sizes.md),
-- not its exact length, which is in the sealed manifest and, for progress bars that must not open
-- every manifest, in size_enc (column key under evidence.size:<id>). Rows written before keep their
-- exact size and no size_enc (evidence rows are immutable).
ALTER TABLE evidence ADD COLUMN thumbnail_enc BLOB
    CHECK (thumbnail_enc IS NULL OR thumbnail_blob_id IS NULL);
ALTER TABLE evidence ADD COLUMN size_enc BLOB;
