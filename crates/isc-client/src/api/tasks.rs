//! Asynchronous task status.

use reqwest::Method;

use super::path_segment;
use crate::client::{ApiRequest, TenantClient};
use crate::error::IscError;
use crate::models::TaskStatus;

impl TenantClient {
    /// `GET /v2024/task-status/{id}`.
    pub async fn get_task_status(&self, id: &str) -> Result<TaskStatus, IscError> {
        let path = format!("/v2024/task-status/{}", path_segment(id)?);
        self.call(&ApiRequest::new(Method::GET, path)).await
    }
}
