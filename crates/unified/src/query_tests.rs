use super::*;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn parse(resource: Resource, list: &[(&str, &str)]) -> Result<ListParams, UnifiedError> {
    ListParams::parse(resource, &pairs(list))
}

#[test]
fn defaults() {
    let p = parse(Resource::Contacts, &[]).unwrap();
    assert_eq!(p.limit, 20);
    assert_eq!(p.cursor, None);
    assert!(p.filters.is_empty());
    assert_eq!(p.sort, None);
    assert_eq!(p.common, CommonParams::default());
}

#[test]
fn limit_bounds() {
    assert_eq!(
        parse(Resource::Contacts, &[("limit", "1")]).unwrap().limit,
        1
    );
    assert_eq!(
        parse(Resource::Contacts, &[("limit", "200")])
            .unwrap()
            .limit,
        200
    );
    for bad in ["0", "201", "-1", "abc", "", "1.5", "99999999999"] {
        let err = parse(Resource::Contacts, &[("limit", bad)]).unwrap_err();
        assert_eq!(err.type_name(), "RequestValidationError", "{bad}");
    }
}

#[test]
fn filters_per_resource() {
    let p = parse(
        Resource::Contacts,
        &[
            ("filter[email]", "a@b.c"),
            ("filter[updated_since]", "2020-09-30T07:43:32.000+02:00"),
            ("filter[company_id]", "001000000000001"),
        ],
    )
    .unwrap();
    assert_eq!(p.filters.len(), 3);
    // ordered by field, not by arrival
    assert_eq!(p.filters[0].field, FilterField::Email);
    assert_eq!(p.filters[1].field, FilterField::CompanyId);
    assert_eq!(
        p.filters[2].value,
        FilterValue::DateTime(time::macros::datetime!(2020-09-30 05:43:32 UTC))
    );

    for resource in Resource::ALL {
        for field in resource.filter_fields() {
            let value = match field.kind() {
                FilterKind::Number => "42.5",
                FilterKind::DateTime => "2020-01-01T00:00:00Z",
                FilterKind::Text | FilterKind::Id => "x",
            };
            let key = format!("filter[{}]", field.as_str());
            assert!(
                parse(resource, &[(&key, value)]).is_ok(),
                "{resource:?} {key}"
            );
        }
    }
}

#[test]
fn filters_outside_the_spec_are_unsupported() {
    let err = parse(
        Resource::Companies,
        &[("filter[email]", "x"), ("filter[bogus]", "y")],
    )
    .unwrap_err();
    assert_eq!(
        err,
        UnifiedError::UnsupportedFilters {
            filters: vec!["bogus".to_owned(), "email".to_owned()]
        }
    );
    let err = parse(Resource::Pipelines, &[("filter[name]", "x")]).unwrap_err();
    assert_eq!(err.type_name(), "UnsupportedFiltersError");
}

#[test]
fn bad_filter_values_are_validation_errors() {
    for (resource, key, value) in [
        (Resource::Opportunities, "filter[monetary_amount]", "lots"),
        (Resource::Opportunities, "filter[win_probability]", "NaN"),
        (Resource::Opportunities, "filter[win_probability]", "inf"),
        (Resource::Contacts, "filter[updated_since]", "yesterday"),
        (Resource::Contacts, "filter[created_since]", "2020-01-01"),
        (Resource::Contacts, "filter[email]", ""),
    ] {
        let err = parse(resource, &[(key, value)]).unwrap_err();
        assert_eq!(err.type_name(), "RequestValidationError", "{key}={value}");
    }
    let long = "x".repeat(MAX_VALUE_LEN + 1);
    assert!(parse(Resource::Contacts, &[("filter[name]", &long)]).is_err());
}

#[test]
fn sorts() {
    let p = parse(
        Resource::Opportunities,
        &[("sort[by]", "monetary_amount"), ("sort[direction]", "desc")],
    )
    .unwrap();
    assert_eq!(
        p.sort,
        Some(Sort {
            by: SortField::MonetaryAmount,
            direction: SortDirection::Desc
        })
    );
    let p = parse(Resource::Companies, &[("sort[by]", "name")]).unwrap();
    assert_eq!(p.sort.map(|s| s.direction), Some(SortDirection::Asc));
    // direction alone is ignored
    assert_eq!(
        parse(Resource::Contacts, &[("sort[direction]", "desc")])
            .unwrap()
            .sort,
        None
    );

    for (resource, by) in [
        (Resource::Companies, "email"),
        (Resource::Notes, "created_at"),
        (Resource::Contacts, "shoe_size"),
    ] {
        let err = parse(resource, &[("sort[by]", by)]).unwrap_err();
        assert_eq!(
            err,
            UnifiedError::UnsupportedSortField {
                field: by.to_owned()
            }
        );
    }
    let err = parse(
        Resource::Contacts,
        &[("sort[by]", "name"), ("sort[direction]", "up")],
    )
    .unwrap_err();
    assert_eq!(err.type_name(), "RequestValidationError");
}

#[test]
fn common_params() {
    let p = parse(
        Resource::Contacts,
        &[
            ("raw", "true"),
            ("fields", "name,addresses.city"),
            ("pass_through[search]", "San Francisco"),
            ("cursor", "abc"),
            ("_method", "GET"),
        ],
    )
    .unwrap();
    assert!(p.common.raw);
    assert_eq!(p.cursor.as_deref(), Some("abc"));
    assert_eq!(
        p.common.pass_through.get("search").map(String::as_str),
        Some("San Francisco")
    );
    assert!(p.common.fields.is_some());
    assert!(parse(Resource::Contacts, &[("raw", "yes")]).is_err());
    assert!(parse(Resource::Contacts, &[("pass_through[]", "x")]).is_err());
    assert!(parse(Resource::Contacts, &[("pass_through[a][b]", "x")]).is_err());
    assert_eq!(
        parse(Resource::Contacts, &[("cursor", "")]).unwrap().cursor,
        None
    );
}

#[test]
fn duplicates_are_rejected() {
    for key in ["limit", "filter[email]", "sort[by]", "cursor"] {
        let err = parse(Resource::Contacts, &[(key, "1"), (key, "2")]).unwrap_err();
        assert_eq!(err.type_name(), "RequestValidationError", "{key}");
    }
}

#[test]
fn fingerprint_depends_on_filters_and_sort_only() {
    let a = parse(
        Resource::Contacts,
        &[
            ("filter[name]", "a"),
            ("filter[email]", "b"),
            ("limit", "5"),
        ],
    )
    .unwrap();
    let b = parse(
        Resource::Contacts,
        &[
            ("filter[email]", "b"),
            ("filter[name]", "a"),
            ("limit", "50"),
        ],
    )
    .unwrap();
    assert_eq!(a.query_fingerprint(), b.query_fingerprint());
    let c = parse(
        Resource::Contacts,
        &[
            ("filter[email]", "b"),
            ("filter[name]", "a"),
            ("sort[by]", "name"),
        ],
    )
    .unwrap();
    assert_ne!(a.query_fingerprint(), c.query_fingerprint());
    // length-prefixing keeps "a;email=" style values from colliding
    let d = parse(Resource::Contacts, &[("filter[name]", "x;email=sb:")]).unwrap();
    let e = parse(Resource::Contacts, &[("filter[name]", "x")]).unwrap();
    assert_ne!(d.query_fingerprint(), e.query_fingerprint());
}
