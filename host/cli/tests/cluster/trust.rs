//! The cluster's trust: hosts joining a real `nats-server` that requires TLS, client
//! certificates and credentials (started with the shipped `examples/cluster/nats-server.conf`,
//! certificates and NKeys made here), and what a client with other credentials cannot do; a
//! token server; credentials never printed.

use super::support::{Server, fnhost, scratch_dir, stderr};
use super::{APP, client, deploy, eventually, remove};
use fnhost_client::FunctionCall;
use fnhost_tests::nats::NatsServer;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

/// The password of the hosts' NATS user: symbols and spaces.
const HOST_PASSWORD: &str = "h0st pa55:/@#%&!word";
/// The password of a user of another account.
const OTHER_PASSWORD: &str = "other-secret-4711";

/// The PEM files of a CA, a server certificate for 127.0.0.1 and a client certificate, made
/// fresh for one test.
struct Pki {
    ca: PathBuf,
    server: (PathBuf, PathBuf),
    client: (PathBuf, PathBuf),
}

impl Pki {
    fn make(dir: &Path) -> Pki {
        std::fs::create_dir_all(dir).unwrap();
        let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "fnhost test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let leaf = |name: &str, names: Vec<String>, usage: ExtendedKeyUsagePurpose| {
            let mut params = CertificateParams::new(names).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            params.extended_key_usages = vec![usage];
            let key = KeyPair::generate().unwrap();
            let certificate = params.signed_by(&key, &ca).unwrap();
            (
                write(&format!("{name}.pem"), certificate.pem()),
                write(&format!("{name}-key.pem"), key.serialize_pem()),
            )
        };
        Pki {
            server: leaf(
                "server",
                vec!["127.0.0.1".into(), "localhost".into()],
                ExtendedKeyUsagePurpose::ServerAuth,
            ),
            client: leaf("host", Vec::new(), ExtendedKeyUsagePurpose::ClientAuth),
            ca: write("ca.pem", ca.pem()),
        }
    }

    /// `--nats-ca`, `--nats-cert`, `--nats-key` for a host.
    fn host_flags(&self) -> Vec<String> {
        [
            "--nats-ca",
            path(&self.ca),
            "--nats-cert",
            path(&self.client.0),
            "--nats-key",
            path(&self.client.1),
        ]
        .map(str::to_owned)
        .to_vec()
    }
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `fnhost serve --cluster URL ARGS...` that must fail: its stderr.
fn refused_join(dir: &Path, url: &str, args: &[&str]) -> String {
    let state = dir.join("refused");
    let mut all = vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--state-dir",
        path(&state),
        "--cluster",
        url,
    ];
    all.extend_from_slice(args);
    let output = fnhost(&all);
    assert!(!output.status.success(), "joined with {args:?}");
    stderr(&output)
}

