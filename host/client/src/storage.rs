//! The server's dicts and queues (`/v1/dicts`, `/v1/queues`, docs/server.md), typed as the
//! library's and the guest SDK's are: a [`Dict<K, V>`] of JSON keys to JSON values, a
//! [`Queue<T>`] of JSON items. The same objects every app of the server reaches, so a remote
//! program reads what functions wrote and feeds them work.
//!
//! Invariant: keys, values and items are encoded as the library encodes them (JSON), and an
//! error keeps the server's kind (`not-found`, `full`, ...), as [`ClientError::from_answer`]
//! reads it.

use crate::{Client, ClientError};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::marker::PhantomData;
use std::time::Duration;

/// How many entries one page of `items` asks for.
const PAGE: u32 = 1000;

/// What a dict's handle is typed by, without owning keys or values.
type Entry<K, V> = fn(K, V) -> (K, V);

/// A dict of the server: keys `K` to values `V`. Cheap to clone; nothing is sent until a
/// method is called.
pub struct Dict<K, V> {
    client: Client,
    name: String,
    types: PhantomData<Entry<K, V>>,
}

impl<K, V> Clone for Dict<K, V> {
    fn clone(&self) -> Self {
        Dict {
            client: self.client.clone(),
            name: self.name.clone(),
            types: PhantomData,
        }
    }
}

/// A queue of the server: partitions of items `T`. Cheap to clone.
pub struct Queue<T> {
    client: Client,
    name: String,
    types: PhantomData<fn(T) -> T>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue {
            client: self.client.clone(),
            name: self.name.clone(),
            types: PhantomData,
        }
    }
}

impl Client {
    /// The dict `name` of the server (made by the first `put` when missing).
    pub fn dict<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned>(
        &self,
        name: &str,
    ) -> Dict<K, V> {
        Dict {
            client: self.clone(),
            name: name.to_owned(),
            types: PhantomData,
        }
    }

    /// The queue `name` of the server (made by the first `put` when missing).
    pub fn queue<T: Serialize + DeserializeOwned>(&self, name: &str) -> Queue<T> {
        Queue {
            client: self.clone(),
            name: name.to_owned(),
            types: PhantomData,
        }
    }

    /// The names of the server's dicts.
    pub async fn dicts(&self) -> Result<Vec<String>, ClientError> {
        self.names("dicts").await
    }

    /// The names of the server's queues.
    pub async fn queues(&self) -> Result<Vec<String>, ClientError> {
        self.names("queues").await
    }

    pub(crate) async fn names(&self, kind: &str) -> Result<Vec<String>, ClientError> {
        let request = self.request(Method::GET, self.endpoint(&["v1", kind]));
        let response = self.send(request, &[StatusCode::OK]).await?;
        let listed: Value = self.json(response).await?;
        decode("the names", listed[kind].clone())
    }

    /// Removes the object `name` of `kind` (`dicts`, `queues`, `volumes`).
    pub(crate) async fn remove(&self, kind: &str, name: &str) -> Result<(), ClientError> {
        let request = self.request(Method::DELETE, self.endpoint(&["v1", kind, name]));
        self.send(request, &[StatusCode::NO_CONTENT])
            .await
            .map(drop)
    }

    /// `POST /v1/{kind}/{name}/{operation}` with `body`, expecting `expected`; the JSON answer
    /// (`null` for none).
    async fn post(
        &self,
        path: [&str; 4],
        body: &Value,
        expected: StatusCode,
    ) -> Result<Value, ClientError> {
        let request = self.request(Method::POST, self.endpoint(&path)).json(body);
        let response = self.send(request, &[expected]).await?;
        if expected == StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        self.json(response).await
    }
}

fn encode(what: &str, value: &impl Serialize) -> Result<Value, ClientError> {
    serde_json::to_value(value)
        .map_err(|error| ClientError::Payload(format!("cannot encode {what}: {error}")))
}

