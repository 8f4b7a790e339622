//! Ordered parallel execution: workers take units of work in order, and their outputs reach
//! one consumer in that same order, with a bound on how far the workers may run ahead.
//!
//! This is what makes the output independent of the thread count (the consumer sees the
//! same sequence whatever the scheduling) while memory stays bounded (a worker whose output is
//! not the next one needed waits once the buffered outputs reach a bound: a count, or a total
//! weight). A unit may emit
//! several outputs (a compressed file streams one output per decompressed block); they keep
//! their order within the unit.
//!
//! Deadlock freedom: units are claimed in increasing order, so the unit whose output the
//! consumer needs next has always been claimed by a running worker, and that output is
//! always admitted to the buffer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

enum Item<T> {
    Data(T),
    /// The unit emitted all its outputs.
    End,
}

struct State<T> {
    /// The (unit, index-within-unit) the consumer needs next.
    next: (usize, usize),
    pending: BTreeMap<(usize, usize), (Item<T>, usize)>,
    /// The weight of the pending items.
    weight: usize,
}

/// The shared buffer between workers and the consumer.
struct Ordered<T> {
    state: Mutex<State<T>>,
    changed: Condvar,
    max_weight: usize,
}

impl<T> Ordered<T> {
    fn submit(&self, key: (usize, usize), item: Item<T>, weight: usize) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while s.weight > 0 && s.weight + weight > self.max_weight && key != s.next {
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.weight += weight;
        s.pending.insert(key, (item, weight));
        self.changed.notify_all();
    }

    /// The next output in order, or `None` once every unit has ended.
    fn pop(&self, units: usize) -> Option<T> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if s.next.0 >= units {
                return None;
            }
            let key = s.next;
            match s.pending.remove(&key) {
                Some((Item::Data(t), w)) => {
                    s.weight -= w;
                    s.next.1 += 1;
                    self.changed.notify_all();
                    return Some(t);
                }
                Some((Item::End, w)) => {
                    s.weight -= w;
                    s.next = (key.0 + 1, 0);
                    self.changed.notify_all();
                }
                None => s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }
}

/// Runs `work(unit, emit)` for every unit on `pool` and hands each emitted output to
/// `consume` on the calling thread, in (unit, emission) order. A panicking unit is reported
/// through `on_panic` as an output of its own, so the consumer never waits forever.
pub(crate) fn run_ordered<T, W, C, P>(
    pool: &rayon::ThreadPool,
    units: usize,
    max_pending: usize,
    work: W,
    on_panic: P,
    consume: C,
) where
    T: Send,
    W: Fn(usize, &mut dyn FnMut(T)) + Sync,
    P: Fn(usize, String) -> T + Sync,
    C: FnMut(T),
{
    run_ordered_weighted(pool, units, max_pending, |_| 1, work, on_panic, consume)
}

/// [`run_ordered`] with a bound on the total `weight` of the buffered outputs rather than
/// their number (the scan weighs an output by the input bytes it stands for, so small blocks
/// of a compressed stream may run as far ahead as large chunks of a mapped file). An output
/// heavier than the bound is admitted when nothing else waits, or when it is the one needed
/// next.
pub(crate) fn run_ordered_weighted<T, G, W, C, P>(
    pool: &rayon::ThreadPool,
    units: usize,
    max_weight: usize,
    weight: G,
    work: W,
    on_panic: P,
    mut consume: C,
) where
    T: Send,
    G: Fn(&T) -> usize + Sync,
    W: Fn(usize, &mut dyn FnMut(T)) + Sync,
    P: Fn(usize, String) -> T + Sync,
    C: FnMut(T),
{
    let ordered = Ordered {
        state: Mutex::new(State {
            next: (0, 0),
            pending: BTreeMap::new(),
            weight: 0,
        }),
        changed: Condvar::new(),
        max_weight: max_weight.max(1),
    };
    let next_unit = AtomicUsize::new(0);
    let workers = pool.current_num_threads().min(units.max(1));
    pool.in_place_scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|_| loop {
                let unit = next_unit.fetch_add(1, Ordering::SeqCst);
                if unit >= units {
                    break;
                }
                let mut seq = 0;
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    work(unit, &mut |t| {
                        let w = weight(&t);
                        ordered.submit((unit, seq), Item::Data(t), w);
                        seq += 1;
                    })
                }));
                if let Err(panic) = result {
                    let t = on_panic(unit, panic_message(&*panic));
                    let w = weight(&t);
                    ordered.submit((unit, seq), Item::Data(t), w);
                    seq += 1;
                }
                ordered.submit((unit, seq), Item::End, 0);
            });
        }
        while let Some(t) = ordered.pop(units) {
            consume(t);
        }
    });
}

/// The message a panic carried (`"unknown panic"` when it was not text).
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    #[test]
    fn outputs_arrive_in_unit_order_whatever_the_threads() {
        for threads in [1, 2, 4] {
            let pool = pool(threads);
            let mut seen = Vec::new();
            run_ordered(
                &pool,
                50,
                3,
                |unit, emit| {
                    // Later units finish sooner, to shake the order.
                    std::thread::sleep(std::time::Duration::from_micros((50 - unit as u64) * 20));
                    for k in 0..(unit % 4) {
                        emit((unit, k));
                    }
                },
                |_, _| (usize::MAX, 0),
                |t| seen.push(t),
            );
            let want: Vec<_> = (0..50)
                .flat_map(|u| (0..u % 4).map(move |k| (u, k)))
                .collect();
            assert_eq!(seen, want, "threads={threads}");
        }
    }

    /// A weight bound smaller than some outputs: every output still arrives, in order,
    /// whatever the threads (a heavy output waits until nothing else is buffered, or goes
    /// through when it is the one needed next).
    #[test]
    fn weighted_bound_admits_heavy_outputs_and_keeps_the_order() {
        for threads in [1, 2, 4] {
            let pool = pool(threads);
            let mut seen = Vec::new();
            run_ordered_weighted(
                &pool,
                30,
                25,
                |&(_, _, w): &(usize, usize, usize)| w,
                |unit, emit| {
                    std::thread::sleep(std::time::Duration::from_micros((30 - unit as u64) * 20));
                    for k in 0..3 {
                        emit((unit, k, (unit * 7 + k) % 11 * 10));
                    }
                },
                |_, _| (usize::MAX, 0, 0),
                |(u, k, _)| seen.push((u, k)),
            );
            let want: Vec<_> = (0..30).flat_map(|u| (0..3).map(move |k| (u, k))).collect();
            assert_eq!(seen, want, "threads={threads}");
        }
    }

    #[test]
    fn a_panicking_unit_is_reported_and_the_rest_complete() {
        let pool = pool(2);
        let mut seen = Vec::new();
        run_ordered(
            &pool,
            5,
            2,
            |unit, emit| {
                if unit == 2 {
                    panic!("boom");
                }
                emit(format!("ok {unit}"));
            },
            |unit, msg| format!("panic {unit}: {msg}"),
            |t| seen.push(t),
        );
        assert_eq!(seen, vec!["ok 0", "ok 1", "panic 2: boom", "ok 3", "ok 4"]);
    }
}
