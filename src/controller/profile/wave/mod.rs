//! Creation waves: new profiles of one tenant that are ready to be created at the same time are
//! created together, so N creates cost one fresh list and ⌈N/batch⌉ import calls instead of a
//! list and a POST each.
//!
//! - A reconcile that must create a profile writes its `pendingCreate` marker, then joins the
//!   tenant's open wave ([`CreateWaves::create`]) and awaits its answer.
//! - The first joiner drives the wave inside its own reconcile future, so a lost lease or a
//!   cancelled reconcile cancels the wave: the other members then get
//!   [`ReconcileError::WaveFailed`] and retry, their markers in place, and the next attempt's
//!   fresh list decides (no duplicate).
//! - Gathering ends [`QUIET`] after the last join, [`MAX_GATHER`] after the first, or at once
//!   when [`CAP_BATCHES`] batches of members have joined, but never while the tenant's previous
//!   wave is still sending: the tenant's rate limit is the bottleneck then, so waiting costs no
//!   time, and the wave takes every member that became ready meanwhile (one list for them all
//!   instead of a list per handful). One wave of a tenant sends at a time. A wave of one POST
//!   per profile gathers only briefly ([`QUIET_ONE_BY_ONE`], [`MAX_GATHER_ONE_BY_ONE`]): its
//!   first POSTs keep the limiter busy while the next wave gathers.
//! - One fresh list per wave ([`send::fresh_list`] picks the cheaper of the full list and a list
//!   filtered by the members' names), then the members whose name exists are answered
//!   [`WaveOutcome::Exists`] (adopt), the others are imported in batches of `importBatchSize`, or
//!   sent one `POST` each under `creation.method: Individual` or once the tenant answered 403 to
//!   an import (remembered for the handle's life: a new credential builds a new handle).
//!   Up to [`send::POSTS_IN_FLIGHT`] POSTs are in flight at once, so each call's latency does
//!   not add to the limiter's spacing; each member is answered as soon as its own POST returns.

mod plan;
mod send;
#[cfg(test)]
mod tests;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use crate::api::tenant::{CreationMethod, TenantSpec};
use crate::controller::error::ReconcileError;
use crate::controller::tenant_pool::TenantHandle;
use isc_client::models::IdentityProfile as TenantProfile;

/// Gathering ends this long after the last member joined.
pub const QUIET: Duration = Duration::from_millis(300);
/// Gathering never lasts longer than this after the first member joined.
pub const MAX_GATHER: Duration = Duration::from_secs(2);
/// [`QUIET`] for a wave of one POST per profile: the limiter paces its POSTs whatever its size,
/// so it gathers only the members joining together (the next wave gathers while it sends).
pub const QUIET_ONE_BY_ONE: Duration = Duration::from_millis(100);
/// [`MAX_GATHER`] for a wave of one POST per profile.
pub const MAX_GATHER_ONE_BY_ONE: Duration = Duration::from_millis(500);
/// A wave stops gathering once it holds this many import batches of members.
pub const CAP_BATCHES: usize = 10;

/// How a tenant's creates are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaveSettings {
    /// Create through `POST /v2024/identity-profiles/import` (else one POST per profile).
    pub use_import: bool,
    /// Profiles per import call.
    pub import_batch_size: usize,
}

impl WaveSettings {
    /// The settings a Tenant asks for (`spec.creation`).
    pub fn from_spec(spec: &TenantSpec) -> Self {
        WaveSettings {
            use_import: spec.creation.method == CreationMethod::Import,
            import_batch_size: usize::try_from(spec.creation.import_batch_size)
                .unwrap_or(50)
                .clamp(1, 250),
        }
    }

    /// Members a wave gathers at most.
    fn cap(&self) -> usize {
        self.import_batch_size * CAP_BATCHES
    }
}

/// What a wave did for one member.
#[derive(Debug, Clone, PartialEq)]
pub enum WaveOutcome {
    /// The fresh list holds a profile with this name: it is adopted, nothing was sent.
    Exists(TenantProfile),
    /// Created now (the body that was sent, with the tenant's id).
    Created(TenantProfile),
}

/// A member's answer.
type Answer = Result<WaveOutcome, ReconcileError>;

/// One profile waiting in a wave.
struct Member {
    /// The create body (its `name` is the tenant profile's name).
    body: TenantProfile,
    answer: oneshot::Sender<Answer>,
}

/// The wave that is gathering members.
struct Gathering {
    id: u64,
    members: Vec<Member>,
    started: Instant,
    last_join: Instant,
}

/// The creation waves of one tenant (one per [`TenantHandle`]).
#[derive(Debug)]
pub struct CreateWaves {
    settings: WaveSettings,
    /// The tenant answered 403 to an import: this credential creates one POST at a time.
    import_forbidden: AtomicBool,
    next_id: AtomicU64,
    gathering: Mutex<Option<Gathering>>,
    /// A wave is between its `take` and its last answer (listing and creating).
    sending: AtomicBool,
    /// Wakes the driver when the wave reached its cap or the previous wave finished sending.
    wake: Notify,
}

