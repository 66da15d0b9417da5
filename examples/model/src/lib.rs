//! A model served the way Modal serves one: a class whose snap `enter` hook builds a large
//! table once (captured in a snapshot every container starts from), whose other `enter` hook
//! runs once per container, with a parametrized `predict`, a batched `embed` and a generator
//! `tokens`. `fnhost run examples/model` calls `predict` 100 times and prints how many
//! containers served and how many times a container entered: each enters exactly once.

use fnhost_guest::{Error, Parameters, app, class, local_entrypoint};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

thread_local! {
    /// How many times this container ran `Model`'s per-container `enter` hook.
    static ENTERS: Cell<u32> = const { Cell::new(0) };
}

/// The words `tokens` yields.
const WORDS: [&str; 8] = [
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dogs",
];

/// A model of `size` weights.
#[derive(Default, Serialize, Deserialize, Parameters)]
pub struct Model {
    /// How many weights the table holds.
    pub size: u64,
    #[serde(skip)]
    weights: Vec<u64>,
    /// This container's random id.
    #[serde(skip)]
    container: u64,
}

#[class(max_containers = 4)]
impl Model {
    /// Builds the table: ~200 ms of work, done once and captured in the snapshot.
    #[enter(snap = true)]
    fn load(&mut self) {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        self.weights = (0..self.size)
            .map(|_| {
                // xorshift64*: deterministic, cheap, enough to keep the optimizer honest.
                for _ in 0..80 {
                    state ^= state >> 12;
                    state ^= state << 25;
                    state ^= state >> 27;
                }
                state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40
            })
            .collect();
    }

    /// Runs in every container, after it started from the snapshot.
    #[enter]
    fn connect(&mut self) {
        ENTERS.set(ENTERS.get() + 1);
        self.container = RandomState::new().hash_one(self.size);
    }

    /// A prediction for `x`, with the container that made it and how many times that
    /// container entered.
    #[method]
    fn predict(&self, x: u64) -> (u64, u64, u32) {
        let weight = self.weights[(x % self.size.max(1)) as usize];
        (weight.wrapping_mul(x) % 1000, self.container, ENTERS.get())
    }

    /// An embedding of each text, gathered in batches of up to 16.
    #[method(batched(max_batch_size = 16, wait_ms = 10))]
    fn embed(&self, texts: Vec<String>) -> Vec<Vec<u64>> {
        texts
            .iter()
            .map(|text| {
                text.bytes()
                    .take(4)
                    .map(|byte| self.weights[byte as usize % self.weights.len().max(1)] % 100)
                    .collect()
            })
            .collect()
    }

    /// `n` tokens, one at a time.
    #[method]
    fn tokens(&self, n: u32) -> impl Iterator<Item = String> {
        (0..n as usize).map(|i| WORDS[i % WORDS.len()].to_owned())
    }
}

#[local_entrypoint]
fn main() -> Result<(), Error> {
    let model = Model {
        size: 1 << 20,
        ..Default::default()
    }
    .handle();
    let mut enters = HashMap::new();
    let mut total = 0;
    for x in 0..100 {
        let (prediction, container, entered) = model.predict.remote(x)?;
        total += prediction;
        enters.insert(container, entered);
    }
    println!("predict: 100 calls, predictions summing to {total}");
    let embedding = model.embed.remote("hello".to_owned())?;
    println!("embed: {embedding:?}");
    let tokens: Vec<String> = model.tokens.remote_gen(5).collect::<Result<_, _>>()?;
    println!("tokens: {}", tokens.join(" "));
    let containers = model.predict.stats()?.containers_started;
    println!(
        "containers: {containers}, enters: {}",
        enters.values().sum::<u32>()
    );
    Ok(())
}

app!(main; classes: Model);
