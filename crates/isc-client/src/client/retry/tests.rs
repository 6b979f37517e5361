use std::time::Duration;

use chrono::TimeZone;
use proptest::prelude::*;

use super::*;

const POLICY: RetryPolicy = RetryPolicy {
    max_retries: 4,
    min_delay: Duration::from_millis(200),
    max_delay: Duration::from_secs(10),
    max_rate_limited_retries: 5,
    max_retry_after: Duration::from_secs(60),
};

fn status(status: u16) -> LastTry {
    LastTry::Status {
        status,
        retry_after: None,
    }
}

fn rate_limited(retry_after: Option<Duration>) -> LastTry {
    LastTry::Status {
        status: 429,
        retry_after,
    }
}

fn retry_after(secs: u64) -> RetryDecision {
    RetryDecision::Retry {
        after: Duration::from_secs(secs),
    }
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn decide(count: RetryCount, last: LastTry, resendable: bool) -> RetryDecision {
    decide_retry(count, &last, resendable, &POLICY, 0.0)
}

#[test]
fn backoff_doubles_from_min_delay_and_stops_after_max_retries() {
    let delays: Vec<_> = (0..6).map(|s| backoff_delay(s, &POLICY, 0.0)).collect();
    assert_eq!(
        delays,
        vec![
            Some(ms(200)),
            Some(ms(400)),
            Some(ms(800)),
            Some(ms(1600)),
            None,
            None
        ]
    );
}

#[test]
fn jitter_adds_up_to_one_base_delay() {
    assert_eq!(backoff_delay(1, &POLICY, 0.5), Some(ms(600)));
    assert_eq!(
        backoff_delay(1, &POLICY, 0.999),
        Some(Duration::from_nanos(799_600_000))
    );
    // Out-of-range jitter is clamped, never trusted.
    assert_eq!(backoff_delay(1, &POLICY, 7.0), Some(ms(800)));
    assert_eq!(backoff_delay(1, &POLICY, -1.0), Some(ms(400)));
    assert_eq!(backoff_delay(1, &POLICY, f64::NAN), Some(ms(400)));
}

#[test]
fn backoff_is_capped_at_max_delay() {
    let policy = RetryPolicy {
        max_retries: 100,
        ..POLICY
    };
    assert_eq!(
        backoff_delay(6, &policy, 0.0),
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        backoff_delay(6, &policy, 0.99),
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        backoff_delay(99, &policy, 0.5),
        Some(Duration::from_secs(10))
    );
    // A first delay above the cap is capped too.
    let inverted = RetryPolicy {
        min_delay: Duration::from_secs(30),
        ..POLICY
    };
    assert_eq!(
        backoff_delay(0, &inverted, 0.0),
        Some(Duration::from_secs(10))
    );
    // A zero delay stays zero however many steps.
    let zero = RetryPolicy {
        min_delay: Duration::ZERO,
        max_retries: usize::MAX,
        ..POLICY
    };
    assert_eq!(
        backoff_delay(usize::MAX - 1, &zero, 0.9),
        Some(Duration::ZERO)
    );
}

#[test]
fn server_errors_are_retried_only_when_resendable() {
    for code in [500, 502, 503, 504] {
        assert_eq!(
            decide(RetryCount::default(), status(code), true),
            RetryDecision::Retry { after: ms(200) },
            "{code}"
        );
        assert_eq!(
            decide(RetryCount::default(), status(code), false),
            RetryDecision::GiveUp,
            "{code}"
        );
    }
    let used_up = RetryCount {
        backoff: 4,
        rate_limited: 0,
    };
    assert_eq!(decide(used_up, status(503), true), RetryDecision::GiveUp);
}

#[test]
fn client_errors_are_final_for_every_method() {
    for code in [400, 401, 403, 404, 409, 422] {
        for resendable in [true, false] {
            assert_eq!(
                decide(RetryCount::default(), status(code), resendable),
                RetryDecision::GiveUp,
                "{code}"
            );
        }
    }
}

#[test]
fn transport_failures_are_retried_only_when_resendable() {
    use TransportFailure::*;
    for failure in [ConnectFailed, TimedOut, Other, ResponseLost] {
        let last = LastTry::NoResponse(failure);
        assert_eq!(
            decide(RetryCount::default(), last, true),
            RetryDecision::Retry { after: ms(200) }
        );
        assert_eq!(
            decide(RetryCount::default(), last, false),
            RetryDecision::GiveUp
        );
    }
    assert!(!ConnectFailed.may_have_reached_tenant());
    assert!(TimedOut.may_have_reached_tenant());
    assert!(Other.may_have_reached_tenant());
    assert!(ResponseLost.may_have_reached_tenant());
}

#[test]
fn a_429_honours_retry_after_for_every_method() {
    for resendable in [true, false] {
        assert_eq!(
            decide(
                RetryCount::default(),
                rate_limited(Some(Duration::from_secs(3))),
                resendable
            ),
            retry_after(3)
        );
    }
    // Retry-After does not draw from the backoff budget.
    let backoff_used_up = RetryCount {
        backoff: 4,
        rate_limited: 0,
    };
    assert_eq!(
        decide(backoff_used_up, rate_limited(Some(Duration::ZERO)), false),
        retry_after(0)
    );
}

#[test]
fn a_429_without_retry_after_uses_the_backoff() {
    assert_eq!(
        decide(RetryCount::default(), rate_limited(None), false),
        RetryDecision::Retry { after: ms(200) }
    );
    let second = RetryCount {
        backoff: 1,
        rate_limited: 1,
    };
    assert_eq!(
        decide(second, rate_limited(None), false),
        RetryDecision::Retry { after: ms(400) }
    );
    let backoff_used_up = RetryCount {
        backoff: 4,
        rate_limited: 1,
    };
    assert_eq!(
        decide(backoff_used_up, rate_limited(None), true),
        RetryDecision::GiveUp
    );
}

#[test]
fn a_429_gives_up_after_max_rate_limited_retries() {
    let at_limit = RetryCount {
        backoff: 0,
        rate_limited: 5,
    };
    let below = RetryCount {
        backoff: 0,
        rate_limited: 4,
    };
    let last = rate_limited(Some(Duration::from_secs(1)));
    assert_eq!(decide(below, last, true), retry_after(1));
    assert_eq!(decide(at_limit, last, true), RetryDecision::GiveUp);
}

#[test]
fn a_retry_after_longer_than_the_policy_allows_is_handed_back() {
    assert_eq!(
        decide(
            RetryCount::default(),
            rate_limited(Some(Duration::from_secs(60))),
            true
        ),
        retry_after(60)
    );
    assert_eq!(
        decide(
            RetryCount::default(),
            rate_limited(Some(Duration::from_secs(61))),
            true
        ),
        RetryDecision::GiveUp
    );
    assert_eq!(
        decide(
            RetryCount::default(),
            rate_limited(Some(Duration::MAX)),
            true
        ),
        RetryDecision::GiveUp
    );
}

#[test]
fn counts_advance_by_the_budget_a_retry_draws_from() {
    let start = RetryCount::default();
    assert_eq!(
        start.after(&status(503)),
        RetryCount {
            backoff: 1,
            rate_limited: 0
        }
    );
    assert_eq!(
        start.after(&LastTry::NoResponse(TransportFailure::TimedOut)),
        RetryCount {
            backoff: 1,
            rate_limited: 0
        }
    );
    assert_eq!(
        start.after(&rate_limited(Some(Duration::from_secs(1)))),
        RetryCount {
            backoff: 0,
            rate_limited: 1
        }
    );
    assert_eq!(
        start.after(&rate_limited(None)),
        RetryCount {
            backoff: 1,
            rate_limited: 1
        }
    );
}

#[test]
fn a_call_retries_exactly_the_policy_budget() {
    // Walk the executor's loop: a 503 every time, resendable.
    let mut count = RetryCount::default();
    let mut retries = 0;
    while let RetryDecision::Retry { .. } = decide(count, status(503), true) {
        count = count.after(&status(503));
        retries += 1;
    }
    assert_eq!(retries, POLICY.max_retries);
    // A 429 with Retry-After every time.
    let last = rate_limited(Some(Duration::from_secs(1)));
    let mut count = RetryCount::default();
    let mut retries = 0;
    while let RetryDecision::Retry { .. } = decide(count, last, false) {
        count = count.after(&last);
        retries += 1;
    }
    assert_eq!(retries, POLICY.max_rate_limited_retries);
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap()
}

#[test]
fn retry_after_parses_seconds_and_dates() {
    assert_eq!(parse_retry_after("3", now()), Some(Duration::from_secs(3)));
    assert_eq!(parse_retry_after(" 0.5 ", now()), Some(ms(500)));
    assert_eq!(parse_retry_after("0", now()), Some(Duration::ZERO));
    assert_eq!(
        parse_retry_after("Thu, 02 Jan 2025 03:04:15 GMT", now()),
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now()),
        Some(Duration::ZERO)
    );
    for junk in ["soon", "", "-1", "NaN", "inf", "1e400", "0x10"] {
        assert_eq!(parse_retry_after(junk, now()), None, "{junk:?}");
    }
}

