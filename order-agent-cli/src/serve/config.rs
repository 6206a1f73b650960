//! The service's configuration file (TOML) and how the command line overrides it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use order_agent_adapters::store::PostgresConfig;
use secrecy::SecretString;
use serde::Deserialize;

use crate::error::CliError;
use crate::input::read_text;

/// The listen address when neither `--listen` nor the file names one.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The SQLite state file when neither `--state` nor the file names a store.
pub(crate) const DEFAULT_STATE_FILE: &str = "order-agent.sqlite";

/// `order-agent serve --config FILE`: every field is optional; without a file the service runs
/// the demo shop on a SQLite file in the working directory.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServeConfig {
    /// The address to listen on, e.g. `127.0.0.1:8080` (`--listen` wins).
    #[serde(default)]
    pub(crate) listen: Option<SocketAddr>,
    /// The policy file (TOML, or JSON by the `.json` extension), relative to the config file;
    /// default: the demo shop's sample policy.
    #[serde(default)]
    pub(crate) policy: Option<PathBuf>,
    /// Where the agent keeps its state.
    #[serde(default)]
    pub(crate) state: StateConfig,
    /// The secrets webhook deliveries are signed with.
    #[serde(default)]
    pub(crate) webhooks: WebhookConfig,
    /// The shop's outside systems.
    #[serde(default)]
    pub(crate) vendors: VendorsConfig,
    /// The background worker of the event queue.
    #[serde(default)]
    pub(crate) worker: WorkerConfig,
}

/// The state store: at most one of `sqlite`, `in_memory` and `postgres`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateConfig {
    /// A SQLite file, relative to the config file.
    #[serde(default)]
    pub(crate) sqlite: Option<PathBuf>,
    /// Keep nothing: the state lives in memory and is gone when the service stops.
    #[serde(default)]
    pub(crate) in_memory: bool,
    /// A PostgreSQL database (`url`, and optionally `schema`, `pool_size`,
    /// `connect_timeout_secs`), for several workers sharing one state.
    #[serde(default)]
    pub(crate) postgres: Option<PostgresConfig>,
}

/// Webhook signing secrets: deliveries must carry `X-Order-Agent-Signature: sha256=<hex>`, the
/// HMAC-SHA256 of the raw body under one of them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookConfig {
    /// The current secret.
    #[serde(default)]
    pub(crate) secret: Option<SecretString>,
    /// The previous secret, still accepted while senders move to the current one.
    #[serde(default)]
    pub(crate) previous_secret: Option<SecretString>,
    /// Vendors' own webhooks, on `POST /webhooks/vendor/{vendor}`: one table per vendor
    /// (`shopify`, `stripe`, `adyen`, `easypost`, `twilio`, `sendgrid`, `zendesk`); a vendor
    /// without a table is answered 404.
    #[serde(default)]
    pub(crate) vendors: BTreeMap<String, VendorHookConfig>,
}

/// `[webhooks.vendors.<name>]`: how one vendor signs its webhooks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VendorHookConfig {
    /// The current signing secret as the vendor shows it (Adyen: the HMAC key in hex;
    /// SendGrid: the verification public key in base64).
    pub(crate) secret: SecretString,
    /// The previous secret, still accepted while the vendor moves to the current one.
    #[serde(default)]
    pub(crate) previous_secret: Option<SecretString>,
    /// The full public URL the vendor calls, as configured at the vendor: Twilio signs it, so
    /// it is required for `twilio`.
    #[serde(default)]
    pub(crate) public_url: Option<String>,
}

/// Which systems the agent works through. Only the built-in demo shop exists today: every vendor
/// (OMS, carrier, payments, messaging, helpdesk, inventory) is an in-memory fake seeded with the
/// demo shop's customers and orders.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VendorsConfig {
    /// `demo` (the only choice so far).
    #[serde(default)]
    pub(crate) shop: VendorShop,
}

/// The shop's systems.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum VendorShop {
    /// The built-in demo shop on in-memory fakes.
    #[default]
    Demo,
}

/// How the event queue is worked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct WorkerConfig {
    /// How long the worker sleeps when the queue is empty, in milliseconds (default 500).
    pub(crate) idle_ms: u64,
    /// How often every open order is checked for silent parcels and delays, in seconds
    /// (default 3600; the first check runs one period after start). A lost parcel sends no
    /// event, so only this check finds it.
    pub(crate) check_every_secs: u64,
}

impl Default for WorkerConfig {
    fn default() -> WorkerConfig {
        WorkerConfig {
            idle_ms: 500,
            check_every_secs: 3_600,
        }
    }
}

