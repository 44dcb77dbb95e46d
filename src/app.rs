//! The composition root: [`Application::build`] wires configuration,
//! store, FAQ and transport together. `main` and every integration test
//! start the server through it; tests pass an already loaded
//! [`Understanding`] to [`Application::build_with`] so that many servers
//! share one set of models.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth;
use crate::config::Config;
use crate::crm::{MasterKey, Store};
use crate::faq::Faq;
use crate::handoff::Handoff;
use crate::nlu::Understanding;
use crate::open_files;
use crate::room::Hub;
use crate::transcripts::Transcripts;
use crate::transport::guard::{self, ConnectionCounter, PerIpLimiter};
use crate::transport::{self, listener};

/// Shared state of the server: a few cheap-to-clone handles.
#[derive(Clone)]
pub(crate) struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub faq: Faq,
    pub understanding: Understanding,
    pub hub: Arc<Hub>,
    pub handoff: Arc<Handoff>,
    pub transcripts: Transcripts,
    pub connections: Arc<ConnectionCounter>,
    /// The origins this server is reached at (see `guard::own_origins`).
    pub own_origins: Arc<[String]>,
    /// Health checks per client IP.
    pub health_checks: Arc<PerIpLimiter>,
    /// New conversations per client IP.
    pub conversation_starts: Arc<PerIpLimiter>,
    /// Cancelled when the server shuts down; sockets close on it.
    pub shutdown: CancellationToken,
    /// Held by every clone of the state; when the last one is gone (the
    /// router and every socket), the server has let go of the store.
    pub _alive: tokio::sync::mpsc::Sender<()>,
}

impl AppState {
    /// What an agent's briefing draws its suggested replies from.
    pub(crate) fn suggester(&self) -> crate::handoff::Suggester<'_> {
        crate::handoff::Suggester {
            faq: &self.faq,
            understanding: &self.understanding,
            policy: &self.config.bot,
        }
    }
}

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// Closes when every clone of `state` is dropped.
    gone: tokio::sync::mpsc::Receiver<()>,
    /// The soft open-file limit in force, if known.
    open_files: Option<u64>,
    /// Every stored message, for the transcript index; it starts with
    /// the server.
    feed: tokio::sync::mpsc::Receiver<crate::transcripts::Feed>,
    /// A freshly generated operator token, to be shown once.
    pub generated_operator_token: Option<String>,
    /// Where a freshly generated master key was written, to be said once.
    pub generated_master_key: Option<std::path::PathBuf>,
}

/// How long open sockets get to close at shutdown.
const DRAIN: Duration = Duration::from_secs(10);

