//! Shared helpers for the server's integration tests: an in-process server and
//! a reqwest client authenticated as one of its companies.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod process;
pub mod raw;
pub mod receiver;

use reqwest::{Method, RequestBuilder, Response};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tripletex_webhooks_server::{RunningServer, ServerConfig};

/// Two companies by default, so tenant isolation can be tested.
pub const EMPLOYEE_TOKENS: [&str; 2] = ["employee-token-a", "employee-token-b"];

/// The consumer token `ServerConfig` documents as its default.
pub const DEFAULT_CONSUMER_TOKEN: &str = "local-consumer-token";

/// One object resource as Tripletex's API2 names it: where it lives, its
/// model (the fields it requires are in `test_support::reference`).
pub struct Resource {
    pub path: &'static str,
    pub model: &'static str,
}

/// The ten resources the server is expected to serve, written down here from
/// Tripletex's API2 rather than imported, so the tests check the server.
pub const RESOURCES: &[Resource] = &[
    Resource {
        path: "product",
        model: "Product",
    },
    Resource {
        path: "customer",
        model: "Customer",
    },
    Resource {
        path: "supplier",
        model: "Supplier",
    },
    Resource {
        path: "employee",
        model: "Employee",
    },
    Resource {
        path: "contact",
        model: "Contact",
    },
    Resource {
        path: "project",
        model: "Project",
    },
    Resource {
        path: "order",
        model: "Order",
    },
    Resource {
        path: "ledger/account",
        model: "Account",
    },
    Resource {
        path: "ledger/voucher",
        model: "Voucher",
    },
    Resource {
        path: "invoice",
        model: "Invoice",
    },
];

pub struct Harness {
    pub server: RunningServer,
    pub http: reqwest::Client,
    /// A session token of company A (employee token 0).
    pub token: SecretString,
    /// A session token of company B (employee token 1).
    pub other_token: SecretString,
}

/// The configuration of the test server: in-memory SQLite, or, when
/// `TRIPLETEX_TEST_BACKEND=postgres` and `DATABASE_URL` are set, a fresh
/// schema of that PostgreSQL database (so the whole suite runs on both).
pub fn test_config() -> ServerConfig {
    let mut config = ServerConfig::for_tests();
    if let Some(url) = postgres_test_url() {
        config.database_url = url;
    }
    config.employee_tokens = EMPLOYEE_TOKENS
        .iter()
        .map(|t| SecretString::from(*t))
        .collect();
    config
}

impl Harness {
    /// A server on an in-memory database.
    pub async fn start() -> Self {
        Self::with_config(test_config()).await
    }

    pub async fn with_config(config: ServerConfig) -> Self {
        let server = RunningServer::start(config).await.expect("server starts");
        let token = server.create_session_token(0).await.unwrap();
        let other_token = server.create_session_token(1).await.unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            server,
            http,
            token,
            other_token,
        }
    }

    /// `http://127.0.0.1:PORT/v2` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.base_url(), path)
    }

    /// A request to `/v2{path}` without credentials.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// A request to `/v2{path}` as company A.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.as_token(&self.token, method, path)
    }

    /// Sends `body` to `/v2{path}` as company A: the status and JSON answer.
    pub async fn send(&self, method: Method, path: &str, body: &Value) -> (u16, Value) {
        json(self.request(method, path).json(body).send().await.unwrap()).await
    }

    /// Creates an object at `/v2{path}` as company A (201 required): its value.
    pub async fn create(&self, path: &str, body: &Value) -> Value {
        let (status, answer) = self.send(Method::POST, path, body).await;
        assert_eq!(status, 201, "POST {path}: {answer}");
        answer["value"].clone()
    }

    /// A request to `/v2{path}` as company B.
    pub fn request_as_other(&self, method: Method, path: &str) -> RequestBuilder {
        self.as_token(&self.other_token, method, path)
    }

    pub fn as_token(&self, token: &SecretString, method: Method, path: &str) -> RequestBuilder {
        self.anonymous(method, path)
            .basic_auth("0", Some(token.expose_secret()))
    }

    /// A request to the server root (for `/_emulator/...`) as company A.
    pub fn emulator(&self, method: Method, path: &str) -> RequestBuilder {
        let url = format!("http://{}{}", self.server.local_addr(), path);
        self.http
            .request(method, url)
            .basic_auth("0", Some(self.token.expose_secret()))
    }
}

/// The status and JSON body of a response (`Value::Null` for an empty body).
pub async fn json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "status {status}: body is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, body)
}

/// Asserts an `ApiError` body with this status and code, and a request id
/// equal to the `x-tlx-request-id` header.
pub async fn assert_api_error(response: Response, status: u16, code: i64) -> Value {
    let header = response
        .headers()
        .get("x-tlx-request-id")
        .expect("x-tlx-request-id header")
        .to_str()
        .unwrap()
        .to_owned();
    let (actual, body) = json(response).await;
    assert_eq!(actual, status, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["requestId"], header, "{body}");
    body
}

/// A URL of a fresh, empty schema in `DATABASE_URL`, when the PostgreSQL
/// backend is selected for the test run.
pub fn postgres_test_url() -> Option<String> {
    if std::env::var("TRIPLETEX_TEST_BACKEND").ok()?.as_str() != "postgres" {
        return None;
    }
    let Ok(base) = std::env::var("DATABASE_URL") else {
        panic!("TRIPLETEX_TEST_BACKEND=postgres needs DATABASE_URL");
    };
    Some(fresh_schema_url(&base))
}

/// Creates a uniquely named schema and returns `base` with its search path.
/// Schemas older than an hour, left by earlier runs, are dropped on the way.
pub fn fresh_schema_url(base: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let schema = format!("test_{now}_{}", uuid::Uuid::new_v4().simple());
    let url = base.to_owned();
    let created = schema.clone();
    // Tests call this from inside a runtime: create the schema on a thread of its own.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            let old: Vec<String> = sqlx::query_scalar(
                "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'test\\_%'",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            for name in old {
                let created_at = name.split('_').nth(1).and_then(|t| t.parse::<u64>().ok());
                if created_at.is_some_and(|t| t + 3600 < now) {
                    let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                        .execute(&pool)
                        .await;
                }
            }
            sqlx::query(&format!("CREATE SCHEMA {created}"))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        });
    })
    .join()
    .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-c%20search_path%3D{schema}")
}
