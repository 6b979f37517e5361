//! The task-status lists (`GET /v2024/task-status`, `GET|HEAD /v2024/task-status/pending-tasks`)
//! and the fields a client narrows on to find the task its lost call created.

pub mod common;

use common::*;

/// Starts one task of each kind the simulator creates; returns their ids in creation order.
async fn start_one_task_of_each_kind(env: &Env) -> Vec<String> {
    let profile = env.create_profile("Tasks", EMPLOYEES, 1).await;
    let profile_id = profile["id"].as_str().unwrap();
    let ids = identity_ids(env, 2).await;
    let mut tasks = Vec::new();
    let r = env
        .post_exp(
            "/v2024/identities/process",
            Some(json!({"identityIds": ids})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    tasks.push(r.body["id"].as_str().unwrap().to_string());
    let r = env
        .post(
            &format!("/v2024/identity-profiles/{profile_id}/process-identities"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let r = env.admin_request(Method::GET, "/__sim/tasks", None).await;
    tasks.push(r.body[1]["id"].as_str().unwrap().to_string());
    let r = env
        .send(
            Method::POST,
            "/cc/api/system/refreshIdentities",
            Some(&env.pat),
            Some((
                "application/json",
                json!({"filter": "", "refreshArgs": {}}).to_string(),
            )),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    tasks.push(r.body["id"].as_str().unwrap().to_string());
    let r = env
        .send(
            Method::DELETE,
            &format!("/v2024/identity-profiles/{profile_id}"),
            Some(&env.pat),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    tasks.push(r.body["id"].as_str().unwrap().to_string());
    tasks
}

/// The list holds exactly `tasks`, sorted by `created`, newest first (ties in any order:
/// `created` has millisecond resolution).
fn assert_newest_first(body: &Value, tasks: &[String]) {
    let mut got = ids_of(body);
    let created: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["created"].as_str().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "{created:?}");
    got.sort();
    let mut want = tasks.to_vec();
    want.sort();
    assert_eq!(got, want);
}

fn ids_of(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap_or_else(|| panic!("not a list: {body}"))
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn task_status_lists_as_documented() {
    let mut config = config();
    config.task_duration = Duration::from_millis(1500);
    let env = start_with(config).await;
    let before = chrono::Utc::now();
    let tasks = start_one_task_of_each_kind(&env).await;

    // While they run: the pending list has them; the completed list does not.
    let pending = env.get("/v2024/task-status/pending-tasks?count=true").await;
    assert_eq!(pending.status, StatusCode::OK);
    assert_eq!(ids_of(&pending.body), tasks);
    assert_eq!(pending.headers["x-total-count"], "4");
    let page = env
        .get("/v2024/task-status/pending-tasks?limit=2&offset=1")
        .await;
    assert_eq!(ids_of(&page.body), tasks[1..3]);
    let head = env
        .send(
            Method::HEAD,
            "/v2024/task-status/pending-tasks?count=true",
            Some(&env.pat),
            None,
            &[],
        )
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers["x-total-count"], "4");
    assert_eq!(head.body, Value::Null);
    assert_eq!(env.get("/v2024/task-status").await.body, json!([]));
    let running = env
        .get(&format!(
            "/v2024/task-status?filters={}&sorters=-created",
            urlencode("completionStatus isnull")
        ))
        .await;
    assert_newest_first(&running.body, &tasks);

    // Every task carries what a client narrows on.
    for task in pending.body.as_array().unwrap() {
        assert_eq!(task["type"], "QUEUED_TASK");
        assert_eq!(task["launcher"], PAT_ID);
        assert!(task["completionStatus"].is_null());
        assert!(task["completed"].is_null());
        let created = chrono::DateTime::parse_from_rfc3339(task["created"].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert!(created >= before - chrono::Duration::seconds(1));
        assert!(created <= chrono::Utc::now());
    }
    let names: Vec<&str> = pending
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["uniqueName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Identity Processing",
            "Identity Profile Process",
            "Refresh Identities (full)",
            "Identity Profile Delete"
        ]
    );

    // Once complete: the completed list has them, with the documented filters and sorter.
    for id in &tasks {
        env.wait_task(id).await;
    }
    let pending = env.get("/v2024/task-status/pending-tasks").await;
    assert_eq!(pending.body, json!([]));
    let done = env.get("/v2024/task-status?count=true").await;
    assert_eq!(ids_of(&done.body), tasks);
    assert_eq!(done.headers["x-total-count"], "4");
    for task in done.body.as_array().unwrap() {
        assert_eq!(task["completionStatus"], "SUCCESS");
        assert!(task["completed"].is_string());
        assert!(task["launched"].is_string());
    }
    let env = &env;
    let filtered = |filter: &str| {
        let path = format!("/v2024/task-status?filters={}", urlencode(filter));
        async move { env.get(&path).await }
    };
    assert_eq!(
        ids_of(&filtered(&format!("id eq \"{}\"", tasks[2])).await.body),
        [tasks[2].clone()]
    );
    assert_eq!(
        ids_of(
            &filtered(&format!("id in (\"{}\", \"{}\")", tasks[0], tasks[3]))
                .await
                .body
        ),
        [tasks[0].clone(), tasks[3].clone()]
    );
    assert_eq!(
        ids_of(&filtered("type eq \"QUEUED_TASK\"").await.body),
        tasks
    );
    assert_eq!(
        filtered("type in (\"QUARTZ\", \"QPOC\")").await.body,
        json!([])
    );
    assert_eq!(
        ids_of(&filtered("completionStatus eq \"Success\"").await.body),
        tasks
    );
    assert_eq!(filtered("sourceId eq \"x\"").await.body, json!([]));
    let newest = env.get("/v2024/task-status?sorters=-created").await;
    assert_newest_first(&newest.body, &tasks);
    let one = env.get("/v2024/task-status?sorters=-created&limit=1").await;
    assert_eq!(ids_of(&one.body), ids_of(&newest.body)[..1]);
    let page = env.get("/v2024/task-status?offset=3").await;
    assert_eq!(ids_of(&page.body), [tasks[3].clone()]);

    // What the document does not offer is refused.
    for (query, needle) in [
        ("filters=launcher%20eq%20%22x%22", "launcher"),
        ("filters=type%20sw%20%22Q%22", "sw"),
        ("sorters=launcher", "launcher"),
        ("limit=251", "limit"),
    ] {
        env.get(&format!("/v2024/task-status?{query}"))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "400.1 Bad Request Content", needle);
    }
    env.get("/v2024/task-status/pending-tasks?offset=-1")
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "400.1 Bad Request Content",
            "offset",
        );
}
