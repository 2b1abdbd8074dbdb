//! Sub-objects shared by several resources.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Nullable, model};

/// `Email.type`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmailType {
    Primary,
    Secondary,
    Work,
    Personal,
    Billing,
    Other,
}

/// `PhoneNumber.type`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhoneType {
    Primary,
    Secondary,
    Home,
    Work,
    Office,
    Mobile,
    Assistant,
    Fax,
    DirectDialIn,
    Personal,
    Billing,
    Other,
}

/// `Website.type`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WebsiteType {
    Primary,
    Secondary,
    Work,
    Personal,
    Other,
}

/// `Address.type`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressType {
    Primary,
    Secondary,
    Home,
    Office,
    Shipping,
    Billing,
    Work,
    Other,
}

model! {
    /// `Email`
    Email { id: String, email: String, r#type: EmailType }
}

model! {
    /// `PhoneNumber`
    PhoneNumber {
        id: String, country_code: String, area_code: String, number: String,
        extension: String, r#type: PhoneType,
    }
}

model! {
    /// `Website`
    Website { id: String, url: String, r#type: WebsiteType }
}

model! {
    /// `SocialLink` (its `type` is free text in the spec)
    SocialLink { id: String, url: String, r#type: String }
}

model! {
    /// `Address`
    Address {
        id: String, r#type: AddressType, string: String, name: String,
        line1: String, line2: String, line3: String, line4: String, line5: String,
        street_number: String, city: String, state: String, postal_code: String,
        country: String, latitude: String, longitude: String, county: String,
        contact_name: String, salutation: String, phone_number: String, fax: String,
        email: String, website: String, notes: String, row_version: String,
    }
}

model! {
    /// `CustomField`: `id` or `name` identifies it; `value` is any JSON.
    CustomField { id: String, name: String, description: String, value: Value }
}
