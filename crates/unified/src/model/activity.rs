//! Activities and notes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{Address, CustomField};
use super::{Nullable, model};

/// `Activity.type`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActivityType {
    Call,
    Meeting,
    Email,
    Note,
    Task,
    Deadline,
    SendLetter,
    SendQuote,
    Other,
}

impl ActivityType {
    /// Every value, in the spec's order.
    pub const ALL: [ActivityType; 9] = [
        Self::Call,
        Self::Meeting,
        Self::Email,
        Self::Note,
        Self::Task,
        Self::Deadline,
        Self::SendLetter,
        Self::SendQuote,
        Self::Other,
    ];

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Meeting => "meeting",
            Self::Email => "email",
            Self::Note => "note",
            Self::Task => "task",
            Self::Deadline => "deadline",
            Self::SendLetter => "send-letter",
            Self::SendQuote => "send-quote",
            Self::Other => "other",
        }
    }

    /// The type named by a wire value.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }
}

model! {
    /// `ActivityAttendee`
    ActivityAttendee {
        id: String, name: String, first_name: String, middle_name: String, last_name: String,
        prefix: String, suffix: String, email_address: String, is_organizer: bool,
        status: String, user_id: String, contact_id: String, updated_at: String,
        created_at: String,
    }
}

model! {
    /// `Activity`
    Activity {
        id: String, downstream_id: String, activity_datetime: String, duration_seconds: i64,
        user_id: String, account_id: String, contact_id: String, company_id: String,
        opportunity_id: String, lead_id: String, owner_id: String, campaign_id: String,
        case_id: String, asset_id: String, contract_id: String, product_id: String,
        solution_id: String, custom_object_id: String, r#type: ActivityType, title: String,
        description: String, note: String, location: String, location_address: Address,
        all_day_event: bool, private: bool, group_event: bool, event_sub_type: String,
        group_event_type: String, child: bool, archived: bool, deleted: bool,
        show_as: String, done: bool, start_datetime: String, end_datetime: String,
        duration_minutes: i64, activity_date: String, end_date: String, recurrent: bool,
        reminder_datetime: String, reminder_set: bool, video_conference_url: String,
        video_conference_id: String, custom_fields: Vec<CustomField>,
        attendees: Vec<ActivityAttendee>, custom_mappings: Value, updated_by: String,
        created_by: String, updated_at: String, created_at: String, pass_through: Value,
    }
}

model! {
    /// `Note`
    Note {
        id: String, title: String, content: String, owner_id: String, contact_id: String,
        company_id: String, opportunity_id: String, activity_id: String, lead_id: String,
        active: bool, custom_mappings: Value, updated_by: String, created_by: String,
        updated_at: String, created_at: String, pass_through: Value,
    }
}
