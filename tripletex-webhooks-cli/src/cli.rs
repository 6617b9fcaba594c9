//! The command line: every command, flag and `--help` text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::output::ColorChoice;

const ABOUT: &str =
    "Tripletex webhook subscriptions as code, and the bundled server's emulator, from the terminal";

const LONG_ABOUT: &str = "\
Tripletex webhook subscriptions as code, and the bundled server's emulator, from the terminal.

Works the same against production (prod), Tripletex's test environment (test) and the bundled
server (local), chosen with --base-url or TRIPLETEX_BASE_URL. Credentials come from the
environment only, never from the command line:

  TRIPLETEX_CONSUMER_TOKEN and TRIPLETEX_EMPLOYEE_TOKEN   a session token is created from them
  TRIPLETEX_SESSION_TOKEN                                 or an existing session token

Against a loopback server (local) without them, the bundled server's built-in local tokens are used.";

const AFTER_HELP: &str = "\
Exit codes:
  0   success (apply --dry-run: nothing would change)
  1   a request or an operation failed; verify: the callback does not verify; inbox: its database failed
  2   apply --dry-run: something would change (drift)
  3   credentials missing, or refused by Tripletex (401/403)
  4   still rate limited (429) after the retries
  5   an emulator command against a server without the emulator API (such as Tripletex)
  64  bad arguments, or a missing or invalid input file or environment variable (inbox: no SQLite file)

Examples:
  export TRIPLETEX_BASE_URL=test TRIPLETEX_CONSUMER_TOKEN=... TRIPLETEX_EMPLOYEE_TOKEN=...
  tripletex-webhooks subscriptions list
  tripletex-webhooks subscriptions apply webhooks.toml --dry-run
  tripletex-webhooks --base-url local trigger product.create --id 7
  tripletex-webhooks deliveries --status failed --json
  tripletex-webhooks inbox replay --database sqlite://webhooks.db
  tripletex-webhooks completions bash > ~/.local/share/bash-completion/completions/tripletex-webhooks";

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "tripletex-webhooks",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub(crate) struct Cli {
    /// The API: `prod` (`https://tripletex.no/v2`), `test` (`https://api-test.tripletex.tech/v2`),
    /// `local` (`http://127.0.0.1:8080/v2`, the bundled server's default), `local:PORT`, or a URL
    /// ending in `/v2`.
    #[arg(
        long,
        global = true,
        env = "TRIPLETEX_BASE_URL",
        default_value = "local",
        value_name = "URL"
    )]
    pub(crate) base_url: String,

    /// The company to act for (0: the employee token's own; an accountant's client id as proxy).
    #[arg(
        long,
        global = true,
        env = "TRIPLETEX_COMPANY_ID",
        default_value_t = 0,
        value_name = "ID"
    )]
    pub(crate) company_id: i64,

    /// Print JSON for scripts instead of tables (errors too, on stderr).
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// When to colour the output; NO_COLOR always turns it off.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub(crate) color: ColorChoice,

    /// The longest one attempt of a request may take, such as `30s`.
    #[arg(long, global = true, default_value = "30s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub(crate) timeout: Duration,

    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// The event catalogue, or one event's description and examples.
    #[command(after_help = "\
Examples:
  tripletex-webhooks events
  tripletex-webhooks events product.update
  tripletex-webhooks events --json | jq -r 'keys[]'")]
    Events {
        /// One event, such as `product.update`.
        event: Option<String>,
    },

    /// List, show, create, delete, enable, disable and apply subscriptions.
    #[command(subcommand, visible_alias = "subs")]
    Subscriptions(SubscriptionsCommand),

    /// Emit an event on the bundled server, as if the object changed.
    #[command(after_help = "\
Examples:
  tripletex-webhooks trigger product.create --id 7 --value '{\"id\":7,\"version\":0,\"name\":\"Espresso\"}'
  tripletex-webhooks trigger product.update --id 7 --value @product.json
  tripletex-webhooks trigger product.delete --id 7")]
    Trigger(TriggerArgs),

    /// The bundled server's delivery log: one line per message, or a live tail (--follow).
    #[command(after_help = "\
Examples:
  tripletex-webhooks deliveries
  tripletex-webhooks deliveries --subscription 3 --status failed
  tripletex-webhooks deliveries --event product.update --limit 10 --json
  tripletex-webhooks deliveries --follow
  tripletex-webhooks deliveries --follow --subscription 3 --json")]
    Deliveries(DeliveriesArgs),

    /// Send deliveries of the bundled server again.
    #[command(after_help = "\