/// Where the state lives, once the file and the flags are combined.
#[derive(Debug)]
pub(crate) enum StateChoice {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// Nothing kept.
    InMemory,
    /// A PostgreSQL database.
    Postgres(Box<PostgresConfig>),
}

impl ServeConfig {
    /// Reads and checks `path`; relative paths inside are taken relative to the file's folder.
    pub(crate) fn load(path: &Path) -> Result<ServeConfig, CliError> {
        let text = read_text(path)?;
        let mut config: ServeConfig = toml::from_str(&text)
            .map_err(|e| CliError::usage(format!("config `{}`: {e}", path.display())))?;
        let base = path.parent().unwrap_or_else(|| Path::new(""));
        if let Some(policy) = &config.policy {
            config.policy = Some(base.join(policy));
        }
        if let Some(sqlite) = &config.state.sqlite {
            config.state.sqlite = Some(base.join(sqlite));
        }
        let chosen = usize::from(config.state.sqlite.is_some())
            + usize::from(config.state.in_memory)
            + usize::from(config.state.postgres.is_some());
        if chosen > 1 {
            return Err(CliError::usage(format!(
                "config `{}`: [state] names more than one store; keep one of `sqlite`, \
                 `in_memory` and `postgres`",
                path.display()
            )));
        }
        Ok(config)
    }

    /// The store: `--in-memory` or `--state` win over the file; the default is a SQLite file in
    /// the working directory.
    pub(crate) fn state_choice(
        &mut self,
        flag_state: Option<PathBuf>,
        flag_in_memory: bool,
    ) -> StateChoice {
        if flag_in_memory {
            return StateChoice::InMemory;
        }
        if let Some(path) = flag_state {
            return StateChoice::Sqlite(path);
        }
        if let Some(postgres) = self.state.postgres.take() {
            return StateChoice::Postgres(Box::new(postgres));
        }
        if self.state.in_memory {
            return StateChoice::InMemory;
        }
        StateChoice::Sqlite(
            self.state
                .sqlite
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_FILE)),
        )
    }

    /// Takes the secrets accepted on webhooks, current first.
    pub(crate) fn take_webhook_secrets(&mut self) -> Vec<SecretString> {
        [
            self.webhooks.secret.take(),
            self.webhooks.previous_secret.take(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Takes the vendors' webhook configurations, by vendor name.
    pub(crate) fn take_vendor_hooks(&mut self) -> BTreeMap<String, VendorHookConfig> {
        std::mem::take(&mut self.webhooks.vendors)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn a_full_file_parses_and_unknown_fields_are_refused() {
        let mut config: ServeConfig = toml::from_str(
            r#"
            listen = "127.0.0.1:9000"
            policy = "shop.toml"
            [state]
            postgres = { url = "postgres://postgres@127.0.0.1:5432/test", schema = "shop" }
            [webhooks]
            secret = "new"
            previous_secret = "old"
            [webhooks.vendors.shopify]
            secret = "shpss_new"
            previous_secret = "shpss_old"
            [webhooks.vendors.twilio]
            secret = "twilio-token"
            public_url = "https://shop.example/webhooks/vendor/twilio"
            [vendors]
            shop = "demo"
            [worker]
            idle_ms = 100
            "#,
        )
        .unwrap();
        assert_eq!(config.listen, Some("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(config.take_webhook_secrets().len(), 2);
        let hooks = config.take_vendor_hooks();
        assert_eq!(hooks.keys().collect::<Vec<_>>(), ["shopify", "twilio"]);
        assert!(hooks["shopify"].previous_secret.is_some());
        assert!(
            !format!("{hooks:?}").contains("shpss_new"),
            "secrets are redacted"
        );
        assert!(toml::from_str::<ServeConfig>(
            "[webhooks.vendors.shopify]\nsecret = \"s\"\nsecrett = \"typo\""
        )
        .is_err());
        assert_eq!(config.worker.idle_ms, 100);
        assert!(toml::from_str::<ServeConfig>("lissen = \"127.0.0.1:1\"").is_err());
        assert!(toml::from_str::<ServeConfig>("[vendors]\nshop = \"shopify\"").is_err());
    }

    #[test]
    fn flags_win_over_the_file() {
        let mut config = ServeConfig::default();
        assert!(matches!(
            config.state_choice(None, false),
            StateChoice::Sqlite(p) if p == Path::new(DEFAULT_STATE_FILE)
        ));
        config.state.sqlite = Some(PathBuf::from("x.sqlite"));
        assert!(matches!(
            config.state_choice(None, true),
            StateChoice::InMemory
        ));
        assert!(matches!(
            config.state_choice(Some(PathBuf::from("y.sqlite")), false),
            StateChoice::Sqlite(p) if p == Path::new("y.sqlite")
        ));
    }
}
