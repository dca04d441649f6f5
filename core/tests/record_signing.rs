//! The on-site record end to end on a real store: built from a stored inspection with sealed
//! photos, signed with strokes by two inspectors and the party, refused with a witness, frozen,
//! amended — and every rule of DOMAIN.md requirements 5 to 7 refused precisely when broken.

mod inspection_support;
mod record_support;
use fieldseal_test_support as support;

use fieldseal_core::{
    Error,
    crypto::DeviceSigner,
    model::InspectionState,
    record::{
        AddendumRequest, PartyStatement, RecordError, RefuseRequest, RevisionRequest, SignRequest,
        SignerRole, Strokes, WitnessInput, persist, service,
        statements::{self, Binding},
    },
    store::{StoreError, inspections as db},
};
use inspection_support::*;
use record_support::*;
use support::harness;

fn record_error(e: Error) -> RecordError {
    match e {
        Error::Record(r) => r,
        other => panic!("expected a record error, got {other:?}"),
    }
}

fn freeze_missing(e: Error) -> Vec<&'static str> {
    match record_error(e) {
        RecordError::NotReadyToFreeze { missing } => missing,
        other => panic!("expected NotReadyToFreeze, got {other:?}"),
    }
}

#[test]
fn record_signed_by_two_inspectors_and_the_party_freezes_and_marks_the_inspection_signed() {
    let v = visit();
    let r = build(&v);
    assert!(r.pages.len() >= 2, "the thermal checklist fills more than one page");
    let last = r.pages.last().unwrap();
    assert!(last.text().contains(&format!("第{}页共{}页", last.number, r.pages.len())));
    assert!(r.pages[0].text().contains("现场检查笔录"));
    assert_eq!(r.document.content.evidence.len(), 2);
    sign_all(&v, &r);
    let frozen = service::freeze(&v.store, &v.signer, &r.record_id, t("10:50")).unwrap();
    assert!(frozen.frozen);
    assert_eq!(frozen.entries.len(), 3);

    let inspection = v.store.read(|c, k| db::load_inspection(c, k, &v.inspection_id)).unwrap();
    assert_eq!(inspection.state(), InspectionState::Signed);
    assert_eq!(inspection.signing().unwrap().content_hash, r.document_hash);

    let stored = v.store.read(|c, k| persist::load_record(c, k, &r.record_id)).unwrap();
    let public = v.signer.public_key().unwrap();
    let binding =
        Binding { record_id: &r.record_id, document_hash: &r.document_hash, page_hashes: &r.page_hashes };
    let freeze = statements::verify_freeze(stored.freeze.as_ref().unwrap(), &public, binding).unwrap();
    let chain = v
        .store
        .read(|c, k| {
            fieldseal_core::store::trail::verify_stream(c, k, &format!("inspection:{}", v.inspection_id))
        })
        .unwrap();
    let head = chain.last().unwrap();
    assert_eq!((freeze.trail_head.seq, freeze.trail_head.hash.as_str()), (head.seq, head.hash.as_str()));
    let kinds: Vec<&str> = chain.iter().map(|e| e.kind.as_str()).collect();
    for kind in ["evidence.sealed", "record.built", "record.signed", "inspection.signed", "record.frozen"] {
        assert!(kinds.contains(&kind), "{kind} missing from the trail: {kinds:?}");
    }
    assert!(chain.iter().all(|e| e.v == 2 && e.salt.is_some()));
}

