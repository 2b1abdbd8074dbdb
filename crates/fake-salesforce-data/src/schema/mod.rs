//! The emulated org's object definitions, as data: one table of fields per object (see
//! `objects.rs`), plus custom `*__c` fields an org adds at construction.

mod builder;
mod describe;
mod objects;
mod picklists;

use std::collections::HashMap;

pub use picklists::{DEFAULT_STAGES, StageDef};

/// Field types, named as in describe's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Id,
    String,
    Textarea,
    Email,
    Phone,
    Url,
    Picklist,
    Boolean,
    Int,
    Double,
    Currency,
    Percent,
    Date,
    DateTime,
    Reference,
    /// A compound address, read-only, assembled from its component fields on output.
    Address,
}

impl FieldType {
    /// The describe `type` value.
    pub fn api_name(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::String => "string",
            FieldType::Textarea => "textarea",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Picklist => "picklist",
            FieldType::Boolean => "boolean",
            FieldType::Int => "int",
            FieldType::Double => "double",
            FieldType::Currency => "currency",
            FieldType::Percent => "percent",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
            FieldType::Reference => "reference",
            FieldType::Address => "address",
        }
    }

    /// The describe `soapType` value, also used in type-mismatch messages.
    pub fn soap_type(self) -> &'static str {
        match self {
            FieldType::Id | FieldType::Reference => "tns:ID",
            FieldType::Boolean => "xsd:boolean",
            FieldType::Int => "xsd:int",
            FieldType::Double | FieldType::Currency | FieldType::Percent => "xsd:double",
            FieldType::Date => "xsd:date",
            FieldType::DateTime => "xsd:dateTime",
            FieldType::Address => "urn:address",
            _ => "xsd:string",
        }
    }

    /// Types whose values are text (compared case-insensitively in SOQL).
    pub fn is_text(self) -> bool {
        matches!(
            self,
            FieldType::String
                | FieldType::Textarea
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
                | FieldType::Picklist
        )
    }

    pub fn is_number(self) -> bool {
        matches!(
            self,
            FieldType::Int | FieldType::Double | FieldType::Currency | FieldType::Percent
        )
    }
}

/// What a field holds when a create leaves it out.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    Text(String),
    Bool(bool),
    /// The acting user's id (OwnerId).
    CurrentUser,
}

/// One field of an object.
#[derive(Debug, Clone)]
pub struct FieldDef {
    /// Canonical API name, e.g. `LastName`.
    pub name: String,
    pub label: String,
    pub field_type: FieldType,
    /// Maximum length for text types; 0 when not applicable.
    pub length: u32,
    /// Must be given (non-null) on create.
    pub required: bool,
    pub createable: bool,
    pub updateable: bool,
    /// Computed by the emulator (Name, IsClosed, ...); never written by clients.
    pub calculated: bool,
    pub default: Option<DefaultValue>,
    pub picklist: Vec<String>,
    /// Values outside `picklist` are rejected with INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST.
    pub restricted: bool,
    pub reference_to: Vec<String>,
    pub relationship_name: Option<String>,
    /// The parent's child relationship name for this lookup (`Contacts` for Contact.AccountId).
    pub child_relationship: Option<String>,
    /// For components of a compound field (BillingCity → BillingAddress, FirstName → Name).
    pub compound: Option<String>,
    /// For address fields: the component name prefix (`Billing`, `Mailing`, `` for Lead).
    pub address_prefix: Option<String>,
    pub custom: bool,
    pub unique: bool,
    pub external_id: bool,
    pub name_field: bool,
}

impl FieldDef {
    /// Long text areas and compound fields cannot be filtered or sorted in SOQL.
    pub fn filterable(&self) -> bool {
        match self.field_type {
            FieldType::Address => false,
            FieldType::Textarea => self.length <= 255,
            _ => true,
        }
    }

    pub fn nillable(&self) -> bool {
        !self.required
            && !matches!(self.field_type, FieldType::Boolean | FieldType::Id)
            && self.default.is_none()
    }
}

/// One object type.
#[derive(Debug, Clone)]
pub struct ObjectDef {
    pub name: String,
    pub label: String,
    pub label_plural: String,
    pub key_prefix: String,
    pub createable: bool,
    pub updateable: bool,
    pub deletable: bool,
    pub fields: Vec<FieldDef>,
    /// Exact canonical names first: the engine's own look-ups then need no allocation.
    by_name: HashMap<String, usize>,
    by_lower: HashMap<String, usize>,
    rel_by_lower: HashMap<String, usize>,
}

impl ObjectDef {
    fn index(mut self) -> Self {
        self.by_name = (self.fields.iter().enumerate())
            .map(|(i, f)| (f.name.clone(), i))
            .collect();
        self.by_lower = (self.fields.iter().enumerate())
            .map(|(i, f)| (f.name.to_ascii_lowercase(), i))
            .collect();
        self.rel_by_lower = (self.fields.iter().enumerate())
            .filter_map(|(i, f)| Some((f.relationship_name.as_ref()?.to_ascii_lowercase(), i)))
            .collect();
        self
    }

