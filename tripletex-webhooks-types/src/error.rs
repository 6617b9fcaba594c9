//! `ApiError`: the body of every Tripletex error response, and its code table.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The body of an API2 error response.
///
/// ```
/// use tripletex_webhooks_types::{ApiError, ErrorCode};
///
/// let body = r#"{"status":404,"code":6000,"message":"Object not found",
///   "link":"https://tripletex.no/v2-docs/","developerMessage":null,
///   "validationMessages":null,"requestId":"49b47d52"}"#;
/// let error: ApiError = serde_json::from_str(body)?;
/// assert_eq!(error.code, ErrorCode::NotFound);
/// assert_eq!(error.status, 404);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    /// The HTTP status of the response.
    pub status: u16,
    /// Tripletex's internal error code.
    pub code: ErrorCode,
    /// A basic message, localised to the user's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A link to documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// A message for developers, such as `VALIDATION_ERROR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub developer_message: Option<String>,
    /// Per-field validation failures (422 responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_messages: Option<Vec<ApiValidationMessage>>,
    /// The request id, the same as the response's `x-tlx-request-id` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// The documentation link Tripletex puts in [`ApiError::link`].
pub const API_DOCS_LINK: &str = "https://tripletex.no/v2-docs/";

impl ApiError {
    /// An error with the code's HTTP status and the given message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: code.http_status(),
            code,
            message: Some(message.into()),
            link: Some(API_DOCS_LINK.to_owned()),
            developer_message: None,
            validation_messages: None,
            request_id: None,
        }
    }

    /// A 422 validation error (code 18000) listing the failing fields.
    pub fn validation(messages: Vec<ApiValidationMessage>) -> Self {
        Self {
            developer_message: Some("VALIDATION_ERROR".to_owned()),
            validation_messages: Some(messages),
            ..Self::new(ErrorCode::Validation, "Validation failed.")
        }
    }

    /// The same error with `developerMessage` set.
    #[must_use]
    pub fn with_developer_message(mut self, message: impl Into<String>) -> Self {
        self.developer_message = Some(message.into());
        self
    }

    /// The same error with `requestId` set.
    #[must_use]
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// The validation messages, empty when there are none.
    pub fn validation_messages(&self) -> &[ApiValidationMessage] {
        self.validation_messages.as_deref().unwrap_or_default()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Tripletex API error {} (code {})",
            self.status,
            self.code.as_i32()
        )?;
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        for validation in self.validation_messages() {
            write!(f, "; {validation}")?;
        }
        if let Some(request_id) = &self.request_id {
            write!(f, " [request id {request_id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// One failing field of a validation error.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiValidationMessage {
    /// The field, dotted for nested fields: `postings.account.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The exact path, with indexes: `postings[0].account.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The id of the root object, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_id: Option<i64>,
}

impl ApiValidationMessage {
    /// A message about one field.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            message: Some(message.into()),
            path: None,
            root_id: None,
        }
    }
}

impl fmt::Display for ApiValidationMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.field, &self.message) {
            (Some(field), Some(message)) => write!(f, "{field}: {message}"),
            (Some(field), None) => f.write_str(field),
            (None, Some(message)) => f.write_str(message),
            (None, None) => f.write_str("invalid value"),
        }
    }
}

