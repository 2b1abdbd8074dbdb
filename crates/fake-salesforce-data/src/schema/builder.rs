//! The small builder the object table is written with: a field row with defaults per type,
//! chained setters, address blocks and the system fields every object has.

use super::{DefaultValue, FieldDef, FieldType};

use FieldType as T;

/// `FirstName` → `First Name`, `AccountId` → `Account ID`.
pub(super) fn label_of(name: &str) -> String {
    let stem = name.strip_suffix("Id").filter(|s| !s.is_empty());
    let base = stem.unwrap_or(name);
    let mut out = String::new();
    for (i, c) in base.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push(' ');
        }
        out.push(c);
    }
    if stem.is_some() {
        out.push_str(" ID");
    }
    out
}

pub(super) fn f(name: &str, field_type: FieldType) -> FieldDef {
    let length = match field_type {
        T::Id | T::Reference => 18,
        T::String | T::Picklist => 255,
        T::Email => 80,
        T::Phone => 40,
        T::Url => 255,
        T::Textarea => 32_000,
        _ => 0,
    };
    FieldDef {
        name: name.to_owned(),
        label: label_of(name),
        field_type,
        length,
        required: false,
        createable: true,
        updateable: true,
        calculated: false,
        default: None,
        picklist: Vec::new(),
        restricted: false,
        reference_to: Vec::new(),
        relationship_name: None,
        child_relationship: None,
        compound: None,
        address_prefix: None,
        custom: false,
        unique: false,
        external_id: false,
        name_field: false,
    }
}

impl FieldDef {
    pub(super) fn req(mut self) -> Self {
        self.required = true;
        self
    }
    pub(super) fn len(mut self, n: u32) -> Self {
        self.length = n;
        self
    }
    /// Read-only and computed by the emulator.
    pub(super) fn calc(mut self) -> Self {
        self.createable = false;
        self.updateable = false;
        self.calculated = true;
        self
    }
    /// Read-only, set by the system (audit fields).
    pub(super) fn ro(mut self) -> Self {
        self.createable = false;
        self.updateable = false;
        self
    }
    pub(super) fn default_text(mut self, v: &str) -> Self {
        self.default = Some(DefaultValue::Text(v.to_owned()));
        self
    }
    pub(super) fn default_bool(mut self, v: bool) -> Self {
        self.default = Some(DefaultValue::Bool(v));
        self
    }
    pub(super) fn pick(mut self, values: &[&str]) -> Self {
        self.picklist = values.iter().map(|v| (*v).to_owned()).collect();
        self
    }
    pub(super) fn restricted(mut self) -> Self {
        self.restricted = true;
        self
    }
    pub(super) fn refs(mut self, to: &[&str], rel: &str) -> Self {
        self.reference_to = to.iter().map(|v| (*v).to_owned()).collect();
        self.relationship_name = Some(rel.to_owned());
        self
    }
    pub(super) fn child(mut self, name: &str) -> Self {
        self.child_relationship = Some(name.to_owned());
        self
    }
    pub(super) fn part_of(mut self, compound: &str) -> Self {
        self.compound = Some(compound.to_owned());
        self
    }
    pub(super) fn name_field(mut self) -> Self {
        self.name_field = true;
        self
    }
    pub(super) fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
}

/// The five address components plus the read-only compound field.
pub(super) fn address(prefix: &str, compound: &str) -> Vec<FieldDef> {
    let mut out: Vec<FieldDef> = [("Street", T::Textarea, 255), ("City", T::String, 40)]
        .into_iter()
        .chain([
            ("State", T::String, 80),
            ("PostalCode", T::String, 20),
            ("Country", T::String, 80),
        ])
        .map(|(part, t, len)| f(&format!("{prefix}{part}"), t).len(len).part_of(compound))
        .collect();
    let mut c = f(compound, T::Address).calc();
    c.address_prefix = Some(prefix.to_owned());
    out.push(c);
    out
}

pub(super) fn system_fields(has_owner: bool) -> Vec<FieldDef> {
    let mut out = vec![
        f("Id", T::Id).ro(),
        f("IsDeleted", T::Boolean).ro().default_bool(false),
        f("CreatedDate", T::DateTime).ro(),
        f("CreatedById", T::Reference)
            .ro()
            .refs(&["User"], "CreatedBy"),
        f("LastModifiedDate", T::DateTime).ro(),
        f("LastModifiedById", T::Reference)
            .ro()
            .refs(&["User"], "LastModifiedBy"),
        f("SystemModstamp", T::DateTime).ro(),
    ];
    if has_owner {
        let mut owner = f("OwnerId", T::Reference).refs(&["User"], "Owner");
        owner.default = Some(DefaultValue::CurrentUser);
        out.push(owner);
    }
    out
}
