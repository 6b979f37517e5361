//! `isc-operator plan` on manifests that name tenant objects: the names are resolved on the
//! tenant before planning, and a name that does not resolve is that manifest's problem.

use isc_client::TenantClient;
use isc_operator::api::TransformSpec;
use isc_operator::cli::plan_model::ModelManifests;
use isc_operator::cli::plan_names::{mark_unresolved, resolve_names, resolved_transform};
use isc_operator::cli::preview::{load_profiles, preview, render};
use isc_operator::controller::profile::diff::ProfilePlan;
use isc_operator::controller::references::ReferenceCache;
use secrecy::SecretString;

const MANIFESTS: &str = "apiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityProfile\nmetadata:\n  name: staff\nspec:\n  tenantRef:\n    name: demo\n  name: Staff\n  authoritativeSource:\n    name: HR Employees\n  owner:\n    alias: ada.lovelace\n---\napiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityProfile\nmetadata:\n  name: interns\nspec:\n  tenantRef:\n    name: demo\n  name: Interns\n  authoritativeSource:\n    name: HR Interns\n";

#[tokio::test]
async fn names_are_resolved_before_planning_and_an_unknown_one_is_that_manifests_problem() {
    isc_client::client::install_crypto_provider();
    let sim = isc_sim::start(
        isc_sim::SimConfig::new("plan-pat", "plan-secret"),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .expect("simulator");
    let mut config = isc_client::TenantClientConfig::new(
        &sim.base_url(),
        "plan-pat",
        SecretString::from("plan-secret".to_string()),
    )
    .unwrap();
    config.allow_insecure_http = true;
    let client = TenantClient::new(config).unwrap();
    let manifests = load_profiles(MANIFESTS).unwrap();
    let (resolved, unresolved) =
        resolve_names(&client, "the tenant", manifests, &ModelManifests::default())
            .await
            .expect("tenant answers");
    assert_eq!(unresolved.len(), 1);
    assert_eq!(unresolved[0].0, 1);
    assert!(
        unresolved[0].1.contains("no source named \"HR Interns\""),
        "{unresolved:?}"
    );
    let mut previews = preview(&resolved, &[]);
    mark_unresolved(&mut previews, &unresolved);
    let Ok(ProfilePlan::Create(body)) = &previews[0].plan else {
        panic!("{:?}", previews[0].plan);
    };
    assert_eq!(
        body.authoritative_source.id.as_deref(),
        Some("2c9180835d2e5168015d32f890ca1581")
    );
    assert!(body.owner.as_ref().unwrap().id.is_some());
    let report = render(&previews);
    assert!(report.contains("HR Interns"), "{report}");
    assert!(!previews[1].changes());
}

#[tokio::test]
async fn a_transforms_source_name_gets_the_id_its_controller_would_add() {
    isc_client::client::install_crypto_provider();
    let sim = isc_sim::start(
        isc_sim::SimConfig::new("plan-pat", "plan-secret"),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .expect("simulator");
    let mut config = isc_client::TenantClientConfig::new(
        &sim.base_url(),
        "plan-pat",
        SecretString::from("plan-secret".to_string()),
    )
    .unwrap();
    config.allow_insecure_http = true;
    let client = TenantClient::new(config).unwrap();
    let cache = ReferenceCache::new(std::time::Duration::from_secs(60));
    let spec = |source: &str| -> TransformSpec {
        serde_json::from_value(serde_json::json!({
            "tenantRef": {"name": "demo"}, "name": "Department", "type": "accountAttribute",
            "attributes": {"attributeName": "department", "sourceName": source}
        }))
        .unwrap()
    };
    let desired = resolved_transform(&client, &cache, &spec("HR Employees"))
        .await
        .expect("tenant answers")
        .expect("resolved");
    assert_eq!(
        desired.attributes["sourceId"],
        "2c9180835d2e5168015d32f890ca1581"
    );
    let unknown = resolved_transform(&client, &cache, &spec("HR Interns"))
        .await
        .expect("tenant answers")
        .unwrap_err();
    assert!(
        unknown.contains("no source named \"HR Interns\""),
        "{unknown}"
    );
}
