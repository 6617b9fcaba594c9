use serde_json::{Value, json};

use crate::fields::FieldsFilter;

fn apply(filter: &str, value: &Value) -> Value {
    FieldsFilter::parse(filter).unwrap().apply(value)
}

fn order() -> Value {
    json!({
        "id": 7,
        "version": 3,
        "changes": [{ "employeeId": 1, "changeType": "CREATE" }],
        "url": "api.tripletex.io/v2/order/7",
        "customer": {
            "id": 11,
            "url": "api.tripletex.io/v2/customer/11",
            "name": "Acme",
            "accountManager": { "id": 5, "url": "api.tripletex.io/v2/employee/5", "firstName": "Kari" },
        },
        "orderLines": [
            { "id": 21, "url": "api.tripletex.io/v2/order/orderline/21", "count": 2.0,
              "product": { "id": 31, "url": "api.tripletex.io/v2/product/31", "name": "Bolt" } },
            { "id": 22, "url": "api.tripletex.io/v2/order/orderline/22", "count": 1.0, "product": null },
        ],
        "deliveryAddress": { "addressLine1": "Gate 1", "city": "Oslo" },
        "preliminaryInvoice": null,
        "tags": ["a", "b"],
        "number": "10001",
    })
}

fn default_order() -> Value {
    json!({
        "id": 7,
        "version": 3,
        "url": "api.tripletex.io/v2/order/7",
        "customer": { "id": 11, "url": "api.tripletex.io/v2/customer/11" },
        "orderLines": [
            { "id": 21, "url": "api.tripletex.io/v2/order/orderline/21" },
            { "id": 22, "url": "api.tripletex.io/v2/order/orderline/22" },
        ],
        "deliveryAddress": { "addressLine1": "Gate 1", "city": "Oslo" },
        "preliminaryInvoice": null,
        "tags": ["a", "b"],
        "number": "10001",
    })
}

#[test]
fn default_shape_stubs_references_and_drops_changes() {
    assert_eq!(FieldsFilter::default_shape(&order()), default_order());
    assert_eq!(apply("", &order()), default_order());
}

#[test]
fn star_is_the_default_shape() {
    assert_eq!(apply("*", &order()), default_order());
}

#[test]
fn key_order_follows_the_source() {
    let shaped = apply("number,id,customer", &order());
    let keys: Vec<_> = shaped.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["id", "customer", "number"]);
}

#[test]
fn bare_names_select_keys_with_stubs() {
    assert_eq!(
        apply("id,customer,orderLines,number", &order()),
        json!({
            "id": 7,
            "customer": { "id": 11, "url": "api.tripletex.io/v2/customer/11" },
            "orderLines": [
                { "id": 21, "url": "api.tripletex.io/v2/order/orderline/21" },
                { "id": 22, "url": "api.tripletex.io/v2/order/orderline/22" },
            ],
            "number": "10001",
        })
    );
}

#[test]
fn sub_selection_does_not_imply_the_id() {
    assert_eq!(
        apply("customer(name)", &order()),
        json!({ "customer": { "name": "Acme" } })
    );
}

#[test]
fn star_sub_selection_expands_one_level() {
    assert_eq!(
        apply("customer(*)", &order()),
        json!({ "customer": {
            "id": 11,
            "url": "api.tripletex.io/v2/customer/11",
            "name": "Acme",
            "accountManager": { "id": 5, "url": "api.tripletex.io/v2/employee/5" },
        }})
    );
    assert_eq!(
        apply("customer()", &order()),
        apply("customer(*)", &order())
    );
}

#[test]
fn arrays_get_the_sub_selection_per_element() {
    assert_eq!(
        apply("orderLines(count,product(name))", &order()),
        json!({ "orderLines": [
            { "count": 2.0, "product": { "name": "Bolt" } },
            { "count": 1.0, "product": null },
        ]})
    );
}

#[test]
fn star_with_expanded_field() {
    let mut expected = default_order();
    expected["orderLines"] = json!([
        { "id": 21, "url": "api.tripletex.io/v2/order/orderline/21", "count": 2.0,
          "product": { "id": 31, "url": "api.tripletex.io/v2/product/31" } },
        { "id": 22, "url": "api.tripletex.io/v2/order/orderline/22", "count": 1.0, "product": null },
    ]);
    assert_eq!(apply("*,orderLines(*)", &order()), expected);
}

#[test]
fn changes_only_when_named() {
    assert!(apply("*", &order()).get("changes").is_none());
    let shaped = apply("*,changes", &order());
    assert_eq!(shaped["changes"], order()["changes"]);
    assert_eq!(
        apply("changes(changeType)", &order()),
        json!({ "changes": [{ "changeType": "CREATE" }] })
    );
    assert_eq!(
        apply(
            "customer(*)",
            &json!({ "customer": { "id": 1, "changes": [] } })
        ),
        json!({ "customer": { "id": 1 } })
    );
}

#[test]
fn missing_names_are_absent() {
    assert_eq!(apply("nope,id", &order()), json!({ "id": 7 }));
    assert_eq!(apply("nope(x)", &order()), json!({}));
}

#[test]
fn sub_selection_on_null_and_scalars() {
    assert_eq!(
        apply("preliminaryInvoice(id),number(x),tags(x)", &order()),
        json!({ "preliminaryInvoice": null, "number": "10001", "tags": ["a", "b"] })
    );
}

#[test]
fn nested_objects_without_id_are_kept_whole() {
    let value =
        json!({ "address": { "city": "Oslo", "country": { "id": 1, "url": "u", "name": "NO" } } });
    assert_eq!(apply("address", &value), value);
    assert_eq!(
        apply("address(*)", &value),
        json!({ "address": { "city": "Oslo", "country": { "id": 1, "url": "u" } } })
    );
}

#[test]
fn stubs_keep_only_existing_id_and_url() {
    let value = json!({ "employee": { "name": "Ola", "id": 9 } });
    assert_eq!(apply("", &value), json!({ "employee": { "id": 9 } }));
}

#[test]
fn arrays_mixing_references_and_other_values() {
    let value = json!({ "list": [{ "id": 1, "url": "u", "x": 1 }, { "x": 2 }, 3, null] });
    assert_eq!(
        apply("list", &value),
        json!({ "list": [{ "id": 1, "url": "u" }, { "x": 2 }, 3, null] })
    );
}

#[test]
fn top_level_non_objects() {
    let filter = FieldsFilter::parse("a").unwrap();
    for value in [json!(null), json!(1), json!("s"), json!(true)] {
        assert_eq!(filter.apply(&value), value);
    }
    assert_eq!(
        filter.apply(&json!([{ "a": 1, "b": 2 }, { "b": 3 }, 4])),
        json!([{ "a": 1 }, {}, 4])
    );
}

#[test]
fn top_level_object_with_id_is_not_stubbed() {
    let value = json!({ "id": 1, "url": "u", "name": "n" });
    assert_eq!(apply("", &value), value);
}
