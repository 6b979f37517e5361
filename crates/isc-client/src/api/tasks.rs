//! Asynchronous task status: one task by id, and the lists used to find a task whose
//! submission response was lost.

use reqwest::Method;

use super::{ListParams, path_segment};
use crate::client::{ApiRequest, TenantClient};
use crate::error::IscError;
use crate::models::TaskStatus;

/// `GET /v2024/task-status`: completed tasks.
const TASK_STATUS_PATH: &str = "/v2024/task-status";
/// `GET /v2024/task-status/pending-tasks`: running tasks (deprecated by the tenant, still served).
const PENDING_TASKS_PATH: &str = "/v2024/task-status/pending-tasks";

impl TenantClient {
    /// `GET /v2024/task-status/{id}`.
    pub async fn get_task_status(&self, id: &str) -> Result<TaskStatus, IscError> {
        let path = format!("{TASK_STATUS_PATH}/{}", path_segment(id)?);
        self.call(&ApiRequest::new(Method::GET, path)).await
    }

    /// `GET /v2024/task-status` (one page): statuses of completed tasks of the last 90 days.
    /// The tenant filters on `id`, `sourceId`, `completionStatus`, `type` (`eq`, `in`; also
    /// `completionStatus isnull` for running tasks) and sorts by `created`; `limit` (at most
    /// 250), `offset` and `count` are sent as given.
    pub async fn list_task_status(&self, params: &ListParams) -> Result<Vec<TaskStatus>, IscError> {
        let page = self
            .list_page(params.apply(ApiRequest::new(Method::GET, TASK_STATUS_PATH)))
            .await?;
        Ok(page.items)
    }

    /// `GET /v2024/task-status/pending-tasks` (one page): statuses of running tasks. The
    /// endpoint takes only `limit`, `offset` and `count`: `params.filter` and `params.sorters`
    /// are not sent (filter the result instead). An empty answer (204) is an empty list.
    pub async fn list_pending_tasks(
        &self,
        params: &ListParams,
    ) -> Result<Vec<TaskStatus>, IscError> {
        let paging_only = ListParams {
            filter: None,
            sorters: None,
            ..params.clone()
        };
        let page = self
            .list_page(paging_only.apply(ApiRequest::new(Method::GET, PENDING_TASKS_PATH)))
            .await?;
        Ok(page.items)
    }
}
