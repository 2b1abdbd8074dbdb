//! Describe and describe-global JSON (docs/salesforce.md §11.5), rendered from the schema table.

use super::{DefaultValue, FieldDef, FieldType, ObjectDef, Schema};
use serde_json::{Value, json};

fn object_urls(o: &ObjectDef, version: &str) -> Value {
    let base = format!("/services/data/v{version}/sobjects/{}", o.name);
    json!({
        "sobject": base,
        "describe": format!("{base}/describe"),
        "rowTemplate": format!("{base}/{{ID}}"),
        "compactLayouts": format!("{base}/describe/compactLayouts"),
        "layouts": format!("{base}/describe/layouts"),
        "uiDetailTemplate": format!("https://emulator.invalid/{{ID}}"),
        "uiEditTemplate": format!("https://emulator.invalid/{{ID}}/e"),
        "uiNewRecord": format!("https://emulator.invalid/{}/e", o.key_prefix),
    })
}

fn field_json(f: &FieldDef) -> Value {
    let text_like =
        f.field_type.is_text() || matches!(f.field_type, FieldType::Id | FieldType::Reference);
    let default_value = match &f.default {
        Some(DefaultValue::Text(t)) => json!(t),
        Some(DefaultValue::Bool(b)) => json!(b),
        _ => Value::Null,
    };
    let picklist: Vec<Value> = (f.picklist.iter())
        .map(|v| {
            let is_default = matches!(&f.default, Some(DefaultValue::Text(d)) if d == v);
            json!({"active": true, "defaultValue": is_default, "label": v, "validFor": null, "value": v})
        })
        .collect();
    let (precision, scale) = match f.field_type {
        FieldType::Currency | FieldType::Double => (18, 2),
        FieldType::Percent => (3, 0),
        _ => (0, 0),
    };
    json!({
        "name": f.name,
        "label": f.label,
        "type": f.field_type.api_name(),
        "soapType": f.field_type.soap_type(),
        "length": if text_like { f.length } else { 0 },
        "byteLength": if text_like { f.length * 3 } else { 0 },
        "digits": if f.field_type == FieldType::Int { 9 } else { 0 },
        "precision": precision,
        "scale": scale,
        "nillable": f.nillable(),
        "createable": f.createable,
        "updateable": f.updateable,
        "defaultedOnCreate": f.default.is_some() || f.field_type == FieldType::Boolean,
        "defaultValue": default_value,
        "custom": f.custom,
        "unique": f.unique,
        "externalId": f.external_id,
        "calculated": f.calculated,
        "filterable": f.filterable(),
        "sortable": f.filterable(),
        "groupable": f.filterable() && !f.field_type.is_number(),
        "idLookup": f.name == "Id" || f.unique,
        "nameField": f.name_field,
        "autoNumber": false,
        "caseSensitive": false,
        "htmlFormatted": false,
        "dependentPicklist": false,
        "deprecatedAndHidden": false,
        "restrictedPicklist": f.restricted,
        "picklistValues": picklist,
        "referenceTo": f.reference_to,
        "relationshipName": f.relationship_name,
        "polymorphicForeignKey": f.reference_to.len() > 1,
        "compoundFieldName": f.compound,
        "inlineHelpText": null,
    })
}

fn child_relationships(schema: &Schema, target: &ObjectDef) -> Vec<Value> {
    let mut out = Vec::new();
    for child in schema.objects() {
        for f in &child.fields {
            if f.reference_to.iter().any(|t| t == &target.name) {
                out.push(json!({
                    "childSObject": child.name,
                    "field": f.name,
                    "relationshipName": f.child_relationship,
                    "cascadeDelete": false,
                    "deprecatedAndHidden": false,
                    "restrictedDelete": false,
                }));
            }
        }
    }
    out
}

fn object_flags(o: &ObjectDef) -> serde_json::Map<String, Value> {
    let v = json!({
        "name": o.name,
        "label": o.label,
        "labelPlural": o.label_plural,
        "keyPrefix": o.key_prefix,
        "custom": false,
        "customSetting": false,
        "createable": o.createable,
        "updateable": o.updateable,
        "deletable": o.deletable,
        "queryable": true,
        "retrieveable": true,
        "searchable": o.createable,
        "undeletable": o.deletable,
        "mergeable": matches!(o.name.as_str(), "Account" | "Contact" | "Lead"),
        "triggerable": o.createable,
        "layoutable": o.createable,
        "replicateable": true,
        "activateable": false,
        "feedEnabled": false,
        "deprecatedAndHidden": false,
    });
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

impl Schema {
    /// `GET /sobjects/{Type}/describe`. `None` when the object is unknown.
    pub fn describe(&self, object: &str, version: &str) -> Option<Value> {
        let o = self.object(object)?;
        let mut m = object_flags(o);
        m.insert("urls".to_owned(), object_urls(o, version));
        m.insert(
            "fields".to_owned(),
            o.fields.iter().map(field_json).collect(),
        );
        m.insert(
            "childRelationships".to_owned(),
            child_relationships(self, o).into(),
        );
        m.insert(
            "recordTypeInfos".to_owned(),
            json!([{
                "available": true, "defaultRecordTypeMapping": true, "master": true,
                "name": "Master", "developerName": "Master", "recordTypeId": "012000000000000AAA",
                "active": true,
                "urls": {"layout": format!("/services/data/v{version}/sobjects/{}/describe/layouts/012000000000000AAA", o.name)}
            }]),
        );
        Some(Value::Object(m))
    }

    /// `GET /sobjects/{Type}` (basic information): the object's describe-global entry and no
    /// recent items. `None` when the object is unknown.
    pub fn basic_info(&self, object: &str, version: &str) -> Option<Value> {
        let o = self.object(object)?;
        let mut m = object_flags(o);
        m.insert("urls".to_owned(), object_urls(o, version));
        Some(json!({"objectDescribe": Value::Object(m), "recentItems": []}))
    }

    /// `GET /sobjects` (describe global).
    pub fn describe_global(&self, version: &str) -> Value {
        let sobjects: Vec<Value> = (self.objects().iter())
            .filter_map(|o| self.basic_info(&o.name, version))
            .map(|mut info| info["objectDescribe"].take())
            .collect();
        json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})
    }
}
