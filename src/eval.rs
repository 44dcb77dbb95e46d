//! Measuring the models against labelled datasets: `frontdesk eval …`.
//!
//! [`intents`] and [`sentiment`] score the models on public datasets.
//! [`escalation`] and [`faq`] replay labelled support conversations and
//! customer questions through the whole turn pipeline of an
//! [`EvalServer`]. The datasets are read from the paths given; nothing is
//! copied.

pub mod escalation;
pub mod faq;
pub mod intents;
pub mod sentiment;

use std::path::Path;

/// The server `frontdesk eval escalation` and `eval faq` replay through:
/// the configured policy and models on a fresh temporary data directory,
/// answering from the demo FAQ or a FAQ file. The directory goes with it.
pub struct EvalServer {
    /// `None` only while dropping.
    app: Option<crate::Application>,
    dir: std::path::PathBuf,
}

impl EvalServer {
    pub async fn start(mut config: crate::Config, faq: Option<&Path>) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("frontdesk-eval-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        config.data_dir = dir.clone();
        config.addr = "127.0.0.1:0".parse()?;
        config.operator_token = Some(crate::auth::new_token());
        config.encryption.master_key = Some(hex::encode(crate::auth::random_bytes()));
        config.retention = Default::default();
        if let Some(path) = faq {
            config.demo_faq = false;
            import_faq(&config, path).await?;
        }
        let app = crate::Application::build(config).await?;
        Ok(Self {
            app: Some(app),
            dir,
        })
    }

    pub fn app(&self) -> &crate::Application {
        self.app.as_ref().expect("present until dropped")
    }
}

impl Drop for EvalServer {
    fn drop(&mut self) {
        // The server lets go of its files first.
        drop(self.app.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Import the FAQ file at `path` into the store of `config.data_dir`.
async fn import_faq(config: &crate::Config, path: &Path) -> anyhow::Result<()> {
    use crate::faq::{io, Faq};
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let drafts = io::parse(&text, io::Format::from_path(path)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let (master, _) = crate::crm::MasterKey::resolve(
        config.encryption.master_key.as_deref(),
        None,
        &config.data_dir,
    )?;
    let store = crate::crm::Store::open(&config.data_dir, &master)?;
    let dir = config.data_dir.clone();
    let faq = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || Faq::open(store, &dir)).await??
    };
    faq.import(drafts).await?;
    drop(faq);
    store.flush()?;
    Ok(())
}

/// Load the multilingual model, learn the intents in other languages and
/// attach the model to the FAQ before a replay,
/// so a replay's first message in another language does not depend on how
/// fast that goes (a server gives it a few seconds).
async fn attach_multilingual(app: &crate::Application) -> anyhow::Result<()> {
    let state = app.state();
    state.understanding.learn_intents_in_other_languages().await;
    if let Some(model) = state.understanding.multilingual().await {
        state.faq.attach_multilingual(model).await?;
    }
    Ok(())
}

/// A new conversation of a new anonymous customer on `app`, as the
/// replays start each labelled case, and its room.
async fn new_conversation(
    app: &crate::Application,
) -> anyhow::Result<(
    crate::crm::ConversationId,
    std::sync::Arc<crate::room::Room>,
)> {
    use crate::crm::{ConversationId, CustomerId, CustomerProfile};
    let state = app.state();
    let customer = state
        .store
        .upsert_customer(CustomerProfile::default(), CustomerId::new())
        .await?;
    let id = ConversationId::new();
    state
        .store
        .open_conversation(id, customer.id, crate::auth::random_bytes())
        .await?;
    Ok((id, state.hub.join(id)))
}
