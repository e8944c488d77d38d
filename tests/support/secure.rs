//! A broker of the test's own with TLS and SASL listeners (`scripts/kafka/kafka.sh up` with
//! `KAFKA_SSL_PORT`, `KAFKA_SASL_SSL_PORT`), stopped when dropped. Its four ports (PLAINTEXT,
//! controller, SSL with a client certificate required, SASL_SSL) start at
//! `KAFKA_SECURE_PORT_BASE` when set, else are free ports picked at start.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;

/// The SCRAM user `kafka.sh` creates.
pub const SCRAM_USER: &str = "alice";
/// Its password.
pub const SCRAM_PASSWORD: &str = "alice-secret";

pub struct SecureBroker {
    env: Vec<(String, String)>,
    running: bool,
    /// The PLAINTEXT listener (for test set-up only).
    pub plaintext: String,
    /// The mTLS listener.
    pub ssl: String,
    /// The SASL_SSL (SCRAM-SHA-512) listener.
    pub sasl_ssl: String,
    /// ca.pem, other-ca.pem, client.pem, client.key.
    pub tls_dir: PathBuf,
}

impl SecureBroker {
    pub fn start() -> SecureBroker {
        SecureBroker::start_with(&[])
    }

    /// A broker whose SCRAM user is refused everything no ACL grants it (`KAFKA_AUTHORIZER=1`).
    pub fn start_with_acls() -> SecureBroker {
        SecureBroker::start_with(&[("KAFKA_AUTHORIZER", "1")])
    }

    fn start_with(extra: &[(&str, &str)]) -> SecureBroker {
        let ports = ports();
        let env: Vec<(String, String)> = [
            "KAFKA_PORT",
            "KAFKA_CONTROLLER_PORT",
            "KAFKA_SSL_PORT",
            "KAFKA_SASL_SSL_PORT",
        ]
        .into_iter()
        .zip(ports)
        .map(|(k, v)| (k.to_owned(), v.to_string()))
        .chain([(
            "KAFKA_RUN_DIR".to_owned(),
            format!("/tmp/activejob-karafka-secure-{}", ports[0]),
        )])
        .chain(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
        let out = kafka_sh(&env, "up");
        let value = |name: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=")))
                .unwrap_or_else(|| panic!("kafka.sh up printed no {name}:\n{out}"))
                .to_owned()
        };
        SecureBroker {
            plaintext: value("KAFKA_BOOTSTRAP_SERVERS"),
            ssl: value("KAFKA_SSL_BOOTSTRAP"),
            sasl_ssl: value("KAFKA_SASL_SSL_BOOTSTRAP"),
            tls_dir: PathBuf::from(value("KAFKA_TLS_DIR")),
            env,
            running: true,
        }
    }

    /// A file of the TLS directory, as a string.
    pub fn tls(&self, file: &str) -> String {
        self.tls_dir.join(file).display().to_string()
    }

    /// Client settings for the mTLS listener, trusting `ca` (a file of the TLS directory),
    /// with the client certificate when `client_cert`.
    pub fn ssl_settings(&self, ca: &str, client_cert: bool) -> Vec<(String, String)> {
        let mut s = vec![
            ("security.protocol".to_owned(), "ssl".to_owned()),
            ("ssl.ca.location".to_owned(), self.tls(ca)),
        ];
        if client_cert {
            s.push((
                "ssl.certificate.location".to_owned(),
                self.tls("client.pem"),
            ));
            s.push(("ssl.key.location".to_owned(), self.tls("client.key")));
        }
        s
    }

    /// Client settings for the SASL_SSL listener with `password`.
    pub fn sasl_settings(&self, password: &str) -> Vec<(String, String)> {
        vec![
            ("security.protocol".to_owned(), "sasl_ssl".to_owned()),
            ("ssl.ca.location".to_owned(), self.tls("ca.pem")),
            ("sasl.mechanism".to_owned(), "SCRAM-SHA-512".to_owned()),
            ("sasl.username".to_owned(), SCRAM_USER.to_owned()),
            ("sasl.password".to_owned(), password.to_owned()),
        ]
    }

    /// Creates a topic through the PLAINTEXT listener.
    pub async fn create_topic(&self, name: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.plaintext)
            .create()
            .expect("admin client");
        let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
        let results = admin
            .create_topics(
                &[topic],
                &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
            )
            .await
            .expect("create_topics");
        for r in results {
            r.expect("topic created");
        }
    }

    /// Stops the broker (its clients then see it down).
    pub fn stop(&mut self) {
        if std::mem::take(&mut self.running) {
            kafka_sh(&self.env, "down");
        }
    }
}

impl Drop for SecureBroker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Four ports: from `KAFKA_SECURE_PORT_BASE` on when it is set, else free ones the system
/// picks (so that test runs side by side on one machine do not collide).
fn ports() -> [u16; 4] {
    if let Some(base) = std::env::var("KAFKA_SECURE_PORT_BASE")
        .ok()
        .and_then(|v| v.parse::<u16>().ok())
    {
        return [base, base + 1, base + 2, base + 3];
    }
    // Held together until all four are known, so that none is handed out twice.
    let listeners: Vec<std::net::TcpListener> = (0..4)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    let port = |i: usize| listeners[i].local_addr().expect("bound").port();
    [port(0), port(1), port(2), port(3)]
}

fn kafka_sh(env: &[(String, String)], command: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/kafka/kafka.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(command)
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("running scripts/kafka/kafka.sh");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "kafka.sh {command} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
