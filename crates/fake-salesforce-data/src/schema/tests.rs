use super::*;

fn schema() -> Schema {
    Schema::new(&CustomFieldSpec::defaults()).unwrap()
}

#[test]
fn every_object_has_system_fields_in_fixed_positions() {
    let s = schema();
    for name in object_names() {
        let o = s.object(name).unwrap();
        assert_eq!(o.fields[sys::ID].name, "Id");
        assert_eq!(o.fields[sys::IS_DELETED].name, "IsDeleted");
        assert_eq!(o.fields[sys::CREATED_DATE].name, "CreatedDate");
        assert_eq!(o.fields[sys::CREATED_BY_ID].name, "CreatedById");
        assert_eq!(o.fields[sys::LAST_MODIFIED_DATE].name, "LastModifiedDate");
        assert_eq!(o.fields[sys::LAST_MODIFIED_BY_ID].name, "LastModifiedById");
        assert_eq!(o.fields[sys::SYSTEM_MODSTAMP].name, "SystemModstamp");
        let has_owner = o.field("OwnerId").is_some();
        assert_eq!(
            has_owner,
            !matches!(*name, "User" | "OpportunityStage"),
            "{name}"
        );
        assert_eq!(o.key_prefix.len(), 3);
    }
}

#[test]
fn key_prefixes_match_salesforce() {
    let s = schema();
    let expected = [
        ("Account", "001"),
        ("Contact", "003"),
        ("Lead", "00Q"),
        ("Opportunity", "006"),
        ("Task", "00T"),
        ("Event", "00U"),
        ("Note", "002"),
        ("User", "005"),
        ("OpportunityStage", "01J"),
    ];
    for (name, prefix) in expected {
        assert_eq!(s.object(name).unwrap().key_prefix, prefix);
        assert_eq!(s.object_for_prefix(prefix), s.object_index(name));
    }
}

#[test]
fn lookups_are_case_insensitive() {
    let s = schema();
    let c = s.object("contact").unwrap();
    assert_eq!(c.name, "Contact");
    assert_eq!(c.field("lastname").unwrap().name, "LastName");
    assert_eq!(c.field("TIER__C").unwrap().name, "Tier__c");
    let acc = c.relationship_index("account").unwrap();
    assert_eq!(c.fields[acc].name, "AccountId");
    let owner = c.relationship_index("Owner").unwrap();
    assert_eq!(c.fields[owner].reference_to, ["User"]);
    let task = s.object("Task").unwrap();
    assert_eq!(
        task.fields[task.relationship_index("Who").unwrap()].reference_to,
        ["Contact", "Lead"]
    );
    assert!(s.object("Foo").is_none());
}

#[test]
fn required_and_defaulted_fields() {
    let s = schema();
    let req = |o: &str| -> Vec<String> {
        s.object(o)
            .unwrap()
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name.clone())
            .collect()
    };
    assert_eq!(req("Contact"), ["LastName"]);
    assert_eq!(req("Lead"), ["LastName", "Company"]);
    assert_eq!(req("Opportunity"), ["Name", "StageName", "CloseDate"]);
    assert_eq!(req("Note"), ["Title", "ParentId"]);
    let lead = s.object("Lead").unwrap();
    assert_eq!(
        lead.field("Status").unwrap().default,
        Some(DefaultValue::Text("Open - Not Contacted".into()))
    );
    let task = s.object("Task").unwrap();
    assert_eq!(
        task.field("Priority").unwrap().default,
        Some(DefaultValue::Text("Normal".into()))
    );
    assert_eq!(
        task.field("Status").unwrap().default,
        Some(DefaultValue::Text("Not Started".into()))
    );
    assert!(
        !s.object("Contact")
            .unwrap()
            .field("Name")
            .unwrap()
            .createable
    );
    assert!(
        !s.object("Opportunity")
            .unwrap()
            .field("IsWon")
            .unwrap()
            .updateable
    );
    assert!(
        s.object("Opportunity")
            .unwrap()
            .field("StageName")
            .unwrap()
            .restricted
    );
}