    /// Position of a field, by case-insensitive name.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        if let Some(i) = self.by_name.get(name) {
            return Some(*i);
        }
        self.by_lower.get(&name.to_ascii_lowercase()).copied()
    }

    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.field_index(name).map(|i| &self.fields[i])
    }

    /// The lookup field behind a relationship name (`Account` → `AccountId`).
    pub fn relationship_index(&self, rel: &str) -> Option<usize> {
        self.rel_by_lower.get(&rel.to_ascii_lowercase()).copied()
    }
}

/// Where the system fields sit in every object's field list (and so in every stored row).
pub mod sys {
    pub const ID: usize = 0;
    pub const IS_DELETED: usize = 1;
    pub const CREATED_DATE: usize = 2;
    pub const CREATED_BY_ID: usize = 3;
    pub const LAST_MODIFIED_DATE: usize = 4;
    pub const LAST_MODIFIED_BY_ID: usize = 5;
    pub const SYSTEM_MODSTAMP: usize = 6;
}

/// A custom field to add to an object when an org is built.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomFieldSpec {
    pub object: String,
    /// Must end in `__c`.
    pub name: String,
    pub field_type: FieldType,
    pub label: String,
    /// Picklist values when `field_type` is `Picklist`.
    pub picklist: Vec<String>,
}

impl CustomFieldSpec {
    /// The custom fields every org has unless told otherwise: `Tier__c` on Account and Contact.
    pub fn defaults() -> Vec<CustomFieldSpec> {
        ["Account", "Contact"]
            .into_iter()
            .map(|object| CustomFieldSpec {
                object: object.to_owned(),
                name: "Tier__c".to_owned(),
                field_type: FieldType::Picklist,
                label: "Tier".to_owned(),
                picklist: ["Gold", "Silver", "Bronze"].map(str::to_owned).to_vec(),
            })
            .collect()
    }
}

/// Why a custom field could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("unknown object {0}")]
    UnknownObject(String),
    #[error("custom field names end in __c and use letters, digits and underscores: {0}")]
    BadCustomName(String),
    #[error("field {0} already exists")]
    Duplicate(String),
}

/// All object definitions of one org.
#[derive(Debug, Clone)]
pub struct Schema {
    objects: Vec<ObjectDef>,
    /// The `Type` pseudo-field of polymorphic relationships (`Who.Type`): the object's name.
    type_field: FieldDef,
    by_lower: HashMap<String, usize>,
}

/// Names of the standard objects the emulator serves, in describe-global order.
pub fn object_names() -> &'static [&'static str] {
    objects::OBJECT_NAMES
}

impl Schema {
    /// The standard objects plus the given custom fields.
    pub fn new(custom: &[CustomFieldSpec]) -> Result<Schema, SchemaError> {
        let mut objects = objects::standard_objects();
        for spec in custom {
            let obj = (objects.iter_mut())
                .find(|o| o.name.eq_ignore_ascii_case(&spec.object))
                .ok_or_else(|| SchemaError::UnknownObject(spec.object.clone()))?;
            let stem = spec.name.strip_suffix("__c").unwrap_or_default();
            let valid = !stem.is_empty()
                && stem.starts_with(|c: char| c.is_ascii_alphabetic())
                && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(SchemaError::BadCustomName(spec.name.clone()));
            }
            if obj
                .fields
                .iter()
                .any(|f| f.name.eq_ignore_ascii_case(&spec.name))
            {
                return Err(SchemaError::Duplicate(spec.name.clone()));
            }
            obj.fields.push(objects::custom_field(spec));
        }
        let objects: Vec<ObjectDef> = objects.into_iter().map(ObjectDef::index).collect();
        let by_lower = (objects.iter().enumerate())
            .map(|(i, o)| (o.name.to_ascii_lowercase(), i))
            .collect();
        let mut type_field = objects::custom_field(&CustomFieldSpec {
            object: String::new(),
            name: "Type".to_owned(),
            field_type: FieldType::Picklist,
            label: "Object Type".to_owned(),
            picklist: objects.iter().map(|o| o.name.clone()).collect(),
        });
        type_field.custom = false;
        type_field.createable = false;
        type_field.updateable = false;
        Ok(Schema {
            objects,
            type_field,
            by_lower,
        })
    }

    pub(crate) fn type_field(&self) -> &FieldDef {
        &self.type_field
    }

    pub fn object_index(&self, name: &str) -> Option<usize> {
        if let Some(i) = self.objects.iter().position(|o| o.name == name) {
            return Some(i);
        }
        self.by_lower.get(&name.to_ascii_lowercase()).copied()
    }

    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.object_index(name).map(|i| &self.objects[i])
    }

    pub(crate) fn object_at(&self, index: usize) -> &ObjectDef {
        &self.objects[index]
    }

    pub fn objects(&self) -> &[ObjectDef] {
        &self.objects
    }

    /// The object whose ids start with `prefix`.
    pub fn object_for_prefix(&self, prefix: &str) -> Option<usize> {
        self.objects.iter().position(|o| o.key_prefix == prefix)
    }
}

#[cfg(test)]
mod tests;
