//! Session tokens (`PUT /token/session/:create`) and `GET /token/session/>whoAmI`.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::models::Ref;

/// A session token (`SessionToken` in the spec).
///
/// The token is what authenticates API calls, as the password of
/// `Authorization: Basic base64("<companyId or 0>:<token>")`; it is a secret:
/// serialized on the wire, never in `Debug`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionToken {
    /// The session's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Its revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// Its scheme-less URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The consumer token it was created with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_token: Option<Ref>,
    /// The employee token it was created with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_token: Option<Ref>,
    /// The date it expires at the start of (midnight), `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_date: Option<String>,
    /// The session token itself.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::secret_serde::serialize"
    )]
    pub token: Option<SecretString>,
    /// Keys this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Who a session token belongs to (`LoggedInUserInfo`), from `>whoAmI`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedInUserInfo {
    /// The employee the token acts as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<i64>,
    /// The employee actually logged in (differs for proxies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_employee_id: Option<i64>,
    /// The employee, as a reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee: Option<Ref>,
    /// The company the token acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<i64>,
    /// The company, as a reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<Ref>,
    /// The user's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Whether the user logged in with Tripletex Connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_in_with_connect: Option<bool>,
    /// Whether the employee is an accountant's proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_is_proxy: Option<bool>,
    /// Keys this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use serde_json::json;

    #[test]
    fn session_token_round_trips_and_hides_the_token() {
        let body = json!({"id": 1, "version": 0, "url": "tripletex.no/v2/token/session/1",
            "consumerToken": {"id": 2, "url": "tripletex.no/v2/token/consumer/2"},
            "employeeToken": {"id": 3, "url": "tripletex.no/v2/token/employee/3"},
            "expirationDate": "2026-12-01", "token": "eyJ0b2tlbiI6InNlY3JldCJ9", "encryptionKey": "k"});
        let token: SessionToken = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(
            token.token.as_ref().unwrap().expose_secret(),
            "eyJ0b2tlbiI6InNlY3JldCJ9"
        );
        assert!(!format!("{token:?}").contains("eyJ0b2tlbiI6"));
        assert_eq!(serde_json::to_value(&token).unwrap(), body);
    }

    #[test]
    fn who_am_i_round_trips() {
        let body = json!({"employeeId": 1001, "actualEmployeeId": 1001, "employee": {"id": 1001},
            "companyId": 1, "company": {"id": 1}, "language": "NO",
            "loggedInWithConnect": false, "employeeIsProxy": false});
        let info: LoggedInUserInfo = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(info.company_id, Some(1));
        assert_eq!(serde_json::to_value(&info).unwrap(), body);
    }
}