/// Hosts with a password and with an NKey, over mutual TLS, deploy, call and read results
/// across the cluster; a wrong password, a missing client certificate, plain text and another
/// account are all refused, and no secret is ever printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_hosts_with_the_clusters_credentials_and_certificates_join_it() {
    let dir = scratch_dir("cluster-trust");
    let pki = Pki::make(&dir.join("pki"));
    let nkey = nkeys::KeyPair::new_user();
    let password_file = write(&dir, "host.password", &format!("{HOST_PASSWORD}\n"));
    let nkey_file = write(&dir, "host.nk", &nkey.seed().unwrap());
    let config = fnhost_tests::workspace().join("examples/cluster/nats-server.conf");
    let nkey_public = nkey.public_key();
    let nats = NatsServer::start_with(
        &dir.join("nats"),
        &["-c", path(&config)],
        &[
            ("FNHOST_NATS_TLS_CERT", path(&pki.server.0)),
            ("FNHOST_NATS_TLS_KEY", path(&pki.server.1)),
            ("FNHOST_NATS_TLS_CA", path(&pki.ca)),
            // nats-server parses a variable as a value of its configuration: quoted, a string.
            ("FNHOST_NATS_HOST_PASSWORD", &format!("\"{HOST_PASSWORD}\"")),
            ("FNHOST_NATS_HOST_NKEY", &nkey_public),
            ("FNHOST_NATS_OTHER_PASSWORD", OTHER_PASSWORD),
        ],
    );
    let url = format!("tls://127.0.0.1:{}", nats.port());
    let tls = pki.host_flags();
    let tls: Vec<&str> = tls.iter().map(String::as_str).collect();
    let host = |name: &str, credentials: &[&str]| {
        let mut args = vec!["--cluster", &url, "--host-name", name];
        args.extend_from_slice(credentials);
        args.extend_from_slice(&tls);
        Server::start(&dir.join(name), &args)
    };
    let one = host(
        "one",
        &[
            "--nats-user",
            "host",
            "--nats-password-file",
            path(&password_file),
        ],
    );
    let two = host("two", &["--nats-nkey", path(&nkey_file)]);
    deploy(&one);
    let (first, second) = (client(&one), client(&two));
    eventually(
        "the deploy reaches the host signed in with an NKey",
        async || second.app(APP).await.ok().map(drop),
    )
    .await;
    let double = second.function_in(APP, "double");
    assert_eq!(double.remote::<u64>((0, 21)).await.unwrap(), 42);
    let spawned = double.spawn::<u64>((0, 4)).await.unwrap();
    let read = FunctionCall::<u64>::from_id(&first, spawned.id()).unwrap();
    assert_eq!(read.get().await.unwrap(), 8);
    // The cluster's state too: a dict and a queue written on one host, read on the other.
    let written = first.dict::<String, u64>("trusted");
    written.put(&"answer".into(), &42).await.unwrap();
    let dict = second.dict::<String, u64>("trusted");
    assert_eq!(dict.get(&"answer".into()).await.unwrap(), Some(42));
    first.queue::<u64>("trusted").put(&7).await.unwrap();
    let queue = second.queue::<u64>("trusted");
    assert_eq!(queue.get(None).await.unwrap(), Some(7));
    assert_eq!(
        nats.permission_violations(),
        Vec::<String>::new(),
        "the example configuration denies the hosts something they use"
    );

    // Whoever lacks one of the three is refused, and told so without the secret.
    let password_flags = ["--nats-user", "host", "--nats-password-file"];
    let wrong = write(&dir, "wrong.password", "not-the-password");
    let mut args = password_flags.to_vec();
    args.push(path(&wrong));
    args.extend_from_slice(&tls);
    let refused = refused_join(&dir, &url, &args);
    assert!(refused.contains("authorization violation"), "{refused}");
    let in_url = format!("tls://host:{OTHER_PASSWORD}@127.0.0.1:{}", nats.port());
    let refused = refused_join(&dir, &in_url, &tls);
    assert!(
        !refused.contains(OTHER_PASSWORD) && refused.contains("tls://***@127.0.0.1"),
        "{refused}"
    );
    let mut no_certificate = password_flags.to_vec();
    no_certificate.extend([path(&password_file), "--nats-ca", path(&pki.ca)]);
    refused_join(&dir, &url, &no_certificate);
    let plain = format!("nats://127.0.0.1:{}", nats.port());
    let mut plain_args = password_flags.to_vec();
    plain_args.push(path(&password_file));
    refused_join(&dir, &plain, &plain_args);

    // Another account's user gets in, and finds nothing of the cluster's.
    let other = async_nats::ConnectOptions::new()
        .user_and_password("other".into(), OTHER_PASSWORD.into())
        .add_root_certificates(pki.ca.clone())
        .add_client_certificate(pki.client.0.clone(), pki.client.1.clone())
        .require_tls(true)
        .connect(&plain)
        .await
        .unwrap();
    let jetstream = async_nats::jetstream::new(other.clone());
    let results = jetstream.get_key_value("fnhost-results").await;
    assert!(results.is_err(), "another account reads the results");
    let apps = jetstream.get_key_value("fnhost-apps").await;
    assert!(apps.is_err(), "another account reads the deployments");
    // Its spawn never reaches the cluster's stream: the hosts' own connection sees it empty.
    other
        .publish("fnhost.spawn.fc-0000", "[0, 1]".into())
        .await
        .unwrap();
    other.flush().await.unwrap();
    let hosts = async_nats::ConnectOptions::with_nkey(nkey.seed().unwrap())
        .add_root_certificates(pki.ca.clone())
        .add_client_certificate(pki.client.0.clone(), pki.client.1.clone())
        .connect(&url)
        .await
        .unwrap();
    let mut spawns = async_nats::jetstream::new(hosts)
        .get_stream("FNHOST_SPAWNS")
        .await
        .unwrap();
    let info = spawns.info().await.unwrap();
    assert_eq!(
        info.state.messages, 0,
        "another account's publish reached the cluster's spawns"
    );
    // A host started with its credentials makes a cluster of its own account, apart.
    let other_password = write(&dir, "other.password", OTHER_PASSWORD);
    let joined_elsewhere = host(
        "other",
        &[
            "--nats-user",
            "other",
            "--nats-password-file",
            path(&other_password),
        ],
    );
    let elsewhere = client(&joined_elsewhere);
    assert!(
        elsewhere.app(APP).await.is_err(),
        "another account sees the cluster's app"
    );
    for server in [&one, &two, &joined_elsewhere] {
        let log = server.log();
        assert!(
            !log.contains(HOST_PASSWORD) && !log.contains(OTHER_PASSWORD),
            "a secret in the log: {log}"
        );
    }
    drop((one, two, joined_elsewhere));
    remove(&dir);
}

