//! The `Account` payload model (`account.*` events).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Change;
use crate::models::Ref;

/// A ledger account (`Account` in the OpenAPI document).
///
/// Carried by `account.create` and `account.update`; `account.delete` has no value.
/// Fields added to the API after spec 2.72.00 (such as `requiresFreeDimension1`)
/// land in [`Account::extra`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// The object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The optimistic-lock revision. It grows with every change, but a webhook
    /// may skip versions, so compare rather than expect `+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The object's scheme-less URL, e.g. `tripletex.no/v2/ledger/account/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The audit trail. Only present when the subscription's `fields` names
    /// `changes` explicitly (`*` never includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The account number, e.g. `1920`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<i32>,
    /// The account number as displayed (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_pretty: Option<String>,
    /// The account's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The account's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The account class (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<AccountType>,
    /// The sub-ledger the account belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_type: Option<LedgerType>,
    /// The balance group (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_group: Option<String>,
    /// The default VAT type (`VatType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_type: Option<Ref>,
    /// Whether the VAT type is locked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_locked: Option<bool>,
    /// The currency (`Currency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Ref>,
    /// Whether postings on the account can be closed (matched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_closeable: Option<bool>,
    /// Whether the account can be used on supplier invoices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_applicable_for_supplier_invoice: Option<bool>,
    /// Whether the account must be reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_reconciliation: Option<bool>,
    /// Whether the account is inactive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_inactive: Option<bool>,
    /// Whether this is a bank account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_bank_account: Option<bool>,
    /// Whether this is the account invoices are paid to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_invoice_account: Option<bool>,
    /// The bank account number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_account_number: Option<String>,
    /// The bank account's country (`Country`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_account_country: Option<Ref>,
    /// The bank's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_name: Option<String>,
    /// The bank account's IBAN.
    #[serde(
        rename = "bankAccountIBAN",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bank_account_iban: Option<String>,
    /// The bank's SWIFT (BIC) code.
    #[serde(
        rename = "bankAccountSWIFT",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bank_account_swift: Option<String>,
    /// The SAF-T standard account code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saft_code: Option<String>,
    /// Whether postings must name a department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_department: Option<bool>,
    /// Whether postings must name a project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_project: Option<bool>,
    /// The department (`Department`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Ref>,
    /// The number and name as displayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Keys this crate does not model (newer or rarer API fields), kept verbatim so
    /// that re-serializing the object loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The class of an [`Account`] (`Account.type`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AccountType {
    /// `ASSETS`: assets.
    Assets,
    /// `EQUITY`: equity.
    Equity,
    /// `LIABILITIES`: liabilities.
    Liabilities,
    /// `OPERATING_REVENUES`: operating revenues.
    OperatingRevenues,
    /// `OPERATING_EXPENSES`: operating expenses.
    OperatingExpenses,
    /// `INVESTMENT_INCOME`: investment income.
    InvestmentIncome,
    /// `COST_OF_CAPITAL`: cost of capital.
    CostOfCapital,
    /// `TAX_ON_ORDINARY_ACTIVITIES`: tax on ordinary activities.
    TaxOnOrdinaryActivities,
    /// `EXTRAORDINARY_INCOME`: extraordinary income.
    ExtraordinaryIncome,
    /// `EXTRAORDINARY_COST`: extraordinary cost.
    ExtraordinaryCost,
    /// `TAX_ON_EXTRAORDINARY_ACTIVITIES`: tax on extraordinary activities.
    TaxOnExtraordinaryActivities,
    /// `ANNUAL_RESULT`: annual result.
    AnnualResult,
    /// `TRANSFERS_AND_ALLOCATIONS`: transfers and allocations.
    TransfersAndAllocations,
    /// A value this version of the crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(AccountType {
    Assets => "ASSETS",
    Equity => "EQUITY",
    Liabilities => "LIABILITIES",
    OperatingRevenues => "OPERATING_REVENUES",
    OperatingExpenses => "OPERATING_EXPENSES",
    InvestmentIncome => "INVESTMENT_INCOME",
    CostOfCapital => "COST_OF_CAPITAL",
    TaxOnOrdinaryActivities => "TAX_ON_ORDINARY_ACTIVITIES",
    ExtraordinaryIncome => "EXTRAORDINARY_INCOME",
    ExtraordinaryCost => "EXTRAORDINARY_COST",
    TaxOnExtraordinaryActivities => "TAX_ON_EXTRAORDINARY_ACTIVITIES",
    AnnualResult => "ANNUAL_RESULT",
    TransfersAndAllocations => "TRANSFERS_AND_ALLOCATIONS",
});

/// The sub-ledger of an [`Account`] (`Account.ledgerType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LedgerType {
    /// `GENERAL`: the general ledger.
    General,
    /// `CUSTOMER`: the customer ledger.
    Customer,
    /// `VENDOR`: the supplier ledger.
    Vendor,
    /// `EMPLOYEE`: the employee ledger.
    Employee,
    /// `ASSET`: the asset ledger.
    Asset,
    /// A value this version of the crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(LedgerType {
    General => "GENERAL",
    Customer => "CUSTOMER",
    Vendor => "VENDOR",
    Employee => "EMPLOYEE",
    Asset => "ASSET",
});
