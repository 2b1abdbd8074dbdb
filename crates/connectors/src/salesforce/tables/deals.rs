//! Opportunities and the stages that make up the pipeline.

use patchbay_unified::{FilterField as F, SortField as S};

use super::{CREATED, TIMESTAMPS, UPDATED, eq, ro, rw, sort};
use crate::table::Kind::{self, Date, DateTime, Id, Integer, Number, Text};
use crate::table::{ObjectMap, SortKind};

/// The single pipeline Salesforce has: every opportunity stage belongs to it.
pub const PIPELINE_ID: &str = "default";

/// opportunities <-> Opportunity. There is no `status` sort: SOQL orders a picklist such as
/// `StageName` by its configured value order, which a keyset predicate (`StageName > 'x'`)
/// cannot follow, so paging would skip or repeat rows; `UnsupportedSortFieldError` is honest.
/// `pipeline_stage_id` is the `StageName` value, which is also the
/// stage id the pipelines resource shows, so it round-trips.
pub const OPPORTUNITY: ObjectMap = ObjectMap {
    object: "Opportunity",
    fields: &[
        TIMESTAMPS[0],
        TIMESTAMPS[1],
        TIMESTAMPS[2],
        rw("title", "Name", Text),
        rw("description", "Description", Text),
        rw("type", "Type", Text),
        rw("monetary_amount", "Amount", Number),
        rw("win_probability", "Probability", Number),
        rw("close_date", "CloseDate", Date),
        rw("pipeline_stage_id", "StageName", Text),
        ro("status", "StageName", Text),
        ro("pipeline_id", "", Kind::Const(PIPELINE_ID)),
        rw("lead_source", "LeadSource", Text),
        rw("company_id", "AccountId", Id),
        ro("company_name", "Account.Name", Text),
        rw("owner_id", "OwnerId", Id),
        rw("primary_contact_id", "ContactId", Id),
        ro("last_activity_at", "LastActivityDate", Kind::DateAsDateTime),
    ],
    emails: &[],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: true,
    quirk_fields: &[],
    filters: &[
        eq(F::Title, &["Name"]),
        eq(F::Status, &["StageName"]),
        eq(F::MonetaryAmount, &["Amount"]),
        eq(F::WinProbability, &["Probability"]),
        eq(F::CompanyId, &["AccountId"]),
        eq(F::OwnerId, &["OwnerId"]),
        eq(F::PrimaryContactId, &["ContactId"]),
    ],
    sorts: &[
        CREATED,
        UPDATED,
        sort(S::Title, "Name", SortKind::Text),
        sort(S::WinProbability, "Probability", SortKind::Number),
        sort(S::MonetaryAmount, "Amount", SortKind::Number),
    ],
};

/// pipelines: one pipeline whose stages are the OpportunityStage rows (read-only).
pub const STAGE: ObjectMap = ObjectMap {
    object: "OpportunityStage",
    fields: &[
        ro("id", "MasterLabel", Text),
        ro("name", "MasterLabel", Text),
        ro("value", "ApiName", Text),
        ro("win_probability", "DefaultProbability", Integer),
        ro("display_order", "SortOrder", Integer),
        ro("archived", "IsActive", Kind::NotBool),
        ro("created_at", "CreatedDate", DateTime),
        ro("updated_at", "LastModifiedDate", DateTime),
    ],
    emails: &[],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: false,
    quirk_fields: &[],
    filters: &[],
    sorts: &[],
};