Examples:
  tripletex-webhooks redeliver 12 13
  tripletex-webhooks redeliver --failed
  tripletex-webhooks redeliver --failed --since 1h")]
    Redeliver(RedeliverArgs),

    /// The bundled server's clock, or move it forward (to run retries now).
    #[command(after_help = "\
Examples:
  tripletex-webhooks clock
  tripletex-webhooks clock advance 1h
  tripletex-webhooks clock advance 7d --json")]
    Clock {
        /// `advance DURATION`, or nothing to read the clock.
        #[command(subcommand)]
        action: Option<ClockCommand>,
    },

    /// Check a captured callback offline: its HMAC signature, then its body.
    #[command(after_help = "\
Prints the decoded event and exits 0, or says why the callback does not verify and exits 1.

Examples:
  export WEBHOOK_SECRET=a-shared-secret
  tripletex-webhooks verify body.json --idempotency-key 5f0c... --signature 'Qm9k...' --secret-env WEBHOOK_SECRET
  pbpaste | tripletex-webhooks verify --idempotency-key 5f0c... --signature 'Qm9k...' --secret-env WEBHOOK_SECRET")]
    Verify(VerifyArgs),

    /// A receiver's durable inbox: list its events, replay dead letters (or any range).
    #[command(subcommand)]
    Inbox(InboxCommand),

    /// Shell completions, printed to stdout.
    #[command(after_help = "\
Examples:
  tripletex-webhooks completions bash > ~/.local/share/bash-completion/completions/tripletex-webhooks
  tripletex-webhooks completions zsh > ~/.zfunc/_tripletex-webhooks
  tripletex-webhooks completions fish > ~/.config/fish/completions/tripletex-webhooks.fish")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `subscriptions …`.
#[derive(Debug, Subcommand)]
pub(crate) enum SubscriptionsCommand {
    /// Every subscription of the company (target URLs shown without credentials or query).
    #[command(after_help = "\
Examples:
  tripletex-webhooks subscriptions list
  tripletex-webhooks subscriptions list --json | jq '.[] | select(.status != \"ACTIVE\") | .id'")]
    List,

    /// One subscription.
    #[command(after_help = "\
Examples:
  tripletex-webhooks subscriptions show 42")]
    Show {
        /// Its id.
        id: i64,
    },

    /// Create subscriptions: one per `--event`, all to the same target.
    #[command(after_help = "\
Secrets are never taken on the command line: name the environment variable (or file) that holds them.

Examples:
  tripletex-webhooks subscriptions create --event product.create --event product.update \\
      --target https://example.com/webhooks/tripletex
  export HOOK_TOKEN=... HOOK_SECRET=...
  tripletex-webhooks subscriptions create --event order.create --target https://example.com/hooks \\
      --fields 'id,version,number' --auth-header X-Tripletex-Token --auth-value-env HOOK_TOKEN \\
      --hmac-secret-env HOOK_SECRET")]
    Create(CreateArgs),

    /// Delete subscriptions.
    #[command(after_help = "\
Examples:
  tripletex-webhooks subscriptions delete 42 43")]
    Delete {
        /// Their ids.
        #[arg(required = true, num_args = 1..)]
        ids: Vec<i64>,
    },

    /// Set subscriptions ACTIVE, such as ones Tripletex set DISABLED_TOO_MANY_ERRORS.
    #[command(after_help = "\
Examples:
  tripletex-webhooks subscriptions enable 42")]
    Enable {
        /// Their ids.
        #[arg(required = true, num_args = 1..)]
        ids: Vec<i64>,
    },

    /// Set subscriptions DISABLED.
    #[command(after_help = "\
Examples:
  tripletex-webhooks subscriptions disable 42 43")]
    Disable {
        /// Their ids.
        #[arg(required = true, num_args = 1..)]
        ids: Vec<i64>,
    },

    /// Make the subscriptions match a TOML file: print the plan, then carry it out.
    #[command(after_help = crate::desired::FORMAT_HELP)]
    Apply(ApplyArgs),
}

