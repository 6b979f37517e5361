use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

#[test]
fn clients_of_one_credential_share_a_limiter() {
    let limit = RateLimit::default();
    let a = shared_limiter(&url("https://share.example/"), "c1", limit).unwrap();
    let b = shared_limiter(&url("HTTPS://Share.Example:443"), "c1", limit).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    let other_client = shared_limiter(&url("https://share.example/"), "c2", limit).unwrap();
    assert!(!Arc::ptr_eq(&a, &other_client));
    let other_tenant = shared_limiter(&url("https://other.example/"), "c1", limit).unwrap();
    assert!(!Arc::ptr_eq(&a, &other_tenant));
}

#[test]
fn a_limiter_dies_with_its_last_client() {
    let limit = RateLimit::default();
    let first = shared_limiter(&url("https://drop.example/"), "c", limit).unwrap();
    let weak = Arc::downgrade(&first);
    drop(first);
    assert!(weak.upgrade().is_none());
    let second = shared_limiter(&url("https://drop.example/"), "c", limit).unwrap();
    assert!(!std::ptr::eq(weak.as_ptr(), Arc::as_ptr(&second)) || weak.upgrade().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_new_limiter_has_no_burst_credit() {
    let limiter = PacedLimiter::new(Duration::from_millis(100));
    let started = Instant::now();
    limiter.until_ready().await;
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(100),
        "the first call waits one period instead of spending a burst"
    );
    limiter.until_ready().await;
    assert_eq!(started.elapsed(), Duration::from_millis(200));
    // Idle for a long time: one call goes at once (the burst of one), the next one period later.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let idle = Instant::now();
    limiter.until_ready().await;
    assert_eq!(idle.elapsed(), Duration::ZERO);
    limiter.until_ready().await;
    assert_eq!(idle.elapsed(), Duration::from_millis(100));
}

#[test]
fn quota_never_exceeds_the_limit_in_any_window() {
    for (requests, per) in [
        (98, 10_000u64),
        (95, 10_000),
        (100, 1000),
        (10, 10_000),
        (2, 1000),
    ] {
        let limit = RateLimit {
            requests,
            per: Duration::from_millis(per),
        };
        let quota = quota_for(limit).unwrap();
        let worst = quota.burst_size().get() as u128
            + limit.per.as_nanos() / quota.replenish_interval().as_nanos();
        assert!(
            worst <= requests as u128,
            "{requests}/{per}ms allows {worst}"
        );
    }
}

#[test]
fn the_sustained_pace_is_one_under_the_limit() {
    let quota = quota_for(RateLimit::default()).unwrap();
    assert_eq!(quota.burst_size().get(), 1);
    assert_eq!(
        quota.replenish_interval(),
        TENANT_LIMIT_WINDOW / 97,
        "98 per 10 s: 97 paced calls plus the burst of one"
    );
}

#[test]
fn a_zero_window_is_a_configuration_error() {
    let limit = RateLimit {
        requests: 10,
        per: Duration::ZERO,
    };
    assert!(matches!(quota_for(limit), Err(IscError::Config(_))));
}

/// Starts `count` waits at `priority` on `limiter`, each recording its name in `order` when
/// granted; returns their tasks.
fn waiters(
    limiter: &Arc<PacedLimiter>,
    order: &Arc<Mutex<Vec<String>>>,
    priority: CallPriority,
    names: &[&str],
) -> Vec<tokio::task::JoinHandle<()>> {
    names
        .iter()
        .map(|name| {
            let limiter = Arc::clone(limiter);
            let order = Arc::clone(order);
            let name = name.to_string();
            tokio::spawn(priority.scope(async move {
                limiter.until_ready().await;
                order.lock().unwrap().push(name);
            }))
        })
        .collect()
}

/// Lets every spawned task run until it waits (paused time does not advance meanwhile).
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn foreground_calls_go_before_waiting_background_calls() {
    let limiter = Arc::new(PacedLimiter::new(Duration::from_millis(100)));
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = waiters(
        &limiter,
        &order,
        CallPriority::Background,
        &["b1", "b2", "b3"],
    );
    settle().await;
    tasks.extend(waiters(
        &limiter,
        &order,
        CallPriority::Foreground,
        &["f1", "f2"],
    ));
    let started = Instant::now();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        *order.lock().unwrap(),
        ["f1", "f2", "b1", "b2", "b3"],
        "the user's calls first, each lane in arrival order"
    );
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(500),
        "five calls, one slot each: the pace is unchanged"
    );
}

#[tokio::test(start_paused = true)]
async fn background_gets_a_slot_after_a_run_of_foreground_calls() {
    let limiter = Arc::new(PacedLimiter::new(Duration::from_millis(100)));
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = waiters(&limiter, &order, CallPriority::Background, &["b1", "b2"]);
    let foreground: Vec<String> = (1..=10).map(|i| format!("f{i}")).collect();
    let foreground: Vec<&str> = foreground.iter().map(String::as_str).collect();
    tasks.extend(waiters(
        &limiter,
        &order,
        CallPriority::Foreground,
        &foreground,
    ));
    for task in tasks {
        task.await.unwrap();
    }
    let order = order.lock().unwrap();
    let position = |name: &str| order.iter().position(|n| n == name).unwrap();
    let run = FOREGROUND_RUN as usize;
    assert_eq!(position("b1"), run, "{order:?}");
    assert_eq!(position("b2"), 2 * run + 1, "{order:?}");
    assert_eq!(order.len(), 12);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_wait_leaves_its_place_to_the_next_call() {
    let limiter = Arc::new(PacedLimiter::new(Duration::from_millis(100)));
    let order = Arc::new(Mutex::new(Vec::new()));
    let first = waiters(&limiter, &order, CallPriority::Foreground, &["gone"]);
    settle().await;
    let rest = waiters(&limiter, &order, CallPriority::Background, &["b1"]);
    settle().await;
    first[0].abort();
    let started = Instant::now();
    for task in rest {
        task.await.unwrap();
    }
    assert_eq!(*order.lock().unwrap(), ["b1"]);
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(100),
        "the slot the dropped wait would have taken"
    );
}

#[tokio::test(start_paused = true)]
async fn many_waiters_of_both_lanes_get_exactly_one_slot_per_period() {
    let limiter = Arc::new(PacedLimiter::new(Duration::from_millis(10)));
    let granted = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let limiter = Arc::clone(&limiter);
            let granted = Arc::clone(&granted);
            let priority = match i % 3 {
                0 => CallPriority::Background,
                _ => CallPriority::Foreground,
            };
            tokio::spawn(priority.scope(async move {
                limiter.until_ready().await;
                granted.fetch_add(1, Ordering::Relaxed);
            }))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(995)).await;
    assert_eq!(granted.load(Ordering::Relaxed), 99, "one per 10 ms");
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(started.elapsed(), Duration::from_millis(2000));
}

#[tokio::test]
async fn calls_outside_a_scope_are_foreground() {
    assert_eq!(CallPriority::current(), CallPriority::Foreground);
    let inner = CallPriority::Background
        .scope(async { CallPriority::current() })
        .await;
    assert_eq!(inner, CallPriority::Background);
}
