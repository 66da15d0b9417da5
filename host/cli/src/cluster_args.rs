//! The arguments of the commands that join or share a cluster (`--cluster URL` and how to
//! reach its NATS server: credentials, TLS), and the connection they make.
//!
//! Invariant: secrets are given as files (or in the URL), never as a flag's value, so that
//! they do not show in the process list; the connection holds paths, and the URL is printed
//! redacted (`fnhost_cluster::NatsUrl`).

use clap::Args;
use fnhost_cluster::{NatsConnection, NatsCredentials};
use std::path::PathBuf;

/// The NATS server of a cluster and how to prove who this host is to it.
#[derive(Args)]
pub(crate) struct ClusterArgs {
    /// The cluster's NATS server (started with JetStream): `nats://HOST:PORT`, `tls://...`
    /// for TLS; `nats://USER:PASSWORD@...` or `nats://TOKEN@...` carry credentials
    /// (docs/cluster.md, docs/security.md).
    #[arg(long, value_name = "URL")]
    pub(crate) cluster: Option<String>,
    /// A NATS credentials file (a user JWT and its NKey seed, as `nsc` writes it).
    #[arg(
        long,
        value_name = "FILE",
        requires = "cluster",
        group = "nats_credentials"
    )]
    nats_creds: Option<PathBuf>,
    /// A file holding the NKey seed (`SU...`) the host signs in with.
    #[arg(
        long,
        value_name = "FILE",
        requires = "cluster",
        group = "nats_credentials"
    )]
    nats_nkey: Option<PathBuf>,
    /// A file holding the token the host signs in with.
    #[arg(
        long,
        value_name = "FILE",
        requires = "cluster",
        group = "nats_credentials"
    )]
    nats_token_file: Option<PathBuf>,
    /// The NATS user the host signs in as (its password in `--nats-password-file`).
    #[arg(
        long,
        value_name = "USER",
        requires_all = ["cluster", "nats_password_file"],
        group = "nats_credentials"
    )]
    nats_user: Option<String>,
    /// A file holding the password of `--nats-user`.
    #[arg(long, value_name = "FILE", requires = "nats_user")]
    nats_password_file: Option<PathBuf>,
    /// A PEM file of the certificate authorities that signed the server's certificate
    /// (default: the system's); implies TLS.
    #[arg(long, value_name = "FILE", requires = "cluster")]
    nats_ca: Option<PathBuf>,
    /// A PEM client certificate, for a server that verifies its clients (with `--nats-key`);
    /// implies TLS.
    #[arg(long, value_name = "FILE", requires_all = ["cluster", "nats_key"])]
    nats_cert: Option<PathBuf>,
    /// The PEM key of `--nats-cert`.
    #[arg(long, value_name = "FILE", requires = "nats_cert")]
    nats_key: Option<PathBuf>,
}

impl ClusterArgs {
    /// The connection the flags describe, when `--cluster` was given.
    pub(crate) fn connection(self) -> Option<NatsConnection> {
        let url = self.cluster?;
        let credentials = if let Some(file) = self.nats_creds {
            Some(NatsCredentials::CredsFile(file))
        } else if let Some(file) = self.nats_nkey {
            Some(NatsCredentials::NkeyFile(file))
        } else if let Some(file) = self.nats_token_file {
            Some(NatsCredentials::TokenFile(file))
        } else {
            self.nats_user
                .zip(self.nats_password_file)
                .map(|(user, file)| NatsCredentials::Password { user, file })
        };
        Some(NatsConnection {
            credentials,
            ca: self.nats_ca,
            client_certificate: self.nats_cert.zip(self.nats_key),
            ..NatsConnection::new(url)
        })
    }
}
