use sort_bench::sort_batch;
use std::time::Instant;

// A fixed linear congruential generator, so every candidate sorts the same inputs.
fn sequences(seed: u64) -> Vec<Vec<i64>> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as i64
    };
    let mut batch = Vec::new();
    for size in [10usize, 1000, 20000] {
        batch.push((0..size).map(|_| next() % 100000).collect());
        batch.push((0..size as i64).collect());
        batch.push((0..size as i64).rev().collect());
        batch.push((0..size).map(|_| next() % 7).collect());
    }
    batch
}

fn main() {
    let inputs = sequences(42);
    let mut expected = inputs.clone();
    for values in expected.iter_mut() {
        values.sort();
    }
    let mut batch = inputs.clone();
    let start = Instant::now();
    sort_batch(&mut batch);
    let seconds = start.elapsed().as_secs_f64();
    let correct = batch == expected;
    println!("{{\"correct\": {}, \"seconds\": {}}}", correct, seconds);
}