pub(crate) fn decode<T: DeserializeOwned>(what: &str, value: Value) -> Result<T, ClientError> {
    serde_json::from_value(value)
        .map_err(|error| ClientError::Payload(format!("cannot decode {what}: {error}")))
}

/// The value of a `{"found", "value"}` answer.
fn found<V: DeserializeOwned>(answer: Value) -> Result<Option<V>, ClientError> {
    match answer["found"].as_bool() {
        Some(true) => decode("a value", answer["value"].clone()).map(Some),
        _ => Ok(None),
    }
}

impl<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned> Dict<K, V> {
    async fn operation(
        &self,
        operation: &str,
        body: Value,
        expected: StatusCode,
    ) -> Result<Value, ClientError> {
        let path = ["v1", "dicts", self.name.as_str(), operation];
        self.client.post(path, &body, expected).await
    }

    /// The value of `key`, if present.
    pub async fn get(&self, key: &K) -> Result<Option<V>, ClientError> {
        let body = json!({"key": encode("the key", key)?});
        found(self.operation("get", body, StatusCode::OK).await?)
    }

    /// Sets `key` to `value`; `true` (it always writes).
    pub async fn put(&self, key: &K, value: &V) -> Result<bool, ClientError> {
        self.write(key, value, false).await
    }

    /// Sets `key` to `value` only when `key` is absent, atomically (Modal's
    /// `put(skip_if_exists=True)`); whether it wrote.
    pub async fn put_if_absent(&self, key: &K, value: &V) -> Result<bool, ClientError> {
        self.write(key, value, true).await
    }

    async fn write(&self, key: &K, value: &V, skip_if_exists: bool) -> Result<bool, ClientError> {
        let body = json!({
            "key": encode("the key", key)?,
            "value": encode("the value", value)?,
            "skip_if_exists": skip_if_exists,
        });
        let answer = self.operation("put", body, StatusCode::OK).await?;
        Ok(answer["written"].as_bool().unwrap_or(false))
    }

    /// Removes `key` and returns its value, if it was present.
    pub async fn pop(&self, key: &K) -> Result<Option<V>, ClientError> {
        let body = json!({"key": encode("the key", key)?});
        found(self.operation("pop", body, StatusCode::OK).await?)
    }

    /// How many entries it holds.
    pub async fn len(&self) -> Result<u64, ClientError> {
        let url = self.client.endpoint(&["v1", "dicts", &self.name]);
        let response = self
            .client
            .send(self.client.request(Method::GET, url), &[StatusCode::OK])
            .await?;
        let described: Value = self.client.json(response).await?;
        Ok(described["len"].as_u64().unwrap_or(0))
    }

    /// Whether it holds no entry.
    pub async fn is_empty(&self) -> Result<bool, ClientError> {
        Ok(self.len().await? == 0)
    }

    /// Removes every entry.
    pub async fn clear(&self) -> Result<(), ClientError> {
        self.operation("clear", Value::Null, StatusCode::NO_CONTENT)
            .await
            .map(drop)
    }

    /// Removes the dict and every entry.
    pub async fn delete(&self) -> Result<(), ClientError> {
        self.client.remove("dicts", &self.name).await
    }

    /// Every entry, in the server's key order (read a page at a time).
    pub async fn items(&self) -> Result<Vec<(K, V)>, ClientError> {
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut url = self.client.endpoint(&["v1", "dicts", &self.name, "items"]);
            url.query_pairs_mut()
                .append_pair("limit", &PAGE.to_string());
            if let Some(after) = &after {
                url.query_pairs_mut().append_pair("after", after);
            }
            let request = self.client.request(Method::GET, url);
            let response = self.client.send(request, &[StatusCode::OK]).await?;
            let page: Value = self.client.json(response).await?;
            let entries: Vec<(Value, Value)> = decode("a page", page["items"].clone())?;
            for (key, value) in entries {
                items.push((decode("a key", key)?, decode("a value", value)?));
            }
            match &page["next"] {
                Value::Null => return Ok(items),
                next => after = Some(next.to_string()),
            }
        }
    }
}

