//! People and organisations: contacts, companies, leads, users.

use serde_json::Value;

use super::common::{Address, CustomField, Email, PhoneNumber, SocialLink, Website};
use super::{Nullable, model};

model! {
    /// `Contact`
    Contact {
        id: String, name: String, owner_id: String, r#type: String, company_id: String,
        company_name: String, lead_id: String, first_name: String, middle_name: String,
        last_name: String, prefix: String, suffix: String, title: String, department: String,
        language: String, gender: String, birthday: String, image: String, photo_url: String,
        lead_source: String, fax: String, description: String, current_balance: f64,
        status: String, active: bool, websites: Vec<Website>, addresses: Vec<Address>,
        social_links: Vec<SocialLink>, phone_numbers: Vec<PhoneNumber>, emails: Vec<Email>,
        email_domain: String, custom_fields: Vec<CustomField>, tags: Vec<String>,
        first_call_at: String, first_email_at: String, last_activity_at: String,
        custom_mappings: Value, updated_at: String, created_at: String,
        opportunity_ids: Vec<String>, pass_through: Value,
    }
}

model! {
    /// `Company`
    Company {
        id: String, name: String, interaction_count: i64, owner_id: String, image: String,
        description: String, vat_number: String, currency: String, status: String, fax: String,
        annual_revenue: String, number_of_employees: String, industry: String,
        ownership: String, sales_tax_number: String, payee_number: String, abn_or_tfn: String,
        abn_branch: String, acn: String, first_name: String, last_name: String,
        parent_id: String, bank_accounts: Vec<Value>, websites: Vec<Website>,
        addresses: Vec<Address>, social_links: Vec<SocialLink>,
        phone_numbers: Vec<PhoneNumber>, emails: Vec<Email>, row_type: Value,
        custom_fields: Vec<CustomField>, tags: Vec<String>, read_only: bool,
        last_activity_at: String, deleted: bool, salutation: String, birthday: String,
        custom_mappings: Value, updated_by: String, created_by: String, updated_at: String,
        created_at: String, pass_through: Value,
    }
}

model! {
    /// `Lead`
    Lead {
        id: String, name: String, company_name: String, owner_id: String, owner_name: String,
        company_id: String, contact_id: String, lead_id: String, lead_source: String,
        first_name: String, last_name: String, description: String, prefix: String,
        title: String, language: String, status: String, monetary_amount: f64,
        currency: String, fax: String, websites: Vec<Website>, addresses: Vec<Address>,
        social_links: Vec<SocialLink>, phone_numbers: Vec<PhoneNumber>, emails: Vec<Email>,
        custom_fields: Vec<CustomField>, tags: Vec<String>, custom_mappings: Value,
        updated_at: String, created_at: String, pass_through: Value,
    }
}

model! {
    /// `User`
    User {
        id: String, parent_id: String, username: String, name: String, first_name: String,
        last_name: String, title: String, division: String, department: String,
        company_name: String, employee_number: String, description: String, image: String,
        language: String, status: String, password: String, addresses: Vec<Address>,
        phone_numbers: Vec<PhoneNumber>, emails: Vec<Email>, custom_mappings: Value,
        updated_at: String, created_at: String, pass_through: Value,
    }
}
