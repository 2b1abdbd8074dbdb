//! Deals: opportunities and pipelines.

use serde_json::Value;

use super::common::CustomField;
use super::{Nullable, model};

model! {
    /// `Opportunity`
    Opportunity {
        id: String, title: String, primary_contact_id: String, description: String,
        r#type: String, monetary_amount: f64, currency: String, win_probability: f64,
        expected_revenue: f64, close_date: String, loss_reason_id: String,
        loss_reason: String, won_reason_id: String, won_reason: String, pipeline_id: String,
        pipeline_stage_id: String, source_id: String, lead_id: String, lead_source: String,
        contact_id: String, contact_ids: Vec<String>, company_id: String,
        company_name: String, owner_id: String, priority: String, status: String,
        status_id: String, tags: Vec<String>, interaction_count: f64,
        custom_fields: Vec<CustomField>, stage_last_changed_at: String,
        last_activity_at: String, deleted: bool, date_stage_changed: String,
        date_last_contacted: String, date_lead_created: String, custom_mappings: Value,
        updated_by: String, created_by: String, updated_at: String, created_at: String,
        pass_through: Value,
    }
}

model! {
    /// `Pipeline.stages[]`
    PipelineStage {
        id: String, name: String, value: String, win_probability: i64, display_order: i64,
        archived: bool, created_at: String, updated_at: String,
    }
}

model! {
    /// `Pipeline`
    Pipeline {
        id: String, name: String, currency: String, archived: bool, active: bool,
        display_order: i64, win_probability_enabled: bool, stages: Vec<PipelineStage>,
        updated_at: String, created_at: String, pass_through: Value,
    }
}
