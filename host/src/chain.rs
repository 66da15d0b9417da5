//! Call chains: which calls led to an input, so that runaway recursion stops with a clear error
//! and a chain that comes back to a function whose containers its callers hold cannot deadlock.
//!
//! Every input carries the chain of its callers (none for a call from the host API). A
//! container knows the chains of the inputs it runs; a call it makes extends the deepest of
//! them. For a blocking body (one input per instance) that is exactly the caller's chain. An
//! async body interleaves inputs on one instance and the host cannot tell which of its tasks
//! made a call, so the call is charged to the deepest input running there: the depth limit is
//! then conservative, never lax.
//!
//! The limit is [`DEFAULT_MAX_CALL_DEPTH`] nested calls, or `FNHOST_MAX_CALL_DEPTH`.

use crate::Error;
use crate::settings::count_from_env;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// How many calls may nest, unless `FNHOST_MAX_CALL_DEPTH` says otherwise.
pub const DEFAULT_MAX_CALL_DEPTH: usize = 64;

/// One input's place in its call chain: its function, and the input that called it.
#[derive(Debug)]
pub(crate) struct Frame {
    function: Arc<str>,
    /// How many calls led here: 1 for a call from the host API.
    depth: usize,
    caller: Option<Chain>,
}

/// The chain of calls that led to an input, innermost first.
pub(crate) type Chain = Arc<Frame>;

impl Frame {
    /// The frame of a local entrypoint's run: its calls are at depth 1.
    pub(crate) fn root(function: &str) -> Chain {
        Arc::new(Frame {
            function: Arc::from(function),
            depth: 0,
            caller: None,
        })
    }

    /// The frame of an input of `function` called from `caller`, or why the call may not nest
    /// that deep.
    pub(crate) fn called(function: &Arc<str>, caller: Option<&Chain>) -> Result<Chain, Error> {
        let depth = caller.map_or(1, |caller| caller.depth + 1);
        let frame = Frame {
            function: Arc::clone(function),
            depth,
            caller: caller.cloned(),
        };
        if depth > max_call_depth() {
            return Err(Error::TooDeep(format!(
                "{} ({depth} nested calls; the limit is {})",
                frame.render(),
                max_call_depth()
            )));
        }
        Ok(Arc::new(frame))
    }

    /// Whether `function` is running further up this chain: a call to it then waits for a
    /// container its own callers may be holding.
    pub(crate) fn reenters(&self, function: &str) -> bool {
        let mut frame = self.caller.as_deref();
        while let Some(caller) = frame {
            if &*caller.function == function {
                return true;
            }
            frame = caller.caller.as_deref();
        }
        false
    }

    /// The chain outermost first, `a → b → c`, with runs of one function folded (`f ×12`).
    fn render(&self) -> String {
        let mut names = Vec::new();
        let mut frame = Some(self);
        while let Some(current) = frame {
            names.push(&*current.function);
            frame = current.caller.as_deref();
        }
        names.reverse();
        let mut runs: Vec<(&str, usize)> = Vec::new();
        for name in names {
            match runs.last_mut() {
                Some((last, count)) if *last == name => *count += 1,
                _ => runs.push((name, 1)),
            }
        }
        runs.iter()
            .map(|(name, count)| match count {
                1 => (*name).to_owned(),
                _ => format!("{name} ×{count}"),
            })
            .collect::<Vec<_>>()
            .join(" → ")
    }
}

/// The chains of the inputs a container runs, and the deepest of them, which the calls the
/// container makes extend.
#[derive(Default)]
pub(crate) struct Callers {
    running: HashMap<u64, Chain>,
    deepest: Option<(u64, Chain)>,
}

impl Callers {
    /// Input `slot`, called through `frame`, starts.
    pub(crate) fn start(&mut self, slot: u64, frame: Chain) {
        if self
            .deepest
            .as_ref()
            .is_none_or(|(_, deepest)| deepest.depth < frame.depth)
        {
            self.deepest = Some((slot, Arc::clone(&frame)));
        }
        self.running.insert(slot, frame);
    }

    /// Input `slot` finished.
    pub(crate) fn finish(&mut self, slot: u64) {
        self.running.remove(&slot);
        if self
            .deepest
            .as_ref()
            .is_some_and(|(deepest, _)| *deepest == slot)
        {
            self.deepest = self
                .running
                .iter()
                .max_by_key(|(_, frame)| frame.depth)
                .map(|(slot, frame)| (*slot, Arc::clone(frame)));
        }
    }

    /// The chain a call made from this container extends.
    pub(crate) fn deepest(&self) -> Option<&Chain> {
        self.deepest.as_ref().map(|(_, frame)| frame)
    }
}

/// The call depth limit: [`DEFAULT_MAX_CALL_DEPTH`], or `FNHOST_MAX_CALL_DEPTH`.
fn max_call_depth() -> usize {
    static LIMIT: OnceLock<usize> = OnceLock::new();
    *LIMIT.get_or_init(|| count_from_env("FNHOST_MAX_CALL_DEPTH", DEFAULT_MAX_CALL_DEPTH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_render_outermost_first_and_fold_runs() {
        let name = |name: &str| Arc::<str>::from(name);
        let main = Frame::root("main");
        let a = Frame::called(&name("a"), Some(&main)).unwrap();
        let mut chain = a.clone();
        for _ in 0..3 {
            chain = Frame::called(&name("f"), Some(&chain)).unwrap();
        }
        let b = Frame::called(&name("b"), Some(&chain)).unwrap();
        assert_eq!(b.render(), "main → a → f ×3 → b");
        assert_eq!(b.depth, 5);
        assert!(b.reenters("a") && b.reenters("f") && !b.reenters("b"));
    }

    #[test]
    fn the_call_past_the_limit_fails_and_names_the_chain() {
        let f = Arc::<str>::from("f");
        let mut chain = Frame::called(&f, None).unwrap();
        for _ in 1..DEFAULT_MAX_CALL_DEPTH {
            chain = Frame::called(&f, Some(&chain)).unwrap();
        }
        assert_eq!(chain.depth, DEFAULT_MAX_CALL_DEPTH);
        let Err(Error::TooDeep(message)) = Frame::called(&Arc::from("g"), Some(&chain)) else {
            panic!("the call past the limit went through");
        };
        assert_eq!(
            message,
            format!(
                "f ×{DEFAULT_MAX_CALL_DEPTH} → g ({} nested calls; the limit is {DEFAULT_MAX_CALL_DEPTH})",
                DEFAULT_MAX_CALL_DEPTH + 1
            )
        );
    }
}
