//! The identity-attribute and transform calls against the simulator: what goes on the wire
//! (from the journal), what is refused before any call, and which calls are retried.

#[allow(dead_code)] // shared helpers, not all used here
mod support;

use isc_client::filter::Filter;
use isc_client::models::{IdentityAttribute, Transform};
use isc_client::{ErrorClass, IscError, ListParams};
use serde_json::json;
use support::*;

fn attribute(name: &str) -> IdentityAttribute {
    IdentityAttribute {
        name: name.to_string(),
        display_name: Some(name.to_uppercase()),
        r#type: Some("string".into()),
        ..Default::default()
    }
}

fn transform(name: &str) -> Transform {
    Transform {
        name: name.to_string(),
        kind: "lower".into(),
        attributes: Some(
            json!({"input": {"type": "static", "attributes": {"value": name}}})
                .as_object()
                .unwrap()
                .clone(),
        ),
        ..Default::default()
    }
}

async fn methods_and_statuses(admin: &SimAdmin) -> Vec<(String, u16)> {
    admin
        .api_calls()
        .await
        .iter()
        .map(|e| (e.method.clone(), e.status))
        .collect()
}

#[tokio::test]
async fn creates_answered_5xx_are_not_sent_again_but_a_put_is() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    let client = user_client(&sim);
    for path in ["/v2024/identity-attributes", "/v2024/transforms"] {
        admin
            .add_fault(json!({"method": "POST", "path": path, "count": 1, "status": 503}))
            .await;
    }
    let err = client
        .create_identity_attribute(&attribute("badge"))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err}");
    let err = client
        .create_transform(&transform("Lower"))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err}");
    assert_eq!(
        methods_and_statuses(&admin).await,
        [("POST".into(), 503), ("POST".into(), 503)]
    );

    let created = client
        .create_identity_attribute(&attribute("badge"))
        .await
        .unwrap();
    assert_eq!(created.name, "badge");
    let lower = client.create_transform(&transform("Lower")).await.unwrap();
    let id = lower.id.clone().expect("the tenant gives an id");
    assert_eq!(lower.internal, Some(false));
    admin.clear_journal().await;
    for path in ["/v2024/identity-attributes/badge", "/v2024/transforms/*"] {
        admin
            .add_fault(json!({"method": "PUT", "path": path, "count": 1, "status": 503}))
            .await;
    }
    let mut changed = attribute("badge");
    changed.display_name = Some("Badge number".into());
    let put = client
        .put_identity_attribute("badge", &changed)
        .await
        .unwrap();
    assert_eq!(put.display_name.as_deref(), Some("Badge number"));
    let mut attributes = lower.clone();
    attributes.attributes = None;
    let updated = client.update_transform(&id, &attributes).await.unwrap();
    assert_eq!((updated.attributes, updated.id), (None, Some(id)));
    assert_eq!(
        methods_and_statuses(&admin).await,
        [
            ("PUT".into(), 503),
            ("PUT".into(), 200),
            ("PUT".into(), 503),
            ("PUT".into(), 200)
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn names_and_ids_that_would_change_the_path_never_reach_the_tenant() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    let client = user_client(&sim);
    let refusals: Vec<Result<(), IscError>> = vec![
        client
            .get_identity_attribute("../identities")
            .await
            .map(|_| ()),
        client
            .create_identity_attribute(&attribute("a/b"))
            .await
            .map(|_| ()),
        client
            .put_identity_attribute("a?b", &attribute("a"))
            .await
            .map(|_| ()),
        client.delete_identity_attribute("").await,
        client.get_transform("a/b").await.map(|_| ()),
        client
            .update_transform("..", &transform("x"))
            .await
            .map(|_| ()),
        client.delete_transform("a#b").await,
    ];
    for result in refusals {
        assert!(
            matches!(result, Err(IscError::InvalidRequest(_))),
            "{result:?}"
        );
    }
    assert!(admin.api_calls().await.is_empty(), "nothing was sent");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_attribute_catalogue_is_one_call_and_writes_need_user_context() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    let app = app_client(&sim);
    let all = app.list_identity_attributes().await.unwrap();
    assert!(
        all.iter()
            .any(|a| a.name == "cloudLifecycleState" && a.system),
        "system attributes are asked for"
    );
    let calls = admin.api_calls().await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].query["includeSystem"], "true");
    assert_eq!(calls[0].query["includeSilent"], "true");

    admin.clear_journal().await;
    let err = app
        .create_identity_attribute(&attribute("badge"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    let err = app.delete_identity_attribute("email").await.unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    assert_eq!(
        methods_and_statuses(&admin).await,
        [("POST".into(), 403), ("DELETE".into(), 403)]
    );
    // Transforms need no user context.
    app.create_transform(&transform("Lower")).await.unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn every_transform_is_listed_once_across_pages() {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    let client = user_client(&sim);
    for name in ["Lower A", "Lower B", "Lower C", "Other"] {
        client.create_transform(&transform(name)).await.unwrap();
    }
    admin.clear_journal().await;
    let params = ListParams {
        filter: Some(Filter::starts_with("name", "Lower")),
        limit: Some(1),
        ..Default::default()
    };
    let listed = client.list_all_transforms(&params).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Lower A", "Lower B", "Lower C"]);
    let calls = admin.api_calls().await;
    assert_eq!(
        calls.len(),
        3,
        "one page per transform, the total known from the first"
    );
    assert_eq!(calls[0].query["filters"], r#"name sw "Lower""#);
    client
        .delete_transform(listed[0].id.as_deref().unwrap())
        .await
        .unwrap();
    let err = client
        .get_transform(listed[0].id.as_deref().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    sim.shutdown().await;
}
