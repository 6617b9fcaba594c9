//! Event names: `subject.verb`, such as `product.create` or `invoice.charged`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The name of a webhook event, `subject.verb`.
///
/// Known subjects and verbs are typed; names Tripletex adds later are kept in
/// [`Subject::Unknown`] / [`Verb::Unknown`], so parsing never rejects a
/// well-formed name. Parsing and [`Display`](fmt::Display) round-trip exactly.
///
/// ```
/// use tripletex_webhooks_types::{EventType, Subject, Verb};
///
/// let event: EventType = "product.create".parse()?;
/// assert_eq!(event.subject(), &Subject::Product);
/// assert_eq!(event.verb(), &Verb::Create);
/// assert_eq!(event.to_string(), "product.create");
///
/// let newer: EventType = "timesheetEntry.approve".parse()?;
/// assert!(newer.subject().is_unknown() && newer.verb().is_unknown());
/// assert_eq!(newer.to_string(), "timesheetEntry.approve");
/// # Ok::<(), tripletex_webhooks_types::ParseEventTypeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventType {
    subject: Subject,
    verb: Verb,
}

impl EventType {
    /// An event type from a typed subject and verb.
    pub fn new(subject: Subject, verb: Verb) -> Self {
        Self { subject, verb }
    }

    /// What the event is about: `product` in `product.create`.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// What happened: `create` in `product.create`.
    pub fn verb(&self) -> &Verb {
        &self.verb
    }

    /// Whether this event announces that an object was deleted (`*.delete`):
    /// such events carry only the id and a `null` value.
    pub fn is_delete(&self) -> bool {
        self.verb == Verb::Delete
    }

    /// Whether both the subject and the verb are known to this crate.
    pub fn is_known(&self) -> bool {
        !self.subject.is_unknown() && !self.verb.is_unknown()
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.subject, self.verb)
    }
}

impl FromStr for EventType {
    type Err = ParseEventTypeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (subject, verb) = s
            .split_once('.')
            .ok_or_else(|| ParseEventTypeError::new(s, "expected `subject.verb`, found no `.`"))?;
        check_part(s, subject, "subject")?;
        check_part(s, verb, "verb")?;
        Ok(Self {
            subject: Subject::from_name(subject),
            verb: Verb::from_name(verb),
        })
    }
}

fn check_part(input: &str, part: &str, what: &str) -> Result<(), ParseEventTypeError> {
    if part.is_empty() {
        return Err(ParseEventTypeError::new(
            input,
            format!("the {what} is empty"),
        ));
    }
    if let Some(bad) = part
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(ParseEventTypeError::new(
            input,
            format!(
                "the {what} contains {bad:?}; only ASCII letters, digits, `_` and `-` are allowed"
            ),
        ));
    }
    Ok(())
}

impl TryFrom<&str> for EventType {
    type Error = ParseEventTypeError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A visitor rather than `String`: a known name is parsed without an allocation.
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = EventType;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event name, `subject.verb`")
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<EventType, E> {
                name.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Name)
    }
}

/// An event name that is not of the form `subject.verb`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event type {input:?}: {reason}")]
pub struct ParseEventTypeError {
    input: String,
    reason: String,
}

impl ParseEventTypeError {
    fn new(input: &str, reason: impl Into<String>) -> Self {
        Self {
            input: input.to_owned(),
            reason: reason.into(),
        }
    }

    /// The rejected input.
    pub fn input(&self) -> &str {
        &self.input
    }
}

/// A name this crate does not know, as it appeared on the wire.
///
/// It can only be made by parsing, so a known name is never held here and
/// equality of [`Subject`] and [`Verb`] values is the equality of their names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnknownName(String);

