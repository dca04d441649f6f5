-- Migration 2: the register, checklist templates, inspections and their findings.
-- Anything that can name a person (inspectors, legal representatives, persons in charge, answers,
-- findings) is AEAD-sealed in an *_enc column with the table, version and row id as context; ids,
-- codes, states, dates and hashes stay plain for listing and lookups.

-- One row per register snapshot; a version is immutable once stored (its hash says so).
CREATE TABLE registers (
    version TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    published_at TEXT NOT NULL,
    loaded_at TEXT NOT NULL
) STRICT;

CREATE TABLE register_inspectors (
    register_version TEXT NOT NULL REFERENCES registers (version),
    position INTEGER NOT NULL,
    id TEXT NOT NULL,
    -- Keyed hash of the certificate number, to find a certificate without storing it readable.
    certificate_lookup TEXT NOT NULL,
    certified INTEGER NOT NULL CHECK (certified IN (0, 1)),
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    record_enc BLOB NOT NULL,
    PRIMARY KEY (register_version, id),
    UNIQUE (register_version, position)
) STRICT;
CREATE INDEX register_inspectors_by_certificate ON register_inspectors (certificate_lookup);

CREATE TABLE register_enterprises (
    register_version TEXT NOT NULL REFERENCES registers (version),
    position INTEGER NOT NULL,
    id TEXT NOT NULL,
    uscc TEXT NOT NULL,
    key_polluter INTEGER NOT NULL CHECK (key_polluter IN (0, 1)),
    positive_list INTEGER NOT NULL CHECK (positive_list IN (0, 1)),
    record_enc BLOB NOT NULL,
    PRIMARY KEY (register_version, id),
    UNIQUE (register_version, position)
) STRICT;
CREATE INDEX register_enterprises_by_uscc ON register_enterprises (uscc);

-- Permits name outlets, limits and facilities, not people: kept as plain JSON.
CREATE TABLE register_permits (
    register_version TEXT NOT NULL REFERENCES registers (version),
    position INTEGER NOT NULL,
    id TEXT NOT NULL,
    enterprise_id TEXT NOT NULL,
    permit_no TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (register_version, id),
    UNIQUE (register_version, position)
) STRICT;

CREATE TABLE checklist_templates (
    id TEXT NOT NULL,
    version TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    loaded_at TEXT NOT NULL,
    PRIMARY KEY (id, version)
) STRICT;

-- The inspection aggregate (task, team, frozen checklist, header, answers with corrections,
-- evidence counts, findings) is one sealed document; the plain columns serve the task list and
-- requirement 11 (which template and register versions a record was made with).
CREATE TABLE inspections (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    revision INTEGER NOT NULL CHECK (revision >= 1),
    enterprise_id TEXT NOT NULL,
    planned_date TEXT NOT NULL,
    template_id TEXT NOT NULL,
    template_version TEXT,
    register_version TEXT,
    register_hash TEXT,
    updated_at TEXT NOT NULL,
    body_enc BLOB NOT NULL
) STRICT;
CREATE INDEX inspections_by_date ON inspections (planned_date, id);
CREATE INDEX inspections_by_state ON inspections (state);

-- A plain index of findings for follow-up lists (problems due for re-check, overdue); the
-- description and evidence stay inside the sealed inspection.
CREATE TABLE inspection_findings (
    id TEXT PRIMARY KEY,
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    item_id TEXT NOT NULL,
    category TEXT NOT NULL,
    handling TEXT NOT NULL,
    problem_state TEXT NOT NULL,
    deadline TEXT,
    withdrawn INTEGER NOT NULL CHECK (withdrawn IN (0, 1))
) STRICT;
CREATE INDEX inspection_findings_by_inspection ON inspection_findings (inspection_id);
CREATE INDEX inspection_findings_by_problem ON inspection_findings (problem_state, deadline);