/// Requirement 5: a signature binds to what was displayed; the record changing after display
/// refuses the signature, and one changed character fails verification of a given one.
#[test]
fn a_signature_over_a_stale_hash_is_refused_and_one_changed_character_fails_verification() {
    let v = visit();
    let r = build(&v);
    sign_as(&v, &r, SignerRole::Inspector, Some("insp-001"), 1).unwrap();
    let revised = service::revise(
        &v.store,
        &r.record_id,
        RevisionRequest {
            reason: "当事人要求补充意见".into(),
            by: "insp-002".into(),
            party_statement: Some(PartyStatement {
                objection: true,
                text: "对第3项结论有异议，已当场说明".into(),
            }),
            at: t("10:40"),
        },
    )
    .unwrap();
    assert_eq!(revised.revision, 2);
    assert_ne!(revised.document_hash, r.document_hash);
    assert!(revised.entries.is_empty(), "the earlier signature does not count for the new version");
    assert!(revised.pages.iter().any(|p| p.text().contains("修改记录")), "the revision is visible");
    let err = record_error(sign_as(&v, &r, SignerRole::Party, None, 3).unwrap_err());
    assert!(matches!(err, RecordError::StaleHash { .. }), "{err:?}");

    sign_all(&v, &revised);
    let entries = v.store.read(|c, k| persist::entries_of_record(c, k, &r.record_id)).unwrap();
    let party = entries.iter().find(|e| e.role == SignerRole::Party).unwrap();
    let public = v.signer.public_key().unwrap();
    let strokes = party.strokes_json.as_deref().unwrap();
    let image = party.image_png.as_deref().unwrap();
    let binding = Binding {
        record_id: &r.record_id,
        document_hash: &revised.document_hash,
        page_hashes: &revised.page_hashes,
    };
    statements::verify_signature(&party.envelope, &public, binding, strokes, image).unwrap();

    // One character of the enterprise's name changed: the document hash differs and the signature
    // no longer covers it.
    let mut changed = revised.document.clone();
    changed.content.header.enterprise_name.push('X');
    let changed = fieldseal_core::record::RecordDocument::from_content(changed.content);
    let (hash, pages) = (changed.document_hash().unwrap(), changed.page_hashes().unwrap());
    let binding = Binding { record_id: &r.record_id, document_hash: &hash, page_hashes: &pages };
    assert!(statements::verify_signature(&party.envelope, &public, binding, strokes, image).is_err());
    // The strokes or image swapped for others: refused too.
    let other = serde_json::to_vec(&Strokes::synthetic(9)).unwrap();
    let binding = Binding {
        record_id: &r.record_id,
        document_hash: &revised.document_hash,
        page_hashes: &revised.page_hashes,
    };
    assert!(statements::verify_signature(&party.envelope, &public, binding, &other, image).is_err());
}

#[test]
fn empty_or_absurd_strokes_are_refused_and_nothing_is_stored() {
    let v = visit();
    let r = build(&v);
    let mut req = SignRequest {
        record_id: r.record_id.clone(),
        shown_document_hash: r.document_hash.clone(),
        role: SignerRole::Party,
        inspector_id: None,
        witness_name: None,
        strokes: Strokes { pad: Strokes::synthetic(1).pad, strokes: vec![] },
        clock: harness::clock(),
        location: None,
    };
    let err = record_error(service::sign(&v.store, &v.signer, &req).unwrap_err());
    assert!(matches!(err, RecordError::Strokes { rule: "strokes.empty" }), "{err:?}");
    req.strokes = Strokes::synthetic(1);
    req.strokes.strokes[0][5].x = 60_000;
    let err = record_error(service::sign(&v.store, &v.signer, &req).unwrap_err());
    assert!(matches!(err, RecordError::Strokes { rule: "strokes.point_off_pad" }), "{err:?}");
    assert!(v.store.read(|c, k| persist::entries_of_record(c, k, &r.record_id)).unwrap().is_empty());
}

/// Requirement 1 at signature: two distinct inspectors of the team must sign.
#[test]
fn a_record_cannot_freeze_with_one_inspector_signature() {
    let v = visit();
    let r = build(&v);
    sign_as(&v, &r, SignerRole::Inspector, Some("insp-001"), 1).unwrap();
    sign_as(&v, &r, SignerRole::Party, None, 3).unwrap();
    let dup = record_error(sign_as(&v, &r, SignerRole::Inspector, Some("insp-001"), 4).unwrap_err());
    assert!(matches!(dup, RecordError::NotAllowed { rule: "record.signature.duplicate", .. }), "{dup:?}");
    let missing = freeze_missing(service::freeze(&v.store, &v.signer, &r.record_id, t("10:50")).unwrap_err());
    assert_eq!(missing, vec!["record.freeze.two_inspector_signatures"]);
    let outsider = record_error(sign_as(&v, &r, SignerRole::Inspector, Some("insp-099"), 5).unwrap_err());
    assert!(matches!(outsider, RecordError::Invalid { .. }));
    let state = v.store.read(|c, k| db::load_inspection(c, k, &v.inspection_id)).unwrap().state();
    assert_eq!(state, InspectionState::PendingSignature, "a refused freeze changes nothing");
}