/// A server that takes a token: in the URL or from a file; a wrong one is refused, and the
/// error shows the URL redacted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_in_the_url_or_a_file_joins_and_is_never_printed() {
    let dir = scratch_dir("cluster-token");
    let token = "t0ken_with-symbols!$&";
    let nats = NatsServer::start_with(&dir.join("nats"), &["--auth", token], &[]);
    let plain = format!("nats://127.0.0.1:{}", nats.port());
    let token_file = write(&dir, "token", token);
    let from_file = Server::start(
        &dir.join("one"),
        &[
            "--cluster",
            &plain,
            "--host-name",
            "one",
            "--nats-token-file",
            path(&token_file),
        ],
    );
    let in_url = format!("nats://{token}@127.0.0.1:{}", nats.port());
    let from_url = Server::start(
        &dir.join("two"),
        &["--cluster", &in_url, "--host-name", "two"],
    );
    deploy(&from_file);
    let second = client(&from_url);
    eventually(
        "the deploy reaches the host with the token in its URL",
        async || second.app(APP).await.ok().map(drop),
    )
    .await;
    let wrong = "wrong-token-0815";
    let refused = refused_join(
        &dir,
        &format!("nats://{wrong}@127.0.0.1:{}", nats.port()),
        &[],
    );
    assert!(
        !refused.contains(wrong) && refused.contains("nats://***@127.0.0.1"),
        "{refused}"
    );
    let missing = refused_join(&dir, &plain, &["--nats-token-file", "/nonexistent/token"]);
    assert!(missing.contains("/nonexistent/token"), "{missing}");
    for server in [&from_file, &from_url] {
        assert!(!server.log().contains(token), "{}", server.log());
    }
    drop((from_file, from_url));
    remove(&dir);
}

