//! The storage suite on the embedded defaults: SQLite and a blob directory.

mod common;

use common::Harness;

storage_suite!(Harness::sqlite();
    enrolled_device_uploads_evidence_and_gets_a_signed_receipt_naming_its_hash,
    repeating_a_manifest_returns_the_same_receipt_and_other_content_under_its_id_is_refused,
    an_upload_can_be_resumed_from_the_offset_the_server_reports,
    an_offset_that_does_not_match_is_refused_with_409,
    a_chunk_whose_checksum_does_not_match_is_refused_with_460_and_not_kept,
    a_blob_that_does_not_hash_to_its_declared_sha256_is_refused_and_nothing_is_stored,
    tampered_or_foreign_manifests_are_refused_and_nothing_is_stored,
    malformed_json_and_oversize_bodies_are_refused,
    paths_that_try_to_escape_the_blob_directory_name_nothing,
    enrolment_codes_work_once_and_expire,
    enrolment_needs_proof_of_possession_of_the_presented_key,
    token_requests_cannot_be_replayed_and_challenges_expire_by_server_time,
    unknown_and_revoked_devices_are_refused,
    records_and_trail_heads_are_verified_stored_once_and_receipted,
    pull_returns_register_templates_tasks_and_revocations_by_cursor,
    a_duplicate_submitted_concurrently_is_stored_once,
    a_frozen_record_is_accepted_only_with_its_own_device_key,
);
