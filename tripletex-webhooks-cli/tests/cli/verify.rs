//! `verify`: a captured callback checked offline.

use tripletex_webhooks_client::types::secrecy::SecretString;
use tripletex_webhooks_client::types::signature;

use crate::harness::Cli;

const SECRET: &str = "the-shared-secret-never-printed";
const BODY: &str = r#"{"subscriptionId":3,"event":"product.update","id":7,"value":{"id":7,"version":4,"name":"Espresso"}}"#;
const KEY: &str = "5f0c2a9e-delivery-1";

fn signed(body: &str) -> String {
    signature::sign(&SecretString::from(SECRET), KEY, body.as_bytes())
}

fn cli() -> Cli {
    // No server: verify is offline (a base URL that nothing listens on).
    Cli::new("http://127.0.0.1:9/v2").env("HOOK_SECRET", SECRET)
}

fn args<'a>(signature: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "verify",
        "--idempotency-key",
        KEY,
        "--signature",
        signature,
        "--secret-env",
        "HOOK_SECRET",
    ];
    args.extend(more);
    args
}

#[tokio::test]
async fn a_good_callback_verifies_and_prints_the_event() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.json");
    std::fs::write(&file, BODY).unwrap();
    let signature = signed(BODY);

    let run = cli()
        .run(&args(&signature, &[file.to_str().unwrap()]))
        .await;
    run.ok().never_prints(&[SECRET]);
    assert!(
        run.stdout
            .starts_with("verified: product.update of object 7 (subscription 3, version 4)"),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains("model: Product") && run.stdout.contains("Espresso"),
        "{run:#?}"
    );

    let json = cli()
        .stdin(BODY.as_bytes())
        .run(&args(&signature, &["--json"]))
        .await;
    let json = json.ok().json();
    assert_eq!(json["verified"], true);
    assert_eq!(json["event"], "product.update");
    assert_eq!(json["version"], 4);
    assert_eq!(json["value"]["name"], "Espresso");
}

#[tokio::test]
async fn a_tampered_body_a_wrong_secret_or_a_malformed_signature_does_not_verify() {
    let signature = signed(BODY);
    let tampered = BODY.replace("Espresso", "Espresso!");
    let run = cli()
        .stdin(tampered.as_bytes())
        .run(&args(&signature, &["-"]))
        .await;
    let line = run.expect_code(1).one_line_error();
    assert!(
        line.starts_with("error: not verified: the signature does not match"),
        "{line}"
    );
    run.never_prints(&[SECRET]);

    let wrong = cli()
        .env("OTHER_SECRET", "another-secret-never-printed")
        .stdin(BODY.as_bytes())
        .run(&[
            "verify",
            "--idempotency-key",
            KEY,
            "--signature",
            &signature,
            "--secret-env",
            "OTHER_SECRET",
        ])
        .await;
    assert!(
        wrong
            .expect_code(1)
            .one_line_error()
            .contains("does not match"),
        "{wrong:#?}"
    );
    wrong.never_prints(&["another-secret-never-printed", SECRET]);

    let other_key = cli()
        .stdin(BODY.as_bytes())
        .run(&[
            "verify",
            "--idempotency-key",
            "another-key",
            "--signature",
            &signature,
            "--secret-env",
            "HOOK_SECRET",
        ])
        .await;
    assert!(
        other_key
            .expect_code(1)
            .one_line_error()
            .contains("does not match"),
        "{other_key:#?}"
    );

    let malformed = cli()
        .stdin(BODY.as_bytes())
        .run(&args("not*base64", &[]))
        .await;
    assert!(
        malformed
            .expect_code(1)
            .one_line_error()
            .contains("malformed"),
        "{malformed:#?}"
    );

    let not_a_webhook = r#"{"hello":"world"}"#;
    let run = cli()
        .stdin(not_a_webhook.as_bytes())
        .run(&args(&signed(not_a_webhook), &[]))
        .await;
    assert!(
        run.expect_code(1)
            .one_line_error()
            .contains("not a Tripletex webhook"),
        "{run:#?}"
    );

    let json = cli()
        .stdin(tampered.as_bytes())
        .run(&args(&signature, &["--json"]))
        .await;
    json.expect_code(1);
    let error: serde_json::Value = serde_json::from_str(json.stderr.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "not_verified");

    // No file, and stdin a terminal: a hint instead of waiting for input.
    if let Some(run) = cli().run_on_terminal(&args(&signature, &[])).await {
        assert!(
            run.expect_code(64).stdout.contains("pipe it on stdin"),
            "{run:#?}"
        );
    }

    let unset = Cli::new("local")
        .stdin(BODY.as_bytes())
        .run(&args(&signature, &[]))
        .await;
    assert!(
        unset
            .expect_code(64)
            .one_line_error()
            .contains("HOOK_SECRET"),
        "{unset:#?}"
    );
}
