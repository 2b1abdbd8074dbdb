#![recursion_limit = "256"]
//! Measures what a unified single-record read costs in the connector's half: parsing the
//! provider's answer and mapping it, whole (`serde_json::from_slice`) against parsed down to
//! the keys the mapping reads (`Connector::record_keys`). The answer has the shape the
//! Salesforce emulator sends for `GET sobjects/Account/{id}` (every field of the object,
//! compound addresses, system fields, a custom field).
//!
//! `cargo run --profile profiling -p patchbay-connectors --example get_parse_cost`

use std::hint::black_box;
use std::time::Instant;

use patchbay_connectors::salesforce::{read_record, record_keys};
use patchbay_unified::Resource;
use serde_json::{Value, json};

fn answer() -> Vec<u8> {
    let id = "001000000000001AAA";
    let address = |prefix: &str| {
        json!({"street": format!("{prefix} 1 Main Street\nSuite 2"), "city": "San Francisco",
               "state": "CA", "postalCode": "94105", "country": "US",
               "latitude": null, "longitude": null, "geocodeAccuracy": null})
    };
    let body = json!({
        "attributes": {"type": "Account", "url": format!("/services/data/v66.0/sobjects/Account/{id}")},
        "Id": id, "IsDeleted": false, "MasterRecordId": null, "Name": "Acme Corporation 42",
        "Type": "Customer - Direct", "ParentId": null,
        "BillingStreet": "1 Main Street\nSuite 2", "BillingCity": "San Francisco",
        "BillingState": "CA", "BillingPostalCode": "94105", "BillingCountry": "US",
        "BillingLatitude": null, "BillingLongitude": null, "BillingGeocodeAccuracy": null,
        "BillingAddress": address("Billing"),
        "ShippingStreet": "2 Dock Road", "ShippingCity": "Oakland", "ShippingState": "CA",
        "ShippingPostalCode": "94607", "ShippingCountry": "US",
        "ShippingLatitude": null, "ShippingLongitude": null, "ShippingGeocodeAccuracy": null,
        "ShippingAddress": address("Shipping"),
        "Phone": "+1 415 555 0100", "Fax": "+1 415 555 0101", "AccountNumber": "CD355118",
        "Website": "https://acme.example.com", "PhotoUrl": "/services/images/photo/001",
        "Industry": "Technology", "AnnualRevenue": 12500000.0, "NumberOfEmployees": 420,
        "Rating": "Hot", "Description": "A long-standing customer with several subsidiaries.",
        "OwnerId": "005000000000001AAA", "CreatedDate": "2024-09-27T10:39:01.000+0000",
        "CreatedById": "005000000000001AAA", "LastModifiedDate": "2024-09-28T00:00:00.000+0000",
        "LastModifiedById": "005000000000001AAA", "SystemModstamp": "2024-09-28T00:00:00.000+0000",
        "LastActivityDate": "2024-01-02", "LastViewedDate": null, "LastReferencedDate": null,
        "Tier__c": "Gold"
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

fn main() {
    let bytes = answer();
    let Some(keys) = record_keys(Resource::Companies) else {
        return;
    };
    let n = 200_000u32;
    for round in 0..3 {
        let started = Instant::now();
        for _ in 0..n {
            let v: Value = serde_json::from_slice(black_box(&bytes)).unwrap_or_default();
            black_box(read_record(Resource::Companies, &v).ok());
        }
        let whole = started.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        let started = Instant::now();
        for _ in 0..n {
            let v = keys.parse(black_box(&bytes)).unwrap_or_default();
            black_box(read_record(Resource::Companies, &v).ok());
        }
        let filtered = started.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        let started = Instant::now();
        for _ in 0..n {
            let v: Value = serde_json::from_slice(black_box(&bytes)).unwrap_or_default();
            black_box(v.clone());
        }
        let clone = started.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        let started = Instant::now();
        for _ in 0..n {
            let v: Value = serde_json::from_slice(black_box(&bytes)).unwrap_or_default();
            black_box(v);
        }
        let parse = started.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        let started = Instant::now();
        for _ in 0..n {
            black_box(keys.parse(black_box(&bytes)).ok());
        }
        let parse_keys = started.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        println!(
            "round {round}: {} byte answer; parse whole {parse:.2} µs, + map {whole:.2}, + the copy a get no longer makes {clone:.2}; parse to keys {parse_keys:.2}, + map {filtered:.2}",
            bytes.len()
        );
    }
}