#[test]
fn custom_fields_are_validated() {
    let spec = |object: &str, name: &str| CustomFieldSpec {
        object: object.into(),
        name: name.into(),
        field_type: FieldType::String,
        label: "X".into(),
        picklist: vec![],
    };
    let s = Schema::new(&[spec("Lead", "Score__c")]).unwrap();
    let f = s.object("Lead").unwrap().field("score__c").unwrap();
    assert!(f.custom && f.createable);
    assert!(
        s.object("Contact").unwrap().field("Tier__c").is_none(),
        "defaults only when asked"
    );
    assert_eq!(
        Schema::new(&[spec("Foo", "A__c")]).unwrap_err(),
        SchemaError::UnknownObject("Foo".into())
    );
    assert!(matches!(
        Schema::new(&[spec("Lead", "Score")]),
        Err(SchemaError::BadCustomName(_))
    ));
    assert!(matches!(
        Schema::new(&[spec("Lead", "__c")]),
        Err(SchemaError::BadCustomName(_))
    ));
    assert!(matches!(
        Schema::new(&[spec("Lead", "A b__c")]),
        Err(SchemaError::BadCustomName(_))
    ));
    assert!(matches!(
        Schema::new(&[spec("Lead", "A__c"), spec("lead", "a__c")]),
        Err(SchemaError::Duplicate(_))
    ));
}

#[test]
fn describe_lists_fields_and_relationships() {
    let s = schema();
    let d = s.describe("account", "66.0").unwrap();
    assert_eq!(d["name"], "Account");
    assert_eq!(d["keyPrefix"], "001");
    assert_eq!(
        d["urls"]["sobject"],
        "/services/data/v66.0/sobjects/Account"
    );
    let fields = d["fields"].as_array().unwrap();
    let name = fields.iter().find(|f| f["name"] == "Name").unwrap();
    assert_eq!(name["type"], "string");
    assert_eq!(name["nillable"], false);
    assert_eq!(name["nameField"], true);
    let addr = fields
        .iter()
        .find(|f| f["name"] == "BillingAddress")
        .unwrap();
    assert_eq!(addr["type"], "address");
    assert_eq!(addr["createable"], false);
    let city = fields.iter().find(|f| f["name"] == "BillingCity").unwrap();
    assert_eq!(city["compoundFieldName"], "BillingAddress");
    let tier = fields.iter().find(|f| f["name"] == "Tier__c").unwrap();
    assert_eq!(tier["custom"], true);
    assert_eq!(tier["picklistValues"].as_array().unwrap().len(), 3);
    let children = d["childRelationships"].as_array().unwrap();
    assert!(
        children
            .iter()
            .any(|c| c["childSObject"] == "Contact" && c["relationshipName"] == "Contacts")
    );
    assert!(children.iter().any(|c| c["childSObject"] == "Opportunity" && c["relationshipName"] == "Opportunities"));
    let owner = fields.iter().find(|f| f["name"] == "OwnerId").unwrap();
    assert_eq!(owner["relationshipName"], "Owner");
    assert_eq!(owner["referenceTo"], serde_json::json!(["User"]));
    assert!(s.describe("Nope", "66.0").is_none());

    let stage = s.describe("OpportunityStage", "66.0").unwrap();
    assert_eq!(stage["createable"], false);
    let lead = s.describe("Lead", "66.0").unwrap();
    let status = lead["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Status")
        .unwrap()
        .clone();
    assert_eq!(status["defaultedOnCreate"], true);
    assert_eq!(status["restrictedPicklist"], true);
    assert_eq!(status["picklistValues"][0]["defaultValue"], true);
}

#[test]
fn describe_global_lists_every_object() {
    let g = schema().describe_global("66.0");
    assert_eq!(g["encoding"], "UTF-8");
    assert_eq!(g["maxBatchSize"], 200);
    let names: Vec<&str> = g["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, object_names());
}

#[test]
fn basic_info_wraps_the_global_entry() {
    let s = schema();
    let info = s.basic_info("contact", "66.0").unwrap();
    assert_eq!(info["objectDescribe"]["name"], "Contact");
    assert_eq!(
        info["objectDescribe"]["urls"]["describe"],
        "/services/data/v66.0/sobjects/Contact/describe"
    );
    assert_eq!(info["recentItems"], serde_json::json!([]));
    assert!(s.basic_info("Nope", "66.0").is_none());
}
