//! Deal pipelines and their stages (`docs/hubspot.md §12`): the account's `default` pipeline
//! and one more, fixed data.

use serde_json::{Value, json};

use crate::time::format_ms;

pub struct Stage {
    pub id: &'static str,
    pub label: &'static str,
    pub probability: &'static str,
    pub closed: bool,
}

pub struct Pipeline {
    pub id: &'static str,
    pub label: &'static str,
    pub stages: &'static [Stage],
}

const fn s(
    id: &'static str,
    label: &'static str,
    probability: &'static str,
    closed: bool,
) -> Stage {
    Stage {
        id,
        label,
        probability,
        closed,
    }
}

pub const PIPELINES: &[Pipeline] = &[
    Pipeline {
        id: "default",
        label: "Sales Pipeline",
        stages: &[
            s(
                "appointmentscheduled",
                "Appointment Scheduled",
                "0.2",
                false,
            ),
            s("qualifiedtobuy", "Qualified To Buy", "0.4", false),
            s(
                "presentationscheduled",
                "Presentation Scheduled",
                "0.6",
                false,
            ),
            s(
                "decisionmakerboughtin",
                "Decision Maker Bought-In",
                "0.8",
                false,
            ),
            s("contractsent", "Contract Sent", "0.9", false),
            s("closedwon", "Closed Won", "1.0", true),
            s("closedlost", "Closed Lost", "0.0", true),
        ],
    },
    Pipeline {
        id: "renewals",
        label: "Renewals",
        stages: &[
            s("renewal_open", "Renewal Open", "0.5", false),
            s("renewal_won", "Renewed", "1.0", true),
            s("renewal_lost", "Churned", "0.0", true),
        ],
    },
];

pub fn find(id: &str) -> Option<&'static Pipeline> {
    PIPELINES.iter().find(|p| p.id == id)
}

impl Pipeline {
    pub fn has_stage(&self, stage: &str) -> bool {
        self.stages.iter().any(|s| s.id == stage)
    }

    /// `created_ms`: the account's creation time, which every pipeline shares.
    pub fn render(&self, display_order: usize, created_ms: i64) -> Value {
        let at = format_ms(created_ms);
        let stages: Vec<Value> = self
            .stages
            .iter()
            .enumerate()
            .map(|(i, st)| {
                json!({
                    "id": st.id, "label": st.label, "displayOrder": i,
                    "metadata": {"isClosed": st.closed.to_string(), "probability": st.probability},
                    "createdAt": at, "updatedAt": at, "archived": false,
                    "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                })
            })
            .collect();
        json!({
            "id": self.id, "label": self.label, "displayOrder": display_order,
            "createdAt": at, "updatedAt": at, "archived": false, "stages": stages,
        })
    }
}