#[test]
fn a_huge_retry_after_saturates_instead_of_panicking() {
    assert_eq!(parse_retry_after("1e30", now()), Some(Duration::MAX));
    assert_eq!(
        parse_retry_after("18446744073709551616", now()),
        Some(Duration::MAX)
    );
    assert_eq!(
        parse_retry_after("18446744073709551615", now()),
        Some(Duration::MAX)
    );
}

#[test]
fn the_retry_after_header_is_read_from_a_response() {
    let mut headers = reqwest::header::HeaderMap::new();
    assert_eq!(retry_after_header(&headers), None);
    headers.insert(
        reqwest::header::RETRY_AFTER,
        reqwest::header::HeaderValue::from_static("2"),
    );
    assert_eq!(retry_after_header(&headers), Some(Duration::from_secs(2)));
}

fn any_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..120_000).prop_map(Duration::from_millis),
        any::<u64>().prop_map(Duration::from_nanos),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        Just(Duration::MAX),
        Just(Duration::ZERO),
    ]
}

fn any_policy() -> impl Strategy<Value = RetryPolicy> {
    (
        prop_oneof![0usize..10, any::<usize>()],
        any_duration(),
        any_duration(),
        prop_oneof![0usize..10, any::<usize>()],
        any_duration(),
    )
        .prop_map(
            |(max_retries, min_delay, max_delay, max_rate_limited_retries, max_retry_after)| {
                RetryPolicy {
                    max_retries,
                    min_delay,
                    max_delay,
                    max_rate_limited_retries,
                    max_retry_after,
                }
            },
        )
}

