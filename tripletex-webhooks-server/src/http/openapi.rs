//! `GET /v2/openapi.json`: an OpenAPI 3.0 document of what this server
//! implements, generated from the same tables as the router.
//!
//! The object endpoints come from [`RESOURCES`], one set of paths and one
//! model schema per row, so adding a resource documents it. The schemas this
//! server shares with Tripletex (`Subscription`, `ApiError`, `EventInfo`, ...)
//! are written to have the same shape as in Tripletex's own OpenAPI document
//! (API2 2.72.00): the same properties, types, formats and enums. The
//! operations follow Tripletex's too (tags, operation ids, parameters and
//! `tokenAuthScheme`), but list their real status codes rather than
//! Tripletex's single `default` response; `default` is the `ApiError`.
//!
//! The document is built once, when the router is built, and served as bytes.

use std::collections::BTreeMap;

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::domain::model;
use crate::domain::model::FilterKind;
use crate::domain::resources::{Operation as Write, RESOURCES, Resource};
use crate::http::state::AppState;

/// Where the document is served.
pub(crate) const PATH: &str = "/v2/openapi.json";

/// The OpenAPI version of the document.
const OPENAPI_VERSION: &str = "3.0.3";

/// The security scheme every authenticated operation names.
const SECURITY_SCHEME: &str = "tokenAuthScheme";

/// The routes of this module: `GET /v2/openapi.json`, without authentication.
/// `emulator_api` says whether `/_emulator` is served (and so documented).
pub(crate) fn routes(emulator_api: bool) -> Router<AppState> {
    // Serializing a `Value` cannot fail (its keys are strings).
    let body = Bytes::from(serde_json::to_vec(&document(emulator_api)).unwrap_or_default());
    Router::new().route(
        PATH,
        get(move || {
            let body = body.clone();
            async move {
                (
                    [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                    body,
                )
            }
        }),
    )
}

/// The OpenAPI document of this server; `emulator_api` adds the `/_emulator`
/// paths (served from the root rather than `/v2`).
pub(crate) fn document(emulator_api: bool) -> Value {
    let mut paths = Paths::default();
    token_paths(&mut paths);
    event_paths(&mut paths);
    subscription_paths(&mut paths);
    for resource in RESOURCES {
        resource_paths(&mut paths, resource);
    }
    paths.add(
        "/openapi.json",
        "get",
        Operation::new("OpenApi_get", "openapi", "This OpenAPI document.")
            .public()
            .response(
                200,
                "The OpenAPI 3.0 document.",
                Some(json!({"type": "object"})),
            ),
    );
    probe_paths(&mut paths);
    if emulator_api {
        emulator_paths(&mut paths);
    }

    let mut tags = vec![
        tag("token/session", "Session tokens."),
        tag("event", "The event catalogue."),
        tag("event/subscription", "Webhook subscriptions."),
    ];
    tags.extend(RESOURCES.iter().map(|resource| {
        tag(
            resource.path,
            &format!(
                "`{}` objects (the model of Tripletex's OpenAPI document {}); their writes \
                 emit webhook events.",
                resource.model,
                model::data().openapi_version,
            ),
        )
    }));
    tags.push(tag("openapi", "This document."));
    tags.push(tag(
        "probes",
        "Health and readiness, for load balancers; not part of Tripletex. Served from the root, \
         not `/v2`.",
    ));
    if emulator_api {
        tags.push(tag(
            "emulator",
            "The emulator API, for tests; not part of Tripletex. Served from the root, not `/v2`.",
        ));
    }

    json!({
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Tripletex API2 emulator (tripletex-webhooks-server)",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The subset of Tripletex API2 this server implements: session tokens, \
                the event catalogue, webhook subscriptions and object endpoints whose writes \
                emit webhook events. Shared schemas have the shape of Tripletex's own.",
        },
        "servers": [{"url": "/v2", "description": "This server"}],
        "tags": tags,
        "paths": paths.build(),
        "components": {
            "schemas": schemas(emulator_api),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "description": "Basic AUTH where username is company/customer id for proxy \
                        use (or 0 for default), password should be set to the session token",
                    "scheme": "basic",
                },
            },
        },
    })
}

// ---------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------

/// The `paths` object, filled one operation at a time.
#[derive(Default)]
struct Paths(BTreeMap<String, Map<String, Value>>);

impl Paths {
    fn add(&mut self, path: &str, method: &str, operation: Operation) {
        self.item(path).insert(method.to_owned(), operation.build());
    }

    /// The path item of `path`, created empty when new.
    fn item(&mut self, path: &str) -> &mut Map<String, Value> {
        self.0.entry(path.to_owned()).or_default()
    }

    fn build(self) -> Map<String, Value> {
        self.0
            .into_iter()
            .map(|(path, item)| (path, Value::Object(item)))
            .collect()
    }
}

/// One operation, before it is written as JSON.
struct Operation {
    id: String,
    tag: String,
    summary: String,
    description: Option<String>,
    authenticated: bool,
    parameters: Vec<Value>,
    body: Option<Value>,
    responses: Map<String, Value>,
}

impl Operation {
    fn new(id: impl Into<String>, tag: &str, summary: &str) -> Self {
        Self {
            id: id.into(),
            tag: tag.to_owned(),
            summary: summary.to_owned(),
            description: None,
            authenticated: true,
            parameters: Vec::new(),
            body: None,
            responses: Map::new(),
        }
    }

    /// No authentication.
    fn public(mut self) -> Self {
        self.authenticated = false;
        self
    }

