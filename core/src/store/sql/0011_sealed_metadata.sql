-- Migration 11: no readable metadata (issue 10, finding 5). A copied database must not tell which
-- enterprise is to be inspected when (双随机 tasks are not announced), in which state an inspection
-- is, or which violations were found and how they are handled. Each plain column below either goes
-- (the value is already inside a sealed body) or becomes a keyed hash where a lookup needs it.

-- Inspections: the enterprise, the planned date, the state and the checklist are inside the
-- sealed body, which the task list opens anyway; it sorts by date after opening.
DROP INDEX inspections_by_date;
DROP INDEX inspections_by_state;
ALTER TABLE inspections DROP COLUMN state;
ALTER TABLE inspections DROP COLUMN enterprise_id;
ALTER TABLE inspections DROP COLUMN planned_date;
ALTER TABLE inspections DROP COLUMN template_id;
ALTER TABLE inspections DROP COLUMN template_version;

-- The plain findings index (category, handling such as 立案查处, deadline) had no reader; the
-- findings stay in the sealed inspection.
DROP TABLE inspection_findings;

-- The register's enterprises and permits, keyed by position (their ids, USCC and permit numbers
-- are inside the sealed records). The USCC is kept only as a keyed hash, to find an enterprise by
-- its code (e.g. scanned from a business licence) without storing the code.
CREATE TABLE register_enterprises_sealed (
    register_version TEXT NOT NULL REFERENCES registers (version),
    position INTEGER NOT NULL,
    uscc_lookup TEXT NOT NULL,
    record_enc BLOB NOT NULL,
    PRIMARY KEY (register_version, position)
) STRICT;
CREATE TABLE register_permits_sealed (
    register_version TEXT NOT NULL REFERENCES registers (version),
    position INTEGER NOT NULL,
    record_enc BLOB NOT NULL,
    PRIMARY KEY (register_version, position)
) STRICT;

-- The data step seals every stored register's enterprises and permits into the new tables.
-- fieldseal:data-step

DROP TABLE register_enterprises;
DROP TABLE register_permits;
ALTER TABLE register_enterprises_sealed RENAME TO register_enterprises;
ALTER TABLE register_permits_sealed RENAME TO register_permits;
CREATE INDEX register_enterprises_by_uscc ON register_enterprises (uscc_lookup);