impl Application {
    /// Load the models, open the data directory, prepare the FAQ and bind
    /// the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let mut models = config.models.clone();
        models
            .cache_dir
            .get_or_insert_with(|| config.data_dir.join("cache"));
        let understanding = Understanding::load(&models).await?;
        Self::build_with(config, understanding).await
    }

    /// Like [`Application::build`], with models already loaded (they must
    /// be those `config.models` names).
    pub async fn build_with(config: Config, understanding: Understanding) -> anyhow::Result<Self> {
        // First, so the store and the index open under the raised limit too.
        let open_files = open_files::raise();
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the data directory {}: {e}; choose another with --data-dir",
                config.data_dir.display()
            )
        })?;
        let (master, generated_master_key) = MasterKey::resolve(
            config.encryption.master_key.as_deref(),
            config.encryption.master_key_file.as_deref(),
            &config.data_dir,
        )?;
        let store = Store::open(&config.data_dir, &master)?;
        drop(master);
        let faq = {
            let (store, dir) = (store.clone(), config.data_dir.clone());
            tokio::task::spawn_blocking(move || Faq::open(store, &dir)).await??
        };
        if config.demo_faq {
            if let Some(report) = faq.load_demo_if_new().await? {
                tracing::info!(entries = report.created, "demo faq loaded");
            }
        }
        faq.attach_encoder(understanding.nlu.clone()).await?;
        let listener = TcpListener::bind(config.addr).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {}: {e}; choose another with --addr",
                config.addr
            )
        })?;
        let shutdown = CancellationToken::new();
        let (feed, feed_rx) = tokio::sync::mpsc::channel(crate::transcripts::FEED_BUFFER);
        let hub = Arc::new(Hub::with_feed(feed));
        let transcripts = Transcripts::new(&store)?;
        let handoff = Handoff::start(
            store.clone(),
            hub.clone(),
            config.handoff.clone(),
            config
                .business_hours
                .schedule()
                .map_err(anyhow::Error::msg)?,
            config.conversations.close_idle_after,
            shutdown.clone(),
        )
        .await?;
        tokio::spawn(crate::privacy::retention_task(
            store.clone(),
            handoff.clone(),
            hub.clone(),
            config.retention.clone(),
            shutdown.clone(),
        ));
        // Last, so a start that fails earlier never generates a token it
        // cannot show.
        let generated_operator_token =
            auth::bootstrap_operator(&store, config.operator_token.as_deref()).await?;
        tracing::info!(config = ?config.redacted(), "configuration");
        let own_origins = guard::own_origins(
            config.public_url.as_deref(),
            listener.local_addr().unwrap_or(config.addr),
        )
        .into();
        let conversation_starts = Arc::new(PerIpLimiter::new(
            config.limits.conversations_per_minute / 60.0,
            config.limits.conversation_burst,
        ));
        let (alive, gone) = tokio::sync::mpsc::channel(1);
        let state = AppState {
            config: Arc::new(config),
            store,
            faq,
            understanding,
            hub,
            handoff,
            transcripts,
            connections: Arc::new(ConnectionCounter::default()),
            own_origins,
            health_checks: Arc::new(PerIpLimiter::new(20.0, 40)),
            conversation_starts,
            shutdown,
            _alive: alive,
        };
        Ok(Self {
            listener,
            state,
            gone,
            open_files,
            generated_operator_token,
            generated_master_key,
            feed: feed_rx,
        })
    }

    /// The server's shared state, for replaying turns without a socket
    /// (`eval::escalation`).
    pub(crate) fn state(&self) -> &AppState {
        &self.state
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.state.config.addr)
    }

    /// Serve until `signal` completes, then shut down in order: stop
    /// accepting, close every socket with a close frame, wait for them
    /// (bounded), save the FAQ's vector graph, wait (bounded) for
    /// background work to let go of the store, flush it: once this
    /// returns, the database is closed.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            state,
            mut gone,
            open_files,
            feed,
            ..
        } = self;
        let store = state.store.clone();
        let faq = state.faq.clone();
        let shutdown = state.shutdown.clone();
        let limits = &state.config.limits;
        let settings = listener::Settings {
            header_read_timeout: limits.header_read_timeout,
            max_connections: open_files::connection_cap(limits.max_connections, open_files),
        };
        let indexer = state.transcripts.start(feed, shutdown.clone());
        let router = transport::router(state);
        let server = tokio::spawn(listener::serve(
            listener,
            router,
            settings,
            shutdown.clone(),
        ));
        tokio::select! {
            _ = signal => {},
            _ = shutdown.cancelled() => {},
        }
        tracing::info!("shutting down");
        shutdown.cancel();
        // The listener stops accepting; its sockets finish their close
        // handshakes and let go of the state (and so of the store).
        let closed = async {
            server.await?;
            while gone.recv().await.is_some() {}
            anyhow::Ok(())
        };
        match tokio::time::timeout(DRAIN, closed).await {
            Ok(result) => result?,
            Err(_) => tracing::warn!("connections did not close in time"),
        }
        if tokio::time::timeout(DRAIN, indexer).await.is_err() {
            tracing::warn!("the transcript index did not stop in time");
        }
        if let Err(e) = faq.save_vectors().await {
            tracing::warn!(error = %e, "cannot save the faq vector graph");
        }
        drop(faq);
        if !store.sole_handle(DRAIN).await {
            tracing::warn!("background work still holds the store; it closes when that ends");
        }
        tokio::task::spawn_blocking(move || store.flush()).await??;
        tracing::info!("stopped");
        Ok(())
    }
}
