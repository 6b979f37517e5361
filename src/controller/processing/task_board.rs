//! The task board: the running tenant tasks of every request of a tenant, so one task-status
//! list call (up to [`super::follow::TASKS_PER_LIST`] ids) asks about the tasks of many
//! requests, not only of the request that makes it.
//!
//! A thousand one-identity requests each follow one task. Polled request by request, the poll
//! budget (a fifth of the tenant's rate limit) allows about two answers a second; a list call
//! that fills its free places with other requests' waiting tasks answers up to fifty. What the
//! call learns about another request's task is kept here as an answer until that request's
//! next reconcile takes it (no call of its own); a task the list does not show as finished
//! stays waiting. Everything here is memory of the process only: a restarted operator polls
//! each request's tasks itself again.
//!
//! Bounded: at most [`MAX_WAITING`] waiting tasks and [`MAX_ANSWERS`] answers per tenant;
//! waiting tasks nobody settled are forgotten after [`WAITING_MEMORY`] (their request was
//! deleted), answers nobody took after [`ANSWER_MEMORY`].

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use isc_client::models::{TaskOutcome, TaskStatus};

/// Waiting tasks kept per tenant at most (beyond it a request polls its tasks only itself).
pub const MAX_WAITING: usize = 100_000;
/// Answers kept per tenant at most.
pub const MAX_ANSWERS: usize = 100_000;
/// A waiting task no request settled for this long is forgotten.
pub const WAITING_MEMORY: Duration = Duration::from_secs(3600);
/// An answer no request took for this long is forgotten (its request polls itself again).
pub const ANSWER_MEMORY: Duration = Duration::from_secs(900);
/// How often the memory limits above are applied (a scan of the tenant's entries).
const PRUNE_EVERY: Duration = Duration::from_secs(30);

/// A running task some request follows.
#[derive(Debug, Clone)]
struct WaitingTask {
    /// The key its request's poll times are kept under (see `ProcessingState::polled`).
    poll_key: String,
    /// When it was first put on the board.
    since: Instant,
}

/// Another request's running task a list call may ask about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Companion {
    /// The tenant's task id.
    pub task_id: String,
    /// Its request's poll key: asked about now counts as polled for that request.
    pub poll_key: String,
}

/// One tenant's waiting tasks and the answers not taken yet.
#[derive(Debug)]
struct TenantTasks {
    waiting: HashMap<String, WaitingTask>,
    answers: HashMap<String, (TaskStatus, Instant)>,
    pruned: Instant,
}

impl TenantTasks {
    fn new(now: Instant) -> Self {
        TenantTasks {
            waiting: HashMap::new(),
            answers: HashMap::new(),
            pruned: now,
        }
    }

    fn prune(&mut self, now: Instant) {
        if now.saturating_duration_since(self.pruned) < PRUNE_EVERY {
            return;
        }
        self.pruned = now;
        let young =
            |since: Instant, memory: Duration| now.saturating_duration_since(since) < memory;
        self.waiting.retain(|_, t| young(t.since, WAITING_MEMORY));
        self.answers.retain(|_, (_, at)| young(*at, ANSWER_MEMORY));
    }
}

/// The running tasks of every request, by tenant identity; shared by the whole process.
#[derive(Debug, Default)]
pub struct TaskBoard {
    tenants: Mutex<HashMap<String, TenantTasks>>,
}

impl TaskBoard {
    fn with_tenant<T>(
        &self,
        tenant: &str,
        now: Instant,
        f: impl FnOnce(&mut TenantTasks) -> T,
    ) -> T {
        let mut tenants = self.tenants.lock().expect("task board lock");
        if !tenants.contains_key(tenant) {
            tenants.insert(tenant.to_string(), TenantTasks::new(now));
        }
        let tasks = tenants.get_mut(tenant).expect("inserted above");
        tasks.prune(now);
        let out = f(tasks);
        if tasks.waiting.is_empty() && tasks.answers.is_empty() {
            tenants.remove(tenant);
        }
        out
    }

    /// Puts a running task of a request on the board (once; later calls keep its place).
    pub fn waiting(&self, tenant: &str, task_id: &str, poll_key: &str, now: Instant) {
        self.with_tenant(tenant, now, |tasks| {
            if tasks.waiting.contains_key(task_id) || tasks.waiting.len() >= MAX_WAITING {
                return;
            }
            let task = WaitingTask {
                poll_key: poll_key.to_string(),
                since: now,
            };
            tasks.waiting.insert(task_id.to_string(), task);
        });
    }

    /// The finished status another request's list call brought for `task_id`, taken off the
    /// board (each answer is read once).
    pub fn take_answer(&self, tenant: &str, task_id: &str, now: Instant) -> Option<TaskStatus> {
        self.with_tenant(tenant, now, |tasks| {
            tasks.waiting.remove(task_id);
            tasks.answers.remove(task_id).map(|(task, _)| task)
        })
    }

