//! The `Employee` payload model (`employee.*` events).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Change;
use crate::models::Ref;

/// An employee or user (`Employee` in the OpenAPI document).
///
/// Carried by `employee.create` and `employee.update`; `employee.delete` has no value.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Employee {
    /// The object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The optimistic-lock revision. It grows with every change, but a webhook
    /// may skip versions, so compare rather than expect `+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The object's scheme-less URL, e.g. `tripletex.no/v2/employee/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The audit trail. Only present when the subscription's `fields` names
    /// `changes` explicitly (`*` never includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The first name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// The last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The full name as displayed (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The employee number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    /// The date of birth, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    /// The e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The country of the mobile number (`Country`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_mobile_country: Option<Ref>,
    /// The mobile phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_mobile: Option<String>,
    /// The home phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_home: Option<String>,
    /// The work phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_work: Option<String>,
    /// The national identity number (sensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_identity_number: Option<String>,
    /// The bank account salaries are paid to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_account_number: Option<String>,
    /// The IBAN, for payments abroad.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    /// The BIC (SWIFT) code, for payments abroad.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<String>,
    /// The employee's access to Tripletex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<UserType>,
    /// Whether this is an external contact rather than an employee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_contact: Option<bool>,
    /// Free-text comments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
    /// The address (`Address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Ref>,
    /// The department (`Department`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Ref>,
    /// The employments (`Employment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employments: Option<Vec<Ref>>,
    /// The category (`EmployeeCategory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_category: Option<Ref>,
    /// The id of the employee's company (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<i32>,
    /// Keys this crate does not model (newer or rarer API fields), kept verbatim so
    /// that re-serializing the object loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An [`Employee`]'s access to Tripletex (`Employee.userType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserType {
    /// `STANDARD`: a standard user.
    Standard,
    /// `EXTENDED`: a user with extended access.
    Extended,
    /// `NO_ACCESS`: no login.
    NoAccess,
    /// A value this version of the crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(UserType {
    Standard => "STANDARD",
    Extended => "EXTENDED",
    NoAccess => "NO_ACCESS",
});