impl std::fmt::Debug for Gathering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gathering")
            .field("id", &self.id)
            .field("members", &self.members.len())
            .finish_non_exhaustive()
    }
}

impl CreateWaves {
    /// No wave under way yet.
    pub fn new(settings: WaveSettings) -> Self {
        CreateWaves {
            settings,
            import_forbidden: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            gathering: Mutex::new(None),
            sending: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }

    /// The settings this tenant's waves follow.
    pub fn settings(&self) -> WaveSettings {
        self.settings
    }

    /// True while creates go through import (the Tenant asks for it and the tenant never
    /// answered 403 to it for this credential).
    pub fn imports(&self) -> bool {
        self.settings.use_import && !self.import_forbidden.load(Ordering::Relaxed)
    }

    /// True while a wave of this tenant gathers or sends: its creates are using the tenant's
    /// rate limit, and the resync sweep waits for them (see [`crate::controller::resync`]).
    pub fn in_progress(&self) -> bool {
        self.sending.load(Ordering::Acquire) || self.gathering.lock().expect("wave lock").is_some()
    }

    /// Creates the profile `body` (its `pendingCreate` marker must be written already) with the
    /// other profiles of the tenant that are ready now, and returns what happened to it.
    pub async fn create(&self, handle: &TenantHandle, body: TenantProfile) -> Answer {
        let (answer, answered) = oneshot::channel();
        if let Some(id) = self.join(Member { body, answer }) {
            let mut open = OpenWave {
                waves: self,
                id: Some(id),
            };
            self.gather(id).await;
            let _sending = Sending::start(self);
            open.id = None;
            let members = self.take(id);
            send::run(self, handle, members).await;
        }
        match answered.await {
            Ok(answer) => answer,
            Err(_) => Err(ReconcileError::WaveFailed(
                "the creation wave was cancelled (the operator stopped or lost its lease); \
                 the next attempt looks the name up again"
                    .into(),
            )),
        }
    }

    /// Adds a member to the open wave, opening one if none is; the id of a wave opened now (the
    /// caller drives it).
    fn join(&self, member: Member) -> Option<u64> {
        let now = Instant::now();
        let mut gathering = self.gathering.lock().expect("wave lock");
        if let Some(open) = gathering.as_mut() {
            open.members.push(member);
            open.last_join = now;
            if open.members.len() >= self.settings.cap() {
                self.wake.notify_one();
            }
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        *gathering = Some(Gathering {
            id,
            members: vec![member],
            started: now,
            last_join: now,
        });
        Some(id)
    }

    /// Waits until wave `id` is done gathering: the previous wave has finished sending, and the
    /// wave is full or its gathering time is over.
    async fn gather(&self, id: u64) {
        loop {
            let notified = self.wake.notified();
            let deadline = {
                let gathering = self.gathering.lock().expect("wave lock");
                let Some(open) = gathering.as_ref().filter(|g| g.id == id) else {
                    return;
                };
                let previous_sending = self.sending.load(Ordering::Acquire);
                if !previous_sending && open.members.len() >= self.settings.cap() {
                    return;
                }
                let (quiet, longest) = match self.imports() {
                    true => (QUIET, MAX_GATHER),
                    false => (QUIET_ONE_BY_ONE, MAX_GATHER_ONE_BY_ONE),
                };
                let deadline = (open.last_join + quiet).min(open.started + longest);
                if !previous_sending && Instant::now() >= deadline {
                    return;
                }
                // While the previous wave sends, only its end (a wake) ends the wait.
                (!previous_sending).then_some(deadline)
            };
            match deadline {
                Some(deadline) => tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = notified => {}
                },
                None => notified.await,
            }
        }
    }

    /// Closes wave `id` and returns its members (later joiners open the next wave).
    fn take(&self, id: u64) -> Vec<Member> {
        let mut gathering = self.gathering.lock().expect("wave lock");
        match gathering.as_ref() {
            Some(open) if open.id == id => gathering.take().map(|g| g.members).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Remembers that the tenant refuses import to this credential.
    fn forbid_import(&self) {
        if !self.import_forbidden.swap(true, Ordering::Relaxed) {
            tracing::info!(
                "the tenant answered 403 to an import (the credential has no user context): \
                 profiles are created one POST at a time"
            );
        }
    }
}

/// Marks a wave as sending from its `take` until its driver ends (answered every member, or was
/// dropped), then wakes the next wave's driver.
struct Sending<'a>(&'a CreateWaves);

impl<'a> Sending<'a> {
    fn start(waves: &'a CreateWaves) -> Self {
        waves.sending.store(true, Ordering::Release);
        Sending(waves)
    }
}

impl Drop for Sending<'_> {
    fn drop(&mut self) {
        self.0.sending.store(false, Ordering::Release);
        self.0.wake.notify_one();
    }
}

/// The wave a driver is gathering; dropping the driver's future while it gathers closes the
/// wave, so its members are answered (cancelled) instead of waiting forever.
struct OpenWave<'a> {
    waves: &'a CreateWaves,
    id: Option<u64>,
}

impl Drop for OpenWave<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            drop(self.waves.take(id));
        }
    }
}