impl UnknownName {
    /// The name as it appeared on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! name_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A name this crate does not know (Tripletex adds events over time).
            Unknown(UnknownName),
        }

        impl $name {
            /// Every name this crate knows, in catalogue order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The name as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Unknown(name) => name.as_str(),
                }
            }

            /// Whether this name is unknown to this crate.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }

            fn from_name(name: &str) -> Self {
                match name {
                    $($wire => Self::$variant,)+
                    other => Self::Unknown(UnknownName(other.to_owned())),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

name_enum!(
    /// The object an event is about: the part before the dot.
    Subject {
        /// `product`
        Product => "product",
        /// `order`
        Order => "order",
        /// `customer`
        Customer => "customer",
        /// `supplier`
        Supplier => "supplier",
        /// `employee`
        Employee => "employee",
        /// `contact`
        Contact => "contact",
        /// `project`
        Project => "project",
        /// `account`: a ledger (booking) account.
        Account => "account",
        /// `voucher`
        Voucher => "voucher",
        /// `invoice`
        Invoice => "invoice",
        /// `notification`: sent to the employee who owns the token.
        Notification => "notification",
        /// `archiverelation` (all lower-case on the wire).
        ArchiveRelation => "archiverelation",
        /// `voucherstatus` (all lower-case on the wire).
        VoucherStatus => "voucherstatus",
        /// `closeGroup` (camelCase on the wire).
        CloseGroup => "closeGroup",
    }
);

name_enum!(
    /// What happened to the object: the part after the dot.
    Verb {
        /// `create`
        Create => "create",
        /// `update`
        Update => "update",
        /// `delete`: the value is `null`, only the id is sent.
        Delete => "delete",
        /// `charged`, as in `invoice.charged`.
        Charged => "charged",
        /// `sent`, as in `notification.sent`.
        Sent => "sent",
        /// `ready`, as in `voucherstatus.ready`.
        Ready => "ready",
    }
);

impl Subject {
    /// The name of the payload model its events carry (`payloadModel` in the
    /// catalogue), or `None` for an unknown subject.
    pub fn payload_model(&self) -> Option<&'static str> {
        Some(match self {
            Self::Product => "Product",
            Self::Order => "Order",
            Self::Customer => "Customer",
            Self::Supplier => "Supplier",
            Self::Employee => "Employee",
            Self::Contact => "Contact",
            Self::Project => "Project",
            Self::Account => "Account",
            Self::Voucher => "Voucher",
            Self::Invoice => "Invoice",
            Self::Notification => "Notification",
            Self::ArchiveRelation => "ArchiveRelation",
            Self::VoucherStatus => "VoucherStatus",
            Self::CloseGroup => "CloseGroup",
            Self::Unknown(_) => return None,
        })
    }
}

/// Every event Tripletex documents, in the order of its guide and changelog.
pub fn known_event_types() -> Vec<EventType> {
    use Subject as S;
    use Verb as V;
    let crud = [V::Create, V::Update, V::Delete];
    let mut events = vec![EventType::new(S::Invoice, V::Charged)];
    for subject in [
        S::Supplier,
        S::Employee,
        S::Order,
        S::Product,
        S::Account,
        S::Project,
        S::Customer,
        S::Contact,
        S::ArchiveRelation,
        S::Voucher,
    ] {
        events.extend(
            crud.iter()
                .map(|verb| EventType::new(subject.clone(), verb.clone())),
        );
    }
    events.push(EventType::new(S::Notification, V::Sent));
    events.push(EventType::new(S::VoucherStatus, V::Ready));
    events.push(EventType::new(S::CloseGroup, V::Create));
    events.push(EventType::new(S::CloseGroup, V::Delete));
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_parse_to_typed_parts() {
        let event: EventType = "closeGroup.delete".parse().unwrap();
        assert_eq!(event, EventType::new(Subject::CloseGroup, Verb::Delete));
        assert!(event.is_delete() && event.is_known());
        let event: EventType = "invoice.charged".parse().unwrap();
        assert_eq!(event.verb(), &Verb::Charged);
    }

    #[test]
    fn every_known_event_round_trips() {
        for event in known_event_types() {
            let text = event.to_string();
            assert_eq!(text.parse::<EventType>().unwrap(), event, "{text}");
            assert!(event.is_known());
        }
        assert_eq!(known_event_types().len(), 35);
    }

    #[test]
    fn unknown_names_are_kept_verbatim() {
        let event: EventType = "timesheetEntry.approve".parse().unwrap();
        assert_eq!(event.subject().as_str(), "timesheetEntry");
        assert_eq!(event.verb().as_str(), "approve");
        assert!(!event.is_known());
        // Subjects are case-sensitive: `closegroup` is not `closeGroup`.
        let event: EventType = "closegroup.create".parse().unwrap();
        assert!(event.subject().is_unknown());
    }

    #[test]
    fn malformed_names_are_rejected_with_a_reason() {
        for (input, reason) in [
            ("product", "no `.`"),
            ("", "no `.`"),
            (".create", "subject is empty"),
            ("product.", "verb is empty"),
            ("product .create", "subject contains ' '"),
            ("product.cre ate", "verb contains ' '"),
            ("product.create.now", "verb contains '.'"),
            ("prodüct.create", "subject contains 'ü'"),
        ] {
            let err = input.parse::<EventType>().unwrap_err();
            assert!(err.to_string().contains(reason), "{input:?}: {err}");
            assert_eq!(err.input(), input);
        }
    }

    #[test]
    fn serde_uses_the_string_form() {
        let event: EventType = serde_json::from_str("\"order.delete\"").unwrap();
        assert_eq!(serde_json::to_string(&event).unwrap(), "\"order.delete\"");
        assert!(serde_json::from_str::<EventType>("\"order\"").is_err());
    }

    #[test]
    fn payload_models_match_the_catalogue() {
        assert_eq!(
            Subject::ArchiveRelation.payload_model(),
            Some("ArchiveRelation")
        );
        let unknown: EventType = "x.y".parse().unwrap();
        assert_eq!(unknown.subject().payload_model(), None);
    }
}