fn any_last_try() -> impl Strategy<Value = LastTry> {
    prop_oneof![
        prop_oneof![
            Just(TransportFailure::ConnectFailed),
            Just(TransportFailure::TimedOut),
            Just(TransportFailure::Other),
            Just(TransportFailure::ResponseLost),
        ]
        .prop_map(LastTry::NoResponse),
        (
            prop_oneof![Just(429u16), Just(503u16), 100u16..1000],
            proptest::option::of(any_duration())
        )
            .prop_map(|(status, retry_after)| LastTry::Status {
                status,
                retry_after
            }),
    ]
}

proptest! {
    #[test]
    fn the_decision_never_panics_and_never_waits_longer_than_the_policy_allows(
        backoff in prop_oneof![0usize..20, any::<usize>()],
        rate_limited in prop_oneof![0usize..20, any::<usize>()],
        last in any_last_try(),
        resendable in any::<bool>(),
        policy in any_policy(),
        jitter in prop_oneof![0.0f64..1.0, any::<f64>()],
    ) {
        let count = RetryCount { backoff, rate_limited };
        if let RetryDecision::Retry { after } = decide_retry(count, &last, resendable, &policy, jitter) {
            match last {
                LastTry::Status { status: 429, retry_after } => {
                    prop_assert!(after <= policy.max_retry_after);
                    prop_assert!(rate_limited < policy.max_rate_limited_retries);
                    if retry_after.is_none() {
                        prop_assert!(after <= policy.max_delay);
                        prop_assert!(backoff < policy.max_retries);
                    }
                }
                _ => {
                    prop_assert!(resendable);
                    prop_assert!(after <= policy.max_delay);
                    prop_assert!(backoff < policy.max_retries);
                }
            }
        }
    }

    #[test]
    fn backoff_stays_between_the_base_delay_and_max_delay(
        step in 0usize..200,
        policy in any_policy(),
        jitter in 0.0f64..1.0,
    ) {
        if let Some(delay) = backoff_delay(step, &policy, jitter) {
            prop_assert!(delay <= policy.max_delay);
            prop_assert!(delay >= policy.min_delay.min(policy.max_delay));
        }
    }

    #[test]
    fn retry_after_parsing_never_panics(text in ".{0,40}", secs in any::<f64>()) {
        let _ = parse_retry_after(&text, now());
        let _ = parse_retry_after(&secs.to_string(), now());
        let _ = parse_retry_after(&format!("{secs:e}"), now());
    }
}