/// Requirement 6: a refusal needs a reason and a witness signature or a video reference.
#[test]
fn a_refusal_needs_a_reason_and_a_witness_or_a_video() {
    let v = visit();
    let r = build(&v);
    sign_as(&v, &r, SignerRole::Inspector, Some("insp-001"), 1).unwrap();
    sign_as(&v, &r, SignerRole::Inspector, Some("insp-002"), 2).unwrap();
    let missing = freeze_missing(service::freeze(&v.store, &v.signer, &r.record_id, t("10:50")).unwrap_err());
    assert_eq!(missing, vec!["record.freeze.party_signature_or_refusal"]);

    let mut req = RefuseRequest {
        record_id: r.record_id.clone(),
        shown_document_hash: r.document_hash.clone(),
        reason: "不认可检查结论".into(),
        noted_by: "insp-001".into(),
        witness: None,
        video_evidence_id: None,
        clock: harness::clock(),
        location: None,
    };
    let err = record_error(service::refuse(&v.store, &v.signer, &req).unwrap_err());
    assert!(
        matches!(err, RecordError::NotAllowed { rule: "record.refusal.witness_or_video", .. }),
        "{err:?}"
    );
    let photo = v
        .store
        .read(|c, k| fieldseal_core::store::evidence::list_for_inspection(c, k, &v.inspection_id))
        .unwrap();
    req.video_evidence_id = Some(photo[0].id.clone());
    let err = record_error(service::refuse(&v.store, &v.signer, &req).unwrap_err());
    assert!(matches!(err, RecordError::Invalid { .. }), "a photo is not a video of the refusal: {err:?}");
    req.video_evidence_id = None;
    req.reason = "  ".into();
    req.witness = Some(WitnessInput { name: "村委会 李见证".into(), strokes: Strokes::synthetic(8) });
    assert!(matches!(
        record_error(service::refuse(&v.store, &v.signer, &req).unwrap_err()),
        RecordError::Invalid { .. }
    ));
    req.reason = "不认可检查结论".into();
    service::refuse(&v.store, &v.signer, &req).unwrap();
    let frozen = service::freeze(&v.store, &v.signer, &r.record_id, t("10:55")).unwrap();
    let roles: Vec<(String, SignerRole)> = frozen.entries.iter().map(|e| (e.entry.clone(), e.role)).collect();
    assert!(roles.contains(&("refusal".into(), SignerRole::Party)));
    assert!(roles.contains(&("signature".into(), SignerRole::Witness)));
}

/// The rule itself, as the verifier and intake apply it: a refusal without witness or video fails.
#[test]
fn the_freeze_rules_refuse_an_unwitnessed_refusal_however_it_was_made() {
    let v = visit();
    let r = build(&v);
    sign_all(&v, &r);
    let entries = v.store.read(|c, k| persist::entries_of_record(c, k, &r.record_id)).unwrap();
    let sigs: Vec<statements::SignatureStatement> =
        entries.iter().map(|e| serde_json::from_value(e.envelope.payload.clone()).unwrap()).collect();
    let content = &r.document.content;
    assert!(statements::unmet_signature_rules(content, &sigs, &[], &|_| false).is_empty());
    let inspectors_only: Vec<_> =
        sigs.iter().filter(|s| s.signer.role == SignerRole::Inspector).cloned().collect();
    let refusal = statements::RefusalStatement {
        statement: statements::REFUSAL_TYPE.into(),
        v: 1,
        refusal_id: "r1".into(),
        record_id: r.record_id.clone(),
        revision: 1,
        document_hash: r.document_hash.clone(),
        page_hashes: r.page_hashes.clone(),
        reason: "拒绝签字".into(),
        noted_by: sigs.iter().find(|s| s.signer.role == SignerRole::Inspector).unwrap().signer.clone(),
        witness_signature_id: None,
        video_evidence_id: Some("v1".into()),
        clock: harness::clock(),
        device_key_id: "k".into(),
    };
    assert_eq!(
        statements::unmet_signature_rules(content, &inspectors_only, std::slice::from_ref(&refusal), &|_| {
            false
        }),
        vec!["record.freeze.refusal_witness_or_video"]
    );
    assert!(
        statements::unmet_signature_rules(content, &inspectors_only, &[refusal], &|id| id == "v1").is_empty()
    );
}

