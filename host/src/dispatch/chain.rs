//! Call chains: which calls led to an input, so that runaway recursion stops with a clear error
//! and a chain that comes back to a function whose containers its callers hold cannot deadlock.
//!
//! Every input carries the chain of its callers (none for a call from the host API, which costs
//! nothing). A container knows the chains of the inputs it runs, each by the guest task (the
//! component model's) the input runs as; a call extends the chain of the input whose task made
//! it, exactly, however many inputs interleave on the container. A blocking `call` does not
//! see its task (it holds the whole instance); made from an async body running several inputs,
//! it is charged to the deepest of them: conservative there, never lax.
//!
//! A chain counts the inputs in it, the callee's included: a call from the host API is at
//! depth 1, a call a local entrypoint makes at depth 2. The limit is the host's
//! `max_call_depth` setting.

use crate::Error;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One input's place in its call chain: its function, and the input that called it.
#[derive(Debug)]
pub(crate) struct Frame {
    function: Arc<str>,
    /// How many inputs the chain holds up to this one: 1 for a call from the host API.
    depth: usize,
    /// Whether `depth` may count more than the real nesting: this frame, or one before it,
    /// was charged to the deepest of several inputs interleaved on an async container.
    approximate: bool,
    /// Whether this input waits for the call it makes: false for a spawn, whose caller goes
    /// on without it and so holds no container on its behalf.
    waits: bool,
    caller: Option<Chain>,
}

/// The chain of calls that led to an input, innermost first.
pub(crate) type Chain = Arc<Frame>;

impl Frame {
    /// The frame of an input of `function`, called through `caller`, that makes a call;
    /// `interleaved` when its container ran several inputs, `caller` being the deepest's.
    pub(crate) fn calling(function: &Arc<str>, caller: Option<&Chain>, interleaved: bool) -> Chain {
        Arc::new(Frame {
            function: Arc::clone(function),
            depth: caller.map_or(1, |caller| caller.depth.saturating_add(1)),
            approximate: interleaved || caller.is_some_and(|caller| caller.approximate),
            waits: true,
            caller: caller.cloned(),
        })
    }

    /// The chain of a spawn this input makes: the same callers, but its caller does not wait
    /// for it, so it never counts as coming back to a function whose containers wait for it
    /// (it queues within its pool's limit like any call); the depth still counts.
    pub(crate) fn spawning(&self) -> Chain {
        Arc::new(Frame {
            function: Arc::clone(&self.function),
            depth: self.depth,
            approximate: self.approximate,
            waits: false,
            caller: self.caller.clone(),
        })
    }

    /// The frame standing for the callers of a call that arrived from another host, `depth`
    /// inputs deep there: the depth limit holds across hosts; the callers' names stay there.
    pub(crate) fn elsewhere(depth: usize) -> Option<Chain> {
        (depth > 0).then(|| {
            Arc::new(Frame {
                function: Arc::from("(another host)"),
                depth,
                approximate: false,
                waits: true,
                caller: None,
            })
        })
    }

    /// How many inputs the chain holds, this one's included.
    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    /// Fails when a call of `callee` from `caller` would nest deeper than `limit`.
    pub(crate) fn check_depth(
        callee: &str,
        caller: Option<&Chain>,
        limit: usize,
    ) -> Result<(), Error> {
        let depth = caller.map_or(1, |caller| caller.depth.saturating_add(1));
        match caller {
            Some(caller) if depth > limit && caller.approximate => Err(Error::TooDeep(format!(
                "{} ({depth} nested calls counted; the limit is {limit}; a blocking call made \
                 in an async container is counted from the deepest input it runs)",
                caller.render(callee),
            ))),
            Some(caller) if depth > limit => Err(Error::TooDeep(format!(
                "{} ({depth} nested calls; the limit is {limit})",
                caller.render(callee),
            ))),
            _ => Ok(()),
        }
    }

    /// Whether `function` is in this chain among the callers that wait for it (up to a
    /// spawn): a call to it then may wait for a container its own callers are holding.
    pub(crate) fn includes(&self, function: &str) -> bool {
        let mut frame = Some(self);
        while let Some(current) = frame.filter(|current| current.waits) {
            if &*current.function == function {
                return true;
            }
            frame = current.caller.as_deref();
        }
        false
    }

