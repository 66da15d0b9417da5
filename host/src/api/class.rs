//! Handles to a class and its instances (Modal's `Model(size=3).predict.remote(2)`): a
//! [`Class`] names the class, an [`Instance`] a set of parameter values, and each method of an
//! instance is a [`Function`] handle like any other, whose calls run on the containers of that
//! instance's pool.

use crate::Error;
use crate::api::function::Function;
use crate::dispatch::Dispatch;
use crate::info::ClassInfo;
use crate::pool::class::ClassPools;
use crate::pool::{Pool, PoolStats};
use crate::retained::CallStore;
use serde_json::Value;
use std::sync::Arc;

/// A handle to a class of an [`App`](crate::App). Cheap to clone.
#[derive(Clone)]
pub struct Class {
    app: Arc<dyn Dispatch>,
    pools: Arc<ClassPools>,
    calls: Arc<CallStore>,
}

/// A class with a set of parameter values: what `Model(size=3)` is in Modal. Its containers
/// each build the instance from the values once, before their first input. Cheap to clone.
#[derive(Clone)]
pub struct Instance {
    app: Arc<dyn Dispatch>,
    pool: Arc<Pool>,
    class: Arc<ClassPools>,
    calls: Arc<CallStore>,
}

impl Class {
    pub(crate) fn new(
        app: Arc<dyn Dispatch>,
        pools: Arc<ClassPools>,
        calls: Arc<CallStore>,
    ) -> Self {
        Class { app, pools, calls }
    }

    /// What the class's component says of it.
    pub fn info(&self) -> &ClassInfo {
        self.pools.info()
    }

    /// The instance built from `params`, a JSON object of parameter values by name (`null`:
    /// none given; those left out take the class's defaults in the guest). Names the class
    /// lacks, and values past 16 KiB encoded, fail with [`Error::BadArguments`]; a value of
    /// the wrong type fails the calls, when a container builds the instance.
    pub fn instance(&self, params: Value) -> Result<Instance, Error> {
        let params = self.info().parameters(Some(params))?;
        Ok(Instance {
            app: Arc::clone(&self.app),
            pool: self.pools.pool(params)?,
            class: Arc::clone(&self.pools),
            calls: Arc::clone(&self.calls),
        })
    }
}

impl Instance {
    /// A handle to the method `name` (without the class's name: `predict`) of this instance.
    pub fn method(&self, name: &str) -> Result<Function, Error> {
        let full = format!("{}.{name}", self.class.info().name);
        let method = self.class.info().method(&full)?.clone();
        Ok(Function::new(
            Arc::clone(&self.app),
            Arc::clone(&self.pool),
            Arc::clone(&self.calls),
        )
        .for_method(method))
    }

    /// The counters of this instance's pool of containers.
    pub fn stats(&self) -> PoolStats {
        self.pool.stats()
    }
}