/// Seconds of a wait as the API takes it.
fn seconds(wait: Option<Duration>) -> f64 {
    wait.map_or(0.0, |wait| wait.as_secs_f64())
}

impl<T: Serialize + DeserializeOwned> Queue<T> {
    async fn operation(
        &self,
        operation: &str,
        body: Value,
        expected: StatusCode,
    ) -> Result<Value, ClientError> {
        let path = ["v1", "queues", self.name.as_str(), operation];
        self.client.post(path, &body, expected).await
    }

    /// Appends `items` to `partition` (the default one when `None`), all or none, waiting up
    /// to `wait` (at most 60 s; none when `None`) for room, then `full`.
    pub async fn put_many(
        &self,
        items: &[T],
        partition: Option<&str>,
        wait: Option<Duration>,
    ) -> Result<(), ClientError> {
        let items = items
            .iter()
            .map(|item| encode("an item", item))
            .collect::<Result<Vec<_>, _>>()?;
        let body = json!({"items": items, "partition": partition, "timeout": seconds(wait)});
        self.operation("put", body, StatusCode::NO_CONTENT)
            .await
            .map(drop)
    }

    /// Appends `item` to the default partition.
    pub async fn put(&self, item: &T) -> Result<(), ClientError> {
        self.put_many(std::slice::from_ref(item), None, None).await
    }

    /// Removes and returns up to `n` items of `partition`, oldest first, waiting up to `wait`
    /// (at most 60 s; none when `None`) for the first: empty when none came.
    pub async fn get_many(
        &self,
        n: u32,
        partition: Option<&str>,
        wait: Option<Duration>,
    ) -> Result<Vec<T>, ClientError> {
        let body = json!({"n": n, "partition": partition, "timeout": seconds(wait)});
        let answer = self.operation("get", body, StatusCode::OK).await?;
        decode("the items", answer["items"].clone())
    }

    /// Removes and returns the oldest item of the default partition, waiting up to `wait`.
    pub async fn get(&self, wait: Option<Duration>) -> Result<Option<T>, ClientError> {
        Ok(self.get_many(1, None, wait).await?.into_iter().next())
    }

    /// How many items `partition` holds (the default one when `None`).
    pub async fn len(&self, partition: Option<&str>) -> Result<u64, ClientError> {
        self.count(partition.map(|partition| ("partition", partition)))
            .await
    }

    /// How many items every partition holds.
    pub async fn len_total(&self) -> Result<u64, ClientError> {
        self.count(Some(("total", "true"))).await
    }

    async fn count(&self, query: Option<(&str, &str)>) -> Result<u64, ClientError> {
        let mut url = self.client.endpoint(&["v1", "queues", &self.name]);
        if let Some((name, value)) = query {
            url.query_pairs_mut().append_pair(name, value);
        }
        let request = self.client.request(Method::GET, url);
        let response = self.client.send(request, &[StatusCode::OK]).await?;
        let answer: Value = self.client.json(response).await?;
        Ok(answer["len"].as_u64().unwrap_or(0))
    }

    /// Removes the items of `partition` (the default one when `None`).
    pub async fn clear(&self, partition: Option<&str>) -> Result<(), ClientError> {
        let body = json!({"partition": partition});
        self.operation("clear", body, StatusCode::NO_CONTENT)
            .await
            .map(drop)
    }

    /// Removes the queue and every item.
    pub async fn delete(&self) -> Result<(), ClientError> {
        self.client.remove("queues", &self.name).await
    }

    /// Removes the items of every partition.
    pub async fn clear_all(&self) -> Result<(), ClientError> {
        let body = json!({"all": true});
        self.operation("clear", body, StatusCode::NO_CONTENT)
            .await
            .map(drop)
    }
}
