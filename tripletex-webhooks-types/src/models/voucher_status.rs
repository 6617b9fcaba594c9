//! The `VoucherStatus` payload model (`voucherstatus.ready`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Change;
use crate::models::Ref;

/// The processing status of a voucher in the voucher reception
/// (`VoucherStatus` in the OpenAPI document). Carried, presumably, by
/// `voucherstatus.ready` ("a new voucher is ready to be processed").
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoucherStatus {
    /// The object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The optimistic-lock revision. It grows with every change, but a webhook
    /// may skip versions, so compare rather than expect `+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The object's scheme-less URL, e.g. `tripletex.no/v2/voucherStatus/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The audit trail. Only present when the subscription's `fields` names
    /// `changes` explicitly (`*` never includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The voucher ([`Voucher`](crate::models::Voucher)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voucher: Option<Ref>,
    /// Who processes the voucher (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<VoucherStatusType>,
    /// The processing state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<VoucherStatusState>,
    /// When the status was set (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// A status detail (an enum in the OpenAPI document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<VoucherStatusMessage>,
    /// The voucher's URL in the external system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_object_url: Option<String>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// A reference number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_number: Option<String>,
    /// Keys this crate does not model (newer or rarer API fields), kept verbatim so
    /// that re-serializing the object loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Who processes a voucher (`VoucherStatus.type`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VoucherStatusType {
    /// `TRIPLETEX`: Tripletex itself.
    Tripletex,
    /// `SUPPLIERINVOICE_EXTERNAL`: an external supplier-invoice service.
    SupplierInvoiceExternal,
    /// `DEBT_COLLECTION`: debt collection.
    DebtCollection,
    /// A value this version of the crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(VoucherStatusType {
    Tripletex => "TRIPLETEX",
    SupplierInvoiceExternal => "SUPPLIERINVOICE_EXTERNAL",
    DebtCollection => "DEBT_COLLECTION",
});

/// The processing state of a voucher (`VoucherStatus.status`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VoucherStatusState {
    /// `WAITING`: waiting to be processed.
    Waiting,
    /// `DONE`: processed.
    Done,
    /// `SKIPPED`: skipped.
    Skipped,
    /// `ERROR`: failed.
    Error,
    /// `NONE`: no status.
    None,
    /// `PROCESSING`: being processed.
    Processing,
    /// `RECLAIMED`: reclaimed.
    Reclaimed,
    /// A value this version of the crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(VoucherStatusState {
    Waiting => "WAITING",
    Done => "DONE",
    Skipped => "SKIPPED",
    Error => "ERROR",
    None => "NONE",
    Processing => "PROCESSING",
    Reclaimed => "RECLAIMED",
});

/// A detail of a [`VoucherStatus`] (`VoucherStatus.message`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VoucherStatusMessage {
    /// `NONE`: no detail.
    None,
    /// `ONGOING`: ongoing.
    Ongoing,
    /// `NEEDS_APPROVAL`: needs approval.
    NeedsApproval,
    /// `WITHDRAWN`: withdrawn.
    Withdrawn,
    /// `SETTLED`: settled.
    Settled,
    /// A value this version of the crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(VoucherStatusMessage {
    None => "NONE",
    Ongoing => "ONGOING",
    NeedsApproval => "NEEDS_APPROVAL",
    Withdrawn => "WITHDRAWN",
    Settled => "SETTLED",
});