    fn description(mut self, description: String) -> Self {
        self.description = Some(description);
        self
    }

    fn params(self, parameters: Vec<Value>) -> Self {
        parameters.into_iter().fold(self, Self::param)
    }

    fn param(mut self, parameter: Value) -> Self {
        self.parameters.push(parameter);
        self
    }

    /// A required JSON request body.
    fn body(mut self, description: &str, schema: Value) -> Self {
        let mut body = json!({
            "description": description,
            "content": {"application/json": {}},
            "required": true,
        });
        body["content"]["application/json"]["schema"] = schema;
        self.body = Some(body);
        self
    }

    /// A response; `schema` is the JSON body's, `None` for an empty body.
    fn response(mut self, status: u16, description: &str, schema: Option<Value>) -> Self {
        let mut response = json!({"description": description});
        if let (Some(schema), Value::Object(map)) = (schema, &mut response) {
            map.insert(
                "content".to_owned(),
                json!({"application/json": {"schema": schema}}),
            );
        }
        self.responses.insert(status.to_string(), response);
        self
    }

    /// A `200` answer of Server-Sent Events.
    fn event_stream(mut self, description: &str) -> Self {
        self.responses.insert(
            "200".to_owned(),
            json!({
                "description": description,
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }),
        );
        self
    }

    /// `304 Not Modified`, for lists that honour `If-None-Match`.
    fn not_modified(self) -> Self {
        self.param(json!({
            "name": "If-None-Match",
            "in": "header",
            "description": "Turns `versionDigest` into a checksum of the whole result; \
                send the last one to get 304 while nothing changed.",
            "required": false,
            "schema": {"type": "string"},
        }))
        .response(
            304,
            "Not Modified: `If-None-Match` equals the current `versionDigest`.",
            None,
        )
    }

    fn build(self) -> Value {
        let mut responses = self.responses;
        responses.insert(
            "default".to_owned(),
            json!({
                "description": "An error.",
                "content": {"application/json": {"schema": schema_ref("ApiError")}},
            }),
        );
        let mut operation = Map::new();
        operation.insert("tags".to_owned(), json!([self.tag]));
        operation.insert("summary".to_owned(), Value::from(self.summary));
        if let Some(description) = self.description {
            operation.insert("description".to_owned(), Value::from(description));
        }
        operation.insert("operationId".to_owned(), Value::from(self.id));
        if !self.parameters.is_empty() {
            operation.insert("parameters".to_owned(), Value::Array(self.parameters));
        }
        if let Some(body) = self.body {
            operation.insert("requestBody".to_owned(), body);
        }
        operation.insert("responses".to_owned(), Value::Object(responses));
        if self.authenticated {
            operation.insert("security".to_owned(), json!([{SECURITY_SCHEME: []}]));
        }
        Value::Object(operation)
    }
}

