//! What the async and the thread sender offer in the same words: `Debug`
//! and the calls that never wait, forwarded to their [`Handle`](crate::Handle).

/// Defines `Debug` and the never-waiting calls (`send`, `push`,
/// `push_many`, `stats`) of a sender type `$name<R>` with a `handle` field,
/// for runtimes bound by `$bound`; `$never` says what it never does
/// ("waits", "blocks").
macro_rules! sender_surface {
    ($name:ident, $bound:ident, $never:literal) => {
        impl<R> fmt::Debug for $name<R> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct("Sender")
                    .field("stats", &self.handle.stats())
                    .finish()
            }
        }

        impl<R: $bound> $name<R> {
            #[doc = concat!("Buffers one datapoint (`timestamp: None` means now) and returns at once; it never ", $never, " for the network: a full buffer drops it (counted) under every policy. Use [`send_wait`](Self::send_wait) to wait for room instead.")]
            pub fn send(
                &self,
                metric: impl IntoMetricPath,
                value: impl IntoValue,
                timestamp: Option<i64>,
            ) -> Result<(), PushError> {
                self.handle.send(metric, value, timestamp)
            }

            #[doc = concat!("Buffers a datapoint already built (the cheapest path); never ", $never, ".")]
            pub fn push(&self, dp: &Datapoint) -> Result<(), PushError> {
                self.handle.push(dp)
            }

            #[doc = concat!("Buffers every datapoint of `batch` under one lock and one clock read; never ", $never, ". Each is accepted or dropped and counted as [`push`](Self::push) would; the error says how many were dropped and why the first was.")]
            pub fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
                self.handle.push_many(batch)
            }

            /// The counters.
            pub fn stats(&self) -> Stats {
                self.handle.stats()
            }
        }

        impl<R> $name<R> {
            pub(crate) fn handle(&self) -> &Handle {
                &self.handle
            }
        }
    };
}