    /// The chain outermost first, then `callee`: `a → b → callee`, with runs of one function
    /// folded (`f ×12`).
    pub(crate) fn render(&self, callee: &str) -> String {
        let mut names = vec![callee];
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

/// The chains of the inputs a container runs, ordered by depth: the deepest is the one the
/// calls the container makes extend.
#[derive(Default)]
pub(crate) struct Callers {
    running: BTreeMap<CallerKey, Chain>,
}

/// An input's place among [`Callers`]: its chain's depth, then its tag.
pub(crate) type CallerKey = (usize, u64);

impl Callers {
    /// Input `tag`, called through `caller` (`None`: from the host API, which is not kept),
    /// starts; returns the key to finish it with.
    pub(crate) fn start(&mut self, tag: u64, caller: Option<Chain>) -> Option<CallerKey> {
        let caller = caller?;
        let key = (caller.depth, tag);
        self.running.insert(key, caller);
        Some(key)
    }

    /// The input `start` gave `key` finished.
    pub(crate) fn finish(&mut self, key: Option<CallerKey>) {
        if let Some(key) = key {
            self.running.remove(&key);
        }
    }

    /// The chain a call made from this container extends.
    pub(crate) fn deepest(&self) -> Option<&Chain> {
        self.running.last_key_value().map(|(_, chain)| chain)
    }

    /// Whether several inputs with chains run here (the deepest then stands for them all).
    pub(crate) fn interleaved(&self) -> bool {
        self.running.len() > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_MAX_CALL_DEPTH: usize = 64;

    #[test]
    fn chains_render_outermost_first_and_fold_runs() {
        let name = |name: &str| Arc::<str>::from(name);
        let main = Frame::calling(&name("main"), None, false);
        let mut chain = Frame::calling(&name("a"), Some(&main), false);
        for _ in 0..3 {
            chain = Frame::calling(&name("f"), Some(&chain), false);
        }
        assert_eq!(chain.render("b"), "main → a → f ×3 → b");
        assert_eq!(chain.depth, 5);
        assert!(chain.includes("a") && chain.includes("f") && !chain.includes("b"));
    }

    #[test]
    fn a_spawn_comes_back_to_no_caller_that_waits_but_counts_its_depth() {
        let name = |name: &str| Arc::<str>::from(name);
        let main = Frame::calling(&name("main"), None, false);
        let f = Frame::calling(&name("f"), Some(&main), false);
        let spawned = f.spawning();
        assert!(!spawned.includes("f") && !spawned.includes("main"));
        assert_eq!(spawned.depth, f.depth);
        // The spawned input's own calls wait for theirs: its function is in their chains.
        let g = Frame::calling(&name("g"), Some(&spawned), false);
        assert!(g.includes("g") && !g.includes("f"));
        assert_eq!(g.render("h"), "main → f → g → h");
    }

    #[test]
    fn the_call_past_the_limit_fails_and_names_the_chain() {
        let f = Arc::<str>::from("f");
        let mut chain = Frame::calling(&f, None, false);
        for _ in 1..DEFAULT_MAX_CALL_DEPTH {
            chain = Frame::calling(&f, Some(&chain), false);
        }
        assert_eq!(chain.depth, DEFAULT_MAX_CALL_DEPTH);
        assert!(Frame::check_depth("g", chain.caller.as_ref(), DEFAULT_MAX_CALL_DEPTH).is_ok());
        let Err(Error::TooDeep(message)) =
            Frame::check_depth("g", Some(&chain), DEFAULT_MAX_CALL_DEPTH)
        else {
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

    #[test]
    fn a_chain_counted_over_interleaved_inputs_says_so() {
        let f = Arc::<str>::from("fork_aio");
        let root = Frame::calling(&f, None, false);
        let interleaved = Frame::calling(&f, Some(&root), true);
        let mut chain = Frame::calling(&f, Some(&interleaved), false);
        for _ in 0..3 {
            chain = Frame::calling(&f, Some(&chain), false);
        }
        let Err(Error::TooDeep(message)) = Frame::check_depth("fork_aio", Some(&chain), 4) else {
            panic!("the call past the limit went through");
        };
        assert!(message.contains("7 nested calls counted"), "{message}");
        assert!(message.contains("deepest input"), "{message}");
        let mut callers = Callers::default();
        callers.start(0, Some(Arc::clone(&root)));
        assert!(!callers.interleaved());
        callers.start(1, Some(root));
        assert!(callers.interleaved());
    }
}