/// Requirement 7: after freezing the record never changes; further facts are an addendum that
/// names it by hash and is signed and frozen again.
#[test]
fn a_frozen_record_is_immutable_and_corrections_are_addenda() {
    let v = visit();
    let r = build(&v);
    sign_all(&v, &r);
    service::freeze(&v.store, &v.signer, &r.record_id, t("10:50")).unwrap();

    let revise = service::revise(
        &v.store,
        &r.record_id,
        RevisionRequest {
            reason: "补充".into(),
            by: "insp-001".into(),
            party_statement: None,
            at: t("11:00"),
        },
    );
    assert!(matches!(record_error(revise.unwrap_err()), RecordError::Frozen { action: "revise", .. }));
    assert!(matches!(
        record_error(sign_as(&v, &r, SignerRole::Party, None, 5).unwrap_err()),
        RecordError::Frozen { action: "sign", .. }
    ));
    assert!(matches!(
        record_error(service::freeze(&v.store, &v.signer, &r.record_id, t("11:00")).unwrap_err()),
        RecordError::Frozen { .. }
    ));
    // Even bypassing the service, the database refuses to touch a frozen row.
    let direct = v.store.write(|tx, _| {
        tx.execute("UPDATE records SET revision = 9 WHERE id = ?1", [&r.record_id])
            .map_err(StoreError::sql("tamper"))?;
        Ok(())
    });
    assert!(direct.is_err());
    // And the inspection's content is frozen with it.
    let answer = v.store.write(|tx, keys| {
        db::modify_inspection(tx, keys, &v.inspection_id, |i| {
            let item = i.checklist().unwrap().items().next().unwrap().id.clone();
            i.set_answer(
                &item,
                passing(&fieldseal_core::checklist::AnswerType::Result),
                "insp-001",
                Some("改"),
                t("11:00"),
            )
        })
    });
    assert!(answer.is_err());

    let addendum = service::add_addendum(
        &v.store,
        &r.record_id,
        &AddendumRequest {
            text: "离场后企业补交了危废转移联单复印件一份。".into(),
            by: "insp-002".into(),
            party_statement: PartyStatement::confirmed(),
            at: t("11:10"),
        },
    )
    .unwrap();
    let amends = addendum.document.content.amends.as_ref().unwrap();
    assert_eq!(
        (amends.record_id.as_str(), amends.document_hash.as_str()),
        (r.record_id.as_str(), r.document_hash.as_str())
    );
    assert!(addendum.pages[0].text().contains(&r.document_hash));
    sign_all(&v, &addendum);
    let frozen = service::freeze(&v.store, &v.signer, &addendum.record_id, t("11:20")).unwrap();
    assert!(frozen.frozen);
    let original = service::load(&v.store, &r.record_id).unwrap();
    assert_eq!(original.document_hash, r.document_hash, "the record itself did not change");
}

#[test]
fn strokes_and_signer_names_are_not_readable_in_the_database_file() {
    let v = visit();
    let r = build(&v);
    sign_all(&v, &r);
    drop(v.store);
    let mut bytes = Vec::new();
    for name in ["fieldseal.db", "fieldseal.db-wal"] {
        if let Ok(b) = std::fs::read(v.dir.path().join("data").join(name)) {
            bytes.extend(b);
        }
    }
    for needle in ["周安全".as_bytes(), b"\"strokes\"", b"\x89PNG", "现场检查笔录".as_bytes()] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{:?} readable on disk",
            String::from_utf8_lossy(needle)
        );
    }
}
