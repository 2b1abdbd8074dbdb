//! Picklist values and the default opportunity stages of the standard objects.

/// One default opportunity stage (OpportunityStage row and StageName picklist value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageDef {
    pub label: &'static str,
    pub default_probability: f64,
    /// API value of ForecastCategory (`Pipeline`, `Closed`, `Omitted`, ...).
    pub forecast_category: &'static str,
    /// Label value of ForecastCategoryName (`Pipeline`, `Best Case`, ...).
    pub forecast_category_name: &'static str,
    pub is_closed: bool,
    pub is_won: bool,
}

const fn stage(label: &'static str, p: f64, fc: &'static str, fcn: &'static str) -> StageDef {
    StageDef {
        label,
        default_probability: p,
        forecast_category: fc,
        forecast_category_name: fcn,
        is_closed: false,
        is_won: false,
    }
}

/// Salesforce's ten default stages, in sort order.
pub const DEFAULT_STAGES: [StageDef; 10] = [
    stage("Prospecting", 10.0, "Pipeline", "Pipeline"),
    stage("Qualification", 10.0, "Pipeline", "Pipeline"),
    stage("Needs Analysis", 20.0, "Pipeline", "Pipeline"),
    stage("Value Proposition", 50.0, "Pipeline", "Pipeline"),
    stage("Id. Decision Makers", 60.0, "Pipeline", "Pipeline"),
    stage("Perception Analysis", 70.0, "Pipeline", "Pipeline"),
    stage("Proposal/Price Quote", 75.0, "Pipeline", "Pipeline"),
    stage("Negotiation/Review", 90.0, "Pipeline", "Pipeline"),
    StageDef {
        is_closed: true,
        is_won: true,
        ..stage("Closed Won", 100.0, "Closed", "Closed")
    },
    StageDef {
        is_closed: true,
        ..stage("Closed Lost", 0.0, "Omitted", "Omitted")
    },
];

pub(super) const INDUSTRIES: &[&str] = &[
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
];
pub(super) const LEAD_SOURCES: &[&str] = &[
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
];
pub(super) const RATINGS: &[&str] = &["Hot", "Warm", "Cold"];
pub(super) const SALUTATIONS: &[&str] = &["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."];
pub(super) const LEAD_STATUSES: &[&str] = &[
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
];
pub(super) const TASK_STATUSES: &[&str] = &[
    "Not Started",
    "In Progress",
    "Completed",
    "Waiting on someone else",
    "Deferred",
];
pub(super) const PRIORITIES: &[&str] = &["High", "Normal", "Low"];
pub(super) const ACTIVITY_TYPES: &[&str] = &["Call", "Email", "Meeting", "Other"];
