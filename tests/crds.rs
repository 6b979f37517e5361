//! `crds/` is generated from the Rust types; this fails when the two drift apart.

#[test]
fn committed_crds_match_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/crds/isc-operator.yaml");
    let committed = std::fs::read_to_string(path).expect("crds/isc-operator.yaml exists");
    let generated = isc_operator::api::crds_yaml();
    assert!(
        committed == generated,
        "crds/isc-operator.yaml is stale: regenerate it with `cargo run -- crds > crds/isc-operator.yaml`"
    );
}

#[test]
fn crds_are_structural_and_namespaced() {
    for crd in isc_operator::api::all_crds() {
        assert_eq!(crd.spec.group, isc_operator::api::GROUP);
        assert_eq!(crd.spec.scope, "Namespaced");
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, isc_operator::api::VERSION);
        assert!(
            version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some(),
            "{} has a status subresource",
            crd.spec.names.kind
        );
        assert!(
            version
                .additional_printer_columns
                .as_ref()
                .is_some_and(|c| c.len() >= 3),
            "{} has printer columns",
            crd.spec.names.kind
        );
    }
}
