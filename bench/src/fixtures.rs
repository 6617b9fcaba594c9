//! Payloads the benchmarks send and decode: a ~1.5 KB product envelope and a
//! large order with its order lines expanded.

use std::fmt::Write as _;

use serde_json::{Value, json};

/// The `fields` filter applied to [`order_value`]: the order's head, its
/// customer's name and, for each order line, its amounts and its product's
/// number and name.
pub const ORDER_FIELDS: &str = "id,version,number,orderDate,deliveryDate,customer(id,name),\
    orderLines(id,description,count,unitPriceExcludingVatCurrency,\
    amountExcludingVatCurrency,vatType,product(id,number,name))";

/// A `product.update` webhook envelope of about 1.5 KB for product `id` at
/// `version`, as the bundled server would send it with no `fields` filter.
///
/// Written with `format!` rather than through `serde_json`, so generating a
/// request costs the load generator as little as possible.
pub fn product_envelope(subscription_id: i64, id: i64, version: i64) -> String {
    let mut body = String::with_capacity(1600);
    let _ = write!(
        body,
        r#"{{"subscriptionId":{subscription_id},"event":"product.update","id":{id},"value":{{"id":{id},"version":{version},"url":"api.tripletex.io/v2/product/{id}","name":"Espresso beans, dark roast, 1 kg bag {id}","number":"P-{id}","displayNumber":"P-{id}","description":"{DESCRIPTION}","orderLineDescription":"Espresso beans 1 kg (item {id}, revision {version})","ean":"7038010{ean:06}","costExcludingVatCurrency":112.5,"priceExcludingVatCurrency":249.0,"priceIncludingVatCurrency":311.25,"isInactive":false,"isStockItem":true,"stockOfGoods":{stock}.0,"productUnit":{{"id":1,"url":"api.tripletex.io/v2/product/unit/1"}},"vatType":{{"id":3,"url":"api.tripletex.io/v2/ledger/vatType/3"}},"currency":{{"id":1,"url":"api.tripletex.io/v2/currency/1"}},"department":{{"id":12,"url":"api.tripletex.io/v2/department/12"}},"account":{{"id":3000,"url":"api.tripletex.io/v2/ledger/account/3000"}},"supplier":{{"id":4021,"url":"api.tripletex.io/v2/supplier/4021"}},"weight":1.05,"weightUnit":"kg","displayName":"P-{id} Espresso beans, dark roast, 1 kg bag"}}}}"#,
        ean = id % 1_000_000,
        stock = (id * 7 + version) % 500,
    );
    body
}

/// Filler that brings [`product_envelope`] to about 1.5 KB, as a product
/// with a real description does.
const DESCRIPTION: &str = "Single-origin arabica from the highlands, roasted in small batches \
    for espresso: notes of dark chocolate, toasted hazelnut and a hint of dried cherry. \
    Grind fine just before brewing; 18 g in, 36 g out in 25 to 30 seconds. Store airtight, \
    away from light and heat, and use within four weeks of the roast date printed on the bag. \
    Sold by the kilogram in resealable valve bags; pallets of 240 bags on request. \
    Roasted to order every Monday and Wednesday, shipped the day after roasting.";