/// `subscriptions create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// An event to deliver, such as `product.create` (repeatable: one subscription each).
    #[arg(long = "event", required = true, value_name = "EVENT")]
    pub(crate) events: Vec<String>,
    /// Where Tripletex POSTs the callbacks.
    #[arg(long, value_name = "URL")]
    pub(crate) target: String,
    /// A `fields` filter for the delivered object, such as `id,version,name`.
    #[arg(long)]
    pub(crate) fields: Option<String>,
    /// The name of a header sent with every callback; its value comes from --auth-value-env or --auth-value-file.
    #[arg(long, value_name = "NAME")]
    pub(crate) auth_header: Option<String>,
    /// The environment variable holding that header's value.
    #[arg(
        long,
        value_name = "VAR",
        requires = "auth_header",
        conflicts_with = "auth_value_file"
    )]
    pub(crate) auth_value_env: Option<String>,
    /// The file holding that header's value (one line).
    #[arg(long, value_name = "PATH", requires = "auth_header")]
    pub(crate) auth_value_file: Option<PathBuf>,
    /// The environment variable holding the HMAC signing secret (10 to 100 characters).
    #[arg(long, value_name = "VAR", conflicts_with = "hmac_secret_file")]
    pub(crate) hmac_secret_env: Option<String>,
    /// The file holding the HMAC signing secret (one line).
    #[arg(long, value_name = "PATH")]
    pub(crate) hmac_secret_file: Option<PathBuf>,
}

/// `subscriptions apply`.
#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// The TOML file of desired subscriptions.
    pub(crate) file: PathBuf,
    /// Only print the plan; exit 2 when something would change, 0 when not.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Also delete the subscriptions (in the file's scope) that the file does not list.
    #[arg(long)]
    pub(crate) prune: bool,
    /// Send the secrets to unchanged subscriptions too (to rotate them).
    #[arg(long)]
    pub(crate) resend_secrets: bool,
}

/// `trigger`.
#[derive(Debug, Args)]
pub(crate) struct TriggerArgs {
    /// The event, such as `product.update`.
    pub(crate) event: String,
    /// The object's id.
    #[arg(long, default_value_t = 1)]
    pub(crate) id: i64,
    /// The object as JSON, or `@FILE` to read it from a file (default `{"id": ID}`; none for deletes).
    #[arg(long, value_name = "JSON|@FILE")]
    pub(crate) value: Option<String>,
}

/// `deliveries`.
#[derive(Debug, Args)]
pub(crate) struct DeliveriesArgs {
    /// Only this subscription's.
    #[arg(long, value_name = "ID")]
    pub(crate) subscription: Option<i64>,
    /// Only those in this status.
    #[arg(long, value_enum)]
    pub(crate) status: Option<DeliveryStatus>,
    /// Only this event's, such as `product.update`.
    #[arg(long)]
    pub(crate) event: Option<String>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 50, conflicts_with = "follow")]
    pub(crate) limit: u32,
    /// A live tail instead: one line per attempt as it happens (and per subscription status
    /// change), until interrupted; with --json one JSON object per line.
    #[arg(long, short = 'f')]
    pub(crate) follow: bool,
}

/// A message's status in the delivery log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// Delivered.
    Delivered,
    /// Given up on.
    Failed,
    /// Replaced by a newer message of the same object.
    Superseded,
}

impl From<DeliveryStatus> for tripletex_webhooks_client::types::emulator::DeliveryStatus {
    fn from(status: DeliveryStatus) -> Self {
        match status {
            DeliveryStatus::Pending => Self::Pending,
            DeliveryStatus::Delivered => Self::Delivered,
            DeliveryStatus::Failed => Self::Failed,
            DeliveryStatus::Superseded => Self::Superseded,
        }
    }
}

/// `redeliver`.
#[derive(Debug, Args)]
pub(crate) struct RedeliverArgs {
    /// The deliveries (message ids from `deliveries`).
    #[arg(required_unless_present = "failed", conflicts_with = "failed")]
    pub(crate) ids: Vec<i64>,
    /// Every failed delivery instead.
    #[arg(long)]
    pub(crate) failed: bool,
    /// With --failed: only those created this recently, on the server clock, such as `1h`.
    #[arg(long, requires = "failed", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub(crate) since: Option<Duration>,
}

/// `clock …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ClockCommand {
    /// Move the server clock forward, such as `90s`, `1h` or `7d`.
    #[command(after_help = "\