fn tag(name: &str, description: &str) -> Value {
    json!({"name": name, "description": description})
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn query(name: &str, description: &str, required: bool, schema: Value) -> Value {
    let mut parameter = json!({
        "name": name,
        "in": "query",
        "description": description,
        "required": required,
    });
    parameter["schema"] = schema;
    parameter
}

fn path_param(name: &str, description: &str, schema: Value) -> Value {
    let mut parameter = json!({
        "name": name,
        "in": "path",
        "description": description,
        "required": true,
    });
    parameter["schema"] = schema;
    parameter
}

fn id_param() -> Value {
    path_param(
        "id",
        "Element ID",
        json!({"type": "integer", "format": "int64"}),
    )
}

fn fields_param() -> Value {
    query(
        "fields",
        "Fields filter pattern",
        false,
        json!({"type": "string", "default": ""}),
    )
}

fn from_param() -> Value {
    query(
        "from",
        "From index",
        false,
        json!({"type": "integer", "minimum": 0, "default": 0}),
    )
}

fn count_param() -> Value {
    query(
        "count",
        "Number of elements to return",
        false,
        json!({"type": "integer", "minimum": 0, "default": 1000}),
    )
}

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

fn token_paths(paths: &mut Paths) {
    let string = || json!({"type": "string"});
    paths.add(
        "/token/session/:create",
        "put",
        Operation::new(
            "TokenSessionCreate_create",
            "token/session",
            "Create session token.",
        )
        .public()
        .param(query(
            "consumerToken",
            "Token of the API consumer",
            true,
            string(),
        ))
        .param(query(
            "employeeToken",
            "The employee's token",
            true,
            string(),
        ))
        .param(query(
            "expirationDate",
            "Expiration date for the combined token (YYYY-MM-DD, after today)",
            true,
            json!({"type": "string", "format": "date"}),
        ))
        .response(
            200,
            "The new session token.",
            Some(schema_ref("ResponseWrapperSessionToken")),
        ),
    );
    paths.add(
        "/token/session/>whoAmI",
        "get",
        Operation::new(
            "TokenSessionWhoAmI_whoAmI",
            "token/session",
            "Find information about the current user.",
        )
        .param(fields_param())
        .response(
            200,
            "The current user.",
            Some(schema_ref("ResponseWrapperLoggedInUserInfo")),
        ),
    );
    paths.add(
        "/token/session/{token}",
        "delete",
        Operation::new(
            "TokenSession_delete",
            "token/session",
            "Delete session token.",
        )
        .param(path_param(
            "token",
            "The login token string to delete",
            string(),
        ))
        .response(204, "Deleted.", None),
    );
}

fn event_paths(paths: &mut Paths) {
    paths.add(
        "/event",
        "get",
        Operation::new("Event_get", "event", "[BETA] Get all (WebHook) event keys.")
            .public()
            .param(fields_param())
            .response(
                200,
                "Every event this server emits.",
                Some(schema_ref("ResponseWrapperMapStringEventInfoDescription")),
            ),
    );
    paths.add(
        "/event/{eventType}",
        "get",
        Operation::new(
            "Event_example",
            "event",
            "[BETA] Get example webhook payload",
        )
        .param(path_param(
            "eventType",
            "Event type, from /event endpoint",
            json!({"type": "string"}),
        ))
        .param(fields_param())
        .response(
            200,
            "The event, with an example delivery.",
            Some(schema_ref("ResponseWrapperEventInfo")),
        ),
    );
}

fn subscription_paths(paths: &mut Paths) {
    const TAG: &str = "event/subscription";
    let list = || Some(schema_ref("ListResponseSubscription"));
    let one = || Some(schema_ref("ResponseWrapperSubscription"));
    let many = || json!({"type": "array", "items": schema_ref("Subscription")});
    paths.add(
        "/event/subscription",
        "get",
        Operation::new(
            "EventSubscription_search",
            TAG,
            "[BETA] Find all ongoing subscriptions.",
        )
        .param(from_param())
        .param(count_param())
        .param(query(
            "sorting",
            "Sorting pattern: id, version, event, targetUrl, status, fields or authHeaderName, \
             comma-separated, `-` for descending",
            false,
            json!({"type": "string", "default": ""}),
        ))
        .param(fields_param())
        .not_modified()
        .response(200, "The caller's subscriptions.", list()),
    );
    paths.add(
        "/event/subscription",
        "post",
        Operation::new(
            "EventSubscription_post",
            TAG,
            "[BETA] Create a new subscription for current EmployeeToken.",
        )
        .param(fields_param())
        .body(
            "JSON representing the new object to be created. Should not have ID and version set.",
            schema_ref("Subscription"),
        )
        .response(201, "Created.", one()),
    );
    paths.add(
        "/event/subscription/list",
        "post",
        Operation::new(
            "EventSubscriptionList_postList",
            TAG,
            "[BETA] Create multiple subscriptions for current EmployeeToken.",
        )
        .param(fields_param())
        .body(
            "JSON representing a list of new objects to be created. Should not have ID and \
             version set.",
            many(),
        )
        .response(201, "Created.", list()),
    );
    paths.add(
        "/event/subscription/list",
        "put",
        Operation::new(
            "EventSubscriptionList_putList",
            TAG,
            "[BETA] Update multiple subscription.",
        )
        .param(fields_param())
        .body(
            "JSON representing updates to objects. Should have ID and version set.",
            many(),
        )
        .response(200, "Updated.", list()),
    );
    paths.add(
        "/event/subscription/list",
        "delete",
        Operation::new(
            "EventSubscriptionList_deleteByIds",
            TAG,
            "[BETA] Delete multiple subscriptions.",
        )
        .param(query(
            "ids",
            "ID of the elements (comma-separated)",
            true,
            json!({"type": "string"}),
        ))
        .response(204, "Deleted.", None),
    );
    paths.add(
        "/event/subscription/{id}",
        "get",
        Operation::new(
            "EventSubscription_get",
            TAG,
            "[BETA] Get subscription by ID.",
        )
        .param(id_param())
        .param(fields_param())
        .response(200, "The subscription.", one()),
    );
    paths.add(
        "/event/subscription/{id}",
        "put",
        Operation::new(
            "EventSubscription_put",
            TAG,
            "[BETA] Change a current subscription, based on id.",
        )
        .param(id_param())
        .param(fields_param())
        .body(
            "Partial object describing what should be updated",
            schema_ref("Subscription"),
        )
        .response(200, "Updated.", one()),
    );
    paths.add(
        "/event/subscription/{id}",
        "delete",
        Operation::new(
            "EventSubscription_delete",
            TAG,
            "[BETA] Delete the given subscription.",
        )
        .param(id_param())
        .response(204, "Deleted.", None),
    );
}

/// The search parameters of a resource's official list operation, each
/// described by its meaning here.
fn search_params(resource: &Resource) -> Vec<Value> {
    let search = model::data()
        .resources
        .get(resource.path)
        .map_or(&[][..], |row| row.search.as_slice());
    search
        .iter()
        .map(|param| {
            let field = param.field.as_deref().unwrap_or("-");
            let meaning = match param.filter {
                FilterKind::In => {
                    format!("List of IDs: `{field}` is one of a comma-separated list.")
                }
                FilterKind::Equals => format!("Equals: `{field}`."),
                FilterKind::Contains => format!("Containing: `{field}` contains it, in any case."),
                FilterKind::From => format!("From and including: `{field}`."),
                FilterKind::To => format!("To and excluding: `{field}`."),
                FilterKind::ChangedSince => {
                    "Only objects changed at or after this date and time.".to_owned()
                }
                FilterKind::None => {
                    "Accepted and not applied: no field of the model answers it.".to_owned()
                }
            };
            query(&param.param, &meaning, false, param.schema.clone())
        })
        .collect()
}

/// `ledger/account` → `LedgerAccount`, the stem of Tripletex's operation ids.
fn pascal_case(path: &str) -> String {
    path.split('/')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

/// "Emits `product.create`." for a write, or that it emits nothing.
fn emits(resource: &Resource, write: Write) -> String {
    let events: Vec<String> = resource
        .events(write)
        .iter()
        .map(|event| format!("`{event}`"))
        .collect();
    if events.is_empty() {
        "Emits no webhook event.".to_owned()
    } else {
        format!("Emits {}.", events.join(", "))
    }
}

fn resource_paths(paths: &mut Paths, resource: &Resource) {
    let collection = format!("/{}", resource.path);
    let item = format!("{collection}/{{id}}");
    let stem = pascal_case(resource.path);
    let tag = resource.path;
    let model = resource.model;
    let one = || Some(schema_ref(&format!("ResponseWrapper{model}")));
    let required = if resource.required().is_empty() {
        String::new()
    } else {
        format!(" Required fields: {}.", resource.required().join(", "))
    };
    paths.add(
        &collection,
        "get",
        Operation::new(
            format!("{stem}_search"),
            tag,
            &format!("Find {model} objects."),
        )
        .params(search_params(resource))
        .param(from_param())
        .param(count_param())
        .param(query(
            "sorting",
            "Sorting pattern: comma-separated fields, `-` for descending, `project.name` for a \
             field of a referenced object; an unknown field is 422, code 17000.",
            false,
            json!({"type": "string"}),
        ))
        .param(fields_param())
        .not_modified()
        .response(
            200,
            &format!("A page of {model} objects."),
            Some(schema_ref(&format!("ListResponse{model}"))),
        ),
    );
    paths.add(
        &collection,
        "post",
        Operation::new(format!("{stem}_post"), tag, &format!("Create {model}."))
            .description(format!(
                "{}{required}",
                emits(resource, Write::Create)
            ))
            .param(fields_param())
            .body(
                "JSON representing the new object to be created. Should not have ID and version set.",
                schema_ref(model),
            )
            .response(201, "Created.", one()),
    );
    paths.add(
        &item,
        "get",
        Operation::new(format!("{stem}_get"), tag, &format!("Get {model} by ID."))
            .param(id_param())
            .param(fields_param())
            .response(200, &format!("The {model}."), one()),
    );
    if resource.has_item("put") {
        paths.add(
            &item,
            "put",
            Operation::new(format!("{stem}_put"), tag, &format!("Update {model}."))
                .description(format!(
                    "A partial update; a `version` must match the stored one. {}",
                    emits(resource, Write::Update)
                ))
                .param(id_param())
                .param(fields_param())
                .body(
                    "Partial object describing what should be updated",
                    schema_ref(model),
                )
                .response(200, "Updated.", one()),
        );
    }
    if resource.has_item("delete") {
        paths.add(
            &item,
            "delete",
            Operation::new(format!("{stem}_delete"), tag, &format!("Delete {model}."))
                .description(emits(resource, Write::Delete))
                .param(id_param())
                .response(204, "Deleted.", None),
        );
    }
    bulk_paths(paths, resource);
}

/// The bulk `/list` operations the official document has for a resource.
fn bulk_paths(paths: &mut Paths, resource: &Resource) {
    let list = format!("/{}/list", resource.path);
    let stem = format!("{}List", pascal_case(resource.path));
    let (tag, model) = (resource.path, resource.model);
    let many = || json!({"type": "array", "items": schema_ref(model)});
    let page = || Some(schema_ref(&format!("ListResponse{model}")));
    let all_or_none = "Every object is checked before any is written: one that fails writes none.";
    if resource.has_list("post") {
        paths.add(
            &list,
            "post",
            Operation::new(format!("{stem}_postList"), tag, &format!("Create several {model} objects."))
                .description(format!("{all_or_none} {}", emits(resource, Write::Create)))
                .param(fields_param())
                .body("JSON representing a list of new objects to be created. Should not have ID and version set.", many())
                .response(201, "Created.", page()),
        );
    }
    if resource.has_list("put") {
        paths.add(
            &list,
            "put",
            Operation::new(
                format!("{stem}_putList"),
                tag,
                &format!("Update several {model} objects."),
            )
            .description(format!("{all_or_none} {}", emits(resource, Write::Update)))
            .param(fields_param())
            .body(
                "JSON representing updates to objects. Should have ID and version set.",
                many(),
            )
            .response(200, "Updated.", page()),
        );
    }
    if resource.has_list("delete") {
        paths.add(
            &list,
            "delete",
            Operation::new(
                format!("{stem}_deleteByIds"),
                tag,
                &format!("Delete several {model} objects."),
            )
            .description(format!(
                "Every object must exist before any is deleted. {}",
                emits(resource, Write::Delete)
            ))
            .param(query(
                "ids",
                "ID of the elements",
                true,
                json!({"type": "string"}),
            ))
            .response(204, "Deleted.", None),
        );
    }
}

/// `servers` of the path items served from the root rather than `/v2`.
fn at_root(paths: &mut Paths, path: &str) {
    paths.item(path).insert(
        "servers".to_owned(),
        json!([{"url": "/", "description": "The server root"}]),
    );
}

/// `/health` and `/ready`, at the root and without authentication.
fn probe_paths(paths: &mut Paths) {
    paths.add(
        "/health",
        "get",
        Operation::new("Probe_health", "probes", "Whether the process serves HTTP.")
            .public()
            .response(200, "Up.", Some(schema_ref("ResponseWrapperHealth"))),
    );
    paths.add(
        "/ready",
        "get",
        Operation::new(
            "Probe_ready",
            "probes",
            "Whether the server can do its work: the database answers a query and delivery runs.",
        )
        .public()
        .response(200, "Ready.", Some(schema_ref("ResponseWrapperReadiness")))
        .response(
            503,
            "Not ready: the `ApiError` message says what is wrong.",
            Some(schema_ref("ApiError")),
        ),
    );
    at_root(paths, "/health");
    at_root(paths, "/ready");
}

/// What `GET /_emulator/stream` sends.
const STREAM_DESCRIPTION: &str = "Server-Sent Events, one JSON `data:` line each:\n\n\
- `event: attempt` with `id:` — an attempt finished and was recorded: \
`{\"delivery\": EmulatorDelivery (as the list shows it, after this attempt), \
\"attempt\": {\"number\", \"attemptedAtMs\", \"durationMs\", \"statusCode\", \"error\"}}`.\n\
- `event: subscription` with `id:` — a subscription's status changed (disabled by its failure \
streak, or enabled or disabled through the API): `{\"subscription\": Subscription, \
\"previousStatus\"}`.\n\
- `event: lagged` — events were missed (the consumer read too slowly, or resumed from an id the \
server no longer holds); reload the delivery log: `{\"skipped\": N or null when unknown}`.\n\
- a comment every 15 s to keep the connection open.\n\n\
Ids are consecutive within a server process; the last 1024 events are kept, so a consumer that \
reconnects within them (and within a minute of the last consumer leaving) misses nothing. \
Each process streams the attempts it makes itself: with several processes on one PostgreSQL \
database, follow each. New messages that have not been attempted yet are not streamed.";

/// The emulator API lives at the root, so its path items override `servers`.
fn emulator_paths(paths: &mut Paths) {
    const TAG: &str = "emulator";
    let int64 = || json!({"type": "integer", "format": "int64"});
    let clock = || Some(schema_ref("ResponseWrapperEmulatorClock"));
    let operations = [
        (
            "/_emulator/events",
            Operation::new(
                "Emulator_emit",
                TAG,
                "Emit a catalogue event as if the object had changed.",
            )
            .body(
                "The event, the object id, and the object (`null` for deletes).",
                schema_ref("EmulatorEmitRequest"),
            )
            .response(
                201,
                "Queued for every matching subscription.",
                Some(schema_ref("ResponseWrapperEmulatorEmitted")),
            ),
            "post",
        ),
        (
            "/_emulator/clock",
            Operation::new("Emulator_clock", TAG, "Read the server clock.").response(
                200,
                "The clock.",
                clock(),
            ),
            "get",
        ),
        (
            "/_emulator/clock/advance",
            Operation::new(
                "Emulator_advanceClock",
                TAG,
                "Move the server clock forward.",
            )
            .body("How far to move it.", schema_ref("EmulatorClockAdvance"))
            .response(200, "The clock.", clock()),
            "post",
        ),
        (
            "/_emulator/deliveries",
            Operation::new(
                "Emulator_deliveries",
                TAG,
                "Read a page of the delivery log, newest first.",
            )
            .param(from_param())
            .param(count_param())
            .param(query(
                "subscriptionId",
                "Only this subscription's deliveries",
                false,
                int64(),
            ))
            .param(query(
                "event",
                "Only deliveries of this event",
                false,
                json!({"type": "string"}),
            ))
            .param(query(
                "objectId",
                "Only deliveries about this object",
                false,
                int64(),
            ))
            .param(query(
                "status",
                "Only deliveries with this status",
                false,
                json!({
                    "type": "string",
                    "enum": ["pending", "delivered", "failed", "superseded"],
                }),
            ))
            .param(query(
                "createdFrom",
                "Only deliveries created at or after this time: ms since the epoch or RFC 3339",
                false,
                json!({"type": "string"}),
            ))
            .param(query(
                "createdTo",
                "Only deliveries created before this time: ms since the epoch or RFC 3339",
                false,
                json!({"type": "string"}),
            ))
            .param(query(
                "sorting",
                "-id (newest first, the default) or id (oldest first)",
                false,
                json!({"type": "string", "enum": ["-id", "id"]}),
            ))
            .response(
                200,
                "A page of the caller's deliveries; attempts without their request and response.",
                Some(schema_ref("ListResponseEmulatorDelivery")),
            ),
            "get",
        ),
        (
            "/_emulator/deliveries/{id}",
            Operation::new(
                "Emulator_delivery",
                TAG,
                "Read one delivery with every attempt's request and response.",
            )
            .param(path_param("id", "The delivery id", int64()))
            .response(
                200,
                "The delivery.",
                Some(schema_ref("ResponseWrapperEmulatorDelivery")),
            ),
            "get",
        ),
        (
            "/_emulator/deliveries/{id}/redeliver",
            Operation::new("Emulator_redeliver", TAG, "Send a finished delivery again.")
                .param(path_param(
                    "id",
                    "The delivery id",
                    json!({"type": "integer", "format": "int64"}),
                ))
                .response(202, "Queued again.", None),
            "post",
        ),
        (
            "/_emulator/stream",
            Operation::new(
                "Emulator_stream",
                TAG,
                "Follow the caller's company live: finished attempts and subscription status changes.",
            )
            .description(STREAM_DESCRIPTION.to_owned())
            .param(json!({
                "name": "Last-Event-ID",
                "in": "header",
                "description": "Resume after this event id (EventSource sends it when it reconnects).",
                "required": false,
                "schema": {"type": "integer", "format": "int64"},
            }))
            .param(query(
                "after",
                "Resume after this event id (wins over Last-Event-ID)",
                false,
                int64(),
            ))
            .event_stream(
                "Server-Sent Events: `attempt` (data EmulatorStreamAttempt), `subscription` \
                 (data EmulatorStreamSubscription), `lagged` (data EmulatorStreamLagged).",
            ),
            "get",
        ),
        (
            "/_emulator/reset",
            Operation::new(
                "Emulator_reset",
                TAG,
                "Delete the caller's company's subscriptions, objects and deliveries.",
            )
            .response(204, "Reset.", None),
            "post",
        ),
    ];
    for (path, operation, method) in operations {
        paths.add(path, method, operation);
        at_root(paths, path);
    }
}

// ---------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------

fn schemas(emulator_api: bool) -> Map<String, Value> {
    let mut schemas = Map::new();
    let mut add = |name: &str, schema: Value| {
        schemas.insert(name.to_owned(), schema);
    };
    // The official models of the hosted resources and all they reach; the
    // server's own shapes of the event and error schemas follow.
    for (name, schema) in &model::data().schemas {
        add(name, schema.clone());
    }
    for (name, schema) in tripletex_schemas() {
        add(name, schema);
    }
    add(
        "ResponseWrapperSessionToken",
        response_wrapper("SessionToken"),
    );
    add("SessionToken", session_token());
    add(
        "ResponseWrapperLoggedInUserInfo",
        response_wrapper("LoggedInUserInfo"),
    );
    add("LoggedInUserInfo", logged_in_user_info());
    for (name, schema) in probe_schemas() {
        add(name, schema);
    }
    for resource in RESOURCES {
        let model = resource.model;
        add(&format!("ResponseWrapper{model}"), response_wrapper(model));
        add(&format!("ListResponse{model}"), list_response(model));
    }
    if emulator_api {
        for (name, schema) in emulator_schemas() {
            add(name, schema);
        }
    }
    schemas
}

/// `{"value": T}`, as Tripletex's `ResponseWrapperT`.
fn response_wrapper(item: &str) -> Value {
    json!({
        "type": "object",
        "properties": {"value": schema_ref(item)},
    })
}

/// A page of `T`, as Tripletex's `ListResponseT`.
fn list_response(item: &str) -> Value {
    json!({
        "type": "object",
        "properties": {
            "fullResultSize": {
                "type": "integer",
                "description": "Indicates whether there are more values available. Note: The value is not exact",
                "format": "int64",
                "readOnly": true,
            },
            "from": {"type": "integer", "format": "int64", "readOnly": true},
            "count": {"type": "integer", "format": "int64", "readOnly": true},
            "versionDigest": {
                "type": "string",
                "description": "Used to know if the paginated list has changed.",
                "readOnly": true,
            },
            "values": {"type": "array", "readOnly": true, "items": schema_ref(item)},
        },
    })
}

/// `id`, `version`, `changes` and `url`, the properties every Tripletex model starts with.
fn common_properties() -> Map<String, Value> {
    let value = json!({
        "id": {"type": "integer", "format": "int64"},
        "version": {"type": "integer", "format": "int32"},
        "changes": {"type": "array", "readOnly": true, "items": schema_ref("Change")},
        "url": {"type": "string", "readOnly": true},
    });
    value.as_object().cloned().unwrap_or_default()
}

/// The schemas shared with Tripletex, in the shape of its OpenAPI document.
fn tripletex_schemas() -> Vec<(&'static str, Value)> {
    let ro_string = || json!({"type": "string", "readOnly": true});
    let mut subscription = common_properties();
    subscription.extend(
        [
            (
                "event",
                json!({
                    "type": "string",
                    "description": "Event name (from /v2/event) you wish to subscribe to. Form should be: *subject.verb*.",
                    "example": "customer.create",
                }),
            ),
            (
                "targetUrl",
                json!({
                    "type": "string",
                    "description": "The callback URL used for subscriptions (including authentication tokens). Must be absolute and use HTTPS. Basic authentication is supported.",
                    "example": "https://username:password@myintegration.example/tripletexCallback",
                }),
            ),
            (
                "fields",
                json!({
                    "type": "string",
                    "description": "The fields in the object delivered with the notification callback, nested as in other API calls.",
                    "example": "id,version,number",
                }),
            ),
            (
                "status",
                json!({
                    "type": "string",
                    "description": "The status of the subscription.",
                    "enum": [
                        "ACTIVE",
                        "DISABLED",
                        "DISABLED_TOO_MANY_ERRORS",
                        "DISABLED_RATE_LIMIT_EXCEEDED",
                        "DISABLED_MISUSE",
                    ],
                }),
            ),
            (
                "authHeaderName",
                json!({
                    "type": "string",
                    "description": "Custom authentication header name",
                    "example": "Authorization",
                }),
            ),
            (
                "authHeaderValue",
                json!({
                    "type": "string",
                    "description": "Custom authentication header value (write only)",
                    "example": "Basic dXNlcm5hbWU6cGFzc3dvcmQ=",
                }),
            ),
            (
                "hmacSharedSecret",
                json!({
                    "type": "string",
                    "description": "HMAC signing shared secret (write only). Optionally add this field to enable hmac signing. Calculation is header('x-request-signature') = base64(HmacSHA512(header('idempotency-key') + '&' + body))",
                    "example": "S5Yd3Dz6FWmj7q2uA4Uy9KcQMGBVpJHeCbTgEnaw",
                }),
            ),
        ]
        .map(|(name, schema)| (name.to_owned(), schema)),
    );
    vec![
        (
            "Subscription",
            json!({"type": "object", "properties": subscription, "readOnly": true}),
        ),
        ("ListResponseSubscription", list_response("Subscription")),
        (
            "ResponseWrapperSubscription",
            response_wrapper("Subscription"),
        ),
        (
            "ApiError",
            json!({
                "type": "object",
                "properties": {
                    "status": {"type": "integer", "format": "int32"},
                    "code": {"type": "integer", "format": "int32"},
                    "message": {"type": "string"},
                    "link": {"type": "string"},
                    "developerMessage": {"type": "string"},
                    "validationMessages": {
                        "type": "array",
                        "items": schema_ref("ApiValidationMessage"),
                    },
                    "requestId": {"type": "string"},
                },
            }),
        ),
        (
            "ApiValidationMessage",
            json!({
                "type": "object",
                "properties": {
                    "field": ro_string(),
                    "message": ro_string(),
                    "path": ro_string(),
                    "rootId": {"type": "integer", "format": "int64", "readOnly": true},
                },
                "readOnly": true,
            }),
        ),
        (
            "Change",
            json!({
                "type": "object",
                "properties": {
                    "employeeId": {"type": "integer", "format": "int64", "readOnly": true},
                    "timestamp": ro_string(),
                    "changeType": {
                        "type": "string",
                        "readOnly": true,
                        "enum": ["CREATE", "UPDATE", "DELETE", "LOCKED", "REOPENED", "DO_NOT_SHOW"],
                    },
                },
                "readOnly": true,
            }),
        ),
        (
            "EventInfo",
            json!({
                "type": "object",
                "properties": {
                    "name": ro_string(),
                    "description": ro_string(),
                    "payloadModel": ro_string(),
                    "examples": {
                        "type": "array",
                        "readOnly": true,
                        "items": schema_ref("WebHookWrapper"),
                    },
                },
            }),
        ),
        // Tripletex's document gives `EventInfoDescription` only `description`,
        // but its real `GET /event` responses also carry `payloadModel` (absent
        // for delete events), and so do ours; it is documented here so that
        // clients generated from this document keep it.
        (
            "EventInfoDescription",
            json!({
                "type": "object",
                "properties": {
                    "description": ro_string(),
                    "payloadModel": {
                        "type": "string",
                        "description": "The model of the delivered `value`, e.g. `Product`; absent for delete events. \
                            Not in Tripletex's OpenAPI document, but in its responses.",
                        "readOnly": true,
                    },
                },
            }),
        ),
        ("ResponseWrapperEventInfo", response_wrapper("EventInfo")),
        (
            "ResponseWrapperMapStringEventInfoDescription",
            json!({
                "type": "object",
                "properties": {
                    "value": {
                        "type": "object",
                        "additionalProperties": schema_ref("EventInfoDescription"),
                    },
                },
            }),
        ),
        (
            "WebHookWrapper",
            json!({
                "type": "object",
                "properties": {
                    "value": {"type": "object", "readOnly": true},
                    "event": ro_string(),
                    "subscriptionId": {"type": "integer", "format": "int32", "readOnly": true},
                    "id": {"type": "integer", "format": "int64", "readOnly": true},
                },
                "readOnly": true,
            }),
        ),
    ]
}

/// A reference to another object, `{"id": ..., "url": ...}` by default.
fn reference(description: &str) -> Value {
    json!({"type": "object", "description": description, "additionalProperties": true})
}

fn session_token() -> Value {
    let mut properties = common_properties();
    properties.extend(
        [
            ("consumerToken", reference("The consumer token.")),
            ("employeeToken", reference("The employee token.")),
            (
                "expirationDate",
                json!({"type": "string", "format": "date"}),
            ),
            ("token", json!({"type": "string"})),
        ]
        .map(|(name, schema)| (name.to_owned(), schema)),
    );
    json!({"type": "object", "properties": properties})
}

fn logged_in_user_info() -> Value {
    json!({
        "type": "object",
        "properties": {
            "employeeId": {"type": "integer", "format": "int32", "readOnly": true},
            "actualEmployeeId": {"type": "integer", "format": "int64", "readOnly": true},
            "employee": reference("The employee."),
            "companyId": {"type": "integer", "format": "int32", "readOnly": true},
            "company": reference("The company."),
            "language": {"type": "string", "readOnly": true},
            "loggedInWithConnect": {"type": "boolean", "readOnly": true},
            "employeeIsProxy": {"type": "boolean", "readOnly": true},
        },
    })
}

fn probe_schemas() -> Vec<(&'static str, Value)> {
    let constant = |value: &str| json!({"type": "string", "enum": [value]});
    vec![
        ("ResponseWrapperHealth", response_wrapper("Health")),
        (
            "Health",
            json!({
                "type": "object",
                "required": ["status"],
                "properties": {"status": constant("UP")},
            }),
        ),
        ("ResponseWrapperReadiness", response_wrapper("Readiness")),
        (
            "Readiness",
            json!({
                "type": "object",
                "required": ["status", "database", "delivery"],
                "properties": {
                    "status": constant("READY"),
                    "database": constant("UP"),
                    "delivery": constant("RUNNING"),
                },
            }),
        ),
    ]
}

fn emulator_schemas() -> Vec<(&'static str, Value)> {
    let int64 = || json!({"type": "integer", "format": "int64"});
    let nullable_int =
        |format: &str| json!({"type": "integer", "format": format, "nullable": true});
    let nullable_string = || json!({"type": "string", "nullable": true});
    vec![
        (
            "EmulatorEmitRequest",
            json!({
                "type": "object",
                "required": ["event", "id"],
                "properties": {
                    "event": {"type": "string", "example": "product.create"},
                    "id": int64(),
                    "value": {
                        "type": "object",
                        "nullable": true,
                        "description": "The object; `null` or absent for delete events.",
                    },
                },
            }),
        ),
        (
            "ResponseWrapperEmulatorEmitted",
            json!({
                "type": "object",
                "properties": {
                    "value": {
                        "type": "object",
                        "properties": {
                            "event": {"type": "string"},
                            "id": int64(),
                            "deliveries": {
                                "type": "integer",
                                "format": "int64",
                                "description": "How many deliveries were queued.",
                            },
                        },
                    },
                },
            }),
        ),
        (
            "EmulatorClockAdvance",
            json!({
                "type": "object",
                "required": ["seconds"],
                "properties": {
                    "seconds": {"type": "number", "minimum": 0, "maximum": 3.2e9},
                },
            }),
        ),
        (
            "ResponseWrapperEmulatorClock",
            json!({
                "type": "object",
                "properties": {
                    "value": {
                        "type": "object",
                        "properties": {
                            "now": {"type": "string", "format": "date-time"},
                            "nowMs": int64(),
                            "offsetMs": int64(),
                        },
                    },
                },
            }),
        ),
        (
            "ListResponseEmulatorDelivery",
            list_response("EmulatorDelivery"),
        ),
        (
            "ResponseWrapperEmulatorDelivery",
            response_wrapper("EmulatorDelivery"),
        ),
        (
            "EmulatorDelivery",
            json!({
                "type": "object",
                "properties": {
                    "id": int64(),
                    "subscriptionId": int64(),
                    "event": {"type": "string"},
                    "objectId": int64(),
                    "objectVersion": nullable_int("int32"),
                    "idempotencyKey": {"type": "string"},
                    "requestId": nullable_string(),
                    "status": {
                        "type": "string",
                        "enum": ["pending", "delivered", "failed", "superseded"],
                    },
                    "attempts": {"type": "integer", "format": "int32"},
                    "nextAttemptAtMs": nullable_int("int64"),
                    "createdAtMs": int64(),
                    "finishedAtMs": nullable_int("int64"),
                    "lastError": nullable_string(),
                    "attemptLog": {"type": "array", "items": schema_ref("EmulatorAttempt")},
                },
            }),
        ),
        (
            "EmulatorAttempt",
            json!({
                "type": "object",
                "properties": {
                    "attemptedAtMs": int64(),
                    "durationMs": int64(),
                    "statusCode": nullable_int("int32"),
                    "error": nullable_string(),
                    "request": {
                        "description": "Only in GET /_emulator/deliveries/{id}; null when no \
                                        request was made. Secret values read <redacted>.",
                        "nullable": true,
                        "allOf": [schema_ref("EmulatorHttpMessage")],
                    },
                    "response": {
                        "description": "Only in GET /_emulator/deliveries/{id}; null when no \
                                        response came.",
                        "nullable": true,
                        "allOf": [schema_ref("EmulatorHttpMessage")],
                    },
                },
            }),
        ),
        (
            "EmulatorStreamAttempt",
            json!({
                "type": "object",
                "properties": {
                    "delivery": schema_ref("EmulatorDelivery"),
                    "attempt": {
                        "type": "object",
                        "properties": {
                            "number": {"type": "integer", "format": "int32", "description": "1 for the first."},
                            "attemptedAtMs": int64(),
                            "durationMs": int64(),
                            "statusCode": nullable_int("int32"),
                            "error": nullable_string(),
                        },
                    },
                },
            }),
        ),
        (
            "EmulatorStreamSubscription",
            json!({
                "type": "object",
                "properties": {
                    "subscription": schema_ref("Subscription"),
                    "previousStatus": {"type": "string"},
                },
            }),
        ),
        (
            "EmulatorStreamLagged",
            json!({
                "type": "object",
                "properties": {"skipped": nullable_int("int64")},
            }),
        ),
        (
            "EmulatorHttpMessage",
            json!({
                "type": "object",
                "properties": {
                    "url": {"type": "string", "description": "Requests only."},
                    "status": {"type": "integer", "format": "int32", "description": "Responses only."},
                    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                    "body": {"type": "string"},
                    "bodyTruncated": {"type": "boolean"},
                },
            }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_are_pascal_case_paths() {
        assert_eq!(pascal_case("ledger/account"), "LedgerAccount");
        assert_eq!(pascal_case("product"), "Product");
    }

    #[test]
    fn every_resource_has_its_paths_and_schemas() {
        let doc = document(false);
        for resource in RESOURCES {
            let path = format!("/{}", resource.path);
            assert!(doc["paths"][&path]["get"].is_object(), "{path}");
            assert_eq!(
                doc["paths"][format!("{path}/{{id}}")]["put"].is_object(),
                resource.has_item("put"),
                "{path}"
            );
            assert!(doc["components"]["schemas"][resource.model].is_object());
        }
        assert!(doc["paths"]["/invoice/{id}"].get("delete").is_none());
        assert!(doc["paths"]["/contact/list"]["delete"].is_object());
        assert!(doc["paths"].get("/_emulator/reset").is_none());
        assert!(document(true)["paths"]["/_emulator/reset"]["post"].is_object());
    }
}