/// An order with `lines` order lines expanded in full, as `GET
/// /v2/order/{id}?fields=*,orderLines(*)` returns it.
pub fn order_value(lines: usize) -> Value {
    let id = 5001;
    let order_lines: Vec<Value> = (0..lines)
        .map(|line| {
            let line_id = 70_000 + i64::try_from(line).unwrap_or_default();
            let product = 100 + line_id % 50;
            let count = f64::from(u32::try_from(line % 9 + 1).unwrap_or(1));
            json!({
                "id": line_id,
                "version": 1,
                "url": format!("api.tripletex.io/v2/order/orderline/{line_id}"),
                "product": {
                    "id": product,
                    "url": format!("api.tripletex.io/v2/product/{product}"),
                    "number": format!("P-{product}"),
                    "name": format!("Espresso beans, blend {product}"),
                },
                "inventory": {"id": 1, "url": "api.tripletex.io/v2/inventory/1"},
                "description": format!("Line {line}: espresso beans, 1 kg bag"),
                "count": count,
                "unitCostCurrency": 112.5,
                "unitPriceExcludingVatCurrency": 249.0,
                "unitPriceIncludingVatCurrency": 311.25,
                "currency": {"id": 1, "url": "api.tripletex.io/v2/currency/1"},
                "markup": 121.33,
                "discount": 0.0,
                "vatType": {"id": 3, "url": "api.tripletex.io/v2/ledger/vatType/3"},
                "amountExcludingVatCurrency": 249.0 * count,
                "amountIncludingVatCurrency": 311.25 * count,
                "order": {"id": id, "url": format!("api.tripletex.io/v2/order/{id}")},
                "sortIndex": line,
            })
        })
        .collect();
    json!({
        "id": id,
        "version": 3,
        "url": format!("api.tripletex.io/v2/order/{id}"),
        "customer": {"id": 2001, "url": "api.tripletex.io/v2/customer/2001", "name": "Kaffebrenneriet AS"},
        "contact": {"id": 3001, "url": "api.tripletex.io/v2/contact/3001"},
        "ourContactEmployee": {"id": 11, "url": "api.tripletex.io/v2/employee/11"},
        "displayName": "Order 10042",
        "number": "10042",
        "reference": "PO-2026-118",
        "receiverEmail": "innkjop@kaffebrenneriet.no",
        "orderDate": "2026-11-02",
        "deliveryDate": "2026-11-09",
        "project": {"id": 41, "url": "api.tripletex.io/v2/project/41"},
        "department": {"id": 12, "url": "api.tripletex.io/v2/department/12"},
        "currency": {"id": 1, "url": "api.tripletex.io/v2/currency/1"},
        "invoiceComment": "Deliver to the loading dock at the back.",
        "status": "OPEN",
        "isClosed": false,
        "invoicesDueIn": 14,
        "invoicesDueInType": "DAYS",
        "orderLines": order_lines,
        "isSubscription": false,
        "isPrioritizeAmountsIncludingVat": false,
    })
}

/// An `order.update` envelope carrying [`order_value`] with `lines` lines.
pub fn order_envelope(lines: usize) -> Vec<u8> {
    let value = order_value(lines);
    let envelope =
        json!({"subscriptionId": 1, "event": "order.update", "id": value["id"], "value": value});
    serde_json::to_vec(&envelope).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use tripletex_webhooks_types::fields::FieldsFilter;
    use tripletex_webhooks_types::{EventPayload, ObjectChange, TripletexEvent};

    use super::*;

    #[test]
    fn the_product_envelope_decodes_and_weighs_about_one_and_a_half_kilobytes() {
        let body = product_envelope(3, 42, 7);
        assert!((1300..1700).contains(&body.len()), "{} bytes", body.len());
        let event = TripletexEvent::from_slice(body.as_bytes()).unwrap();
        let EventPayload::Product(ObjectChange::Updated(product)) = event.payload else {
            panic!("a product update");
        };
        assert_eq!((product.id, product.version), (Some(42), Some(7)));
        assert!(product.extra.is_empty(), "every field is a known one");
    }

    #[test]
    fn the_order_decodes_and_the_filter_keeps_every_line() {
        let body = order_envelope(200);
        let event = TripletexEvent::from_slice(&body).unwrap();
        let EventPayload::Order(ObjectChange::Updated(order)) = event.payload else {
            panic!("an order update");
        };
        assert_eq!(order.order_lines_expanded().unwrap().len(), 200);
        let filter: FieldsFilter = ORDER_FIELDS.parse().unwrap();
        let shaped = filter.apply(&order_value(200));
        let lines = shaped["orderLines"].as_array().unwrap();
        assert_eq!(lines.len(), 200);
        assert_eq!(lines[0]["product"]["name"], "Espresso beans, blend 100");
        assert!(lines[0].get("markup").is_none());
    }
}
