//! The persistence the coordinator needs, as a trait: implemented by [`patchbay_store::Store`]
//! (SQLite and PostgreSQL), and by wrappers in tests that inject write failures.

use std::future::Future;

use patchbay_core::{ApplicationId, ConnectionId, ServiceId, UnifiedApi};
use patchbay_store::{
    ConnectionRow, IntegrationRow, RefreshFailure, RefreshedTokens, Store, StoreError,
};

type R<T> = Result<T, StoreError>;

/// Single-statement compare-and-set operations; see `patchbay_store`'s `refresh` module for the
/// exact guarantees each one gives.
pub trait TokenStore: Send + Sync + 'static {
    fn get_connection(
        &self,
        id: &ConnectionId,
    ) -> impl Future<Output = R<Option<ConnectionRow>>> + Send;

    fn get_integration(
        &self,
        app: &ApplicationId,
        unified_api: &UnifiedApi,
        service_id: &ServiceId,
    ) -> impl Future<Output = R<Option<IntegrationRow>>> + Send;

    fn try_acquire_refresh_lease(
        &self,
        id: &ConnectionId,
        owner: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> impl Future<Output = R<Option<ConnectionRow>>> + Send;

    fn release_refresh_lease(
        &self,
        id: &ConnectionId,
        owner: &str,
    ) -> impl Future<Output = R<bool>> + Send;

    fn store_refreshed_tokens(&self, t: &RefreshedTokens) -> impl Future<Output = R<bool>> + Send;

    fn record_refresh_failure(&self, f: &RefreshFailure) -> impl Future<Output = R<bool>> + Send;

    fn claim_due_for_refresh(
        &self,
        owner: &str,
        now_ms: i64,
        ttl_ms: i64,
        limit: u32,
    ) -> impl Future<Output = R<Vec<ConnectionRow>>> + Send;

    /// The database server's clock in unix ms, for [`crate::LeaseClock::Database`].
    fn db_now_ms(&self) -> impl Future<Output = R<i64>> + Send;
}

impl TokenStore for Store {
    fn get_connection(
        &self,
        id: &ConnectionId,
    ) -> impl Future<Output = R<Option<ConnectionRow>>> + Send {
        Store::get_connection(self, id)
    }

    fn get_integration(
        &self,
        app: &ApplicationId,
        unified_api: &UnifiedApi,
        service_id: &ServiceId,
    ) -> impl Future<Output = R<Option<IntegrationRow>>> + Send {
        Store::get_integration(self, app, unified_api, service_id)
    }

    fn try_acquire_refresh_lease(
        &self,
        id: &ConnectionId,
        owner: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> impl Future<Output = R<Option<ConnectionRow>>> + Send {
        Store::try_acquire_refresh_lease(self, id, owner, now_ms, ttl_ms)
    }

    fn release_refresh_lease(
        &self,
        id: &ConnectionId,
        owner: &str,
    ) -> impl Future<Output = R<bool>> + Send {
        Store::release_refresh_lease(self, id, owner)
    }

    fn store_refreshed_tokens(&self, t: &RefreshedTokens) -> impl Future<Output = R<bool>> + Send {
        Store::store_refreshed_tokens(self, t)
    }

    fn record_refresh_failure(&self, f: &RefreshFailure) -> impl Future<Output = R<bool>> + Send {
        Store::record_refresh_failure(self, f)
    }

    fn claim_due_for_refresh(
        &self,
        owner: &str,
        now_ms: i64,
        ttl_ms: i64,
        limit: u32,
    ) -> impl Future<Output = R<Vec<ConnectionRow>>> + Send {
        Store::claim_due_for_refresh(self, owner, now_ms, ttl_ms, limit)
    }

    fn db_now_ms(&self) -> impl Future<Output = R<i64>> + Send {
        Store::db_now_ms(self)
    }
}
