//! The table of hosted resources: where each lives, its official model and
//! the events its writes emit. Its fields come from the model data.

use tripletex_webhooks_types::models::{
    Account, Contact, Customer, Employee, Invoice, Order, PayloadModel, Product, Project, Supplier,
    Voucher,
};
use tripletex_webhooks_types::{Subject, Verb};

use super::{Resource, examples};

/// The usual events: `subject.create`, `subject.update`, `subject.delete`.
const CREATE: &[Verb] = &[Verb::Create];
const UPDATE: &[Verb] = &[Verb::Update];
const DELETE: &[Verb] = &[Verb::Delete];
const NONE: &[Verb] = &[];

/// Every resource with object endpoints, in catalogue order.
pub(crate) static RESOURCES: &[Resource] = &[
    Resource {
        path: "product",
        subject: Subject::Product,
        model: Product::NAME,
        on_create: CREATE,
        on_update: UPDATE,
        on_delete: DELETE,
        example: examples::product,
    },
    Resource {
        path: "customer",
        subject: Subject::Customer,
        model: Customer::NAME,
        on_create: CREATE,
        on_update: UPDATE,
        on_delete: DELETE,
        example: examples::customer,
    },
    Resource {
        path: "supplier",
        subject: Subject::Supplier,
        model: Supplier::NAME,
        on_create: CREATE,
        on_update: UPDATE,
        on_delete: DELETE,
        example: examples::supplier,
    },
    Resource {
        path: "employee",
        subject: Subject::Employee,
        model: Employee::NAME,
        on_create: CREATE,
        on_update: UPDATE,
        on_delete: DELETE,
        example: examples::employee,
    },
    Resource {
        path: "contact",
        subject: Subject::Contact,
        model: Contact::NAME,
        on_create: CREATE,
        on_update: UPDATE,
        on_delete: DELETE,
        example: examples::contact,
    },
    Resource {
        path: "project",
        subject: Subject::Project,
        model: Project::NAME,
        on_create: CREATE,
        on_update: UPDATE,
        on_delete: DELETE,
        example: examples::project,
    },
    Resource {
        path: "order",
        subject: Subject::Order,
        model: Order::NAME,
        on_create: CREATE,
        on_update: UPDATE,
        on_delete: DELETE,
        example: examples::order,
    },
    Resource {
        path: "ledger/account",
        subject: Subject::Account,
        model: Account::NAME,
        on_create: CREATE,
        on_update: UPDATE,
        on_delete: DELETE,
        example: examples::account,
    },
    Resource {
        path: "ledger/voucher",
        subject: Subject::Voucher,
        model: Voucher::NAME,
        on_create: CREATE,
        on_update: UPDATE,
        on_delete: DELETE,
        example: examples::voucher,
    },
    // Tripletex announces only that an invoice was created and charged.
    Resource {
        path: "invoice",
        subject: Subject::Invoice,
        model: Invoice::NAME,
        on_create: &[Verb::Charged],
        on_update: NONE,
        on_delete: NONE,
        example: examples::invoice,
    },
];
