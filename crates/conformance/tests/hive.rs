//! The hive fixture's cases, run in process: every one passes, and a wrong expectation fails.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use snapsync_conformance::{CaseFile, CaseKind, Fixture, run};
use snapsync_primitives::test_utils::require_fixture;

#[test]
fn every_hive_case_passes() {
    let Some(dir) = require_fixture("every_hive_case_passes", "geth-hive") else { return };
    let fixture = Fixture::load(&dir).unwrap();
    assert!(fixture.notes().is_empty(), "{:?}", fixture.notes());
    assert_eq!(fixture.head_number(), Some(600));
    assert!(!fixture.serves_genesis());
    let cases = CaseFile::load(&dir.join("snap-cases.json")).unwrap();
    let report = run(&fixture, &cases).unwrap();
    let failures: Vec<String> = report.failure_lines().collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(report.summary(), "36 passed, 0 failed");
}

#[test]
fn a_wrong_expectation_is_reported_with_the_case_name() {
    let Some(dir) = require_fixture("a_wrong_expectation_is_reported", "geth-hive") else { return };
    let fixture = Fixture::load(&dir).unwrap();
    let mut cases = CaseFile::load(&dir.join("snap-cases.json")).unwrap();
    let CaseKind::ByteCodes(codes) =
        &mut cases.cases.iter_mut().find(|c| c.name == "codes-all").unwrap().kind
    else {
        panic!("codes-all is a bytecodes case")
    };
    codes.count += 1;
    let report = run(&fixture, &cases).unwrap();
    let failures: Vec<String> = report.failure_lines().collect();
    assert_eq!(failures, vec!["FAIL codes-all: expected 66 codes, got 65".to_owned()]);
    assert_eq!(report.summary(), "35 passed, 1 failed");
}