macro_rules! error_codes {
    ($($(#[$meta:meta])* $variant:ident = $code:literal => $status:literal),+ $(,)?) => {
        /// Tripletex's documented error codes, each with its HTTP status.
        ///
        /// Codes this crate does not know are kept in [`ErrorCode::Other`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$meta])* $variant,)+
            /// A code not in the documented table.
            Other(i32),
        }

        impl ErrorCode {
            /// Every documented code.
            pub const KNOWN: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The numeric code.
            pub fn as_i32(self) -> i32 {
                match self {
                    $(Self::$variant => $code,)+
                    Self::Other(code) => code,
                }
            }

            /// The code for a number, [`ErrorCode::Other`] when undocumented.
            pub fn from_i32(code: i32) -> Self {
                match code {
                    $($code => Self::$variant,)+
                    other => Self::Other(other),
                }
            }

            /// The HTTP status Tripletex answers with for this code
            /// (500 for undocumented codes).
            pub fn http_status(self) -> u16 {
                match self {
                    $(Self::$variant => $status,)+
                    Self::Other(_) => 500,
                }
            }
        }
    };
}

error_codes! {
    /// 1000: an unexpected exception.
    Exception = 1000 => 500,
    /// 3000: authentication failed.
    Authentication = 3000 => 401,
    /// 4000: a bad request.
    BadRequest = 4000 => 400,
    /// 6000: the object (or route) does not exist.
    NotFound = 6000 => 404,
    /// 7000: the object already exists.
    ObjectExists = 7000 => 409,
    /// 8000: a revision (version) conflict.
    Revision = 8000 => 409,
    /// 9000: not authorised ("AuthorisationManager says no").
    Security = 9000 => 403,
    /// 10000: the object is locked.
    Locked = 10000 => 409,
    /// 11000: an illegal `fields` filter.
    IllegalFilter = 11000 => 400,
    /// 12000: an invalid path parameter.
    PathParam = 12000 => 400,
    /// 14000: a duplicate entry.
    DuplicateEntry = 14000 => 409,
    /// 15000: a value failed validation.
    ValueValidation = 15000 => 422,
    /// 16000: the body could not be mapped to the model (wrong types).
    Mapping = 16000 => 422,
    /// 17000: an invalid `sorting`.
    Sorting = 17000 => 422,
    /// 18000: validation failed; see the validation messages.
    Validation = 18000 => 422,
    /// 21000: an invalid query parameter.
    Param = 21000 => 422,
    /// 22000: the body is not valid JSON.
    InvalidJson = 22000 => 422,
    /// 23000: the result set is too large.
    ResultSetTooLarge = 23000 => 422,
    /// 24000: a cryptography error.
    Cryptography = 24000 => 400,
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i32(self.as_i32())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        i32::deserialize(deserializer).map(Self::from_i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn code_table_matches_the_documentation() {
        let table = [
            (400, vec![4000, 11000, 12000, 24000]),
            (401, vec![3000]),
            (403, vec![9000]),
            (404, vec![6000]),
            (409, vec![7000, 8000, 10000, 14000]),
            (422, vec![15000, 16000, 17000, 18000, 21000, 22000, 23000]),
            (500, vec![1000]),
        ];
        let mut seen = 0;
        for (status, codes) in table {
            for code in codes {
                let parsed = ErrorCode::from_i32(code);
                assert!(!matches!(parsed, ErrorCode::Other(_)), "{code}");
                assert_eq!(parsed.http_status(), status, "{code}");
                assert_eq!(parsed.as_i32(), code);
                seen += 1;
            }
        }
        assert_eq!(seen, ErrorCode::KNOWN.len());
        assert_eq!(ErrorCode::from_i32(99_999), ErrorCode::Other(99_999));
    }

    #[test]
    fn real_422_body_round_trips() {
        let body = json!({
            "status": 422, "code": 18000, "message": "Validering feilet.",
            "link": "https://tripletex.no/v2-docs/", "developerMessage": "VALIDATION_ERROR",
            "validationMessages": [{"field": "postings.account.name", "message": "Kan ikke være tom.",
                                    "path": "postings[0].account.name", "rootId": null}],
            "requestId": "c0ffee"
        });
        let error: ApiError = serde_json::from_value(body).unwrap();
        assert_eq!(error.code, ErrorCode::Validation);
        assert_eq!(
            error.validation_messages()[0].path.as_deref(),
            Some("postings[0].account.name")
        );
        let again: ApiError =
            serde_json::from_value(serde_json::to_value(&error).unwrap()).unwrap();
        assert_eq!(again, error);
        assert_eq!(
            error.to_string(),
            "Tripletex API error 422 (code 18000): Validering feilet.; postings.account.name: Kan ikke være tom. [request id c0ffee]"
        );
    }

    #[test]
    fn constructors_use_the_code_status() {
        let error = ApiError::validation(vec![ApiValidationMessage::new("event", "unknown event")])
            .with_request_id("r1");
        assert_eq!((error.status, error.code.as_i32()), (422, 18000));
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(json["validationMessages"][0]["field"], "event");
        assert_eq!(json["requestId"], "r1");
        assert!(json.get("path").is_none());
    }
}