    /// Up to `room` waiting tasks of other requests (none of `own`), those waiting longest
    /// first: the most likely to have finished.
    pub fn companions(
        &self,
        tenant: &str,
        own: &HashSet<&str>,
        room: usize,
        now: Instant,
    ) -> Vec<Companion> {
        if room == 0 {
            return Vec::new();
        }
        self.with_tenant(tenant, now, |tasks| {
            let mut candidates: Vec<(&String, &WaitingTask)> = tasks
                .waiting
                .iter()
                .filter(|(id, _)| !own.contains(id.as_str()))
                .collect();
            if candidates.len() > room {
                candidates.select_nth_unstable_by_key(room, |(_, t)| t.since);
                candidates.truncate(room);
            }
            candidates
                .into_iter()
                .map(|(id, t)| Companion {
                    task_id: id.clone(),
                    poll_key: t.poll_key.clone(),
                })
                .collect()
        })
    }

    /// Keeps what a list call said about other requests' tasks: a finished one becomes an
    /// answer for its request; one still running stays waiting.
    pub fn answered<'a>(
        &self,
        tenant: &str,
        listed: impl IntoIterator<Item = &'a TaskStatus>,
        now: Instant,
    ) {
        self.with_tenant(tenant, now, |tasks| {
            for task in listed {
                if task.outcome() == TaskOutcome::Running
                    || tasks.waiting.remove(&task.id).is_none()
                    || tasks.answers.len() >= MAX_ANSWERS
                {
                    continue;
                }
                tasks.answers.insert(task.id.clone(), (task.clone(), now));
            }
        });
    }

    /// Takes a task its own request settled off the board.
    pub fn settled(&self, tenant: &str, task_id: &str, now: Instant) {
        self.with_tenant(tenant, now, |tasks| {
            tasks.waiting.remove(task_id);
            tasks.answers.remove(task_id);
        });
    }

    /// Waiting tasks and answers held for `tenant` (for tests and metrics).
    pub fn held(&self, tenant: &str) -> (usize, usize) {
        let tenants = self.tenants.lock().expect("task board lock");
        tenants
            .get(tenant)
            .map_or((0, 0), |t| (t.waiting.len(), t.answers.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, completion: Option<&str>) -> TaskStatus {
        TaskStatus {
            id: id.to_string(),
            completion_status: completion.map(str::to_string),
            ..TaskStatus::default()
        }
    }

    #[test]
    fn a_finished_companion_is_answered_once_to_its_request() {
        let board = TaskBoard::default();
        let t0 = Instant::now();
        board.waiting("t", "a", "uid-a/a", t0);
        board.waiting("t", "b", "uid-b/b", t0);
        let own = HashSet::from(["a"]);
        let companions = board.companions("t", &own, 49, t0);
        assert_eq!(
            companions,
            vec![Companion {
                task_id: "b".into(),
                poll_key: "uid-b/b".into()
            }]
        );
        board.answered("t", &[task("b", Some("SUCCESS"))], t0);
        assert_eq!(board.held("t"), (1, 1), "a waits, b is answered");
        let answer = board.take_answer("t", "b", t0).expect("answer for b");
        assert_eq!(answer.completion_status.as_deref(), Some("SUCCESS"));
        assert!(board.take_answer("t", "b", t0).is_none(), "read once");
    }

    #[test]
    fn a_running_companion_stays_waiting() {
        let board = TaskBoard::default();
        let t0 = Instant::now();
        board.waiting("t", "b", "uid-b/b", t0);
        board.answered("t", &[task("b", None)], t0);
        assert_eq!(board.held("t"), (1, 0));
        assert!(board.take_answer("t", "b", t0).is_none());
    }

    #[test]
    fn companions_are_the_longest_waiting_and_fill_only_the_room() {
        let board = TaskBoard::default();
        let t0 = Instant::now();
        for i in 0..100u64 {
            let id = format!("task-{i:03}");
            board.waiting(
                "t",
                &id,
                &format!("uid/{id}"),
                t0 + Duration::from_millis(i),
            );
        }
        let none = HashSet::new();
        let mut picked: Vec<String> = board
            .companions("t", &none, 10, t0)
            .into_iter()
            .map(|c| c.task_id)
            .collect();
        picked.sort();
        let oldest: Vec<String> = (0..10).map(|i| format!("task-{i:03}")).collect();
        assert_eq!(picked, oldest);
        assert!(board.companions("t", &none, 0, t0).is_empty());
    }

    #[test]
    fn tenants_do_not_share_tasks() {
        let board = TaskBoard::default();
        let t0 = Instant::now();
        board.waiting("t1", "a", "uid/a", t0);
        assert!(board.companions("t2", &HashSet::new(), 50, t0).is_empty());
        board.answered("t2", &[task("a", Some("SUCCESS"))], t0);
        assert_eq!(
            board.held("t1"),
            (1, 0),
            "another tenant's list says nothing"
        );
    }

    #[test]
    fn forgotten_entries_are_pruned_and_settled_ones_removed() {
        let board = TaskBoard::default();
        let t0 = Instant::now();
        board.waiting("t", "stale", "uid/stale", t0);
        board.waiting("t", "done", "uid/done", t0);
        board.settled("t", "done", t0);
        assert_eq!(board.held("t"), (1, 0));
        let later = t0 + WAITING_MEMORY + PRUNE_EVERY;
        board.waiting("t", "new", "uid/new", later);
        assert_eq!(board.held("t"), (1, 0), "the stale task was forgotten");
    }
}
