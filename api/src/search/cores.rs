//! The cores searches run on: queued work, at most one runner per core.
//!
//! A runner that finishes a job takes the next queued one at once, on the
//! same thread. A semaphore with `spawn_blocking` left a core idle between
//! two searches: the finished search's permit went back through the async
//! task that awaited it (after it built its response), and the next search
//! then had to be scheduled, spawned and its thread woken. Under load that
//! idled a fifth of the machine.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};

type Job = Box<dyn FnOnce() + Send>;

/// Queued jobs and the cores in use (by runners, or reserved).
pub(super) struct Cores {
    state: Mutex<State>,
    cores: usize,
}

struct State {
    queue: VecDeque<Job>,
    busy: usize,
}

impl Cores {
    pub(super) fn new(cores: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                busy: 0,
            }),
            cores: cores.max(1),
        })
    }

    /// How many cores searches run on.
    pub(super) fn count(&self) -> usize {
        self.cores
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `job` on a runner when a core is free, after the jobs queued
    /// before it.
    pub(super) fn submit(self: &Arc<Self>, job: impl FnOnce() + Send + 'static) {
        let mut state = self.state();
        state.queue.push_back(Box::new(job));
        if state.busy < self.cores {
            state.busy += 1;
            drop(state);
            self.start_runner();
        }
    }

    /// A core nobody uses or waits for, held until the reservation drops.
    pub(super) fn reserve(self: &Arc<Self>) -> Option<Reservation> {
        let mut state = self.state();
        if state.queue.is_empty() && state.busy < self.cores {
            state.busy += 1;
            Some(Reservation(self.clone()))
        } else {
            None
        }
    }

    /// Gives back a core: to a new runner if work is queued.
    fn release(self: &Arc<Self>) {
        let mut state = self.state();
        if state.queue.is_empty() {
            state.busy -= 1;
        } else {
            drop(state);
            self.start_runner();
        }
    }

    /// A runner on a blocking thread of the runtime (outside one, its own
    /// thread), holding one of the `busy` cores until the queue is empty.
    fn start_runner(self: &Arc<Self>) {
        let cores = self.clone();
        let run = move || cores.run();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(run)),
            Err(_) => drop(std::thread::spawn(run)),
        }
    }

    fn run(&self) {
        loop {
            let job = {
                let mut state = self.state();
                match state.queue.pop_front() {
                    Some(job) => job,
                    None => {
                        state.busy -= 1;
                        return;
                    }
                }
            };
            // A job that panics loses its result (its caller sees its
            // sender dropped), not the core.
            let _ = catch_unwind(AssertUnwindSafe(job));
            // The job woke the task awaiting its result: let the runtime's
            // threads have this core now, rather than when the next search
            // ends or the scheduler preempts it. Measured at 16 clients,
            // this made p99 1.8-1.9 times the median, from 2.0-2.5.
            std::thread::yield_now();
        }
    }
}

/// A reserved core; given back on drop.
pub(super) struct Reservation(Arc<Cores>);

impl Drop for Reservation {
    fn drop(&mut self) {
        self.0.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn jobs_run_in_order_and_a_panic_keeps_the_core() {
        let cores = Cores::new(1);
        let (tx, rx) = mpsc::channel();
        cores.submit(|| panic!("a failing job"));
        for i in 0..20 {
            let tx = tx.clone();
            cores.submit(move || tx.send(i).unwrap());
        }
        let done: Vec<i32> = (0..20)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        assert_eq!(done, (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn at_most_one_job_per_core_and_every_core_comes_back() {
        let cores = Cores::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel();
        for _ in 0..40 {
            let (running, most, tx) = (running.clone(), most.clone(), tx.clone());
            cores.submit(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(2));
                running.fetch_sub(1, Ordering::SeqCst);
                tx.send(()).unwrap();
            });
        }
        for _ in 0..40 {
            rx.recv_timeout(Duration::from_secs(10)).unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2, "two cores, two jobs at a time");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while cores.state().busy > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let (a, b) = (cores.reserve(), cores.reserve());
        assert!(a.is_some() && b.is_some() && cores.reserve().is_none());
    }

    #[test]
    fn a_reserved_core_is_handed_to_queued_work_when_released() {
        let cores = Cores::new(1);
        let reserved = cores.reserve().expect("an idle core");
        let (tx, rx) = mpsc::channel();
        cores.submit(move || tx.send(()).unwrap());
        assert!(
            rx.recv_timeout(Duration::from_millis(50)).is_err(),
            "no core while reserved"
        );
        drop(reserved);
        rx.recv_timeout(Duration::from_secs(10))
            .expect("run once the core is back");
    }
}