Examples:
  tripletex-webhooks clock advance 90s
  tripletex-webhooks clock advance 2d")]
    Advance {
        /// How far.
        #[arg(value_parser = humantime::parse_duration)]
        duration: Duration,
    },
}

/// `inbox …`.
#[derive(Debug, Subcommand)]
pub(crate) enum InboxCommand {
    /// The inbox's events, oldest first (by default every state).
    #[command(after_help = "\
Examples:
  tripletex-webhooks inbox list --database sqlite://webhooks.db --state dead
  tripletex-webhooks inbox list --database postgres://app@db/app --subscription 3 --since 1h --json")]
    List(InboxListArgs),

    /// Put events back to pending, so that the receiver's workers run them again (by default
    /// the dead letters; handled ones go to the handler as duplicates, recording nothing).
    #[command(after_help = "\
The running receiver picks them up within its poll interval. Prints how many were put back.

Examples:
  tripletex-webhooks inbox replay --database sqlite://webhooks.db
  tripletex-webhooks inbox replay --database sqlite://webhooks.db --from-id 120 --to-id 180
  tripletex-webhooks inbox replay --database postgres://app@db/app --state done --subscription 3 --since 2h")]
    Replay(InboxFilterArgs),
}

/// `inbox list`.
#[derive(Debug, Args)]
pub(crate) struct InboxListArgs {
    /// Which events.
    #[command(flatten)]
    pub(crate) filter: InboxFilterArgs,
    /// At most this many.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub(crate) limit: u32,
}

/// Which inbox events: the database and the filters of `inbox list` and `inbox replay`.
#[derive(Debug, Args)]
pub(crate) struct InboxFilterArgs {
    /// The inbox's database: `sqlite://FILE` (which must exist) or `postgres://…`.
    #[arg(long, env = "TRIPLETEX_INBOX_DATABASE", value_name = "URL")]
    pub(crate) database: String,
    /// Only events in this state: pending, done, skipped or dead (repeatable).
    #[arg(long = "state", value_enum, value_name = "STATE")]
    pub(crate) states: Vec<InboxState>,
    /// Only events of this subscription.
    #[arg(long, value_name = "ID")]
    pub(crate) subscription: Option<i64>,
    /// Only events with this id or a later one.
    #[arg(long, value_name = "ID")]
    pub(crate) from_id: Option<i64>,
    /// Only events with this id or an earlier one.
    #[arg(long, value_name = "ID")]
    pub(crate) to_id: Option<i64>,
    /// Only events received this recently, such as `2h`.
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub(crate) since: Option<Duration>,
}

/// An inbox event's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum InboxState {
    /// Waiting, being handled, or waiting for its next attempt.
    Pending,
    /// Handled.
    Done,
    /// A stale or duplicate version, not handed to the handler.
    Skipped,
    /// Dead-lettered.
    Dead,
}

/// `verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The callback's body, exactly as received (`-` or nothing: stdin).
    pub(crate) body: Option<PathBuf>,
    /// The callback's `idempotency-key` header.
    #[arg(long, value_name = "KEY")]
    pub(crate) idempotency_key: String,
    /// The callback's `x-request-signature` header.
    #[arg(long, value_name = "SIGNATURE")]
    pub(crate) signature: String,
    /// The environment variable holding the subscription's HMAC secret.
    #[arg(
        long,
        value_name = "VAR",
        required_unless_present = "secret_file",
        conflicts_with = "secret_file"
    )]
    pub(crate) secret_env: Option<String>,
    /// The file holding the subscription's HMAC secret (one line).
    #[arg(long, value_name = "PATH")]
    pub(crate) secret_file: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_examples() {
        let mut missing = Vec::new();
        let mut root = Cli::command();
        root.build();
        let mut stack = vec![(String::new(), root)];
        while let Some((path, command)) = stack.pop() {
            if command.get_name() == "help" {
                continue;
            }
            let name = format!("{path} {}", command.get_name());
            let has_subcommands = command.get_subcommands().next().is_some();
            let examples = command
                .get_after_help()
                .is_some_and(|help| help.to_string().contains("Examples:"));
            if !examples && !has_subcommands {
                missing.push(name.clone());
            }
            for sub in command.get_subcommands() {
                stack.push((name.clone(), sub.clone()));
            }
        }
        assert!(missing.is_empty(), "no examples in --help of {missing:?}");
    }
}