/// A NATS JWT (version 2) of `claims` (`nats` and the subject, name) signed by `issuer`, as
/// `nsc` makes them.
fn jwt(issuer: &nkeys::KeyPair, subject: &str, name: &str, nats: serde_json::Value) -> String {
    use base64::Engine;
    let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let header = encode(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let issued = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "jti": format!("{subject}-{issued}"),
        "iat": issued,
        "iss": issuer.public_key(),
        "name": name,
        "sub": subject,
        "nats": nats,
    });
    let claims = encode(claims.to_string().as_bytes());
    let signed = format!("{header}.{claims}");
    let signature = issuer.sign(signed.as_bytes()).unwrap();
    format!("{signed}.{}", encode(&signature))
}

/// A server in operator mode (an operator JWT, its account preloaded with JetStream on): a
/// host with the account user's `.creds` file (JWT and NKey seed) joins and serves; one with a
/// user of an account the operator never signed is refused, its credentials unprinted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creds_file_joins_a_server_in_operator_mode() {
    let dir = scratch_dir("cluster-creds");
    let operator = nkeys::KeyPair::new_operator();
    // JetStream needs the server's system account.
    let system = nkeys::KeyPair::new_account();
    let account = nkeys::KeyPair::new_account();
    let user = nkeys::KeyPair::new_user();
    let unlimited = serde_json::json!({
        "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
        "wildcards": true, "conn": -1, "leaf": -1,
        "mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1,
    });
    let operator_jwt = jwt(
        &operator,
        &operator.public_key(),
        "fnhost-operator",
        serde_json::json!({
            "type": "operator", "version": 2, "system_account": system.public_key(),
        }),
    );
    let system_jwt = jwt(
        &operator,
        &system.public_key(),
        "SYS",
        serde_json::json!({"type": "account", "version": 2}),
    );
    let account_jwt = jwt(
        &operator,
        &account.public_key(),
        "FNHOST",
        serde_json::json!({"type": "account", "version": 2, "limits": unlimited}),
    );
    let creds = |issuer: &nkeys::KeyPair, user: &nkeys::KeyPair| {
        let user_jwt = jwt(
            issuer,
            &user.public_key(),
            "host",
            serde_json::json!({
                "type": "user", "version": 2, "pub": {}, "sub": {},
                "subs": -1, "data": -1, "payload": -1,
            }),
        );
        format!(
            "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
             -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n",
            user.seed().unwrap()
        )
    };
    let operator_file = write(&dir, "operator.jwt", &operator_jwt);
    let config = write(
        &dir,
        "nats-server.conf",
        &format!(
            "operator: \"{}\"\nsystem_account: {}\nresolver: MEMORY\n\
             resolver_preload: {{\n  {}: \"{system_jwt}\"\n  {}: \"{account_jwt}\"\n}}\n",
            path(&operator_file),
            system.public_key(),
            system.public_key(),
            account.public_key()
        ),
    );
    let nats = NatsServer::start_with(&dir.join("nats"), &["-c", path(&config)], &[]);
    let url = format!("nats://127.0.0.1:{}", nats.port());
    let host_creds = write(&dir, "host.creds", &creds(&account, &user));
    let one = Server::start(
        &dir.join("one"),
        &[
            "--cluster",
            &url,
            "--host-name",
            "one",
            "--nats-creds",
            path(&host_creds),
        ],
    );
    deploy(&one);
    let double = client(&one).function_in(APP, "double");
    let spawned = double.spawn::<u64>((0, 4)).await.unwrap();
    assert_eq!(spawned.get().await.unwrap(), 8);

    // A user signed by an account the operator never signed.
    let stranger = nkeys::KeyPair::new_account();
    let stranger_user = nkeys::KeyPair::new_user();
    let stranger_creds = write(&dir, "stranger.creds", &creds(&stranger, &stranger_user));
    let refused = refused_join(&dir, &url, &["--nats-creds", path(&stranger_creds)]);
    assert!(
        refused.contains("authorization") && !refused.contains(&stranger_user.seed().unwrap()),
        "{refused}"
    );
    assert!(!one.log().contains(&user.seed().unwrap()), "{}", one.log());
    drop(one);
    remove(&dir);
}
