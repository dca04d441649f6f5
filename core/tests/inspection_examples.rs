//! The example data in `examples/` is valid and behaves as the domain expects.

mod inspection_support;

use fieldseal_core::{
    checklist::{AnswerType, check_template_json},
    model::{PermitItemKind, Uscc, expand},
};
use inspection_support::*;

#[test]
fn every_example_template_validates() {
    let dir = examples().join("templates");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let (t, problems) = check_template_json(&std::fs::read_to_string(&path).unwrap());
        assert!(problems.is_empty(), "{}: {problems:#?}", path.display());
        assert!(t.is_some());
        count += 1;
    }
    assert!(count >= 3, "at least three example templates, found {count}");
}

#[test]
fn example_register_loads_with_valid_usccs_and_one_expired_inspector() {
    let reg = register();
    for e in &reg.register().enterprises {
        Uscc::parse(&e.uscc).unwrap();
    }
    assert!(reg.register().inspectors.len() >= 4);
    let day = date(DAY);
    let expired = reg.register().inspectors.iter().filter(|i| i.certificate_problem(day).is_some()).count();
    assert!(expired >= 1);
    assert_eq!(reg.content_hash().len(), 64);
}

#[test]
fn thermal_template_expands_one_item_per_outlet_with_placeholders_filled() {
    let reg = register();
    let c = expand(&thermal(), &reg, "ent-thermal").unwrap();
    let outlets: Vec<_> = c.items().filter(|i| i.template_item_id == "outlet.sign").collect();
    assert_eq!(outlets.len(), 3);
    assert_eq!(outlets[0].id, "outlet.sign#DA001");
    assert_eq!(outlets[0].permit_item.as_ref().unwrap().kind, PermitItemKind::Outlet);
    assert!(outlets[0].check_point.starts_with("1#锅炉烟囱"), "{}", outlets[0].check_point);
    let so2 = c.item("emission.compliant#PL-SO2").unwrap();
    assert!(so2.pass_criterion.contains("35 mg/m³"), "{}", so2.pass_criterion);
    // The conditional problem type binds to the same CEMS as its condition.
    let issue = c.item("cems.issue#SM-CEMS2").unwrap();
    assert_eq!(issue.show_if.as_ref().unwrap().item, "cems.networked#SM-CEMS2");
    assert_eq!((c.template_id.as_str(), c.template_version.as_str()), ("tpl.thermal-power.permit", "2025.1"));
    assert_eq!(c.register_version, reg.version());
    assert!(matches!(c.item("emission.hourly#PL-NOX").unwrap().answer, AnswerType::Number { .. }));
}

#[test]
fn every_template_expands_for_an_enterprise_it_fits() {
    let reg = register();
    for (file, ent) in [
        ("hazardous-waste-storage.json", "ent-chem"),
        ("wastewater-online-monitoring.json", "ent-wwtp"),
        ("thermal-power-permit.json", "ent-thermal"),
    ] {
        let c = expand(&template(file), &reg, ent).unwrap();
        assert!(c.items().any(|i| i.permit_item.is_some()), "{file} expands over {ent}'s permit");
    }
}
